"""Chunks of work in threads of this process, on threads kept between calls.

A mixed-logit fit makes tens to hundreds of likelihood passes, each split into chunks of respondents that
threads take in turn.  Starting threads for every pass, and a future for every chunk, costs about a
millisecond a pass in Python (holding the GIL): at many threads, where a pass takes a few milliseconds,
that is a serial part that does not shrink.  :func:`each_chunk` keeps its threads for the life of the
process (one pool, grown when more threads are asked for, made anew in a forked child), hands a pass's
chunks out through a shared counter, and has the calling thread take chunks too.
"""
from __future__ import annotations

import itertools
import os
import threading

_LOCK = threading.Lock()
_POOL = None            # (pid, size, ThreadPoolExecutor)


def _pool(size):
    """The process's pool with at least ``size`` threads (and as many as the usable processors: callers in
    several threads at once share it; its threads start as they are first needed)."""
    global _POOL
    from dce.util.backend import usable_cpus

    size = max(size, usable_cpus())
    with _LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < size:
            from concurrent.futures import ThreadPoolExecutor

            old = _POOL
            _POOL = (os.getpid(), size, ThreadPoolExecutor(size, thread_name_prefix="dce-chunks"))
            if old is not None and old[0] == os.getpid():
                old[2].shutdown(wait=False)         # its threads end once idle
        return _POOL[2]


def each_chunk(fn, n, threads, first=0):
    """Call ``fn(c)`` for every chunk ``c`` in ``first .. n-1``, in ``threads`` threads (this one among
    them), each taking the next chunk not yet taken.  Which thread runs a chunk varies; ``fn`` must write
    only what belongs to its chunk.  An exception of ``fn`` is raised here once the other threads have
    stopped taking chunks and finished theirs."""
    count = itertools.count(first)      # next() on it is atomic under the GIL
    stop = []

    def work():
        try:
            for c in count:
                if c >= n or stop:
                    return
                fn(c)
        except BaseException:
            stop.append(True)           # the other threads take no more chunks
            raise

    helpers = min(threads, n - first) - 1
    if helpers <= 0:
        work()
        return
    pool = _pool(helpers)
    futures = [pool.submit(work) for _ in range(helpers)]
    error = None
    try:
        work()
    except BaseException as e:      # noqa: BLE001 - raised below, once the helpers have stopped
        error = e
        stop.append(True)
    for f in futures:
        e = f.exception()           # waits for it
        if e is not None and error is None:
            error = e
    if error is not None:
        raise error


class ThreadShare:
    """``cores`` threads shared out among the tasks running at once (``with share:`` around each task):
    each gets ``cores // running`` (at least one), so that the last tasks of a batch, left running alone,
    use the threads the finished ones gave back."""

    def __init__(self, cores):
        self.cores = max(1, int(cores))
        self.running = 0
        self._lock = threading.Lock()

    def __enter__(self):
        with self._lock:
            self.running += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self.running -= 1

    def threads(self) -> int:
        return max(1, self.cores // max(1, self.running))
