"""Sample size by simulation: how often a planned model finds each effect, at each number of respondents.

For every sample size ``n`` and replication, responses of ``n`` respondents are simulated from a known
truth (:func:`dce.data.simulate.simulate_responses`, the layout of a survey export), read back as any
survey export is (:func:`dce.data.survey.choice_data_from_survey`) and the planned model is fitted.  Each
*target* is a function of the model's weighted coefficient draws (:meth:`ModelResult.coefficient_draws`),
so that every model family is handled the same way:

* ``coefficients``: the mean coefficients ``w @ B`` (a conditional logit's estimates; a mixed logit's
  population means), null value 0;
* ``shares``: the share preferring each scenario over the reference (:class:`dce.post.shares.ShareMap`),
  null value 1/2 (indifference), or 1/S for market shares among S scenarios;
* ``wtp``: willingness to pay against a numeric cost attribute (:class:`dce.post.wtp.WtpMap`), null 0.

With ``coefficients`` and a planned model with random coefficients that the truth also makes random,
their spreads (``sd.NAME``, the model's parameters) are targets too, null 0, truth the file's sd.  A
planned model that fixes a coefficient the truth makes random is misspecified for that truth, and the
result says so (``misspecified``).

A target's standard error is the delta method's (``J V J'`` with ``J`` the numerical Jacobian of the
target in the parameters, ``V`` the covariance the model reports as its ``se``).  A replication
*rejects* when ``|estimate - null| / se`` exceeds the normal quantile of ``1 - alpha / 2`` and the
estimate lies on the side of the null the truth lies on.  Per size and target: the power (rejecting
replications over ALL replications: a failed fit counts as not rejecting), the mean s.e., the bias and
the coverage of the ``1 - alpha`` interval (over the fits that succeeded), and for shares and WTP the
mean interval width.  The number of failed fits (an error, no convergence, separation) is reported per
size.  The sizes for 80% and 90% power are interpolated between the sizes tried (on the probit scale of
the power against the square root of ``n``, on which the normal approximation is a straight line).

Beside the simulation, the analytic figures of the design's conditional-logit information at the truth
(``I``, for one respondent per block answering every task): Ngene's S-estimate, the number of respondents
at which ``|truth - null| / se`` reaches the normal quantile (about 50% power), and the analytic power
``Phi(|truth - null| / se_n - z)`` with its n80 and n90.  For models other than the conditional logit
these are the conditional logit's figures.
"""
from __future__ import annotations

import copy
import functools
import math
import time
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from dce.data.coding import design_coding
from dce.data.simulate import mean_coefficients, prior_truth, respondent_coefficients, simulate_responses
from dce.data.survey import choice_data_from_survey
from dce.design.info import information
from dce.errors import ArgumentError, DCEError
from dce.models.results import ModelResult
from dce.post.wtp import WtpMap
from dce.runner import describe, run
from dce.util.numbers import json_float, whole_number
from dce.util.numdiff import jacobian
from dce.util.seeds import child, resolve_seed

TARGETS = ("coefficients", "shares", "wtp")
KIND = {"coefficients": "coefficient", "shares": "share", "wtp": "wtp"}
TRUTH_DRAWS = 20000       # simulated respondents of the truth's population (covariates, random coefficients)


# ------------------------------------------------------------------------------------------- arguments
def check_sizes(respondents, argument="respondents") -> list:
    """Sample sizes as a sorted list of distinct positive whole numbers."""
    if isinstance(respondents, (str, bytes)) or not hasattr(respondents, "__iter__"):
        respondents = [respondents]
    out = []
    for v in respondents:
        try:
            out.append(whole_number(v, argument, 1))
        except ArgumentError:
            raise ArgumentError(argument, f"'{v}' is not a positive whole number of respondents") from None
    if not out:
        raise ArgumentError(argument, "give at least one sample size")
    if len(set(out)) != len(out):
        raise ArgumentError(argument, f"sample size {[n for n in out if out.count(n) > 1][0]} is given twice")
    return sorted(out)


def _check(replications, alpha, target):
    whole_number(replications, "replications", 2)
    if not 0 < float(alpha) < 1:
        raise ArgumentError("alpha", f"must be between 0 and 1, not {alpha}")
    if target not in TARGETS:
        raise ArgumentError("target", f"unknown target '{target}' (use {', '.join(TARGETS)})")


# ------------------------------------------------------------------------------------------- targets
def template_result(design, spec_text=None, model="mnl"):
    """A result with the coding of the design and no estimates: what scenarios are coded against before any
    fit (the spec the survey reader gives every fit of the design)."""
    names = list(design.spec.param_names)
    spec = design_coding(design.spec, spec_text, names)
    P = len(names)
    return ModelResult(model=model, names=names, estimates=np.zeros(P), vcovs={"classical": np.zeros((P, P))},
                       spec=spec, coef_names=names, source=design.spec.source)


@dataclass
class Targets:
    """What is tested: ``kind`` (coefficient, share, wtp), the ``names``, their ``nulls`` and ``fn(B, w) ->
    (m,)``, the targets as a function of weighted coefficient draws (B: R x K, w: R)."""

    kind: str
    names: list
    nulls: np.ndarray
    fn: object


class _MeanCoefficients:
    def __call__(self, B, w):
        return np.asarray(w, float) @ np.atleast_2d(B)


def make_targets(target, template, scenarios=None, reference=None, cost=None) -> Targets:
    """The targets of ``target`` for results coded like ``template`` (:func:`template_result`).

    ``scenarios``/``reference``: as :func:`dce.post.shares.preference_shares` takes them (shares);
    ``cost``: the numeric money attribute (WTP).
    """
    names = list(template.coef_names)
    if target == "coefficients":
        return Targets("coefficient", names, np.zeros(len(names)), _MeanCoefficients())
    if target == "shares":
        from dce.post.shares import ShareMap

        if not scenarios:
            raise ArgumentError("scenarios", "the shares target needs scenarios (a scenarios YAML file)")
        null = 0.5 if reference is not None else 1.0 / len(scenarios)
        return Targets("share", [s.name for s in scenarios], np.full(len(scenarios), null),
                       ShareMap(template, scenarios, reference))
    if cost is None:
        raise ArgumentError("cost", "the wtp target needs the numeric money attribute (cost)")
    coder = template.coder
    if cost not in names or not coder.numeric_attribute(cost):
        raise ArgumentError("cost", f"'{cost}' is not a numeric, linearly coded attribute of the design "
                                    f"(coefficients: {', '.join(names)})")
    f = WtpMap(names, cost)
    return Targets("wtp", f.names, np.zeros(len(f.names)), f)


def truth_values(truth, targets, seed=0):
    """The targets under the truth (its population: covariate groups and random coefficients), and the
    truth's mean coefficients ``(K,)``.  The mean coefficients are exact (:func:`mean_coefficients`: a
    normal coefficient's truth is the file's value, not a simulated -0.1204 for -0.12); shares and WTP are
    averaged over TRUTH_DRAWS simulated respondents."""
    exact = mean_coefficients(truth)
    if isinstance(targets.fn, _MeanCoefficients):
        return exact.copy(), exact
    B, _ = respondent_coefficients(truth, TRUTH_DRAWS, np.random.default_rng(seed))
    w = np.full(B.shape[0], 1.0 / B.shape[0])
    return np.asarray(targets.fn(B, w), float), exact


def spread_names(truth, model):
    """The truth's random coefficients that the planned model also treats as random: their spreads
    (``sd.NAME``) are tested too."""
    random = getattr(model, "random", None) or {}
    return [n for n in truth.get("random", {}) if n in random]


def misspecification(truth, model):
    """A sentence when the planned model cannot represent the truth (coefficients that vary over
    respondents in the truth but are fixed in the model), else None."""
    random = getattr(model, "random", None) or {}
    fixed = [n for n in truth.get("random", {}) if n not in random]
    if not fixed:
        return None
    label = getattr(model, "label", model.name)
    return (f"the planned model ({label}) is misspecified for this truth: {', '.join(fixed)} vary over respondents "
            "in the truth but are fixed in the model, so its estimates are of a different (attenuated) quantity "
            "and their bias and coverage are measured against a truth it does not estimate; plan the model "
            "the truth describes (a mixed logit with these coefficients random) or a truth without the spread")


def target_estimates(result, targets, n_draws=1000, seed=0):
    """The targets of a fitted result and their delta-method standard errors, each ``(m,)``."""
    def g(theta):
        return targets.fn(*result.coefficient_draws(theta, n_draws=n_draws, seed=seed))

    est = np.asarray(g(result.estimates), float)
    J = jacobian(g, result.estimates)
    V = result.vcov
    se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", J, V, J), 0, None))
    return est, se


# ------------------------------------------------------------------------------------------- replications
@dataclass
class _Context:
    design: object
    truth: dict
    model: object
    targets: Targets
    spec_text: str | None
    n_draws: int
    spreads: list = None


def _context(design, truth, model, target_args, spec_text, n_draws):
    """Built once per worker process: the targets are coded there (nothing unpicklable travels)."""
    template = template_result(design, spec_text, model.name)
    targets = make_targets(target_args[0], template, *target_args[1:])
    spreads = spread_names(truth, model) if target_args[0] == "coefficients" else []
    return _Context(design, truth, model, targets, spec_text, n_draws, spreads)


def _replicate(ctx, n, stream):
    """One replication at ``n`` respondents: ``(estimates, se, None)`` or ``(None, None, why it failed)``."""
    df = simulate_responses(ctx.design, ctx.truth, n, child(stream, 0), warn=False)
    est = copy.copy(ctx.model)
    est.seed = int(child(stream, 1).generate_state(1)[0])
    est.callback = None
    est.progress = None
    est.threads = 1
    if hasattr(est, "workers"):
        est.workers, est.scheduler = 1, None
    try:
        data, _ = choice_data_from_survey(df, ctx.design, source="simulated responses", spec_text=ctx.spec_text)
        result = est.fit(data)
    except (DCEError, np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError) as e:
        return None, None, _first_line(e)
    if not result.converged:
        return None, None, f"did not converge: {result.message}"
    values, se = target_estimates(result, ctx.targets, n_draws=ctx.n_draws)
    if ctx.spreads:
        idx = [result.names.index(f"sd.{n}") if f"sd.{n}" in result.names else None for n in ctx.spreads]
        if None in idx:
            return None, None, "the fitted model has no sd parameter of " + ctx.spreads[idx.index(None)]
        rse = result.se()
        values = np.concatenate([values, np.abs(result.estimates[idx])])
        se = np.concatenate([se, rse[idx]])
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(se))):
        return None, None, "standard errors are not finite (singular Hessian)"
    return values, se, None


def _first_line(e):
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# ------------------------------------------------------------------------------------------- the analysis
def power_analysis(design, model, respondents, replications, seed=None, *, truth=None, target="coefficients",
                   scenarios=None, reference=None, cost=None, alpha=0.05, spec_text=None, n_draws=1000,
                   workers=None, scheduler=None, progress=None) -> dict:
    """Power of ``model`` on ``design`` at each sample size, by simulation, with the analytic figures.

    Parameters
    ----------
    design : dce.design.core.Design
        The design the respondents answer (blocks in balanced rotation).
    model : dce.models.base.Model
        The planned estimator (``ConditionalLogit(se=...)``, ``MixedLogit(random=...)``, ...); each
        replication fits a copy with its own seed, one thread.
    respondents : sequence of int
        Sample sizes (positive, distinct).
    replications : int
        Replications per sample size (at least 2).
    seed : int, optional
        Replication ``r`` at size index ``s`` uses stream ``r * len(sizes) + s`` of this seed (more
        replications keep the first ones); None: a fresh seed, reported.
    truth : dict, optional
        :func:`dce.data.simulate.load_truth`'s truth; default: the design's prior means
        (:func:`dce.data.simulate.prior_truth`).
    target : str
        ``coefficients``, ``shares`` (needs ``scenarios`` and ``reference``, as
        :func:`dce.post.shares.load_scenarios` returns them) or ``wtp`` (needs ``cost``).
    alpha : float
        Two-sided level of the tests; the intervals have coverage ``1 - alpha``.
    spec_text : str, optional
        The design YAML text (the coding of scenarios for shares and WTP).
    workers, scheduler, progress
        Passed to :func:`dce.runner.run`.

    Returns
    -------
    dict
        JSON-ready: ``sizes``, ``replications``, ``seed``, ``model``, ``alpha``, ``target``, ``targets``
        (per target: ``name``, ``kind``, ``truth``, ``null``, ``power``/``mean_se``/``bias``/``coverage``
        (one per size; ``mean_ci_width`` for shares and WTP), ``n80``, ``n90``, ``s_estimate``,
        ``analytic_power``, ``analytic_n80``, ``analytic_n90``), ``failed`` (per size) and ``failures``
        (the reasons with their counts).
    """
    t0 = time.perf_counter()
    sizes = check_sizes(respondents)
    _check(replications, alpha, target)
    R = int(replications)
    if hasattr(model, "_validate"):
        model._validate()                          # the estimator's arguments, once, before any replication
    seed = resolve_seed(seed)
    truth = truth if truth is not None else prior_truth(design.spec)
    if list(truth["names"]) != list(design.spec.param_names):
        raise ArgumentError("truth", f"its coefficients ({', '.join(truth['names'])}) are not the design's "
                                     f"({', '.join(design.spec.param_names)})")
    target_args = (target, scenarios, reference, cost)
    setup = functools.partial(_context, design, truth, model, target_args, spec_text, int(n_draws))
    ctx = setup()                                   # here too: checks the targets before any work
    values, beta_bar = truth_values(truth, ctx.targets, seed)
    tasks = [n for _ in range(R) for n in sizes]
    reps = run(_replicate, tasks, seed, setup=setup, workers=workers, scheduler=scheduler, progress=progress)
    out = {"sizes": sizes, "replications": R, "seed": seed, "model": model.name,
           "model_label": getattr(model, "label", model.name), "se_type": model.se, "alpha": float(alpha),
           "target": target, "truth_model": truth.get("model", "mnl"), "simulated": True}
    by_size = [[reps[r * len(sizes) + s] for r in range(R)] for s in range(len(sizes))]
    m = len(ctx.targets.names)
    main = [[(v if v is None else v[:m], se if se is None else se[:m], why) for v, se, why in reps_s]
            for reps_s in by_size]
    out["targets"] = summarise(main, sizes, ctx.targets, values, alpha)
    analytic = analytic_figures(design, beta_bar, ctx.targets, values, alpha, sizes)
    for t, a in zip(out["targets"], analytic):
        t.update(a)
    if ctx.spreads:
        sds = np.array([truth["random"][n][1] for n in ctx.spreads], float)
        spread = Targets("spread", [f"sd.{n}" for n in ctx.spreads], np.zeros(len(sds)), None)
        rest = [[(v if v is None else v[m:], se if se is None else se[m:], why) for v, se, why in reps_s]
                for reps_s in by_size]
        for t in summarise(rest, sizes, spread, sds, alpha):
            t.update({"s_estimate": None, "analytic_power": [None] * len(sizes), "analytic_n80": None,
                      "analytic_n90": None})
            out["targets"].append(t)
    out["misspecified"] = misspecification(truth, model)
    out["failed"], out["failures"] = _failures(by_size)
    out["ran_on"] = describe(workers, scheduler)
    out["seconds"] = time.perf_counter() - t0
    return out


def _failures(by_size):
    """Failed fits per size, and their reasons with counts (most frequent first)."""
    failed = [sum(1 for _, _, why in reps_s if why is not None) for reps_s in by_size]
    reasons = {}
    for reps_s in by_size:
        for _, _, why in reps_s:
            if why is not None:
                reasons[why] = reasons.get(why, 0) + 1
    return failed, [{"reason": k, "count": v} for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])]


def summarise(by_size, sizes, targets, truth, alpha):
    """Per target the simulated figures (one per size) and the interpolated n80 and n90."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    m = len(targets.names)
    rows = []
    stats = []
    for reps in by_size:
        R = len(reps)
        ok = [(v, se) for v, se, why in reps if why is None]
        E = np.array([v for v, _ in ok]).reshape(len(ok), m)
        S = np.array([se for _, se in ok]).reshape(len(ok), m)
        side = np.sign(truth - targets.nulls)
        with np.errstate(divide="ignore", invalid="ignore"):
            zstat = (E - targets.nulls) / S
        reject = np.abs(zstat) > z
        right = np.where(side == 0, True, np.sign(E - targets.nulls) == side)
        cover = np.abs(E - truth) <= z * S
        stats.append({"power": (reject & right).sum(axis=0) / R,
                      "mean_se": S.mean(axis=0) if len(ok) else np.full(m, np.nan),
                      "bias": E.mean(axis=0) - truth if len(ok) else np.full(m, np.nan),
                      "coverage": cover.mean(axis=0) if len(ok) else np.full(m, np.nan),
                      "mean_ci_width": 2 * z * S.mean(axis=0) if len(ok) else np.full(m, np.nan)})
    R = len(by_size[0])
    for k, name in enumerate(targets.names):
        power = [float(st["power"][k]) for st in stats]
        row = {"name": name, "kind": targets.kind, "truth": json_float(truth[k]), "null": json_float(targets.nulls[k]),
               "power": power}
        for key in ("mean_se", "bias", "coverage") + (("mean_ci_width",) if targets.kind != "coefficient" else ()):
            row[key] = [json_float(st[key][k]) for st in stats]
        detectable = truth[k] != targets.nulls[k]
        row["n80"] = crossing(sizes, power, 0.8, R) if detectable else None
        row["n90"] = crossing(sizes, power, 0.9, R) if detectable else None
        rows.append(row)
    return rows


def crossing(sizes, power, level, R):
    """The smallest sample size with power ``level``, interpolated between the sizes tried: linear in
    ``sqrt(n)`` on the probit scale of the power (powers of 0 and 1 taken as ``0.5/R`` from the bounds).
    The first size when it already has the power; None when no size reaches it."""
    nd = NormalDist()
    lo, hi = 0.5 / R, 1 - 0.5 / R
    for k, p in enumerate(power):
        if p >= level:
            if k == 0:
                return int(sizes[0])
            p0 = min(max(power[k - 1], lo), hi)
            p1 = min(max(p, lo), hi)
            a, b = nd.inv_cdf(p0), nd.inv_cdf(p1)
            x0, x1 = math.sqrt(sizes[k - 1]), math.sqrt(sizes[k])
            x = x1 if b == a else x0 + (nd.inv_cdf(level) - a) * (x1 - x0) / (b - a)
            return int(math.ceil(min(max(x, x0), x1) ** 2))
    return None


def analytic_figures(design, beta, targets, truth, alpha, sizes):
    """Per target, from the design's conditional-logit information at the coefficients ``beta``: Ngene's
    S-estimate, the analytic power at each size and the analytic n80 and n90 (None where the target
    equals its null or the information is singular)."""
    X = design.matrix()
    I = information(X, np.asarray(beta, float)[None, :])[0]
    nb = design.n_blocks
    nd = NormalDist()
    z = nd.inv_cdf(1 - alpha / 2)
    out = [{"s_estimate": None, "analytic_power": [None] * len(sizes), "analytic_n80": None, "analytic_n90": None}
           for _ in targets.names]
    try:
        Iinv = np.linalg.inv(I)
    except np.linalg.LinAlgError:
        return out
    if not np.all(np.isfinite(Iinv)) or np.min(np.linalg.eigvalsh(0.5 * (I + I.T))) <= 1e-12 * np.trace(I):
        return out
    G = jacobian(lambda b: targets.fn(b[None, :], np.ones(1)), np.asarray(beta, float))
    var1 = np.einsum("ik,kl,il->i", G, Iinv, G) * nb       # variance x respondents
    for k in range(len(targets.names)):
        delta = abs(truth[k] - targets.nulls[k])
        if delta == 0 or not var1[k] > 0:
            continue
        sd = math.sqrt(var1[k])

        def need(q):
            return int(math.ceil((q * sd / delta) ** 2))

        out[k] = {"s_estimate": need(z), "analytic_power": [nd.cdf(delta * math.sqrt(n) / sd - z) for n in sizes],
                  "analytic_n80": need(z + nd.inv_cdf(0.8)), "analytic_n90": need(z + nd.inv_cdf(0.9))}
    return out

