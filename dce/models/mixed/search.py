"""The global search of a mixed logit (and of one in willingness-to-pay space): the default fit.

The simulated likelihood of a mixed logit often has several optima, and which one a single start reaches
depends on the start.  :func:`search` therefore

1. makes ``search`` candidate starts: the model's default start (the conditional logit's estimates, small
   spreads), the solution of the same model in the other space where the model has one (a WTP-space model:
   the preference-space mixed logit with the price fixed, mapped to WTPs and scale), and random points
   around the default start;
2. screens each cheaply: maximised with few draws (``screen_draws``, 100) and a loose tolerance;
3. refines the best distinct screened optima (``refine``, 2; candidates whose screened optima coincide are
   one basin, refined once) with the full draws and the model's tolerance;
4. where the likelihood looks rugged (the screen found :data:`RUGGED` or more distinct optima, or the
   refined candidates reached different optima with the full draws), hops: random points around the best
   optimum so far, each maximised with the full draws, in rounds of ``hop_batch`` until the best has been
   reached ``confirm`` times with the full draws or ``max_hops`` hops were made.  (With many draws the
   optima of a rugged likelihood lie close together and the screen's few draws cannot tell them apart:
   the hops, with the full draws, do.)

Every stage goes through :func:`dce.runner.run` in fixed rounds, so the result is the same wherever it
runs.  On this machine the screen runs ``threads`` candidates at a time in threads of this process (the
kernel releases the GIL), and the refinements and hops, with the full draws, run one after another with
every thread of the kernel on the problem this process built already: no worker process to start, no
second copy of the draws, the kernel loaded once.  With a Dask scheduler every stage goes to its workers.
The draws and the search's random points come from
two children of one ``SeedSequence(seed)`` (:func:`draws_seed`, :func:`search_stream`): a search of
another size, or another ``search_seed``, moves no draw.  A run counts as converged only when the engine
converged (a start that stops at the iteration limit is not); the reported estimates are those of the
best converged run (of the best run where none converged: the fit is then not converged, exit status 3).

The report (:func:`describe`) says how many candidates were screened, refined and hopped, how many
reached the best log-likelihood (within :data:`SAME`; a refined candidate counts with the screened
candidates of its basin), the spread, and warns when the best was reached only once.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import math
import time

import numpy as np

from dce.models.base import SAME_OPTIMUM, reached_best

SAME = SAME_OPTIMUM    # log-likelihoods this close are the same optimum
SCREEN_SAME = 1e-3     # screened optima this close are one basin (the screen's tolerance is loose)
RUGGED = 3             # distinct screened optima from which the likelihood counts as rugged (hops follow)
ONCE_WARNING = ("the best log-likelihood was reached by only one candidate of the search: it may not be the "
                "global maximum: run with more starts")


def draws_seed(seed) -> int:
    """The seed of the simulation draws: child 0 of ``SeedSequence(seed)``."""
    return int(np.random.SeedSequence(int(seed)).spawn(2)[0].generate_state(1)[0])


def search_stream(seed) -> np.random.SeedSequence:
    """The random stream of the search's candidates: child 1 of ``SeedSequence(seed)``."""
    return np.random.SeedSequence(int(seed)).spawn(2)[1]


def search(model, problem, data, seed):
    """Screen ``model.search`` candidates, refine the best ``model.refine`` distinct ones, hop around the best;
    returns the runs with the full draws (the base's ``_multistart`` format) and keeps the search's record
    in ``model._search``."""
    from dce.util.seeds import child

    t0 = time.perf_counter()
    n = int(model.search)
    ss = search_stream(seed if model.search_seed is None else model.search_seed)
    kinds = model._candidate_kinds(n)
    worker, where, cores = _worker(model, n)
    screen_draws = min(model.draws, model.screen_draws)
    screened = _run(_screen_task, list(enumerate(kinds)), [child(ss, 0, i) for i in range(n)],
                    functools.partial(_screen_context, worker, data, seed, screen_draws, cores), where)
    t1 = time.perf_counter()
    # the best distinct screened optima, best first (optima closer than SCREEN_SAME are one basin)
    # (converged ones only, where any converged: a candidate at the screen's iteration limit is no optimum)
    conv = [i for i in range(n) if np.isfinite(screened[i]["loglik"]) and screened[i]["converged"]]
    pool = conv or [i for i in range(n) if np.isfinite(screened[i]["loglik"])]
    order = sorted(pool, key=lambda i: -screened[i]["loglik"])
    reps, basin = [], [None] * n
    for i in order:
        for r in reps:
            if abs(screened[i]["loglik"] - screened[r]["loglik"]) < SCREEN_SAME:
                basin[i] = r
                break
        else:
            basin[i] = i
            reps.append(i)
    chosen = reps[:max(1, int(model.refine))] or [0]
    if model.refine_given:      # starts given: that many refined (the next best screened candidates fill up)
        chosen += [i for i in order if i not in chosen][:max(0, int(model.refine) - len(chosen))]
    refine_ctx = functools.partial(_refine_context, worker, data, seed)
    here = lambda: (model, problem, data)       # noqa: E731  (the full-draw problem of this process)
    outs = _run(_refine_task, [screened[i]["x"] for i in chosen], [child(ss, 1, i) for i in chosen], refine_ctx,
                where, here)
    runs = [_record(i, "refined", opt, its) for i, (opt, its) in zip(chosen, outs)]
    for r in runs:      # a refined candidate and the screened candidates of its basin not refined themselves
        r["basin"] = 1 + sum(1 for i, b in enumerate(basin) if b == r["start"] and i not in chosen)
    t2 = time.perf_counter()
    # hops where the likelihood looks rugged (the screen found RUGGED or more distinct optima, or the refined
    # candidates reached different optima with the full draws): random points around the best optimum so
    # far, each maximised with the full draws, in rounds of HOP_BATCH (the same rounds wherever they run)
    # until the best has been reached CONFIRM times with the full draws, or MAX_HOPS hops
    hops = 0
    full = [r["loglik"] for r in runs if r["opt"] is not None and r["opt"].converged]
    rugged = len(reps) >= RUGGED or (len(full) > 1 and max(full) - min(full) > SAME)
    while rugged and hops < model.max_hops:
        best = _best(runs)
        if best is None or reached_best(runs, best["loglik"]) >= model.confirm:
            break
        batch = list(range(hops, min(hops + model.hop_batch, model.max_hops)))
        outs = _run(_hop_task, [best["opt"].x] * len(batch), [child(ss, 2, h) for h in batch], refine_ctx, where,
                    here)
        runs += [_record(n + h, f"around the best (hop {h + 1})", opt, its) for h, (opt, its) in zip(batch, outs)]
        hops = batch[-1] + 1
    t3 = time.perf_counter()
    model._search = {"screened": screened, "kinds": kinds, "chosen": chosen, "runs": runs, "basin": basin,
                     "screen_draws": screen_draws, "hops": hops, "distinct": len(reps),
                     "seed": int(seed if model.search_seed is None else model.search_seed),
                     "seconds": {"screen": t1 - t0, "refine": t2 - t1, "hops": t3 - t2}}
    return runs


def _worker(model, n):
    """The copy of the model that runs the screen (and, on Dask, every stage), where the screen runs, and
    the cores its candidates share (None on Dask): locally in threads of this process, as many as
    ``threads`` (candidates run at once, the kernel's threads shared out among them; ``workers`` counts
    processes, and the search starts none)."""
    from dce.util.backend import resolve_threads

    worker = copy.copy(model)
    worker.callback, worker.workers, worker.scheduler = _stop_check, 1, None
    if model.scheduler is not None:
        worker.threads = 1
        return worker, dict(workers=None, scheduler=model.scheduler), None
    cores = resolve_threads(model.threads)
    w = max(1, min(cores, n))
    worker.threads = max(1, cores // w)
    return worker, dict(workers=w, scheduler=None, threads=True), cores


def _stop_check(*args, **kwargs):
    """The workers' iteration callback: a candidate in a screening thread ends at its next iteration when
    the run is being stopped (Ctrl-C, or another candidate failed)."""
    from dce.runner import Stopped, stopping

    if stopping():
        raise Stopped("the search was stopped")


def _run(fn, tasks, streams, setup, where, here=None):
    """:func:`dce.runner.run`.  Tasks with the full draws (``here`` given: this process's model and problem,
    built already) run here one after another, each with every thread of the kernel, unless a Dask
    scheduler takes them (``setup()`` builds their context there)."""
    from dce.runner import run

    if here is not None and where["scheduler"] is None:
        return run(fn, tasks, streams, setup=here, workers=1)
    return run(fn, tasks, streams, setup=setup, **where)


def _record(i, origin, opt, its):
    return {"start": i, "origin": origin, "opt": opt, "iterations": its,
            "loglik": float(opt.loglik) if opt is not None and np.isfinite(opt.loglik) else -math.inf}


def _best(runs):
    """The best run: the best converged one where any converged (a start at the iteration limit is not)."""
    ok = [r for r in runs if r["opt"] is not None and np.isfinite(r["loglik"])]
    conv = [r for r in ok if r["opt"].converged]
    pool = conv or ok
    return max(pool, key=lambda r: r["loglik"]) if pool else None


def _screen_context(model, data, seed, screen_draws, cores=None):
    """A worker's screening model (few draws, loose tolerance) and its problem, built once per worker.  The
    start values are the model's (computed before the search; on a cluster they travel with it).  With
    ``cores`` (candidates screened in threads of this process), the kernel's threads are shared out among
    the candidates running at once (:class:`dce.util.threads.ThreadShare`)."""
    from dce.util.threads import ThreadShare

    m = copy.copy(model)
    m.draws, m.maxiter, m.tol = screen_draws, model.screen_maxiter, model.screen_tol
    problem = m._prepare(data, seed)
    if getattr(m, "_theta0", None) is None:
        m._before_starts(problem, data)
    if cores is not None and problem.backend == "numba":
        problem.share = ThreadShare(cores)
    return m, problem, data, seed


def _screen_task(ctx, task, stream):
    m, problem, data, seed = ctx
    i, kind = task
    theta0 = m._candidate(problem, data, kind, np.random.default_rng(stream), seed)
    out = {"kind": kind, "x": None, "loglik": -math.inf, "iterations": 0, "converged": False}
    if theta0 is None:
        out["kind"] = kind + " (not available)"
        return out
    with problem.share or contextlib.nullcontext():
        opt, its = m._optimize(problem, np.asarray(theta0, float), "")
    if opt is not None:
        out.update(x=m._normalise(problem, opt.x), loglik=float(opt.loglik), iterations=int(its),
                   converged=bool(opt.converged))
    return out


def _refine_context(model, data, seed):
    problem = model._prepare(data, seed)
    model._before_starts(problem, data)
    return model, problem, data


def _refine_task(ctx, x, stream):
    m, problem, data = ctx
    return m._optimize(problem, np.asarray(m._theta0 if x is None else x, float), "")


def _hop_task(ctx, x, stream):
    m, problem, data = ctx
    return m._optimize(problem, m._hop(np.asarray(x, float), np.random.default_rng(stream)), "")


def describe(result, info, best):
    """JSON ``search`` (and ``starts``: the runs with the full draws), the search's table, a summary row, and
    the warning when the best was reached only once."""
    from dce.tables import Column, Table

    screened, runs = info["screened"], info["runs"]
    n = len(screened)
    lls = [r["loglik"] for r in runs if np.isfinite(r["loglik"])]
    top = best["loglik"]
    full = reached_best(runs, top)
    # a refined candidate that reached the best counts with the screened candidates of its basin
    reached = reached_best(runs, top, weight=lambda r: r.get("basin", 1))
    conv = [r for r in runs if r["opt"] is not None and r["opt"].converged]
    conv_screen = sum(1 for s in screened if s["converged"])
    sl = [s["loglik"] for s in screened if np.isfinite(s["loglik"])]
    refined = [r for r in runs if r["origin"] == "refined"]
    rows = []
    for i, s in enumerate(screened):
        r = next((r for r in refined if r["start"] == i), None)
        rows.append(_row(i + 1, s["kind"], s, r, top))
    for r in runs[len(refined):]:
        rows.append(_row(r["start"] + 1, r["origin"], None, r, top))
    result.info["search"] = {
        "candidates": n, "screen_draws": int(info["screen_draws"]), "screened_converged": conv_screen,
        "refined": len(refined), "hops": int(info["hops"]), "full_draw_runs": len(runs), "converged": len(conv),
        "reached_best": int(reached), "reached_best_full_draws": int(full), "distinct_screened": info["distinct"],
        "best": int(best["start"]) + 1, "seconds": info["seconds"], "seed": info.get("seed"),
        "spread": (max(lls) - min(lls)) if lls else None,
        "screen_spread": (max(sl) - min(sl)) if sl else None, "rows": rows}
    result.info["starts"] = {"n": len(runs), "logliks": [_num(r["loglik"]) for r in runs],
                             "best": int(best["start"]) + 1, "spread": (max(lls) - min(lls)) if lls else None,
                             "reached_best": int(full)}
    t = Table(f"Global search: {n} candidates screened with {info['screen_draws']:,} draws; the best {len(refined)} "
              f"refined and {info['hops']} hops around the best, with the full draws",
              [Column("candidate"), Column("origin"), Column("screened log-lik.", "f4"), Column("iter.", "int"),
               Column("conv.", "yesno"), Column("full-draw log-lik.", "f4"), Column("iter. ", "int"),
               Column("conv. ", "yesno"), Column("best", "yesno")], key="search")
    for row in rows:
        t.add_row(row["candidate"], row["origin"], row["screen_loglik"], row["screen_iterations"],
                  row["screen_converged"], row["loglik"], row["iterations"], row["converged"], row["reached_best"])
    t.notes.append(f"best: reached the best log-likelihood (within {SAME:g}) with the full draws, converged; a run "
                   "that stops at the iteration limit is not converged. Screened candidates whose screened optima "
                   f"coincide (within {SCREEN_SAME:g}) are one basin, refined once: {info['distinct']} distinct")
    for i, b in enumerate(info["basin"]):
        if b is not None and b != i and b in {r["start"] for r in refined}:
            rows[i]["same_basin_as"] = b + 1
    result.tables.append(t)
    spread = f"; full-draw log-likelihoods {min(lls):.3f} to {max(lls):.3f}" if len(lls) > 1 else ""
    result.fit_rows.append(("global search", f"{n} candidates screened ({conv_screen} converged, "
                                            f"{info['screen_draws']:,} draws); {len(refined)} refined and "
                                            f"{info['hops']} hops with the full draws ({len(conv)} of {len(runs)} "
                                            f"converged); the best reached by {reached} candidate"
                                            f"{'s' if reached != 1 else ''} ({full} with the full draws, the others "
                                            f"through the screen){spread}"))
    if reached <= 1:
        result.warnings.append(ONCE_WARNING)


def _row(i, origin, s, r, top):
    conv = bool(r["opt"] is not None and r["opt"].converged) if r is not None else None
    return {"candidate": i, "origin": origin,
            "screen_loglik": _num(s["loglik"]) if s is not None else None,
            "screen_iterations": s["iterations"] if s is not None else None,
            "screen_converged": s["converged"] if s is not None else None,
            "loglik": _num(r["loglik"]) if r is not None else None,
            "iterations": r["iterations"] if r is not None else None, "converged": conv,
            "reached_best": bool(conv and abs(r["loglik"] - top) < SAME) if r is not None else None}


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None
