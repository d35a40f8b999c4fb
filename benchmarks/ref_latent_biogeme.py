"""Reference for the latent class logit: Biogeme's panel latent class model on the electricity data.

Fits 2- and 3-class panel latent class logits (coefficients pf, cl, loc, wk, tod, seas in every class;
constants-only class membership; panel by respondent) with Biogeme from several seeded starts spread
around the conditional logit, and records each start's log-likelihood and time, the best estimates and
their classical (Rao-Cramer) and robust s.e., and Biogeme's version, in tests/fixtures/latent_biogeme_reference.json (so the tests need no
Biogeme).

    pip install biogeme        # 3.3.2 when this was made
    python benchmarks/ref_latent_biogeme.py [--starts 5] [--classes 2,3] [--output tests/fixtures/latent_biogeme_reference.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]
MNL = {"pf": -0.625228, "cl": -0.108299, "loc": 1.442244, "wk": 0.995505, "tod": -5.462758, "seas": -5.840031}


def wide_electricity(path):
    """One row per task: pf1..pf4, ..., CHOICE (1-4), id (Biogeme reads wide data)."""
    df = pd.read_csv(path)
    df["chosen"] = df["choice"].astype(str).str.upper().eq("TRUE")
    rows = {}
    for v in VARS:
        w = df.pivot(index="chid", columns="alt", values=v)
        for a in w.columns:
            rows[f"{v}{a}"] = w[a]
    out = pd.DataFrame(rows)
    out["CHOICE"] = df[df["chosen"]].set_index("chid")["alt"].reindex(out.index)
    out["id"] = df.groupby("chid")["id"].first().reindex(out.index)
    return out.reset_index(drop=True).astype(float)


def starts_for(n_classes, n_starts, seed):
    """The same kind of start dce uses: each class's coefficients = MNL + N(0, 0.5|b| + 0.1)."""
    rng = np.random.default_rng(seed)
    b = np.array([MNL[v] for v in VARS])
    return [[b + rng.normal(size=b.size) * (0.5 * np.abs(b) + 0.1) for _ in range(n_classes)]
            for _ in range(n_starts)]


def biogeme_fit(wide, n_classes, start):
    from biogeme.biogeme import BIOGEME
    from biogeme.database import Database
    from biogeme.expressions import Beta, PanelLikelihoodTrajectory, Variable, exp, log
    from biogeme.models import logit

    db = Database("electricity", wide)
    db.panel("id")
    prob = []
    for c in range(n_classes):
        beta = {v: Beta(f"class{c + 1}.{v}", float(start[c][k]), None, None, 0) for k, v in enumerate(VARS)}
        V = {a: sum(beta[v] * Variable(f"{v}{a}") for v in VARS) for a in (1, 2, 3, 4)}
        prob.append(PanelLikelihoodTrajectory(logit(V, None, Variable("CHOICE"))))
    g = [0] + [Beta(f"membership{c + 1}.const", 0.0, None, None, 0) for c in range(1, n_classes)]
    denom = sum(exp(x) for x in g)
    loglik = log(sum(exp(g[c]) / denom * prob[c] for c in range(n_classes)))
    model = BIOGEME(db, loglik)
    model.model_name = f"lc{n_classes}"
    t0 = time.perf_counter()
    res = model.estimate()
    seconds = time.perf_counter() - t0
    est = res.get_beta_values()
    return (float(res.final_log_likelihood), est, standard_errors(res, list(est)), seconds,
            bool(res.algorithm_has_converged))


def standard_errors(res, names):
    """Biogeme's s.e. by kind: ``classical`` (Rao-Cramer, the inverse of minus the Hessian) and ``robust``
    (sandwich with the respondents' scores: the panel likelihood is one observation per respondent).
    Biogeme 3.3.2 names the column of ``get_pandas_estimated_parameters`` after the kind ("Robust std
    err."), so they are asked for by kind instead."""
    from biogeme.results_processing.variance_covariance import EstimateVarianceCovariance as Kind

    out = {}
    for key, kind in (("classical", Kind.RAO_CRAMER), ("robust", Kind.ROBUST)):
        try:
            out[key] = {n: float(res.get_parameter_std_err(n, kind)) for n in names}
        except Exception:  # noqa: BLE001 - a singular Hessian leaves this start without s.e.
            out[key] = {}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "electricity.csv.gz"))
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--classes", default="2,3")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--output", default=str(ROOT / "tests" / "fixtures" / "latent_biogeme_reference.json"))
    a = ap.parse_args(argv)
    import importlib.metadata as md

    wide = wide_electricity(a.data)
    out = {"made_by": "python benchmarks/ref_latent_biogeme.py " + " ".join(sys.argv[1:]),
           "biogeme": md.version("biogeme"), "data": "electricity.csv.gz", "seed": a.seed, "models": {}}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)    # Biogeme writes its own files into the working folder
        # a settings file of our own: Biogeme 3.3.2 cannot write its default one with tomlkit >= 0.13
        Path("biogeme.toml").write_text("[Output]\ngenerate_html = \"False\"\ngenerate_yaml = \"False\"\n")
        try:
            for C in (int(x) for x in a.classes.split(",")):
                runs = []
                for s, start in enumerate(starts_for(C, a.starts, a.seed + C)):
                    ll, est, se, sec, converged = biogeme_fit(wide, C, start)
                    runs.append({"loglik": ll, "seconds": sec, "estimates": est, "se": se,
                                 "converged": converged})
                    print(f"{C} classes, start {s + 1}: log-likelihood {ll:.4f} in {sec:.1f} s", flush=True)
                best = max(runs, key=lambda r: r["loglik"])
                out["models"][str(C)] = {"logliks": [r["loglik"] for r in runs],
                                         "seconds": [r["seconds"] for r in runs],
                                         "converged": [r["converged"] for r in runs],
                                         "best": {"loglik": best["loglik"], "estimates": best["estimates"],
                                                  "se": best["se"]}}
        finally:
            os.chdir(cwd)
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    Path(a.output).write_text(json.dumps(out, indent=2) + "\n")
    print(f"written {a.output}")


if __name__ == "__main__":
    main()
