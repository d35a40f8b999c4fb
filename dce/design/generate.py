"""Design generation: coordinate exchange (Kessels, Jones, Goos & Vandebroek 2009) from random starts.

The objective is the (Bayesian) D-error of the MNL information matrix: the mean over prior draws of
``det(I(beta_r))^(-1/P)``, with the status quo and opt-out (and their constants) in every task.  One
coordinate is one attribute of one designed alternative of one task; every feasible level of it is tried
and the best kept, pass after pass, until a pass improves nothing.  Only the changed task's information
is recomputed (for every candidate level and every draw at once), so a step costs one batched
``(levels x draws)`` evaluation of ``P x P`` determinants.

Candidates that would break a constraint, repeat another alternative of the task (the status quo
included) or make one designed alternative dominate another under the prior are never taken.

Level balance (the spec's ``level_balance``; Ngene's swapping algorithm keeps it the same way): with
``strict`` (the default) every start is balanced (each level of each attribute equally often, within one,
over the design and within each block) and the search only swaps two alternatives' levels of one
attribute within a block, so the balance holds throughout; with ``relaxed`` the start is balanced and a
level may change as long as every level keeps at least half its balanced count; with ``off`` the search is
unconstrained.  Where the search is balanced, the unconstrained search is run from the same starts as well
and its D-error recorded beside the balanced one (``search["unconstrained_objective"]``,
``search["balance_price"]``: how much larger the balanced error is).  Without strict balance, tasks are
assigned to blocks after the search so that every level appears about equally often in every block.
"""
from __future__ import annotations

import functools
import itertools
import time
from typing import TYPE_CHECKING

import numpy as np

from dce.design.core import Design
from dce.design.info import prior_draws
from dce.errors import DCEError
from dce.runner import run
from dce.util.backend import choose_backend
from dce.util.numbers import whole_number
from dce.util.seeds import resolve_seed, streams

if TYPE_CHECKING:
    from dce.design.spec import DesignSpec


def _info_batch(Xc, B):
    """Task information of candidate tasks ``Xc`` (``n x J x P``) under draws ``B`` -> ``n x R x P x P``.

    ``X' (diag p - p p') X = Y' Y`` with ``Y = diag(sqrt p) (X - 1 p'X)``: one batched product.
    """
    V = Xc @ B.T                                            # n J R
    V -= V.max(axis=1, keepdims=True)
    np.exp(V, out=V)
    V /= V.sum(axis=1, keepdims=True)
    mean = V.transpose(0, 2, 1) @ Xc                        # n R P
    Y = (Xc[:, :, None, :] - mean[:, None, :, :]) * np.sqrt(V)[..., None]   # n J R P
    Y = Y.transpose(0, 2, 1, 3)                             # n R J P
    return np.swapaxes(Y, -1, -2) @ Y


def _kernel(backend):
    """The compiled candidate kernel (numba) or None for the numpy path, and the backend's name."""
    if choose_backend(backend) == "numba":
        from dce.design._kernels import candidate_errors

        return candidate_errors, "numba"
    return None, "numpy"


class _Search:
    """State shared by the starts of one search: spec, draws, coding tables and feasibility."""

    def __init__(self, spec, B, dominance=True, backend="auto", balance=None):
        self.spec = spec
        self.balance = spec.level_balance if balance is None else balance
        if spec.method == "full_factorial":
            self.balance = "off"
        self.kernel, self.backend = _kernel(backend)
        self.B = np.ascontiguousarray(B, float)
        self.S, self.m, self.A = spec.tasks, spec.alternatives, len(spec.attributes)
        self.P = spec.n_params
        self.tables = [a.table for a in spec.attributes]
        self.off = np.cumsum([0] + [t.shape[1] for t in self.tables])
        self.nlev = spec.n_levels
        self.strides = spec.strides
        self.table = spec.feasible_table()
        self.fixed = spec.fixed_rows()
        self.sq_pid = (int(np.array(spec.status_quo.levels) @ self.strides) if spec.status_quo is not None
                       else None)
        self.util = None
        if dominance and spec.dominance:
            u = [a.partial_utility() for a in spec.attributes]
            if any(np.ptp(x) > 0 for x in u):
                self.util = u
        if self.table is not None:
            self.feasible_ids = np.flatnonzero(self.table)
        self._dominance_table()
        m = self.m
        if m <= 4:
            self.perms = [np.array(p) for p in itertools.permutations(range(m)) if list(p) != list(range(m))]
        else:
            self.perms = []
            for a in range(m):
                for b in range(a + 1, m):
                    p = np.arange(m)
                    p[a], p[b] = b, a
                    self.perms.append(p)

    # ---------------------------------------------------------------- feasibility of candidates
    def feasible(self, prof):
        if self.table is not None:
            return self.table[prof @ self.strides]
        return ~self.spec.violates(prof)

    def _dominance_table(self):
        """dom[p, q]: profile p dominates q or q dominates p (tabulated for up to 2048 profiles)."""
        self.dom = None
        if self.util is None or self.spec.n_profiles > 2048:
            return
        prof = self.spec.all_profiles()
        n = prof.shape[0]
        a_ok = np.ones((n, n), bool)     # a >= b on every attribute where they differ, strictly
        b_ok = np.ones((n, n), bool)
        a_gt = np.zeros((n, n), bool)
        b_gt = np.zeros((n, n), bool)
        for k in range(self.A):
            u = self.util[k][prof[:, k]]
            same = prof[:, k][:, None] == prof[:, k][None, :]
            gt = u[:, None] > u[None, :]
            lt = u[:, None] < u[None, :]
            a_ok &= same | gt
            b_ok &= same | lt
            a_gt |= gt
            b_gt |= lt
        self.dom = (a_ok & a_gt) | (b_ok & b_gt)

    def dominated_pair(self, a, b):
        """Whether profile a dominates b or b dominates a (rows of level indices, broadcast)."""
        if self.util is None:
            return np.zeros(np.broadcast_shapes(a.shape, b.shape)[:-1], bool)
        if self.dom is not None:
            return self.dom[a @ self.strides, b @ self.strides]
        return self._dominated_pair(a, b)

    def _dominated_pair(self, a, b):
        ua = np.stack([self.util[k][a[..., k]] for k in range(self.A)], axis=-1)
        ub = np.stack([self.util[k][b[..., k]] for k in range(self.A)], axis=-1)
        same = a == b
        gt, lt = ua > ub, ua < ub
        a_dom = np.all(same | gt, axis=-1) & np.any(gt, axis=-1)
        b_dom = np.all(same | lt, axis=-1) & np.any(lt, axis=-1)
        return a_dom | b_dom

    def allowed(self, task, j, k):
        """Which levels of attribute k may alternative j of ``task`` (``m x A``) take."""
        L = self.nlev[k]
        prof = np.repeat(task[j][None, :], L, axis=0)
        prof[:, k] = np.arange(L)
        ok = self.feasible(prof)
        pid = prof @ self.strides
        for jj in range(self.m):
            if jj == j:
                continue
            ok &= pid != task[jj] @ self.strides
            ok &= ~self.dominated_pair(prof, task[jj][None, :])
        if self.sq_pid is not None:
            ok &= pid != self.sq_pid
        return ok

    def random_task(self, rng):
        """Random feasible task; the first tries spread each attribute's levels over the alternatives."""
        for attempt in range(2000):
            if attempt < 200:
                # minimal overlap: each attribute's levels drawn without replacement as far as they go
                cols = []
                for n in self.nlev:
                    reps = -(-self.m // n)
                    cols.append(np.concatenate([rng.permutation(n) for _ in range(reps)])[: self.m])
                task = np.stack(cols, axis=1)
            elif self.table is not None:
                ids = rng.choice(self.feasible_ids, size=self.m, replace=len(self.feasible_ids) < self.m)
                task = np.stack(np.unravel_index(ids, self.nlev), axis=1)
            else:
                task = np.stack([rng.integers(0, n, size=self.m) for n in self.nlev], axis=1)
            if self.task_ok(task):
                return task
        raise DCEError(f"{self.spec.source}: could not find {self.m} distinct feasible alternatives for a task "
                       f"in which none dominates another; relax the constraints or set 'dominance: false'")

    # ---------------------------------------------------------------- objective
    def code(self, idx):
        S, m = idx.shape[:2]
        X = np.zeros((S, m + self.fixed.shape[0], self.P))
        X[:, :m, : self.spec.n_coded] = self.spec.code_indices(idx)
        if self.fixed.shape[0]:
            X[:, m:, :] = self.fixed[None]
        return X

    def objective(self, I):
        """Mean over draws of det(I + ridge)^(-1/P) for ``I`` (``n x R x P x P``) -> ``n``."""
        A = I + self.ridge
        try:
            L = np.linalg.cholesky(A)
            logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
        except np.linalg.LinAlgError:
            sign, logdet = np.linalg.slogdet(A)
            logdet = np.where(sign > 0, logdet, -np.inf)
        return np.exp(-logdet / self.P).mean(axis=-1)

    def candidates(self, Xc, Itot, Ms):
        """Errors of the design with task ``Ms`` replaced by each candidate task in ``Xc``, and their info."""
        if self.kernel is not None:
            Mc = np.empty((Xc.shape[0],) + Itot.shape)
            e = self.kernel(np.ascontiguousarray(Xc), self.B, Itot, Ms, float(self.ridge[0, 0]), Mc)
            return e, Mc
        Mc = _info_batch(Xc, self.B)
        return self.objective(Itot[None] - Ms[None] + Mc), Mc

    def _swaps(self, s, idx, X, M, Itot, err):
        """Permute one attribute's levels among the alternatives of task s (keeps the task's level counts).

        All permutations for up to 4 alternatives, pairwise swaps beyond; the best improving one is kept.
        """
        m, moved = self.m, False
        perms = self.perms
        for k in range(self.A):
            col = idx[s, :, k]
            cands, tasks, seen = [], [], {tuple(col.tolist())}
            for perm in perms:
                new = col[perm]
                key = tuple(new.tolist())
                if key in seen:
                    continue
                seen.add(key)
                t = idx[s].copy()
                t[:, k] = new
                if not self.task_ok(t):
                    continue
                cands.append(perm)
                tasks.append(t)
            if not cands:
                continue
            sl = slice(self.off[k], self.off[k + 1])
            Xc = np.repeat(X[s][None], len(cands), axis=0)
            for i, perm in enumerate(cands):
                Xc[i, :m, sl] = X[s, perm, sl]
            e, Mc = self.candidates(Xc, Itot, M[s])
            i = int(np.argmin(e))
            if e[i] < err * (1 - 1e-10):
                err = float(e[i])
                idx[s] = tasks[i]
                X[s] = Xc[i]
                Itot = Itot - M[s] + Mc[i]
                M[s] = Mc[i]
                moved = True
        return moved, err, Itot

    def tasks_ok(self, tasks):
        """:meth:`task_ok` of many tasks at once (``n x m x A`` -> ``n`` bools)."""
        ok = self.feasible(tasks).all(axis=1)
        pid = tasks @ self.strides                                  # n x m
        srt = np.sort(pid, axis=1)
        ok &= np.all(srt[:, 1:] != srt[:, :-1], axis=1)
        if self.sq_pid is not None:
            ok &= np.all(pid != self.sq_pid, axis=1)
        if self.util is not None:
            for a in range(self.m):
                for b in range(a + 1, self.m):
                    ok &= ~self.dominated_pair(tasks[:, a], tasks[:, b])
        return ok

    def task_ok(self, task):
        """A whole task (``m x A``): feasible, no repeats (status quo included), no dominance."""
        if not self.feasible(task).all():
            return False
        pid = task @ self.strides
        if len(set(pid.tolist())) < self.m or (self.sq_pid is not None and self.sq_pid in pid):
            return False
        if self.util is not None:
            for a in range(self.m):
                for b in range(a + 1, self.m):
                    if self.dominated_pair(task[a], task[b]):
                        return False
        return True

    # ---------------------------------------------------------------- level balance
    def groups(self):
        """The task groups within which levels are balanced: the blocks (strict) or the whole design."""
        n = self.spec.blocks if self.balance == "strict" and self.spec.blocks > 1 else 1
        size = self.S // n
        return [np.arange(g * size, (g + 1) * size) for g in range(n)]

    def balanced_start(self, rng):
        """A random design with every level of every attribute equally often, within one, over the design
        and within each group (consecutive pieces of one cyclic sequence of the levels, shuffled within
        each group), then repaired by swaps within groups until every task is feasible."""
        S, m, A = self.S, self.m, self.A
        idx = np.empty((S, m, A), dtype=np.int64)
        groups = self.groups()
        for k, L in enumerate(self.nlev):
            seq = (np.arange(S * m) + int(rng.integers(L))) % L
            for g, tasks in enumerate(groups):
                piece = seq[g * tasks.size * m:(g + 1) * tasks.size * m].copy()
                rng.shuffle(piece)
                idx[tasks, :, k] = piece.reshape(tasks.size, m)
        bad = {s for s in range(S) if not self.task_ok(idx[s])}
        for _ in range(200 * S * m * A):
            if not bad:
                return idx
            s = sorted(bad)[int(rng.integers(len(bad)))]
            tasks = next(t for t in groups if s in t)
            j, k = int(rng.integers(m)), int(rng.integers(A))
            s2, j2 = int(tasks[int(rng.integers(tasks.size))]), int(rng.integers(m))
            if idx[s, j, k] == idx[s2, j2, k]:
                continue
            before = (s in bad) + (s2 in bad and s2 != s)
            idx[s, j, k], idx[s2, j2, k] = idx[s2, j2, k], idx[s, j, k]
            now = {t: self.task_ok(idx[t]) for t in {s, s2}}
            if sum(not v for v in now.values()) <= before:
                for t, ok in now.items():
                    (bad.discard if ok else bad.add)(t)
            else:
                idx[s, j, k], idx[s2, j2, k] = idx[s2, j2, k], idx[s, j, k]
        raise DCEError(f"{self.spec.source}: key 'level_balance': could not find a level-balanced design whose "
                       "tasks are feasible (constraints, repeated or dominated alternatives); set "
                       "'level_balance: relaxed' or 'level_balance: false'")

    def _balanced_exchange(self, s, j, k, idx, X, M, Itot, err, group):
        """Swap attribute k's level of alternative j of task s with that of another alternative of the same
        group (task s2, alternative j2); the best improving feasible swap is kept."""
        cur = idx[s, j, k]
        grp = np.asarray(group)
        s2a = np.repeat(grp, self.m)
        j2a = np.tile(np.arange(self.m), grp.size)
        others = idx[s2a, j2a, k]
        sel = others != cur
        s2a, j2a, others = s2a[sel], j2a[sel], others[sel]
        if s2a.size == 0:
            return False, err, Itot
        n = s2a.size
        rows = np.arange(n)
        TS = np.repeat(idx[s][None], n, axis=0)
        TS[:, j, k] = others
        same = s2a == s
        TS[rows[same], j2a[same], k] = cur
        T2 = idx[s2a].copy()
        T2[rows, j2a, k] = cur
        T2[same] = TS[same]
        keep = np.flatnonzero(self.tasks_ok(TS) & self.tasks_ok(T2))
        if keep.size == 0:
            return False, err, Itot
        ts_list, t2_list, s2a = TS[keep], T2[keep], s2a[keep]
        Xs = self.code(ts_list)
        X2 = self.code(t2_list)
        Ms = _info_batch(Xs, self.B)
        tot = Itot[None] - M[s][None] + Ms
        other = s2a != s
        M2 = Ms.copy()
        if other.any():
            M2[other] = _info_batch(X2[other], self.B)
            tot[other] += M2[other] - M[s2a[other]]
        e = self.objective(tot)
        b = int(np.argmin(e))
        if not e[b] < err * (1 - 1e-10):
            return False, err, Itot
        s2 = int(s2a[b])
        idx[s], X[s], M[s] = ts_list[b], Xs[b], Ms[b]
        if s2 != s:
            idx[s2], X[s2], M[s2] = t2_list[b], X2[b], M2[b]
        return True, float(e[b]), tot[b]

    def run(self, rng, max_passes=50):
        """One start: random design, then coordinate exchange until a pass improves nothing."""
        S, m, A, P = self.S, self.m, self.A, self.P
        if self.balance == "off":
            idx = np.stack([self.random_task(rng) for _ in range(S)])
        else:
            idx = self.balanced_start(rng)
        groups = self.groups()
        group_of = np.empty(S, dtype=np.int64)
        for g, t in enumerate(groups):
            group_of[t] = g
        counts = [np.bincount(idx[:, :, k].ravel(), minlength=L) for k, L in enumerate(self.nlev)]
        floor = [max(1, (S * m) // L // 2) for L in self.nlev]       # relaxed: at least half the balanced count
        X = self.code(idx)
        M = _info_batch(X, self.B)                          # S R P P
        Itot = M.sum(axis=0)
        scale = max(float(np.trace(Itot.mean(axis=0))) / P, 1e-12)
        self.ridge = 1e-9 * scale * np.eye(P)
        err = float(self.objective(Itot[None])[0])
        passes = 0
        for passes in range(1, max_passes + 1):
            improved = False
            err_pass = err
            for s in range(S):
                for j in range(m):
                    for k in range(A):
                        if self.balance == "strict":
                            moved, err, Itot = self._balanced_exchange(s, j, k, idx, X, M, Itot, err,
                                                                       groups[group_of[s]])
                            improved |= moved
                            continue
                        ok = self.allowed(idx[s], j, k)
                        ok[idx[s, j, k]] = False
                        if self.balance == "relaxed":
                            ok &= counts[k][idx[s, j, k]] - 1 >= floor[k]
                        levels = np.flatnonzero(ok)
                        if levels.size == 0:
                            continue
                        Xc = np.repeat(X[s][None], levels.size, axis=0)
                        Xc[:, j, self.off[k]:self.off[k + 1]] = self.tables[k][levels]
                        e, Mc = self.candidates(Xc, Itot, M[s])
                        b = int(np.argmin(e))
                        if e[b] < err * (1 - 1e-10):
                            err = float(e[b])
                            counts[k][idx[s, j, k]] -= 1
                            counts[k][levels[b]] += 1
                            idx[s, j, k] = levels[b]
                            X[s] = Xc[b]
                            Itot = Itot - M[s] + Mc[b]
                            M[s] = Mc[b]
                            improved = True
                if m > 1:
                    moved, err, Itot = self._swaps(s, idx, X, M, Itot, err)
                    improved |= moved
            # refresh the running sum against round-off; stop when a pass gains less than 1e-6
            Itot = M.sum(axis=0)
            before, err = err_pass, float(self.objective(Itot[None])[0])
            if not improved or err > before * (1 - 1e-6):
                break
        return idx, err, passes


def full_factorial_design(spec: DesignSpec) -> np.ndarray:
    """One task per feasible profile; alternative j shifts every attribute's level by j (Street & Burgess).

    Returns the (S, m, A) level indices: S feasible profiles, m alternatives, A attributes.
    """
    if spec.n_profiles > 4096:
        raise DCEError(f"{spec.source}: key 'method': a full factorial of {spec.n_profiles} profiles is too "
                       f"large; use coordinate_exchange")
    prof = spec.all_profiles()
    prof = prof[~spec.violates(prof)]
    L = spec.n_levels
    levels = np.stack([(prof + j) % L for j in range(spec.alternatives)], axis=1)
    bad = spec.violates(levels)
    if bad.any():
        s, j = map(int, np.argwhere(bad)[0])
        raise DCEError(f"{spec.source}: key 'method': the shifted profile {spec.labels_of(levels[s, j])} of the "
                       f"full factorial breaks a constraint; use coordinate_exchange")
    pid = levels @ spec.strides
    for s in range(len(pid)):
        if len(set(pid[s].tolist())) < spec.alternatives:
            raise DCEError(f"{spec.source}: key 'method': the full factorial repeats an alternative within a "
                           f"task (more alternatives than levels); use coordinate_exchange")
    return levels


def block_features(levels: np.ndarray, n_levels) -> np.ndarray:
    """Per task, how often each level of each attribute appears among its designed alternatives.

    ``levels`` (S, m, A) level indices, ``n_levels`` (A,) -> (S, sum(n_levels)) counts.
    """
    S = levels.shape[0]
    feats = []
    for k, L in enumerate(n_levels):
        f = np.zeros((S, L))
        for l in range(L):
            f[:, l] = (levels[:, :, k] == l).sum(axis=1)
        feats.append(f)
    return np.concatenate(feats, axis=1)


def assign_blocks(levels: np.ndarray, n_levels, n_blocks: int, rng: np.random.Generator,
                  restarts: int = 20) -> np.ndarray:
    """Blocks 1..B of equal size whose level counts are as close as possible to the design's average.

    Minimises the sum over blocks, attributes and levels of the squared deviation of the count from
    its share, by best pairwise swaps from several random equal splits.

    Parameters
    ----------
    levels : numpy.ndarray
        (S, m, A) level indices of the designed alternatives.
    n_levels : sequence of int
        (A,) levels per attribute.
    n_blocks : int
        B; S must be a multiple of it.
    rng : numpy.random.Generator
        Draws the random starting splits.
    restarts : int
        Number of random starting splits.

    Returns
    -------
    numpy.ndarray
        (S,) int64 block numbers 1..B.
    """
    S = levels.shape[0]
    if n_blocks <= 1:
        return np.ones(S, dtype=np.int64)
    F = block_features(levels, n_levels)
    target = F.sum(axis=0) / n_blocks
    size = S // n_blocks
    best, best_obj = None, np.inf
    for _ in range(restarts):
        block = np.repeat(np.arange(n_blocks), size)
        rng.shuffle(block)
        C = np.stack([F[block == b].sum(axis=0) for b in range(n_blocks)]) - target
        for _ in range(10 * S):
            D = F[None, :, :] - F[:, None, :]               # D[s, t] = F[t] - F[s]: s leaves, t joins
            Cs, Ct = C[block], C[block]
            # moving t into s's block and s into t's block
            delta = (2 * np.einsum("stf,sf->st", D, Cs) - 2 * np.einsum("stf,tf->st", D, Ct)
                     + 2 * np.einsum("stf,stf->st", D, D))
            delta[block[:, None] == block[None, :]] = np.inf
            s, t = np.unravel_index(int(np.argmin(delta)), delta.shape)
            if delta[s, t] >= -1e-12:
                break
            bs, bt = block[s], block[t]
            C[bs] += F[t] - F[s]
            C[bt] += F[s] - F[t]
            block[s], block[t] = bt, bs
        obj = float((C**2).sum())
        if obj < best_obj - 1e-12:
            best, best_obj = block.copy(), obj
    return best + 1


def _search_context(spec, B, backend, balance=None):
    """The search state, built once per worker process of :func:`dce.runner.run`."""
    return _Search(spec, B, backend=backend, balance=balance)


def _search_start(ctx, max_passes, stream):
    """One start of the coordinate exchange from its own stream: ``(levels, error, passes, backend)``."""
    idx, err, npass = ctx.run(np.random.default_rng(stream), max_passes=max_passes)
    return idx, err, npass, ctx.backend


def _search(spec, B, start_ss, max_passes, backend, workers, scheduler, progress, search, balance=None):
    """Coordinate exchange from one random start per stream of ``start_ss`` (through :func:`dce.runner.run`);
    returns the levels of the best start and records every start's error and passes in ``search``."""
    out = run(_search_start, [int(max_passes)] * len(start_ss), start_ss,
              setup=functools.partial(_search_context, spec, B, backend, balance), workers=workers,
              scheduler=scheduler, progress=progress)
    best, best_err, errors, passes = None, np.inf, [], []
    for idx, err, npass, used in out:
        errors.append(err)
        passes.append(npass)
        if err < best_err:
            best, best_err = idx.copy(), err
    search.update(starts=len(start_ss), errors=errors, passes=passes, objective=best_err, backend=used)
    return best


def make_design(spec: DesignSpec, seed: int | None = None, starts: int = 10, draws: int | None = None,
                max_passes: int = 50, block_restarts: int = 20, progress=None, backend: str = "auto",
                workers: int | None = 1, scheduler: str | None = None) -> Design:
    """Make a D-efficient design for ``spec`` by coordinate exchange (or the shifted full factorial).

    Parameters
    ----------
    spec : DesignSpec
        The design file: attributes, alternatives, tasks, blocks, prior, constraints.
    seed : int, optional
        Seed of every random step (None: a fresh one, recorded in ``design.seed``).
    starts : int
        Random starts of the coordinate exchange; the lowest (Bayesian) D-error wins.
    draws : int, optional
        Prior draws R for a Bayesian prior (default ``spec.draws``).
    max_passes : int
        Passes over the design per start at most.
    block_restarts : int
        Random starting splits of the blocking (:func:`assign_blocks`).
    progress : callable, optional
        ``progress(done, starts)``, called as starts finish.
    backend : {"auto", "numba", "numpy"}
        The candidate kernel (:func:`dce.util.backend.choose_backend`); both give the same errors to
        round-off, but round-off can steer the search, so the same seed gives the same design for the
        same backend.
    workers, scheduler
        Where the starts run (:func:`dce.runner.run`): local processes (default 1: this process; None:
        every core) or a Dask scheduler.  Start ``i`` draws from stream ``2 + i`` of the seed, so the
        design does not depend on where the starts ran.

    Returns
    -------
    Design
        ``levels`` (S, m, A) in block order; ``search`` records the method, draws, starts, the error of
        every start, passes and seconds.  ``spec.method == 'full_factorial'`` gives the shifted full
        factorial instead of a search.

    Raises
    ------
    dce.errors.ArgumentError
        A bad ``seed``, ``starts`` or ``backend``.
    """
    t0 = time.perf_counter()
    seed = resolve_seed(seed)
    starts = whole_number(starts, "starts", 1)
    draw_ss, block_ss, *start_ss = streams(seed, 2 + starts)
    R = int(draws if draws is not None else spec.draws)
    B = prior_draws(spec.prior_mean, spec.prior_sd, R, spec.draw_type, seed=draw_ss) if spec.bayesian \
        else spec.prior_mean[None, :]
    search = {"method": spec.method, "seed": seed, "draws": int(B.shape[0]), "draw_type": spec.draw_type
              if spec.bayesian else None}
    if spec.method == "full_factorial":
        levels = full_factorial_design(spec)
        search.update(starts=0, errors=[], passes=[])
    else:
        levels = _search(spec, B, start_ss, max_passes, backend, workers, scheduler, progress, search)
    search["level_balance"] = spec.level_balance if spec.method != "full_factorial" else "off"
    if search["level_balance"] != "off":
        free = {}
        _search(spec, B, start_ss, max_passes, backend, workers, scheduler, None, free, balance="off")
        search["unconstrained_objective"] = free["objective"]
        search["balance_price"] = search["objective"] / free["objective"] - 1.0
    if search["level_balance"] == "strict":         # the blocks are the groups the search balanced
        block = np.repeat(np.arange(1, spec.blocks + 1), spec.tasks // spec.blocks)
    else:
        block = assign_blocks(levels, spec.n_levels, spec.blocks, np.random.default_rng(block_ss),
                              restarts=block_restarts)
    order = np.argsort(block, kind="stable")
    levels, block = levels[order], block[order]
    search["seconds"] = time.perf_counter() - t0
    return Design(spec=spec, levels=levels, block=block, task_ids=np.arange(1, len(block) + 1), seed=seed,
                  search=search)
