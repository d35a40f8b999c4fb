"""`dce warm-up` and the first fit's one line: the tiny warm-up run compiles the specialisations that a
real run uses (checked in fresh processes with an empty numba cache), a fit says when it compiles and
is silent once the kernel is cached."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from dce.cli import cli

numba = pytest.importorskip("numba")

REAL_DESIGN = textwrap.dedent("""
    import json
    from dce.design._kernels import candidate_errors
    from dce.design.generate import make_design
    from dce.design.spec import parse_design_spec
    from dce.models.warmup import pending
    spec = parse_design_spec("alternatives: 3\\ntasks: 6\\nattributes:\\n  x: {levels: [1, 2, 3]}\\n"
                             "  y: {levels: [a, b]}\\n  z: {levels: [0, 5, 10, 15]}\\n")
    make_design(spec, seed=3, starts=2, backend="numba")
    s = candidate_errors.stats
    print(json.dumps({"pending": pending(["design search"]), "hits": sum(s.cache_hits.values()),
                      "misses": sum(s.cache_misses.values())}))
""")


def test_warm_up_compiles_what_a_real_design_search_uses(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    before = subprocess.run([sys.executable, "-c", "from dce.models.warmup import pending; "
                             "print(pending(['design search']))"], capture_output=True, text=True, env=env)
    assert before.returncode == 0 and "design search" in before.stdout, before.stderr
    code = "from dce.models.warmup import warm_up; print(warm_up(['design search']))"
    w = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert w.returncode == 0 and "True" in w.stdout, w.stderr
    real = subprocess.run([sys.executable, "-c", REAL_DESIGN], capture_output=True, text=True, env=env, timeout=600)
    assert real.returncode == 0, real.stderr
    got = json.loads(real.stdout.strip().splitlines()[-1])
    assert got["pending"] == [] and got["hits"] >= 1 and got["misses"] == 0    # loaded, nothing compiled again


def test_warm_up_command_reports_each_kernel(monkeypatch):
    from dce.models import warmup

    ran = []
    monkeypatch.setattr(warmup, "pending", lambda kernels=warmup.KERNELS, backend="auto": ["hierarchical Bayes"])
    monkeypatch.setattr(warmup, "_run", ran.append)
    r = CliRunner().invoke(cli, ["warm-up"])
    assert r.exit_code == 0, r.output
    assert ran == ["hierarchical Bayes"]
    assert "compiling the hierarchical Bayes kernel" in r.output
    assert "mixed logit: ready (already compiled)" in r.output and "design search: ready" in r.output


def test_a_fit_says_one_line_when_it_compiles(monkeypatch, tmp_path, electricity_path):
    from dce.models import warmup

    args = ["fit", str(electricity_path), "--formula", "choice ~ pf + cl", "--alt", "alt", "--task", "chid",
            "--id", "id", "--model", "mixed", "--random", "pf=n", "--draws", "5", "--seed", "1",
            "-o", str(tmp_path / "m.json")]
    monkeypatch.setattr(warmup, "pending", lambda kernels, backend="auto": list(kernels))
    r = CliRunner().invoke(cli, args)
    assert r.exit_code in (0, 3), r.output
    lines = [x for x in r.output.splitlines() if "compiling" in x]
    assert lines == ["compiling the mixed logit kernel: once per machine, a few seconds (`dce warm-up` does it "
                     "ahead of time)"]
    r = CliRunner().invoke(cli, [*args, "--quiet"])               # --quiet: nothing but the tables
    assert r.exit_code in (0, 3) and "compiling" not in r.output
    monkeypatch.setattr(warmup, "pending", lambda kernels, backend="auto": [])
    r = CliRunner().invoke(cli, args)                                # cached: silent
    assert r.exit_code in (0, 3) and "compiling" not in r.output
