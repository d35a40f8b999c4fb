"""Compiled (numba) kernel of the hierarchical Bayes sampler: blocks of Gibbs iterations of one chain.

Imported only when a hierarchical Bayes model is estimated; compilation is cached on disk
(``cache=True``).  :func:`run_block` runs ``n_it`` iterations of the Allenby-Rossi sampler on the
state arrays it is given (changing them in place), drawing from the caller's random generators
(numba draws from numpy's own generators with numpy's algorithms), so that the pure-numpy twin
(:mod:`dce.models.hb.kernels_ref`) consumes the same numbers in the same order and gives the same chain.  One iteration:

1. ``(mu, Sigma) | beta``: the conjugate normal / inverse-Wishart draw (bayesm's ``rmultireg`` with a
   column of ones): ``Sigma^-1 ~ Wishart(nu + R, (V + S)^-1)`` by the Bartlett decomposition, then
   ``mu ~ N(mu_tilde, Sigma / (R + Amu))``;
2. ``beta_n | mu, Sigma, y_n``: one random-walk Metropolis step per respondent, proposal
   ``beta_n + s P_n' z`` (``P_n' P_n`` the proposal covariance, ``s`` the step scale).

The per-respondent log-likelihood works on utility differences with the chosen alternative
(``d = x_j - x_chosen``, unavailable alternatives left out): ``ll_t = -log(1 + sum_j exp(d_j' beta))``,
with the data stored variables x rows so that the utilities of a respondent's rows are contiguous and
vectorise; indices are unsigned, which spares LLVM the wrap-around tests of negative indices.  Nothing
is allocated inside the iterations: the scratch space is allocated once per block.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from dce.models.mixed.kernels import vexp

# Fused multiply-adds only: a * b + c rounded once (LLVM then vectorises the exponential well); no
# reassociation, which would undo the exponential's exact range reduction.
_FM = {"contract"}


@nb.njit(cache=True, fastmath=_FM)
def _transform(bstar, ztype, beta):
    """Coefficients from the sampled values: identity, exp or -exp (log-normal sign constraints)."""
    for k in range(bstar.shape[0]):
        z = ztype[k]
        if z == 0:
            beta[k] = bstar[k]
        elif z == 1:
            beta[k] = math.exp(bstar[k])
        else:
            beta[k] = -math.exp(bstar[k])


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def loglik_one(Dt, doff, task_ptr, t0, t1, beta, v):
    """Log-likelihood of the tasks ``t0 .. t1 - 1`` (one respondent) at the coefficients ``beta``.

    ``Dt`` (K, rows): attribute differences with the chosen alternative; ``doff`` (rows,): offset
    differences; ``task_ptr`` (T + 1,) uint64: the rows of each task; ``v``: scratch of at least the
    respondent's number of rows.
    """
    K = Dt.shape[0]
    r0 = task_ptr[t0]
    n = task_ptr[t1] - r0
    for m in range(n):
        v[m] = doff[r0 + m]
    # two coefficients a pass (half the loads and stores of v); the same operations in the same order
    # as one pass per coefficient
    k = 0
    while k + 2 <= K:
        b0 = beta[k]
        b1 = beta[k + 1]
        d0 = Dt[np.uint64(k)]
        d1 = Dt[np.uint64(k + 1)]
        for m in range(n):
            v[m] = (v[m] + d0[r0 + m] * b0) + d1[r0 + m] * b1
        k += 2
    if k < K:
        bk = beta[k]
        d0 = Dt[np.uint64(k)]
        for m in range(n):
            v[m] += d0[r0 + m] * bk
    for m in range(n):
        v[m] = vexp(v[m])
    # -sum_t log(s_t) as the logarithm of a product (all s_t >= 1), taken when the product grows large:
    # one logarithm per respondent instead of one per task
    ll = 0.0
    prod = 1.0
    one = np.uint64(1)
    for t in range(t0, t1):
        s = 1.0
        for m in range(task_ptr[t] - r0, task_ptr[t + one] - r0):
            s += v[m]
        if s > 1e100:
            ll -= math.log(s)
        else:
            prod *= s
            if prod > 1e200:
                ll -= math.log(prod)
                prod = 1.0
    ll -= math.log(prod)
    return ll


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def loglik_all(Dt, doff, task_ptr, resp_ptr, ztype, B, out):
    """Per-respondent log-likelihoods (R,) at the sampled values ``B`` (R, K)."""
    R, K = B.shape
    beta = np.empty(K)
    v = np.empty(_max_rows(task_ptr, resp_ptr))
    for i in range(R):
        _transform(B[i], ztype, beta)
        out[i] = loglik_one(Dt, doff, task_ptr, resp_ptr[i], resp_ptr[i + 1], beta, v)


@nb.njit(cache=True)
def _max_rows(task_ptr, resp_ptr):
    m = 1
    for i in range(resp_ptr.shape[0] - 1):
        m = max(m, np.int64(task_ptr[resp_ptr[i + 1]] - task_ptr[resp_ptr[i]]))
    return m


# ---------------------------------------------------------------------------------- small dense algebra
@nb.njit(cache=True, fastmath=_FM)
def _chol(A, L):
    """Lower Cholesky factor of the symmetric positive definite A into L; False if not positive definite."""
    K = A.shape[0]
    for j in range(K):
        s = A[j, j]
        for m in range(j):
            s -= L[j, m] * L[j, m]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, K):
            s = A[i, j]
            for m in range(j):
                s -= L[i, m] * L[j, m]
            L[i, j] = s / d
        for i in range(j):
            L[i, j] = 0.0
    return True


@nb.njit(cache=True, fastmath=_FM)
def _tri_inv(L, Li):
    """Inverse of the lower-triangular L into Li (lower triangular)."""
    K = L.shape[0]
    for j in range(K):
        for i in range(K):
            Li[i, j] = 0.0
        Li[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, K):
            s = 0.0
            for m in range(j, i):
                s -= L[i, m] * Li[m, j]
            Li[i, j] = s / L[i, i]


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def draw_mu_sigma(B, mubar, Amu, nu, V, chi2, zb, zm, mu, Sig, M, Minv, w, D):
    """One conjugate draw of ``(mu, Sigma)`` given the respondents' values ``B`` (R, K).

    ``chi2`` (K,): chi-square draws with nu + R - k degrees of freedom; ``zb`` (at least K (K - 1) / 2,)
    and ``zm`` (K,): standard normals.  Writes ``mu``, ``Sig`` (Sigma), ``M`` (lower Cholesky factor of Sigma^-1)
    and ``Minv`` (M^-1); ``w`` (5, K, K) and ``D`` (R, K) are scratch.
    """
    R, K = B.shape
    bt = w[0, 0]
    S = w[1]
    L = w[2]
    A = w[3]
    G = w[4]
    n = R + Amu
    for k in range(K):
        s = Amu * mubar[k]
        for i in range(R):
            s += B[i, k]
        bt[k] = s / n
    for i in range(R):
        for k in range(K):
            D[i, k] = B[i, k] - bt[k]
    np.dot(D.T, D, S)                             # the scatter of the respondents' values (BLAS)
    for k in range(K):
        for m in range(K):
            S[k, m] += V[k, m] + Amu * (mubar[k] - bt[k]) * (mubar[m] - bt[m])
    for k in range(K):                            # exactly symmetric
        for m in range(k + 1, K):
            S[k, m] = S[m, k]
    _chol(S, L)                                   # V + S = L L'
    # Bartlett factor A (lower) of a Wishart(nu + R, I) draw
    c = 0
    for i in range(K):
        for j in range(K):
            A[i, j] = 0.0
        A[i, i] = math.sqrt(chi2[i])
        for j in range(i):
            A[i, j] = zb[c]
            c += 1
    # G = L^-T A, so that W = G G' ~ Wishart(nu + R, (V + S)^-1)
    for j in range(K):
        for i in range(K - 1, -1, -1):
            s = A[i, j]
            for m in range(i + 1, K):
                s -= L[m, i] * G[m, j]
            G[i, j] = s / L[i, i]
    for i in range(K):                            # W = G G' into S
        for j in range(i + 1):
            s = 0.0
            for m in range(K):
                s += G[i, m] * G[j, m]
            S[i, j] = s
            S[j, i] = s
    _chol(S, M)                                   # Sigma^-1 = W = M M'
    _tri_inv(M, Minv)                             # Sigma = Minv' Minv
    for i in range(K):
        for j in range(i + 1):
            s = 0.0
            for m in range(i, K):
                s += Minv[m, i] * Minv[m, j]
            Sig[i, j] = s
            Sig[j, i] = s
    sc = 1.0 / math.sqrt(n)
    for k in range(K):                            # mu = mu_tilde + Minv' zm / sqrt(R + Amu)
        s = 0.0
        for m in range(k, K):
            s += Minv[m, k] * zm[m]
        mu[k] = bt[k] + sc * s


@nb.njit(cache=True, fastmath=_FM)
def _sweep(Dt, doff, task_ptr, resp_ptr, ztype, B, ll, mu, W, PT, scale, g_prop, g_acc, Z, YT, T, U, bnew, beta, v):
    """One random-walk Metropolis step for every respondent given ``mu`` and the precision ``W``;
    returns (accepted, total log-likelihood).  ``PT`` (K, K, R): the proposal roots with the respondent
    last (``PT[m, k, i] = P[i, m, k]``).  ``Z``, ``YT`` (K, R), ``T``, ``U`` (R, K), ``bnew``, ``beta``
    (K,) and ``v`` are scratch.  First every respondent's step ``y = scale P[i]' z`` (the normals drawn
    respondent by respondent; the products vectorised over respondents) and the change of the prior's
    quadratic form, ``(b+y-mu)'W(b+y-mu) - (b-mu)'W(b-mu) = y'W(y + 2(b - mu))`` (one matrix product
    for all), then each respondent's likelihood and acceptance."""
    R, K = B.shape
    for i in range(R):
        for m in range(K):
            Z[m, i] = g_prop.standard_normal() * scale
    for k in range(K):
        for i in range(R):
            YT[k, i] = 0.0
    for m in range(K):                                    # P[i] is lower triangular: row m ends at m
        for k in range(m + 1):
            for i in range(R):
                YT[k, i] += PT[m, k, i] * Z[m, i]
    for i in range(R):
        for k in range(K):
            T[i, k] = YT[k, i] + 2.0 * (B[i, k] - mu[k])
    np.dot(T, W, U)
    accepted = 0
    total = 0.0
    for i in range(R):
        dq = 0.0
        for k in range(K):
            dq += YT[k, i] * U[i, k]
            bnew[k] = B[i, k] + YT[k, i]
        _transform(bnew, ztype, beta)
        ll_new = loglik_one(Dt, doff, task_ptr, resp_ptr[i], resp_ptr[i + 1], beta, v)
        if ll_new - ll[i] - 0.5 * dq > -g_acc.standard_exponential():
            for k in range(K):
                B[i, k] = bnew[k]
            ll[i] = ll_new
            accepted += 1
        total += ll[i]
    return accepted, total


@nb.njit(cache=True)
def _roots_by_respondent(P):
    """``P`` (R, K, K) with the respondent last: (K, K, R)."""
    R, K, _ = P.shape
    PT = np.empty((K, K, R))
    for i in range(R):
        for m in range(K):
            for k in range(K):
                PT[m, k, i] = P[i, m, k]
    return PT


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def metropolis_only(n_it, Dt, doff, task_ptr, resp_ptr, ztype, B, ll, mu, W, P, scale, g_prop, g_acc, out):
    """``n_it`` Metropolis sweeps with ``mu`` and ``W`` held fixed, ``out[j]`` (n_it, R, K) the sampled
    values after sweep ``j``; returns the number accepted.  (The step :func:`run_block` takes, alone: its
    invariance is checked against an exactly computable posterior.)"""
    R, K = B.shape
    Z, YT, T, U = np.empty((K, R)), np.empty((K, R)), np.empty((R, K)), np.empty((R, K))
    PT = _roots_by_respondent(P)
    bnew, beta = np.empty(K), np.empty(K)
    v = np.empty(_max_rows(task_ptr, resp_ptr))
    accepted = 0
    for j in range(n_it):
        acc, _ = _sweep(Dt, doff, task_ptr, resp_ptr, ztype, B, ll, mu, W, PT, scale, g_prop, g_acc,
                        Z, YT, T, U, bnew, beta, v)
        accepted += acc
        for i in range(R):
            for k in range(K):
                out[j, i, k] = B[i, k]
    return accepted


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def run_block(n_it, first, burn, thin, Dt, doff, task_ptr, resp_ptr, ztype, mubar, Amu, nu, V,
              B, ll, mu, Sig, M, Minv, P, scale, g_prop, g_acc, g_chi, g_norm,
              out_beta, out_mu, out_sig, slot, ll_trace, Wsum):
    """Iterations ``first .. first + n_it - 1`` (0-based) of one chain, changing the state in place.

    State: ``B`` (R, K) sampled values, ``ll`` (R,) their log-likelihoods, ``mu`` (K,), ``Sig`` (K, K),
    ``M``/``Minv`` (K, K) as :func:`draw_mu_sigma` writes them; ``P`` (R, K, K) proposal roots
    (:func:`proposal_roots`), ``scale`` the step scale.  Random numbers, each generator
    (:class:`numpy.random.Generator`) consumed in iteration order: ``g_prop`` K standard normals per
    respondent (the proposal), ``g_acc`` one standard exponential per respondent (accept when the log
    ratio exceeds minus it), ``g_chi`` K chi-squares (nu + R - k degrees of freedom) and ``g_norm``
    K (K - 1) / 2 + K standard normals per iteration (the population draw).  Kept iterations (after
    ``burn``, every ``thin``-th) write the coefficients, mu and Sigma to ``out_*[slot]``.  ``ll_trace[j]``
    gets the total log-likelihood; ``Wsum`` accumulates Sigma^-1 during burn-in (for the proposal's
    refresh).  Returns ``(accepted proposals, next slot)``.
    """
    R, K = B.shape
    w = np.zeros((5, K, K))
    W = np.empty((K, K))
    nz = K * (K - 1) // 2
    chi2 = np.empty(K)
    zb = np.empty(max(nz, 1))
    zm = np.empty(K)
    Z, YT, T, U, D = np.empty((K, R)), np.empty((K, R)), np.empty((R, K)), np.empty((R, K)), np.empty((R, K))
    PT = _roots_by_respondent(P)
    bnew, beta = np.empty(K), np.empty(K)
    v = np.empty(_max_rows(task_ptr, resp_ptr))
    accepted = 0
    for j in range(n_it):
        it = first + j
        for k in range(K):
            chi2[k] = g_chi.chisquare(nu + R - k)
        for c in range(nz):
            zb[c] = g_norm.standard_normal()
        for k in range(K):
            zm[k] = g_norm.standard_normal()
        draw_mu_sigma(B, mubar, Amu, nu, V, chi2, zb, zm, mu, Sig, M, Minv, w, D)
        for a in range(K):                                   # the precision W = Sigma^-1 = M M'
            for b in range(K):
                s = 0.0
                for m in range(K):
                    s += M[a, m] * M[b, m]
                W[a, b] = s
        if it < burn:
            for a in range(K):
                for b in range(K):
                    Wsum[a, b] += W[a, b]
        acc, total = _sweep(Dt, doff, task_ptr, resp_ptr, ztype, B, ll, mu, W, PT, scale, g_prop, g_acc,
                            Z, YT, T, U, bnew, beta, v)
        accepted += acc
        ll_trace[j] = total
        if it >= burn and (it + 1 - burn) % thin == 0:
            for i in range(R):
                _transform(B[i], ztype, beta)
                for k in range(K):
                    out_beta[slot, i, k] = beta[k]
            for k in range(K):
                out_mu[slot, k] = mu[k]
                for m in range(K):
                    out_sig[slot, k, m] = Sig[k, m]
            slot += 1
    return accepted, slot


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def proposal_roots(H, W, P):
    """``P[i]`` (lower triangular) with ``P[i]' P[i] = (H[i] + W)^-1`` for every respondent: the inverse of
    the Cholesky factor of ``H[i] + W`` (a proposal step is ``P[i]' z``)."""
    R, K, _ = H.shape
    A = np.empty((K, K))
    L = np.empty((K, K))
    for i in range(R):
        for a in range(K):
            for b in range(K):
                A[a, b] = H[i, a, b] + W[a, b]
        if not _chol(A, L):
            for a in range(K):
                for b in range(K):
                    L[a, b] = 0.0
                L[a, a] = math.sqrt(max(A[a, a], 1e-12))
        _tri_inv(L, P[i])


# ------------------------------------------------------------------------- first compilation, in parts
# Each part calls some of the sampler's functions on tiny arrays of the types run_block passes them, so
# that numba compiles (and caches) exactly the specialisations it will use; :func:`dce.util.jit.compile_parts`
# runs the parts in parallel processes on a machine's first run.
def _tiny(R=2, K=2):
    Dt = np.zeros((K, 2 * R))
    task_ptr = np.arange(0, 2 * R + 1, 2, dtype=np.uint64)
    resp_ptr = np.arange(R + 1, dtype=np.uint64)
    return Dt, np.zeros(2 * R), task_ptr, resp_ptr, np.zeros(K, dtype=np.int64), np.zeros((R, K))


def _compile_sweep():
    Dt, doff, tp, rp, zt, B = _tiny()
    R, K = B.shape
    ll = np.zeros(R)
    g = np.random.default_rng(0)
    _sweep(Dt, doff, tp, rp, zt, B, ll, np.zeros(K), np.eye(K), np.zeros((K, K, R)), 1.0, g, g,
           np.zeros((K, R)), np.zeros((K, R)), np.zeros((R, K)), np.zeros((R, K)), np.zeros(K), np.zeros(K),
           np.zeros(4))


def _compile_population():
    Dt, doff, tp, rp, zt, B = _tiny()
    R, K = B.shape
    I = np.eye(K)
    draw_mu_sigma(B, np.zeros(K), 0.01, K + 3.0, I.copy(), np.ones(K), np.zeros(1), np.zeros(K), np.zeros(K),
                  I.copy(), I.copy(), I.copy(), np.zeros((5, K, K)), np.zeros((R, K)))
    P = np.zeros((R, K, K))
    proposal_roots(np.zeros((R, K, K)), I.copy(), P)
    _roots_by_respondent(P)
    _max_rows(tp, rp)
    loglik_all(Dt, doff, tp, rp, zt, B, np.zeros(R))


COMPILE_PARTS = (_compile_sweep, _compile_population)
