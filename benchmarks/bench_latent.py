"""Latent class logit: dce against Biogeme on the electricity data, side by side in one run.

Each run is a whole process (start-up, reading the data and estimation): one start of a 2-class panel
latent class logit in dce (`dce fit --model latent --starts 1`) and in Biogeme (the model of
benchmarks/ref_latent_biogeme.py), then dce with 10 starts.  Prints the seconds, the log-likelihoods
and the ratio.

    pip install biogeme
    python benchmarks/bench_latent.py [--classes 2] [--repeat 1] [--no-biogeme]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DCE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "electricity.csv.gz"

BIOGEME = r"""
import os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ref_latent_biogeme import biogeme_fit, starts_for, wide_electricity
os.chdir(tempfile.mkdtemp())
Path("biogeme.toml").write_text('[Output]\ngenerate_html = "False"\ngenerate_yaml = "False"\n')
C = int(sys.argv[3])
ll, est, se, sec, converged = biogeme_fit(wide_electricity(sys.argv[2]), C, starts_for(C, 1, 2024 + C)[0])
print(ll)
"""


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    return seconds, p.stdout


def dce(classes, starts, out):
    cmd = [sys.executable, str(ROOT / "cli.py"), "fit", str(DATA), "--formula",
           "choice ~ pf + cl + loc + wk + tod + seas", "--alt", "alt", "--task", "chid", "--id", "id",
           "--model", "latent", "--classes", str(classes), "--starts", str(starts), "--seed", "1", "--quiet",
           "-o", str(out)]
    seconds, _ = timed(cmd)
    import json

    return seconds, json.loads(Path(out).read_text())["loglik"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-biogeme", action="store_true")
    a = ap.parse_args(argv)
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    print(f"electricity, {a.classes}-class panel latent class logit, 6 coefficients per class; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    one = [dce(a.classes, 1, tmp / "one.json") for _ in range(a.repeat)]
    ten = [dce(a.classes, 10, tmp / "ten.json") for _ in range(a.repeat)]
    print(f"dce, 1 start (whole process):    {min(s for s, _ in one):7.2f} s   log-likelihood {one[0][1]:.4f}")
    print(f"dce, 10 starts (whole process):  {min(s for s, _ in ten):7.2f} s   log-likelihood {ten[0][1]:.4f}")
    if a.no_biogeme:
        return
    try:
        import biogeme  # noqa: F401
    except ImportError:
        print("Biogeme is not installed (pip install biogeme): no comparison")
        return
    bio = [timed([sys.executable, "-c", BIOGEME, str(ROOT / "benchmarks"), str(DATA), str(a.classes)])
           for _ in range(a.repeat)]
    b_sec = min(s for s, _ in bio)
    print(f"Biogeme, 1 start (whole process): {b_sec:7.2f} s   log-likelihood {float(bio[0][1].split()[-1]):.4f}")
    print(f"ratio, one start: Biogeme / dce = {b_sec / min(s for s, _ in one):.1f}x")


if __name__ == "__main__":
    main()
