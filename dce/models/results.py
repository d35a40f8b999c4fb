"""The one result type of every model, in memory and as the JSON that later commands read.

A :class:`ModelResult` holds what a fit produced, maximum likelihood (estimates and covariance
matrices) or Bayesian (posterior means, the posterior covariance and kept draws), and speaks the
interface that post-estimation and the report use:

* :attr:`names` (parameters) and :attr:`coef_names` (utility coefficients, the columns an alternative
  is coded into);
* :meth:`coefficient_draws`: weighted coefficient vectors implied by a parameter vector (one row for a
  conditional logit, the mixing distribution of a mixed logit, the classes of a latent class model,
  the individual draws of a hierarchical Bayes model);
* :meth:`coefficient_sets`: the same for the draws that carry the uncertainty (Krinsky-Robb draws of
  the estimates, or posterior draws);
* :meth:`to_dict` / :meth:`from_dict`: the JSON, one schema for every model, with ``schema_version``;
* for people at a Python prompt, the statsmodels idiom: :attr:`params`, :attr:`bse`, :attr:`tvalues`,
  :attr:`pvalues` (pandas Series by parameter name), :attr:`llf`, :attr:`llnull`, :attr:`prsquared`,
  :attr:`aic`, :attr:`bic`, :meth:`conf_int`, :meth:`cov_params`, :meth:`summary` (the tables) and
  :meth:`predict` (choice probabilities of new choice sets).  pandas is imported only when one of
  these is used.

The two methods dispatch to the model's class through the registry of :mod:`dce.models`, so that
shares, WTP, power and the report never branch on the kind of model.
"""
from __future__ import annotations

import json
import math
import os
import warnings as _warnings
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from dce.data.coding import coding_for, references
from dce.errors import DCEError, UnreliableEstimate
from dce.models import model_class
from dce.tables import Column, Table, cell
from dce.util.io import read_bytes, write_json
from dce.util.numbers import json_float

SCHEMA_VERSION = 1
SE_TYPES = ("classical", "robust", "cluster")
# how each kind of standard error is labelled in tables and reports
SE_LABEL = {"classical": "s.e.", "robust": "robust s.e.", "cluster": "cluster s.e.", "posterior": "posterior sd"}
# JSON keys the result reads itself; every other top-level key is model-specific (``info``)
CORE_KEYS = {"schema_version", "model", "loglik", "loglik_null", "n_tasks", "n_respondents", "n_params", "aic",
              "bic", "rho2", "rho2_adj", "converged", "message", "grad_norm", "iterations", "seconds", "se_type",
              "params", "vcov", "vcovs", "vcov_robust", "warnings", "spec", "fixed", "coef_names", "tables",
              "summary", "posterior"}
REQUIRED = ("model", "params", "vcov", "spec")


@dataclass
class ModelResult:
    """Estimates of one fitted model with their covariance matrices, fit statistics and coding.

    Attributes
    ----------
    model : str
        Registry key of the model family (``mnl``, ``mixed``, ...): the JSON ``model``.
    names : list of str
        Parameter names, in the order of ``estimates``.
    estimates : ndarray, shape (P,)
        Maximum-likelihood estimates or posterior means.
    vcovs : dict of str -> ndarray, shape (P, P)
        ``classical``, ``robust`` and (with respondent ids) ``cluster``; ``posterior`` for a sampler.
    se_type : str
        Which covariance is :attr:`vcov` (and gives ``se`` in tables and JSON).
    spec : dict
        How alternatives are coded (a formula's terms, a design); ``spec["names"]`` are the coefficients.
    info : dict
        Model-specific figures (numbers and names only), written at the JSON's top level.
    tables : list of :class:`dce.tables.Table`
        Model-specific tables for people (random coefficients, classes, starts, ...).
    fit_rows : list of (str, str)
        The family's extra rows of the fit summary (the JSON ``summary``; called ``summary`` before
        version 0.2, a name that still works, with a DeprecationWarning, until the next release:
        :meth:`summary` is now the method that returns the tables).
    posterior : dict of str -> ndarray, optional
        A sampler's kept draws.
    """

    model: str
    names: list
    estimates: np.ndarray
    vcovs: dict
    se_type: str = "classical"
    loglik: float = math.nan
    loglik_null: float = math.nan
    n_tasks: int = 0
    n_respondents: int = 0
    iterations: int = 0
    converged: bool = True
    message: str = ""
    grad_norm: float = math.nan
    seconds: float = 0.0
    spec: dict = field(default_factory=dict)
    coef_names: list = None
    info: dict = field(default_factory=dict)
    tables: list = field(default_factory=list)
    fit_rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    fixed: dict = field(default_factory=dict)
    posterior: dict = None
    source: str = ""

    def __post_init__(self):
        self.names = list(self.names)
        self.estimates = np.asarray(self.estimates, dtype=float)
        if self.coef_names is None:
            self.coef_names = list((self.spec or {}).get("names") or self.names)
        self.coef_names = list(self.coef_names)

    # ----------------------------------------------------------------- derived figures
    @property
    def coder(self):
        """The coder of new alternatives under this model (:func:`dce.data.coding.coding_for`), checked
        against the model's coefficients; made once and kept, so that the scenarios coded for shares and
        WTP share one parse of the design."""
        coder = self.__dict__.get("_coder")
        if coder is None:
            source = self.source or "model"
            coder = coding_for(self.spec, source)
            if list(coder.names) != list(self.coef_names):
                raise DCEError(f"{source}: the model's coefficients ({', '.join(self.coef_names)}) do not "
                               f"match its spec ({', '.join(coder.names)}); was it fitted on another design?")
            self._coder = coder
        return coder

    @property
    def n_params(self) -> int:
        return len(self.names)

    @property
    def reliable(self) -> bool:
        """Whether the estimates can be used: the fit converged to a finite maximum.  When not,
        :attr:`message` says why (the command line then exits with status 3)."""
        return bool(self.converged) and bool(np.all(np.isfinite(self.estimates)))

    @property
    def vcov(self) -> np.ndarray:
        return self.vcovs[self.se_type]

    def se(self, kind=None) -> np.ndarray:
        """Standard errors (P,) from the covariance ``kind`` (default :attr:`se_type`); NaN where absent."""
        V = self.vcovs.get(kind or self.se_type)
        if V is None:
            return np.full(self.n_params, np.nan)
        return np.sqrt(np.clip(np.diag(V), 0, None))

    @property
    def bayesian(self) -> bool:
        """Whether the estimates are posterior means (a sampler's): no z statistics or p-values then, and
        the intervals are credible intervals."""
        return self.se_type == "posterior"

    @property
    def z(self) -> np.ndarray:
        """z statistics, estimate / s.e. (NaN for posterior means: a posterior has no test statistic)."""
        if self.bayesian:
            return np.full(self.n_params, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.estimates / self.se()

    @property
    def p(self) -> np.ndarray:
        """Two-sided p-values of the z statistics (normal distribution)."""
        return np.array([math.erfc(abs(z) / math.sqrt(2)) if np.isfinite(z) else float("nan") for z in self.z])

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.loglik

    @property
    def bic(self) -> float:
        return self.n_params * math.log(max(self.n_tasks, 1)) - 2 * self.loglik

    @property
    def rho2(self) -> float:
        return 1 - self.loglik / self.loglik_null if self.loglik_null else math.nan

    @property
    def rho2_adj(self) -> float:
        return 1 - (self.loglik - self.n_params) / self.loglik_null if self.loglik_null else math.nan

    # ----------------------------------------------------------------- the statsmodels idiom
    def _series(self, values, name):
        import pandas as pd

        return pd.Series(np.asarray(values, float), index=pd.Index(self.names, name="parameter"), name=name)

    @property
    def params(self):
        """The estimates (posterior means for a sampler), a pandas Series indexed by parameter name."""
        return self._series(self.estimates, "params")

    @property
    def bse(self):
        """Standard errors of the covariance :attr:`se_type` (posterior sd for a sampler), a Series."""
        return self._series(self.se(), "bse")

    @property
    def tvalues(self):
        """z statistics (estimate / s.e.; NaN for posterior means), a Series."""
        return self._series(self.z, "tvalues")

    @property
    def pvalues(self):
        """Two-sided p-values of the z statistics (normal distribution; NaN for posterior means), a Series."""
        return self._series(self.p, "pvalues")

    @property
    def llf(self) -> float:
        """The log-likelihood at the estimates (for a sampler, at the posterior means' draws: see the fit
        summary)."""
        return float(self.loglik)

    @property
    def llnull(self) -> float:
        """The log-likelihood of equal shares among each task's available alternatives."""
        return float(self.loglik_null)

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo R-squared, 1 - llf / llnull (:attr:`rho2`)."""
        return self.rho2

    @property
    def nobs(self) -> int:
        """The number of choice tasks."""
        return int(self.n_tasks)

    def cov_params(self):
        """The covariance matrix of the estimates (:attr:`se_type`; the posterior covariance for a
        sampler), a pandas DataFrame indexed by parameter name on both axes."""
        import pandas as pd

        idx = pd.Index(self.names, name="parameter")
        return pd.DataFrame(np.asarray(self.vcov, float), index=idx, columns=list(self.names))

    def conf_int(self, alpha=0.05, *, level=None):
        """Confidence intervals of level ``1 - alpha`` (default 95%), a pandas DataFrame with columns 0
        (lower) and 1 (upper) indexed by parameter name, as in statsmodels.

        For posterior means these are the equal-tailed credible intervals the sampler stored
        (``info["credible_intervals"]``) when it stored that level, otherwise the normal approximation.
        ``alpha`` must be below 0.5: before version 0.2 the argument was the level (``conf_int(0.95)``),
        and a value above 0.5 is refused rather than read as a tiny interval.  ``level=`` still works,
        with a DeprecationWarning, until the next release.
        """
        import pandas as pd

        if level is not None:
            _warnings.warn("ModelResult.conf_int(level=...) is deprecated: use conf_int(alpha=1 - level)",
                           DeprecationWarning, stacklevel=2)
        else:
            if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
                    or not 0 < float(alpha) < 0.5:
                from dce.errors import ArgumentError

                raise ArgumentError("alpha", f"must be between 0 and 0.5 (0.05 for a 95% interval), not {alpha!r}"
                                             + (f"; for a {100 * alpha:g}% interval give alpha={1 - alpha:g}"
                                                if isinstance(alpha, float) and 0.5 <= alpha < 1 else ""))
            level = 1 - float(alpha)
        lo, hi = self.interval(level)
        return pd.DataFrame({0: lo, 1: hi}, index=pd.Index(self.names, name="parameter"))

    def interval(self, level=0.95):
        """Interval ``(low, high)``, each an ndarray (P,), of coverage ``level``: for posterior means the
        equal-tailed credible interval the sampler stored at this level (``info["credible_intervals"]``),
        otherwise the normal approximation.  (:meth:`conf_int` is the same as a DataFrame.)"""
        stored = self.info.get("credible_intervals") if self.bayesian else None
        if stored and stored.get("level") == level and all(n in stored.get("intervals", {}) for n in self.names):
            lo, hi = np.array([stored["intervals"][n] for n in self.names], dtype=float).reshape(-1, 2).T
            return lo, hi

        q = NormalDist().inv_cdf(0.5 + level / 2)
        se = self.se()
        return self.estimates - q * se, self.estimates + q * se

    def param(self, name) -> float:
        return float(self.estimates[self.names.index(name)])

    # ----------------------------------------------------------------- tables and predictions
    def summary(self, source=""):
        """The tables of the fit, as the command line prints them: the estimates (with s.e., z, p and the
        95% interval; posterior sd and credible interval for a sampler), the family's own tables (random
        coefficients, classes, starts, ...) and the fit summary.  A :class:`Summary`: a list of
        :class:`dce.tables.Table` that prints as plain text."""
        return Summary([self.estimates_table(source), *self.tables, self.fit_table()])

    def estimates_table(self, source="") -> Table:
        """Estimates with s.e., z, p and the 95% interval, then parameters held fixed; for posterior means
        (a sampler's result) the posterior sd and the 95% credible interval, without z and p."""
        title = f"{self.label}{': ' + str(source) if source else ''}"
        se = self.se()
        lo, hi = self.interval()
        if self.bayesian:
            t = Table(title, [Column("parameter"), Column("posterior mean", "f6"), Column("posterior sd", "f6"),
                              Column("95% credible interval", "ci")], key="estimates")
            for i, name in enumerate(self.names):
                t.add_row(name, self.estimates[i], se[i], [lo[i], hi[i]])
            return t
        t = Table(title, [Column("parameter"), Column("estimate", "f6"),
                          Column(SE_LABEL.get(self.se_type, "s.e."), "f6"), Column("z", "f2"), Column("p", "p"),
                          Column("95% CI", "ci")], key="estimates")
        z, p = self.z, self.p
        for i, name in enumerate(self.names):
            t.add_row(name, self.estimates[i], se[i], z[i], p[i], [lo[i], hi[i]])
        for name, value in self.fixed.items():
            t.add_row(name, value, "fixed", "", "", "")
        refs = references(self.spec)
        if refs:
            t.notes.append("reference levels: " + ", ".join(f"{k} = {v}" for k, v in refs.items()))
        return t

    def fit_table(self) -> Table:
        """The fit summary as a table of raw numbers (each cell with its own format), then the family's
        rows (:attr:`fit_rows`)."""
        rows = [["tasks", cell(self.n_tasks, "int")], ["respondents", cell(self.n_respondents, "int")],
                ["parameters", cell(self.n_params, "int")], ["log-likelihood", cell(self.loglik, "f3")],
                ["null log-likelihood", cell(self.loglik_null, "f3")], ["rho-squared", cell(self.rho2, "f4")],
                ["adjusted rho-squared", cell(self.rho2_adj, "f4")], ["AIC", cell(self.aic, "f2")],
                ["BIC", cell(self.bic, "f2")], ["iterations", cell(self.iterations, "int")],
                ["converged", cell(bool(self.converged), "yesno")], ["message", self.message],
                ["gradient norm", cell(self.grad_norm, "g4")], ["seconds", cell(self.seconds, "f2")]]
        if self.bayesian:   # a sampler's mean in-sample LL of individual coefficients: no AIC/BIC (RLH instead)
            rows = [(["mean posterior log-likelihood", r[1]] if r[0] == "log-likelihood" else r) for r in rows
                    if r[0] not in ("AIC", "BIC", "rho-squared", "adjusted rho-squared")]
        rows += [[str(k), str(v)] for k, v in self.fit_rows]
        return Table("Fit", [Column("statistic"), Column("value")], rows, key="fit")

    def predict(self, data, n_draws=1000, seed=0):
        """Choice probabilities of the choice sets in ``data`` under the estimates.

        Parameters
        ----------
        data : dce.data.choice_data.ChoiceData
            Choice sets coded like the model's data (the same coefficients, :attr:`coef_names`), for
            example built by the same formula or design from new alternatives; its ``chosen`` plays no part.
        n_draws, seed : int
            Draws of the mixing distribution (mixed logit); the same seed gives the same probabilities.

        Returns
        -------
        ndarray, shape (tasks, alternatives)
            Each task's probabilities (0 for an unavailable alternative), summing to 1 over a task: the
            population's, averaged over the model's weighted coefficient vectors (one for a conditional
            logit, the mixing distribution of a mixed logit, the classes at their shares, every
            respondent's posterior draws of a hierarchical Bayes model).
        """
        from dce.errors import ArgumentError

        X = getattr(data, "X", None)
        if X is None or getattr(data, "avail", None) is None:
            raise ArgumentError("data", "expected choice data (dce.ChoiceData), for example from "
                                        "dce.choice_data_from_formula")
        if list(data.names) != list(self.coef_names):
            raise ArgumentError("data", f"its variables ({', '.join(map(str, data.names))}) are not the model's "
                                        f"coefficients ({', '.join(self.coef_names)}): code the choice sets "
                                        "as the model's data were")
        B, w = self.coefficient_draws(n_draws=n_draws, seed=seed)
        B, w = np.asarray(B, float), np.asarray(w, float)
        T, J, K = X.shape
        avail = np.asarray(data.avail, bool)
        off = np.zeros((T, J)) if data.offset is None else np.asarray(data.offset, float)
        Xf = np.asarray(X, float).reshape(T * J, K)
        P = np.zeros((T, J))
        step = max(1, int(4e6 // max(T * J, 1)))       # draws per chunk: about 32 MB of utilities
        for a in range(0, B.shape[0], step):
            V = (Xf @ B[a:a + step].T).reshape(T, J, -1) + off[:, :, None]
            V = np.where(avail[:, :, None], V, -np.inf)
            m = V.max(axis=1, keepdims=True)
            E = np.exp(V - np.where(np.isfinite(m), m, 0.0))
            P += (E / E.sum(axis=1, keepdims=True)) @ w[a:a + step]
        return P / w.sum()

    # ----------------------------------------------------------------- the interface of post-estimation
    @property
    def model_class(self):
        return model_class(self.model, source=self.source or "model")

    @property
    def label(self) -> str:
        return getattr(self.model_class, "label", self.model)

    def coefficient_draws(self, theta=None, n_draws=1000, seed=0):
        """Weighted coefficient vectors implied by the parameters ``theta`` (default: the estimates).

        Returns
        -------
        B : ndarray, shape (R, K)
            Coefficient vectors, columns in the order of :attr:`coef_names`.
        w : ndarray, shape (R,)
            Their weights, summing to 1.
        """
        theta = self.estimates if theta is None else np.asarray(theta, float)
        return self.model_class.coefficient_draws(self, theta, int(n_draws), int(seed))

    def segment_draws(self, theta=None, n_draws=1000, seed=0):
        """Segments of respondents with coefficients of their own (latent classes), as a list of
        ``(label, share, B, w)`` (``B`` (R, K), ``w`` (R,)); empty for a model without segments."""
        theta = self.estimates if theta is None else np.asarray(theta, float)
        return self.model_class.segment_draws(self, theta, int(n_draws), int(seed))

    def coefficient_sets(self, n_sim, n_draws=1000, seed=0, bootstrap=False):
        """``n_sim`` weighted coefficient sets ``(B, w)`` that carry the estimates' uncertainty; with
        ``bootstrap``, one set per bootstrap replicate of the parameters (:attr:`bootstrap_replicates`)."""
        if bootstrap:
            return (self.coefficient_draws(t, n_draws, seed) for t in self.require_replicates())
        return self.model_class.coefficient_sets(self, int(n_sim), int(n_draws), int(seed))

    @property
    def bootstrap_replicates(self):
        """The parameters re-estimated on respondent-level bootstrap samples (`dce fit --bootstrap`),
        ``(B, P)``, or None when the result carries none."""
        boot = self.info.get("bootstrap")
        reps = boot.get("replicates") if isinstance(boot, dict) else None
        if not reps:
            return None
        reps = np.asarray(reps, float)
        if reps.ndim != 2 or reps.shape[1] != self.n_params:
            raise DCEError(f"{self.source or 'model'}: key 'bootstrap.replicates' is not a list of "
                           f"{self.n_params} parameter values per replicate")
        return reps

    def require_replicates(self, argument="ci"):
        """:attr:`bootstrap_replicates`, or an error naming ``argument`` when the result has none."""
        reps = self.bootstrap_replicates
        if reps is None:
            from dce.errors import ArgumentError

            raise ArgumentError(argument, f"{self.source or 'the model'} carries no bootstrap replicates "
                                          "(fit it with bootstrap replicates: dce.models.bootstrap.bootstrap)")
        return reps

    @property
    def has_covariance(self) -> bool:
        """Whether the delta method applies (a covariance of smooth parameters)."""
        return self.se_type in SE_TYPES and self.se_type in self.vcovs

    def parameter_draws(self, n, seed=0, bootstrap=False) -> np.ndarray:
        """Krinsky-Robb draws ``(n, P)`` from the normal distribution of the estimates; with ``bootstrap``
        the bootstrap replicates instead."""
        if bootstrap:
            return self.require_replicates()
        return mvn_draws(np.random.default_rng(seed), self.estimates, self.vcov, int(n))

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """The JSON of the result (one schema for every model; ``schema_version`` says which)."""
        lo, hi = self.interval()
        se, z, p = self.se(), self.z, self.p
        ses = {k: self.se(k) for k in self.vcovs}
        params = []
        for i, name in enumerate(self.names):
            item = {"name": name, "estimate": json_float(self.estimates[i]), "se": json_float(se[i])}
            for kind in SE_TYPES + ("posterior",):
                if kind in ses:
                    item[f"{kind}_se"] = json_float(ses[kind][i])
            item.update({"z": json_float(z[i]), "p": json_float(p[i]), "ci_low": json_float(lo[i]), "ci_high": json_float(hi[i])})
            params.append(item)
        out = {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "loglik": json_float(self.loglik),
            "loglik_null": json_float(self.loglik_null),
            "n_tasks": int(self.n_tasks),
            "n_respondents": int(self.n_respondents),
            "n_params": int(self.n_params),
            "aic": json_float(self.aic),
            "bic": json_float(self.bic),
            "rho2": json_float(self.rho2),
            "rho2_adj": json_float(self.rho2_adj),
            "converged": bool(self.converged),
            "message": self.message,
            "grad_norm": json_float(self.grad_norm),
            "iterations": int(self.iterations),
            "seconds": json_float(self.seconds),
            "se_type": self.se_type,
            "params": params,
            "vcov": _matrix(self.vcov),
            "vcovs": {k: _matrix(v) for k, v in self.vcovs.items()},
            "warnings": list(self.warnings),
            "coef_names": list(self.coef_names),
            "spec": self.spec,
        }
        if "robust" in self.vcovs:
            out["vcov_robust"] = _matrix(self.vcovs["robust"])
        if self.fixed:
            out["fixed"] = {k: json_float(v) for k, v in self.fixed.items()}
        if self.fit_rows:
            out["summary"] = [[str(k), str(v)] for k, v in self.fit_rows]
        if self.tables:
            out["tables"] = [t.to_dict() for t in self.tables]
        if self.posterior:
            out["posterior"] = {k: np.asarray(v).tolist() for k, v in self.posterior.items()}
        for k, v in self.info.items():
            if k in CORE_KEYS:
                raise ValueError(f"model-specific field {k!r} would overwrite a field of the schema")
            out[k] = v
        return out

    @classmethod
    def from_dict(cls, d: dict, source: str = "model") -> "ModelResult":
        """A result from its JSON; a file of another schema or a malformed one is a one-line error."""
        if not isinstance(d, dict):
            raise DCEError(f"{source}: not a dce results file")
        version = d.get("schema_version", 1)   # files written before the field existed are version 1
        if version != SCHEMA_VERSION:
            raise DCEError(f"{source}: results schema version {version!r} is not supported (this dce reads "
                           f"version {SCHEMA_VERSION})")
        deep = _too_deep(d)
        if deep is not None:
            raise DCEError(f"{source}: key '{deep}' is nested more than {MAX_DEPTH} levels deep: not a dce results file")
        missing = [k for k in REQUIRED if k not in d]
        if missing:
            raise DCEError(f"{source}: not a dce results file (no key '{missing[0]}')")
        bad = _non_finite(d)
        if bad is not None:   # dce writes null for these; NaN, Infinity or 1e999 come from elsewhere
            raise DCEError(f"{source}: key '{bad}' holds a number that is not finite (NaN or infinite)")
        try:
            names = [str(p["name"]) for p in d["params"]]
            estimates = np.array([p["estimate"] for p in d["params"]], float)
            se_type = str(d.get("se_type") or "classical")
            vcovs = {k: np.array(v, float) for k, v in (d.get("vcovs") or {}).items()}
            vcovs[se_type] = np.array(d["vcov"], float)
            if "vcov_robust" in d and "robust" not in vcovs:
                vcovs["robust"] = np.array(d["vcov_robust"], float)
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as e:
            raise DCEError(f"{source}: key 'params' or 'vcov' is malformed ({e})") from None
        if not isinstance(d["model"], str):
            raise DCEError(f"{source}: key 'model' is not the name of a model")
        if len(set(names)) != len(names):
            raise DCEError(f"{source}: key 'params' names a parameter twice")
        if estimates.ndim != 1:
            raise DCEError(f"{source}: key 'params' is malformed (an estimate is not a number)")
        k = len(names)
        if any(V.shape != (k, k) for V in vcovs.values()):
            gone = _missing_parameter(d, names)
            if gone is not None:
                raise DCEError(f"{source}: key 'params' has no parameter '{gone}' (the covariance matrices have "
                               f"{len(vcovs[se_type])} rows, 'params' {k} parameters)")
        for kind, V in ((se_type, vcovs[se_type]), *((kk, v) for kk, v in vcovs.items() if kk != se_type)):
            if V.shape != (k, k):
                raise DCEError(f"{source}: key 'vcov' is not {k} x {k}" if kind == se_type
                               else f"{source}: key 'vcovs.{kind}' is not {k} x {k}")
        if np.all(np.isfinite(estimates)) and not np.all(np.isfinite(vcovs[se_type])):
            raise DCEError(f"{source}: key 'vcov' holds values that are not finite numbers")
        if d.get("converged", True):    # a fit that did not converge keeps what it had (exit 3 downstream)
            _check_covariance(vcovs[se_type], source, se_type)
        if not np.all(np.isfinite(estimates)):
            if not d.get("converged", True):
                raise UnreliableEstimate(f"{source}: the fit gave no estimates ({d.get('message') or 'no reason given'})")
            raise DCEError(f"{source}: some estimates are not finite numbers")
        try:
            tables = [Table.from_dict(t) for t in d.get("tables") or []]
            summary = [(str(a), str(b)) for a, b in d.get("summary") or []]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DCEError(f"{source}: key 'tables' or 'summary' is malformed ({e})") from None
        spec = d["spec"] or {}
        if not isinstance(spec, dict):
            raise DCEError(f"{source}: key 'spec' is not a mapping")
        coef_names = d.get("coef_names")
        if coef_names is not None and not (isinstance(coef_names, list) and all(isinstance(c, str) for c in coef_names)):
            raise DCEError(f"{source}: key 'coef_names' is not a list of names")
        spec_names = spec.get("names")
        if "names" in spec and not (isinstance(spec_names, list) and all(isinstance(c, str) for c in spec_names)):
            raise DCEError(f"{source}: key 'spec.names' is not a list of names")
        if coef_names is not None and isinstance(spec_names, list) and list(map(str, spec_names)) != coef_names:
            raise DCEError(f"{source}: the model's coefficients ({', '.join(coef_names)}) do not match its spec "
                           f"({', '.join(map(str, spec_names))}); was it fitted on another design?")
        try:
            result = cls._of(d, source, names, estimates, vcovs, se_type, spec, tables, summary)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise DCEError(f"{source}: not a well-formed results file ({type(e).__name__}: {e})") from None
        result._check_interface()
        return result

    @classmethod
    def _of(cls, d, source, names, estimates, vcovs, se_type, spec, tables, summary):
        return cls(
            model=str(d["model"]), names=names, estimates=estimates, vcovs=vcovs, se_type=se_type,
            loglik=_num(d.get("loglik")), loglik_null=_num(d.get("loglik_null")),
            n_tasks=int(d.get("n_tasks") or 0), n_respondents=int(d.get("n_respondents") or 0),
            iterations=int(d.get("iterations") or 0), converged=bool(d.get("converged", True)),
            message=str(d.get("message") or ""), grad_norm=_num(d.get("grad_norm")),
            seconds=_num(d.get("seconds"), 0.0), spec=spec, coef_names=d.get("coef_names"),
            info={k: v for k, v in d.items() if k not in CORE_KEYS}, tables=tables, fit_rows=summary,
            warnings=list(d.get("warnings") or []), fixed=dict(d.get("fixed") or {}),
            posterior={k: np.asarray(v, float) for k, v in d["posterior"].items()} if d.get("posterior") else None,
            source=source)

    def _check_interface(self):
        """Ask the result, once, what post-estimation will ask of it (weighted coefficient draws, segments,
        uncertainty draws): a file whose model-specific fields do not fit its parameters (edited by hand,
        damaged, of another model) is refused here with one line, before any computation."""
        from numpy.linalg import LinAlgError

        try:
            B, w = self.coefficient_draws(n_draws=2, seed=0)
            if np.shape(B) != (len(w), len(self.coef_names)):
                raise ValueError(f"coefficient draws of shape {np.shape(B)} for {len(self.coef_names)} coefficients")
            self.segment_draws(n_draws=2, seed=0)
            for _ in self.coefficient_sets(1, n_draws=2, seed=0):
                pass
        except DCEError as e:
            raise e if self.source in e.message else DCEError(f"{self.source}: {e.message}") from None
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError,
                LinAlgError) as e:
            raise DCEError(f"{self.source}: the fields of this {self.model} results file do not fit together "
                           f"({type(e).__name__}: {e})") from None

    def save(self, path):
        """Write the JSON atomically (nothing half-written)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "ModelResult":
        """Read a results JSON written by `dce fit --output` (or :meth:`save`)."""
        path = os.fspath(path)
        raw = read_bytes(path, "results file")
        try:
            d = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DCEError(f"{path}: not a results JSON file ({str(e).splitlines()[0]})") from None
        except RecursionError:
            raise DCEError(f"{path}: not a results JSON file (nested too deeply)") from None
        if not isinstance(d, dict):
            raise DCEError(f"{path}: not a results JSON file")
        return cls.from_dict(d, source=path)


def _missing_parameter(d, names):
    """A parameter a results file should list but does not (a hand-edited or damaged file): one of its
    coefficients, or the spread ``sd.x`` of a random coefficient; None when none can be named."""
    have = set(names)
    coefs = [c for c in d.get("coef_names") or [] if isinstance(c, str)]
    if have.isdisjoint(coefs):          # parameters named otherwise (latent classes): nothing to compare
        coefs = []
    random = d.get("random") if isinstance(d.get("random"), dict) else {}
    if any(h.startswith(("chol.", "cov.")) for h in have):      # correlated: no sd.x parameters
        random = {}
    for n in coefs + [f"sd.{r}" for r in random if isinstance(r, str)]:
        if n not in have:
            return n
    return None


#: the deepest nesting a results file may have (dce writes five or six levels)
MAX_DEPTH = 64


def _too_deep(obj):
    """The key path of a value nested more than :data:`MAX_DEPTH` levels deep in ``obj``, or None
    (walked without recursion: a file nested thousands of levels deep is one line, not a RecursionError)."""
    stack = [(obj, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return (path[:60] + "...") if len(path) > 60 else path
        if isinstance(v, dict):
            stack.extend((x, f"{path}.{k}" if path else str(k), depth + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v) if isinstance(x, (dict, list)))
    return None


def _check_covariance(V, source, se_type):
    """Refuse a covariance matrix that no estimator gives at a maximum: not symmetric, or not positive
    semidefinite (a negative eigenvalue: standard errors and interval widths from it would be zero or
    meaningless).  Checked for converged fits: an unconverged one (exit status 3, ``converged: false``) may
    stop where the Hessian is not negative definite, and its results already say they are unreliable."""
    if V.size == 0 or not np.all(np.isfinite(V)):
        return
    scale = max(float(np.max(np.abs(V))), np.finfo(float).tiny)
    if not np.allclose(V, V.T, rtol=1e-6, atol=1e-9 * scale):
        raise DCEError(f"{source}: key 'vcov' ({se_type}) is not a covariance matrix: it is not symmetric")
    low = float(np.linalg.eigvalsh((V + V.T) / 2)[0])
    if low < -1e-8 * scale:
        raise DCEError(f"{source}: key 'vcov' ({se_type}) is not a covariance matrix: it is not positive "
                       f"semidefinite (smallest eigenvalue {low:.3g}), so standard errors and intervals from it "
                       "would be meaningless; refit the model")


class Summary(list):
    """The tables of :meth:`ModelResult.summary`: a list of :class:`dce.tables.Table` that prints as
    plain text (``print(result.summary())``)."""

    def __str__(self):
        return "\n\n".join(t.as_text() for t in self)

    def _repr_html_(self):
        return "".join(t.as_html() for t in self)


class _SummaryAccess:
    """``result.summary``: callable (the tables, :meth:`ModelResult.summary`) and, for one release, the
    list of extra fit rows it used to be (now :attr:`ModelResult.fit_rows`), with a DeprecationWarning."""

    def __init__(self, result):
        self._result = result

    def __call__(self, source=""):
        return self._result._summary_tables(source)

    def _rows(self):
        _warnings.warn("ModelResult.summary as a list of rows is deprecated: use ModelResult.fit_rows "
                       "(summary() now returns the tables)", DeprecationWarning, stacklevel=3)
        return self._result.fit_rows

    def __iter__(self):
        return iter(self._rows())

    def __len__(self):
        return len(self._rows())

    def __getitem__(self, i):
        return self._rows()[i]

    def __bool__(self):
        return bool(self._result.fit_rows)

    def __eq__(self, other):
        return list(self._rows()) == other

    def append(self, row):
        self._rows().append(row)

    def extend(self, rows):
        self._rows().extend(rows)

    def __iadd__(self, rows):
        self._rows().extend(rows)
        return self

    def __repr__(self):
        return f"<bound method ModelResult.summary of {type(self._result).__name__}({self._result.model!r})>"


def _summary_property(self):
    return _SummaryAccess(self)


def _set_summary(self, rows):
    if isinstance(rows, _SummaryAccess):          # `result.summary += rows` writes back the same rows
        return
    _warnings.warn("setting ModelResult.summary is deprecated: use ModelResult.fit_rows",
                   DeprecationWarning, stacklevel=2)
    self.fit_rows = list(rows)


ModelResult._summary_tables = ModelResult.summary
ModelResult.summary = property(_summary_property, _set_summary, doc=ModelResult.summary.__doc__)


def _non_finite(obj, path=""):
    """The key path of the first float in ``obj`` that is NaN or infinite, or None (posterior draws, large
    arrays, are checked at once)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path or "(top)")
    if isinstance(obj, dict):
        for k, v in obj.items():
            where = f"{path}.{k}" if path else str(k)
            if k == "posterior" and not path and isinstance(v, dict):
                for name, arr in v.items():
                    try:
                        if not np.all(np.isfinite(np.asarray(arr, float))):
                            return f"posterior.{name}"
                    except (TypeError, ValueError):
                        return f"posterior.{name}"
                continue
            found = _non_finite(v, where)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = _non_finite(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def mvn_draws(rng, mean, cov, n):
    """Draws ``(n, P)`` from N(mean, cov), robust to a covariance that is only semidefinite."""
    cov = np.asarray(cov, float)
    w, V = np.linalg.eigh(0.5 * (cov + cov.T))
    L = V * np.sqrt(np.clip(w, 0, None))
    return mean + rng.standard_normal((n, len(mean))) @ L.T


def _matrix(V):
    return [[json_float(v) for v in row] for row in np.asarray(V)]


def _num(x, default=math.nan):
    try:
        return float(x) if x is not None else default
    except (TypeError, ValueError):
        return default

