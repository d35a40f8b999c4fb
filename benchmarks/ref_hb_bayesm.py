"""Make the stored bayesm reference of the hierarchical Bayes logit (tests need no R afterwards).

    python benchmarks/ref_hb_bayesm.py [--iterations 20000] [--keep 10] [--seed 66]
                                       [--output tests/fixtures/bayesm_camera] [--data ../shared/data/camera_long.csv.gz]

Runs ``Rscript benchmarks/ref_hb_bayesm.R`` (bayesm::rhierMnlRwMixture on bayesm's ``camera`` data with
its default priors, every KEEP-th draw kept, the second half used), times the whole R process, checks
that bayesm's data are the rows of ``camera_long.csv.gz`` (respondent ``id`` = position in bayesm's list,
``task`` = 100 (id - 1) + the task's position for the respondent), and writes

* ``reference.json``: population means and sds (posterior means and sds), the posterior mean of the
  correlation matrix, the mean log-likelihood of the kept draws, timing, versions and the command;
* ``individual.csv.gz``: each respondent's posterior mean coefficients (``id`` as in camera_long).

Needs R with r-cran-bayesm (``apt-get install r-base-core r-cran-bayesm``).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "camera_long.csv.gz"


def run_bayesm(iterations, keep, seed, out_dir):
    """Run the R script as a child; returns (wall seconds, CPU seconds of the child)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise SystemExit("Rscript not found: apt-get install r-base-core r-cran-bayesm")
    cmd = [rscript, str(ROOT / "benchmarks" / "ref_hb_bayesm.R"), str(out_dir), str(iterations), str(keep), str(seed)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"bayesm failed:\n{p.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def check_same_data(bayesm_long: Path, shared: Path):
    """bayesm's camera, exported by the R script, against the shared long file (same rows and values)."""
    a = pd.read_csv(bayesm_long)
    b = pd.read_csv(shared)
    if list(a.columns) != list(b.columns) or a.shape != b.shape:
        raise SystemExit(f"{shared}: not bayesm's camera data (columns or shape differ)")
    a = a.assign(task=100 * (a["id"] - 1) + a["task"])
    diff = np.abs(a.to_numpy(float) - b.to_numpy(float)).max()
    if diff > 1e-12:
        raise SystemExit(f"{shared}: differs from bayesm's camera data by {diff}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--keep", type=int, default=10)
    ap.add_argument("--seed", type=int, default=66)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--output", default=str(ROOT / "tests" / "fixtures" / "bayesm_camera"))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wall, cpu = run_bayesm(a.iterations, a.keep, a.seed, tmp)
        check_same_data(tmp / "camera_long.csv", Path(a.data))
        pop = pd.read_csv(tmp / "population.csv")
        cor = pd.read_csv(tmp / "correlation.csv", index_col=0)
        ind = pd.read_csv(tmp / "individual.csv")
        ll = pd.read_csv(tmp / "loglike.csv")
        timing = pd.read_csv(tmp / "timing.csv").iloc[0]
    n_keep = a.iterations // a.keep
    ref = {
        "what": "bayesm::rhierMnlRwMixture on bayesm's camera data, default priors (ncomp = 1, mubar = 0, "
                "Amu = 0.01, nu = k + 3, V = nu I), the second half of the kept draws",
        "command": " ".join(["python benchmarks/ref_hb_bayesm.py", *(sys.argv[1:] if argv is None else argv)]),
        "bayesm": str(timing["bayesm"]), "r": str(timing["r"]),
        "iterations": a.iterations, "keep": a.keep, "seed": a.seed, "kept_draws_used": n_keep - n_keep // 2,
        "data": "camera_long.csv.gz: id = position in bayesm's list, task = 100 (id - 1) + task position",
        "names": list(pop["name"]),
        "mean": pop["mean"].tolist(), "mean_sd": pop["mean_sd"].tolist(),
        "sd": pop["sd"].tolist(), "sd_sd": pop["sd_sd"].tolist(),
        "correlation": cor.to_numpy().tolist(),
        "mean_loglik": float(ll["loglike"].iloc[n_keep // 2:].mean()),
        "seconds_sampler": float(timing["seconds"]), "seconds_process": wall, "cpu_seconds_process": cpu,
    }
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    ind.round(6).to_csv(out / "individual.csv.gz", index=False)
    print(f"bayesm: {a.iterations} iterations, sampler {ref['seconds_sampler']:.1f} s, whole process "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU; written to {out}")


if __name__ == "__main__":
    main()
