"""dce.util.threads.each_chunk: chunks in threads kept between calls."""
import os
import sys
import threading
import time

import numpy as np
import pytest

from dce.util import threads as T


@pytest.mark.parametrize("threads", [1, 2, 5, 40])
def test_every_chunk_runs_once_whatever_the_threads(threads):
    seen = np.zeros(37, int)
    who = set()

    def fn(c):
        seen[c] += 1
        who.add(threading.get_ident())
        time.sleep(0.001)

    T.each_chunk(fn, 37, threads, first=3)
    assert seen[:3].sum() == 0 and np.all(seen[3:] == 1)
    assert len(who) <= threads and (threads == 1 or len(who) > 1)


def test_the_threads_are_kept_between_calls():
    T.each_chunk(lambda c: time.sleep(0.002), 8, 2)
    pool = T._POOL
    T.each_chunk(lambda c: time.sleep(0.002), 8, 2)
    assert T._POOL is pool


def test_an_error_in_a_chunk_is_raised_after_the_others_stop():
    done = []
    lock = threading.Lock()

    def fn(c):
        if c == 2:
            raise ValueError("chunk 2 fails")
        time.sleep(0.005)
        with lock:
            done.append(c)

    with pytest.raises(ValueError, match="chunk 2 fails"):
        T.each_chunk(fn, 200, 3)
    n = len(done)
    time.sleep(0.05)
    assert len(done) == n < 199          # nothing runs on after the error; the rest was not started


def test_several_callers_at_once_share_the_pool():
    out = {}

    def caller(i):
        acc = np.zeros(50)

        def fn(c):
            acc[c] = c * i

        T.each_chunk(fn, 50, 3)
        out[i] = acc

    ts = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    for i in range(4):
        np.testing.assert_array_equal(out[i], np.arange(50) * i)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork")
def test_a_forked_child_gets_a_pool_of_its_own():
    T.each_chunk(lambda c: None, 4, 2)              # the parent's pool exists
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            acc = np.zeros(6)
            T.each_chunk(lambda c: acc.__setitem__(c, 1.0), 6, 3)
            code = 0 if acc.sum() == 6 else 1
        finally:
            os.write(w, bytes([code]))
            os._exit(code)
    os.close(w)
    deadline = time.time() + 20
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the child hung on the parent's pool")
    assert os.read(r, 1) == b"\x00" and os.waitstatus_to_exitcode(status) == 0
