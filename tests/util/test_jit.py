"""The first compilation of the mixed logit kernel in parallel processes (dce.util.jit): the parts compiled
by the child processes are the specialisations the kernel uses, so that the kernel loads them from numba's
disk cache instead of compiling them again; once cached, nothing is forked."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from dce.models.mixed import kernels as mk
    from dce.util.backend import usable_cpus
    from dce.util.jit import compile_parts, is_cached, set_compile_notice
    from dce.models.mixed.model import _kernel
    told = []
    set_compile_notice(told.append)              # what the command line prints: once, on a cold cache
    before = is_cached(mk.panel_kernel)
    kernel, backend = _kernel("numba")           # compile_parts runs here on a cold cache
    # the kernel's first call, on a tiny problem of the types the mixed logit passes
    T, J1, K, D, R = 2, 1, 2, 4, 1
    dX = np.ones((T, J1, K)); doff = np.zeros((T, J1)); starts = np.array([0, T])
    mu = np.zeros(K); L = np.eye(K); zt = np.zeros(K, dtype=np.int64); Z = np.zeros((R, K, D))
    pk = np.array([0, 1, 0, 1]); pq = np.array([-1, -1, 0, 1]); bounds = np.array([0, R])
    out = (np.empty(R), np.empty((R, 4)), np.empty((R, K)), np.zeros((1, 4, 4)))
    kernel(dX, doff, starts, mu, L, zt, Z, pk, pq, -1, True, bounds, 0, 1, *out)
    rd = mk._respondent_draws.stats
    print(json.dumps({"before": before, "after": is_cached(mk.panel_kernel), "cores": usable_cpus(),
                      "draws_hits": sum(rd.cache_hits.values()), "draws_misses": sum(rd.cache_misses.values()),
                      "ll": float(out[0][0]), "told": told}))
""")


def run(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_parts_compiled_in_children_are_the_kernels_own(tmp_path):
    cold = run(tmp_path)
    assert cold["before"] is False and cold["after"] is True
    assert cold["told"] == ["mixed logit"]          # the compilation is announced once
    if cold["cores"] >= 2 and sys.platform.startswith("linux"):
        # compiled by a child process, loaded here from the disk cache: not compiled a second time
        assert cold["draws_hits"] >= 1 and cold["draws_misses"] == 0
    warm = run(tmp_path)
    assert warm["before"] is True and warm["ll"] == cold["ll"]
    assert warm["told"] == []                       # nothing to compile: nothing said


def test_not_cached_is_told_and_unknown_counts_as_cached():
    from dce.util.jit import is_cached

    assert is_cached(object()) is True          # no numba cache to look at: behave as if cached
