"""Numerical differentiation: the one implementation of central and forward differences.

Used to check analytic derivatives (tests), for delta-method standard errors of derived quantities
and for the Hessian of models without an analytic one.  Steps are relative, ``h = rel * max(1, |x|)``.
"""
from __future__ import annotations

import numpy as np


def _steps(x, rel):
    return rel * np.maximum(1.0, np.abs(x))


def jacobian(f, x, rel: float = 1e-6, central: bool = True, f0=None) -> np.ndarray:
    """Jacobian ``(m, n)`` of ``f: R^n -> R^m`` at ``x`` (a scalar ``f`` gives ``(1, n)``).

    ``central``: two evaluations per coordinate (error O(h^2)); else forward differences from ``f0``
    (computed when not given).
    """
    x = np.asarray(x, float)
    h = _steps(x, rel)
    cols = []
    if not central and f0 is None:
        f0 = np.atleast_1d(np.asarray(f(x), float))
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        with np.errstate(invalid="ignore", over="ignore"):
            if central:
                d = (np.atleast_1d(np.asarray(f(x + e), float)) - np.atleast_1d(np.asarray(f(x - e), float))) / (2 * h[i])
            else:
                d = (np.atleast_1d(np.asarray(f(x + e), float)) - f0) / h[i]
        cols.append(d)
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def gradient(f, x, rel: float = 1e-6) -> np.ndarray:
    """Central-difference gradient ``(n,)`` of a scalar function."""
    return jacobian(f, x, rel)[0]


def hessian_from_grad(grad, x, rel: float = 1e-5, central: bool = True, g0=None) -> np.ndarray:
    """Symmetrised Hessian ``(n, n)`` from differences of an analytic gradient."""
    H = jacobian(grad, x, rel, central=central, f0=g0)
    return 0.5 * (H + H.T)


def hessian(f, x, rel: float = 1e-4) -> np.ndarray:
    """Hessian ``(n, n)`` of a scalar function by second central differences (no gradient needed)."""
    x = np.asarray(x, float)
    h = _steps(x, rel)
    n = x.size
    H = np.empty((n, n))
    f0 = float(f(x))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (float(f(x + ei)) - 2 * f0 + float(f(x - ei))) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (float(f(x + ei + ej)) - float(f(x + ei - ej)) - float(f(x - ei + ej))
                                 + float(f(x - ei - ej))) / (4 * h[i] * h[j])
    return H
