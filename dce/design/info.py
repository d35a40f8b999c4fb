"""MNL Fisher information of a choice design, D-error, A-error and (Bayesian) prior draws.

For task ``s`` with coded alternatives ``X_s`` (``J x P``) and choice probabilities ``p_s`` under ``beta``,
the information of one respondent answering every task is

    I(beta) = sum_s X_s' (diag(p_s) - p_s p_s') X_s,

the D-error is ``det(I)^(-1/P)``, the A-error ``trace(I^-1) / P``.  A Bayesian D-error averages the D-error
over draws of ``beta`` from the prior (quasi-random: scrambled Halton or Sobol points mapped through the
normal quantile function).  A singular information matrix has an infinite error.
"""
from __future__ import annotations

import numpy as np

from dce.util.halton import scrambled_halton


def probabilities(X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Logit choice probabilities of every task under every draw.

    Parameters
    ----------
    X : numpy.ndarray
        (S, J, P) coded alternatives of S tasks.
    B : numpy.ndarray
        (R, P) coefficient draws.

    Returns
    -------
    numpy.ndarray
        (R, S, J) probabilities; each task's sum to 1.
    """
    V = np.einsum("sjp,rp->rsj", X, B)
    V -= V.max(axis=-1, keepdims=True)
    np.exp(V, out=V)
    V /= V.sum(axis=-1, keepdims=True)
    return V


def task_information(X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-task information ``(S, R, P, P)`` of tasks ``X`` (``S x J x P``) under draws ``B`` (``R x P``)."""
    X = np.asarray(X, float)
    B = np.atleast_2d(np.asarray(B, float))
    p = probabilities(X, B)                                   # R S J
    Xp = np.einsum("rsj,sjp->srp", p, X)                      # S R P
    XdX = np.einsum("rsj,sjp,sjq->srpq", p, X, X, optimize=True)
    return XdX - Xp[..., :, None] * Xp[..., None, :]


def information(X: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Fisher information of one respondent answering every task.

    Parameters
    ----------
    X : numpy.ndarray
        (S, J, P) coded alternatives of S tasks.
    B : numpy.ndarray
        (R, P) coefficient draws (or (P,): one).

    Returns
    -------
    numpy.ndarray
        (R, P, P): ``sum_s X_s' (diag(p_s) - p_s p_s') X_s`` under each draw.
    """
    return task_information(X, B).sum(axis=0)


def d_errors(I: np.ndarray) -> np.ndarray:
    """D-error of each information matrix in ``I`` (``[..., P, P]``); ``inf`` where singular."""
    I = np.asarray(I, float)
    P = I.shape[-1]
    ev = np.linalg.eigvalsh(0.5 * (I + np.swapaxes(I, -1, -2)))
    top = ev[..., -1]
    bad = ~(ev[..., 0] > 1e-10 * np.maximum(top, 1e-300))
    logdet = np.log(np.where(bad[..., None], 1.0, np.clip(ev, 1e-300, None))).sum(axis=-1)
    out = np.exp(-logdet / P)
    return np.where(bad, np.inf, out)


def a_errors(I: np.ndarray) -> np.ndarray:
    """A-error (mean variance) of each information matrix; ``inf`` where singular."""
    I = np.asarray(I, float)
    P = I.shape[-1]
    out = np.full(I.shape[:-2], np.inf)
    flat_I = I.reshape(-1, P, P)
    flat = out.reshape(-1)
    d = d_errors(flat_I)
    for i in range(flat_I.shape[0]):
        if np.isfinite(d[i]):
            flat[i] = np.trace(np.linalg.inv(flat_I[i])) / P
    return flat.reshape(out.shape)


def d_error(X: np.ndarray, B: np.ndarray) -> float:
    """Mean D-error of design ``X`` over the rows of ``B`` (one row: the local D-error)."""
    return float(np.mean(d_errors(information(X, B))))


def prior_draws(mean, sd, n: int, kind: str = "halton", seed=0) -> np.ndarray:
    """Quasi-random draws from independent normal priors.

    Only the parameters with ``sd > 0`` vary; scrambled Halton or Sobol points (scipy.stats.qmc) are
    mapped through the normal quantile function.  The same ``seed`` gives the same draws.

    Parameters
    ----------
    mean, sd : array-like
        (P,) prior means and standard deviations (``sd`` None: a fixed prior).
    n : int
        Number of draws R.
    kind : {"halton", "sobol"}
        The point set.
    seed : int or numpy.random.SeedSequence
        Seed of the scrambling.

    Returns
    -------
    numpy.ndarray
        (R, P) draws, or (1, P) the means when no parameter varies or ``n <= 1``.
    """
    from scipy.special import ndtri     # scipy.stats.norm.ppf's own function, without importing scipy.stats

    mean = np.asarray(mean, float)
    sd = np.zeros_like(mean) if sd is None else np.asarray(sd, float)
    rnd = np.flatnonzero(sd > 0)
    if rnd.size == 0 or n <= 1:
        return mean[None, :].copy()
    rng = np.random.default_rng(seed)
    if kind == "sobol":
        from scipy.stats import qmc

        eng = qmc.Sobol(d=rnd.size, scramble=True, seed=rng)
        m = int(np.ceil(np.log2(n)))
        u = eng.random_base2(m)[:n]
    elif kind == "halton":
        u = scrambled_halton(n, rnd.size, rng)    # = qmc.Halton(d, scramble=True, seed=rng).random(n)
    else:
        raise ValueError(f"draw kind must be halton or sobol, not {kind!r}")
    u = np.clip(u, 1e-12, 1 - 1e-12)
    B = np.repeat(mean[None, :], n, axis=0)
    B[:, rnd] += ndtri(u) * sd[rnd]
    return B
