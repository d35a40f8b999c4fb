"""The one estimation engine: maximisation and covariance matrices, shared by every model.

A model supplies a function ``fg(beta) -> (loglik, gradient)`` and, where it has one, an analytic
Hessian ``h(beta)``.  :func:`maximize` runs Newton-Raphson with step halving when a Hessian is given
(conditional logit: quadratic convergence in a handful of iterations) and BFGS otherwise (simulated
likelihoods).  :func:`covariances` turns the Hessian and the per-observation scores into classical,
robust (sandwich) and respondent-clustered covariance matrices.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np


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
    history: list = field(default_factory=list)

    @property
    def grad_norm(self) -> float:
        return float(np.linalg.norm(self.grad))


def _scaled_gradient(g, H):
    """g' (-H)^-1 g, the Newton decrement; a scale-free convergence criterion."""
    try:
        step = np.linalg.solve(-H, g)
        return float(g @ step), step
    except np.linalg.LinAlgError:
        return math.inf, None


def maximize(fg, x0, *, hess=None, method=None, tol=1e-10, maxiter=None, callback=None,
             time_limit=None) -> OptResult:
    """Maximise a log-likelihood.

    ``fg(x)`` returns ``(loglik, gradient)``; ``hess(x)`` the Hessian of the log-likelihood.  ``tol``
    bounds the Newton decrement ``g'(-H)^-1 g`` (Newton) or the scaled gradient (BFGS).  ``callback``
    receives ``(iteration, loglik, grad_norm, elapsed)`` after every iteration.
    """
    method = method or ("newton" if hess is not None else "bfgs")
    if method == "newton":
        return _newton(fg, hess, np.asarray(x0, float), tol=tol, maxiter=maxiter or 100, callback=callback)
    if method == "bfgs":
        return _bfgs(fg, np.asarray(x0, float), tol=tol, maxiter=maxiter or 2000, callback=callback,
                     time_limit=time_limit)
    raise ValueError(f"unknown optimisation method {method!r}")


def _newton(fg, hess, x, *, tol, maxiter, callback):
    t0 = time.perf_counter()
    ll, g = fg(x)
    evals = 1
    if not np.isfinite(ll):
        return OptResult(x, ll, g, 0, False, "log-likelihood is not finite at the start values", evals)
    message = "maximum number of iterations reached"
    converged = False
    H = hess(x)
    it = 0
    for it in range(1, maxiter + 1):
        dec, step = _scaled_gradient(g, H)
        if step is None or not np.isfinite(dec):
            # singular Hessian: fall back to a gradient step scaled by the diagonal
            d = np.maximum(np.abs(np.diag(H)), 1e-8)
            step = g / d
        elif dec < tol:
            converged = True
            message = "converged: Newton decrement below tolerance"
            it -= 1
            break
        t = 1.0
        while True:
            xn = x + t * step
            lln, gn = fg(xn)
            evals += 1
            if np.isfinite(lln) and lln >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
            if t < 1e-12:
                lln = None
                break
        if lln is None:
            message = "line search failed: no step improves the log-likelihood"
            # at a flat optimum the decrement may be tiny but not below tol: call that converged
            converged = bool(dec < max(tol, 1e-8))
            if converged:
                message = "converged: no further improvement possible"
            break
        x, ll, g = xn, lln, gn
        H = hess(x)
        if callback is not None:
            callback(it, ll, float(np.linalg.norm(g)), time.perf_counter() - t0)
    return OptResult(x, ll, g, it, converged, message, evals, hess=H)


def _bfgs(fg, x0, *, tol, maxiter, callback, time_limit):
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    state = {"it": 0, "evals": 0, "last": None}

    def negfg(x):
        ll, g = fg(x)
        state["evals"] += 1
        state["last"] = (x.copy(), ll, g)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(x)
        return -ll, -g

    def cb(xk, *args):
        state["it"] += 1
        if callback is not None and state["last"] is not None:
            _, ll, g = state["last"]
            callback(state["it"], ll, float(np.linalg.norm(g)), time.perf_counter() - t0)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            raise StopIteration

    res = minimize(negfg, x0, jac=True, method="BFGS", callback=cb,
                   options={"gtol": 1e-6, "maxiter": maxiter})
    x = res.x
    ll, g = fg(x)
    # scipy's gtol is an absolute sup-norm; we accept the scaled gradient criterion used by Biogeme
    Hinv = getattr(res, "hess_inv", None)
    scaled = None
    if Hinv is not None:
        scaled = float(abs(g @ (np.asarray(Hinv) @ g)))
    converged = bool(res.success) or (scaled is not None and scaled < max(tol, 1e-6))
    message = res.message if isinstance(res.message, str) else str(res.message)
    if converged and not res.success:
        message = f"converged: scaled gradient {scaled:.2e} (optimizer said: {message})"
    elif converged:
        message = f"converged: {message}"
    return OptResult(x, ll, g, int(res.nit), converged, message, state["evals"] + 1)


def numerical_hessian(grad, x, rel_step=1e-5):
    """Central finite-difference Hessian of an analytic gradient, symmetrised."""
    x = np.asarray(x, float)
    k = x.size
    H = np.empty((k, k))
    for i in range(k):
        h = rel_step * max(1.0, abs(x[i]))
        e = np.zeros(k)
        e[i] = h
        H[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return 0.5 * (H + H.T)


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
