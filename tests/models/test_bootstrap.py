"""Respondent-level bootstrap (dce.models.bootstrap) on SIMULATED New Deal responses: the bootstrap s.e. of a
conditional logit agree with its cluster-robust s.e.; the BCa acceleration from influence values agrees with
the jackknife's; replicates do not depend on the workers; shares and WTP use the replicates."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dce.models.bootstrap import acceleration, bootstrap, intervals_of, resample

ROOT = Path(__file__).resolve().parents[2]


def _survey(n, seed):
    from dce.data.simulate import prior_truth, simulate_responses
    from dce.data.survey import choice_data_from_survey
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    spec_path = ROOT / "designs" / "newdeal.yaml"
    design = read_design_csv(ROOT / "examples" / "newdeal" / "design.csv", load_design_spec(spec_path))
    df = simulate_responses(design, prior_truth(design.spec), n, seed)
    data, _ = choice_data_from_survey(df, design, spec_text=spec_path.read_text())
    return data


@pytest.fixture(scope="module")
def fitted():
    from dce.models.mnl import ConditionalLogit

    data = _survey(200, 5)
    model = ConditionalLogit(se="cluster", seed=1)
    return model, data, model.fit(data)


def test_resample_draws_whole_respondents_with_replacement():
    data = _survey(20, 1)
    rng = np.random.default_rng(0)
    s = resample(data, rng)
    assert s.n_respondents == data.n_respondents == 20
    order, starts = data.panel_blocks()
    pick = np.random.default_rng(0).integers(0, 20, size=20)
    want = np.concatenate([data.chosen[order[starts[r]:starts[r + 1]]] for r in pick])
    assert np.array_equal(s.chosen, want)
    assert len(np.unique(pick)) < 20                       # someone was drawn twice, as two respondents


def test_bootstrap_se_agree_with_the_cluster_robust_se(fitted):
    model, data, result = fitted
    B = 200
    boot = bootstrap(model, data, result, B, seed=7, workers=2)
    assert boot["failed"] == 0 and len(boot["replicates"]) == B
    se_boot = np.array([iv["se"] for iv in boot["intervals"]])
    se_cluster = result.se("cluster")
    # the bootstrap s.e. of B replicates has a relative sampling error of about 1/sqrt(2B)
    rel = np.abs(se_boot / se_cluster - 1)
    assert np.all(rel < 4 / math.sqrt(2 * B)), rel
    assert abs(np.mean(se_boot / se_cluster) - 1) < 2 / math.sqrt(2 * B * len(se_boot)) + 0.03
    for k, iv in enumerate(boot["intervals"]):
        lo, hi = iv["percentile"]
        assert lo < result.estimates[k] < hi
        assert iv["bca"] is not None and iv["bca"][0] < iv["bca"][1]


def test_replicates_do_not_depend_on_the_workers(fitted):
    model, data, result = fitted
    one = bootstrap(model, data, result, 6, seed=3, workers=1)
    two = bootstrap(model, data, result, 6, seed=3, workers=2)
    assert one["replicates"] == two["replicates"] and one["intervals"] == two["intervals"]


def test_acceleration_from_influence_values_agrees_with_the_jackknife():
    """Efron's jackknife acceleration (one fit per left-out respondent) against the infinitesimal jackknife
    the bootstrap uses (no further fits)."""
    from dce.data.choice_data import ChoiceData
    from dce.models.mnl import ConditionalLogit

    data = _survey(40, 9)
    model = ConditionalLogit(se="cluster")
    result = model.fit(data)
    a_inf = acceleration(model, result)
    codes, R = data.panel()
    loo = []
    for r in range(R):
        keep = codes != r
        d = ChoiceData(X=data.X[keep], avail=data.avail[keep], chosen=data.chosen[keep], names=data.names,
                       alt_labels=data.alt_labels, resp=codes[keep])
        loo.append(ConditionalLogit(start=result.estimates).fit(d).estimates)
    loo = np.array(loo)
    U = loo.mean(axis=0) - loo
    a_jack = (U ** 3).sum(axis=0) / (6 * ((U ** 2).sum(axis=0)) ** 1.5)
    assert np.allclose(a_inf, a_jack, atol=0.01), (a_inf, a_jack)
    assert np.max(np.abs(a_jack)) > 0.005                 # not trivially zero


def test_bca_reduces_to_the_percentile_interval_without_bias_or_acceleration():
    theta = np.linspace(-1, 1, 2001)                         # symmetric about the estimate 0
    pct, bca, z0 = intervals_of(theta, 0.0, 0.9, a=0.0)
    assert z0 == 0.0 and bca == pytest.approx(pct)
    # all replicates above the estimate: z0 is infinite, no BCa interval
    _, bca_side, z0_side = intervals_of(theta + 5, 0.0, 0.9, a=0.0)
    assert bca_side is None and math.isnan(z0_side)
    # a positive acceleration moves the interval up
    _, bca_up, _ = intervals_of(theta, 0.0, 0.9, a=0.1)
    assert bca_up[0] > pct[0] and bca_up[1] > pct[1]


def test_json_carries_the_replicates_and_shares_and_wtp_use_them(fitted, tmp_path):
    from dce.models.bootstrap import attach
    from dce.models.results import ModelResult
    from dce.post.shares import load_scenarios, preference_shares
    from dce.post.wtp import willingness_to_pay

    model, data, result = fitted
    boot = bootstrap(model, data, result, 40, seed=2, workers=1)
    res = attach(ModelResult.from_dict(result.to_dict()), boot)
    path = tmp_path / "m.json"
    res.save(path)
    back = ModelResult.load(path)
    assert back.bootstrap_replicates.shape == (40, back.n_params)
    assert any(t.key == "bootstrap" for t in back.tables)
    _, ref, sc = load_scenarios(ROOT / "examples" / "newdeal" / "scenarios.yaml", back)
    rows = preference_shares(back, sc, ref, ci="bootstrap", seed=1)
    reps = back.bootstrap_replicates
    from dce.post.shares import ShareMap

    f = ShareMap(back, sc, ref)
    sims = np.array([f(*back.coefficient_draws(t)) for t in reps])
    assert [r["ci_low"] for r in rows] == pytest.approx(list(np.quantile(sims, 0.025, axis=0)))
    w = {r["name"]: r for r in willingness_to_pay(back, "income", n_sim=50, seed=1)}
    k, c = back.names.index("workweek"), back.names.index("income")
    ratio = reps[:, k] / np.abs(reps[:, c])
    assert w["workweek"]["boot_low"] == pytest.approx(np.quantile(ratio, 0.025))
    # without replicates: no bootstrap columns, and asking for them names the option
    plain = ModelResult.from_dict(result.to_dict())
    assert "boot_low" not in willingness_to_pay(plain, "income", n_sim=50)[0]
    from dce.errors import ArgumentError

    with pytest.raises(ArgumentError, match="carries no bootstrap replicates"):
        preference_shares(plain, sc, ref, ci="bootstrap")
