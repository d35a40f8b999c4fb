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


def scaled_coefficients(coef, sidx):
    """Utility coefficients ``beta`` (R x K x C) from the coefficients ``c`` of every draw: ``c`` itself
    (``sidx < 0``), else ``beta_k = c_k c_sidx`` for k != sidx and ``beta_sidx = c_sidx`` (WTP space)."""
    if sidx < 0:
        return coef
    beta = coef * coef[:, sidx:sidx + 1]
    beta[:, sidx] = coef[:, sidx]
    return beta


def _to_scaled(g, H, coef, S):
    """Scores g (R x K x C) and Hessians H (R x K x K x C, or None) of every draw from ``beta`` to the
    coefficients ``c`` of WTP space (see :func:`dce.models.mixed.kernels._to_scaled`)."""
    a = coef.copy()
    a[:, S] = 1.0
    s = coef[:, S]                                                     # R x C
    if H is not None:
        u = np.einsum("rklc,rlc->rkc", H, a)
        Hc = H * (s * s)[:, None, None, :]
        cross = s[:, None, :] * u + g
        Hc[:, :, S] = cross
        Hc[:, S, :] = cross
        Hc[:, S, S] = np.einsum("rkc,rkc->rc", a, u)
        H = Hc
    gc = g * s[:, None, :]
    gc[:, S] = np.einsum("rkc,rkc->rc", g, a)
    return gc, H


def panel_kernel_np(dX, doff, starts, mu, L, ztype, Z, pk, pq, sidx, want_hess, bounds, c_lo, c_hi,
                    out_ll, out_S, out_E, out_H, chunk_bytes=CHUNK_BYTES):
    """See :func:`dce.models.mixed.kernels.panel_kernel` (``sidx``: the scale coefficient of WTP space, or
    -1).  All respondents at once (``bounds``, ``c_lo`` and ``c_hi`` are ignored); the Hessian goes to
    ``out_H[0]``."""
    T, J1, K = dX.shape
    R, Q, D = Z.shape
    P = pk.size
    counts = np.diff(starts)
    resp_of_task = np.repeat(np.arange(R), counts)
    first = starts[:-1]
    per_draw = T * (2 * J1 + 2 * K + 4) * 8 + R * (3 * K + 3 * P) * 8
    if want_hess:
        per_draw += (2 * T * K * K + 2 * R * K * K + 3 * R * P * P) * 8
    C = int(max(1, min(D, chunk_bytes // max(per_draw, 1))))
    expo = (ztype != 0)
    M = np.full(R, -np.inf)
    SW = np.zeros(R)
    SA = np.zeros((R, P))
    SE = np.zeros((R, K))
    SH = np.zeros((R, P, P)) if want_hess else None
    for c0 in range(0, D, C):
        c1 = min(D, c0 + C)
        Zc = Z[:, :, c0:c1]                                           # R x Q x C
        coef = coefficients_np(mu, L, ztype, Zc)                       # R x K x C
        bt = scaled_coefficients(coef, sidx)[resp_of_task]             # T x K x C
        dv = np.einsum("tjk,tkc->tjc", dX, bt) + doff[:, :, None]      # T x J1 x C
        del bt
        mx = np.maximum(dv.max(axis=1), 0.0)                           # T x C
        e = np.exp(np.maximum(dv - mx[:, None, :], -708.0))
        s = np.exp(np.maximum(-mx, -708.0)) + e.sum(axis=1)
        logp = -mx - np.log(s)
        e /= s[:, None, :]                                             # probabilities, non-chosen
        del dv
        xb = np.einsum("tjk,tjc->tkc", dX, e)                          # T x K x C
        logL = np.add.reduceat(logp, first, axis=0)                    # R x C
        g = -np.add.reduceat(xb, first, axis=0)                        # R x K x C (score in beta)
        Hb = None
        if want_hess:
            Ht = np.einsum("tjk,tjl,tjc->tklc", dX, dX, e) - xb[:, :, None, :] * xb[:, None, :, :]
            Hb = -np.add.reduceat(Ht, first, axis=0)                    # R x K x K x C
            del Ht
        if sidx >= 0:
            g, Hb = _to_scaled(g, Hb, coef, sidx)                       # in c (WTP space)
        cp = np.where(expo[None, :, None], coef, 1.0)                  # d c / d eta (= d2 c)
        geta = g * cp
        Mn = np.maximum(M, logL.max(axis=1))
        scale = np.exp(M - Mn)
        w = np.exp(logL - Mn[:, None])                                 # R x C
        A = np.ones((R, P, c1 - c0))
        for p in range(P):
            if pq[p] >= 0:
                A[:, p] = Zc[:, pq[p]]
        gp = geta[:, pk, :] * A                                        # R x P x C: scores per draw
        SW = SW * scale + w.sum(axis=1)
        SA = SA * scale[:, None] + np.einsum("rc,rpc->rp", w, gp)
        SE = SE * scale[:, None] + np.einsum("rc,rkc->rk", w, coef)
        if want_hess:
            Heta = Hb * cp[:, :, None, :] * cp[:, None, :, :]
            idx = np.flatnonzero(expo)
            Heta[:, idx, idx, :] += geta[:, idx, :]
            Hp = Heta[:, pk][:, :, pk] * A[:, :, None, :] * A[:, None, :, :]
            SH = SH * scale[:, None, None] + np.einsum("rc,rpqc->rpq", w, Hp) \
                + np.einsum("rc,rpc,rqc->rpq", w, gp, gp)
        del e, xb
        M = Mn
    out_ll[:] = M + np.log(SW / D)
    out_S[:] = SA / SW[:, None]
    out_E[:] = SE / SW[:, None]
    if want_hess:
        S = out_S
        H = (SH / SW[:, None, None]).sum(axis=0) - S.T @ S
        out_H[0] = 0.5 * (H + H.T)
        out_H[1:] = 0.0
