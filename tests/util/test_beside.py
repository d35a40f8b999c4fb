"""dce.util.beside: an array filled in a forked child while this process does other work."""
import os
import sys
import threading

import numpy as np
import pytest

from dce.util import beside as B

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")


@pytest.fixture
def one_thread(monkeypatch):
    """As in a process with no other Python thread (whatever earlier tests in this worker left running);
    the children forked are recorded."""
    monkeypatch.setattr(B.threading, "active_count", lambda: 1)
    children = []
    fork = os.fork

    def recorded():
        pid = fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(B.os, "fork", recorded)
    return children


def _no_children_left(children):
    """Each child forked has ended and been waited for (no zombie is left)."""
    assert children
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_the_child_fills_while_this_process_runs_beside(one_thread):
    parent, ran = os.getpid(), []

    def fill(A):
        A[...] = np.arange(A.size).reshape(A.shape)
        A[0, 0] = os.getpid()           # who filled it

    out = B.fill_beside((3, 4), fill, lambda: ran.append(os.getpid()))
    assert ran == [parent]
    assert out[0, 0] != parent and out[0, 0] > 0
    np.testing.assert_array_equal(out.ravel()[1:], np.arange(1, 12))
    _no_children_left(one_thread)


def test_initial_contents_reach_the_child(one_thread):
    start = np.full((2, 5), 3.0)

    def fill(A):
        A *= 2

    out = B.fill_beside(start.shape, fill, lambda: None, initial=start)
    np.testing.assert_array_equal(out, 6.0)
    np.testing.assert_array_equal(start, 3.0)


def test_a_failing_child_leaves_the_filling_to_this_process(one_thread):
    parent = os.getpid()

    def fill(A):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        A[...] = 7.0

    out = B.fill_beside((5,), fill, lambda: None)
    np.testing.assert_array_equal(out, 7.0)
    _no_children_left(one_thread)


def test_an_error_beside_ends_the_child_and_is_raised(one_thread):
    def fill(A):
        import time

        time.sleep(30)

    def beside():
        raise KeyError("beside fails")

    with pytest.raises(KeyError, match="beside fails"):
        B.fill_beside((5,), fill, beside)
    _no_children_left(one_thread)


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not B.can_fork()
        assert B.fill_beside((2,), lambda A: None, lambda: None) is None
    finally:
        stop.set()
        t.join()
