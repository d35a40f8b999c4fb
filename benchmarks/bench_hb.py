"""Benchmark: the hierarchical Bayes logit on bayesm's camera data, `dce fit --model hb` as a whole process
against bayesm's rhierMnlRwMixture (Rscript) as a whole process, side by side in this run.

    python benchmarks/bench_hb.py [--data ../shared/data/camera_long.csv.gz] [--iterations 20000]
                                  [--repeat 3] [--no-bayesm]

Both samplers: bayesm's default priors, 20,000 iterations, every 10th draw kept, the second half used.
Runs, each a child process measured for wall time, CPU time (user + system of it and its children) and
peak memory: dce with one chain, dce with two chains (two worker processes), bayesm (when Rscript and
r-cran-bayesm are installed).  A warm-up dce run first fills numba's compilation cache (its cost is
printed: a machine's first run pays it once).  The runs are repeated (interleaved, so that a change in
the machine's load hits both); printed are the minimum and the median of each, the ratios bayesm / dce
(one chain; whole processes, and the samplers alone as each reports its own time) and two chains / one
chain, and how far dce's population means and individual posterior means are from bayesm's in this run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "camera_long.csv.gz"
NAMES = ["canon", "sony", "nikon", "panasonic", "pixels", "zoom", "video", "swivel", "wifi", "price"]

# runs a command as a child and reports its wall time, CPU time and peak memory (this helper's only child)
MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "wall": wall, "cpu": u.ru_utime + u.ru_stime, "rss_mb": u.ru_maxrss / 1024,
                  "out": p.stdout[-3000:], "err": p.stderr[-3000:]}))
"""


def measure(cmd, ok=(0,)):
    """Runs cmd as a measured child; exit statuses in `ok` are accepted (3: the fit ran but its chains did
    not pass the convergence checks, which the deliberately short warm-up run never does)."""
    p = subprocess.run([sys.executable, "-c", MEASURE, *map(str, cmd)], capture_output=True, text=True)
    res = json.loads(p.stdout)
    if res["rc"] not in ok:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res['err']}")
    return res


def dce_cmd(data, iterations, chains, output, extra=()):
    return [sys.executable, str(ROOT / "cli.py"), "fit", data, "--formula", "choice ~ " + " + ".join(NAMES),
            "--alt", "alt", "--task", "task", "--id", "id", "--model", "hb", "--iterations", iterations,
            "--burn", iterations // 2, "--thin", 10, "--chains", chains, "--seed", 66, "--prior", "bayesm", "--quiet",
            "--output", output, *extra]


def line(label, r):
    return f"  {label:<34} wall {r['wall']:7.2f} s   CPU {r['cpu']:7.2f} s   peak memory {r['rss_mb']:6.0f} MB"


def compare(dce_json, dce_ind, bayesm_dir):
    """Population means and individual posterior means of dce against bayesm's, from this run's files."""
    import pandas as pd

    res = json.loads(Path(dce_json).read_text())
    est = {p["name"]: p["estimate"] for p in res["params"]}
    pop = pd.read_csv(Path(bayesm_dir) / "population.csv").set_index("name")
    diff = max(abs(est[n] - pop.loc[n, "mean"]) for n in NAMES)
    a = pd.read_csv(dce_ind).set_index("id")
    b = pd.read_csv(Path(bayesm_dir) / "individual.csv").set_index("id").loc[a.index]
    cors = [float(np.corrcoef(a[n], b[n])[0, 1]) for n in NAMES]
    return diff, min(cors)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-bayesm", action="store_true")
    a = ap.parse_args(argv)
    if not Path(a.data).exists():
        raise SystemExit(f"{a.data}: not found (the shared reference data)")
    rscript = None if a.no_bayesm else shutil.which("Rscript")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold = measure(dce_cmd(a.data, 200, 1, tmp / "warm.json", ["--workers", 1]), ok=(0, 3))
        print(f"camera HB, {a.iterations:,} iterations, every 10th kept, second half; seed 66")
        print(line("dce warm-up (200 iterations)", cold))
        rows = {"dce 1 chain": [], "bayesm 1 chain": [], "dce 2 chains (2 workers)": []}
        inner = {"dce 1 chain": [], "bayesm 1 chain": []}
        for _ in range(a.repeat):            # interleaved, so that a change of the machine's load hits both
            rows["dce 1 chain"].append(measure(dce_cmd(a.data, a.iterations, 1, tmp / "one.json",
                                                       ["--individual", tmp / "one.csv"])))
            inner["dce 1 chain"].append(json.loads((tmp / "one.json").read_text())["seconds"])
            if rscript:
                rows["bayesm 1 chain"].append(measure([rscript, ROOT / "benchmarks" / "ref_hb_bayesm.R", tmp / "bayesm",
                                                       a.iterations, 10, 66]))
                inner["bayesm 1 chain"].append(float((tmp / "bayesm" / "timing.csv").read_text().splitlines()[1]
                                                     .split(",")[0]))
            rows["dce 2 chains (2 workers)"].append(measure(dce_cmd(a.data, a.iterations, 2, tmp / "two.json",
                                                                    ["--workers", 2])))
        for k, v in rows.items():
            if not v:
                continue
            walls, cpus = [r["wall"] for r in v], [r["cpu"] for r in v]
            print(f"  {k:<26} wall min {min(walls):7.2f} s  median {np.median(walls):7.2f} s   CPU min "
                  f"{min(cpus):6.2f} s  median {np.median(cpus):6.2f} s   peak memory {max(r['rss_mb'] for r in v):5.0f} MB"
                  + (f"   (fit alone, as the program reports it: min {min(inner[k]):.2f} s)" if inner.get(k) else ""))
        one, two = rows["dce 1 chain"], rows["dce 2 chains (2 workers)"]
        med = lambda v, key: float(np.median([r[key] for r in v]))  # noqa: E731
        print(f"  two chains / one chain (median wall): {med(two, 'wall') / med(one, 'wall'):.2f}; CPU per chain "
              f"{med(two, 'cpu') / 2:.2f} s against {med(one, 'cpu'):.2f} s")
        if rows["bayesm 1 chain"]:
            b = rows["bayesm 1 chain"]
            print(f"  bayesm / dce, one chain, whole processes: wall {med(b, 'wall') / med(one, 'wall'):.1f}x (median), "
                  f"{min(r['wall'] for r in b) / min(r['wall'] for r in one):.1f}x (min); CPU "
                  f"{med(b, 'cpu') / med(one, 'cpu'):.1f}x (median), {min(r['cpu'] for r in b) / min(r['cpu'] for r in one):.1f}x (min)")
            print(f"  bayesm / dce, the fits alone (as each program times itself): {min(inner['bayesm 1 chain']) / min(inner['dce 1 chain']):.1f}x (min)")
            diff, cor = compare(tmp / "one.json", tmp / "one.csv", tmp / "bayesm")
            print(f"  dce vs bayesm in this run: population means within {diff:.3f}; individual posterior means "
                  f"correlate >= {cor:.4f} (every coefficient)")
        else:
            print("  bayesm not run (Rscript with r-cran-bayesm not found, or --no-bayesm)")


if __name__ == "__main__":
    main()
