"""Respondent-level (cluster) bootstrap of any model: replicates, standard errors, percentile and BCa intervals.

Each replicate draws as many respondents as the data have, with replacement (a respondent drawn twice
counts as two respondents, each with all of their tasks; without respondent ids every task is its own
respondent), and re-estimates the model from the estimates of the full sample.  Replicate ``b`` draws
from stream ``b`` of the seed (:mod:`dce.runner`), so the replicates are the same whatever runs them.

Intervals per parameter at level ``1 - alpha``:

* percentile: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the replicates;
* BCa (Efron 1987): the quantiles at ``Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))``, with the bias
  correction ``z0 = Phi^-1(share of replicates below the estimate)`` and the acceleration ``a =
  sum U^3 / (6 (sum U^2)^(3/2))`` from the empirical influence of each respondent, ``U_i = (-H)^-1 s_i``
  (``s_i`` the respondent's score, ``H`` the Hessian at the estimates: the infinitesimal jackknife, which
  needs no further fits).  Models without a Hessian and scores (a sampler) get percentile intervals only.

A replicate whose fit fails or does not converge is counted and left out of the intervals.
"""
from __future__ import annotations

import copy
import functools
import math
from statistics import NormalDist

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError, DCEError
from dce.models.results import SE_LABEL
from dce.runner import describe, run
from dce.tables import Column, Table
from dce.util.numbers import json_float, whole_number
from dce.util.seeds import resolve_seed


def resample(data: ChoiceData, rng) -> ChoiceData:
    """A bootstrap sample of ``data``: its number of respondents drawn with replacement, each drawn
    respondent a new respondent (ids 0..R-1) with all of its tasks."""
    order, starts = data.panel_blocks()
    R = len(starts) - 1
    pick = rng.integers(0, R, size=R)
    lengths = starts[pick + 1] - starts[pick]
    rows = np.concatenate([order[starts[r]:starts[r + 1]] for r in pick])
    resp = np.repeat(np.arange(R), lengths)
    return ChoiceData(X=data.X[rows], avail=data.avail[rows], chosen=data.chosen[rows], names=list(data.names),
                      alt_labels=list(data.alt_labels), task_ids=np.asarray(data.task_ids)[rows], resp=resp,
                      offset=None if data.offset is None else data.offset[rows], spec=data.spec,
                      source=data.source)


def _context(model, data):
    return model, data


def _replicate(ctx, b, stream):
    """Replicate ``b``: ``(estimates, None)`` or ``(None, why the fit failed)``."""
    model, data = ctx
    sample = resample(data, np.random.default_rng(stream))
    try:
        result = copy.copy(model).fit(sample)
    except (DCEError, np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError) as e:
        lines = str(e).strip().splitlines()
        return None, lines[0] if lines else type(e).__name__
    if not result.converged:
        return None, f"did not converge: {result.message}"
    return np.asarray(result.estimates, float), None


def bootstrap(model, data, result, replications, seed=None, level=0.95, workers=None, scheduler=None,
              progress=None) -> dict:
    """Bootstrap ``result`` (fitted by ``model`` on ``data``) over respondents.

    Parameters
    ----------
    model : dce.models.base.Model
        The fitted estimator (its ``problem_`` gives the influence values of the BCa intervals).
    data : ChoiceData
        The data of the fit.
    result : ModelResult
        The full-sample fit; replicates start from its estimates.
    replications : int
        Bootstrap replicates (at least 2).
    seed : int, optional
        Replicate ``b`` uses stream ``b`` of the seed (None: a fresh one, reported).
    level : float
        Level of the intervals.
    workers, scheduler, progress
        Passed to :func:`dce.runner.run`.

    Returns
    -------
    dict
        JSON-ready: ``replicates`` (B_ok x P, the successful replicates), ``requested``, ``failed``,
        ``failures`` (reasons with counts), ``seed``, ``level``, ``method`` and ``intervals`` (per
        parameter: ``name``, ``se``, ``percentile`` [low, high], ``bca`` [low, high] or None, ``z0``,
        ``acceleration``).
    """
    replications = whole_number(replications, "bootstrap", 2)
    if not 0 < float(level) < 1:
        raise ArgumentError("level", f"must be between 0 and 1, not {level}")
    seed = resolve_seed(seed)
    B = int(replications)
    refit = copy.copy(model)
    refit.start = np.asarray(result.estimates, float)
    refit.starts = 1
    if hasattr(refit, "search"):    # a replicate is refitted from the estimates (no global search)
        refit.search = 0
    refit.callback = refit.progress = None
    refit.threads = 1
    refit.seed = getattr(model, "seed_", None) if getattr(model, "seed_", None) is not None else model.seed
    if hasattr(refit, "workers"):
        refit.workers, refit.scheduler = 1, None
    for attr in ("result_", "problem_", "theta_"):
        refit.__dict__.pop(attr, None)
    reps = run(_replicate, range(B), seed, setup=functools.partial(_context, refit, data), workers=workers,
               scheduler=scheduler, progress=progress)
    good = np.array([v for v, why in reps if why is None]).reshape(-1, result.n_params)
    reasons = {}
    for _, why in reps:
        if why is not None:
            reasons[why] = reasons.get(why, 0) + 1
    accel = acceleration(model, result)
    intervals = []
    for k, name in enumerate(result.names):
        pct, bca, z0 = intervals_of(good[:, k], result.estimates[k], level, None if accel is None else accel[k])
        intervals.append({"name": name, "se": json_float(np.std(good[:, k], ddof=1)) if len(good) > 1 else None,
                          "percentile": pct, "bca": bca, "z0": json_float(z0),
                          "acceleration": None if accel is None else json_float(accel[k])})
    return {"method": "respondent-level (cluster) nonparametric bootstrap", "requested": B,
            "failed": B - len(good), "failures": [{"reason": r, "count": c} for r, c in reasons.items()],
            "seed": seed, "level": float(level), "ran_on": describe(workers, scheduler),
            "replicates": good.tolist(), "intervals": intervals}


def intervals_of(theta_b, theta_hat, level, a=None):
    """Percentile and BCa intervals of one parameter from its replicates ``theta_b`` (B,), and ``z0``.

    The BCa interval is None without an acceleration ``a`` or when every replicate lies on one side of
    the estimate (``z0`` infinite)."""
    theta_b = np.asarray(theta_b, float)
    if theta_b.size < 2:
        return None, None, math.nan
    alpha = (1 - level) / 2
    pct = [float(v) for v in np.quantile(theta_b, [alpha, 1 - alpha])]
    nd = NormalDist()
    below = (np.sum(theta_b < theta_hat) + 0.5 * np.sum(theta_b == theta_hat)) / theta_b.size
    if not 0 < below < 1:
        return pct, None, math.nan
    z0 = nd.inv_cdf(below)
    if a is None or not math.isfinite(a):
        return pct, None, z0
    qs = []
    for q in (alpha, 1 - alpha):
        zq = nd.inv_cdf(q)
        den = 1 - a * (z0 + zq)
        if den <= 0:
            return pct, None, z0
        qs.append(nd.cdf(z0 + (z0 + zq) / den))
    return pct, [float(v) for v in np.quantile(theta_b, qs)], z0


def acceleration(model, result):
    """The BCa acceleration of every parameter from the respondents' empirical influence values, or None
    when the model kept no likelihood problem (``problem_``) with scores and a Hessian."""
    problem = getattr(model, "problem_", None)
    if problem is None or not hasattr(problem, "evaluate"):
        return None
    theta = np.asarray(result.estimates, float)
    ev = problem.evaluate(theta, hess=True)
    H = getattr(ev, "hess", None)
    scores = ev.scores if getattr(ev, "scores", None) is not None else (
        problem.scores(theta) if hasattr(problem, "scores") else None)
    if H is None or scores is None:
        return None
    groups = getattr(problem, "score_groups", None)
    if groups is not None:
        codes, G = groups
        S = np.zeros((G, scores.shape[1]))
        np.add.at(S, codes, scores)
    else:
        S = scores
    try:
        U = np.linalg.solve(-np.asarray(H, float), S.T).T            # respondents x P
    except np.linalg.LinAlgError:
        return None
    num = (U ** 3).sum(axis=0)
    den = 6 * (U ** 2).sum(axis=0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, 0.0)


def bootstrap_table(result, boot):
    """The bootstrap's table for people: estimate, bootstrap and model s.e., percentile and BCa intervals."""
    pct = f"{100 * boot['level']:g}%"
    se = result.se()
    rows = [[iv["name"], result.estimates[k], iv["se"], se[k], iv["percentile"], iv["bca"]]
            for k, iv in enumerate(boot["intervals"])]
    t = Table(f"Bootstrap: {boot['requested'] - boot['failed']} respondent-level replicates",
              [Column("parameter"), Column("estimate", "f6"), Column("bootstrap s.e.", "f6"),
               Column(SE_LABEL.get(result.se_type, "s.e."), "f6"), Column(f"{pct} percentile", "ci"),
               Column(f"{pct} BCa", "ci")], rows, key="bootstrap")
    t.notes.append(f"respondents drawn with replacement, each replicate re-estimated from the estimates; seed "
                   f"{boot['seed']}; BCa acceleration from the respondents' empirical influence"
                   + (f"; {boot['failed']} failed replicates left out" if boot["failed"] else ""))
    return t



def attach(result, boot):
    """Store the bootstrap in ``result`` (JSON ``bootstrap``: replicates and intervals; a table; a warning
    when replicates failed); :meth:`ModelResult.bootstrap_replicates` then serves shares and WTP."""
    result.info["bootstrap"] = boot
    result.tables.append(bootstrap_table(result, boot))
    if boot["failed"]:
        result.warnings.append(f"{boot['failed']} of {boot['requested']} bootstrap replicates failed and are left "
                               "out of the bootstrap intervals")
    return result


__all__ = ["resample", "bootstrap", "intervals_of", "acceleration", "bootstrap_table", "attach"]
