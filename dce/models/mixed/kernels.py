"""Compiled (numba) kernel of the simulated mixed-logit log-likelihood, its gradient and Hessian.

Imported only when a mixed logit is estimated, so `dce --help` never loads numba.  Compilation is
cached on disk (``cache=True``: the package's ``__pycache__`` or, where that is read-only, numba's
per-user cache directory, or ``NUMBA_CACHE_DIR``), so only the first run on a machine pays for it
(a few seconds).  The kernel is a serial ``nogil`` function over a range of chunks of respondents;
the caller runs chunks in parallel Python threads (no numba threading layer, whose parallel
compilation took three times as long).

For one respondent the kernel keeps the coefficients of every draw (variables x draws) and, task by
task, runs vectorisable loops over blocks of draws that accumulate the product of the chosen
alternatives' probabilities, the gradient of its logarithm with respect to the coefficients and, when
asked, its Hessian (minus the covariance of the attributes under the logit probabilities); it never
materialises a draws x tasks x alternatives array.  Utilities are taken relative to the chosen
alternative (``dX = X_j - X_chosen``), and shifted by their maximum so that nothing overflows; the
running product is rescaled by powers of two so that long panels do not underflow.  The exponential is
a polynomial one written with plain arithmetic and bit operations, so that LLVM vectorises it over the
draws (no SVML is needed); its error is within a few units in the last place of ``numpy.exp``.

The kernel is split by stage (the coefficients of the draws, a task's probabilities, its gradient or
Hessian, the posterior weights, a respondent's scores and Hessian), each a compiled function of its
own.  Small functions are left to LLVM to inline (numba's own ``inline="always"`` re-runs its analyses
at every call site and made the first compilation slower, and the compiled code no faster).
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


@nb.njit(cache=True)
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


# Sums over the draws.  Their own fastmath flags allow reassociation (so that LLVM vectorises the
# reduction with several partial sums instead of one long chain of dependent additions); the kernel
# itself is compiled without it, which keeps the exponential's range reduction exact.
_REDUCE = {"reassoc", "nsz", "contract"}


@nb.njit(nogil=True, cache=True, fastmath=_REDUCE)
def _sum1(a):
    acc = 0.0
    for d in range(a.shape[0]):
        acc += a[d]
    return acc


@nb.njit(nogil=True, cache=True, fastmath=_REDUCE)
def _dot2(a, b):
    acc = 0.0
    for d in range(a.shape[0]):
        acc += a[d] * b[d]
    return acc


@nb.njit(nogil=True, cache=True, fastmath=_REDUCE)
def _dot3(a, b, c):
    acc = 0.0
    for d in range(a.shape[0]):
        acc += a[d] * b[d] * c[d]
    return acc


@nb.njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def _to_scaled(G, HK, coef, U, S, pidx, want_hess):
    """Score G (K x D) and Hessian HK (pairs x D) of every draw from the utility coefficients beta to the
    coefficients c of willingness-to-pay space, in place: ``beta_k = c_k c_S`` (k != S), ``beta_S = c_S``.

    With ``a = d beta / d c_S`` (``a_k = c_k``, ``a_S = 1``): ``g_c,k = c_S g_k``, ``g_c,S = a'g``;
    ``H_c = A'HA`` plus the second-derivative term ``g_k`` at (k, S) and (S, k), that is with
    ``u = H a``: ``c_S^2 H_kl`` (k, l != S), ``c_S u_k + g_k`` (k != S, S) and ``a'u`` (S, S).
    """
    K = G.shape[0]
    D = G.shape[1]
    if want_hess:
        for k in range(K):
            for d in range(D):
                U[k, d] = HK[pidx[k, S], d]
            for l in range(K):
                if l != S:
                    i = pidx[k, l]
                    for d in range(D):
                        U[k, d] += HK[i, d] * coef[l, d]
        for k in range(K):
            for l in range(k, K):
                i = pidx[k, l]
                if k != S and l != S:
                    for d in range(D):
                        HK[i, d] *= coef[S, d] * coef[S, d]
                elif k != l:
                    m = l if k == S else k
                    for d in range(D):
                        HK[i, d] = coef[S, d] * U[m, d] + G[m, d]
        iS = pidx[S, S]
        for d in range(D):
            HK[iS, d] = U[S, d]
        for k in range(K):
            if k != S:
                for d in range(D):
                    HK[iS, d] += coef[k, d] * U[k, d]
    for k in range(K):
        if k != S:
            for d in range(D):
                G[S, d] += G[k, d] * coef[k, d]
    for k in range(K):
        if k != S:
            for d in range(D):
                G[k, d] *= coef[S, d]


_OPTS = dict(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})


@nb.njit(**_OPTS)
def _draw_coefficients(mu, L, Z, r, ztype, sidx, coef, beta):
    """The coefficients c (K x D) of respondent r's draws, ``c = mu + L z`` (exp or -exp where log-normal),
    and the utility coefficients beta (the same array as coef in preference space; in WTP space
    ``beta_k = c_k c_sidx``)."""
    K, D = coef.shape
    Q = Z.shape[1]
    for k in range(K):
        m0 = mu[k]
        for d in range(D):
            coef[k, d] = m0
        for q in range(Q):
            a = L[k, q]
            if a != 0.0:
                for d in range(D):
                    coef[k, d] += a * Z[r, q, d]
        if ztype[k] == 1:
            for d in range(D):
                coef[k, d] = vexp(coef[k, d])
        elif ztype[k] == 2:
            for d in range(D):
                coef[k, d] = -vexp(coef[k, d])
    if sidx >= 0:
        for k in range(K):
            if k == sidx:
                for d in range(D):
                    beta[k, d] = coef[k, d]
            else:
                for d in range(D):
                    beta[k, d] = coef[k, d] * coef[sidx, d]


@nb.njit(**_OPTS)
def _task_probabilities(dX, doff, t, beta, b0, n, dv, mx, s, prod, lsum):
    """Task t for the draws b0 .. b0 + n - 1: the probabilities of the non-chosen alternatives into dv
    (alternatives x draws), the chosen one's multiplied into the running product (prod, rescaled by
    powers of two with their logarithm in lsum, so that long panels do not underflow)."""
    J1 = dX.shape[1]
    K = dX.shape[2]
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
    over = 0
    for d in range(n):
        over += mx[d] > 300.0
    if over == 0:
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
        pr = prod[d] * inv
        small = pr < _TINY
        prod[d] = pr * _RESCALE if small else pr
        lsum[d] += mx[d] + (_LOG_RESCALE if small else 0.0)
    for j in range(J1):
        for d in range(n):
            dv[j, d] *= s[d]       # the probabilities of the non-chosen alternatives


@nb.njit(**_OPTS)
def _task_gradient(dX, t, dv, n, g):
    """Adds task t's gradient of log P_chosen in beta, ``-sum_j x_j p_j``, to g (K x draws)."""
    J1 = dX.shape[1]
    K = dX.shape[2]
    for j in range(J1):
        for k in range(K):
            x = dX[t, j, k]
            if x != 0.0:
                for d in range(n):
                    g[k, d] -= x * dv[j, d]


@nb.njit(**_OPTS)
def _task_hessian(dX, t, dv, n, g, hb, xb, nz, pa, pb):
    """Adds task t's gradient to g and its Hessian of log P_chosen in beta, ``-(E_p[x x'] - xb xb')`` with
    ``xb = E_p[x]`` (x relative to the chosen alternative), to hb (pairs x draws)."""
    J1 = dX.shape[1]
    K = dX.shape[2]
    for k in range(K):
        nz[k] = False
        for d in range(n):
            xb[k, d] = 0.0
        for j in range(J1):
            x = dX[t, j, k]
            if x != 0.0:
                nz[k] = True
                for d in range(n):
                    xb[k, d] += x * dv[j, d]
        if nz[k]:
            for d in range(n):
                g[k, d] -= xb[k, d]
    for i in range(pa.shape[0]):
        k = pa[i]
        l = pb[i]
        if nz[k] and nz[l]:
            for j in range(J1):
                x = dX[t, j, k] * dX[t, j, l]
                if x != 0.0:
                    for d in range(n):
                        hb[i, d] -= x * dv[j, d]
            for d in range(n):
                hb[i, d] += xb[k, d] * xb[l, d]


@nb.njit(**_OPTS)
def _respondent_draws(dX, doff, t0, t1, beta, want_hess, pa, pb, logL, G, HK):
    """Log of the product of the chosen alternatives' probabilities over the tasks t0 .. t1 - 1 for every
    draw (logL), its gradient in beta (G, K x draws) and, with want_hess, its Hessian (HK, pairs x draws);
    the draws in blocks of BLOCK, so that the working arrays stay in the L1 cache."""
    J1 = dX.shape[1]
    K = dX.shape[2]
    D = logL.shape[0]
    NKK = pa.shape[0]
    g = np.empty((K, BLOCK))
    hb = np.empty((NKK if want_hess else 1, BLOCK))
    xb = np.empty((K, BLOCK))
    nz = np.empty(K, dtype=np.bool_)
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
        if want_hess:
            for i in range(NKK):
                for d in range(n):
                    hb[i, d] = 0.0
        for t in range(t0, t1):
            _task_probabilities(dX, doff, t, beta, b0, n, dv, mx, s, prod, lsum)
            if want_hess:
                _task_hessian(dX, t, dv, n, g, hb, xb, nz, pa, pb)
            else:
                _task_gradient(dX, t, dv, n, g)
        for d in range(n):
            logL[b0 + d] = np.log(prod[d]) - lsum[d]
        for k in range(K):
            for d in range(n):
                G[k, b0 + d] = g[k, d]
        if want_hess:
            for i in range(NKK):
                for d in range(n):
                    HK[i, b0 + d] = hb[i, d]


@nb.njit(**_OPTS)
def _posterior_weights(logL, w):
    """Normalised weights of the draws, w_d proportional to L_d; returns log mean_d L_d."""
    D = logL.shape[0]
    M = -np.inf
    for d in range(D):
        if logL[d] > M:
            M = logL[d]
    for d in range(D):
        w[d] = vexp(logL[d] - M)
    sw = _sum1(w)
    isw = 1.0 / sw
    for d in range(D):
        w[d] *= isw
    return M + np.log(sw / D)


@nb.njit(**_OPTS)
def _respondent_scores(r, coef, ztype, w, G, HK, Z, pk, pq, pa, pb, want_hess, out_S, out_E, Sr):
    """Respondent r's score (out_S[r], and Sr) and conditional means (out_E[r]) from the draws' gradients
    G in the model's coefficients; with want_hess, HK turned from the coefficients to eta = mu + L z."""
    K = G.shape[0]
    D = G.shape[1]
    if want_hess:
        # Hessian in eta = mu + L z: H_c c'_k c'_l, plus g_c c''_k on the diagonal
        # (c = exp or -exp: c' = c'' = c; so that g_c c'' = g_eta)
        for i in range(pa.shape[0]):
            k = pa[i]
            l = pb[i]
            if ztype[k] != 0:
                for d in range(D):
                    HK[i, d] *= coef[k, d]
            if ztype[l] != 0:
                for d in range(D):
                    HK[i, d] *= coef[l, d]
    for k in range(K):
        if ztype[k] != 0:
            for d in range(D):
                G[k, d] *= coef[k, d]     # score in eta
        out_E[r, k] = _dot2(w, coef[k])
    for p in range(pk.shape[0]):
        k = pk[p]
        q = pq[p]
        acc = _dot2(w, G[k]) if q < 0 else _dot3(w, G[k], Z[r, q])
        out_S[r, p] = acc
        Sr[p] = acc


@nb.njit(**_OPTS)
def _respondent_hessian(r, ztype, w, G, HK, Z, pk, pq, pidx, pa, pb, Sr, Hc):
    """Adds respondent r's E_w[H_d + s s'] - E_w[s] E_w[s]' (in the parameters) to Hc."""
    D = G.shape[1]
    P = pk.shape[0]
    for i in range(pa.shape[0]):
        k = pa[i]
        l = pb[i]
        if k == l and ztype[k] != 0:
            for d in range(D):
                HK[i, d] += G[k, d]
        for d in range(D):
            HK[i, d] = w[d] * (HK[i, d] + G[k, d] * G[l, d])
    for p in range(P):
        k = pk[p]
        q = pq[p]
        for p2 in range(p, P):
            l = pk[p2]
            q2 = pq[p2]
            i = pidx[k, l]
            if q < 0 and q2 < 0:
                acc = _sum1(HK[i])
            elif q < 0:
                acc = _dot2(HK[i], Z[r, q2])
            elif q2 < 0:
                acc = _dot2(HK[i], Z[r, q])
            else:
                acc = _dot3(HK[i], Z[r, q], Z[r, q2])
            Hc[p, p2] += acc - Sr[p] * Sr[p2]


@nb.njit(**_OPTS)
def panel_kernel(dX, doff, starts, mu, L, ztype, Z, pk, pq, sidx, want_hess, bounds, c_lo, c_hi,
                 out_ll, out_S, out_E, out_H):
    """Per-respondent simulated log-likelihood, scores and conditional means; optionally the Hessian.

    dX: tasks x (alts-1) x K, the non-chosen alternatives minus the chosen one (tasks sorted by
    respondent; unavailable slots zero); doff: tasks x (alts-1) offset differences (-1e300 for an
    unavailable slot); starts: respondent r owns tasks starts[r]:starts[r+1]; mu: K; L: K x Q loadings
    (eta = mu + L z); ztype: K (0 c = eta, 1 c = exp(eta), 2 c = -exp(eta)); Z: R x Q x D (standard
    draws).  Parameter p is mu[pk[p]] when pq[p] < 0 and L[pk[p], pq[p]] otherwise.  sidx: -1, the
    utility coefficients are the c's (preference space); else the index of a scale coefficient that
    multiplies every other one, ``beta_k = c_k c_sidx``, ``beta_sidx = c_sidx`` (willingness-to-pay
    space: c_k is a WTP, c_sidx the scale; the price column of dX carries the price's sign).

    Respondents come in chunks: chunk c holds respondents bounds[c]:bounds[c+1]; this call does chunks
    c_lo:c_hi (callers run disjoint ranges of chunks in parallel threads: the kernel releases the GIL).

    Writes out_ll[r] = log mean_d prod_t P; out_S[r, p] = E_w[s_p] (w the posterior weights of the
    draws, s the gradient of the log of draw d's product of probabilities: the score of respondent r);
    out_E[r, k] = E_w[c_k] (conditional means).  With want_hess, out_H[c] (one slot per chunk of
    respondents; the Hessian is their sum) receives sum_r (E_w[H_d + s s'] - E_w[s] E_w[s]'), H_d the
    Hessian of the log of draw d's product: the exact Hessian of the simulated log-likelihood.
    """
    K = dX.shape[2]
    D = Z.shape[2]
    P = pk.shape[0]
    NKK = K * (K + 1) // 2
    # index of the pair (k, l), k <= l, among the NKK pairs, and its members
    pidx = np.empty((K, K), dtype=np.int64)
    pa = np.empty(NKK, dtype=np.int64)
    pb = np.empty(NKK, dtype=np.int64)
    n0 = 0
    for k in range(K):
        for l in range(k, K):
            pidx[k, l] = n0
            pidx[l, k] = n0
            pa[n0] = k
            pb[n0] = l
            n0 += 1
    NH = NKK if want_hess else 1
    for c in range(c_lo, c_hi):
        Hc = out_H[c]
        if want_hess:
            for p in range(P):
                for p2 in range(P):
                    Hc[p, p2] = 0.0
        beta = np.empty((K, D))                       # utility coefficients of every draw
        coef = np.empty((K, D)) if sidx >= 0 else beta  # the model's coefficients c (WTP space: c != beta)
        U = np.empty((K if sidx >= 0 and want_hess else 0, D))
        G = np.empty((K, D))
        HK = np.empty((NH, D))
        logL = np.empty(D)
        w = np.empty(D)
        Sr = np.empty(P)
        for r in range(bounds[c], bounds[c + 1]):
            _draw_coefficients(mu, L, Z, r, ztype, sidx, coef, beta)
            _respondent_draws(dX, doff, starts[r], starts[r + 1], beta, want_hess, pa, pb, logL, G, HK)
            out_ll[r] = _posterior_weights(logL, w)
            if sidx >= 0:
                _to_scaled(G, HK, coef, U, sidx, pidx, want_hess)
            _respondent_scores(r, coef, ztype, w, G, HK, Z, pk, pq, pa, pb, want_hess, out_S, out_E, Sr)
            if want_hess:
                _respondent_hessian(r, ztype, w, G, HK, Z, pk, pq, pidx, pa, pb, Sr, Hc)
        if want_hess:
            for p in range(P):
                for p2 in range(p):
                    Hc[p, p2] = Hc[p2, p]


# ------------------------------------------------------------------------- first compilation, in parts
# Each part calls some of the kernel's functions on tiny arrays of the types the kernel passes them, so
# that numba compiles (and caches) exactly the specialisations the kernel will use;
# :func:`dce.util.jit.compile_parts` runs the parts in parallel processes on a machine's first run.
def _compile_task_functions():
    K, D, J1 = 2, 3, 2
    pa, pb = np.array([0, 0, 1]), np.array([0, 1, 1])
    for hess in (False, True):
        _respondent_draws(np.zeros((1, J1, K)), np.zeros((1, J1)), 0, 1, np.zeros((K, D)), hess, pa, pb,
                          np.zeros(D), np.zeros((K, D)), np.zeros((3, D)))


def _compile_respondent_functions():
    K, D, P = 2, 3, 3
    zt = np.zeros(K, dtype=np.int64)
    Z = np.zeros((1, 1, D))
    coef = np.zeros((K, D))
    _draw_coefficients(np.zeros(K), np.zeros((K, 1)), Z, 0, zt, -1, coef, coef)
    w = np.full(D, 1.0 / D)
    _posterior_weights(np.zeros(D), w)
    pk, pq = np.array([0, 1, 0]), np.array([-1, -1, 0])
    pa, pb, pidx = np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([[0, 1], [1, 2]])
    G, HK, Sr = np.zeros((K, D)), np.zeros((3, D)), np.zeros(P)
    _respondent_scores(0, coef, zt, w, G, HK, Z, pk, pq, pa, pb, True, np.zeros((1, P)), np.zeros((1, K)), Sr)
    _respondent_hessian(0, zt, w, G, HK, Z, pk, pq, pidx, pa, pb, Sr, np.zeros((1, P, P))[0])
    _to_scaled(G, HK, coef, np.zeros((K, D)), 0, pidx, True)


COMPILE_PARTS = (_compile_task_functions, _compile_respondent_functions)
