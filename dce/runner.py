"""The one replication runner: independent tasks in this process, in local worker processes, or on Dask.

Every embarrassingly parallel loop of `dce` (power replications, bootstrap replicates, the starts of a
design search or of a model fit) goes through :func:`run`.  Task ``i`` always gets the ``i``-th child
of ``numpy.random.SeedSequence(seed)`` (:func:`dce.util.seeds.streams`), and the results come back in
task order, so the result is the same whatever runs the tasks: one process, ``N`` local worker
processes, or the workers of a ``dask.distributed`` cluster (where a task of a worker lost mid-run is
run again elsewhere by Dask, from the same stream, with the same result).

A task function has the signature ``fn(context, task, stream) -> result``.  ``context`` is what
``setup()`` returns, built once per worker process (not once per task) and kept there for the run:
big inputs (the data, the design) travel once per worker, and the numba kernels a task calls are
compiled (or loaded from numba's disk cache) once per worker process.  ``fn`` and ``setup`` must be
picklable: functions defined at the top level of a module, or :func:`functools.partial` of them.

Tasks that spend their time in compiled code that releases the GIL (the nogil numba kernels of a
likelihood) and only read their context may run in threads instead (``threads=True``): the local
workers are then threads of this process sharing one context built here, with no process to start, no
second copy of the inputs and the kernels loaded once; a Dask scheduler still gets them as usual.

Local workers are forked on Linux (nothing to re-import, a worker starts in milliseconds) and spawned
elsewhere (the calling script then needs the ``if __name__ == "__main__":`` guard).  In every mode the
BLAS libraries run one thread per task (``blas_threads``), so that results do not depend on how many
threads happened to split a product, and so that workers do not oversubscribe the cores.

Library code reads no environment variable: the CLI reads ``DCE_SCHEDULER`` and passes it here.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import uuid

import numpy as np

from dce.errors import ArgumentError
from dce.util.backend import resolve_threads
from dce.util.seeds import resolve_seed, streams

DASK_HINT = 'pip install "dce[dask]"  (or: pip install "dask[distributed]")'
_TASK = threading.local()     # in a thread of a run in threads: .stop, the run's Event (see stopping())
_CONTEXTS: dict = {}          # per worker process: token -> context built by the run's setup
_PENDING: dict = {}           # per local worker: token -> setup, handed over by the pool's initializer


def resolve_workers(workers=None, argument: str = "workers") -> int:
    """A checked number of local worker processes; None: every usable core."""
    return resolve_threads(workers, argument)


class Stopped(Exception):
    """Raised by a task of a run in threads that ended early because the run is being stopped."""


def stopping() -> bool:
    """In a task of a run in threads (``threads=True``): whether its run is being stopped, interrupted
    (Ctrl-C, SIGTERM) or one of its tasks failed.  A thread cannot be stopped from outside, so a long task
    checks this between its steps and raises :class:`Stopped` (its result is not used); otherwise the run
    waits for it to end.  Elsewhere (another run, this process's own thread, a worker process): False."""
    stop = getattr(_TASK, "stop", None)
    return stop is not None and stop.is_set()


def describe(workers=None, scheduler=None) -> str:
    """Where the tasks of :func:`run` would go, in words (for the CLI's messages and JSON)."""
    if scheduler:
        return f"Dask scheduler {scheduler}"
    w = resolve_workers(workers)
    return "this process" if w == 1 else f"{w} local worker processes"


def run(fn, tasks, seed, *, setup=None, workers=None, scheduler=None, progress=None, chunksize=None,
        timeout=5.0, blas_threads=1, start_method=None, threads=False):
    """Run ``fn(context, task, stream)`` for every task and return the results in task order.

    Parameters
    ----------
    fn : callable
        ``fn(context, task, stream) -> result``; ``stream`` is a :class:`numpy.random.SeedSequence`
        (``numpy.random.default_rng(stream)`` makes the task's generator).  Picklable.
    tasks : sequence
        The tasks (small picklable objects: indices, sizes, parameter vectors); ``n = len(tasks)``.
    seed : int or sequence of SeedSequence
        An int: task ``i`` gets ``dce.util.seeds.streams(seed, n)[i]``; or the ``n`` streams themselves
        (to keep a numbering such as ``streams(seed, 2 + n)[2:]``).
    setup : callable, optional
        ``setup() -> context``, called once in each worker process (picklable; big inputs go here).
    workers : int, optional
        Local worker processes (default: every usable core; 1 runs the tasks in this process).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``): the tasks go to its
        workers, results stream back as they finish.  Needs the ``dask`` extra.
    progress : callable, optional
        ``progress(done, total)``, called in this process as tasks finish (``done`` counts tasks).
    chunksize : int, optional
        Tasks sent together to a worker (default: about sixteen chunks per worker).
    timeout : float
        Seconds to wait for the Dask scheduler to answer before giving up.
    blas_threads : int
        Threads of the BLAS libraries while a task runs (1: the same numbers in every mode).
    start_method : str, optional
        ``fork`` (default on Linux) or ``spawn``/``forkserver`` for the local workers.
    threads : bool
        Local workers are threads of this process sharing one context (``setup()`` called once, here),
        not processes: for tasks that release the GIL for most of their work and only read the context.
        When the run is interrupted, tasks not started are dropped and running ones are waited for: a
        long task checks :func:`stopping` between its steps.

    Returns
    -------
    list
        ``[fn(context, tasks[i], streams[i]) for i in range(n)]``.

    An exception raised by a task stops the run and is raised here (the other tasks are cancelled);
    a task that should count failures instead (a fit that does not converge) returns them.
    """
    tasks = list(tasks)
    n = len(tasks)
    ss = _streams(seed, n)
    if n == 0:
        return []
    job = _Job(fn, setup, uuid.uuid4().hex, blas_threads)
    if scheduler:
        if workers is not None:
            raise ArgumentError("workers", "the Dask cluster's workers run the tasks: give workers or scheduler, "
                                           "not both")
        return _run_dask(job, tasks, ss, str(scheduler), progress, chunksize, timeout)
    w = min(resolve_workers(workers), n)
    if w == 1:
        return _run_here(job, tasks, ss, progress)
    if threads:
        return _run_threads(job, tasks, ss, w, progress)
    return _run_pool(job, tasks, ss, w, progress, chunksize, start_method)


def _streams(seed, n):
    if isinstance(seed, (list, tuple)):
        if len(seed) != n:
            raise ArgumentError("seed", f"{len(seed)} streams for {n} tasks")
        if not all(isinstance(s, np.random.SeedSequence) for s in seed):
            raise ArgumentError("seed", "expected an int or a list of numpy.random.SeedSequence")
        return list(seed)
    return streams(resolve_seed(seed), n)


class _Job:
    """What every worker needs to run the tasks of one call: the function, the setup and its token."""

    def __init__(self, fn, setup, token, blas_threads):
        self.fn = fn
        self.setup = setup
        self.token = token
        self.blas_threads = blas_threads

    def context(self):
        """The context of this job in this process, built by ``setup`` at the first task."""
        if self.token not in _CONTEXTS:
            if self.setup is None:
                return None
            _CONTEXTS[self.token] = self.setup()
        return _CONTEXTS[self.token]

    def __call__(self, items):
        """Run a chunk of ``(index, task, stream)`` items; returns ``[(index, result), ...]``."""
        ctx = self.context()
        with _blas_limit(self.blas_threads):
            return [(i, self.fn(ctx, task, stream)) for i, task, stream in items]


_CONTROLLER = []     # per process: (threadpoolctl controller, modules loaded when it was made)


def _blas_limit(n):
    """BLAS limited to ``n`` threads inside the block (n None or 0: as it is)."""
    if not n:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency of dce
        return contextlib.nullcontext()
    # finding the BLAS libraries takes milliseconds: again only when modules were imported since
    if not _CONTROLLER or _CONTROLLER[0][1] != len(sys.modules):
        _CONTROLLER[:] = [(ThreadpoolController(), len(sys.modules))]
    return _CONTROLLER[0][0].limit(limits=n, user_api="blas")


def _chunks(tasks, ss, size):
    items = [(i, t, s) for i, (t, s) in enumerate(zip(tasks, ss))]
    return [items[k:k + size] for k in range(0, len(items), size)]


def _chunk_size(n, w, chunksize):
    if chunksize is not None:
        c = int(chunksize)
        if c < 1:
            raise ArgumentError("chunksize", f"must be at least 1, not {chunksize}")
        return c
    return max(1, math.ceil(n / (16 * w)))


# --------------------------------------------------------------------------------------- this process
def _run_here(job, tasks, ss, progress):
    out = [None] * len(tasks)
    try:
        ctx = job.context()
        with _blas_limit(job.blas_threads):
            for i, (t, s) in enumerate(zip(tasks, ss)):
                out[i] = job.fn(ctx, t, s)
                if progress is not None:
                    progress(i + 1, len(tasks))
    finally:
        _CONTEXTS.pop(job.token, None)
    return out


# --------------------------------------------------------------------------------------- local threads
def _run_threads(job, tasks, ss, w, progress):
    """The tasks in ``w`` threads of this process, one context for all (built here, as for one process)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    out = [None] * len(tasks)
    done = 0
    stop = threading.Event()            # this run's, seen by its own tasks only (stopping())
    ex = ThreadPoolExecutor(w, thread_name_prefix="dce-runner")

    def task(ctx, t, s):
        _TASK.stop = stop
        try:
            return job.fn(ctx, t, s)
        finally:
            _TASK.stop = None

    try:
        ctx = job.context()
        with _blas_limit(job.blas_threads):
            pending = {ex.submit(task, ctx, t, s): i for i, (t, s) in enumerate(zip(tasks, ss))}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                done = _store(out, [(pending.pop(f), f.result()) for f in finished], done, progress)
    except BaseException:
        # interrupted or a task failed: tasks not started are dropped, running ones are asked to end
        # (stopping()) and waited for; the exception is the caller's
        stop.set()
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        _CONTEXTS.pop(job.token, None)
    return out


# --------------------------------------------------------------------------------------- local processes
def _init_worker(token, setup):
    """Pool initializer: keep the setup, so that it travels once per worker rather than once per task.
    Workers ignore Ctrl-C: the parent process handles it and stops them (as it does on SIGTERM); SIGTERM
    ends a worker at once, and so does the death of the parent (however it dies: no orphan computes on)."""
    import signal

    from dce.util.backend import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    _PENDING[token] = setup


class _PoolJob(_Job):
    """A job whose setup was handed to the worker by the pool's initializer (not pickled per chunk)."""

    def context(self):
        if self.token not in _CONTEXTS and self.token in _PENDING:
            setup = _PENDING.pop(self.token)
            _CONTEXTS[self.token] = setup() if setup is not None else None
        return _CONTEXTS.get(self.token)


def _store(out, pairs, done, progress):
    """Put a finished chunk's ``(index, result)`` pairs in place; report and return the count done."""
    for i, r in pairs:
        out[i] = r
        done += 1
    if progress is not None:
        progress(done, len(out))
    return done


def _run_pool(job, tasks, ss, w, progress, chunksize, start_method):
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    method = start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    ctx = mp.get_context(method)
    pjob = _PoolJob(job.fn, None, job.token, job.blas_threads)
    chunks = _chunks(tasks, ss, _chunk_size(len(tasks), w, chunksize))
    out = [None] * len(tasks)
    done = 0
    with ProcessPoolExecutor(w, mp_context=ctx, initializer=_init_worker, initargs=(job.token, job.setup)) as ex:
        pending = {ex.submit(pjob, c) for c in chunks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    done = _store(out, f.result(), done, progress)
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM) or a task failed: stop the workers now rather than finish their
            # chunks; the pool then marks the pending futures broken itself (cancelling them first races its
            # thread)
            procs = list((getattr(ex, "_processes", None) or {}).values())
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.join(5)
                if proc.is_alive():     # pragma: no cover - SIGTERM is the default action in a worker
                    proc.kill()
            raise
    return out


# --------------------------------------------------------------------------------------- Dask
def _dask_client(address, timeout):
    try:
        from distributed import Client
    except ImportError:
        raise ArgumentError("scheduler", f"running on a Dask cluster needs dask.distributed: {DASK_HINT}") from None
    holder = {}

    def connect():
        try:
            holder["client"] = Client(address, timeout=timeout, set_as_default=False)
        except BaseException as e:  # noqa: BLE001 - reported below as one line
            holder["error"] = e

    # Client() can block beyond its timeout on some failures: wait for it in a thread, bounded
    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(timeout + 5)
    if "client" not in holder:
        e = holder.get("error")
        why = f" ({type(e).__name__}: {str(e).splitlines()[0]})" if e is not None and str(e) else ""
        if e is not None and not isinstance(e, (OSError, TimeoutError)) and "timed out" not in str(e).lower():
            raise ArgumentError("scheduler", f"cannot use the Dask scheduler at {address}{why}")
        raise ArgumentError("scheduler", f"no Dask scheduler answered at {address} within {timeout:g} s")
    return holder["client"]


def _dask_chunk(job, setup, items):
    """A chunk on a Dask worker: the setup (scattered once to every worker) builds the context once."""
    if job.token not in _CONTEXTS:
        _CONTEXTS[job.token] = setup() if setup is not None else None
    return job(items)


def _run_dask(job, tasks, ss, address, progress, chunksize, timeout):
    client = _dask_client(address, timeout)
    try:
        from distributed import as_completed

        n_workers = max(1, sum(int(v) for v in client.nthreads().values()))
        chunks = _chunks(tasks, ss, _chunk_size(len(tasks), n_workers, chunksize))
        bare = _Job(job.fn, None, job.token, job.blas_threads)
        setup = client.scatter(job.setup, broadcast=True, hash=False) if job.setup is not None else None
        futures = [client.submit(_dask_chunk, bare, setup, c, key=f"dce-{job.token}-{k}", pure=False)
                   for k, c in enumerate(chunks)]
        out = [None] * len(tasks)
        done = 0
        try:
            for fut in as_completed(futures, loop=client.loop):
                done = _store(out, fut.result(), done, progress)
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            try:
                client.run(_forget, job.token)
            except Exception:  # noqa: BLE001 - a worker gone already forgot
                pass
        return out
    finally:
        client.close()


def _forget(token):
    _CONTEXTS.pop(token, None)


# --------------------------------------------------------------------------------------- checking a cluster
def probe(context, task, stream):
    """A task that tells where it ran: ``(task, three standard normal numbers of its stream, process id,
    id of the worker's context)``.  ``run(probe, range(n), seed, setup=probe_setup, scheduler=ADDRESS)``
    checks a cluster: the numbers must equal those of ``workers=1`` and each process must show one context."""
    if context and context.get("sleep"):
        time.sleep(context["sleep"])
    return (task, np.random.default_rng(stream).normal(size=3).tolist(), os.getpid(),
            None if context is None else context["id"])


def probe_setup(sleep=0.0):
    """The context of :func:`probe`: a fresh id (a new one each time setup runs) and a pause per task."""
    return {"id": uuid.uuid4().hex, "sleep": float(sleep)}
