"""Benchmark: the everyday loop, as whole processes, each figure against its target (issue 23).

    python benchmarks/bench_everyday.py [--repeat 3] [--before REV] [--only main,report,...]
                                        [--draws 2000,5000] [--threads 1,2] [--suite]

Runs, each as a whole process of this checkout's ``cli.py`` (and, with ``--before REV``, of the code
at git revision REV, extracted with ``git archive`` into a temporary folder, interleaved run by run so
that both see the same load):

* ``main``: the README's main job, ``bash examples/newdeal/run.sh OUT`` (target: at most 5 s);
* ``report``: ``dce report`` on the New Deal outputs as run.sh calls it (target: at most 1.5 s);
* ``design``: ``dce design --evaluate`` of the New Deal design (target: at most 0.7 s);
* ``help``: ``dce --help`` (target: under 0.15 s);
* ``cold``: the electricity mixed logit (1,000 Halton draws) with an empty ``NUMBA_CACHE_DIR`` (the
  first fit after an install) and again with the cache it left (warm); target: cold at most 2 times
  warm, or the compilation done by ``dce warm-up`` (timed too, cold and cached) with the first fit
  saying one line when it compiles;
* ``threads``: the same mixed logit (``--draws``, default 2,000 and 5,000), its default fit (the global
  search) as a whole process with ``DCE_THREADS`` = 1, 2, ... (up to the usable cores): the fit time as
  dce reports it (``seconds`` in its JSON) and the command's wall time, and the speed-up over one thread
  (target: at least 1.8x with 2 threads; meaningful only on an otherwise idle machine); then the scaling
  in one process per thread count, of the default fit and of one start: the first fit (which also imports
  numba and loads the compiled kernel) apart from the later ones;
* ``suite`` (only with ``--suite``): the README's test command's pytest line (as each tree's ``.ci/run``
  has it), wall time, ``--repeat`` - 1 runs interleaved (target: at most 90 s on 2 cores).

Every figure is the best and the median of ``--repeat`` runs, printed with the load average (1 min)
before and after it; CPU time (user + system of the child processes) is printed too, since on a shared
machine it is steadier than wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "fixtures" / "electricity.csv.gz"     # vendored with the tests (public data)
EX = "examples/newdeal"
TARGETS = {"main": 5.0, "report": 1.5, "design": 0.7, "help": 0.15}
MIXED = ["fit", None, "--formula", "choice ~ pf + cl + loc + wk + tod + seas", "--alt", "alt", "--task", "chid",
         "--id", "id", "--model", "mixed", "--random", "pf=n,cl=n,loc=n,wk=n,tod=n,seas=n", "--seed", "1"]


def load():
    return os.getloadavg()[0]


def run(cmd, cwd, env=None, check=True):
    """Run ``cmd``; returns (wall seconds, CPU seconds of the child, completed process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return wall, cpu, p


def env_for(tree, **extra):
    """This interpreter first on PATH (run.sh calls `python`), the tree's code on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(tree), **{k: str(v) for k, v in extra.items()})
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


class Variant:
    def __init__(self, label, tree, scratch):
        self.label, self.tree = label, Path(tree)
        self.scratch = Path(scratch) / label
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.cache = self.scratch / "numba-warm"          # a warm numba cache of this tree's kernels
        self.cli = [sys.executable, str(self.tree / "cli.py")]
        self.has_warm_up = (self.tree / "dce" / "cli" / "warmup.py").exists()

    def env(self, **extra):
        return env_for(self.tree, NUMBA_CACHE_DIR=self.cache, **extra)


def summary(label, walls, cpus, loads, target=None, unit="s"):
    best, med = min(walls), statistics.median(walls)
    line = f"  {label:<44} best {best:6.2f} {unit}  median {med:6.2f} {unit}  CPU {statistics.median(cpus):6.2f} s"
    if target is not None:
        line += f"  target <= {target:g} s: {'met' if best <= target else 'NOT met'} (best)"
    line += f"  [load {min(loads):.1f}-{max(loads):.1f}]"
    print(line, flush=True)
    return best


# ------------------------------------------------------------------------------------------ the measurements
def measure_main_report_design_help(variants, repeat, only):
    res = {v.label: {k: ([], [], []) for k in ("main", "report", "design", "help")} for v in variants}
    for i in range(repeat):
        for v in variants:                                   # interleaved: each variant once per round
            out = v.scratch / f"main{i}"
            shutil.rmtree(out, ignore_errors=True)
            if "main" in only or "report" in only:
                l0 = load()
                w, c, _ = run(["bash", str(v.tree / EX / "run.sh"), str(out)], v.tree, v.env())
                res[v.label]["main"][0].append(w), res[v.label]["main"][1].append(c)
                res[v.label]["main"][2].extend([l0, load()])
            if "report" in only:
                args = ["report", out / "model.json", "--design", out / "design.json", "--validation",
                        out / "validation.json", "--shares", out / "shares.json", "--shares",
                        out / "shares_language.json", "--wtp", out / "wtp.json", "--title", "New Deal (SIMULATED)",
                        "--output", out / "report2.html"]
                l0 = load()
                w, c, _ = run([*v.cli, *map(str, args)], v.tree, v.env())
                res[v.label]["report"][0].append(w), res[v.label]["report"][1].append(c)
                res[v.label]["report"][2].extend([l0, load()])
            if "design" in only:
                l0 = load()
                w, c, _ = run([*v.cli, "design", "--evaluate", str(v.tree / EX / "design.csv"),
                               str(v.tree / "designs" / "newdeal.yaml"), "--json", str(out / "design2.json")],
                              v.tree, v.env())
                res[v.label]["design"][0].append(w), res[v.label]["design"][1].append(c)
                res[v.label]["design"][2].extend([l0, load()])
            if "help" in only:
                l0 = load()
                w, c, _ = run([*v.cli, "--help"], v.tree, v.env())
                res[v.label]["help"][0].append(w), res[v.label]["help"][1].append(c)
                res[v.label]["help"][2].extend([l0, load()])
    names = {"main": "main job (run.sh)", "report": "dce report (New Deal)", "design": "dce design --evaluate",
             "help": "dce --help"}
    best = {}
    for key in ("main", "report", "design", "help"):
        if key not in only:
            continue
        print(f"{names[key]}:")
        for v in variants:
            walls, cpus, loads = res[v.label][key]
            if walls:
                best[(v.label, key)] = summary(v.label, walls, cpus, loads, TARGETS[key])
    return best


def measure_cold_warm(variants, repeat, draws=1000):
    print(f"first mixed-logit fit after an install (electricity, {draws:,} draws; empty NUMBA_CACHE_DIR):")
    # not --quiet: the first fit's line saying that it compiles is part of the target
    args = [a if a is not None else str(DATA) for a in MIXED] + ["--draws", str(draws)]
    for v in variants:
        cold, warm, wu_cold, wu_warm, loads, said = [], [], [], [], [], []
        for i in range(repeat):
            with tempfile.TemporaryDirectory(dir=v.scratch) as tmp:
                env = env_for(v.tree, NUMBA_CACHE_DIR=Path(tmp) / "cache")
                loads.append(load())
                w, c, p = run([*v.cli, *args, "-o", str(Path(tmp) / "m.json")], v.tree, env)
                cold.append((w, c))
                said.append(sum("compiling" in x for x in p.stderr.splitlines()))
                w, c, _ = run([*v.cli, *args, "-o", str(Path(tmp) / "m.json")], v.tree, env)
                warm.append((w, c))
                loads.append(load())
            if v.has_warm_up:
                with tempfile.TemporaryDirectory(dir=v.scratch) as tmp:
                    env = env_for(v.tree, NUMBA_CACHE_DIR=Path(tmp) / "cache")
                    wu_cold.append(run([*v.cli, "warm-up"], v.tree, env)[:2])
                    wu_warm.append(run([*v.cli, "warm-up"], v.tree, env)[:2])
                    w, c, p = run([*v.cli, *args, "-o", str(Path(tmp) / "m.json")], v.tree, env)
                    warm.append((w, c))           # a fit after `dce warm-up` is a warm fit
                    loads.append(load())
        bc, bw = min(x[0] for x in cold), min(x[0] for x in warm)
        summary(f"{v.label}: cold (empty cache)", [x[0] for x in cold], [x[1] for x in cold], loads)
        summary(f"{v.label}: warm", [x[0] for x in warm], [x[1] for x in warm], loads)
        verdict = "met" if bc <= 2 * bw else "NOT met"
        print(f"  {v.label}: cold / warm = {bc / bw:.2f} (best against best): target <= 2: {verdict}")
        if v.has_warm_up:
            summary(f"{v.label}: dce warm-up, empty cache", [x[0] for x in wu_cold], [x[1] for x in wu_cold], loads)
            summary(f"{v.label}: dce warm-up, cached", [x[0] for x in wu_warm], [x[1] for x in wu_warm], loads)
            print(f"  {v.label}: or the compilation by `dce warm-up` (run.sh and .ci/run call it), the first fit "
                  f"saying so in one line: {'met' if said and min(said) == 1 else 'NOT met'} "
                  f"(lines said by the cold fits: {said})")
        else:
            print(f"  {v.label}: no `dce warm-up` command")


def smt():
    """Hardware threads per core (Linux), or None where that cannot be read."""
    try:
        text = Path("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list").read_text().strip()
    except OSError:
        return None
    n = 0
    for part in text.split(","):
        a, _, b = part.partition("-")
        n += int(b) - int(a) + 1 if b else 1
    return n


def measure_threads(variants, repeat, draws, threads):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    per_core = smt()
    print(f"mixed-logit thread scaling, default fit (global search), each a new process (electricity, {draws:,} "
          f"draws; 'fit': the time dce reports, 'process': the command's wall time; {cores} usable processors of "
          f"{os.cpu_count()}" + (f", {per_core} hardware threads per core" if per_core else "") + "):")
    args = [a if a is not None else str(DATA) for a in MIXED] + ["--draws", str(draws), "--quiet"]
    for v in variants:
        run([*v.cli, *args, "--draws", "10", "-o", str(v.scratch / "t.json")], v.tree, v.env())   # warm the cache
    res = {(v.label, n): [] for v in variants for n in threads}
    walls = {(v.label, n): [] for v in variants for n in threads}
    loads = []
    for _ in range(repeat):
        for n in threads:
            for v in variants:
                loads.append(load())
                out = v.scratch / f"t{n}.json"
                w, _, _ = run([*v.cli, *args, "-o", str(out)], v.tree, v.env(DCE_THREADS=n))
                res[(v.label, n)].append(json.loads(out.read_text())["seconds"])
                walls[(v.label, n)].append(w)
    for v in variants:
        for what, table in (("fit", res), ("process", walls)):
            one = min(table[(v.label, threads[0])])
            parts = []
            for n in threads:
                b = min(table[(v.label, n)])
                parts.append(f"{n} thr {b:.2f} s ({one / b:.2f}x)")
            line = f"  {v.label:<7} {what:<8} " + ", ".join(parts)
            if 2 in threads and 1 in threads:
                sp = min(table[(v.label, 1)]) / min(table[(v.label, 2)])
                med = statistics.median(table[(v.label, 1)]) / statistics.median(table[(v.label, 2)])
                line += f"; 2 threads: {sp:.2f}x best, {med:.2f}x median"
                if what == "fit":
                    line += f": target >= 1.8x: {'met' if sp >= 1.8 else 'NOT met'}"
            print(line + f"  [load {min(loads):.1f}-{max(loads):.1f}; best of {repeat}]", flush=True)
    if max(loads) > 0.5:
        print("  (the machine was not idle: other programs share the cores, so these ratios understate scaling)")


IN_PROCESS = """
import json, sys, time
import pandas as pd
from dce.data.build import choice_data_from_formula
from dce.models.mixed.model import MixedLogit
df = pd.read_csv(sys.argv[1])
data = choice_data_from_formula(df, "choice ~ pf + cl + loc + wk + tod + seas", alt="alt", task="chid", id_col="id")
out = []
for _ in range(int(sys.argv[4])):
    m = MixedLogit({k: "n" for k in ["pf", "cl", "loc", "wk", "tod", "seas"]}, draws=int(sys.argv[2]), seed=1,
                   search=json.loads(sys.argv[5]), threads=int(sys.argv[3]))
    out.append(m.fit(data).seconds)
print(json.dumps(out))
"""


def measure_threads_in_process(repeat, draws, threads, search=0):
    """Scaling in one process: the fit (one start, ``search=0``, the kernel's own scaling; or the default
    global search, ``search=None``) fitted ``repeat + 1`` times in one process per thread count; the first
    fit of a process also imports numba and loads the compiled kernel from its cache (serial, about 0.4 s),
    and makes its first large arrays (slow on a machine whose page faults are slow), the later ones do not."""
    what = "one start, search=0" if search == 0 else "the default global search"
    print(f"mixed-logit thread scaling in one process (electricity, {draws:,} draws, {what}; "
          "the first fit of a process, and the best of the later fits):")
    res, loads = {}, []
    for n in threads:
        loads.append(load())
        p = subprocess.run([sys.executable, "-c", IN_PROCESS, str(DATA), str(draws), str(n), str(repeat + 1),
                            json.dumps(search)], cwd=ROOT, capture_output=True, text=True, check=True)
        res[n] = json.loads(p.stdout.strip().splitlines()[-1])
    first1, later1 = res[threads[0]][0], min(res[threads[0]][1:])
    parts = [f"{n} thr first {res[n][0]:.2f} s ({first1 / res[n][0]:.2f}x), later {min(res[n][1:]):.2f} s "
             f"({later1 / min(res[n][1:]):.2f}x)" for n in threads]
    line = "  " + "; ".join(parts)
    if 1 in res and 2 in res:
        sp = min(res[1][1:]) / min(res[2][1:])
        line += f"; 2 threads, later fits: target >= 1.8x: {'met' if sp >= 1.8 else 'NOT met'}"
    print(line + f"  [load {min(loads):.1f}-{max(loads):.1f}]", flush=True)


def measure_suite(variants, repeat):
    """The pytest line of each tree's ``.ci/run`` (the README's test command), interleaved run by run."""
    res = {v.label: ([], [], []) for v in variants}
    print("test suite (the pytest line of .ci/run):")
    for _ in range(repeat):
        for v in variants:
            line = next(x for x in (v.tree / ".ci" / "run").read_text().splitlines() if "python -m pytest" in x)
            pytest_args = line.split("python -m pytest", 1)[1].split()
            l0 = load()
            w, c, p = run([sys.executable, "-m", "pytest", *pytest_args, "-p", "no:cacheprovider"], v.tree,
                          v.env(), check=False)
            last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-300:]
            print(f"  {v.label}: {' '.join(pytest_args)}: {last}", flush=True)
            res[v.label][0].append(w), res[v.label][1].append(c), res[v.label][2].extend([l0, load()])
    for v in variants:
        summary(v.label, *res[v.label], 90.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", help="a git revision to compare with (extracted with git archive)")
    ap.add_argument("--only", default="main,report,design,help,cold,threads",
                    help="comma-separated: main, report, design, help, cold, threads")
    ap.add_argument("--draws", type=lambda t: [int(x) for x in t.split(",")], default=[2000, 5000],
                    help="draws of the thread-scaling fits, e.g. 2000,5000 (the default)")
    ap.add_argument("--threads", help="thread counts, e.g. 1,2,4 (default: 1, 2, 4, ... up to the usable cores)")
    ap.add_argument("--suite", action="store_true", help="also time the whole test suite (repeat - 1 times)")
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = ([int(x) for x in a.threads.split(",")] if a.threads else
               sorted({1, 2, *[2 ** k for k in range(2, 8) if 2 ** k <= cores], cores}))
    print(f"{cores} usable cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="dce-bench-") as scratch:
        variants = [Variant("now", ROOT, scratch)]
        if a.before:
            tree = Path(scratch) / "before-tree"
            tree.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.before], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
            variants.insert(0, Variant("before", tree, scratch))
            print(f"before: {a.before} in {tree}; now: {ROOT}")
        for v in variants:   # warm each tree's own numba cache once, outside the timings
            run([*v.cli, *[x if x is not None else str(DATA) for x in MIXED], "--draws", "10", "--quiet", "-o",
                 str(v.scratch / "w.json")], v.tree, v.env())
            if v.has_warm_up:
                run([*v.cli, "warm-up"], v.tree, v.env())
        if only & {"main", "report", "design", "help"}:
            measure_main_report_design_help(variants, a.repeat, only)
        if "cold" in only:
            measure_cold_warm(variants, max(1, a.repeat - 1))
        if "threads" in only:
            for draws in a.draws:
                measure_threads(variants, a.repeat, draws, threads)
                measure_threads_in_process(a.repeat, draws, threads, search=None)
                measure_threads_in_process(a.repeat, draws, threads, search=0)
        if a.suite:
            measure_suite(variants, max(1, a.repeat - 1))
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
