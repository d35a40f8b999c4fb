"""Convergence diagnostics of Markov chains: split R-hat and effective sample size.

Both follow Gelman et al., *Bayesian Data Analysis* (3rd ed., ch. 11.4-11.5) as Stan computes them:
each chain is split in halves (so that a trend within a chain shows as disagreement between halves),
``R-hat = sqrt(var+ / W)`` with ``W`` the mean within-chain variance and ``var+`` the pooled estimate of
the posterior variance; the effective sample size ``m n / tau`` with ``tau = -1 + 2 sum_k P_k`` over
Geyer's initial positive, monotone sequence of sums of pairs of autocorrelations, the autocorrelations
combined over chains as ``1 - (W - mean autocovariance) / var+``.
"""
from __future__ import annotations

import math

import numpy as np

RHAT_MAX = 1.01        # above it, or an ESS below ESS_MIN: a warning (poor mixing; the estimates stand)
ESS_MIN = 400
RHAT_UNRELIABLE = 1.1  # above it the chains have not converged: no reliable estimate (exit 3 in the CLI)


def _split(draws):
    """(chains, n, P) -> (2 chains, n // 2, P): each chain's first and second halves (the middle draw of
    an odd n left out)."""
    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 2:
        draws = draws[:, :, None]
    C, n, P = draws.shape
    h = n // 2
    return np.concatenate([draws[:, :h], draws[:, n - h:]], axis=0)


def split_rhat(draws) -> np.ndarray:
    """Split R-hat (P,) of draws (chains, n, P); NaN where a parameter does not vary or n < 4."""
    x = _split(draws)
    m, n, P = x.shape
    if n < 2:
        return np.full(P, np.nan)
    W = x.var(axis=1, ddof=1).mean(axis=0)
    B = n * x.mean(axis=1).var(axis=0, ddof=1) if m > 1 else np.zeros(P)
    var_plus = (n - 1) / n * W + B / n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(var_plus / W)
    r[~(W > 0)] = np.nan
    return r


def _autocov(x):
    """Autocovariances (biased, lags 0..n-1) of each column of x (n, ...) by FFT."""
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, n=size, axis=0)
    return np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n] / n


def ess(draws) -> np.ndarray:
    """Effective sample size (P,) of draws (chains, n, P), split chains; NaN where a parameter does not
    vary."""
    x = _split(draws)
    m, n, P = x.shape
    out = np.full(P, np.nan)
    if n < 4:
        return out
    acov = np.stack([_autocov(x[c]) for c in range(m)])          # (m, n, P)
    W = x.var(axis=1, ddof=1).mean(axis=0)
    B = n * x.mean(axis=1).var(axis=0, ddof=1) if m > 1 else np.zeros(P)
    var_plus = (n - 1) / n * W + B / n
    mean_acov = acov.mean(axis=0)                                # (n, P)
    for p in range(P):
        if not W[p] > 0:
            continue
        rho = 1.0 - (W[p] - mean_acov[:, p]) / var_plus[p]
        tau, prev = -1.0, math.inf
        for k in range(0, n - 1, 2):
            pair = rho[k] + rho[k + 1]
            if pair <= 0:
                break
            pair = min(pair, prev)                                # monotone
            prev = pair
            tau += 2.0 * pair
        out[p] = min(m * n / max(tau, 1e-12), m * n * math.log10(m * n))
    return out
