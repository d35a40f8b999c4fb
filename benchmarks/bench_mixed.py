"""Benchmark: the electricity panel mixed logit (six normal coefficients, Halton draws), `dce fit` as a
whole process against xlogit's CPU fit of the same model, measured side by side in this run.

    python benchmarks/bench_mixed.py [--data ../shared/data/electricity.csv.gz] [--quick] [--no-xlogit]
                                     [--repeat 3] [--xlogit-repeat 1]

Prints wall time, peak memory (max RSS of the child process) and log-likelihood of each run, the
ratio xlogit / dce (dce's default fit, the global search included; target: at least 5x), the cost of the
search against one start (``--search 0``), the cost of a cold numba cache (first run) against a warm one, scaling in draws
(100, 500, 1,000, 2,000) and in respondents, and the peak memory at 10,000 draws (numba fit; numpy
fallback on one likelihood evaluation).  xlogit is a benchmark-only dependency (pip install xlogit).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DCE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "electricity.csv.gz"
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]

# runs a command as a child and reports its wall time and peak memory (this helper's only child)
MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": p.returncode, "wall": wall, "rss_mb": rss, "out": p.stdout[-3000:], "err": p.stderr[-3000:]}))
"""

XLOGIT = r"""
import sys, time
import numpy as np, pandas as pd
from xlogit import MixedLogit
df = pd.read_csv(sys.argv[1])
df["choice"] = df["choice"].astype(str).str.upper().eq("TRUE").astype(int)
v = ["pf", "cl", "loc", "wk", "tod", "seas"]
m = MixedLogit()
m.fit(X=df[v], y=df["choice"], varnames=v, ids=df["chid"], alts=df["alt"], panels=df["id"],
      randvars={k: "n" for k in v}, n_draws=int(sys.argv[2]), verbose=0)
print("LL", m.loglikelihood)
"""

NUMPY_EVAL = r"""
import sys, numpy as np, pandas as pd
from dce.data.choice_data import ChoiceData
from dce.models.mixed.model import MixedLogit
df = pd.read_csv(sys.argv[1]); v = ["pf", "cl", "loc", "wk", "tod", "seas"]
X = df[v].to_numpy(float).reshape(-1, 4, 6)
ch = df["choice"].astype(str).str.upper().eq("TRUE").to_numpy().reshape(-1, 4).argmax(1)
d = ChoiceData(X=X, avail=np.ones((X.shape[0], 4), bool), chosen=ch, names=v, alt_labels=[1, 2, 3, 4],
               resp=df["id"].to_numpy()[::4])
m = MixedLogit({k: "n" for k in v}, draws=int(sys.argv[2]), seed=1, backend="numpy")
p = m._prepare(d, 1)
th = np.array([-1.0, -0.25, 2.3, 1.6, -9.5, -9.7, 0.2, 0.4, 1.9, 1.2, 2.4, 1.6])
print("LL", p.evaluate(th).loglik)
"""


def measure(cmd, env=None):
    p = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env)
    res = json.loads(p.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res['err']}")
    return res


def dce_cmd(path, draws, extra=()):
    dce = shutil.which("dce") or f"{sys.executable} -m dce"
    return [*dce.split(), "fit", str(path), "--formula", "choice ~ " + " + ".join(VARS), "--alt", "alt",
            "--task", "chid", "--id", "id", "--model", "mixed", "--random", ",".join(f"{v}=n" for v in VARS),
            "--draws", str(draws), "--seed", "1", "--quiet", *extra]


def dce_fit(path, draws, env=None, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fit.json"
        res = measure(dce_cmd(path, draws, ["-o", str(out), *extra]), env=env)
        res["loglik"] = json.loads(out.read_text())["loglik"]
    return res


def subsample(path, n_resp, folder):
    import pandas as pd

    df = pd.read_csv(path)
    ids = df["id"].drop_duplicates().iloc[:n_resp]
    out = Path(folder) / f"electricity_{n_resp}.csv"
    df[df["id"].isin(ids)].to_csv(out, index=False)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--quick", action="store_true", help="skip the scaling and 10,000-draw runs")
    ap.add_argument("--no-xlogit", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="dce runs before xlogit")
    ap.add_argument("--xlogit-repeat", type=int, default=1, help="xlogit runs (each followed by a dce run)")
    a = ap.parse_args()
    path = Path(a.data)
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; data {path}")

    # cold numba cache (compilation) against a warm one: NUMBA_CACHE_DIR takes precedence over __pycache__
    cache = tempfile.mkdtemp(prefix="dce-numba-cache-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    try:
        cold = dce_fit(path, 1000, env=env)
        warm = dce_fit(path, 1000, env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"\nnumba cache: first run (cold cache, compiles) {cold['wall']:.2f} s; second run {warm['wall']:.2f} s")

    dce_runs = [dce_fit(path, 1000) for _ in range(a.repeat)]
    dce_best = min(dce_runs, key=lambda r: r["wall"])
    print(f"\ndce fit (default: the global search), 1,000 Halton draws (whole process, best of {a.repeat}: "
          + ", ".join(f"{r['wall']:.2f}" for r in dce_runs) + f" s): {dce_best['wall']:.2f} s, "
          f"peak {dce_best['rss_mb']:.0f} MB, LL {dce_best['loglik']:.3f}")
    one = [dce_fit(path, 1000, extra=["--search", "0"]) for _ in range(a.repeat)]
    print("dce fit --search 0 (one start), whole process: " + ", ".join(f"{r['wall']:.2f}" for r in one)
          + f" s; LL {one[0]['loglik']:.3f}; the search costs {dce_best['wall'] / min(r['wall'] for r in one):.2f}x "
          f"one start (best against best; load {os.getloadavg()[0]:.1f})")
    if not a.no_xlogit:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
            fh.write(XLOGIT)
        xs, again = [], []
        for _ in range(a.xlogit_repeat):
            x = measure([sys.executable, fh.name, str(path), "1000"])
            x["loglik"] = float(x["out"].split("LL")[-1])
            xs.append(x)
            again.append(dce_fit(path, 1000))   # dce right after each xlogit run, under the same load
        os.unlink(fh.name)
        for x, d in zip(xs, again):
            print(f"xlogit 0.2.7 (CPU), 1,000 Halton draws (whole process): {x['wall']:.2f} s, peak "
                  f"{x['rss_mb']:.0f} MB, LL {x['loglik']:.3f}; dce right after: {d['wall']:.2f} s, LL "
                  f"{d['loglik']:.3f}; ratio {x['wall'] / d['wall']:.1f}x")
        dce_all = sorted(r["wall"] for r in dce_runs + again)
        x_all = sorted(x["wall"] for x in xs)
        med = lambda v: v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])  # noqa: E731
        print(f"ratio xlogit / dce: {x_all[0] / dce_all[0]:.1f}x best against best, "
              f"{med(x_all) / med(dce_all):.1f}x median against median, "
              f"{x_all[0] / dce_all[-1]:.1f}x fastest xlogit against slowest dce (target >= 5x; load "
              f"{os.getloadavg()[0]:.1f})")
    if a.quick:
        return

    print("\nscaling in draws (whole dce fit process, 361 respondents)")
    print(f"{'draws':>8} {'seconds':>9} {'peak MB':>9} {'loglik':>12}")
    for n in (100, 500, 1000, 2000):
        r = dce_fit(path, n)
        print(f"{n:8d} {r['wall']:9.2f} {r['rss_mb']:9.0f} {r['loglik']:12.3f}")

    print("\nscaling in respondents (1,000 draws; the first N respondents)")
    print(f"{'resp.':>8} {'seconds':>9} {'peak MB':>9} {'loglik':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (90, 180, 361):
            r = dce_fit(subsample(path, n, tmp), 1000)
            print(f"{n:8d} {r['wall']:9.2f} {r['rss_mb']:9.0f} {r['loglik']:12.3f}")

    print("\n10,000 draws: peak memory")
    r = dce_fit(path, 10000)
    print(f"numba fit: {r['wall']:.1f} s, peak {r['rss_mb']:.0f} MB, LL {r['loglik']:.3f}")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(NUMPY_EVAL)
    t = time.perf_counter()
    r = measure([sys.executable, fh.name, str(path), "10000"], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    os.unlink(fh.name)
    print(f"numpy fallback, one likelihood + gradient evaluation: {time.perf_counter() - t:.1f} s, "
          f"peak {r['rss_mb']:.0f} MB ({r['out'].strip()})")


if __name__ == "__main__":
    main()
