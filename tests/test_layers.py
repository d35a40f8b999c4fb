"""The package's layers point one way: design -> data -> models -> post -> report -> cli, over a foundation
(errors, util, expr, tables, runner).  Checked on the source (every import, also those inside functions)
and by importing every module on its own in a fresh interpreter."""
from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "dce"

# rank of each part of the package: a module may import modules of its own rank or lower
RANK = {"dce.errors": 0, "dce.util": 1, "dce.expr": 2, "dce.tables": 2, "dce.runner": 2, "dce.design": 3,
        "dce.data": 4, "dce.models": 5, "dce.post": 6, "dce.power": 7, "dce.report": 8, "dce.cli": 9,
        "dce.__main__": 10}


def _modules():
    out = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name):
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module, path):
    """The dce modules ``module`` imports (anywhere in its source), as resolved module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            target = _resolve(n) if n.startswith("dce") else ""
            if target and target != module and target != "dce":
                found.add(target)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _rank(module):
    for prefix in sorted(RANK, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return RANK[prefix]
    return None


def test_models_never_import_the_report():
    bad = sorted((m, t) for m, ts in GRAPH.items() if m.startswith("dce.models") for t in ts
                 if t.startswith("dce.report"))
    assert not bad, bad


def test_imports_point_down_the_path_of_the_data():
    bad = sorted((m, t) for m, ts in GRAPH.items() for t in ts
                 if _rank(m) is not None and _rank(t) is not None and _rank(t) > _rank(m))
    assert not bad, bad


def test_no_two_modules_import_each_other():
    """No cycle in the import graph (Tarjan's strongly connected components), imports inside functions
    included: a circle hidden in a function is still a circle."""
    index, low, stack, on, cycles = {}, {}, [], set(), []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    code = ("import importlib, sys\n"
            f"mods = {sorted(MODULES)!r}\n"
            "bad = []\n"
            "for m in mods:\n"
            "    for k in [k for k in sys.modules if k == 'dce' or k.startswith('dce.')]:\n"
            "        del sys.modules[k]\n"
            "    try:\n"
            "        importlib.import_module(m)\n"
            "    except Exception as e:\n"
            "        bad.append(f'{m}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(bad))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def _strings(tree):
    """The string constants of a module, docstrings and comments left out."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


@pytest.mark.parametrize("package", ["models", "post", "data", "design"])
def test_library_messages_name_arguments_not_command_line_flags(package):
    """The library raises ArgumentError(argument, ...); the CLI shows the argument as its flag."""
    bad = []
    for path in sorted((PKG / package).rglob("*.py")):
        for node in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if FLAG.search(node.value):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not bad, "\n".join(bad)
