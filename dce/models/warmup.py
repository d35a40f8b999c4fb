"""The compiled (numba) kernels, compiled ahead of the first fit: what `dce warm-up` runs.

numba compiles a kernel on its first use on a machine and keeps the machine code in its disk cache
(``NUMBA_CACHE_DIR`` or next to the package); that first use costs seconds (the mixed logit about 4 s on
two cores, more on one).  :func:`warm_up` compiles every kernel by running the real code path on a tiny
SIMULATED data set (so that numba compiles exactly the specialisations a real fit uses), and
:func:`pending` says which kernels a run would still compile (a fit itself says so, in one line, when it
comes to compile one: :func:`dce.util.jit.set_compile_notice`).  Without numba (the numpy path) nothing
is compiled and nothing is pending.
"""
from __future__ import annotations

import time

import numpy as np

from dce.util.backend import choose_backend

#: what each kernel is used for, in the order :func:`warm_up` compiles them
KERNELS = ("mixed logit", "hierarchical Bayes", "design search")


def _dispatcher(kernel):
    if kernel == "mixed logit":
        from dce.models.mixed.kernels import panel_kernel

        return panel_kernel
    if kernel == "hierarchical Bayes":
        from dce.models.hb.kernels import run_block

        return run_block
    from dce.design._kernels import candidate_errors

    return candidate_errors


def pending(kernels=KERNELS, backend="auto") -> list:
    """The kernels among ``kernels`` that a run would compile first (not in numba's disk cache)."""
    if choose_backend(backend) != "numba":
        return []
    from dce.util.jit import is_cached

    return [k for k in kernels if not is_cached(_dispatcher(k))]


def _simulated(n_resp=8, n_tasks=3, n_alts=3, seed=0):
    """A tiny SIMULATED panel (two attributes) whose only use is to run the kernels once."""
    from dce.data.choice_data import ChoiceData

    rng = np.random.default_rng(seed)
    T = n_resp * n_tasks
    X = rng.normal(size=(T, n_alts, 2))
    resp = np.repeat(np.arange(n_resp), n_tasks)
    U = X @ np.array([1.0, -0.8]) + rng.gumbel(size=(T, n_alts))
    return ChoiceData(X=X, avail=np.ones((T, n_alts), bool), chosen=U.argmax(1), names=["a", "b"],
                      alt_labels=list(range(1, n_alts + 1)), resp=resp + 1, source="simulated (warm-up)",
                      spec={"names": ["a", "b"]})


def _run(kernel):
    from dce.errors import DCEError

    try:
        if kernel == "mixed logit":
            from dce.models.mixed.model import MixedLogit

            MixedLogit(random={"a": "n"}, draws=4, seed=0, backend="numba", threads=1).fit(_simulated())
        elif kernel == "hierarchical Bayes":
            from dce.models.hb.model import HierarchicalBayes

            HierarchicalBayes(random={"a": "n"}, iterations=20, thin=1, chains=1, seed=0,
                              backend="numba").fit(_simulated())
        else:
            from dce.design.generate import make_design
            from dce.design.spec import parse_design_spec

            spec = parse_design_spec("alternatives: 2\ntasks: 4\nattributes:\n  a: {levels: [0, 1, 2]}\n"
                                     "  b: {levels: [0, 1]}\n")
            make_design(spec, seed=0, starts=1, backend="numba")
    except DCEError:        # a tiny fit may not converge: what matters here is that the kernel ran
        pass


def warm_up(kernels=KERNELS, progress=None) -> list:
    """Compile ``kernels`` (those not yet in numba's disk cache); ``progress(kernel)`` is called before each.

    Returns a list of ``(kernel, seconds, compiled)``: ``compiled`` is False for a kernel that was
    already cached (or when numba is missing and the numpy path runs instead).
    """
    todo = set(pending(kernels))
    out = []
    for k in kernels:
        if k not in todo:
            out.append((k, 0.0, False))
            continue
        if progress is not None:
            progress(k)
        t = time.perf_counter()
        _run(k)
        out.append((k, time.perf_counter() - t, True))
    return out
