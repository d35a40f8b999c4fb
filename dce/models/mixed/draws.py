"""Simulation draws for the mixed logit: Halton, Sobol, modified Latin hypercube and pseudo-random.

:func:`uniform_draws` returns an array ``respondents x dimensions x draws`` of points in (0, 1); each
respondent gets its own block of ``draws`` consecutive points of the sequence, shared by all of that
respondent's tasks (panel).  :func:`transform` maps them onto the standard form of a distribution
(normal, triangular or uniform on [-1, 1]).

* ``halton``: one prime per dimension (2, 3, 5, ...), the first ``drop`` points of the sequence dropped
  (100 by default, the usual practice); ``scramble=True`` applies a random digit permutation per
  dimension and digit (Owen-type permutation scrambling from :mod:`scipy.stats.qmc`).
* ``sobol``: scrambled Sobol' points (:class:`scipy.stats.qmc.Sobol`).
* ``mlhs``: modified Latin hypercube sampling (Hess, Train and Polak, 2006): per respondent and
  dimension, ``(i + u) / N`` for ``i = 0..N-1`` with one shared uniform shift ``u``, shuffled.
* ``random``: pseudo-random uniforms.

Every kind takes a ``seed``; deterministic Halton ignores it.
"""
from __future__ import annotations

import numpy as np

from dce.util.halton import first_primes


DRAW_TYPES = ("halton", "sobol", "mlhs", "random")
HALTON_DROP = 100


def primes(n: int) -> np.ndarray:
    """The first ``n`` primes."""
    return np.array(first_primes(n), dtype=np.int64)


def radical_inverse(index: np.ndarray, base: int) -> np.ndarray:
    """Van der Corput radical inverse of non-negative integers in ``base``."""
    i = np.asarray(index, dtype=np.int64).copy()
    out = np.zeros(i.shape, dtype=np.float64)
    f = 1.0 / base
    while np.any(i > 0):
        out += f * (i % base)
        i //= base
        f /= base
    return out


def _van_der_corput_prefix(length: int, base: int) -> np.ndarray:
    """Points 0..length-1 of the radical-inverse sequence in ``base``, built digit by digit in O(length)."""
    seq = np.empty(length)
    seq[0] = 0.0
    filled, t = 1, 1
    while filled < length:
        step = float(base) ** -t
        size = filled
        for i in range(1, base):
            m = min(length - filled, size)
            if m <= 0:
                break
            seq[filled:filled + m] = seq[:m] + step * i
            filled += m
        t += 1
    return seq


_LOW_DIGITS = {}     # base -> (k, points 0..base^k-1) with base^k <= _LOW_SIZE: the low digits of every point
_LOW_SIZE = 1 << 16


def _low_points(base: int):
    low = _LOW_DIGITS.get(base)
    if low is None:
        k = 1
        while base ** (k + 1) <= _LOW_SIZE:
            k += 1
        low = _LOW_DIGITS.setdefault(base, (k, _van_der_corput_prefix(base ** k, base)))
    return low


def van_der_corput_range(start: int, stop: int, base: int) -> np.ndarray:
    """Points ``start..stop-1`` of the radical-inverse sequence in ``base``, bit for bit those of
    ``_van_der_corput_prefix(stop, base)[start:]`` without making the points before ``start``: a block of
    the draws made where it is needed (in the thread that fills it).

    A point's low digits come from the cached prefix of the first ``base^k`` points; the contributions of
    its higher digits are added after it, lowest digit first, each as ``base^-t * digit``: the additions of
    the prefix's construction, in its order."""
    k, low = _low_points(base)
    m = len(low)
    res = np.empty(stop - start)
    n = start
    while n < stop:
        high, lo = divmod(n, m)
        end = min(stop, (high + 1) * m)
        seg = res[n - start:end - start]
        seg[...] = low[lo:lo + end - n]
        t = k + 1
        while high:
            high, digit = divmod(high, base)
            if digit:
                seg += float(base) ** -t * digit
            t += 1
        n = end
    return res


def halton_rows(out: np.ndarray, rows: slice, drop: int = HALTON_DROP) -> None:
    """Fill ``out[rows]`` (``out``: respondents x dims x draws) with the unscrambled Halton draws of
    :func:`uniform_draws` (the same numbers, for any split of the respondents into blocks)."""
    n_resp, dims, n_draws = out.shape
    a, b, _ = rows.indices(n_resp)
    first = max(int(drop), 1)
    for q, p in enumerate(primes(dims)):
        vals = van_der_corput_range(first + a * n_draws, first + b * n_draws, int(p))
        out[a:b, q, :] = vals.reshape(b - a, n_draws)


def halton(n: int, dims: int, drop: int = HALTON_DROP) -> np.ndarray:
    """``n`` points (``n x dims``) of the Halton sequence after dropping the first ``drop`` points.

    Points are numbered from 0 (all zeros), so ``drop=100`` starts at point 100 (the convention of
    xlogit and mlogit); the all-zero point is skipped even when ``drop=0``.
    """
    first = max(int(drop), 1)
    if dims == 0:
        return np.zeros((n, 0))
    return np.stack([van_der_corput_range(first, first + n, int(p)) for p in primes(dims)], axis=1)


def uniform_draws(n_resp: int, dims: int, n_draws: int, kind: str = "halton", seed=None,
                  scramble: bool = False, drop: int = HALTON_DROP) -> np.ndarray:
    """Uniform draws in (0, 1), shaped ``n_resp x dims x n_draws`` (one block per respondent)."""
    if kind not in DRAW_TYPES:   # the user's arguments are checked by the model; this is a programming error
        raise ValueError(f"unknown kind of draws {kind!r}")
    n = n_resp * n_draws
    rng = np.random.default_rng(seed)
    if dims == 0:
        return np.zeros((n_resp, 0, n_draws))
    if kind == "halton":
        if scramble:
            from scipy.stats import qmc

            eng = qmc.Halton(d=dims, scramble=True, seed=rng)
            if drop:
                eng.fast_forward(max(int(drop), 1))
            U = eng.random(n)
        else:
            # radical inverses of indices >= 1 lie strictly inside (0, 1), so no clipping is needed
            out = np.empty((n_resp, dims, n_draws))
            halton_rows(out, slice(None), drop)
            return out
    elif kind == "sobol":
        import warnings

        from scipy.stats import qmc

        eng = qmc.Sobol(d=dims, scramble=True, seed=rng)
        with warnings.catch_warnings():  # balance properties need powers of 2; we accept any n
            warnings.simplefilter("ignore")
            U = eng.random(n)
    elif kind == "mlhs":
        base = (np.arange(n_draws)[None, None, :] + rng.random((n_resp, dims, 1))) / n_draws
        return np.ascontiguousarray(rng.permuted(base, axis=2))
    else:
        return rng.random((n_resp, dims, n_draws))
    U = np.clip(U, 1e-12, 1 - 1e-12)
    return np.ascontiguousarray(U.reshape(n_resp, n_draws, dims).transpose(0, 2, 1))


def transform(U: np.ndarray, dist: str, out=None) -> np.ndarray:
    """Map uniform draws onto the standard form of a distribution (into ``out`` when given).

    ``n``, ``ln``, ``-ln``: standard normal; ``t``: symmetric triangular on [-1, 1]; ``u``: uniform on
    [-1, 1].  A coefficient is then ``mean + spread * draw`` (exponentiated for ``ln``).
    """
    if dist in ("n", "ln", "-ln"):
        from dce.util.normal import ndtri     # scipy's to about 1e-16, without importing scipy.special

        return ndtri(U, out=out)
    if dist == "t":
        res = np.where(U < 0.5, np.sqrt(2.0 * U) - 1.0, 1.0 - np.sqrt(2.0 * (1.0 - U)))
    elif dist == "u":
        res = 2.0 * U - 1.0
    else:
        raise ValueError(f"unknown distribution {dist!r}")   # the model checks the user's distributions
    if out is None:
        return res
    out[...] = res
    return out
