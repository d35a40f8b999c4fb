"""Scrambled Halton points, the same numbers as :class:`scipy.stats.qmc.Halton` without importing scipy.stats.

Importing :mod:`scipy.stats` (for its ``qmc`` module) takes about a second, most of what `dce design
--evaluate` spends; this module reproduces ``qmc.Halton(d, scramble=True, rng=rng).random(n)``
(as scipy 1.17 computes it; the test compares the two on the installed scipy) with numpy alone: the engine's own generator is spawned from ``rng``'s seed
sequence, then one random digit permutation per dimension and digit (Owen-type scrambling; enough
digits for double precision) is drawn in the order scipy draws them, and each point is the permuted
radical inverse of its index.  ``tests/design/test_halton.py`` compares the two.
"""
from __future__ import annotations

import math

import numpy as np


def first_primes(n: int) -> list:
    """The first ``n`` primes."""
    out = []
    c = 2
    while len(out) < n:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out


def _permutations(base: int, rng: np.random.Generator) -> np.ndarray:
    count = math.ceil(54 / math.log2(base)) - 1
    perms = np.repeat(np.arange(base)[None], count, axis=0)
    for perm in perms:
        rng.shuffle(perm)
    return perms


def scrambled_halton(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` scrambled Halton points in ``d`` dimensions (``n x d``, in [0, 1)), the first ``n`` of
    ``scipy.stats.qmc.Halton(d=d, scramble=True, rng=rng)``.

    Like scipy, this spawns a child generator from ``rng``'s seed sequence (so ``rng`` itself is
    not advanced, but its seed sequence counts one more child).
    """
    bg = rng.bit_generator
    seed_seq = getattr(bg, "seed_seq", None) or bg._seed_seq      # public from numpy 1.25 (1.24: private)
    child = np.random.Generator(type(bg)(seed_seq.spawn(1)[0]))
    index = np.arange(n, dtype=np.int64)
    out = np.empty((d, n))
    for q, base in enumerate(first_primes(d)):
        perms = _permutations(base, child)
        quotient = index.copy()
        seq = np.zeros(n)
        b2r = 1.0 / base
        for perm in perms:
            remainder = quotient % base
            quotient //= base
            seq += perm[remainder] * b2r
            b2r /= base
        out[q] = seq
    return out.T.copy()
