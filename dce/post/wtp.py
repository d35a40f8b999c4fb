"""Willingness to pay (marginal rates of substitution) and relative attribute importance.

WTP for coefficient ``k`` against a numeric money attribute ``c`` is ``beta_k / |beta_c|``: the amount
of money a unit of ``k`` is worth.  For a price (``beta_c < 0``) this is the usual ``-beta_k / beta_c``,
the price increase that leaves utility unchanged; for an income attribute (``beta_c > 0``) it is
``beta_k / beta_c``, the income a respondent would give up for a unit of ``k``.  Positive values are
things respondents would pay for, negative ones need compensation.  Intervals come from
the delta method and from Krinsky-Robb draws of the estimates.  For a mixed logit the distribution
of the individual ratio is simulated over the random coefficients (mean, median, quantiles).
"""
from __future__ import annotations

import numpy as np

from dce.errors import DCEError


def willingness_to_pay(model, cost, n_sim=5000, n_draws=5000, seed=0, level=0.95):
    coder = model.coder
    if cost not in coder.attributes and cost not in model.coef_names:
        raise DCEError(f"--cost: '{cost}' is not an attribute of the model "
                       f"(attributes: {', '.join(map(str, coder.attributes))})")
    if not coder.numeric_attribute(cost) or cost not in model.coef_names:
        raise DCEError(f"--cost: '{cost}' is categorical; willingness to pay needs a numeric, linearly coded "
                       "attribute such as a price or income")
    names = model.coef_names
    c = names.index(cost)
    alpha = (1 - level) / 2
    from statistics import NormalDist

    q = NormalDist().inv_cdf(1 - alpha)

    def ratios(theta):
        # a mixed logit: the ratio of the mean coefficients (means of the mixing distribution, so a
        # lognormal's mean and not its underlying normal's), with fixed quasi-random draws
        b = model.coefficient_draws(theta, n_draws=1000, seed=seed).mean(axis=0)
        return b / abs(b[c])

    est = ratios(model.estimates)
    # delta method on the mean coefficients
    from dce.post.shares import _jacobian, _mvn_draws

    J = _jacobian(ratios, model.estimates)
    se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", J, model.vcov, J), 0, None))
    rng = np.random.default_rng(seed)
    sims = np.array([ratios(t) for t in _mvn_draws(rng, model.estimates, model.vcov, n_sim)])
    kr_lo, kr_hi = np.quantile(sims, [alpha, 1 - alpha], axis=0)
    B = model.coefficient_draws(n_draws=n_draws, seed=seed) if model.model == "mixed" else None
    rows = []
    for k, n in enumerate(names):
        if k == c:
            continue
        row = {"name": n, "wtp": float(est[k]), "se": float(se[k]), "delta_low": float(est[k] - q * se[k]),
               "delta_high": float(est[k] + q * se[k]), "kr_low": float(kr_lo[k]), "kr_high": float(kr_hi[k])}
        if B is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = B[:, k] / np.abs(B[:, c])
            w = w[np.isfinite(w)]
            row["distribution"] = {"mean": float(w.mean()), "median": float(np.median(w)),
                                   "q05": float(np.quantile(w, 0.05)), "q25": float(np.quantile(w, 0.25)),
                                   "q75": float(np.quantile(w, 0.75)), "q95": float(np.quantile(w, 0.95))}
        rows.append(row)
    return rows


def importance(model):
    """Relative importance of each attribute: its utility range over its levels, as a share of the total."""
    coder = model.coder
    names = model.coef_names
    beta = dict(zip(names, model.coefficient_draws(n_draws=2000, seed=0).mean(axis=0)))
    ranges = {}
    if hasattr(coder, "design"):
        for a in coder.design.attributes:
            u = a.table @ np.array([beta.get(col, 0.0) for col in a.columns])
            ranges[a.name] = float(u.max() - u.min())
    else:
        for f, info in coder.spec["factors"].items():
            if info["kind"] == "categorical":
                cols = [n for n in names if n.startswith(f + "[")]
                u = [0.0] + [beta[n] for n in cols]
                ranges[f] = float(max(u) - min(u))
            elif f in beta and "range" in info:
                lo, hi = info["range"]
                ranges[f] = float(abs(beta[f]) * (hi - lo))
    total = sum(ranges.values())
    return [{"attribute": a, "range": r, "importance": r / total if total > 0 else float("nan")}
            for a, r in ranges.items()]
