"""The choice between compiled (numba) and pure-numpy kernels, and the thread count, in one place.

Library code reads no environment variables: the backend and the number of threads are parameters
(the CLI, a Dask worker or a test sets them).
"""
from __future__ import annotations

import os

from dce.errors import ArgumentError
from dce.util.numbers import whole_number

BACKENDS = ("auto", "numba", "numpy")


def numba_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def choose_backend(backend: str = "auto", argument: str = "backend") -> str:
    """``"numba"`` or ``"numpy"``: ``auto`` takes numba when it is installed; asking for numba without
    it is an error naming the argument."""
    if backend not in BACKENDS:
        raise ArgumentError(argument, f"unknown backend '{backend}' (use {', '.join(BACKENDS)})")
    if backend == "numpy":
        return "numpy"
    if numba_available():
        return "numba"
    if backend == "numba":
        raise ArgumentError(argument, "the numba backend was asked for but numba is not installed")
    return "numpy"


def usable_cpus() -> int:
    """The processors this process may run on (its affinity mask, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def resolve_threads(threads=None, argument: str = "threads") -> int:
    """A checked thread count; None: the usable CPUs."""
    if threads is None:
        return usable_cpus()
    return whole_number(threads, argument, 1)
