"""The one estimation engine: maximisation and covariance matrices, shared by every model.

A model supplies ``evaluate(x, hess) -> Evaluation``: the log-likelihood, its gradient, optionally the
per-observation scores (observations x parameters) and, when ``hess`` is asked for or cheap, the
Hessian.  :func:`maximize` is a trust-region Newton method: each iteration maximises a quadratic model
of the log-likelihood within a region around the current point, the subproblem solved exactly through
the eigendecomposition of the model's matrix (Moré-Sorensen, hard case included), so a Hessian that is
not negative definite (a saddle, a ridge between optima) gives a step along its direction of negative
curvature instead of a creep of gradient steps.  The model's curvature is the BHHH matrix (the outer
product of the scores, which needs no Hessian) while far from the optimum and the exact Hessian once
close; it converges when the Newton decrement ``g'(-H)^-1 g`` is below ``tol``, so the Hessian of the
last evaluation is the Hessian at the estimates.  A conditional logit, whose Hessian is cheap, uses the
Hessian from the start; a mixed logit starts with BHHH.
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


def solve_pd(M, g):
    """``(step, decrement)`` with ``step = M^-1 g`` for a positive definite ``M``; None if it is not."""
    d = np.sqrt(np.abs(np.diag(M)))
    if not np.all(np.isfinite(M)) or not np.all(np.isfinite(g)) or np.any(d <= 0):
        return None
    Ms = M / np.outer(d, d)
    try:
        c = np.linalg.cholesky(Ms)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(c, g / d)
    return np.linalg.solve(c.T, y) / d, float(y @ y)


class TrustModel:
    """The quadratic model ``m(p) = g'p - p'Bp/2`` of the log-likelihood around a point (``B``: minus the
    Hessian, or the BHHH matrix), in variables scaled by ``d`` (``s = d * p``), eigendecomposed once so
    that the trust-region subproblem ``max m(p) subject to ||d * p|| <= radius`` is solved exactly for
    any radius (Moré & Sorensen 1983, through the eigenvalues; the hard case included)."""

    def __init__(self, g, B, d):
        self.g, self.B, self.d = g, B, d
        Bs = B / np.outer(d, d)
        Bs = 0.5 * (Bs + Bs.T)
        self.lam, self.V = np.linalg.eigh(Bs)
        self.a = self.V.T @ (g / d)           # the scaled gradient in the eigenbasis
        self.pd = bool(self.lam[0] > 0)

    def newton(self):
        """The unconstrained maximiser ``B^-1 g`` (scaled norm, step) where ``B`` is positive definite."""
        if not self.pd:
            return math.inf, None
        c = self.a / self.lam
        return float(np.linalg.norm(c)), (self.V @ c) / self.d

    def solve(self, radius):
        """The step maximising the model within the trust region of ``radius`` (scaled norm)."""
        lam, a, V = self.lam, self.a, self.V
        if self.pd:
            c = a / lam
            if np.linalg.norm(c) <= radius:
                return (V @ c) / self.d
        lo = max(0.0, -lam[0])
        # the hard case: the gradient has (almost) no component along the eigenvectors of the smallest
        # eigenvalue, and the step with sigma = -lambda_min stays inside: add a move along them
        small = np.abs(lam - lam[0]) <= 1e-10 * max(1.0, abs(lam[0]))
        an = np.linalg.norm(a)
        if lam[0] <= 0 and np.linalg.norm(a[small]) <= 1e-10 * max(an, 1e-300):
            shift = lam + lo
            c = np.where(small, 0.0, a / np.where(small, 1.0, shift))
            nc = float(np.linalg.norm(c))
            if nc <= radius:
                tau = math.sqrt(max(radius ** 2 - nc ** 2, 0.0))
                return (V @ c + tau * V[:, int(np.argmin(lam))]) / self.d
        # sigma > lo with ||c(sigma)|| = radius, c(sigma) = a / (lam + sigma): Newton's method on the
        # secular equation 1/||c|| - 1/radius = 0 (convex and decreasing in sigma), safeguarded by bisection
        hi = lo + an / radius + 1e-300
        sigma = hi
        for _ in range(200):
            den = lam + sigma
            c = a / den
            nc = float(np.linalg.norm(c))
            if nc < radius:
                hi = sigma
            else:
                lo = sigma
            if abs(nc - radius) <= 1e-10 * radius or hi - lo <= 1e-15 * max(hi, 1e-300):
                break
            dn = -float(np.sum(a * a / den ** 3)) / nc          # d||c|| / d sigma
            new = sigma + (nc / radius - 1.0) * nc / (-dn) if dn < 0 else 0.5 * (lo + hi)
            # Newton on 1/||c||: sigma += (||c|| - radius) / radius * ||c|| / (-d||c||/dsigma)
            sigma = new if lo < new < hi else 0.5 * (lo + hi)
        return (V @ (a / (lam + sigma))) / self.d

    def gain(self, p):
        """The increase of the log-likelihood the model predicts for the step ``p``."""
        return float(self.g @ p - 0.5 * p @ self.B @ p)


def _scaling(ev, B):
    """Scale of each parameter: the square roots of the larger of the model matrix's absolute diagonal and
    the BHHH diagonal (the scores' variance: positive wherever a parameter moves the likelihood, even where
    the Hessian's diagonal passes through zero)."""
    d = np.abs(np.diag(B))
    if ev.scores is not None:
        d = np.maximum(d, np.einsum("np,np->p", ev.scores, ev.scores))
    d = np.sqrt(d)
    top = float(np.max(d)) if d.size and np.all(np.isfinite(d)) else 0.0
    if not top > 0:
        return np.ones_like(d)
    return np.maximum(d, 1e-8 * top)


def maximize(evaluate, x0, *, tol=1e-10, maxiter=100, callback=None, switch=math.inf, cap=None,
             capped=None) -> OptResult:
    """Maximise a log-likelihood by trust-region Newton steps (BHHH as the curvature far from the optimum).

    ``evaluate(x, hess)`` returns an :class:`Evaluation`; the Hessian is asked for once the BHHH
    decrement is below ``switch`` (``inf``: always).  Each iteration maximises the quadratic model of the
    log-likelihood -- with the exact Hessian where the evaluation has one, else the BHHH matrix of the
    scores -- within a trust region (in parameters scaled by the square roots of the BHHH diagonal),
    solved exactly (:class:`TrustModel`), so an indefinite Hessian gives a step along its direction of
    negative curvature, never a creep.  A step is kept when the log-likelihood rises by a fair share of
    the model's prediction; the region grows after good steps and shrinks after poor ones (a step that is
    not kept costs one evaluation, like a line search's trial).  The first trial of an iteration is the
    full Newton step where the model is concave and was trusted last time.  Converged: the Newton
    decrement ``g'(-H)^-1 g`` below ``tol`` with ``-H`` positive definite, so the Hessian of the last
    evaluation is the Hessian at the estimates.  ``callback(iteration, loglik, grad_norm, elapsed)``
    follows the iterations.  ``cap``/``capped`` limit the move of some parameters (log scales) in one
    step (the trust region bounds the steps a nearly singular Hessian would make too long).  Returns an
    :class:`OptResult` whose ``last`` is the evaluation at the estimates, with its Hessian.
    """
    t0 = time.perf_counter()
    x = np.asarray(x0, float)
    ev = evaluate(x, math.isinf(switch))
    evals = 1
    if not ev.finite:
        return OptResult(x, ev.loglik, ev.grad, 0, False, "log-likelihood is not finite at the start values",
                         evals, ev.hess, ev)
    converged, message, it = False, "maximum number of iterations reached", 0
    radius, trusted = None, True
    for it in range(1, maxiter + 1):
        g = ev.grad
        bhhh = ev.scores.T @ ev.scores if ev.scores is not None else None
        bdec = math.inf
        if bhhh is not None:
            sol = solve_pd(bhhh, g)
            bdec = sol[1] if sol is not None else math.inf
        if ev.hess is None and (bdec < switch / 4 or bhhh is None):
            # close, but this point was evaluated without the Hessian: evaluate it
            ev = evaluate(x, True)
            evals += 1
        use_h = ev.hess is not None
        B = -ev.hess if use_h else bhhh
        if not np.all(np.isfinite(B)):
            message = "the curvature of the log-likelihood is not finite"
            break
        model = TrustModel(g, B, _scaling(ev, B))
        nnorm, nstep = model.newton()
        sol = solve_pd(B, g) if nstep is not None else None     # the decrement, from a Cholesky factor
        dec = sol[1] if sol is not None else math.inf
        if use_h and dec < tol:
            converged, message = True, f"converged: Newton decrement {dec:.2e} below {tol:g}"
            it -= 1
            break
        top = max(float(np.max(np.abs(model.lam))), 1e-300)
        if use_h and bdec < tol and model.lam[0] > -1e-8 * top:
            # stationary, and the Hessian is singular (flat in some direction) rather than indefinite: as
            # far as the curvature tells, a maximum (a direction of clear negative curvature would be taken)
            converged, message = True, (f"converged: BHHH decrement {bdec:.2e} below {tol:g} (the Hessian is "
                                        "not negative definite at the estimates)")
            it -= 1
            break
        if radius is None:
            if nstep is not None:
                radius = nnorm
            elif math.isfinite(bdec):
                radius = math.sqrt(bdec)
            else:
                radius = float(np.linalg.norm(model.a)) / top
            radius = max(radius, 1e-8)
        elif nstep is not None and trusted:
            radius = max(radius, nnorm)
        want_h = bdec < switch
        ll_tol = 1e-12 * max(1.0, abs(ev.loglik))
        evn = None
        while radius > 1e-12:
            p = model.solve(radius)
            if cap is not None and capped is not None and np.any(capped):
                big = float(np.max(np.abs(p[capped])))
                if big > cap:           # a log-scale parameter would move too far: a smaller region
                    radius = float(np.linalg.norm(model.d * p)) * cap / big * 0.999
                    p = model.solve(radius)
            pred = model.gain(p)
            step_norm = float(np.linalg.norm(model.d * p))
            evt = evaluate(x + p, want_h)
            evals += 1
            actual = evt.loglik - ev.loglik if evt.finite else -math.inf
            rho = actual / pred if pred > 0 else (1.0 if actual >= 0 else -math.inf)
            if rho >= 1e-4 or (pred <= ll_tol and actual >= -ll_tol):
                evn = evt
                if rho > 0.75 and step_norm >= 0.99 * radius:
                    radius = 2.0 * radius
                elif rho < 0.25:
                    radius = 0.25 * step_norm
                trusted = rho > 0.75
                break
            radius = 0.25 * min(step_norm, radius)
            trusted = False
        if evn is None:
            message = "no step improves the log-likelihood"
            if use_h and dec < 1e-4:    # at the optimum up to rounding
                converged, message = True, f"converged: no further improvement (Newton decrement {dec:.1e})"
            elif use_h and bdec < tol:
                converged, message = True, (f"converged: BHHH decrement {bdec:.2e} below {tol:g} (the Hessian is "
                                            "not negative definite at the estimates)")
            break
        x, ev = x + p, evn
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
