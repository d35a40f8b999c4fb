"""Mixed logit (random parameters logit) by maximum simulated likelihood.

The utility of alternative ``j`` in task ``t`` of respondent ``n`` is ``X[t, j] @ beta_n (+ offset)``;
each random coefficient is a transform of ``eta_k = mean_k + sum_q L[k, q] z_q`` with standard draws
``z``:

* ``n``: ``beta = eta`` (normal; ``sd.x`` is the standard deviation);
* ``ln`` / ``-ln``: ``beta = exp(eta)`` / ``-exp(eta)`` (``x`` and ``sd.x`` describe the underlying
  normal);
* ``t``: triangular on ``mean +- sd.x`` (``sd.x`` is the spread); ``u``: uniform on ``mean +- sd.x``.

Correlated coefficients (normal or lognormal) share a lower-triangular Cholesky factor whose
elements are the parameters ``chol.a.b`` (row ``a``, column ``b``); independent ones have one loading,
``sd.x``.  With respondent ids the likelihood is the panel one (the product of a respondent's task
probabilities inside the integral, one set of draws per respondent); without, each task is its own
respondent.

Estimation: by default a global search (:mod:`dce.models.mixed.search`: candidates from the conditional
logit and random points around it, screened with 100 draws, the best refined with the full draws, hops
around the best where the likelihood is rugged; ``search=0``: one start from the conditional logit).  Each
maximisation is the engine's trust-region Newton method: BHHH curvature (the outer product of the
respondents' scores, free with the analytic gradient) while far from the optimum and the exact Hessian
of the simulated log-likelihood once close (``sum_r E_w[H_d + s_d s_d'] - E_w[s_d] E_w[s_d]'``, with ``w`` the posterior weights of the draws and ``s_d``, ``H_d`` the score and Hessian of
draw ``d``'s product of logit probabilities, computed by the kernel in the same pass as the
likelihood).  Convergence is declared on the Newton decrement, so the Hessian of the last evaluation is
the exact Hessian at the estimates: it gives the classical, robust and clustered standard errors with
no further evaluations.  The likelihood kernel is compiled with numba when it is installed (see
:mod:`dce.models.mixed.kernels`; it runs in threads over chunks of respondents) and otherwise runs in
chunked numpy (:mod:`dce.models.mixed.kernels_ref`), with the same results.

:func:`coefficient_draws` draws individual coefficient vectors from a fitted model's mixing
distribution (preference shares, WTP distributions).
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError, DCEError
from dce.models import engine
from dce.models.base import Model
from dce.models.mixed.draws import DRAW_TYPES, halton_rows, transform, uniform_draws
from dce.models.mnl import ConditionalLogit, check_identified
from dce.models.signs import check_lognormal_signs, lognormal_sign_warnings
from dce.tables import Column, Table
from dce.util.backend import choose_backend
from dce.util.numbers import json_float
from dce.util.seeds import resolve_seed
from dce.util.numdiff import jacobian

DISTRIBUTIONS = {"n": "normal", "ln": "lognormal", "-ln": "negative lognormal", "t": "triangular",
                 "u": "uniform"}
_ZTYPE = {"n": 0, "t": 0, "u": 0, "ln": 1, "-ln": 2}


def _kernel(backend):
    """The likelihood kernel for ``backend`` (auto, numba, numpy) and the name of the one chosen."""
    if choose_backend(backend) == "numba":
        from dce.models.mixed.kernels import COMPILE_PARTS, panel_kernel
        from dce.util.jit import compile_parts

        compile_parts(panel_kernel, COMPILE_PARTS, "mixed logit")    # a machine's first run: in parallel
        return panel_kernel, "numba"
    from dce.models.mixed.kernels_ref import panel_kernel_np

    return panel_kernel_np, "numpy"


def _kernel_loader(backend, problem):
    """Where numba's kernel is to be used and is not loaded yet in this process: a function that imports
    numba and loads the kernel's machine code from numba's disk cache, by a call that computes nothing (no
    chunk of respondents); else None.  A process's first fit spends about half a second there, in Python:
    :meth:`MixedLogit._standard_draws` runs it while the draws are made elsewhere.  A kernel not in the
    cache is left to :func:`_kernel` (its compilation forks processes of its own)."""
    if choose_backend(backend) != "numba":
        return None
    kernels = sys.modules.get("dce.models.mixed.kernels")
    if kernels is not None and kernels.panel_kernel.overloads:
        return None

    def load():
        from dce.models.mixed.kernels import panel_kernel
        from dce.util.jit import is_cached

        if not panel_kernel.overloads and is_cached(panel_kernel):
            _touch(panel_kernel, problem)

    return load


def _touch(kernel, p):
    """Call ``kernel`` with the argument types of problem ``p``'s kernel passes on no chunk of respondents:
    numba loads (or compiles) the specialisation those passes use, and nothing is computed."""
    K, Q, P = p.K, p.Q, len(p.pk)
    kernel(p.dX, p.doff, p.starts, np.zeros(K), np.zeros((K, Q)), p.ztype, np.zeros((1, Q, 1)), p.pk, p.pq, p.sidx,
           False, np.zeros(2, np.int64), 0, 0, np.empty(1), np.empty((1, P)), np.empty((1, K)), np.zeros((1, 1, 1)))


def _unpack(theta, K, Q, lk, lq):
    """Parameters -> (mu: K means, L: K x Q loadings with eta = mu + L z)."""
    theta = np.asarray(theta, dtype=np.float64)
    mu = np.ascontiguousarray(theta[:K])
    L = np.zeros((K, Q))
    L[lk, lq] = theta[K:]
    return mu, L


# the draws are made in blocks of respondents of about this many numbers per random dimension (768 KB):
# the quantile function's temporaries then stay in a core's cache.  Whole arrays (36 MB at 2,000 draws
# of 6 dimensions) took 2.5 times as long in one thread (0.24 s against 0.095 s at 2,000 draws, 0.44 s
# against 0.155 s at 5,000; 361 respondents, 6 normal dimensions, a 2-core AMD EPYC)
DRAW_BLOCK = 98_304


def _fill_standard(A, dists, halton, threads):
    """Turn ``A`` (respondents x random dimensions x draws), uniform draws or (``halton``) to be filled with
    the unscrambled Halton points, into standard draws of ``dists``, in place.  Element by element: the
    same numbers however the respondents are split, so it works through blocks of respondents
    (:data:`DRAW_BLOCK`), which ``threads`` threads take in turn (numpy's loops and the quantile functions
    release the GIL; a serial part of a process's first fit otherwise, whose new pages are also first
    touched here)."""
    def block(i):
        rows = slice(i * size, min(n, (i + 1) * size))
        if halton:
            halton_rows(A, rows)
        for q, dist in enumerate(dists):
            transform(A[rows, q, :], dist, out=A[rows, q, :])

    from dce.util.threads import each_chunk

    n = A.shape[0]
    size = max(1, DRAW_BLOCK // max(1, A.shape[2]))
    each_chunk(block, -(-n // size), threads)       # in this thread alone with one thread or one block


class _Problem:
    """Prepared arrays of one data set for the kernel, and the mapping parameters -> (mu, L)."""

    def __init__(self, model: "MixedLogit", data: ChoiceData, seed: int):
        T, J, K = data.X.shape
        if J < 2:
            raise DCEError("a mixed logit needs at least two alternatives per task")
        if not np.all(data.avail[np.arange(T), data.chosen]):
            bad = int(np.flatnonzero(~data.avail[np.arange(T), data.chosen])[0])
            raise DCEError(f"task {data.task_ids[bad]}: the chosen alternative is not available")
        self.panel = data.resp is not None
        codes, R = data.panel()
        self.codes, self.R = codes, R
        order, self.starts = data.panel_blocks()
        self.order = order
        X = data.X[order]
        ch = data.chosen[order]
        av = data.avail[order]
        off = None if data.offset is None else data.offset[order]
        others = np.ones((T, J), bool)
        others[np.arange(T), ch] = False
        idx = np.nonzero(others)[1].reshape(T, J - 1)
        Xc = X[np.arange(T), ch]
        rows = np.arange(T)[:, None]
        dX = X[rows, idx] - Xc[:, None, :]
        av_o = av[rows, idx]
        doff = np.zeros((T, J - 1)) if off is None else off[rows, idx] - off[np.arange(T), ch][:, None]
        dX[~av_o] = 0.0
        doff[~av_o] = -1e300
        # willingness-to-pay space: a scale coefficient multiplies the others; the price carries its sign
        self.sidx, sign = model._scaling()
        if self.sidx >= 0 and sign != 1.0:
            dX[:, :, self.sidx] *= sign
        self.dX = np.ascontiguousarray(dX)
        self.doff = np.ascontiguousarray(doff)
        self.K = K
        # random dimensions, in the order of the coefficients
        self.rand_idx = model._rand_idx
        self.Q = len(self.rand_idx)
        self.ztype = model._ztype()
        _check_memory(R, self.Q, model.draws)
        from dce.models.mixed.search import draws_seed

        self.lk, self.lq = model._lk_lq()
        self.pk = np.concatenate([np.arange(K), self.lk]).astype(np.int64)
        self.pq = np.concatenate([np.full(K, -1), self.lq]).astype(np.int64)
        # the draws: child 0 of SeedSequence(seed) (the global search draws its candidates from child 1)
        self.Z = model._standard_draws(R, model.draws, model.draw_type, draws_seed(seed), model.scramble,
                                       beside=_kernel_loader(model.backend, self))
        self.kernel, self.backend = _kernel(model.backend)
        self.n_params = K + len(self.lk)
        # the numba kernel works through chunks of respondents of about equal numbers of tasks, summing
        # each chunk's Hessian in its own slot; threads take chunks in turn.  The chunks do not depend
        # on the number of threads, so neither do the results.
        if self.backend == "numba":
            nc = int(min(R, 32))
            cut = np.searchsorted(self.starts, np.arange(1, nc) * (T / nc))
            self.bounds = np.unique(np.concatenate([[0], cut, [R]])).astype(np.int64)
            from dce.util.backend import resolve_threads

            self.threads = max(1, min(resolve_threads(model.threads), len(self.bounds) - 1))
        else:
            self.bounds = np.array([0, R], dtype=np.int64)
            self.threads = 1
        self.n_chunks = len(self.bounds) - 1
        self.share = None       # a ThreadShare: the threads of a pass vary with the searches running at once
        # the engine's view: parameter names, score rows (respondents) and step control
        self.names = list(model._names)
        self.score_groups = (np.arange(R), R) if self.panel else None
        self.engine_options = {"switch": model.SWITCH, "cap": model.LOG_STEP,
                               "capped": self.ztype[self.pk] != 0}

    def unpack(self, theta):
        return _unpack(theta, self.K, self.Q, self.lk, self.lq)

    def evaluate(self, theta, hess=False):
        """The simulated log-likelihood, its gradient, the respondents' scores and, with ``hess``, its
        exact Hessian, as the engine maximises them (:class:`dce.models.engine.Evaluation`)."""
        ll, S, E, H = self.kernel_pass(theta, hess)
        return engine.Evaluation(float(ll.sum()), S.sum(axis=0), scores=S, hess=H, payload=(ll, S, E, H))

    def kernel_pass(self, theta, hess=False):
        """Per-respondent log-likelihoods (R,), scores (R, P), conditional means (R, K) and, with
        ``hess``, the exact Hessian (P, P) of the simulated log-likelihood (else None)."""
        mu, L = self.unpack(np.asarray(theta, float))
        R, K, P = self.R, self.K, self.n_params
        ll = np.empty(R)
        S = np.empty((R, P))
        E = np.empty((R, K))
        Hc = np.zeros((self.n_chunks, P, P) if hess else (self.n_chunks, 1, 1))
        args = (self.dX, self.doff, self.starts, mu, L, self.ztype, self.Z, self.pk, self.pq, self.sidx,
                bool(hess), self.bounds)
        nc = self.n_chunks
        threads = self.threads if self.share is None else min(self.share.threads(), nc)
        if threads <= 1:
            self.kernel(*args, 0, nc, ll, S, E, Hc)
        else:
            # the kernel releases the GIL: threads take the chunks one at a time, in turn (balanced when
            # tasks differ; each chunk writes only its own rows and Hessian slot, so the results do not
            # depend on which thread ran it).  Should the kernel not be loaded yet, the first chunk runs
            # here alone, so that loading or compiling it happens once.
            from dce.util.threads import each_chunk

            first = 0
            if not getattr(self.kernel, "overloads", True):
                self.kernel(*args, 0, 1, ll, S, E, Hc)
                first = 1
            each_chunk(lambda c: self.kernel(*args, c, c + 1, ll, S, E, Hc), nc, threads, first)
        if not hess:
            return ll, S, E, None
        with np.errstate(invalid="ignore", over="ignore"):   # far from the optimum it may overflow
            return ll, S, E, Hc.sum(axis=0)


class MixedLogit(Model):
    """Mixed logit, ``fit(data) -> ModelResult``, ``individual_means(data) -> DataFrame``.

    ``random``: {coefficient name: distribution} with distributions n, ln, -ln, t, u;
    ``correlated``: None, ``"all"`` or a list of random coefficient names (normal or lognormal);
    ``draws``, ``draw_type`` (halton, sobol, mlhs, random), ``seed`` (chosen and reported when None),
    ``search`` (candidates of the global search, default :attr:`SEARCH`; 0: none), ``starts`` (with the
    search: candidates refined with the full draws; without: starting points; the best log-likelihood is
    kept), ``search_seed`` (another search with the same draws), ``se`` (classical, robust,
    cluster), ``callback(iteration, loglik, grad_norm, elapsed, label=...)`` for progress,
    ``backend`` (auto, numba, numpy), ``scramble`` (scrambled Halton).
    """

    name = "mixed"
    label = "Mixed logit"
    default_maxiter = 200
    default_tol = 1e-6
    singular_warning = ("the Hessian is singular at the estimates: the simulated likelihood is flat in some "
                        "direction (a parameter is not identified; try fewer random coefficients)")

    # Newton steps are taken once the BHHH decrement is below SWITCH (close enough for the quadratic
    # model to hold); until then the iterations are BHHH steps, which need no Hessian (a likelihood
    # evaluation without the Hessian costs about half as much).  A step moves a parameter on a log scale (lognormal) by at most LOG_STEP.
    SWITCH = 60.0
    LOG_STEP = 2.0

    # the global search (dce.models.mixed.search), the default fit: SEARCH candidates screened with
    # SCREEN_DRAWS draws (at most the model's) and a loose tolerance, the best REFINE distinct ones refined
    SEARCH = 8
    REFINE = 2
    SCREEN_DRAWS = 100
    SCREEN_TOL = 1e-3
    SCREEN_MAXITER = 60
    # then hops around the best optimum, HOP_BATCH at a time, until the best has been reached CONFIRM times
    # (refined candidates included) or MAX_HOPS hops; a hop moves the means by HOP_STEP of their size and
    # the spreads by a factor of about exp(+-2 HOP_STEP)
    HOP_BATCH = 4
    CONFIRM = 6
    MAX_HOPS = 16
    HOP_STEP = 0.3

    def __init__(self, random, correlated=None, draws=1000, draw_type="halton", scramble=False,
                 hessian="analytic", search=None, search_seed=None, **kwargs):
        starts = kwargs.get("starts")
        super().__init__(**kwargs)
        self.random = random
        self.correlated = correlated
        self.draws = draws
        self.draw_type = draw_type
        self.scramble = scramble
        self.hessian = hessian
        self.search = search
        self.search_seed = search_seed
        self.refine_given = starts is not None      # with the search, starts are the candidates refined

    def _validate(self):
        super()._validate()
        random, draws = self.random, self.draws
        search = self.SEARCH if self.search is None else (0 if self.search is False else self.search)
        if isinstance(search, bool) or not isinstance(search, (int, np.integer)) or not 0 <= int(search) <= 1000:
            raise ArgumentError("search", f"must be a whole number of candidates from 0 (no search) to 1,000, "
                                          f"not {search!r}")
        # with the search: the candidates refined (``starts`` when given); without: the starts of the fit
        self.refine = self.starts if self.refine_given else min(self.REFINE, max(int(search), 1))
        self.search = max(int(search), self.refine) if search else 0
        # the search's random stream: child 1 of SeedSequence(seed), or of SeedSequence(search_seed) when
        # given (another search with the same draws: benchmarks/bench_search.py)
        self.search_seed = None if self.search_seed is None else resolve_seed(self.search_seed, "search_seed")
        self.screen_draws, self.screen_tol = self.SCREEN_DRAWS, self.SCREEN_TOL
        self.screen_maxiter = min(self.SCREEN_MAXITER, self.maxiter)
        self.hop_batch, self.confirm, self.max_hops = self.HOP_BATCH, self.CONFIRM, self.MAX_HOPS
        if not random:
            raise ArgumentError("random", "a mixed logit needs at least one random coefficient (NAME=DIST)")
        for name, dist in random.items():
            if dist not in DISTRIBUTIONS:
                raise ArgumentError("random", f"unknown distribution '{dist}' for '{name}' (use n, ln, -ln, t or u)")
        if isinstance(draws, bool) or int(draws) != draws or int(draws) < 2:
            raise ArgumentError("draws", f"{draws} draws are too few for a simulated likelihood (at least 2)")
        if self.draw_type not in DRAW_TYPES:
            raise ArgumentError("draw_type", f"unknown kind of draws '{self.draw_type}' (use {', '.join(DRAW_TYPES)})")
        if self.hessian not in ("analytic", "forward", "central"):
            raise ArgumentError("hessian", f"'{self.hessian}' is not analytic, forward or central")
        self.random = dict(random)
        self.draws = int(draws)
        self.scramble = bool(self.scramble)

    # ------------------------------------------------------------------ specification
    def _model_names(self, names):
        """The model's coefficients for the data's coefficients ``names`` (the same in preference space)."""
        return list(names)

    def _scaling(self):
        """``(index of a scale coefficient multiplying the others, sign of its column)``: ``(-1, 1.0)``, none
        (preference space; see :mod:`dce.models.wtp_space`)."""
        return -1, 1.0

    def _setup(self, data):
        """Parameters of the model for the coefficients of ``data`` (a ChoiceData or a list of names)."""
        names = self._model_names(list(data.names) if hasattr(data, "names") else list(data))
        for name in self.random:
            if name not in names:
                raise ArgumentError("random", f"'{name}' is not a coefficient of the model "
                               f"(coefficients: {', '.join(names)})")
        corr = self.correlated
        if corr is None or corr == [] or corr == ():
            corr = []
        elif corr == "all":
            corr = [n for n in names if n in self.random]
        else:
            corr = list(corr)
            for n in corr:
                if n not in names:
                    raise ArgumentError("correlated", f"'{n}' is not a coefficient of the model")
                if n not in self.random:
                    raise ArgumentError("correlated", f"'{n}' is a fixed coefficient; make it random too")
            corr = [n for n in names if n in corr]
        for n in corr:
            if self.random[n] not in ("n", "ln", "-ln"):
                raise ArgumentError("correlated", f"'{n}' has a {DISTRIBUTIONS[self.random[n]]} distribution; "
                                                  "only normal and lognormal coefficients can be correlated")
        if len(corr) == 1:
            corr = []  # one coefficient correlated with nothing is an independent one
        self._rand_idx = [k for k, n in enumerate(names) if n in self.random]
        qof = {k: q for q, k in enumerate(self._rand_idx)}
        lparams, pnames = [], []
        for k in self._rand_idx:
            if names[k] not in corr:
                lparams.append((k, qof[k]))
                pnames.append(f"sd.{names[k]}")
        ck = [names.index(n) for n in corr]
        for i, ki in enumerate(ck):
            for j in range(i + 1):
                kj = ck[j]
                lparams.append((ki, qof[kj]))
                pnames.append(f"chol.{names[ki]}.{names[kj]}")
        self._lparams = lparams
        self._names = names + pnames
        self._corr_idx = ck
        self._coef_names = names

    def _ztype(self):
        """Per coefficient: 0 beta = eta, 1 beta = exp(eta), 2 beta = -exp(eta)."""
        return np.array([_ZTYPE[self.random[n]] if n in self.random else 0 for n in self._coef_names],
                        dtype=np.int64)

    def _lk_lq(self):
        return (np.array([p[0] for p in self._lparams], dtype=np.int64),
                np.array([p[1] for p in self._lparams], dtype=np.int64))

    def _standard_draws(self, n_resp, n_draws, draw_type, seed, scramble, beside=None):
        """Standard draws (respondents x random dimensions x draws) of each random coefficient's form.

        ``beside()``, when given, is other serial set-up (loading the kernel) that runs in this thread:
        with more than one thread, while the draws are made in a child process (:mod:`dce.util.beside`),
        else first.  The draws are the same numbers wherever they are made."""
        Q = len(self._rand_idx)
        dists = [self.random[self._coef_names[k]] for k in self._rand_idx]
        # unscrambled Halton points are made block by block of respondents where they are transformed
        # (the same numbers however the respondents are split); the other kinds are made first, at once
        blockwise = draw_type == "halton" and not scramble and Q > 0
        shape = (n_resp, Q, n_draws)
        U = None if blockwise else uniform_draws(n_resp, Q, n_draws, draw_type, seed=seed, scramble=scramble)
        from dce.util.backend import resolve_threads

        threads = min(resolve_threads(self.threads), n_resp)
        big = Q * n_resp * n_draws >= 200_000

        def fill(A, n):
            _fill_standard(A, dists, blockwise, n if big else 1)

        if beside is not None and threads > 1 and big:
            from dce.util.beside import fill_beside

            out = fill_beside(shape, lambda A: fill(A, threads - 1), beside, initial=U)
            if out is not None:
                return out
        if beside is not None:
            beside()
        A = np.empty(shape) if U is None else np.ascontiguousarray(U)
        fill(A, threads)
        return A

    # ------------------------------------------------------------------ estimation
    def _start_coefficients(self, data):
        """Start values of the coefficients (K,), the conditional logit they come from, and the start
        spreads (K,): the conditional-logit estimates and 0.1."""
        mnl = ConditionalLogit().fit(data)
        return mnl.estimates.copy(), mnl, np.full(data.n_vars, 0.1)

    def _start_values(self, data):
        """Conditional-logit estimates for the means (log of them for lognormals), 0.1 for the spreads."""
        if self.start is not None:
            theta = np.asarray(self.start, float)
            if theta.size != len(self._names):
                raise ArgumentError("start", f"{theta.size} values given, the model has {len(self._names)} "
                                    "parameters")
            return theta, None
        b, mnl, spread = self._start_coefficients(data)
        check_lognormal_signs(self.random, self._coef_names, mnl)        # ln on a negative effect: refuse
        K = data.n_vars
        mu = b.copy()
        for k in self._rand_idx:
            d = self.random[self._coef_names[k]]
            if d == "ln":
                mu[k] = math.log(max(b[k], 1e-3 * max(1.0, abs(b[k]))))
            elif d == "-ln":
                mu[k] = math.log(max(-b[k], 1e-3 * max(1.0, abs(b[k]))))
        lv = np.zeros(len(self._lparams))
        for i, (k, q) in enumerate(self._lparams):
            if self._rand_idx[q] == k:
                lv[i] = spread[k]
        return np.concatenate([mu[:K], lv]), mnl

    def _perturbed(self, theta0, rng):
        K = len(self._names) - len(self._lparams)
        th = theta0.copy()
        scale = np.maximum(0.1, 0.5 * np.abs(theta0[:K]))
        th[:K] = theta0[:K] + rng.normal(size=K) * scale
        for i, (k, q) in enumerate(self._lparams):
            if self._rand_idx[q] == k:
                th[K + i] = rng.uniform(0.05, 1.0) * max(0.2, abs(theta0[k]))
            else:
                th[K + i] = rng.normal() * 0.1 * max(0.2, abs(theta0[k]))
        return th

    # ------------------------------------------------------------------ the base's hooks
    def _parameter_names(self, data):
        self._setup(data)
        return list(self._names)

    def _prepare(self, data, seed):
        self._setup(data)
        check_identified(data)
        self._mnl = None
        return _Problem(self, data, seed)

    def _before_starts(self, problem, data):
        """The default start values (a conditional logit's), which every start perturbs."""
        self._theta0, self._mnl = self._start_values(data)

    def _multistart(self, problem, data, seed):
        """The global search (:mod:`dce.models.mixed.search`) unless it is switched off (``search=0``)."""
        if not self.search:
            self._search = None
            return super()._multistart(problem, data, seed)
        from dce.models.mixed.search import search

        self._before_starts(problem, data)      # the conditional logit (its log-likelihood is reported)
        return search(self, problem, data, seed)

    def _report_starts(self, result, runs, best):
        if getattr(self, "_search", None) is None:
            return super()._report_starts(result, runs, best)
        from dce.models.mixed.search import describe

        describe(result, self._search, best)

    def _best_run(self, runs):
        if getattr(self, "_search", None) is None:
            return super()._best_run(runs)
        from dce.models.mixed.search import _best

        return _best(runs)

    def _hop(self, theta, rng):
        """A random point around ``theta``: means moved by about HOP_STEP of their size, spreads (and
        Cholesky diagonals) multiplied by about exp(+-2 HOP_STEP), other Cholesky elements moved."""
        K = len(self._names) - len(self._lparams)
        th = np.asarray(theta, float).copy()
        step = self.HOP_STEP
        th[:K] += rng.normal(size=K) * step * np.maximum(np.abs(th[:K]), 0.1)
        for i, (k, q) in enumerate(self._lparams):
            if self._rand_idx[q] == k:
                th[K + i] *= math.exp(2 * step * rng.normal())
            else:
                th[K + i] += rng.normal() * step * max(abs(th[K + i]), 0.1 * abs(th[k]) + 0.05)
        return th

    def _candidate_kinds(self, n):
        """The origins of the search's ``n`` candidates: the default start, then random points around it."""
        return ["default start" if self.start is not None else "conditional logit"] + ["random"] * (n - 1)

    def _candidate(self, problem, data, kind, rng, seed):
        """Start values of a candidate of ``kind`` (None: not available for these data)."""
        if kind == "random":
            return self._perturbed(self._theta0, rng)
        return self._theta0

    def _initial(self, problem, data, start, rng):
        if getattr(self, "_theta0", None) is None:      # called without the base's _before_starts
            self._before_starts(problem, data)
        if start == 0:
            return self._theta0
        return self._perturbed(self._theta0, rng)

    def _normalise(self, problem, theta):
        """Spreads are identified up to sign: make sd.x and the Cholesky diagonal positive."""
        K = len(self._names) - len(self._lparams)
        th = theta.copy()
        corr_q = {self._rand_idx.index(k) for k in self._corr_idx}
        for i, (k, q) in enumerate(self._lparams):
            if q not in corr_q and th[K + i] < 0:
                th[K + i] = -th[K + i]
        for q in corr_q:
            kq = self._rand_idx[q]
            diag = [i for i, (k, qq) in enumerate(self._lparams) if qq == q and k == kq][0]
            if th[K + diag] < 0:
                for i, (k, qq) in enumerate(self._lparams):
                    if qq == q:
                        th[K + i] = -th[K + i]
        return th

    def _result(self, problem, data, opt, iterations):
        if self.hessian != "analytic":
            # a check of the analytic Hessian: differences of the analytic gradient
            from dce.util.numdiff import hessian_from_grad

            grad = lambda th: problem.evaluate(th).grad  # noqa: E731
            central = self.hessian == "central"
            opt.hess = hessian_from_grad(grad, opt.x, rel=1e-5 if central else 1e-6, central=central,
                                         g0=None if central else opt.grad)
        return super()._result(problem, data, opt, iterations)

    # ------------------------------------------------------------------ reporting
    def _derived(self, theta):
        """Derived quantities as a flat vector (for the delta method) and their labels."""
        names = self._coef_names
        K = len(names)
        mu = theta[:K]
        L = np.zeros((K, len(self._rand_idx)))
        for i, (k, q) in enumerate(self._lparams):
            L[k, q] = theta[K + i]
        vals, labels = [], []
        for k in self._rand_idx:
            n, dist = names[k], self.random[names[k]]
            s2 = float(L[k] @ L[k])
            vals += [math.sqrt(s2), *implied_moments(dist, mu[k], s2)]
            labels += [(n, "sd"), (n, "mean"), (n, "median"), (n, "coef_sd")]
        ck = self._corr_idx
        if ck:
            Lc = L[ck]
            Sig = Lc @ Lc.T
            sd = np.sqrt(np.diag(Sig))
            Cor = Sig / np.outer(sd, sd)
            for i in range(len(ck)):
                for j in range(len(ck)):
                    vals += [Sig[i, j], Cor[i, j]]
                    labels += [("cov", i, j), ("cor", i, j)]
        return np.array(vals), labels

    def _delta(self, result):
        """Derived quantities with delta-method s.e.: {label: (value, se)}."""
        theta = result.estimates
        f0, labels = self._derived(theta)
        J = jacobian(lambda t: self._derived(t)[0], theta)      # inf for a runaway lognormal
        with np.errstate(invalid="ignore", over="ignore"):
            fse = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", J, result.vcov, J), 0, None))
        return {lab: (float(f0[i]), float(fse[i])) for i, lab in enumerate(labels)}

    def _checks(self, result, problem, data):
        val = self._delta(result)
        self._val = val
        for k in self._rand_idx:
            n = self._coef_names[k]
            sd, sd_se = val[(n, "sd")]
            if sd < 1e-3 * max(1.0, abs(result.estimates[k])) or (np.isfinite(sd_se) and sd < 0.01 * sd_se):
                result.warnings.append(f"the standard deviation of '{n}' converged to about zero ({sd:.2e}): "
                                       "its coefficient hardly varies; consider keeping it fixed")
        result.warnings.extend(lognormal_sign_warnings(self.random, self._coef_names, result.estimates,
                                                       getattr(self, "_mnl", None)))

    def _describe(self, result, problem, data):
        names, theta, val, se = self._coef_names, result.estimates, self._val, result.se()
        random, implied = {}, {}
        rt = Table("Random coefficients (mean and sd of the underlying distribution; s.e. in brackets)",
                   [Column("coefficient"), Column("distribution"), Column("mean", "est_se"), Column("sd", "est_se")],
                   key="random")
        it = Table("Implied distribution of the coefficients (delta-method s.e.)",
                   [Column("coefficient"), Column("distribution"), Column("mean", "est_se"),
                    Column("median", "est_se"), Column("sd", "est_se")], key="implied")
        for k in self._rand_idx:
            n, dist = names[k], self.random[names[k]]
            sd, sd_se = val[(n, "sd")]
            random[n] = {"distribution": dist, "mean": json_float(theta[k]), "sd": json_float(sd), "mean_se": json_float(se[k]),
                         "sd_se": json_float(sd_se)}
            rt.add_row(n, DISTRIBUTIONS[dist], [theta[k], se[k]], [sd, sd_se])
            if dist in ("ln", "-ln", "t", "u"):
                im = {key: json_float(val[(n, lab)][0]) for key, lab in (("mean", "mean"), ("median", "median"),
                                                                 ("sd", "coef_sd"))}
                im.update({key + "_se": json_float(val[(n, lab)][1]) for key, lab in
                           (("mean", "mean"), ("median", "median"), ("sd", "coef_sd"))})
                implied[n] = im
                it.add_row(n, DISTRIBUTIONS[dist], *[list(val[(n, lab)]) for lab in ("mean", "median", "coef_sd")])
        info = {"draws": self.draws, "draw_type": self.draw_type, "seed": int(self.seed_),
                "scrambled": bool(self.scramble), "panel": bool(problem.panel), "backend": problem.backend,
                "random": random}
        if implied:
            info["implied"] = implied
        result.tables.append(rt)
        if it.rows:
            result.tables.append(it)
        if self._corr_idx:
            info["correlation"] = self._correlation(result)
        result.info.update(info)
        result.fit_rows.append(("draws", f"{self.draws:,} {self.draw_type}"
                                        f"{' (scrambled)' if self.scramble else ''}, seed {self.seed_}"))
        result.fit_rows.append(("likelihood", ("panel (one draw set per respondent)" if problem.panel
                                              else "cross-sectional (no respondent ids)") + f", {problem.backend} kernel"))
        if self._mnl is not None:
            result.fit_rows.append(("conditional logit log-likelihood", f"{self._mnl.loglik:.3f}"))

    def _correlation(self, result):
        """JSON ``correlation`` and the covariance/correlation tables of the correlated coefficients."""
        val, ck = self._val, self._corr_idx
        cn = [self._coef_names[k] for k in ck]
        m = len(ck)
        cov = [[val[("cov", i, j)][0] for j in range(m)] for i in range(m)]
        cor = [[val[("cor", i, j)][0] for j in range(m)] for i in range(m)]
        result.tables.append(Table("Implied covariance of the correlated coefficients (underlying normals)",
                                   [Column("")] + [Column(c, "f4") for c in cn],
                                   [[cn[i]] + cov[i] for i in range(m)], key="covariance"))
        result.tables.append(Table("Implied correlation", [Column("")] + [Column(c, "est_se", 3) for c in cn],
                                   [[cn[i]] + [[cor[i][j], val[("cor", i, j)][1]] for j in range(m)]
                                    for i in range(m)], key="correlation"))
        return {"names": cn, "matrix": [[json_float(v) for v in row] for row in cor],
                "covariance": [[json_float(v) for v in row] for row in cov],
                "matrix_se": [[json_float(val[("cor", i, j)][1]) for j in range(m)] for i in range(m)]}

    # ------------------------------------------------------------------ posterior means
    def individual_means(self, data: ChoiceData):
        """Revelt-Train conditional means of the random coefficients, one row per respondent."""
        import pandas as pd

        self._fitted()
        if self._model_names(data.names) != self._coef_names:
            raise DCEError("individual means: the data do not have the coefficients of the fitted model")
        prob = _Problem(self, data, self.seed_)
        E = prob.kernel_pass(self.theta_)[2]
        codes, R = data.panel()
        if data.resp is not None:
            ids = pd.unique(np.asarray(data.resp))
            col = "id"
        else:
            ids = np.asarray(data.task_ids)
            col = "task"
        out = pd.DataFrame({col: ids, "n_tasks": np.bincount(codes, minlength=R)})
        for k in self._rand_idx:
            out[self._coef_names[k]] = E[:, k]
        return out

    # ------------------------------------------------------------------ post-estimation
    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        """``n_draws`` equally weighted coefficient vectors from the mixing distribution implied by ``theta``."""
        random = {n: (v or {}).get("distribution") for n, v in (result.info.get("random") or {}).items()}
        corr = (result.info.get("correlation") or {}).get("names") or None
        B = coefficient_draws(random, corr, result.coef_names, result.names, theta, n_draws, seed)
        return B, np.full(B.shape[0], 1.0 / B.shape[0])


#: a lognormal's log-mean below this (a median coefficient under 5e-5) is a coefficient driven to zero



def _check_memory(R, Q, draws):
    """Refuse draws that cannot fit in the memory free now (R x Q x draws numbers), before allocating them
    (an allocation beyond it would end in swapping or the system killing the process)."""
    need = 8.0 * R * Q * draws
    have = available_memory()
    if have is not None and need > 0.9 * have:
        raise ArgumentError("draws", f"{draws:,} draws for {R:,} respondents and {Q} random coefficient"
                            f"{'s' if Q != 1 else ''} need {need / 2**30:,.1f} GiB of memory; "
                            f"{have / 2**30:,.1f} GiB are available (use fewer draws)")


def available_memory():
    """Bytes of memory available to a new allocation (Linux MemAvailable, else the free physical pages);
    None where the system does not say."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def implied_moments(dist, m, s2):
    """Mean, median and sd of a coefficient with distribution ``dist`` whose underlying parameters are
    ``m`` (location) and ``s2`` (squared spread)."""
    s = math.sqrt(s2)
    if dist in ("ln", "-ln"):
        sign = 1.0 if dist == "ln" else -1.0
        return sign * _exp(m + s2 / 2), sign * _exp(m), _exp(m + s2 / 2) * math.sqrt(max(_exp(s2) - 1.0, 0.0))
    if dist == "t":
        return m, m, s / math.sqrt(6)
    if dist == "u":
        return m, m, s / math.sqrt(3)
    return m, m, s


def _exp(x):
    """exp without OverflowError (an estimate that ran away gives inf, reported as null)."""
    return math.exp(x) if x < 709.0 else math.inf



# ---------------------------------------------------------------------- coefficient draws
_DRAWS_CACHE: dict = {}


def coefficient_draws(random, correlated, coef_names, param_names, theta, n_draws: int, seed: int,
                      draw_type: str = "halton") -> np.ndarray:
    """Individual coefficient vectors ``(n_draws, K)`` drawn from the mixing distribution implied by ``theta``.

    ``random``: {coefficient: distribution}; ``correlated``: the correlated coefficients (or None);
    ``coef_names``: the K coefficients (means), in order; ``param_names``: the P parameters, in the order
    of ``theta`` (the estimates or one Krinsky-Robb draw of them).  Fixed coefficients are constant, random
    ones follow the model's own map from parameters to coefficients (normal, +-lognormal, triangular,
    uniform, correlated through the Cholesky factor).  The standard draws are scrambled Halton points
    seeded by ``seed`` (``draw_type`` may also be sobol, mlhs or random); they are computed once per
    (model, n_draws, seed) and reused, so that repeated calls (one per Krinsky-Robb draw) cost a small
    matrix product.
    """
    from dce.models.mixed.kernels_ref import coefficients_np

    names = list(coef_names)
    model = MixedLogit(random, correlated=correlated)
    model._validate()
    model._setup(names)
    if list(param_names) != model._names:
        raise DCEError("coefficient draws: the model's parameters (" + ", ".join(param_names) + ") are not "
                       "those of its random coefficients (" + ", ".join(model._names) + ")")
    theta = np.asarray(theta, dtype=np.float64).ravel()
    if theta.size != len(model._names):
        raise DCEError(f"coefficient draws: {theta.size} parameter values for {len(model._names)} parameters")
    n_draws = int(n_draws)
    key = (tuple(names), tuple(sorted(random.items())), n_draws, int(seed), draw_type)
    Z = _DRAWS_CACHE.get(key)
    if Z is None:
        Z = model._standard_draws(1, n_draws, draw_type, int(seed), scramble=True)
        if len(_DRAWS_CACHE) > 16:
            _DRAWS_CACHE.clear()
        _DRAWS_CACHE[key] = Z
    lk, lq = model._lk_lq()
    mu, L = _unpack(theta, len(names), len(model._rand_idx), lk, lq)
    return np.ascontiguousarray(coefficients_np(mu, L, model._ztype(), Z)[0].T)
