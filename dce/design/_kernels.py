"""Compiled (numba) kernel of the coordinate-exchange step: candidate tasks -> Bayesian D-error.

Imported only when a design is searched and numba is installed (the numpy path in
:mod:`dce.design.generate` gives the same numbers to round-off).  Compilation is cached on disk.

For each candidate task ``c`` and prior draw ``r`` the kernel computes the task's information
``M = sum_j p_j (x_j - xbar)(x_j - xbar)'``, the design's information with it in place of the current
task ``I_r - M_s,r + M + ridge``, its Cholesky factor and so ``det^(-1/P)``, averaged over draws.
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def candidate_errors(Xc, B, Itot, Ms, ridge, Mc):
    """Errors (n,) of candidate tasks Xc (n, J, P); fills Mc (n, R, P, P) with their task information."""
    n, J, P = Xc.shape
    R = B.shape[0]
    out = np.zeros(n)
    A = np.empty((P, P))
    v = np.empty(J)
    xbar = np.empty(P)
    d = np.empty((J, P))
    for c in range(n):
        acc = 0.0
        for r in range(R):
            vmax = -1e300
            for j in range(J):
                s = 0.0
                for p in range(P):
                    s += Xc[c, j, p] * B[r, p]
                v[j] = s
                if s > vmax:
                    vmax = s
            tot = 0.0
            for j in range(J):
                v[j] = np.exp(v[j] - vmax)
                tot += v[j]
            for p in range(P):
                xbar[p] = 0.0
            for j in range(J):
                v[j] /= tot
                for p in range(P):
                    xbar[p] += v[j] * Xc[c, j, p]
            for j in range(J):
                w = np.sqrt(v[j])
                for p in range(P):
                    d[j, p] = (Xc[c, j, p] - xbar[p]) * w
            for p in range(P):
                for q in range(p + 1):
                    s = 0.0
                    for j in range(J):
                        s += d[j, p] * d[j, q]
                    Mc[c, r, p, q] = s
                    Mc[c, r, q, p] = s
                    a = Itot[r, p, q] - Ms[r, p, q] + s
                    if p == q:
                        a += ridge
                    A[p, q] = a
            # Cholesky (lower) of A in place; log-determinant from the diagonal
            # product of the squared pivots, folded into the log every few steps (no under/overflow)
            logdet = 0.0
            prod = 1.0
            ok = True
            for k in range(P):
                s = A[k, k]
                for i in range(k):
                    s -= A[k, i] * A[k, i]
                if s <= 0.0:
                    ok = False
                    break
                prod *= s
                if k % 8 == 7:
                    logdet += np.log(prod)
                    prod = 1.0
                lkk = np.sqrt(s)
                for i in range(k + 1, P):
                    t = A[i, k]
                    for m in range(k):
                        t -= A[i, m] * A[k, m]
                    A[i, k] = t / lkk
            logdet += np.log(prod)
            if not ok:
                acc = np.inf
                # keep filling Mc for the remaining draws
                continue
            acc += np.exp(-logdet / P)
        out[c] = acc / R
    return out
