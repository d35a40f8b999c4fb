"""The one estimation engine: maximisation and covariance matrices, shared by every model.

A model supplies ``evaluate(x, hess) -> Evaluation``: the log-likelihood, its gradient, optionally the
per-observation scores (observations x parameters) and, when ``hess`` is asked for or cheap, the
Hessian.  :func:`maximize` takes BHHH steps (from the outer product of the scores, which needs no
Hessian) while far from the optimum and Newton-Raphson steps with the Hessian once close, with a
backtracking (Armijo) line search; it converges when the Newton decrement ``g'(-H)^-1 g`` is below
``tol``, so the Hessian of the last evaluation is the Hessian at the estimates.  A conditional logit,
whose Hessian is cheap, goes straight to Newton steps; a mixed logit starts with BHHH.
:func:`covariances` turns the Hessian and the scores into classical, robust (sandwich) and
respondent-clustered covariance matrices.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    loglik: float
    grad: np.ndarray
    scores: np.ndarray | None = None     # observations x parameters (BHHH, sandwich)
    hess: np.ndarray | None = None
    payload: object = None               # whatever else the model computed in the same pass

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.loglik) and np.all(np.isfinite(self.grad))
                    and (self.hess is None or np.all(np.isfinite(self.hess))))


@dataclass
class OptResult:
    x: np.ndarray
    loglik: float
    grad: np.ndarray
    iterations: int
    converged: bool
    message: str
    evaluations: int = 0
    hess: np.ndarray | None = None
    last: Evaluation | None = None

    @property
    def grad_norm(self) -> float:
        return float(np.linalg.norm(self.grad))


def solve_pd(M, g, cap=None, capped=None):
    """``(step, decrement)`` with ``step = M^-1 g`` for a positive definite ``M``; None if it is not.

    With ``cap``: where the step would move a ``capped`` parameter (a boolean mask, e.g. log-scale
    parameters) by more than ``cap``, it is damped Levenberg-Marquardt style, ``(M + lam diag(M))^-1 g``
    with the smallest ``lam`` (in powers of 10) that keeps it within ``cap``.  The decrement is that of
    the undamped step (the convergence criterion).
    """
    d = np.sqrt(np.abs(np.diag(M)))
    if not np.all(np.isfinite(M)) or not np.all(np.isfinite(g)) or np.any(d <= 0):
        return None
    Ms = M / np.outer(d, d)
    try:
        c = np.linalg.cholesky(Ms)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(c, g / d)
    step, dec = np.linalg.solve(c.T, y) / d, float(y @ y)
    if cap is not None and capped is not None and np.any(capped):
        lam = 1e-3
        while np.max(np.abs(step[capped])) > cap and lam < 1e12:
            step = np.linalg.solve(Ms + lam * np.eye(len(d)), g / d) / d
            lam *= 10.0
    return step, dec


def direction(ev: Evaluation, switch, ratio, cap=None, capped=None):
    """The Newton step where ``-H`` is positive definite and the step is trusted, else the BHHH step
    ``(S'S)^-1 g``, else a gradient step scaled by a diagonal.  Returns ``(step, decrement, newton)``.

    A Newton step whose decrement exceeds ``ratio`` times the BHHH one is not trusted (the Hessian is
    nearly singular in some direction there) unless the BHHH decrement is already below ``switch/4``.
    """
    g = ev.grad
    bhhh = solve_pd(ev.scores.T @ ev.scores, g, cap, capped) if ev.scores is not None else None
    if ev.hess is not None:
        nt = solve_pd(-ev.hess, g, cap, capped)
        if nt is not None and (bhhh is None or nt[1] <= ratio * bhhh[1] or bhhh[1] < switch / 4):
            return nt[0], nt[1], True
    if bhhh is not None:
        return bhhh[0], bhhh[1], False
    M = ev.scores.T @ ev.scores if ev.scores is not None else -ev.hess
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        step = g / np.maximum(np.abs(np.diag(M)), 1e-8)
    return (step if np.all(np.isfinite(step)) else np.zeros_like(g)), math.inf, False


def maximize(evaluate, x0, *, tol=1e-10, maxiter=100, callback=None, switch=math.inf, ratio=3.0, cap=None,
             capped=None) -> OptResult:
    """Maximise a log-likelihood by BHHH then Newton-Raphson steps with a backtracking line search.

    ``evaluate(x, hess)`` returns an :class:`Evaluation`; the Hessian is asked for once the BHHH
    decrement is below ``switch`` (``inf``: always).  ``tol`` bounds the Newton decrement.
    ``callback(iteration, loglik, grad_norm, elapsed)`` follows the iterations.  ``cap``/``capped``
    limit the step of some parameters (see :func:`solve_pd`).  Returns an :class:`OptResult` whose
    ``last`` is the evaluation at the estimates, with its Hessian.
    """
    t0 = time.perf_counter()
    x = np.asarray(x0, float)
    ev = evaluate(x, math.isinf(switch))
    evals = 1
    if not ev.finite:
        return OptResult(x, ev.loglik, ev.grad, 0, False, "log-likelihood is not finite at the start values",
                         evals, ev.hess, ev)
    converged, message, it = False, "maximum number of iterations reached", 0
    for it in range(1, maxiter + 1):
        step, dec, newton = direction(ev, switch, ratio, cap, capped)
        if ev.hess is None and dec < switch / 4:
            # close, but this point was evaluated without the Hessian: evaluate it
            ev = evaluate(x, True)
            evals += 1
            step, dec, newton = direction(ev, switch, ratio, cap, capped)
        if newton and dec < tol:
            converged, message = True, f"converged: Newton decrement {dec:.2e} below {tol:g}"
            it -= 1
            break
        if not newton and dec < tol and ev.hess is not None:
            converged, message = True, (f"converged: BHHH decrement {dec:.2e} below {tol:g} (the Hessian is "
                                        "not negative definite at the estimates)")
            it -= 1
            break
        want_h = dec < switch
        t, slope = 1.0, float(ev.grad @ step)
        while True:
            evn = evaluate(x + t * step, want_h)
            evals += 1
            if evn.finite and (evn.loglik >= ev.loglik + 1e-4 * t * slope
                               or (dec < 1e-6 and evn.loglik >= ev.loglik - 1e-12 * abs(ev.loglik))):
                break
            t *= 0.25
            if t < 1e-10:
                evn = None
                break
        if evn is None:
            message = "line search failed: no step improves the log-likelihood"
            if newton and dec < 1e-4:   # at the optimum up to rounding
                converged, message = True, f"converged: no further improvement (Newton decrement {dec:.1e})"
            break
        x, ev = x + t * step, evn
        if callback is not None:
            callback(it, ev.loglik, float(np.linalg.norm(ev.grad)), time.perf_counter() - t0)
    if ev.hess is None:
        ev = evaluate(x, True)
        evals += 1
    return OptResult(x, ev.loglik, ev.grad, it, converged, message, evals, ev.hess, ev)


def _inverse(A):
    """Inverse of a symmetric positive (semi)definite matrix; pseudo-inverse when singular."""
    try:
        c = np.linalg.cholesky(A)
        ci = np.linalg.inv(c)
        return ci.T @ ci, True
    except np.linalg.LinAlgError:
        return np.linalg.pinv(A, hermitian=True), False


def covariances(H, scores, groups=None, n_groups=None):
    """Classical, robust and clustered covariance matrices of the maximum-likelihood estimates.

    ``H`` is the Hessian of the log-likelihood at the optimum, ``scores`` the per-observation gradient
    contributions (observations x parameters).  ``groups`` (integer codes) clusters observations by
    respondent; the clustered matrix uses the usual ``G/(G-1)`` small-sample factor.
    Returns a dict with ``classical``, ``robust`` and (with groups) ``cluster``, and ``singular``.
    """
    A, regular = _inverse(-np.asarray(H))
    out = {"classical": A, "singular": not regular}
    S = np.asarray(scores)
    B = S.T @ S
    out["robust"] = A @ B @ A
    if groups is not None:
        G = int(n_groups if n_groups is not None else groups.max() + 1)
        Sg = group_sums(S, groups, G)
        Bc = Sg.T @ Sg
        factor = G / (G - 1) if G > 1 else 1.0
        out["cluster"] = factor * (A @ Bc @ A)
    return out


def group_sums(S, groups, n_groups):
    """Row sums of ``S`` within integer groups (observations x columns -> groups x columns)."""
    S = np.asarray(S, float)
    return np.stack([np.bincount(groups, weights=S[:, k], minlength=n_groups) for k in range(S.shape[1])],
                    axis=1) if S.shape[1] else np.zeros((n_groups, 0))
