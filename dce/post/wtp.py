"""Willingness to pay (marginal rates of substitution) and relative attribute importance.

WTP for coefficient ``k`` against a numeric money attribute ``c`` is ``beta_k / |beta_c|``: the amount
of money a unit of ``k`` is worth.  For a price (``beta_c < 0``) this is the usual ``-beta_k / beta_c``,
the price increase that leaves utility unchanged; for an income attribute (``beta_c > 0``) it is
``beta_k / beta_c``, the income a respondent would give up for a unit of ``k``.  Positive values are
things respondents would pay for, negative ones need compensation.  Intervals come from
the delta method and from Krinsky-Robb draws of the estimates.  Where coefficients vary over
respondents (a mixed logit's draws, say) the distribution of the individual ratio is simulated over
the result's coefficient draws (mean, median, quantiles).
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

from dce.data.coding import MALFORMED, malformed
from dce.errors import ArgumentError, DCEError
from dce.util.numdiff import jacobian


def _weighted_mean(B, w):
    return w @ B


def _weighted_quantiles(x, w, qs):
    """Quantiles of the values ``x`` with weights ``w`` (plain quantiles when the weights are equal)."""
    if np.allclose(w, w[0]):
        return np.quantile(x, qs)
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    return np.array([x[order][min(np.searchsorted(cw, q), len(x) - 1)] for q in qs])


class WtpMap:
    """WTP of every coefficient but ``cost`` as a function of weighted coefficient draws:
    ``f(B, w) -> (K - 1,)``, the ratio of the mean coefficients ``(w @ B)_k / |(w @ B)_cost|``."""

    def __init__(self, coef_names, cost):
        self.cost = list(coef_names).index(cost)
        self.keep = [k for k in range(len(coef_names)) if k != self.cost]
        self.names = [coef_names[k] for k in self.keep]

    def __call__(self, B, w):
        b = _weighted_mean(np.atleast_2d(B), np.asarray(w, float))
        return b[self.keep] / abs(b[self.cost])


def willingness_to_pay(result, cost, n_sim=5000, n_draws=5000, seed=0, level=0.95, bootstrap=None):
    """WTP of every coefficient against the numeric attribute ``cost``, with delta and Krinsky-Robb CIs.

    ``result``: a :class:`dce.models.results.ModelResult`.  The WTP is the ratio of the mean coefficients
    over the result's weighted coefficient draws (a lognormal's mean, not its underlying normal's); where
    the coefficients vary over respondents (several draws), the distribution of the individual ratio is
    added (mean, median, quantiles).  Returns one dict per coefficient but ``cost``; a model with segments
    of respondents (latent classes) adds rows per segment (``segment``, ``segment_share``).  With
    ``bootstrap`` (None: when the result carries bootstrap replicates) the rows also hold the percentile
    interval over the replicates, ``boot_low`` and ``boot_high``.
    """
    coder = result.coder
    if cost not in coder.attributes and cost not in result.coef_names:
        raise ArgumentError("cost", f"'{cost}' is not an attribute of the model "
                                    f"(attributes: {', '.join(map(str, coder.attributes))})")
    if not coder.numeric_attribute(cost) or cost not in result.coef_names:
        raise ArgumentError("cost", f"'{cost}' is categorical; willingness to pay needs a numeric, linearly "
                                    "coded attribute such as a price or income")
    names = result.coef_names
    c = names.index(cost)
    alpha = (1 - level) / 2
    q = NormalDist().inv_cdf(1 - alpha)

    _check_cost_coefficient(result, cost, c, seed)

    def ratio(b):
        return b / abs(b[c])

    def ratios(theta):
        # with fixed quasi-random draws of the coefficients: a smooth function of theta
        return ratio(_weighted_mean(*result.coefficient_draws(theta, n_draws=1000, seed=seed)))

    sets = (ratio(_weighted_mean(B, w)) for B, w in result.coefficient_sets(n_sim, n_draws=1000, seed=seed))
    rows = _wtp_rows(result, names, c, ratios, sets, q, alpha)
    if bootstrap is None:
        bootstrap = result.bootstrap_replicates is not None
    if bootstrap:
        boot = np.array([ratio(_weighted_mean(B, w)) for B, w in
                         result.coefficient_sets(0, n_draws=1000, seed=seed, bootstrap=True)])
        lo, hi = np.quantile(boot, [alpha, 1 - alpha], axis=0)
        for row in rows:
            k = names.index(row["name"])
            row["boot_low"], row["boot_high"] = float(lo[k]), float(hi[k])
    B, wd = result.coefficient_draws(n_draws=n_draws, seed=seed)
    if B.shape[0] > 1:
        for row in rows:
            row["distribution"] = _ratio_distribution(B, wd, names.index(row["name"]), c)
    for s, (label, share, _, _) in enumerate(result.segment_draws(n_draws=1000, seed=seed)):
        def seg_ratios(theta, s=s):
            return ratio(_weighted_mean(*result.segment_draws(theta, n_draws=1000, seed=seed)[s][2:]))

        sims = (seg_ratios(t) for t in result.parameter_draws(n_sim, seed))
        rows += [{"segment": label, "segment_share": float(share), **r}
                 for r in _wtp_rows(result, names, c, seg_ratios, sims, q, alpha)]
    return rows


def _check_cost_coefficient(result, cost, c, seed):
    """Refuse a cost coefficient whose mean is zero (or not finite): every ratio to it is infinite."""
    from dce.errors import DCEError

    b = _weighted_mean(*result.coefficient_draws(n_draws=1000, seed=seed))
    if not np.isfinite(b[c]) or b[c] == 0:
        raise DCEError(f"{result.source}: the coefficient of '{cost}' is {float(b[c]):g}: willingness to pay "
                       f"against it is not defined (every value divided by it would be infinite)")


def _ratio_distribution(B, wd, k, c):
    """Mean, median and quantiles of the individual ratio ``B[:, k] / |B[:, c]|`` over weighted draws."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = B[:, k] / np.abs(B[:, c])
    ok = np.isfinite(r)
    r, w = r[ok], wd[ok]
    qs = _weighted_quantiles(r, w, [0.5, 0.05, 0.25, 0.75, 0.95])
    return {"mean": float(w @ r / w.sum()), "median": float(qs[0]), "q05": float(qs[1]), "q25": float(qs[2]),
            "q75": float(qs[3]), "q95": float(qs[4])}


def _wtp_rows(result, names, c, ratios, sims, q, alpha):
    """WTP rows at the estimates with delta-method s.e. and percentile intervals over ``sims``."""
    est = ratios(result.estimates)
    if result.has_covariance:
        J = jacobian(ratios, result.estimates)
        se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", J, result.vcov, J), 0, None))
    else:
        se = np.full(len(names), np.nan)
    kr_lo, kr_hi = np.quantile(np.array(list(sims)), [alpha, 1 - alpha], axis=0)
    rows = []
    for k, n in enumerate(names):
        if k == c:
            continue
        row = {"name": n, "wtp": float(est[k]), "se": float(se[k]), "delta_low": float(est[k] - q * se[k]),
               "delta_high": float(est[k] + q * se[k]), "kr_low": float(kr_lo[k]), "kr_high": float(kr_hi[k])}
        rows.append(row)
    return rows


def importance(result):
    """Relative importance of each attribute: its utility range over its levels, as a share of the total
    (at the mean coefficients)."""
    try:
        return _importance(result)
    except DCEError:
        raise
    except MALFORMED as e:   # the spec's ranges and levels, read as they are
        raise malformed(result.source or "model", e) from None


def _importance(result):
    coder = result.coder
    names = result.coef_names
    beta = dict(zip(names, _weighted_mean(*result.coefficient_draws(n_draws=2000, seed=0))))
    ranges = coder.utility_ranges(beta)
    total = sum(ranges.values())
    return [{"attribute": a, "range": r, "importance": r / total if total > 0 else float("nan")}
            for a, r in ranges.items()]
