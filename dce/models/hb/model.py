"""Hierarchical Bayes logit: every respondent's own coefficients, shrunk towards a population distribution.

Model: ``y_nt ~ logit(X_nt beta_n)``, ``beta*_n ~ N(mu, Sigma)`` with a full covariance matrix, where
``beta_n = beta*_n`` for a normal coefficient and ``beta_n = +-exp(beta*_n)`` for one with a sign
constraint (``random={"price": "-ln"}``, a log-normal).  Priors (bayesm's parametrisation, and by
default bayesm's values so that results can be checked against ``bayesm::rhierMnlRwMixture``):
``mu | Sigma ~ N(mubar, Sigma / Amu)``, ``Sigma ~ IW(nu, V)``; ``mubar = 0``, ``Amu = 0.01``,
``nu = K + prior_dof`` (3), ``V = nu * prior_variance * I`` (variance 1).  With sign constraints and
no prior options, bayesm's defaults for that case: ``mubar = 2`` and prior variance 0.2 for the
constrained coefficients, ``Amu = 0.1``, ``nu = K + 15``.

Attribute scales (``prior="scaled"``, the default): a prior variance of 1 is vague for a coefficient of
an attribute coded 0/1 but tight for one of a cost in euros or a distance in km (whose coefficients are
small and vary little, so that an inverse-Wishart prior of scale 1 swamps the population variance and
the individual coefficients are shrunk towards a wrong mean).  The sampler therefore runs on attributes
divided by ``s_k = 2 x`` their standard deviation over the available alternatives (Gelman's scaling:
a 0/1 attribute keeps about its scale), with the priors above on that scale; everything is reported
back in the data's units: ``beta_k = gamma_k / s_k`` for every draw, so the population means and sds of
a normal coefficient are divided by ``s_k``, the underlying normal's mean of a log-normal one is shifted
by ``-log s_k``, and the prior is stated in the data's units (``info["prior"]``).  ``prior="bayesm"``
runs on the data as they are, with bayesm's exact defaults.

Sampler: the Allenby-Rossi Gibbs scheme (:mod:`dce.models.hb.kernels`): conjugate normal /
inverse-Wishart draws of ``(mu, Sigma)``, one random-walk Metropolis step per respondent, proposals
centred on the current value with covariance ``s^2 (H_n + Sigma^-1)^-1`` (``H_n`` the information of the
respondent's likelihood at the maximum of bayesm's fractional likelihood, where each chain starts).
During burn-in only, ``s`` is adapted towards an acceptance rate of 0.3 and ``Sigma^-1`` in the proposal
is refreshed with its running average; afterwards the proposals are fixed, so the kept draws come from
a time-homogeneous Markov chain.  Chains run in parallel processes, chain ``c`` on the ``c``-th child of
``SeedSequence(seed)``: the draws do not depend on the number of workers.

The result (:class:`dce.models.results.ModelResult`, ``model: "hb"``) holds the posterior means and
standard deviations of the population means (named like the coefficients, on the scale of ``beta*``)
and of the population standard deviations (``sd.NAME``), their posterior covariance (``vcovs
["posterior"]``), credible intervals, split R-hat and effective sample sizes, and a thinned set of
every respondent's draws (``posterior["individual"]``), which post-estimation uses: preference shares
averaged over respondents and draws, intervals from the shares of each kept iteration.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from dce.errors import ArgumentError, DCEError
from dce.models.base import Model
from dce.models.hb import sampler as hs
from dce.models.hb import summary as summ
from dce.models.hb.sampler import Prior
from dce.models.hb.summary import write_draws
from dce.models.mnl import ConditionalLogit, check_identified
from dce.models.signs import check_lognormal_signs
from dce.runner import resolve_workers
from dce.util.backend import choose_backend
from dce.util.numbers import positive_number, whole_number
from dce.util.seeds import resolve_seed

DISTRIBUTIONS = {"n": "normal", "ln": "lognormal", "-ln": "negative lognormal"}
_ZTYPE = {"n": 0, "ln": 1, "-ln": 2}
PRIORS = ("scaled", "bayesm")


class HierarchicalBayes(Model):
    """Hierarchical Bayes logit, ``fit(data) -> ModelResult``; ``individual_means()``, ``write_draws(path)``.

    ``random``: sign constraints {coefficient: ``n`` | ``ln`` | ``-ln``} (every coefficient is random;
    unnamed ones are normal); ``iterations`` per chain, of which the first ``burn`` (default half) are
    burn-in; every
    ``thin``-th later draw is kept; ``chains`` (run in ``workers`` processes; default as many as there
    are chains and CPUs); ``prior_variance``, ``prior_dof`` (see the module); ``target_acceptance``;
    ``posterior_draws``: draws per respondent kept in the result (and its JSON) for post-estimation;
    ``callback(done, total, loglik, acceptance, elapsed)`` for progress; ``seed``; ``backend``;
    ``prior``: ``"scaled"`` (default: the priors on attributes scaled by twice their standard deviation,
    results in the data's units) or ``"bayesm"`` (bayesm's defaults on the data as they are).
    """

    name = "hb"
    label = "Hierarchical Bayes logit"

    def __init__(self, random=None, iterations=20000, burn=None, thin=10, chains=2, prior_variance=None,
                 prior_dof=None, target_acceptance=0.3, posterior_draws=100, workers=None, prior="scaled",
                 **kwargs):
        super().__init__(**kwargs)
        self.random = random
        self.iterations = iterations
        self.burn = burn
        self.thin = thin
        self.chains = chains
        self.prior_variance = prior_variance
        self.prior_dof = prior_dof
        self.target_acceptance = target_acceptance
        self.posterior_draws = posterior_draws
        self.workers = workers
        self.prior = prior

    # maximum-likelihood options a sampler has no use for: (argument, the value that means "not given")
    ML_ONLY = (("starts", None), ("start", None), ("maxiter", None), ("tol", None), ("scheduler", None))

    def _validate(self):
        given = [n for n, unset in self.ML_ONLY if getattr(self, n) is not unset]
        if self.se not in ("classical", "posterior"):
            given.insert(0, "se")
        if given:
            also = f", as {'is' if len(given) == 2 else 'are'} {' and '.join(given[1:])}" if len(given) > 1 else ""
            raise ArgumentError(given[0], f"a maximum-likelihood option{also}: a sampler has no use for "
                                          f"{'it' if len(given) == 1 else 'them'} (a hierarchical Bayes "
                                          "model's uncertainty is its posterior)")
        super()._validate()
        if self.prior not in PRIORS:
            raise ArgumentError("prior", f"'{self.prior}': scaled (the default: priors on attributes scaled by twice "
                                         "their standard deviation) or bayesm (bayesm's defaults on the data as "
                                         "they are)")
        self.random = dict(self.random or {})
        for name, dist in self.random.items():
            if dist not in DISTRIBUTIONS:
                raise ArgumentError("random", f"'{dist}' for '{name}': a hierarchical Bayes model takes n, ln or "
                                              "-ln (sign constraints through a log-normal)")
        self.iterations = whole_number(self.iterations, "iterations", 2)
        burn = self.iterations // 2 if self.burn is None else whole_number(self.burn, "burn", 0)
        if burn >= self.iterations:
            raise ArgumentError("burn", f"the burn-in ({burn:,}) must be shorter than the iterations "
                                        f"({self.iterations:,})")
        self.burn_ = burn
        self.thin = whole_number(self.thin, "thin", 1)
        if (self.iterations - burn) // self.thin < 1:
            raise ArgumentError("thin", f"keeps no draw: {self.iterations - burn:,} iterations after the "
                                        f"burn-in, every {self.thin:,}th kept")
        self.chains = whole_number(self.chains, "chains", 1)
        self.prior_variance = None if self.prior_variance is None else positive_number(self.prior_variance,
                                                                                      "prior_variance")
        self.prior_dof = None if self.prior_dof is None else positive_number(self.prior_dof, "prior_dof")
        target = self.target_acceptance
        self.target_acceptance = float(target)
        if not 0 < self.target_acceptance < 1:
            raise ArgumentError("target_acceptance", f"must be between 0 and 1, not {target}")
        self.posterior_draws = whole_number(self.posterior_draws, "posterior_draws", 1)

    # ------------------------------------------------------------------ set-up
    def _ztype(self, names):
        for n in self.random:
            if n not in names:
                raise ArgumentError("random", f"'{n}' is not a coefficient of the model (coefficients: "
                                              f"{', '.join(names)})")
        return np.array([_ZTYPE[self.random.get(n, "n")] for n in names], dtype=np.int64)

    def _prior(self, K, ztype):
        """bayesm's priors (its defaults for sign constraints where there are some and no options)."""
        signed = ztype != 0
        default = self.prior_variance is None and self.prior_dof is None and signed.any()
        dof = self.prior_dof if self.prior_dof is not None else (15.0 if default else 3.0)
        nu = K + dof
        if self.prior_variance is not None:
            var = np.full(K, self.prior_variance)
        else:
            var = np.where(signed, 0.2, 1.0) if default else np.ones(K)
        mubar = np.where(signed, 2.0, 0.0) if default else np.zeros(K)
        return Prior(mubar=mubar, Amu=0.1 if default else 0.01, nu=float(nu), V=nu * np.diag(var))

    def _check_data(self, data):
        if data.resp is None:
            raise ArgumentError("id_col", "a hierarchical Bayes model needs respondent ids (each respondent's "
                                          "own coefficients)")
        T = data.n_tasks
        if not np.all(data.avail[np.arange(T), data.chosen]):
            bad = int(np.flatnonzero(~data.avail[np.arange(T), data.chosen])[0])
            raise DCEError(f"task {data.task_ids[bad]}: the chosen alternative is not available")
        codes, R = data.panel()
        per = np.bincount(codes, minlength=R)
        if per.max() < 2:
            raise DCEError(f"every respondent has fewer than 2 choice tasks ({R:,} respondents, {T:,} tasks): "
                           "individual coefficients need several choices per respondent (is the respondent id column, id_col, right?)")
        check_identified(data)
        return per

    def _pooled(self, data, ztype):
        """Conditional-logit estimates and information on the sampled scale (log of |beta| where signed)."""
        mnl = ConditionalLogit().fit(data)
        check_lognormal_signs(self.random, list(data.names), mnl)      # ln on a negative effect: refuse
        b = mnl.estimates.copy()
        try:
            info = np.linalg.inv(mnl.vcovs["classical"])
        except np.linalg.LinAlgError:
            info = np.linalg.pinv(mnl.vcovs["classical"])
        lam = np.ones(b.size)
        for k in np.flatnonzero(ztype):
            sign = 1.0 if ztype[k] == 1 else -1.0
            b[k] = math.log(max(sign * b[k], 1e-3 * max(1.0, abs(b[k]))))
            lam[k] = sign * math.exp(b[k])
        return b, info * np.outer(lam, lam), mnl

    # ------------------------------------------------------------------ fitting
    def fit(self, data):
        """Sample the posterior given ``data`` (:class:`dce.data.choice_data.ChoiceData`, respondent ids
        required); returns the :class:`dce.models.results.ModelResult`."""
        t0 = time.perf_counter()
        self._validate()
        per = self._check_data(data)
        names = list(data.names)
        ztype = self._ztype(names)
        seed = resolve_seed(self.seed)
        self.seed_ = seed
        prior = self._prior(len(names), ztype)
        backend = choose_backend(self.backend)
        workers = min(resolve_workers(self.workers if self.workers is not None else self.threads), self.chains)
        scales = attribute_scales(data) if self.prior == "scaled" else np.ones(len(names))
        sampled = dataclasses.replace(data, X=data.X / scales) if self.prior == "scaled" else data
        pooled, pooled_info, mnl = self._pooled(sampled, ztype)
        hbd = hs.prepare(sampled, ztype)
        B0, H = hs.start_values(hbd, pooled, pooled_info)
        settings = hs.Settings(self.iterations, self.burn_, self.thin, self.target_acceptance)
        chains = hs.run_chains(hbd, prior, settings, B0, H, seed, self.chains, workers, backend, self.callback)
        self.scales_ = scales
        prior = to_data_units(chains, prior, scales, ztype)
        self.draws_ = {"beta": np.stack([c["beta"] for c in chains]), "mu": np.stack([c["mu"] for c in chains]),
                       "sigma": np.stack([c["sigma"] for c in chains])}
        self.ids_ = _respondent_ids(data)
        self.names_ = names
        result = summ.build_result(self, data, chains, prior, ztype, per, mnl, backend, workers)
        result.seconds = time.perf_counter() - t0
        self.result_ = result
        return result

    # ------------------------------------------------------------------ individual results
    def individual_means(self, data=None):
        """Each respondent's posterior mean coefficients (all kept draws): columns ``id`` and one per
        coefficient, rows in the order of the data's respondents."""
        import pandas as pd

        self._fitted()
        if data is not None and list(data.names) != self.names_:
            raise DCEError("individual means: the data do not have the coefficients of the fitted model")
        means = self.draws_["beta"].mean(axis=(0, 1))
        out = pd.DataFrame({"id": self.ids_})
        for k, n in enumerate(self.names_):
            out[n] = means[:, k]
        return out

    def write_draws(self, path):
        """Write every kept individual draw: ``.npz`` (arrays ``beta`` (chains, draws, respondents,
        coefficients), ``mu``, ``sigma``, ``ids``, ``names``) or ``.parquet`` (one row per chain, draw
        and respondent)."""
        self._fitted()
        write_draws(path, self.draws_, self.ids_, self.names_)

    # ------------------------------------------------------------------ post-estimation
    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        """Every respondent's kept draws, pooled and equally weighted (``theta`` and ``n_draws`` play no
        part: the draws are the posterior's)."""
        ind = _individual(result)
        B = ind.reshape(-1, ind.shape[2])
        return B, np.full(B.shape[0], 1.0 / B.shape[0])

    @classmethod
    def coefficient_sets(cls, result, n_sim, n_draws, seed):
        """One set per kept iteration stored in the result: the respondents' coefficients of that draw
        (at most ``n_sim`` sets, evenly spaced)."""
        ind = _individual(result)
        S = ind.shape[1]
        picks = np.unique(np.linspace(0, S - 1, min(int(n_sim), S)).round().astype(int))
        w = np.full(ind.shape[0], 1.0 / ind.shape[0])
        return ((np.ascontiguousarray(ind[:, s, :]), w) for s in picks)


def attribute_scales(data):
    """``s_k``: twice the standard deviation of each column of ``data.X`` over the available alternatives
    (1 where a column does not vary)."""
    X = data.X[data.avail]                                 # (available alternatives, K)
    sd = X.std(axis=0)
    return np.where(np.isfinite(sd) & (sd > 1e-12), 2.0 * sd, 1.0)


def to_data_units(chains, prior, scales, ztype):
    """The draws of ``chains`` (sampled on attributes divided by ``scales``) and ``prior`` in the data's
    units, in place for the chains; returns the prior in the data's units.  A coefficient ``gamma`` of
    ``x / s`` is ``beta = gamma / s``; the population distribution is that of the underlying normal:
    ``d * beta* + shift`` with ``d = 1 / s``, ``shift = 0`` for a normal coefficient and ``d = 1``,
    ``shift = -log s`` for a log-normal one."""
    scales = np.asarray(scales, float)
    if np.all(scales == 1.0):
        return prior
    signed = np.asarray(ztype) != 0
    d = np.where(signed, 1.0, 1.0 / scales)
    shift = np.where(signed, -np.log(scales), 0.0)
    for c in chains:
        c["beta"] = c["beta"] / scales
        c["mu"] = c["mu"] * d + shift
        c["sigma"] = c["sigma"] * np.outer(d, d)
    return Prior(mubar=prior.mubar * d + shift, Amu=prior.Amu, nu=prior.nu, V=prior.V * np.outer(d, d),
                 scales=scales)


def _individual(result):
    post = result.posterior or {}
    ind = post.get("individual")
    if ind is None:
        raise DCEError(f"{result.source or 'model'}: the hierarchical Bayes result has no individual draws "
                       "(key 'posterior.individual')")
    ind = np.asarray(ind, float)
    if ind.ndim != 3 or ind.shape[2] != len(result.coef_names):
        raise DCEError(f"{result.source or 'model'}: key 'posterior.individual' is not respondents x draws x "
                       f"{len(result.coef_names)} coefficients")
    return ind


def _respondent_ids(data):
    """Respondent ids in the order of ``data.panel()`` codes, as JSON-safe values."""
    import pandas as pd

    ids = pd.unique(np.asarray(data.resp))
    return [v.item() if hasattr(v, "item") else v for v in ids]
