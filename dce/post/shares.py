"""Predicted preference shares: each scenario against a reference, or market shares among scenarios.

With a reference (the status quo, say), the share preferring scenario ``s`` is the binary logit
probability ``1 / (1 + exp(-(V_s - V_ref)))``; with ``reference: none`` the shares are the logit
shares among all scenarios.  Every model speaks through its result's weighted coefficient draws
(:meth:`dce.models.results.ModelResult.coefficient_draws`): one vector for a conditional logit, the
mixing distribution of a mixed logit, ...; the probabilities are averaged over them with their weights.
Intervals: Krinsky-Robb (percentiles over the result's :meth:`coefficient_sets`, draws of the estimates
from their normal distribution), the bootstrap (percentiles over the respondent-level bootstrap
replicates a result of `dce fit --bootstrap` carries) or the delta method (models with a covariance of
the estimates).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dce.errors import ArgumentError, DCEError
from dce.util.yamlio import YamlDoc

CI_METHODS = ("krinsky-robb", "delta", "bootstrap")


@dataclass
class Scenario:
    name: str
    levels: dict
    x: np.ndarray = None
    kind: str = "designed"       # or opt_out / status_quo: the design's own alternatives in a market


def _shares_given_coefs(B, wd, Xs, x_ref, w):
    """Shares (scenarios,) for coefficient draws B (R x K) with weights wd (R,), scenario rows Xs
    (S x P x K) over covariate profiles P with weights w, and reference rows x_ref (P x K) or None (market
    shares)."""
    if x_ref is not None:
        D = (Xs - x_ref[None]) @ B.T                   # S x P x R
        P = 0.5 * (1 + np.tanh(0.5 * D))               # the logistic function, stable for large |D|
    else:
        V = Xs @ B.T                                   # S x P x R
        V = V - V.max(axis=0, keepdims=True)
        E = np.exp(V)
        P = E / E.sum(axis=0, keepdims=True)
    return (P @ wd) @ w


class ShareMap:
    """The shares of scenarios as a function of weighted coefficient draws: ``f(B, w) -> (S,)``.

    ``B`` (R x K) are coefficient vectors in the order of the model's coefficients, ``w`` (R,) their
    weights (a result's :meth:`coefficient_draws`, or the draws of a known truth); the shares are
    averaged over the covariate ``profiles`` (``[(values, weight), ...]``, default: the fitted sample's).
    """

    def __init__(self, result, scenarios, reference=None, profiles=None):
        coder = result.coder
        profiles = coder.profiles() if profiles is None else profiles
        w = np.array([wt for _, wt in profiles], float)
        self.w = w / w.sum()
        self.Xs = np.array([coder.code_rows(s.levels, profiles, where=s.name, kind=s.kind) for s in scenarios],
                           float)
        self.x_ref = None
        if reference is not None:
            levels, kind = reference
            self.x_ref = coder.code_rows(levels, profiles, where="reference", kind=kind)

    def __call__(self, B, wd):
        return _shares_given_coefs(np.atleast_2d(B), np.asarray(wd, float), self.Xs, self.x_ref, self.w)


def preference_shares(result, scenarios, reference=None, ci="krinsky-robb", n_sim=2000, n_draws=1000, seed=0,
                      level=0.95, by=None):
    """Shares preferring each scenario (fractions) with confidence intervals.

    ``result``: a :class:`dce.models.results.ModelResult`; ``scenarios``: list of :class:`Scenario`;
    ``ci``: ``krinsky-robb``, ``delta`` or ``bootstrap`` (the result's bootstrap replicates; ``n_sim``
    is then their number);
    ``reference``: ``(levels, kind)`` of the reference
    alternative, or None for market shares among the scenarios.  A model with respondent covariates
    averages over the fitted sample's covariate profiles; ``by`` gives one set of shares per level of
    that covariate.  Returns dicts ``name, share, ci_low, ci_high`` (and ``group`` with ``by``); a
    model with segments of respondents (latent classes) adds the shares within each segment, rows with
    ``segment`` (its label) and ``segment_share``.
    """
    if ci not in CI_METHODS:
        raise ArgumentError("ci", f"unknown method '{ci}' (use krinsky-robb or delta)")
    if ci == "delta" and not result.has_covariance:
        raise ArgumentError("ci", f"the delta method needs a covariance of the estimates; the {result.label} "
                                  "has none (use krinsky-robb)")
    boot = ci == "bootstrap"
    if boot:
        n_sim = result.require_replicates("ci").shape[0]
    coder = result.coder
    groups = {None: coder.profiles()} if by is None else coder.profiles(by=by)
    out = []
    for gname, profiles in groups.items():
        f = ShareMap(result, scenarios, reference, profiles)

        def share_fn(draws):
            return lambda theta: f(*draws(theta))

        overall = share_fn(lambda th: result.coefficient_draws(th, n_draws=n_draws, seed=seed))
        sets = (f(B, wd) for B, wd in result.coefficient_sets(n_sim, n_draws=n_draws, seed=seed, bootstrap=boot))
        for row in _with_ci(result, scenarios, overall, sets, ci, n_sim, seed, level):
            out.append(row if by is None else {"group": gname, **row})
        for s, (label, share, _, _) in enumerate(result.segment_draws(n_draws=n_draws, seed=seed) if by is None else []):
            seg = share_fn(lambda th, s=s: result.segment_draws(th, n_draws=n_draws, seed=seed)[s][2:])
            sims = (seg(t) for t in result.parameter_draws(n_sim, seed, bootstrap=boot))
            for row in _with_ci(result, scenarios, seg, sims, ci, n_sim, seed, level):
                out.append({"segment": label, "segment_share": float(share), **row})
    return out


def _with_ci(result, scenarios, shares, sims, ci, n_sim, seed, level):
    """Rows of point shares (``shares(theta)`` at the estimates) with percentile intervals over the
    simulated shares ``sims`` (Krinsky-Robb, posterior or bootstrap) or delta-method ones."""
    point = shares(result.estimates)
    alpha = (1 - level) / 2
    if ci != "delta":
        sims = np.array(list(sims))
        lo, hi = np.quantile(sims, [alpha, 1 - alpha], axis=0)
    else:
        from statistics import NormalDist

        from dce.util.numdiff import jacobian

        q = NormalDist().inv_cdf(1 - alpha)
        G = jacobian(shares, result.estimates)
        se = np.sqrt(np.clip(np.einsum("sk,kl,sl->s", G, result.vcov, G), 0, None))
        lo, hi = np.clip(point - q * se, 0, 1), np.clip(point + q * se, 0, 1)
    return [{"name": s.name, "share": float(p), "ci_low": float(a), "ci_high": float(b)}
            for s, p, a, b in zip(scenarios, point, lo, hi)]


# --------------------------------------------------------------------------------------------- scenario file
def load_scenarios(path, result):
    """Read a scenarios YAML file and code its alternatives with the model's spec.

    ``reference``: ``status_quo`` (each scenario against the status quo; the default where the design
    has one), ``opt_out`` (each scenario against opting out), ``{name, levels}`` (against an alternative of
    your own), or ``none`` (market shares among the scenarios; the default otherwise).  A scenario is
    ``{name, levels}`` (attributes left out keep their status-quo level; a linearly coded attribute may
    take any number between its levels) or ``{name, alternative: opt_out}`` / ``{name, alternative:
    status_quo}``, the design's own alternatives, in a market.  Without a ``reference`` key, a design with
    an opt-out and no status quo puts the opt-out in the market (named by its label).

    Returns ``(reference_label, (levels, kind) or None, [Scenario...])``; every alternative is coded once
    here so that unknown attributes and levels are reported before any computation.
    """
    ydoc = YamlDoc.load(path, what="scenarios file", allow_empty=True)
    doc = ydoc.data

    def at(*key):
        """``file: line N: key``: where a problem is, for the messages."""
        line = ydoc.line(key)
        return f"{path}: line {line}: {ydoc.dotted(key)}" if line else f"{path}: {ydoc.dotted(key)}"

    if not isinstance(doc, dict):
        raise DCEError(f"{path}: expected keys 'reference' and 'scenarios'")
    unknown = [k for k in doc if k not in ("reference", "scenarios", "name", "description")]
    if unknown:
        raise DCEError(f"{at(unknown[0])}: unknown key '{unknown[0]}' (expected reference, scenarios)")
    coder = result.coder
    items = doc.get("scenarios")
    if not isinstance(items, list) or not items:
        raise DCEError(f"{at('scenarios')}: must be a non-empty list of scenarios")
    scenarios = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or ("levels" not in item and "alternative" not in item):
            raise DCEError(f"{at('scenarios', i)}: needs 'name' and 'levels' (or 'alternative: opt_out')")
        bad = [k for k in item if k not in ("name", "levels", "alternative")]
        if bad:
            raise DCEError(f"{at('scenarios', i, bad[0])}: unknown key '{bad[0]}'")
        kind = item.get("alternative", "designed")
        if kind not in ("designed", "opt_out", "status_quo"):
            raise DCEError(f"{at('scenarios', i, 'alternative')}: '{kind}' (use opt_out or status_quo, or give "
                           "levels)")
        if kind == "opt_out" and "levels" in item:
            raise DCEError(f"{at('scenarios', i, 'levels')}: the opt-out has no levels")
        name = str(item.get("name", f"scenario {i + 1}"))
        levels = item.get("levels") or ({} if kind != "designed" else item["levels"])
        where = f"{at('scenarios', i)}: scenario '{name}'"
        if kind == "status_quo" and not getattr(coder, "has_status_quo", False):
            raise DCEError(f"{where}: the model has no status quo alternative")
        scenarios.append(Scenario(name, levels, coder.code(levels, where=where, kind=kind), kind))
    names = [s.name for s in scenarios]
    dup = [n for n in names if names.count(n) > 1]
    if dup:
        raise DCEError(f"{at('scenarios', len(names) - 1 - names[::-1].index(dup[0]))}: scenario name '{dup[0]}' "
                       "appears twice")
    given = "reference" in doc
    ref = doc.get("reference", "status_quo" if coder.has_status_quo else "none")
    if ref is None or (isinstance(ref, str) and ref.lower() == "none"):
        opt_out = coder.opt_out_label
        if not given and opt_out and not any(s.kind == "opt_out" for s in scenarios):
            # a design with an opt-out: the market includes it unless the file says otherwise
            scenarios.append(Scenario(str(opt_out) if str(opt_out) not in names else "opt-out", {},
                                      coder.code({}, where=at("scenarios"), kind="opt_out"), "opt_out"))
        if len(scenarios) < 2:
            raise DCEError(f"{path}: market shares (reference: none) need at least two scenarios")
        return "none", None, scenarios
    if any(s.kind != "designed" for s in scenarios):
        raise DCEError(f"{at('reference')}: the design's own alternatives (alternative: opt_out / status_quo) "
                       "are scenarios of a market only (reference: none)")
    if isinstance(ref, str) and ref in ("status_quo", "opt_out"):
        if ref == "status_quo" and not coder.has_status_quo:
            raise DCEError(f"{at('reference')}: the model has no status quo alternative")
        if ref == "opt_out" and coder.has_opt_out is False:
            raise DCEError(f"{at('reference')}: the model has no opt-out alternative")
        coder.code({}, where=at("reference"), kind=ref)
        return ref, ({}, ref), scenarios
    if isinstance(ref, dict) and "levels" in ref:
        coder.code(ref["levels"], where=at("reference"))
        return str(ref.get("name", "reference")), (ref["levels"], "designed"), scenarios
    raise DCEError(f"{at('reference')}: must be status_quo, opt_out, none, or {{name, levels}}")
