"""A machine's first compilation of the numba kernels, spread over processes.

numba compiles a kernel, and the compiled functions it calls, one after another in one process, then
keeps the machine code in its disk cache, so that only the first run on a machine pays for it.  On that
first run (nothing cached for the kernel's current source) :func:`compile_parts` compiles independent
parts of a kernel at the same time: all but one in forked child processes, each writing numba's disk
cache, the last one in this process; the kernel itself then finds its parts in the cache and only the
kernel is left to compile.  Once the kernel is cached nothing is forked.  Where that cannot be done
(not Linux, one core, a daemonic process that may not have children, numba's cache internals not as
expected) numba compiles as usual, in this process.
"""
from __future__ import annotations

import sys

from dce.util.backend import child_body, usable_cpus

_TIMEOUT = 300.0      # seconds to wait for a child's compilation before compiling here as usual
_SEEN = set()         # kernels already looked at in this process (each model fit asks again)
_NOTICE = None        # notice(what): told once per kernel that its compilation starts (set_compile_notice)


def set_compile_notice(notice):
    """Have ``notice(what)`` called (``what``: e.g. "mixed logit") when a kernel is about to be compiled
    because numba's disk cache holds none for it: a machine's first fit after an install takes seconds
    more, once.  The command line prints a line; a library user may log it.  None: silence."""
    global _NOTICE
    _NOTICE = notice


def is_cached(dispatcher) -> bool:
    """Whether numba's disk cache holds compiled code of ``dispatcher`` for its current source (True when
    that cannot be told, so that nothing is done in parallel)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:       # noqa: BLE001 - numba internals differ: behave as if cached
        return True


def compile_parts(kernel, parts, what="") -> bool:
    """Compile ``parts`` (callables, each compiling some of the functions ``kernel`` calls by calling them
    on tiny arrays of the kernel's argument types) in parallel processes when ``kernel`` is not in
    numba's disk cache, after telling the notice of :func:`set_compile_notice` (``what`` names the
    kernel).  Returns whether it compiled in parallel; a kernel is looked at once per process."""
    if kernel in _SEEN:
        return False
    _SEEN.add(kernel)
    if getattr(kernel, "overloads", None) or is_cached(kernel):     # loaded in this process, or cached
        return False
    if _NOTICE is not None:
        _NOTICE(what or getattr(kernel, "__name__", "numba"))
    if not parts or not sys.platform.startswith("linux") or usable_cpus() < 2:
        return False
    try:
        import multiprocessing as mp

        if mp.current_process().daemon:
            return False
        n = min(len(parts), usable_cpus())
        ctx = mp.get_context("fork")
        children = [ctx.Process(target=child_body, args=(p,)) for p in parts[:n - 1]]
        for c in children:
            c.start()
    except Exception:       # noqa: BLE001 - no child process: compile here as usual
        return False
    try:
        for p in parts[n - 1:]:
            p()
    except BaseException:   # interrupted (or failed) here: stop the children at once
        for c in children:
            c.terminate()
            c.join()
        raise
    for c in children:
        c.join(_TIMEOUT)
        if c.is_alive():
            c.terminate()
            c.join()
    return True
