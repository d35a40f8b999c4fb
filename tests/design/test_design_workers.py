"""The starts of the design search go through the replication runner: the same design whatever runs them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_design_starts_in_worker_processes_give_the_same_design():
    from dce.design.generate import make_design
    from dce.design.spec import load_design_spec

    spec = load_design_spec(ROOT / "designs" / "generic_2x4.yaml")
    here = make_design(spec, seed=12, starts=4, workers=1)
    seen = []
    pool = make_design(spec, seed=12, starts=4, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(here.levels, pool.levels) and np.array_equal(here.block, pool.block)
    assert here.search["errors"] == pool.search["errors"]
    assert seen[-1] == (4, 4)
