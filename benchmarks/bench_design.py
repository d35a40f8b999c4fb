"""Benchmark of `dce design`: time against efficiency.

    python benchmarks/bench_design.py            # everything (a few minutes)
    python benchmarks/bench_design.py --quick    # the New Deal target and a short sweep

Prints, with wall time and peak memory (resident set size of this process, and tracemalloc's peak of
Python/numpy allocations during each run):

1. the New Deal design (designs/newdeal.yaml: Bayesian prior, 200 Halton draws, 2 alternatives + status
   quo, 24 tasks) with 10 starts, against the target of 10 s; the numba kernel's one-off compilation is
   timed separately (it is cached on disk);
2. the same search with the pure-numpy backend, side by side (the ratio is numpy / numba time);
3. the best of many random feasible designs drawn in the same time as the search, as a baseline
   (efficiency = D-error of the search / D-error of the best random design, higher is better for ours);
4. more starts (time against Bayesian D-error);
5. larger designs: 8 attributes with 4 levels each (dummy coded, 24 parameters), utility-neutral with
   the Street & Burgess efficiency, and with a Bayesian prior of 200 draws;
6. the two known optimal generic designs (2^4 in pairs, 3^3 in triples): Street & Burgess efficiency.

No installable peer design generator runs in this environment (choicedesign 0.1.6 on PyPI pins
numpy < 2 and biogeme; Ngene and idefix are not Python), so the comparisons are against our own numpy
path, random designs and the Street & Burgess optimum.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dce.design.diagnostics import draws_for, evaluate  # noqa: E402
from dce.design.generate import _Search, make_design  # noqa: E402
from dce.design.info import d_errors, information  # noqa: E402
from dce.design.spec import load_design_spec, parse_design_spec  # noqa: E402


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    """Wall time of fn() (no tracing: tracemalloc would slow the Python loop)."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t, rss_mb()


def traced_peak(fn):
    """Peak of Python/numpy allocations during fn() (tracemalloc), in MB."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def row(*cells, widths=(44, 10, 14, 14, 12)):
    print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))))


def random_baseline(spec, seconds, seed=0):
    """Best Bayesian D-error of random feasible designs drawn for ``seconds``."""
    B = draws_for(spec, seed, spec.draws)
    ctx = _Search(spec, B, backend="numpy")
    rng = np.random.default_rng(seed)
    best, n, t0 = np.inf, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        idx = np.stack([ctx.random_task(rng) for _ in range(spec.tasks)])
        e = float(np.mean(d_errors(information(ctx.code(idx), B))))
        best, n = min(best, e), n + 1
    return best, n


def big_spec(bayesian):
    prior = ""
    attrs = ""
    rng = np.random.default_rng(8)
    for k in range(8):
        if bayesian:
            mean = np.round(np.sort(rng.uniform(-1, 1, 3)), 2).tolist()
            prior = f", prior: {{mean: {mean}, sd: [0.2, 0.2, 0.2]}}"
        attrs += f"  x{k}: {{levels: [a, b, c, d], coding: dummy{prior}}}\n"
    return parse_design_spec(f"name: big\nalternatives: 2\ntasks: 32\nblocks: 4\ndraws: 200\nattributes:\n{attrs}",
                             source="8x4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    print(f"machine: {resource.getpagesize()} B pages; numpy {np.__version__}")
    print("\n1-3. New Deal design: Bayesian prior, 200 Halton draws, 10 starts, seed 1")
    t = time.perf_counter()
    make_design(spec, seed=99, starts=1, draws=5)
    print(f"  numba compilation / first call: {time.perf_counter() - t:.2f} s (cached on disk afterwards)")
    row("run", "seconds", "Bayesian D", "RSS MB", "")
    d, sec, rss = timed(lambda: make_design(spec, seed=1, starts=10))
    db = evaluate(d)["d_error"]
    row(f"dce design, {d.search['backend']} kernel", f"{sec:.2f}", f"{db:.6f}", f"{rss:.0f}", "")
    print(f"  target: under 10 s -> {'met' if sec < 10 else 'NOT met'}")
    print(f"  peak traced allocations of one start: {traced_peak(lambda: make_design(spec, seed=1, starts=1)):.1f} MB")
    if not args.quick:
        d2, sec2, rss2 = timed(lambda: make_design(spec, seed=1, starts=10, backend="numpy"))
        db2 = evaluate(d2)["d_error"]
        row("dce design, numpy backend", f"{sec2:.2f}", f"{db2:.6f}", f"{rss2:.0f}", "")
        print(f"  numpy / numba time ratio: {sec2 / sec:.2f}")
    best_rand, n_rand = random_baseline(spec, sec)
    row(f"best of {n_rand} random feasible designs", f"{sec:.2f}", f"{best_rand:.6f}", "", "")
    print(f"  relative D-efficiency of the search against the random baseline: {best_rand / db:.3f}")

    print("\n4. New Deal: more starts")
    row("starts", "seconds", "Bayesian D", "best start", "worst start")
    for starts in ((5, 10) if args.quick else (5, 10, 20, 40)):
        dd, sec, _ = timed(lambda: make_design(spec, seed=2, starts=starts))
        errs = dd.search["errors"]
        row(f"{starts}", f"{sec:.2f}", f"{evaluate(dd)['d_error']:.6f}", f"{min(errs):.6f}", f"{max(errs):.6f}")

    if not args.quick:
        print("\n5. Larger designs: 8 attributes x 4 levels (24 parameters), 2 alternatives, 32 tasks, 4 blocks")
        row("design", "seconds", "D-error", "S&B eff.", "RSS MB")
        neutral = big_spec(False)
        for starts in (1, 3, 5):
            dd, sec, rss = timed(lambda: make_design(neutral, seed=3, starts=starts))
            r = evaluate(dd)
            row(f"utility-neutral, {starts} starts", f"{sec:.2f}", f"{r['d_error']:.6f}",
                f"{100 * r['sb_efficiency']:.2f}%", f"{rss:.0f}")
        bayes = big_spec(True)
        for starts in (1, 3):
            dd, sec, rss = timed(lambda: make_design(bayes, seed=3, starts=starts))
            r = evaluate(dd)
            row(f"Bayesian 200 draws, {starts} starts", f"{sec:.2f}", f"{r['d_error']:.6f}",
                f"{100 * r['sb_efficiency']:.2f}% (neutral)", f"{rss:.0f}")

    print("\n6. Known optimal generic designs (Street & Burgess efficiency, utility-neutral)")
    row("design", "seconds", "D-error", "S&B eff.", "starts")
    for n_attr, n_lev, m, tasks, starts in ((4, 2, 2, 8, 5), (3, 3, 3, 9, 40)):
        attrs = "".join(f"  a{k}: {{levels: {list(range(n_lev))}, coding: effects}}\n" for k in range(n_attr))
        s = parse_design_spec(f"alternatives: {m}\ntasks: {tasks}\nattributes:\n{attrs}")
        dd, sec, _ = timed(lambda: make_design(s, seed=7, starts=starts))
        r = evaluate(dd)
        row(f"{n_lev}^{n_attr}, {m} alternatives, {tasks} tasks", f"{sec:.2f}", f"{r['d_error']:.6f}",
            f"{100 * r['sb_efficiency']:.2f}%", f"{starts}")
        hit = np.mean(np.isclose(dd.search["errors"], min(dd.search["errors"]), rtol=1e-6))
        print(f"  share of starts reaching the best design: {hit:.2f}")


if __name__ == "__main__":
    main()
