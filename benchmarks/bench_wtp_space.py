"""Benchmark: the mixed logit in willingness-to-pay space against the preference-space mixed logit of the
same size (same data, same draws, same kernel), measured side by side in this run.

    python benchmarks/bench_wtp_space.py [--data ../shared/data/electricity.csv.gz] [--draws 1000]
                                         [--repeat 3] [--evals 5] [--starts 5] [--quick]

Electricity panel (361 respondents, 4,308 tasks).  Preference space: pf, cl, loc, wk, tod, seas all
normal (12 parameters).  WTP space: a lognormal scale and the five WTPs normal (12 parameters).  Prints

* one likelihood evaluation (with and without the exact Hessian) of each, best of ``--evals``, at the
  models' start values: the cost of the kernel's WTP coefficient map and chain rule;
* the whole fit of each from its default start (best of ``--repeat``, the two alternating): seconds,
  iterations, log-likelihood, and the ratio WTP / preference (target <= 1.5);
* the spread of ``--starts`` starting points of the WTP-space mixed logit (100 draws);
* the conditional logit in both spaces (the same log-likelihood) and the numpy fallback's evaluation
  ratio (100 draws).

Run it from the checkout (``python benchmarks/bench_wtp_space.py``): it imports this checkout's ``dce``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "electricity.csv.gz"
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]


def electricity(path):
    import pandas as pd

    from dce.data.build import choice_data_from_formula

    df = pd.read_csv(path)
    return choice_data_from_formula(df, "choice ~ " + " + ".join(VARS), source=str(path), alt="alt", task="chid",
                                    id_col="id")


def models(draws, backend="auto", starts=1):
    from dce.models.mixed.model import MixedLogit
    from dce.models.wtp_space import MixedLogitWTP

    pref = MixedLogit({v: "n" for v in VARS}, draws=draws, seed=1, backend=backend, starts=starts)
    wtp = MixedLogitWTP({"scale": "ln", **{v: "n" for v in VARS[1:]}}, price="pf", draws=draws, seed=1,
                        backend=backend, starts=starts)
    return {"preference": pref, "wtp": wtp}


def problems(data, draws, backend="auto"):
    """The prepared problems and their start values."""
    import numpy as np

    out = {}
    for label, m in models(draws, backend).items():
        prob = m._prepare(data, 1)
        out[label] = (prob, m._initial(prob, data, 0, np.random.default_rng(0)))
    return out


def time_evaluations(probs, n, hess):
    """Best-of-n seconds of one evaluation of each problem, the problems alternating."""
    best = {k: float("inf") for k in probs}
    for _ in range(n):
        for label, (prob, theta) in probs.items():
            t = time.perf_counter()
            prob.evaluate(theta, hess)
            best[label] = min(best[label], time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="whole fits of each model (alternating)")
    ap.add_argument("--evals", type=int, default=5, help="likelihood evaluations of each model")
    ap.add_argument("--starts", type=int, default=5, help="starting points of the WTP-space spread check")
    ap.add_argument("--quick", action="store_true", help="one fit each; no multistart or numpy runs")
    a = ap.parse_args()
    if a.quick:
        a.repeat, a.evals = 1, 3
    data = electricity(a.data)
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; data {a.data} "
          f"({data.n_respondents} respondents, {data.n_tasks} tasks); {a.draws} Halton draws")

    probs = problems(data, a.draws)
    for prob, theta in probs.values():       # load (or compile) the kernel before timing
        prob.evaluate(theta, True)
    print(f"\none likelihood evaluation at the start values, best of {a.evals} (kernel: "
          f"{probs['wtp'][0].backend}, {probs['wtp'][0].threads} threads)")
    for hess in (False, True):
        best = time_evaluations(probs, a.evals, hess)
        print(f"  {'with' if hess else 'without'} the Hessian: preference {best['preference']:.3f} s, "
              f"WTP {best['wtp']:.3f} s, ratio {best['wtp'] / best['preference']:.2f}")

    print(f"\nwhole fit from the default start, best of {a.repeat} (alternating)")
    runs = {"preference": [], "wtp": []}
    for _ in range(a.repeat):
        for label, m in models(a.draws).items():
            t = time.perf_counter()
            res = m.fit(data)
            runs[label].append((time.perf_counter() - t, res))
    for label, rs in runs.items():
        sec, res = min(rs, key=lambda r: r[0])
        print(f"  {label:10s}: {sec:6.2f} s (all: {', '.join(f'{s:.2f}' for s, _ in rs)}), {res.iterations} "
              f"iterations, LL {res.loglik:.3f}, converged {res.converged}")
    tp = min(s for s, _ in runs["preference"])
    tw = min(s for s, _ in runs["wtp"])
    print(f"  ratio WTP / preference (whole fit): {tw / tp:.2f} (target <= 1.5)")
    it_p, it_w = runs["preference"][0][1].iterations, runs["wtp"][0][1].iterations
    print(f"  per iteration: preference {tp / max(it_p, 1):.3f} s, WTP {tw / max(it_w, 1):.3f} s, ratio "
          f"{(tw / max(it_w, 1)) / (tp / max(it_p, 1)):.2f}")
    res = runs["wtp"][0][1]
    print("  WTP-space estimates: " + ", ".join(f"{n} {v:.4f}" for n, v in zip(res.names, res.estimates)))
    if a.quick:
        return

    print(f"\nWTP-space mixed logit, {a.starts} starting points, 100 draws")
    t = time.perf_counter()
    res = models(100, starts=a.starts)["wtp"].fit(data)
    st = res.info["starts"]
    print(f"  {time.perf_counter() - t:.2f} s; log-likelihoods {', '.join(f'{v:.3f}' for v in st['logliks'])}; "
          f"spread {st['spread']:.2e}; {st['reached_best']} of {st['n']} reached the best; converged "
          f"{res.converged}")

    from dce.models.mnl import ConditionalLogit
    from dce.models.wtp_space import ConditionalLogitWTP

    t = time.perf_counter()
    p = ConditionalLogit().fit(data)
    t1 = time.perf_counter()
    w = ConditionalLogitWTP(price="pf").fit(data)
    t2 = time.perf_counter()
    print(f"\nconditional logit: preference {t1 - t:.3f} s (LL {p.loglik:.3f}); WTP space {t2 - t1:.3f} s "
          f"(LL {w.loglik:.3f}, {w.iterations} iterations from the preference-space start; its fit included)")

    probs = problems(data, 100, backend="numpy")
    best = time_evaluations(probs, max(2, a.evals // 2), True)
    print(f"\nnumpy fallback, one evaluation with the Hessian, 100 draws: preference {best['preference']:.3f} s, "
          f"WTP {best['wtp']:.3f} s, ratio {best['wtp'] / best['preference']:.2f}")


if __name__ == "__main__":
    main()
