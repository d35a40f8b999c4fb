"""Pure-numpy fallback of the mixed-logit kernel (same inputs, outputs and formulas as the numba one).

It works through the draws in chunks, so its memory is bounded by one chunk's
tasks x alternatives x chunk arrays (about ``chunk_bytes``) whatever the number of draws; the
posterior weights are merged across chunks with a running log-sum-exp.
"""
from __future__ import annotations

import numpy as np

CHUNK_BYTES = 64 * 2**20


def coefficients_np(mu, L, ztype, Z):
    """Coefficients of every draw: ``beta = g(mu + L z)`` for standard draws ``Z`` (R x Q x D).

    ``g`` is the identity (ztype 0), ``exp`` (1) or ``-exp`` (2).  Returns R x K x D.  This is the map
    parameters -> coefficients of the likelihood (the numba kernel computes the same in its loop).
    """
    beta = mu[None, :, None] + np.einsum("kq,rqc->rkc", L, Z)
    for k in range(beta.shape[1]):
        if ztype[k] == 1:
            beta[:, k] = np.exp(beta[:, k])
        elif ztype[k] == 2:
            beta[:, k] = -np.exp(beta[:, k])
    return beta


def panel_kernel_np(dX, doff, starts, mu, L, active, ztype, Z, out_ll, out_A, out_B, out_E,
                    chunk_bytes=CHUNK_BYTES):
    T, J1, K = dX.shape
    R, Q, D = Z.shape
    counts = np.diff(starts)
    resp_of_task = np.repeat(np.arange(R), counts)
    first = starts[:-1]
    per_draw = T * (2 * J1 + 2 * K + 4) * 8
    C = int(max(1, min(D, chunk_bytes // max(per_draw, 1))))
    M = np.full(R, -np.inf)
    SW = np.zeros(R)
    SA = np.zeros((R, K))
    SB = np.zeros((R, K, Q))
    SE = np.zeros((R, K))
    for c0 in range(0, D, C):
        c1 = min(D, c0 + C)
        Zc = Z[:, :, c0:c1]                                           # R x Q x C
        beta = coefficients_np(mu, L, ztype, Zc)                       # R x K x C
        bt = beta[resp_of_task]                                        # T x K x C
        dv = np.einsum("tjk,tkc->tjc", dX, bt) + doff[:, :, None]      # T x J1 x C
        mx = np.maximum(dv.max(axis=1), 0.0)                           # T x C
        e = np.exp(np.maximum(dv - mx[:, None, :], -708.0))
        s = np.exp(np.maximum(-mx, -708.0)) + e.sum(axis=1)
        logp = -mx - np.log(s)
        e /= s[:, None, :]
        gt = -np.einsum("tjk,tjc->tkc", dX, e)                         # T x K x C
        del dv, e, bt
        logL = np.add.reduceat(logp, first, axis=0)                    # R x C
        g = np.add.reduceat(gt, first, axis=0)                         # R x K x C
        del gt
        cfac = np.where((ztype != 0)[None, :, None], beta, 1.0)
        Mn = np.maximum(M, logL.max(axis=1))
        scale = np.exp(M - Mn)
        w = np.exp(logL - Mn[:, None])                                 # R x C
        SW = SW * scale + w.sum(axis=1)
        wcg = w[:, None, :] * cfac * g                                 # R x K x C
        SA = SA * scale[:, None] + wcg.sum(axis=2)
        SB = SB * scale[:, None, None] + np.einsum("rkc,rqc->rkq", wcg, Zc)
        SE = SE * scale[:, None] + np.einsum("rc,rkc->rk", w, beta)
        M = Mn
    out_ll[:] = M + np.log(SW / D)
    out_A[:] = SA / SW[:, None]
    out_B[:] = np.where(active[None, :, :], SB / SW[:, None, None], 0.0)
    out_E[:] = SE / SW[:, None]
