"""The one model base: fitting through the engine, start values, multistart, seeds, covariances, warnings.

A model family subclasses :class:`Model` and supplies

* :meth:`Model._prepare` ``(data, seed) -> problem``: checks the data and the arguments and builds the
  arrays; the problem has ``names`` (parameters), ``evaluate(theta, hess) -> engine.Evaluation`` (the
  exact function the engine maximises), optionally ``scores(theta)`` (when ``evaluate`` gives none),
  ``score_groups`` (``(codes, G)`` clustering the rows of the scores by respondent, or None) and
  ``engine_options`` (keyword arguments of :func:`dce.models.engine.maximize`);
* :meth:`Model._initial` ``(problem, data, start, rng) -> theta0``: start values of start ``start``
  (0: the default ones);
* optionally :meth:`Model._normalise` (a parameter identified up to sign), :meth:`Model._describe`
  (model-specific figures and tables of the result) and the class methods
  :meth:`Model.coefficient_draws` / :meth:`Model.coefficient_sets` that post-estimation calls through
  :class:`dce.models.results.ModelResult`.

:meth:`Model.fit` does the rest the same way for every family: it resolves and reports the seed, runs
the starts (keeping the best log-likelihood, reporting the spread), takes the covariance matrices from
the Hessian and scores of the engine's last evaluation, and says when the fit is not reliable.  A
sampler overrides :meth:`Model.fit` and returns the same result type.
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np

from dce.errors import ArgumentError, DCEError, NotFittedError
from dce.models import engine
from dce.models.results import SE_TYPES, ModelResult, mvn_draws
from dce.runner import resolve_workers
from dce.tables import Column, Table
from dce.util.backend import BACKENDS, resolve_threads
from dce.util.numbers import whole_number
from dce.util.seeds import resolve_seed, streams


class Model:
    """Base of every model family.

    An estimator is built from its options and fitted to data, ``result = ConditionalLogit(se="robust")
    .fit(data)``: the constructor only stores its arguments (:meth:`get_params` lists them); :meth:`fit`
    checks them (an :class:`~dce.errors.ArgumentError` naming the argument), fills in the family's
    defaults and returns a :class:`~dce.models.results.ModelResult`, which carries the estimates (in the
    manner of statsmodels: ``params``, ``bse``, ``conf_int()``, ``summary()``, ``predict(data)``).  The
    fitted estimator also keeps ``result_`` and ``seed_``.  Unlike scikit-learn, the estimates live on
    the result, not on the estimator, and there is no ``score``/``transform``.
    """

    name = ""
    label = ""
    default_starts = 1
    default_maxiter = 100
    default_tol = 1e-10
    singular_warning = "the Hessian is singular at the estimates: some parameters are not identified"

    def __init__(self, *, se="classical", starts=None, seed=None, maxiter=None, tol=None, start=None,
                 callback=None, threads=None, backend="auto", workers=1, scheduler=None, progress=None):
        self.se = se
        self.starts = starts
        self.seed = seed
        self.maxiter = maxiter
        self.tol = tol
        self.start = start
        self.callback = callback
        self.threads = threads
        self.backend = backend
        # where the starts run (dce.runner): local processes (None: every core) or a Dask scheduler
        self.workers = workers
        self.scheduler = scheduler
        # progress(done, total) after each start when there are several (wherever they run)
        self.progress = progress

    def _validate(self):
        """Check the arguments the constructor stored and fill in the family's defaults (``starts=None``
        becomes :attr:`default_starts`, ...); an argument out of range is an
        :class:`~dce.errors.ArgumentError` naming it.  Called by :meth:`fit`; idempotent."""
        if self.se not in SE_TYPES:
            raise ArgumentError("se", f"unknown standard error type '{self.se}' (use classical, robust or cluster)")
        self.starts = whole_number(self.default_starts if self.starts is None else self.starts, "starts", 1)
        self.maxiter = whole_number(self.default_maxiter if self.maxiter is None else self.maxiter, "maxiter", 1)
        tol = self.default_tol if self.tol is None else float(self.tol)
        if not tol > 0:
            raise ArgumentError("tol", f"must be positive, not {tol}")
        self.tol = tol
        if self.backend not in BACKENDS:
            raise ArgumentError("backend", f"unknown backend '{self.backend}' (use {', '.join(BACKENDS)})")
        self.seed = None if self.seed is None else resolve_seed(self.seed)
        self.threads = None if self.threads is None else resolve_threads(self.threads)
        self.workers = None if self.workers is None else resolve_workers(self.workers)

    def get_params(self) -> dict:
        """The constructor's arguments as they are now stored (the scikit-learn convention)."""
        import inspect

        names = []
        for klass in type(self).__mro__:
            if "__init__" in vars(klass):
                names += [p.name for p in inspect.signature(klass.__init__).parameters.values()
                          if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        return {n: getattr(self, n) for n in dict.fromkeys(names) if hasattr(self, n)}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "callback")
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ what a family supplies
    def _prepare(self, data, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _initial(self, problem, data, start, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _normalise(self, problem, theta):
        return theta

    def _describe(self, result, problem, data):
        """Add the family's own figures (``info``), tables and summary rows to ``result``."""

    def _checks(self, result, problem, data):
        """Family-specific warnings about the reliability of the estimates."""

    def _parameter_names(self, data):
        """The names of the parameters the model would estimate on ``data`` (without preparing it)."""
        return list(data.names)

    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        """The coefficient vector implied by ``theta``: one row, weight 1 (fixed coefficients)."""
        idx = [result.names.index(n) for n in result.coef_names]
        return np.asarray(theta, float)[idx][None, :], np.ones(1)

    @classmethod
    def segment_draws(cls, result, theta, n_draws, seed):
        """Segments of respondents with their own coefficients (latent classes): a list of
        ``(label, share, B, w)``; none by default."""
        return []

    @classmethod
    def coefficient_sets(cls, result, n_sim, n_draws, seed):
        """Krinsky-Robb: ``theta`` drawn from N(estimates, vcov), each mapped by :meth:`coefficient_draws`."""
        thetas = mvn_draws(np.random.default_rng(seed), result.estimates, result.vcov, n_sim)
        return (cls.coefficient_draws(result, t, n_draws, seed) for t in thetas)

    # ------------------------------------------------------------------ fitting
    def fit(self, data) -> ModelResult:
        """Estimate the model on ``data`` (:class:`dce.data.choice_data.ChoiceData`)."""
        t0 = time.perf_counter()
        self._validate()
        if self.se == "cluster" and data.resp is None:
            raise ArgumentError("id_col", "needed for cluster standard errors (respondent ids)")
        seed = resolve_seed(self.seed)
        self.seed_ = seed
        # floating-point trouble far from the optimum (an overflowing trial step) is handled by the
        # engine's checks of finiteness; it never reaches the user as a library warning
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            trouble = data.scale_problem()
            if trouble is not None:     # no estimate: a family may still lay out its parameters from the data
                return self._no_estimate(data, trouble, t0)
            return self._fit(data, seed, t0)

    def _fit(self, data, seed, t0) -> ModelResult:
        problem = self._prepare(data, seed)
        runs = self._multistart(problem, data, seed)
        good = [r for r in runs if r["opt"] is not None and np.isfinite(r["loglik"])]
        if not good:
            raise DCEError("the log-likelihood is not finite at any starting point")
        best = self._best_run(good)
        result = self._result(problem, data, best["opt"], best["iterations"])
        if result.loglik > -1e-6 * data.n_tasks:
            # a likelihood of 1 is approached, never reached: the estimates run off to infinity
            result.converged = False
            result.message = "no finite maximum: every choice is predicted with certainty (perfect separation)"
            result.warnings.append(result.message + "; the estimates diverge and are not meaningful")
        self._checks(result, problem, data)
        if not result.converged and not any(result.message in w for w in result.warnings):
            result.warnings.append(f"did not converge ({result.message}); gradient norm {result.grad_norm:.3g}")
        self._describe(result, problem, data)
        self._report_starts(result, runs, best)
        result.seconds = time.perf_counter() - t0
        self.result_ = result
        self.problem_ = problem
        self.theta_ = result.estimates
        return result

    def _best_run(self, runs):
        """The run whose estimates the fit reports: the best log-likelihood."""
        return max(runs, key=lambda r: r["loglik"])

    def _report_starts(self, result, runs, best):
        """The starts in the result (several starts only): JSON ``starts``, a table, a summary row."""
        if self.starts > 1:
            _describe_starts(result, runs, best)

    def _before_starts(self, problem, data):
        """Work every start shares, done once here before the starts (a family's default start values)."""

    def _start(self, problem, data, s, stream, label=""):
        """Start ``s`` from its own stream: its start values (:meth:`_initial`) and their optimisation."""
        theta0 = np.asarray(self._initial(problem, data, s, np.random.default_rng(stream)), float)
        return self._optimize(problem, theta0, label)

    def _no_estimate(self, data, reason, t0) -> ModelResult:
        """The result of a fit that could not be run: no estimates (NaN, null in the JSON), not converged,
        ``reason`` as its message and warning (the command line writes it and exits with status 3)."""
        names = self._parameter_names(data)
        P = len(names)
        nan = np.full((P, P), np.nan)
        vcovs = {"classical": nan, "robust": nan.copy()}
        if data.resp is not None:
            vcovs["cluster"] = nan.copy()
        result = ModelResult(
            model=self.name, names=names, estimates=np.full(P, np.nan), vcovs=vcovs, se_type=self.se,
            loglik=math.nan, loglik_null=data.null_loglik(), n_tasks=data.n_tasks,
            n_respondents=data.n_respondents, iterations=0, converged=False, message=reason,
            spec=dict(data.spec), coef_names=list(data.names), warnings=[reason])
        result.seconds = time.perf_counter() - t0
        self.result_ = result
        return result

    def _multistart(self, problem, data, seed):
        """Every start, start ``s`` drawing from child ``s`` of ``SeedSequence(seed)`` (start 0: the default
        start values); through :func:`dce.runner.run` when there are several starts and ``workers`` or
        ``scheduler`` ask for more than this process (each worker builds the problem once), so the fit is
        the same wherever the starts ran."""
        self._before_starts(problem, data)
        ss = streams(seed, self.starts)
        if self.starts == 1 or (self.scheduler is None and self.workers == 1):
            outs = []
            for s in range(self.starts):
                outs.append(self._start(problem, data, s, ss[s],
                                        f"start {s + 1}/{self.starts}: " if self.starts > 1 else ""))
                if self.progress is not None and self.starts > 1:
                    self.progress(s + 1, self.starts)
        else:
            import functools

            from dce.runner import resolve_workers, run

            worker = copy.copy(self)
            worker.callback, worker.progress, worker.workers, worker.scheduler = None, None, 1, None
            if self.scheduler is None:   # the cores are shared among the local workers
                from dce.util.backend import resolve_threads

                n = min(resolve_workers(self.workers), self.starts)
                worker.threads = max(1, resolve_threads(self.threads) // n)
            else:
                worker.threads = 1
            if self.progress is not None:
                self.progress(0, self.starts)
            outs = run(_start_task, range(self.starts), ss, workers=self.workers, scheduler=self.scheduler,
                       setup=functools.partial(_start_context, worker, data, seed), progress=self.progress)
        return [{"start": s, "opt": opt, "iterations": iterations,
                 "loglik": opt.loglik if opt is not None else -math.inf} for s, (opt, iterations) in enumerate(outs)]

    def _maximize(self, problem, theta0, label):
        user = self.callback

        def callback(it, ll, gn, elapsed):
            return user(it, ll, gn, elapsed, label=label) if label else user(it, ll, gn, elapsed)
        opt = engine.maximize(problem.evaluate, theta0, tol=self.tol, maxiter=self.maxiter,
                              callback=callback if user is not None else None,
                              **getattr(problem, "engine_options", {}))
        if opt.iterations == 0 and not opt.converged and not opt.last.finite:
            return None
        return opt

    def _optimize(self, problem, theta0, label):
        """The engine's maximisation from ``theta0``; continued from the normalised twin of the optimum
        when :meth:`_normalise` moves it.  Returns ``(OptResult or None, iterations)``."""
        opt = self._maximize(problem, np.asarray(theta0, float), label)
        if opt is None:
            return None, 0
        iterations = opt.iterations
        theta = self._normalise(problem, opt.x)
        if not np.array_equal(theta, opt.x):
            again = self._maximize(problem, theta, label)
            if again is not None and again.converged:
                iterations += again.iterations
                opt = again
        return opt, iterations

    def _result(self, problem, data, opt, iterations) -> ModelResult:
        H = opt.hess
        scores = opt.last.scores if opt.last.scores is not None else problem.scores(opt.x)
        groups = getattr(problem, "score_groups", None)
        cov = engine.covariances(H, scores, *(groups or (None, None)))
        warnings = []
        if cov.pop("singular"):
            warnings.append(self.singular_warning)
        return ModelResult(
            model=self.name, names=list(problem.names), estimates=opt.x, vcovs=cov, se_type=self.se,
            loglik=opt.loglik, loglik_null=data.null_loglik(), n_tasks=data.n_tasks,
            n_respondents=data.n_respondents, iterations=int(iterations), converged=bool(opt.converged),
            message=str(opt.message), grad_norm=opt.grad_norm, spec=dict(data.spec),
            coef_names=list(data.names), warnings=warnings)

    def _fitted(self):
        if not hasattr(self, "result_"):
            raise NotFittedError(f"the {self.label or self.name} has not been fitted: call fit(data) first")
        return self.result_


def _start_context(model, data, seed):
    """A worker's copy of the model and its problem, built once per worker process."""
    return model, model._prepare(data, seed), data


def _start_task(ctx, s, stream):
    model, problem, data = ctx
    return model._start(problem, data, s, stream)


SAME_OPTIMUM = 1e-4     # runs whose log-likelihoods are this close reached the same optimum


def reached_best(runs, top, weight=None) -> int:
    """How many converged runs (a run that stopped at the iteration limit did not converge) reached the log-
    likelihood ``top`` (within :data:`SAME_OPTIMUM`); ``weight(run)`` counts a run as that many (default 1)."""
    return int(sum((weight(r) if weight else 1) for r in runs
                   if r["opt"] is not None and r["opt"].converged and abs(r["loglik"] - top) < SAME_OPTIMUM))


def _describe_starts(result, runs, best):
    """The spread of the starts: JSON ``starts``, a table and a summary row; a warning when they differ."""
    lls = [r["loglik"] for r in runs]
    fin = [v for v in lls if np.isfinite(v)]
    n = len(runs)
    spread = max(fin) - min(fin)
    conv = [r for r in runs if r["opt"] is not None and r["opt"].converged]
    reached = reached_best(runs, best["loglik"])
    result.info["starts"] = {"n": n, "logliks": [v if np.isfinite(v) else None for v in lls],
                             "best": int(best["start"]) + 1, "spread": spread, "converged": len(conv),
                             "reached_best": reached}
    result.tables.append(Table(
        "Starting points", [Column("start"), Column("log-likelihood", "f4"), Column("iterations", "int"),
                            Column("converged", "yesno")],
        [[r["start"] + 1, r["loglik"] if r["opt"] is not None else None,
          r["iterations"] if r["opt"] is not None else None,
          r["opt"].converged if r["opt"] is not None else None] for r in runs], key="starts"))
    result.fit_rows.append(("starts", f"{n} (best {best['start'] + 1}, reached by {reached}; {len(conv)} converged; "
                                     f"log-likelihoods {min(fin):.3f} to {max(fin):.3f})"))
    if reached <= 1:
        result.warnings.append("the best log-likelihood was reached by only one start: it may not be the global "
                               "maximum: run with more starts")
    if spread > 0.5:
        result.warnings.append(f"starting points reached log-likelihoods {spread:.2f} apart: the likelihood "
                               "has several optima (best kept)")
