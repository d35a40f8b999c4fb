"""The replication runner: one stream per task, the same results in this process, in local worker processes
and on a real dask.distributed cluster (also when a worker is killed mid-run); setup once per worker."""
from __future__ import annotations

import functools
import os
import signal
import time

import numpy as np
import pytest

from dce.cli.errors import for_cli
from dce.errors import ArgumentError, DCEError
from dce.runner import probe, probe_setup, run


def _draw(ctx, task, stream):
    return probe(ctx, task, stream)


def _setup(sleep=0.0):
    return probe_setup(sleep)


def _fails(ctx, task, stream):
    if task == 3:
        raise ArgumentError("draws", "must be at least 1, not 0")
    return task


def _expected(seed, n):
    ss = np.random.SeedSequence(seed).spawn(n)
    return [np.random.default_rng(s).normal(size=3).tolist() for s in ss]


def test_task_i_gets_child_i_of_the_seed_in_this_process_and_in_local_workers():
    want = _expected(5, 40)
    here = run(_draw, range(40), 5, workers=1)
    pool = run(_draw, range(40), 5, workers=2, chunksize=3)
    assert [r[1] for r in here] == want
    assert [r[1] for r in pool] == want
    assert [r[0] for r in pool] == list(range(40))          # results in task order
    assert {r[2] for r in here} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in pool}


def test_setup_runs_once_per_worker_process_not_once_per_task():
    out = run(_draw, range(30), 1, workers=2, setup=_setup, chunksize=2)
    by_pid = {}
    for _, _, pid, cid in out:
        by_pid.setdefault(pid, set()).add(cid)
    assert len(by_pid) == 2
    assert all(len(ids) == 1 for ids in by_pid.values())


def _thread_id(ctx, task, stream):
    import threading

    time.sleep(0.01)                        # GIL released, as a compiled kernel releases it
    return probe(ctx, task, stream)[:2] + (threading.get_ident(), ctx["id"])


def test_threads_share_one_context_built_once_here_and_give_the_same_results():
    import threading

    calls = []
    setup = lambda: calls.append(1) or probe_setup()        # noqa: E731 (threads: nothing is pickled)
    done = []
    out = run(_thread_id, range(12), 5, workers=3, setup=setup, threads=True,
              progress=lambda d, n: done.append((d, n)))
    assert [r[1] for r in out] == _expected(5, 12) and [r[0] for r in out] == list(range(12))
    assert len(calls) == 1 and len({r[3] for r in out}) == 1                  # one context, built once
    assert threading.get_ident() not in {r[2] for r in out} and len({r[2] for r in out}) > 1
    assert done[-1] == (12, 12) and [d for d, _ in done] == sorted(d for d, _ in done)
    for workers in (1, 3):
        with pytest.raises(ArgumentError, match="must be at least 1, not 0"):
            run(_fails, range(8), 1, workers=workers, threads=True)


def _waits_for_the_stop(ctx, task, stream):
    from dce.runner import Stopped, stopping

    if task == 0:
        time.sleep(0.05)
        raise ArgumentError("draws", "must be at least 1, not 0")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:          # a long task that checks stopping() between its steps
        if stopping():
            raise Stopped("stopped")
        time.sleep(0.005)
    return task


def _sees_a_stop(ctx, task, stream):
    from dce.runner import stopping

    time.sleep(0.3)                           # while the other run fails and stops its own tasks
    return stopping()


def test_a_failed_task_stops_the_running_threads_at_their_next_check():
    from dce.runner import stopping

    import threading

    other = {}          # a run of its own in another thread: not stopped by this one's failure

    def second_run():
        other["out"] = run(_sees_a_stop, range(4), 2, workers=2, threads=True)

    t = threading.Thread(target=second_run)
    t0 = time.monotonic()
    t.start()
    with pytest.raises(ArgumentError, match="must be at least 1, not 0"):
        run(_waits_for_the_stop, range(6), 1, workers=3, threads=True)
    assert time.monotonic() - t0 < 5 and not stopping()     # not 30 s: the others ended early
    t.join()
    assert other["out"] == [False] * 4


def test_explicit_streams_keep_a_numbering():
    from dce.util.seeds import streams

    ss = streams(9, 12)[2:]
    out = run(_draw, range(10), ss, workers=1)
    assert [r[1] for r in out] == _expected(9, 12)[2:]
    with pytest.raises(ArgumentError, match="seed: 3 streams for 10 tasks"):
        run(_draw, range(10), ss[:3])


def test_a_task_error_stops_the_run_and_reaches_the_caller_with_its_argument():
    for workers in (1, 2):
        with pytest.raises(ArgumentError) as e:
            run(_fails, range(8), 1, workers=workers, chunksize=1)
        assert e.value.argument == "draws" and for_cli(e.value) == "--draws: must be at least 1, not 0"


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="workers: must be at least 1"):
        run(_draw, range(3), 1, workers=0)
    with pytest.raises(ArgumentError, match="workers: expected a whole number"):
        run(_draw, range(3), 1, workers=1.5)
    with pytest.raises(ArgumentError, match="give workers or scheduler"):
        run(_draw, range(3), 1, workers=2, scheduler="tcp://127.0.0.1:1")
    assert run(_draw, [], 1) == []


def test_unreachable_scheduler_is_named_after_a_short_timeout():
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'dce[dask]')")
    t0 = time.perf_counter()
    with pytest.raises(DCEError, match=r"scheduler: no Dask scheduler answered at tcp://127\.0\.0\.1:9 within 1 s"):
        run(_draw, range(3), 1, scheduler="tcp://127.0.0.1:9", timeout=1)
    assert time.perf_counter() - t0 < 10


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)     # import distributed -> ImportError
    with pytest.raises(DCEError, match=r'needs dask\.distributed: pip install "dce\[dask\]"'):
        run(_draw, range(3), 1, scheduler="tcp://127.0.0.1:9")


def test_dask_cluster_gives_the_same_results(dask_cluster):
    c, _ = dask_cluster
    # the task functions of dce itself: the workers cannot import this test module
    out = run(probe, range(40), 5, scheduler=c.scheduler_address, setup=probe_setup)
    assert [r[1] for r in out] == _expected(5, 40)
    assert os.getpid() not in {r[2] for r in out}
    by_pid = {}
    for _, _, pid, cid in out:
        by_pid.setdefault(pid, set()).add(cid)
    assert all(len(ids) == 1 for ids in by_pid.values())      # the scattered setup ran once per worker


def test_a_worker_killed_mid_run_changes_nothing(dask_cluster):
    c, client = dask_cluster
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(done, total):
        if not killed and done >= 2:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    out = run(probe, range(24), 5, scheduler=c.scheduler_address, setup=functools.partial(probe_setup, 0.15),
              progress=progress, chunksize=1)
    assert killed and killed[0] < 24                             # killed while tasks were left
    assert [r[1] for r in out] == _expected(5, 24)
    client.wait_for_workers(2, timeout=60)                       # the nanny restarts it
    assert victim not in client.run(os.getpid).values()


def test_sigterm_during_a_dask_run_cancels_its_futures(dask_cluster):
    """Issue 19: on SIGTERM (raised where the run waits, as the CLI does) a Dask run cancels its futures: the
    cluster is left with no task of the run, processing or waiting."""
    from dce.cli import Terminated

    c, client = dask_cluster

    def progress(done, total):
        if done >= 2:
            raise Terminated()

    with pytest.raises(Terminated):
        run(probe, range(40), 5, scheduler=c.scheduler_address, setup=functools.partial(probe_setup, 0.2),
            progress=progress, chunksize=1)
    deadline = time.monotonic() + 20
    left = None
    while time.monotonic() < deadline:
        left = [k for keys in client.processing().values() for k in keys if str(k).startswith("dce-")]
        if not left:
            break
        time.sleep(0.1)
    assert not left, left
