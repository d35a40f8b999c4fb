"""Ctrl-C during a long fit or design search: the run stops within seconds, says so in one line, exits with
status 130 and leaves no output file (nor a temporary one) behind."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def interrupt(args, tmp_path, ready):
    """Start ``dce args``; once ``ready()`` holds (the run is busy), send SIGINT; return (process, stderr,
    seconds from the signal to the exit)."""
    # a shell's background job starts with SIGINT ignored, and Python keeps it so: give the child the
    # default disposition, as a terminal would
    p = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not ready() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert p.poll() is None, "the run ended before it could be interrupted"
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=30)
    return p, err, time.monotonic() - t0


def check(p, err, seconds, tmp_path, outputs):
    assert p.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: no file is left half-written"], err
    assert seconds < 10
    for o in outputs:
        assert not o.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_sigint_during_a_mixed_logit_fit(electricity_path, tmp_path):
    # compile the kernel first (a fresh install compiles it at the first mixed fit): during that first
    # compilation LLVM's own signal handler ends the process by the signal itself (nothing half-written
    # either, as outputs are written atomically); this test is about a long fit, interrupted as it iterates
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "fit", electricity_path, "-f", "choice ~ pf + cl",
                    "--alt", "alt", "--task", "chid", "--id", "id", "--model", "mixed", "--random", "pf=n",
                    "--draws", "2", "--seed", "1", "--quiet"], cwd=ROOT, capture_output=True, timeout=300)
    out = tmp_path / "m.json"
    # --draws 8000 with six random coefficients: a fit of many seconds (kernel compiled), interrupted as it iterates
    args = ["fit", electricity_path, "-f", "choice ~ pf + cl + loc + wk + tod + seas", "--alt", "alt",
            "--task", "chid", "--id", "id", "--model", "mixed", "--random", "pf=n,cl=n,loc=n,wk=n,tod=n,seas=n",
            "--draws", "8000", "--seed", "1", "-o", out, "--individual", tmp_path / "ind.csv"]
    start = time.monotonic()
    p, err, seconds = interrupt(args, tmp_path, lambda: time.monotonic() - start > 2.5)
    check(p, err, seconds, tmp_path, [out, tmp_path / "ind.csv"])


def test_sigint_during_a_design_search(tmp_path):
    out = tmp_path / "design.csv"
    args = ["design", ROOT / "designs" / "newdeal.yaml", "-o", out, "--starts", "5000", "--seed", "1",
            "--json", tmp_path / "d.json", "--questionnaire", tmp_path / "q.md"]
    start = time.monotonic()
    p, err, seconds = interrupt(args, tmp_path, lambda: time.monotonic() - start > 4)
    check(p, err, seconds, tmp_path, [out, tmp_path / "d.json", tmp_path / "q.md"])


@pytest.mark.parametrize("fail_at", [0, 1])
def test_atomic_open_leaves_nothing_when_interrupted(tmp_path, fail_at):
    """KeyboardInterrupt inside the writing block: no target, no temporary file."""
    from dce.util.io import atomic_open

    target = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as fh:
            for i in range(3):
                if i == fail_at:
                    raise KeyboardInterrupt
                fh.write("row\n")
    assert not target.exists() and not list(tmp_path.iterdir())


# ------------------------------------------------------------------ issue 19: SIGTERM and the parent's death
def _children(pid):
    """Process ids whose parent is ``pid`` (a /proc scan: Linux)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def _running(pid):
    """Whether ``pid`` is a live process (a zombie waiting for its parent to collect it is not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_search(tmp_path):
    """`dce design --starts 5000 --workers 2`: a search of many seconds in two local worker processes; returns
    (process, worker pids) once both workers are busy."""
    out = tmp_path / "design.csv"
    p = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "design", str(ROOT / "designs" / "newdeal.yaml"),
                          "-o", str(out), "--starts", "5000", "--seed", "1", "--workers", "2", "-q"], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers = []
    while time.monotonic() < deadline and p.poll() is None:
        workers = _children(p.pid)
        if len(workers) >= 2:
            break
        time.sleep(0.1)
    time.sleep(1.0)
    assert p.poll() is None and len(workers) >= 2, "the search ended or started no workers"
    return p, out, workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a /proc scan")
def test_sigterm_stops_every_worker(tmp_path):
    """SIGTERM (what SLURM sends) to a run with local workers: the parent exited 143, but its workers computed
    on as orphans.  Now every worker is gone within seconds, checked on the process tree, and the parent says
    so in one line, exits 143 and leaves no file behind."""
    p, out, workers = _start_search(tmp_path)
    try:
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 143, err
        assert err.strip().splitlines() == ["terminated (SIGTERM): no file is left half-written"], err
        while any(_running(w) for w in workers) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], "workers outlived the terminated run"
        assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
    finally:
        _stop(p, workers)


def _stop(p, workers):
    """Leave no process of a failed test behind: the parent and its workers, by their ids."""
    for pid in [p.pid, *workers]:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
    p.wait(timeout=30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) and a /proc scan")
def test_the_death_of_the_parent_stops_every_worker(tmp_path):
    """SIGKILL to the parent (no chance to stop anything): its workers end with it, not as orphans."""
    p, out, workers = _start_search(tmp_path)
    try:
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        while any(_running(w) for w in workers) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], "workers outlived their killed parent"
    finally:
        _stop(p, workers)
