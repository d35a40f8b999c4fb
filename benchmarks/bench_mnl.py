"""Conditional logit: `dce fit` against statsmodels' ConditionalLogit, side by side, whole processes.

    python benchmarks/bench_mnl.py [--repeat 3] [--scale-tasks 1000000] [--skip-scale]

Prints, for the electricity data (4,308 tasks x 4 alternatives, ../shared/data), the wall time of a
whole `dce fit` process and of a whole Python process fitting statsmodels' ConditionalLogit on the
same data (best of --repeat), their ratio and the agreement of the estimates; the time of
`dce --help`; and for a generated data set (simulated: 1,000,000 tasks x 3 alternatives x 10
attributes by default, written as Parquet) the time and peak memory of a whole `dce fit` process.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DCE_SHARED_DATA", ROOT.parent / "shared" / "data"))
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]

PEER = r"""
import sys, time, json
import pandas as pd
from statsmodels.discrete.conditional_models import ConditionalLogit
df = pd.read_csv(sys.argv[1])
y = (df["choice"].astype(str).str.upper() == "TRUE").astype(float)
res = ConditionalLogit(y, df[%r], groups=df["chid"]).fit(disp=0)
print(json.dumps({"params": list(map(float, res.params)), "llf": float(res.llf)}))
""" % (VARS,)


def peak_of(cmd):
    """Wall time, peak resident memory (MB, from wait4) and stdout of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t0
    out, err = proc.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err}")
    return dt, usage.ru_maxrss / 1024, out


def dce_cmd(*args):
    return [sys.executable, "-m", "dce", *map(str, args)]


def electricity(repeat):
    path = DATA / "electricity.csv.gz"
    if not path.exists():
        print(f"electricity data not found in {DATA}; skipping the peer comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.json"
        ours, peer = [], []
        for _ in range(repeat):
            dt, mem_ours, _ = peak_of(dce_cmd("fit", path, "--formula", "choice ~ " + " + ".join(VARS),
                                              "--alt", "alt", "--task", "chid", "--id", "id", "-o", out))
            ours.append(dt)
            dt, mem_peer, stdout = peak_of([sys.executable, "-c", PEER, str(path)])
            peer.append(dt)
        ref = json.loads(stdout.strip().splitlines()[-1])
        j = json.loads(out.read_text())
    est = [p["estimate"] for p in j["params"]]
    diff = max(abs(a - b) for a, b in zip(est, ref["params"]))
    print("electricity conditional logit (4,308 tasks x 4 alternatives), whole processes, best of", repeat)
    print(f"  dce fit                        {min(ours):7.3f} s   peak {mem_ours:7.1f} MB   loglik {j['loglik']:.3f}")
    print(f"  statsmodels ConditionalLogit   {min(peer):7.3f} s   peak {mem_peer:7.1f} MB   loglik {ref['llf']:.3f}")
    print(f"  ratio statsmodels / dce        {min(peer) / min(ours):7.1f} x   (target >= 5)")
    print(f"  max |estimate difference|      {diff:.2e}")


def help_time(repeat):
    best = min(peak_of(dce_cmd("--help"))[0] for _ in range(max(repeat, 3)))
    print(f"dce --help                       {best:7.3f} s   (target < 0.5)")


def scale(n_tasks, n_alts=3, n_attr=10, seed=20261124):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    beta = np.linspace(-1, 1, n_attr)
    X = rng.normal(size=(n_tasks, n_alts, n_attr))
    V = X @ beta
    G = rng.gumbel(size=V.shape)
    chosen = np.argmax(V + G, axis=1)
    cols = {f"x{k + 1}": X[:, :, k].reshape(-1) for k in range(n_attr)}
    df = pd.DataFrame({"task": np.repeat(np.arange(n_tasks), n_alts), "alt": np.tile(np.arange(n_alts), n_tasks),
                       "choice": (np.arange(n_alts)[None, :] == chosen[:, None]).reshape(-1).astype(np.int8),
                       **cols})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sim.parquet"
        df.to_parquet(path)
        del df, X, V, G
        out = Path(tmp) / "m.json"
        formula = "choice ~ " + " + ".join(f"x{k + 1}" for k in range(n_attr))
        dt, mem, _ = peak_of(dce_cmd("fit", path, "--formula", formula, "--alt", "alt", "--task", "task", "-o", out))
        j = json.loads(out.read_text())
    err = max(abs(p["estimate"] - b) / p["se"] for p, b in zip(j["params"], beta))
    print(f"simulated {n_tasks:,} tasks x {n_alts} alternatives x {n_attr} attributes (Parquet, seed {seed}), "
          "whole dce fit process")
    print(f"  time {dt:7.2f} s (target < 30)   peak memory {mem / 1024:5.2f} GB (target < 4)   "
          f"iterations {j['iterations']}   max |estimate - truth| / s.e. {err:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale-tasks", type=int, default=1_000_000)
    ap.add_argument("--skip-scale", action="store_true")
    a = ap.parse_args()
    electricity(a.repeat)
    help_time(a.repeat)
    if not a.skip_scale:
        scale(a.scale_tasks)


if __name__ == "__main__":
    main()
