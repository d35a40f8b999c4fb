"""Compiled (numba) kernel of the simulated mixed-logit log-likelihood and its gradient.

Imported only when a mixed logit is estimated, so `dce --help` never loads numba.  Compilation is
cached on disk (``cache=True``: the package's ``__pycache__`` or, where that is read-only, numba's
per-user cache directory), so only the first run on a machine pays for it.

The kernel works respondent by respondent (in parallel) and never materialises a
draws x tasks x alternatives array: for one respondent it keeps the coefficients of every draw
(variables x draws) and, task by task, runs vectorisable loops over the draws that accumulate the
product of the chosen alternatives' probabilities and the gradient of its logarithm with respect to
the coefficients.  Utilities are taken relative to the chosen alternative (``dX = X_j - X_chosen``),
and shifted by their maximum so that nothing overflows; the running product is rescaled by powers of
two so that long panels do not underflow.  The exponential is a polynomial one written with plain
arithmetic and bit operations, so that LLVM vectorises it over the draws (no SVML is needed); its
error is within a few units in the last place of ``numpy.exp``.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10
_MAGIC = 6755399441055744.0          # 1.5 * 2**52: adding it rounds to an integer held in the low bits
_RESCALE = 2.0 ** 400
_LOG_RESCALE = 400 * 0.6931471805599453
_TINY = 2.0 ** -400
BLOCK = 128


@intrinsic
def _f64_bits(typingctx, x):
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _bits_f64(typingctx, x):
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@nb.njit(inline="always", cache=True)
def vexp(x):
    """exp(x) for double x, vectorisable: Cody-Waite reduction and a degree-13 Taylor polynomial."""
    x = min(max(x, -708.0), 709.0)
    t = x * _LOG2E + _MAGIC
    n = t - _MAGIC                       # round(x / ln 2)
    r = (x - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln(2)/2
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    bits = (_f64_bits(t) + 1023) << 52
    return p * _bits_f64(bits)


@nb.njit(cache=True)
def vexp_array(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = vexp(x[i])
    return out


@nb.njit(parallel=True, cache=True, fastmath={"contract"})
def panel_kernel(dX, doff, starts, mu, L, active, ztype, Z, out_ll, out_A, out_B, out_E):
    """Per-respondent simulated log-likelihood and its gradient pieces.

    dX: tasks x (alts-1) x K, the non-chosen alternatives minus the chosen one (tasks sorted by
    respondent; unavailable slots zero); doff: tasks x (alts-1) offset differences (-1e300 for an
    unavailable slot); starts: respondent r owns tasks starts[r]:starts[r+1]; mu: K; L: K x Q loadings
    (eta = mu + L z); active: K x Q, the loadings that are parameters (out_B is computed there);
    ztype: K (0 beta = eta, 1 beta = exp(eta), 2 beta = -exp(eta)); Z: R x Q x D (standard draws).

    Writes out_ll[r] = log mean_d prod_t P; out_A[r, k] = E_w[c_k g_k] and out_B[r, k, q] =
    E_w[c_k g_k z_q] (w the posterior weights of the draws, g the gradient of the log of the product
    with respect to beta, c = d beta / d eta); out_E[r, k] = E_w[beta_k] (conditional means).
    """
    R = starts.shape[0] - 1
    J1 = dX.shape[1]
    K = dX.shape[2]
    Q = Z.shape[1]
    D = Z.shape[2]
    for r in nb.prange(R):
        beta = np.empty((K, D))
        for k in range(K):
            m0 = mu[k]
            for d in range(D):
                beta[k, d] = m0
            for q in range(Q):
                a = L[k, q]
                if a != 0.0:
                    for d in range(D):
                        beta[k, d] += a * Z[r, q, d]
            if ztype[k] == 1:
                for d in range(D):
                    beta[k, d] = vexp(beta[k, d])
            elif ztype[k] == 2:
                for d in range(D):
                    beta[k, d] = -vexp(beta[k, d])
        # draws in blocks of BLOCK, so that the working arrays stay in the L1 cache
        G = np.empty((K, D))
        logL = np.empty(D)
        g = np.empty((K, BLOCK))
        prod = np.empty(BLOCK)
        lsum = np.empty(BLOCK)
        mx = np.empty(BLOCK)
        s = np.empty(BLOCK)
        dv = np.empty((J1, BLOCK))
        for b0 in range(0, D, BLOCK):
            n = min(BLOCK, D - b0)
            for d in range(n):
                prod[d] = 1.0
                lsum[d] = 0.0
            for k in range(K):
                for d in range(n):
                    g[k, d] = 0.0
            for t in range(starts[r], starts[r + 1]):
                for j in range(J1):
                    o = doff[t, j]
                    for d in range(n):
                        dv[j, d] = o
                    for k in range(K):
                        x = dX[t, j, k]
                        if x != 0.0:
                            for d in range(n):
                                dv[j, d] += x * beta[k, b0 + d]
                for d in range(n):
                    mx[d] = max(0.0, dv[0, d])
                for j in range(1, J1):
                    for d in range(n):
                        mx[d] = max(mx[d], dv[j, d])
                bm = 0.0
                for d in range(n):
                    bm = max(bm, mx[d])
                if bm <= 300.0:
                    # no overflow possible: P_chosen = 1 / (1 + sum_j exp(dv_j)), no shift needed
                    for d in range(n):
                        s[d] = 1.0
                        mx[d] = 0.0
                    for j in range(J1):
                        for d in range(n):
                            e = vexp(dv[j, d])
                            dv[j, d] = e
                            s[d] += e
                else:
                    for d in range(n):
                        s[d] = vexp(-mx[d])
                    for j in range(J1):
                        for d in range(n):
                            e = vexp(dv[j, d] - mx[d])
                            dv[j, d] = e
                            s[d] += e
                for d in range(n):
                    inv = 1.0 / s[d]
                    s[d] = inv
                    p = prod[d] * inv
                    small = p < _TINY
                    prod[d] = p * _RESCALE if small else p
                    lsum[d] += mx[d] + (_LOG_RESCALE if small else 0.0)
                for j in range(J1):
                    for d in range(n):
                        dv[j, d] *= s[d]
                    for k in range(K):
                        x = dX[t, j, k]
                        if x != 0.0:
                            for d in range(n):
                                g[k, d] -= x * dv[j, d]
            for d in range(n):
                logL[b0 + d] = np.log(prod[d]) - lsum[d]
            for k in range(K):
                for d in range(n):
                    G[k, b0 + d] = g[k, d]
        # posterior weights of the draws
        M = -np.inf
        for d in range(D):
            if logL[d] > M:
                M = logL[d]
        w = np.empty(D)
        sw = 0.0
        for d in range(D):
            wd = vexp(logL[d] - M)
            w[d] = wd
            sw += wd
        out_ll[r] = M + np.log(sw / D)
        for k in range(K):
            tz = ztype[k]
            acc = 0.0
            acce = 0.0
            for d in range(D):
                wg = w[d] * G[k, d]
                if tz != 0:
                    wg *= beta[k, d]
                G[k, d] = wg
                acc += wg
                acce += w[d] * beta[k, d]
            out_A[r, k] = acc / sw
            out_E[r, k] = acce / sw
            for q in range(Q):
                if active[k, q]:
                    accq = 0.0
                    for d in range(D):
                        accq += G[k, d] * Z[r, q, d]
                    out_B[r, k, q] = accq / sw
                else:
                    out_B[r, k, q] = 0.0
