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


def child_body(fn) -> None:
    """The whole life of a forked child that only computes: die with its parent (:func:`die_with_parent`),
    run ``fn()``, and leave with ``os._exit`` (0, or 1 when ``fn`` raised; the parent then does the work
    itself), never through Python's exit, which would run the parent's exit handlers and flush its
    buffers a second time."""
    code = 1
    try:
        die_with_parent()
        fn()
        code = 0
    finally:
        os._exit(code)


def die_with_parent() -> None:
    """In a child process: ask the kernel to end this process (SIGKILL) when its parent dies, however it
    dies (SIGKILL included, which leaves it no chance to stop its children), and take back the default
    action of SIGTERM (a forked child inherits its parent's Python handler, which would turn the parent's
    ``terminate()`` into an exception a worker catches and survives).  Linux only; elsewhere a no-op
    but for SIGTERM."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):   # pragma: no cover - no prctl: the parent stops its workers itself
        return
    if os.getppid() != parent:          # the parent died before the request: nobody to work for
        os._exit(1)
