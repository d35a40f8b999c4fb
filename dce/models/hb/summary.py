"""The result of a hierarchical Bayes fit: posterior summaries, diagnostics, tables and the draws file.

:func:`build_result` turns the chains of :func:`dce.models.hb.sampler.run_chains` into the one result
type; :func:`write_draws` writes every kept individual draw (``.npz`` or ``.parquet``) for simulators.
"""
from __future__ import annotations

import math
import os

import numpy as np

from dce.errors import ArgumentError
from dce.models.hb.diagnostics import ESS_MIN, RHAT_MAX, RHAT_UNRELIABLE, ess, split_rhat
from dce.models.hb.sampler import Settings
from dce.models.results import ModelResult
from dce.tables import Column, Table
from dce.util.io import atomic_open
from dce.util.numbers import json_float

LEVEL = 0.95
TRACE_POINTS = 500     # log-likelihood trace in the JSON: at most this many points per chain



def _population(chains):
    """Draws (chains, kept, 2K) of the population means and sds, the sigma draws and correlation draws."""
    mu = np.stack([c["mu"] for c in chains])
    sig = np.stack([c["sigma"] for c in chains])
    sd = np.sqrt(np.clip(np.diagonal(sig, axis1=2, axis2=3), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        cor = sig / (sd[..., :, None] * sd[..., None, :])
    return np.concatenate([mu, sd], axis=2), sig, cor


def _implied(mu, sig, ztype, names):
    """Posterior mean and sd of the mean, median and sd of each sign-constrained coefficient."""
    out = {}
    for k in np.flatnonzero(ztype):
        sign = 1.0 if ztype[k] == 1 else -1.0
        m, s2 = mu[..., k].ravel(), sig[..., k, k].ravel()
        with np.errstate(over="ignore", invalid="ignore"):
            vals = {"mean": sign * np.exp(m + s2 / 2), "median": sign * np.exp(m),
                    "sd": np.exp(m + s2 / 2) * np.sqrt(np.expm1(s2))}
        item = {}
        for key, v in vals.items():
            item[key] = json_float(v.mean())
            item[key + "_se"] = json_float(v.std(ddof=1)) if v.size > 1 else None
        out[names[k]] = item
    return out


def _converged(diag, kept):
    """(converged, message): the chains count as converged unless some population parameter's R-hat is
    above RHAT_UNRELIABLE (Gelman et al.'s 1.1) or too few draws were kept to tell.  Poor mixing short of
    that (R-hat above 1.01, ESS below 400) is a warning only: the estimates stand, less precisely."""
    if kept < 4 or diag["max_rhat"] is None or diag["min_ess"] is None:
        return False, f"only {kept} kept draws per chain: too few to tell whether the chains converged"
    text = f"largest R-hat {diag['max_rhat']:.3f}, smallest ESS {diag['min_ess']:.0f}"
    if diag["max_rhat"] > RHAT_UNRELIABLE:
        return False, f"{text}: R-hat above {RHAT_UNRELIABLE}, the chains have not converged"
    return True, text


def _diagnostics(theta, pnames, chains, settings):
    """R-hat, ESS, acceptance and the log-likelihood trace; returns (dict, warnings)."""
    rhat, n_eff = split_rhat(theta), ess(theta)
    warnings = []
    if theta.shape[1] < 4:
        warnings.append(f"only {theta.shape[1]} kept draws per chain: too few for R-hat and effective sample "
                        "sizes; run more iterations")
    bad = [i for i in range(len(pnames)) if np.isfinite(rhat[i]) and rhat[i] > RHAT_MAX]
    if bad:
        w = max(bad, key=lambda i: rhat[i])
        warnings.append(f"R-hat above {RHAT_MAX} for {len(bad)} of {len(pnames)} population parameters (largest: "
                        f"{pnames[w]} {rhat[w]:.3f}): the chains have not mixed; run more iterations or a longer "
                        "burn-in")
    low = [i for i in range(len(pnames)) if np.isfinite(n_eff[i]) and n_eff[i] < ESS_MIN]
    if low:
        w = min(low, key=lambda i: n_eff[i])
        warnings.append(f"effective sample size below {ESS_MIN} for {len(low)} of {len(pnames)} population "
                        f"parameters (smallest: {pnames[w]} {n_eff[w]:.0f}): run more iterations")
    acc = [c["acceptance"] for c in chains]
    if any(a < 0.1 or a > 0.6 for a in acc):
        warnings.append("Metropolis acceptance rate " + ", ".join(f"{a:.2f}" for a in acc) + " far from the "
                        f"target {settings.target}: lengthen the burn-in so the step size can adapt")
    its = np.arange(settings.burn + settings.thin, settings.iterations + 1, settings.thin)
    step = max(1, math.ceil(its.size / TRACE_POINTS))
    its = its[::step]
    diag = {
        "rhat": {n: json_float(v) for n, v in zip(pnames, rhat)}, "ess": {n: json_float(v) for n, v in zip(pnames, n_eff)},
        "max_rhat": json_float(np.nanmax(rhat)) if np.isfinite(rhat).any() else None,
        "min_ess": json_float(np.nanmin(n_eff)) if np.isfinite(n_eff).any() else None,
        "acceptance": json_float(np.mean(acc)), "acceptance_by_chain": [json_float(a) for a in acc],
        "acceptance_last_burn_in_block": [json_float(c["acceptance_burn"]) for c in chains],
        "target_acceptance": settings.target, "step_scale": [json_float(c["scale"]) for c in chains],
        "seconds_by_chain": [json_float(c["seconds"]) for c in chains],
        "loglik_trace": {"iteration": its.tolist(), "chains": [[json_float(v) for v in c["ll_trace"][its - 1]]
                                                               for c in chains]},
        "thresholds": {"rhat": RHAT_MAX, "ess": ESS_MIN, "rhat_unreliable": RHAT_UNRELIABLE},
    }
    return diag, warnings, rhat, n_eff


def _thinned_individual(chains, n):
    """At most ``n`` draws per respondent, evenly spaced over all chains' kept draws: (R, n, K)."""
    beta = np.concatenate([c["beta"] for c in chains])          # (chains x kept, R, K)
    picks = np.unique(np.linspace(0, beta.shape[0] - 1, min(n, beta.shape[0])).round().astype(int))
    return round_significant(np.transpose(beta[picks], (1, 0, 2)), 6)


def round_significant(x, digits):
    """``x`` rounded to ``digits`` significant digits (so that the JSON holds short numbers)."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    nz = np.isfinite(x) & (x != 0)
    e = digits - 1 - np.floor(np.log10(np.abs(x[nz]))).astype(int)
    vals = x[nz]
    res = np.empty_like(vals)
    for k in np.unique(e):
        sel = e == k
        res[sel] = np.round(vals[sel] * 10.0 ** k) / 10.0 ** k if k >= 0 else np.round(vals[sel] / 10.0 ** -k) * 10.0 ** -k
    out[nz] = res
    return out


def build_result(model, data, chains, prior, ztype, per_resp, mnl, backend, workers):
    """The :class:`dce.models.results.ModelResult` of a finished sampler run."""
    names = list(data.names)
    K = len(names)
    settings = Settings(model.iterations, model.burn_, model.thin, model.target_acceptance)
    theta, sig, cor = _population(chains)
    pnames = names + [f"sd.{n}" for n in names]
    flat = theta.reshape(-1, 2 * K)
    est = flat.mean(axis=0)
    V = np.atleast_2d(np.cov(flat, rowvar=False)) if flat.shape[0] > 1 else np.zeros((2 * K, 2 * K))
    lo, hi = np.quantile(flat, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    diag, warnings, rhat, n_eff = _diagnostics(theta, pnames, chains, settings)
    mean_ll = float(np.mean([c["ll_trace"][settings.burn:].mean() for c in chains]))
    null_ll = data.null_loglik()
    converged, message = _converged(diag, theta.shape[1])
    warnings += prior_warnings(prior, chains, names, ztype, est, lo, hi)
    result = ModelResult(
        model="hb", names=pnames, estimates=est, vcovs={"posterior": V}, se_type="posterior", loglik=mean_ll,
        loglik_null=null_ll, n_tasks=data.n_tasks, n_respondents=int(per_resp.size),
        iterations=model.iterations, converged=converged,
        message=message,
        spec=dict(data.spec), coef_names=names, warnings=warnings,
        posterior={"individual": _thinned_individual(chains, model.posterior_draws)})
    se = result.se()
    cor_mean = cor.reshape(-1, K, K).mean(axis=0)
    cor_sd = cor.reshape(-1, K, K).std(axis=0, ddof=1) if flat.shape[0] > 1 else np.full((K, K), np.nan)
    result.info.update({
        "random": {n: {"distribution": {0: "n", 1: "ln", 2: "-ln"}[int(ztype[k])], "mean": json_float(est[k]),
                       "sd": json_float(est[K + k]), "mean_se": json_float(se[k]), "sd_se": json_float(se[K + k])}
                   for k, n in enumerate(names)},
        "correlation": {"names": names, "matrix": [[json_float(v) for v in row] for row in cor_mean],
                        "covariance": [[json_float(v) for v in row] for row in sig.reshape(-1, K, K).mean(axis=0)],
                        "matrix_se": [[json_float(v) for v in row] for row in cor_sd]},
        "credible_intervals": {"level": LEVEL, "intervals": {n: [json_float(a), json_float(b)] for n, a, b in zip(pnames, lo, hi)}},
        "diagnostics": diag,
        "prior": _prior_info(prior, model, ztype),
        "seed": int(model.seed_), "chains": model.chains, "burn": model.burn_, "thin": model.thin,
        "kept_draws": int(flat.shape[0]), "backend": backend, "workers": int(workers),
        "rlh": json_float(math.exp(mean_ll / data.n_tasks)), "percent_certainty": json_float(1.0 - mean_ll / null_ll),
        "pooled_loglik": json_float(mnl.loglik),
        "individual_ids": list(model.ids_),
    })
    implied = _implied(np.stack([c["mu"] for c in chains]), sig, ztype, names)
    if implied:
        result.info["implied"] = implied
    _tables(result, names, pnames, est, se, rhat, n_eff, cor_mean, chains, ztype, implied)
    _summary(result, model, prior, diag, backend, workers, mnl, settings)
    return result


def _prior_info(prior, model, ztype):
    """The prior as used, in the data's units (``mubar``, ``V``, ``variance``: V's diagonal over nu)."""
    K = prior.mubar.size
    source = ("bayesm's defaults" + (" for sign constraints" if ztype.any() else "")
              if model.prior_variance is None and model.prior_dof is None else "prior_variance/prior_dof")
    scaled = prior.scales is not None
    out = {"mubar": [float(v) for v in prior.mubar], "Amu": float(prior.Amu), "nu": float(prior.nu),
           "V": [[float(v) for v in row] for row in prior.V], "dof": float(prior.nu - K),
           "variance": [float(prior.V[k, k] / prior.nu) for k in range(K)],
           "mode": "scaled" if scaled else "bayesm",
           "source": (source + " on attributes divided by twice their standard deviation, stated here in the "
                      "data's units") if scaled else source,
           "units": "data",
           "form": "mu | Sigma ~ N(mubar, Sigma / Amu), Sigma ~ IW(nu, V)"}
    if scaled:
        out["scales"] = [float(v) for v in prior.scales]
    return out


SIGN_SHARE = 0.2       # a larger share of respondents whose coefficient has the other sign: a warning
PRIOR_SD_RATIO = 0.3   # posterior sd of a population mean above this fraction of the prior's: a warning
PRIOR_SHARE = 0.5      # the prior's scale above this share of the posterior scale of a variance: a warning


def prior_warnings(prior, chains, names, ztype, est, lo, hi):
    """Warnings, naming the coefficients, where the prior rather than the data sets a result:

    - a population mean whose posterior sd is of the order of its prior sd (the marginal prior of
      ``mu_k`` is a t with ``nu - K + 1`` degrees of freedom and scale ``sqrt(V_kk / (Amu (nu - K + 1)))``);
    - a population variance whose posterior is mostly the prior's: the posterior of ``Sigma`` is
      ``IW(nu + R, V + S)``, and ``V_kk`` is more than half of ``V_kk + S_kk`` (``S_kk`` estimated from
      the posterior mean of ``Sigma_kk``);
    - a normal coefficient whose mean is clearly not zero (its 95% interval excludes zero) while more
      than a fifth of the respondents' own (posterior mean) coefficients have the other sign.
    """
    K = len(names)
    R = chains[0]["beta"].shape[1]
    mu = np.concatenate([c["mu"] for c in chains])
    sig = np.concatenate([c["sigma"] for c in chains])
    dof = prior.nu - K + 1
    out = []
    if dof > 2 and mu.shape[0] > 1:
        prior_sd = np.sqrt(np.diag(prior.V) / (prior.Amu * dof) * dof / (dof - 2))
        ratio = mu.std(axis=0, ddof=1) / prior_sd
        bad = [f"{names[k]} ({ratio[k]:.2g})" for k in range(K) if ratio[k] > PRIOR_SD_RATIO]
        if bad:
            out.append("the posterior of the population mean of " + ", ".join(bad) + " is about as wide as its "
                       "prior (posterior sd / prior sd in brackets): the prior, not the data, sets it; check the "
                       "attribute's units and the prior")
    post_var = np.diagonal(sig, axis1=1, axis2=2).mean(axis=0)
    share = np.diag(prior.V) / np.maximum(post_var * (prior.nu + R - K - 1), 1e-300)
    bad = [f"{names[k]} ({100 * min(share[k], 1.0):.0f}%)" for k in range(K) if share[k] > PRIOR_SHARE]
    if bad:
        out.append("the population variance of " + ", ".join(bad) + " comes mostly from the prior (its share "
                   "of the posterior scale in brackets): the spread of these coefficients over respondents is "
                   "the prior's; check the attribute's units and the prior")
    ind = np.concatenate([c["beta"] for c in chains]).mean(axis=0)          # (R, K) posterior means
    bad = []
    for k in range(K):
        if ztype[k] != 0 or not (lo[k] > 0 or hi[k] < 0):
            continue
        other = float(np.mean(np.sign(ind[:, k]) == -np.sign(est[k])))
        if other > SIGN_SHARE:
            bad.append(f"{names[k]} ({100 * other:.0f}% of respondents)")
    if bad:
        out.append("individual coefficients have the other sign than their clearly non-zero population mean "
                   "for " + ", ".join(bad) + ": check the prior (the attribute's units) or use a sign "
                   "constraint (-ln / ln)")
    return out


def _tables(result, names, pnames, est, se, rhat, n_eff, cor, chains, ztype, implied):
    dists = {0: "normal", 1: "lognormal", 2: "negative lognormal"}
    with np.errstate(divide="ignore", invalid="ignore"):
        mcse = np.where(n_eff > 0, se / np.sqrt(n_eff), np.nan)
    result.tables.append(Table(
        "Convergence of the population parameters (MC s.e. = posterior sd / sqrt(ESS))",
        [Column("parameter"), Column("R-hat", "f3"), Column("ESS", "int"), Column("MC s.e.", "f4")],
        [[n, rhat[i], None if not np.isfinite(n_eff[i]) else int(round(n_eff[i])), mcse[i]]
         for i, n in enumerate(pnames)], key="population"))
    K = len(names)
    result.tables.append(Table(
        "Random coefficients (population mean and sd of the underlying normal; posterior sd in brackets)",
        [Column("coefficient"), Column("distribution"), Column("mean", "est_se"), Column("sd", "est_se")],
        [[n, dists[int(ztype[k])], [est[k], se[k]], [est[K + k], se[K + k]]] for k, n in enumerate(names)],
        key="random"))
    if implied:
        result.tables.append(Table(
            "Implied distribution of the sign-constrained coefficients (posterior sd in brackets)",
            [Column("coefficient"), Column("mean", "est_se"), Column("median", "est_se"), Column("sd", "est_se")],
            [[n, [v["mean"], v["mean_se"]], [v["median"], v["median_se"]], [v["sd"], v["sd_se"]]]
             for n, v in implied.items()], key="implied"))
    result.tables.append(Table("Correlation of the coefficients (posterior mean)",
                               [Column("")] + [Column(n, "f3") for n in names],
                               [[names[i]] + list(cor[i]) for i in range(K)], key="correlation"))
    result.tables.append(Table(
        "Chains", [Column("chain", "int"), Column("acceptance", "pct1"), Column("step scale", "f3"),
                   Column("mean log-likelihood after burn-in", "f3"), Column("seconds", "f2")],
        [[c_i + 1, c["acceptance"], c["scale"], float(np.mean(c["ll_trace"][result.info["burn"]:])), c["seconds"]]
         for c_i, c in enumerate(chains)], key="chains"))


def _summary(result, model, prior, diag, backend, workers, mnl, settings):
    info = result.info
    K = prior.mubar.size
    result.fit_rows += [
        ("sampler", f"{model.chains} chain{'s' if model.chains > 1 else ''} x {model.iterations:,} iterations "
                    f"(burn-in {model.burn_:,}, every {model.thin}th kept): {info['kept_draws']:,} draws"),
        ("seed", str(info["seed"])),
        ("prior", f"mu ~ N(mubar, Sigma / {prior.Amu:g}), Sigma ~ IW({prior.nu:g}, V), V = {prior.nu:g} x diag("
                  + ", ".join(f"{n} {v:.3g}" for n, v in zip(result.coef_names, info["prior"]["variance"][:K]))
                  + "), mubar = (" + ", ".join(f"{v:.3g}" for v in prior.mubar)
                  + f") in the data's units ({info['prior']['source']})"),
        ("acceptance rate", f"{diag['acceptance']:.3f} (target {settings.target:g}, step adapted in burn-in only)"),
        ("RLH (root likelihood)", f"{info['rlh']:.4f}"),
        ("percent certainty", f"{100 * info['percent_certainty']:.1f}%"),
        ("largest R-hat", "-" if diag["max_rhat"] is None else f"{diag['max_rhat']:.3f}"),
        ("smallest effective sample size", "-" if diag["min_ess"] is None else f"{diag['min_ess']:.0f}"),
        ("sampler backend", f"{backend}, {workers} worker process{'es' if workers > 1 else ''}"),
        ("conditional logit log-likelihood", f"{mnl.loglik:.3f}"),
    ]


def write_draws(path, draws, ids, names):
    """Every kept individual draw to ``path`` (``.npz`` or ``.parquet``), written atomically."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    beta = draws["beta"]
    if ext == ".npz":
        with atomic_open(path, "wb") as fh:
            np.savez_compressed(fh, beta=beta, mu=draws["mu"], sigma=draws["sigma"], ids=np.asarray(ids),
                                names=np.asarray(names))
        return
    if ext != ".parquet":
        raise ArgumentError("draws_out", f"{path}: write .npz or .parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    C, S, R, K = beta.shape
    cols = {"chain": np.repeat(np.arange(1, C + 1, dtype=np.int32), S * R),
            "draw": np.tile(np.repeat(np.arange(1, S + 1, dtype=np.int32), R), C),
            "id": np.tile(np.asarray(ids), C * S)}
    flat = beta.reshape(-1, K)
    for k, n in enumerate(names):
        cols[n] = flat[:, k]
    with atomic_open(path, "wb") as fh:
        pq.write_table(pa.table(cols), fh)
