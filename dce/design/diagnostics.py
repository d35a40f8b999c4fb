"""Diagnostics of a choice design: errors, Street & Burgess efficiency, S-efficiency, balance, overlap.

:func:`evaluate` returns a JSON-ready dict (no NaN or infinity: ``None`` stands for "not defined");
:mod:`dce.report.design_tables` turns it into tables for people.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from dce.design.info import a_errors, d_errors, information, prior_draws
from dce.util.seeds import streams

if TYPE_CHECKING:
    from dce.design.core import Design
    from dce.design.spec import DesignSpec

Z = 1.96


def draws_for(spec: DesignSpec, seed=0, n: int | None = None) -> np.ndarray:
    """The prior draws a design made with ``seed`` was optimised for (one row for a fixed prior)."""
    if not spec.bayesian:
        return spec.prior_mean[None, :]
    child = streams(seed, 1)[0]     # the stream make_design draws the prior from
    return prior_draws(spec.prior_mean, spec.prior_sd, int(n or spec.draws), spec.draw_type, seed=child)


def _num(x, digits=None):
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, digits) if digits is not None else x


# ------------------------------------------------------------------------- Street & Burgess
def sb_applicable(spec: DesignSpec) -> str | None:
    """None when the Street & Burgess bound applies to the spec, else the reason it does not."""
    if spec.status_quo is not None or spec.opt_out is not None:
        return "not applicable: the bound is for forced choice without a status quo or opt-out"
    for a in spec.attributes:
        if a.coding == "linear" and a.n_levels > 2:
            return (f"not applicable: '{a.name}' is linear with {a.n_levels} levels "
                    "(the bound is for all main-effect contrasts)")
    return None


def _orthonormal_contrasts(L):
    """(L-1) x L rows orthonormal and orthogonal to the all-ones vector."""
    Q, _ = np.linalg.qr(np.column_stack([np.ones(L), np.eye(L)[:, : L - 1]]))
    return Q[:, 1:].T


def sb_optimum_det(n_levels, m: int) -> float:
    """det(C_opt) of Street & Burgess (2007, Theorem 6.3.1) for main effects, m options per set."""
    n_levels = [int(x) for x in n_levels]
    total = float(np.prod(n_levels))
    logdet = 0.0
    for lq in n_levels:
        if lq == 2:
            S = (m * m - 1) / 4 if m % 2 else m * m / 4
        elif lq <= m:
            x, y = divmod(m, lq)
            S = (m * m - (lq * x * x + 2 * x * y + y)) / 2
        else:
            S = m * (m - 1) / 2
        logdet += (lq - 1) * math.log(2 * S / (m * m * (lq - 1) * (total / lq)))
    return math.exp(logdet)


def sb_efficiency(levels: np.ndarray, n_levels) -> float:
    """D-efficiency of a generic forced-choice design relative to the Street & Burgess optimum.

    ``levels``: tasks x alternatives x attributes level indices.  The design is coded with normalised
    orthonormal contrasts (S&B's B matrix), its information under utility neutrality divided by the
    number of choice sets is S&B's C, and the efficiency is ``(det C / det C_opt)^(1/p)``.
    """
    levels = np.asarray(levels)
    S, m, A = levels.shape
    total = float(np.prod(n_levels))
    cols = []
    for k, L in enumerate(n_levels):
        c = _orthonormal_contrasts(int(L)) / math.sqrt(total / L)
        cols.append(c.T[levels[:, :, k]])                   # S m (L-1)
    X = np.concatenate(cols, axis=-1)
    p = X.shape[-1]
    C = information(X, np.zeros((1, p)))[0] / S
    sign, logdet = np.linalg.slogdet(C)
    if sign <= 0:
        return 0.0
    return float(math.exp((logdet - math.log(sb_optimum_det(n_levels, m))) / p))


# ------------------------------------------------------------------------- evaluate
def evaluate(design: Design, spec: DesignSpec | None = None, draws: int | None = None,
             seed: int | None = None) -> dict:
    """All diagnostics of a design, as numbers and names.

    Errors are for one respondent answering every task of the design.  ``d_error``/``a_error`` are under
    the prior (Bayesian: mean over the prior draws the design was made with), ``*_local`` at the prior
    mean, ``*_neutral`` at beta = 0.

    Parameters
    ----------
    design : Design
        S tasks x m alternatives x A attributes (level indices).
    spec : DesignSpec, optional
        Default ``design.spec``.
    draws : int, optional
        Prior draws for a Bayesian prior (default ``spec.draws``).
    seed : int, optional
        The seed of the prior draws (default the design's seed, else 0).

    Returns
    -------
    dict
        JSON-ready (``None`` where a value is not defined; no NaN or infinity): sizes, prior, D- and
        A-errors, Street & Burgess efficiency, S-efficiency rows (P parameters), level and block
        balance, overlap, dominance, repeats, constraint violations, the correlations (C x C, C coded
        attribute columns).  :mod:`dce.report.design_tables` turns it into tables.
    """
    spec = spec or design.spec
    seed = seed if seed is not None else (design.seed if design.seed is not None else 0)
    out, I_local = _errors(design, spec, draws_for(spec, seed, draws))
    out["attributes"] = [_attribute(a) for a in spec.attributes]
    if design.seed is not None:
        out["seed"] = int(design.seed)
    if design.search:
        out["search"] = {k: (v if not isinstance(v, float) else _num(v)) for k, v in design.search.items()}
        if "errors" in out["search"]:
            out["search"]["errors"] = [_num(e) for e in out["search"]["errors"]]
    reason = sb_applicable(spec)
    out["sb_efficiency"] = None if reason else _num(sb_efficiency(design.levels, spec.n_levels))
    out["sb_note"] = reason or "main effects, utility-neutral, relative to Street & Burgess (2007) Thm 6.3.1"
    out["s_efficiency"] = _s_efficiency(spec, I_local if np.isfinite(out["d_error_local"] or np.inf) else None,
                                        design.n_blocks)
    need = [r["respondents"] for r in out["s_efficiency"] if r["respondents"] is not None]
    out["s_estimate"] = max(need) if need else None
    out.update(_balance(design, spec))
    out.update(_correlations(design.levels, spec))
    out.update(_block_balance(design, spec))
    out["warnings"] = design_warnings(design.levels, spec)
    return out


COLLINEAR = 0.9        # |correlation| of two coded columns, or R^2 of an interaction on the main effects


def design_warnings(levels, spec) -> list:
    """Warnings about what a design cannot estimate: levels never shown, coded columns nearly collinear
    (|r| > COLLINEAR), and two-way interactions nearly a combination of the main effects (the centred
    product of two attributes' coded columns regressed on all main-effect columns: R^2 > COLLINEAR)."""
    S, m, A = levels.shape
    out = []
    unused = []
    for k, a in enumerate(spec.attributes):
        counts = np.bincount(levels[:, :, k].ravel(), minlength=a.n_levels)
        unused += [f"{a.name} = {a.labels[i]}" for i in np.flatnonzero(counts == 0)]
    if unused:
        out.append("the design never shows " + ", ".join(unused) + ": no effect of these levels can be "
                   "estimated, and respondents never see them (set 'level_balance: true')")
    C = spec.code_indices(levels).reshape(S * m, -1).astype(float)
    names = spec.coded_names
    sd = C.std(axis=0)
    live = sd > 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.corrcoef(C[:, live], rowvar=False) if live.sum() > 1 else np.ones((1, 1))
    R = np.atleast_2d(R)
    ln = [n for n, ok in zip(names, live) if ok]
    pairs = [f"{ln[i]} and {ln[j]} (r = {R[i, j]:.2f})" for i in range(len(ln)) for j in range(i + 1, len(ln))
             if abs(R[i, j]) > COLLINEAR]
    if pairs:
        out.append("coded columns nearly collinear: " + "; ".join(pairs) + ": their effects cannot be told apart")
    main = np.column_stack([np.ones(S * m), C])
    offs = np.cumsum([0] + [len(a.columns) for a in spec.attributes])
    bad = []
    for k1, k2 in [(a, b) for a in range(A) for b in range(a + 1, A)]:
        worst = 0.0
        for c1 in range(offs[k1], offs[k1 + 1]):
            for c2 in range(offs[k2], offs[k2 + 1]):
                y = (C[:, c1] - C[:, c1].mean()) * (C[:, c2] - C[:, c2].mean())
                var = y.var()
                if var <= 1e-12 * max(1.0, float(np.abs(y).max()) ** 2):
                    worst = 1.0
                    continue
                coef, *_ = np.linalg.lstsq(main, y, rcond=None)
                worst = max(worst, 1.0 - float((y - main @ coef).var() / var))
        if worst > COLLINEAR:
            bad.append(f"{spec.attributes[k1].name} x {spec.attributes[k2].name} (R^2 = {min(worst, 1.0):.2f})")
    if bad:
        out.append("interactions that this design cannot estimate (nearly a combination of the main effects): "
                   + ", ".join(bad))
    return out


def _errors(design, spec, B):
    """Sizes, prior and the D- and A-errors under the prior draws ``B`` (R x P), at the prior mean and at
    zero; and the information at the prior mean (P x P)."""
    S, m, _ = design.levels.shape
    X = design.matrix()
    names = spec.param_names
    mean, sd = spec.prior_mean, spec.prior_sd
    I_prior = information(X, B)
    I_local = information(X, mean[None, :])[0]
    I_zero = information(X, np.zeros((1, len(names))))[0]
    out = {
        "design": spec.name,
        "tasks": int(S),
        "blocks": int(design.n_blocks),
        "tasks_per_block": [int((design.block == b).sum()) for b in np.unique(design.block)],
        "alternatives": int(m),
        "status_quo": spec.status_quo.label if spec.status_quo else None,
        "opt_out": spec.opt_out.label if spec.opt_out else None,
        "parameters": names,
        "prior_mean": [float(x) for x in mean],
        "prior_sd": [float(x) for x in sd],
        "bayesian": spec.bayesian,
        "draws": int(B.shape[0]),
        "d_error": _num(np.mean(d_errors(I_prior))),
        "a_error": _num(np.mean(a_errors(I_prior))),
        "d_error_local": _num(d_errors(I_local)),
        "a_error_local": _num(a_errors(I_local)),
        "d_error_neutral": _num(d_errors(I_zero)),
        "a_error_neutral": _num(a_errors(I_zero)),
    }
    return out, I_local


def _s_efficiency(spec, I_local, n_blocks):
    """Per parameter: the standard error at the prior mean (one respondent per block) and the respondents
    needed for |prior / s.e.| to reach 1.96 (None where the information is singular or the prior zero)."""
    mean = spec.prior_mean
    cov = np.linalg.inv(I_local) if I_local is not None else None
    rows = []
    for i, nm in enumerate(spec.param_names):
        se = math.sqrt(cov[i, i]) if cov is not None and cov[i, i] > 0 else None
        if se is None or mean[i] == 0:
            rows.append({"parameter": nm, "prior": float(mean[i]), "se": _num(se), "replications": None,
                         "respondents": None})
            continue
        reps = (Z * se / abs(mean[i])) ** 2
        rows.append({"parameter": nm, "prior": float(mean[i]), "se": _num(se), "replications": _num(reps),
                     "respondents": int(math.ceil(reps * n_blocks))})
    return rows


def _balance(design, spec):
    """Level balance, overlap, dominance, repeated alternatives and constraint violations."""
    levels = design.levels
    m = levels.shape[1]
    out = {}
    bal = {}
    for k, a in enumerate(spec.attributes):
        counts = np.bincount(levels[:, :, k].ravel(), minlength=a.n_levels)
        bal[a.name] = {lab: int(c) for lab, c in zip(a.labels, counts)}
    out["level_balance"] = bal
    ov = {}
    for k, a in enumerate(spec.attributes):
        col = levels[:, :, k]
        ov[a.name] = {
            "full_overlap_share": _num(np.mean(np.all(col == col[:, :1], axis=1)), 4),
            "mean_distinct_levels": _num(np.mean([len(set(r.tolist())) for r in col]), 4),
        }
    out["overlap"] = ov
    out["dominance"] = _dominance(spec, levels)
    pid = levels @ spec.strides
    out["repeated_alternatives"] = int(sum(m - len(set(r.tolist())) for r in pid))
    if spec.status_quo is not None:
        sq = int(np.array(spec.status_quo.levels) @ spec.strides)
        out["alternatives_equal_to_status_quo"] = int((pid == sq).sum())
    out["constraint_violations"] = int(spec.violates(levels).sum())
    return out


def _correlations(levels, spec):
    """Correlations of the coded attribute columns over the designed alternatives, and the largest."""
    S, m, _ = levels.shape
    C = spec.code_indices(levels).reshape(S * m, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.corrcoef(C, rowvar=False) if C.shape[1] > 1 else np.ones((1, 1))
    R = np.atleast_2d(R)
    out = {"correlations": {"names": spec.coded_names, "matrix": [[_num(x, 4) for x in row] for row in R]}}
    off = np.abs(R[~np.eye(R.shape[0], dtype=bool)]) if R.shape[0] > 1 else np.array([0.0])
    out["max_abs_correlation"] = _num(np.nanmax(off), 4) if np.isfinite(off).any() else None
    return out


def _block_balance(design, spec):
    """Level counts per block and the largest deviation of a block's count from the blocks' mean."""
    levels = design.levels
    blocks = {}
    worst = 0.0
    ub = np.unique(design.block)
    for k, a in enumerate(spec.attributes):
        counts = np.stack([np.bincount(levels[design.block == b][:, :, k].ravel(), minlength=a.n_levels)
                           for b in ub])
        dev = np.abs(counts - counts.mean(axis=0)).max()
        worst = max(worst, float(dev))
        blocks[a.name] = {str(int(b)): {lab: int(c) for lab, c in zip(a.labels, counts[i])}
                          for i, b in enumerate(ub)}
    return {"block_balance": blocks, "block_balance_max_deviation": _num(worst, 4)}


def _attribute(a):
    """An attribute's levels and coding: ``coding_table`` row i codes level i into ``columns``."""
    return {"name": a.name, "label": a.label or "", "unit": a.unit or "", "levels": [str(x) for x in a.labels],
            "coding": a.coding, "reference": None if a.coding == "linear" else str(a.labels[a.reference]),
            "columns": a.columns, "coding_table": [[float(v) for v in row] for row in a.table]}


def _dominance(spec, levels):
    u = [a.partial_utility() for a in spec.attributes]
    S, m, A = levels.shape

    def util(idx):
        return np.stack([u[k][idx[..., k]] for k in range(A)], axis=-1)

    def dominates(a, b):
        ua, ub = util(a), util(b)
        return np.all((a == b) | (ua > ub), axis=-1) & np.any(ua > ub, axis=-1)

    within = 0
    for s in range(S):
        hit = False
        for i in range(m):
            for j in range(m):
                if i != j and dominates(levels[s, i], levels[s, j]):
                    hit = True
        within += hit
    out = {"tasks_with_dominated_alternative": int(within)}
    if spec.status_quo is not None:
        sq = np.array(spec.status_quo.levels)
        out["alternatives_dominating_status_quo"] = int(dominates(levels, sq[None, None, :]).sum())
        out["alternatives_dominated_by_status_quo"] = int(dominates(sq[None, None, :], levels).sum())
    return out
