"""Helpers of the fuzz tests: a time bound per example, and the property every parser of user input keeps.

The property: a parser either succeeds or raises :class:`dce.errors.DCEError` with one line naming the
place (the file, the option, the key); the command line exits 0, 2 (or 3 after a fit) with one line on
standard error starting ``error:``.  Never a traceback, an internal error, a hang beyond a bound or a
half-written output.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import pytest


class Hang(BaseException):
    """Raised when an example runs past its bound (a BaseException: no ``except Exception`` swallows it)."""


@contextmanager
def bounded(seconds=10.0, what="example"):
    """Fail the example when the block runs longer than ``seconds`` (SIGALRM; main thread only)."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"{what} ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def one_line_error(e, place):
    """A DCEError of one non-empty line that names ``place`` (a path, option or key)."""
    from dce.errors import DCEError

    assert isinstance(e, DCEError), repr(e)
    msg = str(e)
    assert msg.strip() and "\n" not in msg.strip() and "Traceback" not in msg, msg
    if place:
        assert str(place) in msg, (place, msg)
    return msg


def run_cli(args, codes=(0, 2), place=None, outputs=(), folder=None):
    """Run ``dce args`` in-process; check the exit status is one of ``codes``, that a failure is one line
    ``error: ...`` (naming ``place``), that nothing leaked, and that a failed run (2) left no output."""
    from click.testing import CliRunner

    from dce.cli import cli

    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in codes, (r.exit_code, r.output[-2000:])
    text = r.output
    for needle in ("Traceback", "internal error", "RuntimeWarning", "Warning:", "overflow encountered"):
        assert needle not in text, text[-2000:]
    if r.exit_code != 0:
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and r.stderr.strip().splitlines()[-1] == errors[0], r.stderr[-2000:]
        if place:
            assert str(place) in errors[0], (place, errors[0])
    if r.exit_code == 2:
        for o in outputs:
            assert not o.exists(), f"{o} written by a failed run"
    if folder is not None:
        assert not list(folder.glob(".tmp-*")), "a temporary file was left behind"
    return r


def key_paths(doc, path=(), items=None):
    """Every key path of a nested structure (the root included); of a list only its first ``items``
    items when given."""
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += key_paths(v, path + (k,), items)
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:items]):
            out += key_paths(v, path + (i,), items)
    return out


@pytest.fixture(scope="session")
def fz():
    """The helpers, for tests under --import-mode=importlib (which cannot import this module by name)."""
    return SimpleNamespace(bounded=bounded, one_line_error=one_line_error, run_cli=run_cli, Hang=Hang)
