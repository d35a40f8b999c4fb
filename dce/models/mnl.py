"""Conditional (multinomial) logit with analytic gradient and Hessian.

The utility of alternative ``j`` in task ``t`` is ``V = X[t, j] @ beta (+ offset)``; unavailable
alternatives drop out of the denominator.  Probabilities use the max-shifted log-sum-exp, so utilities
in the thousands neither overflow nor lose the chosen alternative.
"""
from __future__ import annotations

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError, DCEError, where
from dce.models import engine
from dce.models.base import Model


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


def _mean_x(P, X):
    """Probability-weighted mean of X over alternatives: tasks x variables."""
    xbar = P[:, 0, None] * X[:, 0, :]
    for j in range(1, X.shape[1]):
        xbar += P[:, j, None] * X[:, j, :]
    return xbar


def scores(beta, data: ChoiceData):
    """Per-task gradient contributions, shape (tasks, parameters)."""
    P, _ = probabilities(utilities(beta, data), data.avail)
    return _chosen_rows(data.X, data.chosen) - _mean_x(P, data.X)


def evaluate(beta, data: ChoiceData) -> "engine.Evaluation":
    """Log-likelihood, gradient (K,) and Hessian (K, K) from one pass over the probabilities (a logit's
    Hessian is cheap, so the engine takes Newton steps from the start).  This is the function the engine
    maximises; the Hessian is ``-sum_t sum_j P_tj (x_tj - xbar_t)(x_tj - xbar_t)'``."""
    P, logP = probabilities(utilities(beta, data), data.avail)
    ll = float(logP[np.arange(data.n_tasks), data.chosen].sum())
    if not np.isfinite(ll):
        return engine.Evaluation(ll, np.full(data.n_vars, np.nan))
    xbar = _mean_x(P, data.X)
    g = _chosen_rows(data.X, data.chosen).sum(axis=0) - xbar.sum(axis=0)
    return engine.Evaluation(ll, g, hess=_hessian(P, xbar, data.X))


def _hessian(P, xbar, X):
    K = X.shape[2]
    H = np.zeros((K, K))
    # one alternative at a time keeps the temporaries at tasks x variables
    for j in range(X.shape[1]):
        W = (X[:, j, :] - xbar) * np.sqrt(P[:, j])[:, None]
        H -= W.T @ W
    return H


class _Problem:
    """The conditional logit on one data set, as the engine sees it."""

    engine_options: dict = {}

    def __init__(self, data: ChoiceData):
        self.data = data
        self.names = list(data.names)
        self.score_groups = data.panel() if data.resp is not None else None

    def evaluate(self, beta, hess=True):
        return evaluate(beta, self.data)

    def scores(self, beta):
        return scores(beta, self.data)


class ConditionalLogit(Model):
    """Conditional logit: ``ConditionalLogit(se="robust").fit(data) -> ModelResult``."""

    name = "mnl"
    label = "Conditional logit"
    default_tol = 1e-12

    def _prepare(self, data, seed):
        check_identified(data)
        return _Problem(data)

    def _initial(self, problem, data, start, rng):
        if start == 0:
            if self.start is None:
                return np.zeros(data.n_vars)
            beta0 = np.asarray(self.start, float)
            if beta0.shape != (data.n_vars,):
                raise ArgumentError("start", f"{beta0.size} values given, the model has {data.n_vars} parameters")
            return beta0
        return rng.normal(scale=0.5, size=data.n_vars)   # a logit is concave: other starts are a check

    def _checks(self, result, problem, data):
        if not result.converged:
            return
        se = result.se("classical")
        wild = [n for n, b, s in zip(result.names, result.estimates, se) if s > 1e4 * max(1.0, abs(b))]
        if wild:
            result.warnings.append(f"{', '.join(wild)}: standard errors are enormous; the data may separate the "
                                   "choices (quasi-separation) or the variable barely varies")


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
    const = [data.names[k] for k in range(K) if scale[k] <= 1e-12 * np.abs(data.X[..., k]).max()]
    if const:
        raise DCEError(
            f"{where(data.source)}variable '{const[0]}' is constant within every "
            "task, so its coefficient is not identified in a conditional logit"
            + (f" (also: {', '.join(const[1:])})" if len(const) > 1 else ""))
    C = G / np.outer(scale, scale)
    w_eig, v_eig = np.linalg.eigh(C)
    if w_eig[0] < 1e-10:
        v = v_eig[:, 0]
        involved = [data.names[k] for k in np.argsort(-np.abs(v)) if abs(v[k]) > 1e-3]
        raise DCEError(
            f"{where(data.source)}variables {', '.join(repr(n) for n in involved)} "
            "are perfectly collinear within tasks; the model is not identified (drop one of them)")
