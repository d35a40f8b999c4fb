"""Benchmark: iterations of the one engine on the reference models (electricity conditional logit, the
electricity mixed logit with 100 and 1,000 Halton draws in both spaces, the latent class references of
tests/models/test_latent.py), with the time of each fit.

    python benchmarks/bench_engine.py [--data ../shared/data/electricity.csv.gz] [--quick]

Prints, per model: iterations (engine iterations; the latent class model: per start, and its EM steps),
likelihood evaluations where the engine reports them, the log-likelihood, converged, and seconds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DCE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "electricity.csv.gz"
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]


def electricity(path):
    import pandas as pd

    from dce.data.build import choice_data_from_formula

    df = pd.read_csv(path)
    return choice_data_from_formula(df, "choice ~ " + " + ".join(VARS), alt="alt", task="chid", id_col="id")


def row(label, res, t, extra=""):
    print(f"{label:<44} {res.iterations:>6} {res.loglik:>14.4f} {str(res.converged):>9} {t:>8.2f}  {extra}",
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--quick", action="store_true", help="skip the 1,000-draw and 3-class fits")
    a = ap.parse_args()
    from dce.models.latent import LatentClassLogit
    from dce.models.mixed.model import MixedLogit
    from dce.models.mnl import ConditionalLogit
    from dce.models.wtp_space import MixedLogitWTP

    data = electricity(a.data)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    print(f"{'model':<44} {'iter.':>6} {'log-lik.':>14} {'converged':>9} {'seconds':>8}")
    t = time.perf_counter()
    res = ConditionalLogit().fit(data)
    row("conditional logit", res, time.perf_counter() - t)
    rand = {v: "n" for v in VARS}
    for draws in ((100,) if a.quick else (100, 1000)):
        t = time.perf_counter()
        res = MixedLogit(rand, draws=draws, seed=1, search=0).fit(data)
        row(f"mixed logit, 6 normal, {draws} draws, 1 start", res, time.perf_counter() - t)
        wr = {"scale": "ln", **{v: "n" for v in VARS if v != "pf"}}
        t = time.perf_counter()
        res = MixedLogitWTP(wr, price="pf", draws=draws, seed=1, search=0).fit(data)
        row(f"WTP-space mixed logit, {draws} draws, 1 start", res, time.perf_counter() - t)
    for classes in ((2,) if a.quick else (2, 3)):
        t = time.perf_counter()
        res = LatentClassLogit(classes=classes, starts=10, seed=1).fit(data)
        st = res.info["starts"]
        its = [r[2] for r in res.table("starts").rows] if hasattr(res, "table") else []
        row(f"latent class, {classes} classes, 10 starts (best)", res, time.perf_counter() - t,
            f"reached best {st['reached_best']}/10; EM steps {sum(res.info['em_steps'])}")
        for tab in res.tables:
            if tab.key == "starts":
                its = [r[2] for r in tab.rows]
                print(f"    iterations per start: {its} (total {sum(i or 0 for i in its)}); EM steps per start: "
                      f"{res.info['em_steps']}", flush=True)


if __name__ == "__main__":
    main()
