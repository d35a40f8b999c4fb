"""Latent class conditional logit: segments of respondents with their own coefficients.

Respondent ``n`` belongs to class ``c`` with probability ``pi_nc = exp(z_n' g_c) / sum_d exp(z_n' g_d)``
(``g_1 = 0``; ``z_n`` a constant and, optionally, respondent covariates), and within a class all of the
respondent's choices follow a conditional logit with coefficients ``b_c``.  The likelihood of a
respondent is ``L_n = sum_c pi_nc prod_t P_nt(b_c)``; coefficients named in ``shared`` are equal across
classes.

Estimation: from each start (random, seeded, spread around the conditional logit) EM iterations (the
E-step's posterior class probabilities ``h_nc`` weight a conditional logit per class and a multinomial
logit of membership; each M-step is one Newton step on each, halved until it raises the expected
complete-data log-likelihood -- a generalised EM, so the log-likelihood never decreases) until the
log-likelihood gains less than ``em_tol`` relative per iteration, then trust-region Newton steps on the
full likelihood through the one engine (which handles the saddles and ridges where the Hessian is not
negative definite).  The gradient and
the exact Hessian come from the mixture identity

    grad ll_n = sum_c h_nc grad a_nc,
    hess ll_n = sum_c h_nc (hess a_nc + grad a_nc grad a_nc') - grad ll_n grad ll_n',

with ``a_nc = log pi_nc + sum_t log P_nt(b_c)``, so the estimates come with classical, robust and
clustered standard errors like every other model.  Classes are ordered by decreasing share.

Parameters are named ``class1.price``, ``class2.C(brand)[T.b]``, ... (a shared coefficient keeps its
name) and ``membership2.const``, ``membership2.age_z``, ...
"""
from __future__ import annotations

import math

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.data.readers import is_text_column, numeric_column
from dce.errors import ArgumentError, DCEError
from dce.models import engine
from dce.models.base import Model
from dce.models.mnl import ConditionalLogit, check_identified
from dce.tables import Column, Table
from dce.util.numbers import json_float, whole_number
from dce.util.numdiff import jacobian


def _lse(a, axis=1):
    m = a.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


class _Problem:
    """The latent class likelihood on one data set, as the engine and EM see it.

    The tasks are sorted by respondent once, so that a respondent's sums are contiguous (``reduceat``),
    and coded as differences from the chosen alternative, ``dX[t, j] = x[t, j] - x[t, chosen]``: the
    log-probability of a choice is then ``-log sum_j exp(dX[t, j] b)`` and its score
    ``-sum_j P_tj dX[t, j]``, one product for every class at once.
    """

    COLLAPSED = 1e-3        # EM stops a start whose class holds less posterior mass than this (respondents)
    OUTER_MAX = 2 ** 24     # cells of the precomputed products dX dX' (128 MB); above, Gram matrices instead

    def __init__(self, model: "LatentClassLogit", data: ChoiceData, Z, znames):
        T, J, K = data.X.shape
        C = model.classes
        self.data, self.C, self.K = data, C, K
        self.codes, self.N = data.panel()
        self.order, self.starts = data.panel_blocks()
        self.first = self.starts[:-1]
        self.rt = self.codes[self.order]                 # respondent of each sorted task
        self.Z, self.znames, self.M = Z, list(znames), Z.shape[1]
        o, rows = self.order, np.arange(T)
        X = data.X[o]
        ch = data.chosen[o]
        av = data.avail[o]
        dX = X - X[rows, ch][:, None, :]
        dX[~av] = 0.0
        self.dX = np.ascontiguousarray(dX)
        self.dXf = self.dX.reshape(T * J, K)
        # the distinct products dX_tjk dX_tjl (k <= l), so that a class's weighted information matrix is one
        # matrix-vector product; skipped for data too large to hold them
        self.iu = np.triu_indices(K)
        self.outer = None
        if T * J * len(self.iu[0]) <= self.OUTER_MAX:
            self.outer = np.ascontiguousarray(self.dXf[:, self.iu[0]] * self.dXf[:, self.iu[1]])
        doff = np.zeros((T, J))
        if data.offset is not None:
            off = data.offset[o]
            doff = off - off[rows, ch][:, None]
        doff[~av] = -np.inf
        self.doff = doff if (data.offset is not None or not av.all()) else None
        shared = [n for n in data.names if n in model.shared]
        names, bidx, pos = [], np.zeros((C, K), np.int64), {}
        for c in range(C):
            for k, n in enumerate(data.names):
                if n in shared:
                    if n not in pos:
                        pos[n] = len(names)
                        names.append(n)
                    bidx[c, k] = pos[n]
                else:
                    bidx[c, k] = len(names)
                    names.append(f"class{c + 1}.{n}")
        gidx = np.full((C, self.M), -1, np.int64)
        for c in range(1, C):
            for m, zn in enumerate(self.znames):
                gidx[c, m] = len(names)
                names.append(f"membership{c + 1}.{zn}")
        self.names, self.bidx, self.gidx = names, bidx, gidx
        self.n_beta = int(gidx[1, 0]) if C > 1 else len(names)
        self.score_groups = (np.arange(self.N), self.N) if data.resp is not None else None
        self.engine_options = {}
        self.collapsed = False
        # the spread of each variable within tasks (around the task's mean over available alternatives)
        na = np.maximum(av.sum(axis=1), 1)
        dev = (X - (X * av[:, :, None]).sum(axis=1, keepdims=True) / na[:, None, None]) * av[:, :, None]
        sd = np.sqrt((dev ** 2).sum(axis=(0, 1)) / max(int(av.sum()) - T, 1))
        self.x_sd = np.where(sd > 0, sd, 1.0)

    # ------------------------------------------------------------------ pieces
    def unpack(self, theta):
        """Class coefficients (C, K) and membership parameters (C, M), class 1's zero."""
        theta = np.asarray(theta, float)
        B = theta[self.bidx]
        G = np.zeros((self.C, self.M))
        if self.C > 1:
            G[1:] = theta[self.gidx[1:]]
        return B, G

    def membership(self, G):
        """log pi (N, C) and pi."""
        eta = self.Z @ G.T
        logpi = eta - _lse(eta)[:, None]
        return logpi, np.exp(logpi)

    def per_respondent(self, x):
        """Sums over each respondent's tasks of a (sorted) task array: (T, ...) -> (N, ...)."""
        return np.add.reduceat(x, self.first, axis=0)

    def classes_pass(self, B):
        """Every class at once: the chosen alternatives' log-probabilities (T, C), the probabilities
        (C, T, J) and the scores ``x_chosen - xbar`` (C, T, K), for the sorted tasks."""
        T, J, K = self.dX.shape
        D = (B @ self.dXf.T).reshape(self.C, T, J)        # V_j - V_chosen
        if self.doff is not None:
            D += self.doff
        m = D.max(axis=2, keepdims=True)                  # >= 0: the chosen alternative has 0
        E = np.exp(np.maximum(D - m, _EXP_FLOOR))
        S = E.sum(axis=2, keepdims=True)
        P = E / S
        logp = -(m[..., 0] + np.log(S[..., 0])).T
        d = -np.einsum("ctj,tjk->ctk", P, self.dX)
        return logp, P, d

    def posterior(self, theta, cp=None):
        """Log-likelihood, per-respondent log-likelihoods (N,), posteriors h (N, C), pi (N, C), class pass."""
        B, G = self.unpack(theta)
        cp = self.classes_pass(B) if cp is None else cp
        logpi, pi = self.membership(G)
        a = logpi + self.per_respondent(cp[0])
        lln = _lse(a)
        with np.errstate(invalid="ignore"):
            h = np.exp(a - lln[:, None])
        h[h < _TINY] = 0.0
        return float(lln.sum()), lln, h, pi, cp

    def _beta_hessian(self, cp, w):
        """sum_c sum_t w_tc H_tc mapped onto the coefficient parameters (the within-class logit part), with
        ``H_tc = -(sum_j P_tj dX_tj dX_tj' - d_t d_t')`` for the sorted tasks' weights ``w`` (T, C)."""
        P_, K = len(self.names), self.K
        H = np.zeros((P_, P_))
        _, P, d = cp
        W = _flush(P * w.T[:, :, None])
        if self.outer is not None:            # einsum, not BLAS (see _gram)
            v = np.einsum("cn,nk->ck", W.reshape(self.C, -1), self.outer)
            info = np.empty((self.C, K, K))
            info[:, self.iu[0], self.iu[1]] = v
            info[:, self.iu[1], self.iu[0]] = v
        for c in range(self.C):
            if self.outer is None:
                A = (self.dX * np.sqrt(W[c])[:, :, None]).reshape(-1, K)
                ic = _gram(A)
            else:
                ic = info[c]
            dw = d[c] * np.sqrt(w[:, c])[:, None]
            H[np.ix_(self.bidx[c], self.bidx[c])] -= ic - _gram(dw)
        return H

    def _gamma_hessian(self, pi, h=None):
        """The membership logit's Hessian (the same for every class)."""
        P_ = len(self.names)
        H = np.zeros((P_, P_))
        Z = self.Z
        for c2 in range(1, self.C):
            for c3 in range(1, self.C):
                wgt = _flush(pi[:, c2] * ((c2 == c3) - pi[:, c3]))
                H[np.ix_(self.gidx[c2], self.gidx[c3])] -= _gram(Z * wgt[:, None], Z)
        return H

    def _da(self, cp, pi):
        """Gradients of a_nc = log pi_nc + log L_nc: (N, C, P)."""
        da = np.zeros((self.N, self.C, len(self.names)))
        s = self.per_respondent(cp[2].transpose(1, 0, 2))    # N, C, K
        for c in range(self.C):
            da[:, c, self.bidx[c]] += s[:, c, :]
        for c2 in range(1, self.C):
            da[:, :, self.gidx[c2]] -= (pi[:, c2][:, None] * self.Z)[:, None, :]
            da[:, c2, self.gidx[c2]] += self.Z
        return da

    # ------------------------------------------------------------------ the engine's function
    def evaluate(self, theta, hess=False):
        """Log-likelihood, gradient (P,), respondents' scores (N, P) and, with ``hess``, the exact Hessian."""
        ll, _, h, pi, cp = self.posterior(theta)
        if not np.isfinite(ll):
            return engine.Evaluation(ll, np.full(len(self.names), np.nan))
        da = self._da(cp, pi)
        S = np.einsum("nc,ncp->np", h, da)
        H = None
        if hess:
            W = (np.sqrt(h)[:, :, None] * da).reshape(-1, len(self.names))
            H = _gram(W) - _gram(S)
            H += self._beta_hessian(cp, h[self.rt]) + self._gamma_hessian(pi)
            H = 0.5 * (H + H.T)
        return engine.Evaluation(ll, S.sum(axis=0), scores=S, hess=H, payload=h)

    # ------------------------------------------------------------------ EM
    def em(self, theta, iterations, tol):
        """Generalised EM iterations from ``theta`` until the relative gain is below ``tol``; returns the
        parameters and the log-likelihood of each iteration.  A class whose posterior mass falls below
        :attr:`COLLAPSED` respondents ends the iterations (``self.collapsed``): it cannot come back."""
        theta = np.asarray(theta, float).copy()
        trace = []
        cp = None
        self.collapsed = False
        for _ in range(iterations):
            ll, _, h, _, cp = self.posterior(theta, cp)
            trace.append(ll)
            if not np.isfinite(ll) or (len(trace) > 1 and trace[-1] - trace[-2] < tol * (1 + abs(ll))):
                break
            if self.C > 1 and h.sum(axis=0).min() < self.COLLAPSED:
                self.collapsed = True
                break
            theta, cp = self._m_step(theta, h, cp)
        return theta, trace

    def _m_step(self, theta, h, cp):
        """One Newton step on the class coefficients (from the pass ``cp`` at ``theta``) and one on the
        membership parameters; returns the parameters and the class pass at them."""
        w = h[self.rt]                          # sorted task weights (T, C)
        theta, cp = self._beta_step(theta, w, cp)
        if self.C > 1:
            gamma_ix = self.gidx[1:].ravel()
            theta = _newton(lambda t, full: self._q_gamma(t, h, full), theta, gamma_ix)
        return theta, cp

    def _beta_step(self, theta, w, cp):
        """A Newton step on the expected complete-data log-likelihood of the coefficients, halved until
        it does not fall; the class pass at the accepted point comes back for the next E-step."""
        ix = np.unique(self.bidx)
        q = float((w * cp[0]).sum())
        g = np.zeros(len(self.names))
        for c in range(self.C):
            np.add.at(g, self.bidx[c], w[:, c] @ cp[2][c])
        step = _solve(-self._beta_hessian(cp, w)[np.ix_(ix, ix)], g[ix])
        if step is None:
            return theta, cp
        t = 1.0
        while t > 1e-6:
            cand = theta.copy()
            cand[ix] += t * step
            cpn = self.classes_pass(self.unpack(cand)[0])
            qn = float((w * cpn[0]).sum())
            if np.isfinite(qn) and qn >= q:
                return cand, cpn
            t *= 0.5
        return theta, cp

    def _q_gamma(self, theta, h, full=True):
        _, G = self.unpack(theta)
        logpi, pi = self.membership(G)
        q = float((h * logpi).sum())
        if not full:
            return q
        g = np.zeros(len(self.names))
        for c in range(1, self.C):
            g[self.gidx[c]] = ((h[:, c] - pi[:, c])[:, None] * self.Z).sum(axis=0)
        return q, g, self._gamma_hessian(pi)


# Probabilities and weights below these are set to 0 (or the floor): products of numbers near the bottom of
# the floating-point range underflow into subnormals, which make matrix products hundreds of times slower.
_EXP_FLOOR = -600.0
_TINY = 1e-250


def _gram(A, B=None):
    """``A' B`` (default ``A' A``) summed over the long first axis by einsum: OpenBLAS splits such products
    over threads, and on a busy machine waiting for them costs up to a thousand times the product itself."""
    return np.einsum("np,nq->pq", A, A if B is None else B)


def _flush(a):
    """``a`` with entries smaller than 1e-200 in absolute value set to 0 (in place)."""
    a[np.abs(a) < 1e-200] = 0.0
    return a


def _solve(A, g):
    """``A^-1 g`` for a positive (semi)definite ``A``, scaled by its diagonal (so that the step does not
    depend on the units of the parameters) with a small ridge; None when it gives no ascent."""
    d = np.sqrt(np.abs(np.diag(A)))
    d = np.where(d > 0, d, 1.0)
    try:
        step = np.linalg.solve(A / np.outer(d, d) + 1e-9 * np.eye(len(g)), g / d) / d
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(step)) or g @ step <= 0:
        return None
    return step


def _newton(f, theta, ix):
    """One Newton step on a concave ``f(theta, full) -> value[, grad, hess]`` over the parameters ``ix``
    (others fixed), halved until the value does not fall: the M-step of a generalised EM."""
    q, g, H = f(theta, True)
    step = _solve(-H[np.ix_(ix, ix)], g[ix])
    if step is None:
        return theta
    t = 1.0
    while t > 1e-6:
        cand = theta.copy()
        cand[ix] += t * step
        qn = f(cand, False)
        if np.isfinite(qn) and qn >= q:
            return cand
        t *= 0.5
    return theta


class LatentClassLogit(Model):
    """Latent class conditional logit: ``LatentClassLogit(classes=2).fit(data) -> ModelResult``.

    ``classes``: the number of classes; ``shared``: coefficients equal across classes; ``membership``:
    respondent covariates of class membership as a formula's right-hand side (``"age_z + female"``,
    ``C(region)``), read from ``membership_data`` (the table the choice data were read from; rows are
    found through ``ChoiceData.task_rows``); ``em_iterations``: EM iterations before Newton steps.
    """

    name = "latent"
    label = "Latent class logit"
    default_starts = 10
    default_maxiter = 200
    default_tol = 1e-8

    def __init__(self, classes=2, shared=(), membership=None, membership_data=None, em_iterations=200,
                 em_tol=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.classes = classes
        self.shared = shared
        self.membership = membership
        self.membership_data = membership_data
        self.em_iterations = em_iterations
        self.em_tol = em_tol

    def _validate(self):
        super()._validate()
        self.classes = whole_number(self.classes, "classes", 1)
        self.shared = list(self.shared or ())
        m = self.membership
        self.membership = m.strip() if isinstance(m, str) and m.strip() else None
        self.em_iterations = whole_number(self.em_iterations, "em_iterations", 0)
        self.em_tol = float(self.em_tol)

    # ------------------------------------------------------------------ the base's hooks
    def _parameter_names(self, data):
        Z, znames = membership_matrix(self.membership, self.membership_data, data)
        return list(_Problem(self, data, Z, znames).names)

    def _prepare(self, data, seed):
        check_identified(data)
        unknown = [n for n in self.shared if n not in data.names]
        if unknown:
            raise ArgumentError("shared", f"'{unknown[0]}' is not a coefficient of the model "
                                          f"(coefficients: {', '.join(data.names)})")
        codes, N = data.panel()
        n_own = len([n for n in data.names if n not in self.shared])
        if self.classes > 1 and N / self.classes < max(n_own, 1):
            raise ArgumentError("classes", f"{self.classes} classes of {n_own} coefficients each need at least "
                                           f"{self.classes * n_own} respondents; the data have {N}")
        Z, znames = membership_matrix(self.membership, self.membership_data, data)
        self._mnl = ConditionalLogit().fit(data)
        self._em_traces = []
        return _Problem(self, data, Z, znames)

    def _initial(self, problem, data, start, rng):
        """A random start around the conditional logit, then EM iterations.

        Each class's coefficients are the conditional logit's plus normal noise of sd ``0.5 |b_k| + 0.1 /
        sd_k``, with ``sd_k`` the spread of variable ``k`` within tasks: the starts do not depend on the
        units of the variables (a price in cents gives the same fit as one in dollars)."""
        b = self._mnl.estimates
        theta = np.zeros(len(problem.names))
        spread = 0.5 * np.abs(b) + 0.1 / problem.x_sd
        for c in range(problem.C):
            theta[problem.bidx[c]] = b + (rng.normal(size=b.size) * spread if problem.C > 1 else 0.0)
        if self.start is not None and start == 0:
            theta = np.asarray(self.start, float)
            if theta.shape != (len(problem.names),):
                raise ArgumentError("start", f"{theta.size} values given, the model has {len(problem.names)} "
                                             "parameters")
        problem.collapsed = False
        if problem.C > 1 and self.em_iterations > 0:
            theta, trace = problem.em(theta, self.em_iterations, self.em_tol)
            self._em_traces.append(trace)
        return theta

    def _start(self, problem, data, s, stream, label=""):
        """One start (in this process or a worker's): its EM steps travel with its result (``em_steps``)."""
        self._em_traces = []
        opt, iterations = super()._start(problem, data, s, stream, label)
        if opt is not None:
            opt.em_steps = sum(len(t) - 1 for t in self._em_traces)
        return opt, iterations

    def _multistart(self, problem, data, seed):
        runs = super()._multistart(problem, data, seed)
        self._em_steps = [int(getattr(r["opt"], "em_steps", 0)) for r in runs]
        return runs

    def _optimize(self, problem, theta0, label):
        """Newton steps from the EM estimates; a start whose class collapsed during EM is not refined
        (the Hessian is singular there and the engine could only creep): it keeps its EM log-likelihood."""
        if not problem.collapsed:
            return super()._optimize(problem, theta0, label)
        theta = self._normalise(problem, theta0)
        ev = problem.evaluate(theta, True)
        if not ev.finite:
            return None, 0
        return engine.OptResult(theta, ev.loglik, ev.grad, 0, False, "a class collapsed during EM (no respondent "
                                "left in it)", 1, ev.hess, ev), 0

    def _normalise(self, problem, theta):
        """Classes in order of decreasing share (membership re-expressed against the new class 1)."""
        if problem.C == 1:
            return theta
        B, G = problem.unpack(theta)
        share = problem.membership(G)[1].mean(axis=0)
        perm = np.argsort(-share, kind="stable")
        if np.array_equal(perm, np.arange(problem.C)):
            return theta
        out = np.asarray(theta, float).copy()
        for c in range(problem.C):
            out[problem.bidx[c]] = B[perm[c]]
        G2 = G[perm] - G[perm[0]]
        for c in range(1, problem.C):
            out[problem.gidx[c]] = G2[c]
        return out

    def _checks(self, result, problem, data):
        ll, _, h, pi, _ = problem.posterior(result.estimates)
        share = pi.mean(axis=0)
        for c in range(problem.C):
            if share[c] < 0.01:
                result.warnings.append(f"class {c + 1} holds {100 * share[c]:.2f}% of the respondents: it has "
                                       "collapsed (fewer classes may describe the data as well)")
        B, _ = problem.unpack(result.estimates)
        if np.any(np.abs(B) > 30):
            c, k = np.unravel_index(int(np.argmax(np.abs(B))), B.shape)
            result.warnings.append(f"class {c + 1}: coefficient '{data.names[k]}' is {B[c, k]:.3g}: the class "
                                   "predicts its choices almost with certainty and its coefficients diverge")
        if data.resp is None:
            result.warnings.append("no respondent ids: each task is its own respondent (give id_col for the "
                                   "panel latent class model)")
        self._posterior = (h, pi)

    def _describe(self, result, problem, data):
        h, pi = self._posterior
        N, C = h.shape
        share = pi.mean(axis=0)
        # delta-method s.e. of the shares (functions of the membership parameters)
        Jac = jacobian(lambda th: problem.membership(problem.unpack(th)[1])[1].mean(axis=0), result.estimates)
        share_se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", Jac, result.vcov, Jac), 0, None))
        ent = float(-(h * np.log(np.clip(h, 1e-300, None))).sum())
        entropy_r2 = 1 - ent / (N * math.log(C)) if C > 1 else 1.0
        caic = -2 * result.loglik + result.n_params * (math.log(N) + 1)
        result.info.update({
            "classes": [{"class": c + 1, "share": float(share[c]), "share_se": json_float(share_se[c]),
                         "modal_respondents": int(np.sum(h.argmax(axis=1) == c))} for c in range(C)],
            "membership": {"formula": self.membership, "covariates": problem.znames},
            "membership_profiles": _profiles(problem.Z),
            "entropy_r2": entropy_r2, "caic": caic, "seed": int(self.seed_),
            "em_iterations": self.em_iterations,
            "em_steps": list(self._em_steps),
        })
        se, est = result.se(), result.estimates
        t = Table("Class coefficients (s.e. in brackets)",
                  [Column("coefficient")] + [Column(f"class {c + 1} ({100 * share[c]:.1f}%)", "est_se")
                                             for c in range(C)], key="classes")
        t.add_row("share", *[[float(share[c]), json_float(share_se[c])] for c in range(C)])
        for k, n in enumerate(data.names):
            t.add_row(n, *[[est[problem.bidx[c, k]], se[problem.bidx[c, k]]] for c in range(C)])
        t.notes.append("share: the sample average of the prior class probabilities (delta-method s.e.)")
        result.tables.append(t)
        if C > 1:
            m = Table("Class membership (multinomial logit, class 1 the reference; s.e. in brackets)",
                      [Column("covariate")] + [Column(f"class {c + 1}", "est_se") for c in range(1, C)],
                      key="membership")
            for j, zn in enumerate(problem.znames):
                m.add_row(zn, *[[est[problem.gidx[c, j]], se[problem.gidx[c, j]]] for c in range(1, C)])
            result.tables.append(m)
        result.fit_rows.append(("classes", f"{C} (shares {', '.join(f'{100 * s:.1f}%' for s in share)})"))
        result.fit_rows.append(("entropy R-squared", f"{entropy_r2:.4f}"))
        result.fit_rows.append(("CAIC (respondents)", f"{caic:.2f}"))
        result.fit_rows.append(("conditional logit log-likelihood", f"{self._mnl.loglik:.3f}"))
        result.fit_rows.append(("seed", f"{self.seed_}"))

    # ------------------------------------------------------------------ individuals
    def individual_means(self, data: ChoiceData):
        """Posterior class probabilities, modal class and posterior-weighted coefficients per respondent."""
        import pandas as pd

        result = self._fitted()
        problem = self.problem_
        if list(data.names) != list(result.coef_names) or data.n_tasks != problem.data.n_tasks:
            raise DCEError("individual means: the data are not those of the fitted model")
        _, _, h, _, _ = problem.posterior(result.estimates)
        B, _ = problem.unpack(result.estimates)
        codes, N = data.panel()
        ids = pd.unique(np.asarray(data.resp)) if data.resp is not None else np.asarray(data.task_ids)
        out = pd.DataFrame({"id" if data.resp is not None else "task": ids,
                            "n_tasks": np.bincount(codes, minlength=N)})
        for c in range(problem.C):
            out[f"p_class{c + 1}"] = h[:, c]
        out["class"] = h.argmax(axis=1) + 1
        for k, n in enumerate(data.names):
            out[n] = h @ B[:, k]
        return out

    # ------------------------------------------------------------------ post-estimation
    @classmethod
    def _layout(cls, result, theta):
        """Class coefficients (C, K) and class shares (C,) of ``theta`` under a result's parameter names."""
        theta = np.asarray(theta, float)
        names = result.names
        C = len(result.info.get("classes") or [1])
        K = len(result.coef_names)
        B = np.empty((C, K))
        for c in range(C):
            for k, n in enumerate(result.coef_names):
                own = f"class{c + 1}.{n}"
                B[c, k] = theta[names.index(own if own in names else n)]
        prof = result.info.get("membership_profiles") or {"rows": [[1.0]], "weights": [1.0]}
        Z = np.asarray(prof["rows"], float)
        wz = np.asarray(prof["weights"], float)
        covs = (result.info.get("membership") or {}).get("covariates") or ["const"]
        G = np.zeros((C, len(covs)))
        for c in range(1, C):
            G[c] = [theta[names.index(f"membership{c + 1}.{z}")] for z in covs]
        eta = Z @ G.T
        pi = np.exp(eta - _lse(eta)[:, None])
        return B, (wz / wz.sum()) @ pi

    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        """One coefficient vector per class, weighted by the class shares."""
        B, share = cls._layout(result, theta)
        return B, share

    @classmethod
    def segment_draws(cls, result, theta, n_draws, seed):
        B, share = cls._layout(result, theta)
        return [(f"class {c + 1}", float(share[c]), B[c:c + 1], np.ones(1)) for c in range(B.shape[0])]



def _profiles(Z):
    """The distinct membership covariate rows of the sample and their frequencies (for class shares)."""
    rows, counts = np.unique(np.round(Z, 12), axis=0, return_counts=True)
    return {"rows": rows.tolist(), "weights": counts.astype(float).tolist()}


def membership_matrix(formula, frame, data: ChoiceData):
    """The membership design ``Z`` (respondents, 1 + covariates) and its column names.

    ``formula``: ``"age_z + female + C(region)"`` (numeric columns as they are, text columns and ``C()``
    dummy-coded against their first level); covariates must be constant within a respondent.
    """
    codes, N = data.panel()
    if formula is None:
        return np.ones((N, 1)), ["const"]
    if frame is None or data.task_rows is None:
        raise ArgumentError("membership", "membership covariates need the table the choice data were read from "
                                          "(membership_data)")
    import pandas as pd

    first_task = np.zeros(N, np.int64)
    first_task[codes[::-1]] = np.arange(len(codes))[::-1]
    cols, names = [np.ones(N)], ["const"]
    for term in [t.strip() for t in formula.split("+")]:
        cat = term.startswith("C(") and term.endswith(")")
        col = term[2:-1].strip() if cat else term
        if not col or col not in frame.columns:
            raise ArgumentError("membership", f"'{col or term}' is not a column of {data.source or 'the data'}")
        series = frame[col].iloc[data.task_rows].reset_index(drop=True)
        if series.isna().any():
            t = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise DCEError(f"{data.source}: column '{col}': respondent {_resp(data, t)} has a missing value")
        text = cat or is_text_column(series)
        values = series.astype(str).to_numpy() if text else numeric_column(pd.DataFrame({col: series}), col, data.source)
        per_resp = values[first_task]
        bad = np.flatnonzero(values != per_resp[codes])
        if bad.size:
            raise DCEError(f"{data.source}: column '{col}' varies within respondent {_resp(data, bad[0])}; a "
                           "membership covariate must be constant for a respondent")
        if text:
            for lv in sorted(set(per_resp))[1:]:
                cols.append((per_resp == lv).astype(float))
                names.append(f"{col}[{lv}]")
        else:
            cols.append(per_resp.astype(float))
            names.append(col)
    Z = np.column_stack(cols)
    for k in range(1, Z.shape[1]):
        if np.ptp(Z[:, k]) == 0:
            raise ArgumentError("membership", f"'{names[k]}' takes the same value for every respondent, so its effect "
                                              "on class membership is not identified")
    if np.linalg.matrix_rank(Z) < Z.shape[1]:
        raise ArgumentError("membership", "the covariates (" + ", ".join(names[1:]) + ") are perfectly collinear "
                                          "with each other or the constant: drop one")
    return Z, names


def _resp(data, t):
    return data.resp[t] if data.resp is not None else data.task_ids[t]
