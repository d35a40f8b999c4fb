"""The starts of a model fit go through the replication runner: the same fit in this process and in local
worker processes (each builds the problem once)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_mixed_logit_starts_in_worker_processes_give_the_same_fit():
    from dce.data.simulate import prior_truth, simulate_responses
    from dce.data.survey import choice_data_from_survey
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec
    from dce.models.mixed.model import MixedLogit

    design = read_design_csv(ROOT / "examples" / "newdeal" / "design.csv",
                             load_design_spec(ROOT / "designs" / "newdeal.yaml"))
    truth = prior_truth(design.spec)
    truth["random"] = {"asc_status_quo": ("n", 1.0)}
    data, _ = choice_data_from_survey(simulate_responses(design, truth, 80, 4), design)

    def fit(workers):
        return MixedLogit(random={"asc_status_quo": "n"}, draws=40, starts=3, seed=5, workers=workers).fit(data)

    here, pool = fit(1), fit(2)
    assert np.array_equal(here.estimates, pool.estimates)
    assert here.info["starts"] == pool.info["starts"]
    assert np.array_equal(here.vcov, pool.vcov)


def test_latent_class_starts_in_worker_processes_give_the_same_fit():
    from dce.data.simulate import prior_truth, simulate_responses
    from dce.data.survey import choice_data_from_survey
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec
    from dce.models.latent import LatentClassLogit

    design = read_design_csv(ROOT / "examples" / "newdeal" / "design.csv",
                             load_design_spec(ROOT / "designs" / "newdeal.yaml"))
    data, _ = choice_data_from_survey(simulate_responses(design, prior_truth(design.spec), 120, 6), design)

    def fit(workers):
        return LatentClassLogit(classes=2, starts=3, seed=3, em_iterations=10, maxiter=15,
                                workers=workers).fit(data)

    here, pool = fit(1), fit(2)
    assert np.array_equal(here.estimates, pool.estimates)
    assert here.info["starts"] == pool.info["starts"]
    assert here.info["em_steps"] == pool.info["em_steps"] and len(here.info["em_steps"]) == 3
