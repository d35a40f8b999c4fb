"""`dce warm-up` and the first fit's one line: the tiny warm-up runs compile the specialisations that
real runs use, a fit says when it compiles and is silent once the kernel is cached."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from dce.cli import cli

numba = pytest.importorskip("numba")

def _real_runs():
    """Runs unlike the warm-up's tiny ones: other distributions, correlations, WTP space, a bigger design."""
    from dce.design.generate import make_design
    from dce.design.spec import parse_design_spec
    from dce.models.hb.model import HierarchicalBayes
    from dce.models.mixed.model import MixedLogit
    from dce.models.wtp_space import MixedLogitWTP

    from dce.models.warmup import _simulated

    data = _simulated(n_resp=30, n_tasks=3, n_alts=4, seed=5)
    MixedLogit(random={"a": "n", "b": "-ln"}, correlated="all", draws=7, seed=2, threads=2).fit(data)
    MixedLogitWTP(random={"a": "t", "scale": "ln"}, price="b", draws=5, seed=2).fit(data)
    HierarchicalBayes(random={"a": "n", "b": "-ln"}, iterations=30, thin=3, chains=1, seed=2).fit(data)
    spec = parse_design_spec("alternatives: 3\ntasks: 6\nattributes:\n  x: {levels: [1, 2, 3]}\n"
                             "  y: {levels: [a, b]}\n  z: {levels: [0, 5, 10, 15]}\n")
    make_design(spec, seed=3, starts=2)


def test_warm_up_compiles_the_specialisations_that_real_runs_use():
    """After the warm-up's tiny runs, real runs of every kernel compile nothing more: the warm-up compiled
    (or loaded from the cache) exactly the specialisations the models and the design search use."""
    from dce.models import warmup

    for kernel in warmup.KERNELS:
        warmup._run(kernel)
    dispatchers = [warmup._dispatcher(k) for k in warmup.KERNELS]
    before = [list(d.signatures) for d in dispatchers]
    assert all(len(b) >= 1 for b in before)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # short chains, tiny data: only the kernels matter here
        try:
            _real_runs()
        except Exception as e:                   # noqa: BLE001 - an unreliable estimate still ran the kernel
            if type(e).__name__ not in ("UnreliableEstimate",):
                raise
    assert [list(d.signatures) for d in dispatchers] == before
    assert warmup.pending() == []


def test_warm_up_command_reports_each_kernel(monkeypatch):
    from dce.models import warmup

    ran = []
    monkeypatch.setattr(warmup, "pending", lambda kernels=warmup.KERNELS, backend="auto": ["hierarchical Bayes"])
    monkeypatch.setattr(warmup, "_run", ran.append)
    r = CliRunner().invoke(cli, ["warm-up"])
    assert r.exit_code == 0, r.output
    assert ran == ["hierarchical Bayes"]
    assert "compiling the hierarchical Bayes kernel" in r.output
    assert "mixed logit: ready (already compiled)" in r.output and "design search: ready" in r.output


def test_a_fit_says_one_line_when_it_compiles(monkeypatch, tmp_path, electricity_path):
    """The line comes from the fit itself, when numba's cache holds no kernel (dce.util.jit.compile_parts
    tells the command line's notice), once although the global search prepares several problems."""
    from dce.util import jit

    args = ["fit", str(electricity_path), "--formula", "choice ~ pf + cl", "--alt", "alt", "--task", "chid",
            "--id", "id", "--model", "mixed", "--random", "pf=n", "--draws", "5", "--seed", "1",
            "-o", str(tmp_path / "m.json")]
    real, uncached = jit.compile_parts, object()     # a kernel neither loaded here nor in the cache
    with monkeypatch.context() as mp:
        mp.setattr(jit, "_SEEN", set())
        mp.setattr(jit, "is_cached", lambda dispatcher: dispatcher is not uncached)
        mp.setattr(jit, "compile_parts", lambda kernel, parts, what="": real(uncached, [], what))
        r = CliRunner().invoke(cli, args)
        assert r.exit_code in (0, 3), r.output
        lines = [x for x in r.output.splitlines() if "compiling" in x]
        assert lines == ["compiling the mixed logit kernel: once per machine, a few seconds (`dce warm-up` does "
                         "it ahead of time)"]
        assert jit._NOTICE is None                                   # the fit's notice ends with the command
        mp.setattr(jit, "_SEEN", set())
        r = CliRunner().invoke(cli, [*args, "--quiet"])               # --quiet: nothing but the tables
        assert r.exit_code in (0, 3) and "compiling" not in r.output
    r = CliRunner().invoke(cli, args)                                # cached: silent
    assert r.exit_code in (0, 3) and "compiling" not in r.output


def test_without_numba_the_warm_up_says_there_is_nothing_to_compile(monkeypatch):
    import dce.util.backend as backend
    from dce.models import warmup

    monkeypatch.setattr(backend, "numba_available", lambda: False)
    assert warmup.pending() == []
    r = CliRunner().invoke(cli, ["warm-up"])
    assert r.exit_code == 0 and "numba is not installed" in r.output and "compiled" not in r.output
