"""`dce power` on the New Deal design: time with 1 and 2 local workers and on a 2-worker Dask cluster.

    python benchmarks/bench_power.py [--replications 200] [--sizes 50,100,200,400] [--repeat 1] [--skip-dask]
                                     [--skip-numba]

The conditional logit planned for the New Deal study (designs/newdeal.yaml, examples/newdeal/design.csv),
SIMULATED responses from examples/newdeal/truth.yaml, 4 sample sizes x 200 replications (800 simulated
surveys, each read back as a survey export and fitted).  Prints the wall time of the whole analysis
(library call, best of --repeat) with 1 worker (this process), 2 local worker processes and a 2-worker
Dask LocalCluster on this machine (its start-up time printed apart), the speed-up of 2 workers over 1, a
check that the three give identical results, and the load average of the machine before and after (the
machine may be shared: the load says how much of it the benchmark had).

Then the numba check (--skip-numba to leave it out): a mixed logit (its likelihood kernel is compiled
with numba) fitted in 8 tasks by 2 local worker processes started cold (``spawn``), each task recording
whether the kernel had been compiled in its process before it ran and how long it took: the kernel is
compiled (or loaded from numba's disk cache) once per worker process, by its first task.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load():
    from dce.data.simulate import load_truth
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    design = read_design_csv(ROOT / "examples" / "newdeal" / "design.csv", spec)
    return design, load_truth(ROOT / "examples" / "newdeal" / "truth.yaml", spec)


def timed(design, truth, sizes, R, repeat, **where):
    from dce.models.mnl import ConditionalLogit
    from dce.power import power_analysis

    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = power_analysis(design, ConditionalLogit(), sizes, R, seed=2024, truth=truth, **where)
        best = min(best, time.perf_counter() - t0)
    return best, {k: v for k, v in out.items() if k not in ("seconds", "ran_on")}


def cpu_seconds():
    """CPU time of this process and of its finished children (the worker processes, once joined)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load_avg():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------- numba once per worker
def _mixed_setup():
    from dce.data.simulate import prior_truth, simulate_responses
    from dce.data.survey import choice_data_from_survey

    design, _ = load()
    truth = prior_truth(design.spec)
    truth["random"] = {"asc_status_quo": ("n", 1.0)}
    data, _ = choice_data_from_survey(simulate_responses(design, truth, 60, 1), design)
    return data


def _mixed_task(data, i, stream):
    from dce.models.mixed import kernels
    from dce.models.mixed.model import MixedLogit

    before = len(kernels.panel_kernel.signatures)
    t0 = time.perf_counter()
    MixedLogit(random={"asc_status_quo": "n"}, draws=50, seed=i, threads=1).fit(data)
    return os.getpid(), before, time.perf_counter() - t0


def numba_check():
    from dce.runner import run

    try:
        import numba  # noqa: F401
    except ImportError:
        print("numba is not installed: nothing to compile")
        return
    out = run(_mixed_task, range(8), 1, setup=_mixed_setup, workers=2, start_method="spawn", chunksize=1)
    by_pid = {}
    for pid, before, secs in out:
        by_pid.setdefault(pid, []).append((before, secs))
    print("\nnumba: a mixed logit in 8 tasks on 2 cold (spawned) worker processes")
    for pid, rows in by_pid.items():
        compiled = sum(1 for b, _ in rows if b == 0)
        first, rest = rows[0][1], [s for _, s in rows[1:]]
        print(f"  worker {pid}: {len(rows)} tasks, kernel compiled or loaded by {compiled} task(s) (the first); "
              f"first task {first:.2f} s, the others {min(rest, default=float('nan')):.2f}-"
              f"{max(rest, default=float('nan')):.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--sizes", default="50,100,200,400")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-numba", action="store_true")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    design, truth = load()
    from dce.util.backend import usable_cpus

    print(f"New Deal design, conditional logit, {len(sizes)} sizes ({a.sizes}) x {a.replications} replications; "
          f"{usable_cpus()} usable cores; load average before {load_avg()}")
    print("  (CPU: seconds of CPU the run used, all its processes; cores had = CPU / wall: under 2 when other "
          "programs share the cores)")
    c0 = cpu_seconds()
    t1, r1 = timed(design, truth, sizes, a.replications, a.repeat, workers=1)
    c1 = (cpu_seconds() - c0) / a.repeat
    print(f"  1 worker (this process)      {t1:7.2f} s   CPU {c1:6.1f} s   cores had {c1 / t1:4.2f}   load {load_avg()}")
    c0 = cpu_seconds()
    t2, r2 = timed(design, truth, sizes, a.replications, a.repeat, workers=2)
    c2 = (cpu_seconds() - c0) / a.repeat
    print(f"  2 local worker processes     {t2:7.2f} s   CPU {c2:6.1f} s   cores had {c2 / t2:4.2f}   load {load_avg()}   "
          f"speed-up {t1 / t2:.2f}x")
    same = r1 == r2
    if not a.skip_dask:
        try:
            from distributed import LocalCluster
        except ImportError:
            print('  Dask: dask.distributed is not installed (pip install "dce[dask]")')
        else:
            t0 = time.perf_counter()
            c0 = cpu_seconds()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=50) as c:
                start = time.perf_counter() - t0
                t3, r3 = timed(design, truth, sizes, a.replications, a.repeat, scheduler=c.scheduler_address)
            c3 = cpu_seconds() - c0
            print(f"  2-worker Dask LocalCluster   {t3:7.2f} s   CPU {c3:6.1f} s   (with the cluster's start-up "
                  f"{start:.1f} s, not in the time)   load {load_avg()}   speed-up {t1 / t3:.2f}x")
            same = same and r1 == r3
    print(f"  identical results: {'yes' if same else 'NO'}")
    weak = {t["name"]: t for t in r1["targets"]}["delegation[nurse and other providers]"]
    print(f"  e.g. delegation[nurse and other providers]: power {', '.join(f'{p:.1%}' for p in weak['power'])}; "
          f"n80 {weak['n80']} (analytic {weak['analytic_n80']}); failed fits {sum(r1['failed'])}")
    if not a.skip_numba:
        numba_check()


if __name__ == "__main__":
    main()
