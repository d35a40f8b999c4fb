"""Conditional (multinomial) logit with analytic gradient and Hessian.

The utility of alternative ``j`` in task ``t`` is ``V = X[t, j] @ beta (+ offset)``; unavailable
alternatives drop out of the denominator.  Probabilities use the max-shifted log-sum-exp, so utilities
in the thousands neither overflow nor lose the chosen alternative.
"""
from __future__ import annotations

import time

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.errors import DCEError
from dce.models import engine
from dce.models.results import SE_TYPES, FitResult


def utilities(beta, data: ChoiceData):
    T, J, K = data.X.shape
    V = (data.X.reshape(T * J, K) @ beta).reshape(T, J)
    if data.offset is not None:
        V = V + data.offset
    return V


def probabilities(V, avail):
    """Choice probabilities and log-probabilities of a tasks x alternatives utility matrix."""
    V = np.where(avail, V, -np.inf)
    m = V.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    E = np.exp(V - m)
    S = E.sum(axis=1, keepdims=True)
    P = E / S
    with np.errstate(divide="ignore"):
        logP = V - m - np.log(S)
    return P, logP


def _chosen_rows(X, chosen):
    return X[np.arange(X.shape[0]), chosen]


def loglik(beta, data: ChoiceData) -> float:
    V = utilities(beta, data)
    _, logP = probabilities(V, data.avail)
    return float(logP[np.arange(data.n_tasks), data.chosen].sum())


def _mean_x(P, X):
    """Probability-weighted mean of X over alternatives: tasks x variables."""
    xbar = P[:, 0, None] * X[:, 0, :]
    for j in range(1, X.shape[1]):
        xbar += P[:, j, None] * X[:, j, :]
    return xbar


def scores(beta, data: ChoiceData):
    """Per-task gradient contributions (tasks x parameters)."""
    P, _ = probabilities(utilities(beta, data), data.avail)
    return _chosen_rows(data.X, data.chosen) - _mean_x(P, data.X)


def loglik_grad(beta, data: ChoiceData):
    V = utilities(beta, data)
    P, logP = probabilities(V, data.avail)
    ll = float(logP[np.arange(data.n_tasks), data.chosen].sum())
    g = _chosen_rows(data.X, data.chosen).sum(axis=0) - _mean_x(P, data.X).sum(axis=0)
    return ll, g


def evaluate(beta, data: ChoiceData) -> "engine.Evaluation":
    """Log-likelihood, gradient and Hessian from one pass over the probabilities (a logit's Hessian is
    cheap, so the engine takes Newton steps from the start)."""
    P, logP = probabilities(utilities(beta, data), data.avail)
    ll = float(logP[np.arange(data.n_tasks), data.chosen].sum())
    if not np.isfinite(ll):
        return engine.Evaluation(ll, np.full(data.n_vars, np.nan))
    xbar = _mean_x(P, data.X)
    g = _chosen_rows(data.X, data.chosen).sum(axis=0) - xbar.sum(axis=0)
    return engine.Evaluation(ll, g, hess=_hessian(P, xbar, data.X))


def hessian(beta, data: ChoiceData):
    """Analytic Hessian: -sum_t sum_j P_tj (x_tj - xbar_t)(x_tj - xbar_t)'."""
    P, _ = probabilities(utilities(beta, data), data.avail)
    return _hessian(P, _mean_x(P, data.X), data.X)


def _hessian(P, xbar, X):
    K = X.shape[2]
    H = np.zeros((K, K))
    # one alternative at a time keeps the temporaries at tasks x variables
    for j in range(X.shape[1]):
        W = (X[:, j, :] - xbar) * np.sqrt(P[:, j])[:, None]
        H -= W.T @ W
    return H


class ConditionalLogit:
    """Conditional logit, ``fit(data) -> FitResult``, in the manner of scikit-learn estimators."""

    model_name = "mnl"

    def __init__(self, se="classical", tol=1e-12, maxiter=100, start=None):
        if se not in SE_TYPES:
            raise DCEError(f"--se: unknown standard error type '{se}' (use classical, robust or cluster)")
        self.se = se
        self.tol = tol
        self.maxiter = maxiter
        self.start = start

    def fit(self, data: ChoiceData) -> FitResult:
        t0 = time.perf_counter()
        if self.se == "cluster" and data.resp is None:
            raise DCEError("--se cluster needs respondent ids: give --id COL")
        check_identified(data)
        beta0 = np.zeros(data.n_vars) if self.start is None else np.asarray(self.start, float)
        opt = engine.maximize(lambda b, hess: evaluate(b, data), beta0, tol=self.tol, maxiter=self.maxiter)
        H = opt.hess
        groups = None
        G = None
        if data.resp is not None:
            groups, G = data.panel()
        cov = engine.covariances(H, scores(opt.x, data), groups, G)
        warnings = []
        if cov.pop("singular"):
            warnings.append("the Hessian is singular at the estimates: some parameters are not identified")
        converged, message = opt.converged, opt.message
        if opt.loglik > -1e-6 * data.n_tasks:
            converged = False
            message = "no finite maximum: every choice is predicted with certainty (perfect separation)"
            warnings.append(message + "; the estimates diverge and are not meaningful")
        else:
            se = np.sqrt(np.clip(np.diag(cov["classical"]), 0, None))
            wild = [n for n, b, s in zip(data.names, opt.x, se) if s > 1e4 * max(1.0, abs(b))]
            if wild:
                warnings.append(f"{', '.join(wild)}: standard errors are enormous; the data may separate the "
                                "choices (quasi-separation) or the variable barely varies")
        if not converged and opt.loglik <= -1e-6 * data.n_tasks:
            warnings.append(f"did not converge ({message}); gradient norm {opt.grad_norm:.3g}")
        self.result_ = FitResult(
            model=self.model_name, names=list(data.names), estimates=opt.x, vcovs=cov, se_type=self.se,
            loglik=opt.loglik, loglik_null=data.null_loglik(), n_tasks=data.n_tasks,
            n_respondents=data.n_respondents, iterations=opt.iterations, converged=converged,
            message=message, grad_norm=opt.grad_norm, seconds=time.perf_counter() - t0,
            spec=dict(data.spec), warnings=warnings,
        )
        return self.result_

    def predict_proba(self, data: ChoiceData, beta=None):
        beta = self.result_.estimates if beta is None else beta
        P, _ = probabilities(utilities(beta, data), data.avail)
        return P


def check_identified(data: ChoiceData):
    """Refuse variables that cannot be estimated: constant within every task, or perfectly collinear.

    A conditional logit identifies only differences between alternatives of a task, so the check runs
    on the within-task deviations of X from its mean over the available alternatives.
    """
    T, J, K = data.X.shape
    if K == 0:
        raise DCEError("the model has no parameters to estimate")
    na = data.avail.sum(axis=1)
    if np.any(na < 1):
        bad = int(np.flatnonzero(na < 1)[0])
        raise DCEError(f"task {data.task_ids[bad]}: no alternative is available")
    w = data.avail / na[:, None]
    xbar = _mean_x(w, data.X)
    G = np.zeros((K, K))
    for j in range(J):
        D = (data.X[:, j, :] - xbar) * data.avail[:, j, None]
        G += D.T @ D
    scale = np.sqrt(np.clip(np.diag(G), 0, None))
    const = [data.names[k] for k in range(K) if scale[k] <= 1e-12 * max(1.0, np.abs(data.X[..., k]).max())]
    if const:
        raise DCEError(
            f"{data.source + ': ' if data.source else ''}variable '{const[0]}' is constant within every "
            "task, so its coefficient is not identified in a conditional logit"
            + (f" (also: {', '.join(const[1:])})" if len(const) > 1 else ""))
    C = G / np.outer(scale, scale)
    w_eig, v_eig = np.linalg.eigh(C)
    if w_eig[0] < 1e-10:
        v = v_eig[:, 0]
        involved = [data.names[k] for k in np.argsort(-np.abs(v)) if abs(v[k]) > 1e-3]
        raise DCEError(
            f"{data.source + ': ' if data.source else ''}variables {', '.join(repr(n) for n in involved)} "
            "are perfectly collinear within tasks; the model is not identified (drop one of them)")
