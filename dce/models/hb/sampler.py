"""The hierarchical Bayes sampler as functions on arrays: data layout, start values, chains.

:func:`prepare` lays a :class:`dce.data.choice_data.ChoiceData` out for the kernels; :func:`start_values`
finds every respondent's fractional-likelihood maximum and Hessian (bayesm's way of centring and
shaping the Metropolis proposals); :func:`run_chain` runs one chain in blocks of iterations, drawing
its random numbers from numpy generators of the chain's own seed sequence (separate streams for the
proposals, the acceptance tests, the chi-squares and the normals of the population draw, each consumed
in iteration order, so that neither the block size nor the worker that runs the chain changes a number);
:func:`run_chains` runs the chains in parallel processes and reports progress.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

BLOCK = 50            # iterations per kernel call; the step scale and proposals adapt at block ends
ADAPT_GAIN = 2.0      # log(scale) += ADAPT_GAIN * (acceptance - target) per block of the burn-in
FRACTION = 0.1        # bayesm's weight w of the pooled likelihood in the fractional likelihood
START_SCALE = 2.38    # bayesm: s = 2.38 / sqrt(K)
_NEWTON_MAX = 40


@dataclass
class HBData:
    """Flat layout of choice data for the sampler.

    ``Dt`` (K, rows): differences ``x_j - x_chosen`` of the available non-chosen alternatives, rows
    grouped by task and tasks by respondent; ``doff`` (rows,): offset differences; ``task_ptr`` (T + 1,)
    and ``resp_ptr`` (R + 1,) (uint64): the rows of each task and the tasks of each respondent;
    ``ztype`` (K,): 0 normal, 1 log-normal, 2 negative log-normal coefficient; ``n_tasks`` (R,);
    ``null_ll`` (R,): log-likelihood of equal shares; ``order``: task order (by respondent).
    """

    Dt: np.ndarray
    doff: np.ndarray
    task_ptr: np.ndarray
    resp_ptr: np.ndarray
    ztype: np.ndarray
    n_tasks: np.ndarray
    null_ll: np.ndarray
    order: np.ndarray

    @property
    def K(self) -> int:
        return self.Dt.shape[0]

    @property
    def R(self) -> int:
        return self.resp_ptr.size - 1


@dataclass
class Prior:
    """``mu | Sigma ~ N(mubar, Sigma / Amu)``, ``Sigma ~ IW(nu, V)`` (bayesm's parametrisation)."""

    mubar: np.ndarray
    Amu: float
    nu: float
    V: np.ndarray
    scales: np.ndarray | None = None      # the attribute scales the prior was set on (None: the data's)


@dataclass
class Settings:
    iterations: int
    burn: int
    thin: int
    target: float = 0.3

    @property
    def n_keep(self) -> int:
        return (self.iterations - self.burn) // self.thin


def kernels(backend):
    """The kernel module for ``backend`` (numba or numpy)."""
    if backend == "numba":
        from dce.models.hb import kernels as k
        from dce.util.jit import compile_parts

        compile_parts(k.run_block, k.COMPILE_PARTS, "hierarchical Bayes")   # a machine's first run: in parallel
    else:
        from dce.models.hb import kernels_ref as k
    return k


def prepare(data, ztype) -> HBData:
    """The flat layout of ``data`` (respondent ids required) with coefficient types ``ztype`` (K,)."""
    T, J, K = data.X.shape
    codes, R = data.panel()
    order, starts = data.panel_blocks()
    X = data.X[order]
    ch = data.chosen[order]
    av = data.avail[order].copy()
    off = np.zeros((T, J)) if data.offset is None else data.offset[order]
    t = np.arange(T)
    av[t, ch] = False                                   # rows: available, not chosen
    tt, jj = np.nonzero(av)                             # row-major: grouped by task, tasks in order
    D = X[tt, jj] - X[tt, ch[tt]]
    doff = off[tt, jj] - off[tt, ch[tt]]
    task_ptr = np.concatenate([[0], np.cumsum(av.sum(axis=1))]).astype(np.uint64)
    n_alts = data.avail[order].sum(axis=1)
    null_ll = np.bincount(codes[order], weights=-np.log(n_alts), minlength=R)
    return HBData(Dt=np.ascontiguousarray(D.T, dtype=np.float64), doff=np.ascontiguousarray(doff, dtype=np.float64),
                  task_ptr=task_ptr, resp_ptr=starts.astype(np.uint64), ztype=np.asarray(ztype, np.int64),
                  n_tasks=np.diff(starts).astype(np.int64), null_ll=null_ll, order=order)


# ---------------------------------------------------------------------------------------------- start values
def _segments(values, ptr):
    """Sums of ``values`` (n, ...) over the segments ``ptr`` (m + 1,) of its first axis (empty ones 0)."""
    p = ptr.astype(np.int64)
    out = np.zeros((p.size - 1,) + values.shape[1:])
    full = p[1:] > p[:-1]
    if full.any():
        out[full] = np.add.reduceat(values, p[:-1][full], axis=0)
    return out


def _loglik(hbd, Bstar):
    """Per-respondent log-likelihoods (R,) at the sampled values ``Bstar`` (R, K)."""
    from dce.models.hb.kernels_ref import loglik_all

    out = np.empty(hbd.R)
    loglik_all(hbd.Dt, hbd.doff, hbd.task_ptr, hbd.resp_ptr, hbd.ztype, Bstar, out)
    return out


def _mnl_parts(hbd, Bstar):
    """Per-respondent log-likelihood (R,), gradient (R, K) and minus the Gauss-Newton Hessian (R, K, K)
    (the information, positive semidefinite) with respect to the sampled values ``Bstar`` (R, K)."""
    from dce.models.hb.kernels_ref import transform

    beta = transform(Bstar, hbd.ztype)
    lam = np.where(hbd.ztype == 0, 1.0, beta)           # d beta / d beta*
    tp, rp = hbd.task_ptr.astype(np.int64), hbd.resp_ptr.astype(np.int64)
    row_task = np.repeat(np.arange(tp.size - 1), np.diff(tp))
    task_resp = np.repeat(np.arange(rp.size - 1), np.diff(rp))
    D = hbd.Dt.T
    v = hbd.doff + np.einsum("rk,rk->r", D, beta[task_resp[row_task]])
    E = np.exp(np.minimum(v, 700.0))
    s = 1.0 + np.bincount(row_task, weights=E, minlength=tp.size - 1)
    ll = _segments(-np.log(s), rp)
    p = E / s[row_task]
    pD = p[:, None] * D
    pdt = _segments(pD, tp)                              # per task: sum_j p_j d_j
    g = -_segments(pdt, rp)
    # information: sum over rows of p d d' less sum over tasks of (sum p d)(sum p d)', per respondent
    info = _segments(pD[:, :, None] * D[:, None, :], tp[rp]) - _segments(pdt[:, :, None] * pdt[:, None, :], rp)
    return ll, g * lam, info * lam[:, :, None] * lam[:, None, :]


def start_values(hbd, pooled, pooled_info, w=FRACTION):
    """bayesm's start: each respondent's maximum of the fractional likelihood
    ``(1 - w) ll_n(b) - w (T_n / T) (b - b_pooled)' I_pooled (b - b_pooled) / 2`` (damped Newton from the
    pooled estimates ``pooled`` (K,) with information ``pooled_info`` (K, K), both on the sampled scale)
    and the information of the respondent's own likelihood there.

    Returns ``(B0 (R, K), H (R, K, K))``.
    """
    R = hbd.R
    wgt = (w * hbd.n_tasks / hbd.n_tasks.sum())[:, None]
    B = np.tile(np.asarray(pooled, float), (R, 1))

    def objective(B, full=True):
        d = B - pooled
        Hd = d @ pooled_info
        if not full:
            return (1 - w) * _loglik(hbd, B) - 0.5 * wgt[:, 0] * np.einsum("rk,rk->r", d, Hd)
        ll, g, info = _mnl_parts(hbd, B)
        f = (1 - w) * ll - 0.5 * wgt[:, 0] * np.einsum("rk,rk->r", d, Hd)
        return f, (1 - w) * g - wgt * Hd, (1 - w) * info + wgt[:, :, None] * pooled_info, info

    f, g, A, info = objective(B)
    for _ in range(_NEWTON_MAX):
        step = np.linalg.solve(A, g[:, :, None])[:, :, 0]
        if np.einsum("rk,rk->r", g, step).max() < 1e-8:    # Newton decrement: converged everywhere
            break
        t = np.ones(R)
        for _ in range(30):                                 # halve where the objective did not rise
            bad = ~(objective(B + t[:, None] * step, full=False) >= f - 1e-12)
            if not bad.any():
                break
            t[bad] *= 0.5
        t[bad] = 0.0                                        # no rise at all: stay
        B = B + t[:, None] * step
        f, g, A, info = objective(B)
    return B, info


# ---------------------------------------------------------------------------------------------- one chain
def _blocks(iterations, burn, block=BLOCK):
    cuts = sorted(set(range(0, iterations, block)) | {burn, iterations})
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _initial_precision(B, prior):
    """A start for Sigma^-1: the inverse of the conditional posterior mean of Sigma given ``B``."""
    R = B.shape[0]
    D = B - B.mean(axis=0)
    return np.linalg.inv((prior.V + D.T @ D) / (prior.nu + R))


def run_chain(hbd, prior, settings, B0, H, seed_seq, backend="numba", progress=None, chain=0):
    """One chain; returns a dict of arrays: ``beta`` (kept, R, K) coefficients, ``mu`` (kept, K), ``sigma``
    (kept, K, K), ``ll_trace`` (iterations,), ``acceptance`` (after burn-in), ``acceptance_burn`` (last
    burn-in block), ``scale`` (final), ``seconds``.

    ``seed_seq``: the chain's :class:`numpy.random.SeedSequence`; ``progress(chain, done, loglik,
    acceptance)`` is called after every block.
    """
    t0 = time.perf_counter()
    k = kernels(backend)
    R, K = hbd.R, hbd.K
    g_start, g_prop, g_acc, g_chi, g_norm = (np.random.default_rng(s) for s in seed_seq.spawn(5))
    W = _initial_precision(B0, prior)
    P = np.empty((R, K, K))
    k.proposal_roots(H, W, P)
    # chains start apart: each respondent moved by about two proposal steps from the common start
    B = B0 + 2.0 * np.einsum("rmk,rm->rk", P, g_start.standard_normal((R, K)))
    ll = np.empty(R)
    k.loglik_all(hbd.Dt, hbd.doff, hbd.task_ptr, hbd.resp_ptr, hbd.ztype, B, ll)
    scale = START_SCALE / math.sqrt(K)
    mu, Sig, M, Minv = np.zeros(K), np.eye(K), np.eye(K), np.eye(K)
    n_keep = settings.n_keep
    out_beta = np.empty((n_keep, R, K))
    out_mu = np.empty((n_keep, K))
    out_sig = np.empty((n_keep, K, K))
    ll_trace = np.empty(settings.iterations)
    Wsum = np.zeros((K, K))
    slot, acc_after, acc_burn = 0, 0, math.nan
    for a, b in _blocks(settings.iterations, settings.burn):
        n = b - a
        accepted, slot = k.run_block(n, a, settings.burn, settings.thin, hbd.Dt, hbd.doff, hbd.task_ptr,
                                     hbd.resp_ptr, hbd.ztype, prior.mubar, prior.Amu, prior.nu, prior.V, B, ll, mu,
                                     Sig, M, Minv, P, scale, g_prop, g_acc, g_chi, g_norm, out_beta, out_mu,
                                     out_sig, slot, ll_trace[a:b], Wsum)
        rate = accepted / (n * R)
        if b <= settings.burn:                            # adapt during burn-in only
            acc_burn = rate
            scale *= math.exp(ADAPT_GAIN * (rate - settings.target))
            k.proposal_roots(H, Wsum / n, P)
            Wsum[:] = 0.0
        else:
            acc_after += accepted
        if progress is not None:
            progress(chain, b, float(ll_trace[b - 1]), rate)
    kept_its = settings.iterations - settings.burn
    return {"beta": out_beta, "mu": out_mu, "sigma": out_sig, "ll_trace": ll_trace,
            "acceptance": acc_after / (kept_its * R) if kept_its else math.nan, "acceptance_burn": acc_burn,
            "scale": scale, "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------- chains
_SHARED = None        # progress of the chains run by worker processes: (chains, 3) doubles


def _init_worker(shared):
    global _SHARED
    _SHARED = shared


def _shared_progress(chain, done, loglik, acceptance):
    _SHARED[3 * chain: 3 * chain + 3] = [done, loglik, acceptance]


def _chain_job(args):
    hbd, prior, settings, B0, H, seed_seq, backend, chain = args
    return run_chain(hbd, prior, settings, B0, H, seed_seq, backend, _shared_progress, chain)


def warm_up(hbd, backend):
    """Load (or compile) the kernels in this process, so that forked workers inherit them."""
    if backend != "numba":
        return
    tiny = Settings(iterations=2, burn=1, thin=1)
    K = hbd.K
    prior = Prior(np.zeros(K), 0.01, K + 3.0, (K + 3.0) * np.eye(K))
    B0 = np.zeros((hbd.R, K))
    H = np.tile(np.eye(K), (hbd.R, 1, 1))
    run_chain(hbd, prior, tiny, B0, H, np.random.SeedSequence(0), backend)


def run_chains(hbd, prior, settings, B0, H, seed, chains, workers=1, backend="numba", callback=None):
    """``chains`` chains, chain ``c`` on the ``c``-th child of ``SeedSequence(seed)``, in ``workers``
    processes (the results do not depend on ``workers``).  ``callback(done, total, loglik, acceptance,
    elapsed)`` reports progress: iterations done over all chains, their total, and the mean over chains
    of the latest total log-likelihood and acceptance rate."""
    t0 = time.perf_counter()
    seqs = np.random.SeedSequence(int(seed)).spawn(chains)
    total = chains * settings.iterations
    state = np.zeros((chains, 3))

    def report():
        if callback is not None:
            callback(int(state[:, 0].sum()), total, float(state[:, 1].mean()), float(state[:, 2].mean()),
                     time.perf_counter() - t0)

    if workers <= 1 or chains == 1:
        def progress(c, done, loglik, acceptance):
            state[c] = (done, loglik, acceptance)
            report()
        return [run_chain(hbd, prior, settings, B0, H, s, backend, progress, c) for c, s in enumerate(seqs)]
    return _run_parallel(hbd, prior, settings, B0, H, seqs, min(workers, chains), backend, state, report)


def _run_parallel(hbd, prior, settings, B0, H, seqs, workers, backend, state, report):
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    warm_up(hbd, backend)
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    shared = ctx.Array("d", 3 * len(seqs), lock=False)
    jobs = [(hbd, prior, settings, B0, H, s, backend, c) for c, s in enumerate(seqs)]
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(shared,)) as pool:
        futures = [pool.submit(_chain_job, j) for j in jobs]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            state[:] = np.frombuffer(shared, dtype=np.float64).reshape(-1, 3)
            report()
        return [f.result() for f in futures]
