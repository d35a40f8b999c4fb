"""Fill an array in a forked child process while this process does work of its own in Python.

A process's first mixed-logit fit has two serial pieces of set-up: importing numba and loading the compiled
kernel (about half a second of Python, holding the GIL), and making the draws (numpy, many short calls).
In threads of one process they do not overlap: each short numpy call of the draws waits for the GIL
that the import holds.  :func:`fill_beside` runs the filling in a forked child, writing into memory
shared with this process, while this process runs ``beside()``.

The child is used only where that is safe and cheap: Linux (fork), no other Python thread running in
this process (a fork copies one thread; locks held by the others would stay held in the child), and a
child that only computes into the shared array and leaves with ``os._exit``.  Elsewhere, or when the
child fails, the caller does both pieces itself, one after the other; the numbers are the same.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

import numpy as np


def can_fork() -> bool:
    """Whether :func:`fill_beside` may fork here: Linux, and this process's only Python thread."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def fill_beside(shape, fill, beside, initial=None):
    """A new float64 array of ``shape`` (its contents ``initial`` when given) that ``fill(array)`` fills in
    a forked child process while ``beside()`` runs here; ``beside``'s exceptions are raised here (the child
    is then ended).  Returns None, having run neither, where no child may be used (:func:`can_fork`);
    when the child fails, ``fill`` runs here after ``beside``."""
    if not can_fork():
        return None
    import mmap

    n = int(np.prod(shape))
    buf = mmap.mmap(-1, max(8 * n, 1))
    try:        # large pages where the system gives them to shared memory (fewer misses of the TLB later)
        buf.madvise(mmap.MADV_HUGEPAGE)
    except (AttributeError, OSError, ValueError):
        pass
    out = np.frombuffer(buf, dtype=np.float64, count=n).reshape(shape)
    if initial is not None:
        out[...] = initial
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:                                    # the child: fill, and leave without Python's exit
        from dce.util.backend import child_body

        child_body(lambda: fill(out))
    try:
        beside()
        _, status = os.waitpid(pid, 0)
    except BaseException:
        _end(pid)
        raise
    if status != 0:
        fill(out)
    return out


def _end(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
