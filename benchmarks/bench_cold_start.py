"""Benchmark: the first run on a machine (numba's disk cache empty: the kernels compile) against the next
(loaded from the cache), as whole `dce fit` processes.

    python benchmarks/bench_cold_start.py [--repeat 2]

Runs, each with its own empty NUMBA_CACHE_DIR for the cold run and the same directory for the warm one:
the electricity panel mixed logit (six normal coefficients, 1,000 Halton draws) and the camera
hierarchical Bayes logit (2,000 iterations, one chain).  Prints the wall time of each cold and warm run,
their difference (what compiling costs), the number of usable cores (on a machine's first run the
kernels' parts compile in parallel processes, one per core up to the number of parts) and the load.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RUNS = {
    "mixed logit, electricity, 1,000 draws": [
        "fit", str(DATA / "electricity.csv.gz"), "--formula", "choice ~ pf + cl + loc + wk + tod + seas",
        "--alt", "alt", "--task", "chid", "--id", "id", "--model", "mixed",
        "--random", "pf=n,cl=n,loc=n,wk=n,tod=n,seas=n", "--draws", "1000", "--seed", "1", "--quiet"],
    "hierarchical Bayes, camera, 2,000 iterations": [
        "fit", str(DATA / "camera_long.csv.gz"), "--formula",
        "choice ~ canon + sony + nikon + panasonic + pixels + zoom + video + swivel + wifi + price",
        "--alt", "alt", "--task", "task", "--id", "id", "--model", "hb", "--iterations", "2000", "--chains", "1",
        "--seed", "66", "--quiet"],
}


def timed(args, cache, out):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    t = time.perf_counter()
    p = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args, "--output", str(out)], capture_output=True,
                       text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode not in (0, 3):      # 3: a short HB chain may not pass the convergence checks
        raise SystemExit(f"failed: {' '.join(args)}\n{p.stderr[-2000:]}")
    return wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args(argv)
    from dce.util.backend import usable_cpus

    print(f"{usable_cpus()} usable cores; load average before {os.getloadavg()[0]:.2f}")
    for label, args in RUNS.items():
        cold, warm = [], []
        for _ in range(a.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                cold.append(timed(args, Path(tmp) / "cache", Path(tmp) / "m.json"))
                warm.append(timed(args, Path(tmp) / "cache", Path(tmp) / "m.json"))
        print(f"  {label:<46} cold {min(cold):5.2f}-{max(cold):5.2f} s   warm {min(warm):5.2f}-{max(warm):5.2f} s   "
              f"compiling costs {min(cold) - min(warm):.2f} s (best against best)")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
