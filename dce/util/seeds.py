"""Random seeds: the one place a seed is made, checked and split into independent streams.

Every random step of `dce` takes a seed and reports it.  :func:`resolve_seed` makes a fresh one when
none is given (so the run can be repeated from the report) and checks a given one; :func:`streams`
splits a seed into independent child seeds with :class:`numpy.random.SeedSequence`, so that starts,
replications or chains get the same numbers however they are scheduled.
"""
from __future__ import annotations

import numpy as np

from dce.util.numbers import whole_number

MAX_SEED = 2**32 - 1


def new_seed() -> int:
    """A fresh seed in ``[0, 2**31 - 1)`` from the operating system's entropy."""
    return int(np.random.SeedSequence().entropy % (2**31 - 1))


def resolve_seed(seed=None, argument: str = "seed") -> int:
    """``seed`` as a checked non-negative integer, or a fresh one when it is None."""
    if seed is None:
        return new_seed()
    return whole_number(seed, argument, 0, MAX_SEED)


def rng(seed, *stream) -> np.random.Generator:
    """A generator for ``seed`` and an optional stream label (small non-negative integers); ``seed`` may
    also be a replication's :class:`numpy.random.SeedSequence` (from :func:`streams` or :func:`child`)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(child(seed, *stream) if stream else seed)
    return np.random.default_rng([int(seed), *[int(s) for s in stream]] if stream else int(seed))


def child(ss, *keys) -> np.random.SeedSequence:
    """The child ``keys`` of a SeedSequence, made without changing it (``ss.spawn`` counts its children):
    the same numbers whichever process asks, however often."""
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + tuple(int(k) for k in keys),
                                  pool_size=ss.pool_size)


def streams(seed, n: int) -> list:
    """``n`` independent child seed sequences of ``seed`` (replication ``i`` always gets child ``i``)."""
    return np.random.SeedSequence(int(seed)).spawn(int(n))
