"""Pure-numpy twin of :mod:`dce.models.hb.kernels` (used where numba is not installed).

The same functions with the same arguments; each iteration is vectorised over respondents instead of
looping over them, and consumes the caller's random numbers exactly as the compiled kernel does, so
that both give the same chain up to rounding (about 1e-12 after thousands of iterations).
"""
from __future__ import annotations

import numpy as np


def _index(task_ptr, resp_ptr):
    """Row -> task, task -> respondent and row -> respondent indices of the flat layout."""
    tp = task_ptr.astype(np.int64)
    rp = resp_ptr.astype(np.int64)
    T, R = tp.size - 1, rp.size - 1
    row_task = np.repeat(np.arange(T), np.diff(tp))
    task_resp = np.repeat(np.arange(R), np.diff(rp))
    return row_task, task_resp, task_resp[row_task], T, R


def transform(Bstar, ztype):
    """Coefficients (..., K) from the sampled values: identity, exp or -exp per column."""
    beta = np.array(Bstar, dtype=float, copy=True)
    pos, neg = ztype == 1, ztype == 2
    if pos.any():
        beta[..., pos] = np.exp(Bstar[..., pos])
    if neg.any():
        beta[..., neg] = -np.exp(Bstar[..., neg])
    return beta


def _loglik(Dt, doff, idx, beta):
    row_task, task_resp, row_resp, T, R = idx
    v = doff + np.einsum("kr,rk->r", Dt, beta[row_resp])
    s = 1.0 + np.bincount(row_task, weights=np.exp(np.minimum(v, 709.0)), minlength=T)
    return np.bincount(task_resp, weights=-np.log(s), minlength=R)


def loglik_all(Dt, doff, task_ptr, resp_ptr, ztype, B, out):
    """Per-respondent log-likelihoods (R,) at the sampled values ``B`` (R, K), into ``out``."""
    out[:] = _loglik(Dt, doff, _index(task_ptr, resp_ptr), transform(B, ztype))


def draw_mu_sigma(B, mubar, Amu, nu, V, chi2, zb, zm, mu, Sig, M, Minv, w=None, D=None):
    """One conjugate draw of ``(mu, Sigma)``; see :func:`dce.models.hb.kernels.draw_mu_sigma`."""
    R, K = B.shape
    n = R + Amu
    bt = (B.sum(axis=0) + Amu * mubar) / n
    D = B - bt
    S = V + Amu * np.outer(mubar - bt, mubar - bt) + D.T @ D
    L = np.linalg.cholesky(S)
    A = np.diag(np.sqrt(chi2))
    A[np.tril_indices(K, -1)] = zb
    G = np.linalg.solve(L.T, A)
    W = G @ G.T
    M[:] = np.linalg.cholesky(W)
    Minv[:] = np.tril(np.linalg.inv(M))
    Sig[:] = Minv.T @ Minv
    mu[:] = bt + (Minv.T @ zm) / np.sqrt(n)


def _sweep(Dt, doff, idx, ztype, B, ll, mu, W, P, scale, g_prop, g_acc):
    """One Metropolis step for every respondent (in place); returns the number accepted."""
    R, K = B.shape
    y = np.einsum("rmk,rm->rk", P, g_prop.standard_normal(R * K).reshape(R, K) * scale)
    bnew = B + y
    ll_new = _loglik(Dt, doff, idx, transform(bnew, ztype))
    dq = np.einsum("rk,rk->r", y, (y + 2.0 * (B - mu)) @ W)
    acc = ll_new - ll - 0.5 * dq > -g_acc.standard_exponential(R)
    B[acc] = bnew[acc]
    ll[acc] = ll_new[acc]
    return int(acc.sum())


def metropolis_only(n_it, Dt, doff, task_ptr, resp_ptr, ztype, B, ll, mu, W, P, scale, g_prop, g_acc, out):
    """Metropolis sweeps with ``mu`` and ``W`` fixed; see :func:`dce.models.hb.kernels.metropolis_only`."""
    idx = _index(task_ptr, resp_ptr)
    accepted = 0
    for j in range(n_it):
        accepted += _sweep(Dt, doff, idx, ztype, B, ll, mu, W, P, scale, g_prop, g_acc)
        out[j] = B
    return accepted


def run_block(n_it, first, burn, thin, Dt, doff, task_ptr, resp_ptr, ztype, mubar, Amu, nu, V,
              B, ll, mu, Sig, M, Minv, P, scale, g_prop, g_acc, g_chi, g_norm,
              out_beta, out_mu, out_sig, slot, ll_trace, Wsum):
    """Iterations of one chain; see :func:`dce.models.hb.kernels.run_block` (the same random numbers)."""
    R, K = B.shape
    idx = _index(task_ptr, resp_ptr)
    df = nu + R - np.arange(K)
    nz = K * (K - 1) // 2
    accepted = 0
    for j in range(n_it):
        it = first + j
        chi2 = g_chi.chisquare(df)
        zz = g_norm.standard_normal(nz + K)
        draw_mu_sigma(B, mubar, Amu, nu, V, chi2, zz[:nz], zz[nz:], mu, Sig, M, Minv)
        W = M @ M.T
        if it < burn:
            Wsum += W
        accepted += _sweep(Dt, doff, idx, ztype, B, ll, mu, W, P, scale, g_prop, g_acc)
        ll_trace[j] = ll.sum()
        if it >= burn and (it + 1 - burn) % thin == 0:
            out_beta[slot] = transform(B, ztype)
            out_mu[slot] = mu
            out_sig[slot] = Sig
            slot += 1
    return accepted, slot


def proposal_roots(H, W, P):
    """``P[i]`` (lower triangular) with ``P[i]' P[i] = (H[i] + W)^-1``; see the compiled twin."""
    for i in range(H.shape[0]):
        A = H[i] + W
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            L = np.diag(np.sqrt(np.maximum(np.diag(A), 1e-12)))
        P[i] = np.tril(np.linalg.inv(L))
