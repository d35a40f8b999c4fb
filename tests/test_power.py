"""Sample size by simulation (dce.power), on SIMULATED surveys of the New Deal design: power rises with the
sample size, the simulated n80 agrees with the design's analytic figures, results do not depend on where
the replications ran, failed fits are counted."""
from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from dce.errors import ArgumentError, DCEError
from dce.power import analytic_figures, check_sizes, crossing, power_analysis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def newdeal():
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    return read_design_csv(ROOT / "examples" / "newdeal" / "design.csv", spec)


def _mnl(**kw):
    from dce.models.mnl import ConditionalLogit

    return ConditionalLogit(**kw)


def test_power_rises_with_sample_size_and_reaches_one_for_large_effects(newdeal):
    out = power_analysis(newdeal, _mnl(), [120, 10, 40], 20, seed=3, workers=2)
    assert out["sizes"] == [10, 40, 120] and out["replications"] == 20 and out["model"] == "mnl"
    weak = {t["name"]: t for t in out["targets"]}["delegation[nurse and other providers]"]
    assert weak["power"][0] < weak["power"][1] < weak["power"][2]
    for t in out["targets"]:
        assert t["power"][0] <= t["power"][2]
        if t["analytic_n80"] < 20:            # large effects: certain at 120 respondents
            assert t["power"][2] == 1.0, t["name"]
        assert t["kind"] == "coefficient" and t["null"] == 0.0
    # the truth is the design's prior means when no truth is given
    assert [t["truth"] for t in out["targets"]] == pytest.approx(list(newdeal.spec.prior_mean))


def test_simulated_n80_agrees_with_the_analytic_figures_of_the_design(newdeal):
    """Conditional logit, truth = the prior: the simulated power follows the analytic power of the design's
    information matrix, within simulation error; so do the sizes for 80% (n80) and 50% power (Ngene's
    S-estimate, where |beta| / se reaches 1.96)."""
    R = 100
    sizes = [15, 30, 60]
    out = power_analysis(newdeal, _mnl(), sizes, R, seed=11, workers=2)
    t = {t["name"]: t for t in out["targets"]}["delegation[nurse and other providers]"]
    assert out["failed"] == [0, 0, 0]
    for p_sim, p_an in zip(t["power"], t["analytic_power"]):
        assert abs(p_sim - p_an) <= 3 * math.sqrt(p_an * (1 - p_an) / R) + 0.01
    # n80: the simulation error of the power at n80 over the slope of the analytic power curve there
    nd = NormalDist()
    z = nd.inv_cdf(0.975)

    def slope(n, target):      # d power / d n of Phi(c sqrt(n) - z) at the n where it equals target
        c = (z + nd.inv_cdf(target)) / math.sqrt(n)
        return nd.pdf(nd.inv_cdf(target)) * c / (2 * math.sqrt(n))

    for level, key, analytic in ((0.8, "n80", t["analytic_n80"]), (0.5, None, t["s_estimate"])):
        simulated = t[key] if key else crossing(sizes, t["power"], level, R)
        tol = 3 * math.sqrt(level * (1 - level) / R) / slope(analytic, level)
        assert abs(simulated - analytic) <= tol, (level, simulated, analytic, tol)
    assert 10 < t["s_estimate"] < t["analytic_n80"] < 60          # the range the sizes cover


def test_s_estimate_is_the_design_diagnostics_one_at_the_prior(newdeal):
    from dce.design.diagnostics import evaluate
    from dce.power import make_targets, template_result

    diag = {r["parameter"]: r["respondents"] for r in evaluate(newdeal)["s_efficiency"]}
    targets = make_targets("coefficients", template_result(newdeal))
    beta = newdeal.spec.prior_mean
    figs = analytic_figures(newdeal, beta, targets, beta, 0.05, [10])
    assert {n: f["s_estimate"] for n, f in zip(targets.names, figs)} == diag


def test_same_seed_same_results_in_this_process_in_local_workers_and_on_dask(newdeal, dask_cluster):
    c, _ = dask_cluster

    def go(**where):
        out = power_analysis(newdeal, _mnl(), [12, 30], 6, seed=21, **where)
        return {k: v for k, v in out.items() if k not in ("seconds", "ran_on")}

    one = go(workers=1)
    assert go(workers=2) == one
    assert go(scheduler=c.scheduler_address) == one


def test_failed_fits_are_counted_and_count_as_not_rejecting(newdeal):
    out = power_analysis(newdeal, _mnl(), [1, 40], 12, seed=2, workers=1)
    assert out["failed"][0] > 0 and out["failed"][1] == 0
    assert sum(f["count"] for f in out["failures"]) == sum(out["failed"])
    for t in out["targets"]:
        assert t["power"][0] <= (12 - out["failed"][0]) / 12


def test_share_and_wtp_targets_from_the_result_interface(newdeal, tmp_path):
    from dce.data.simulate import load_truth
    from dce.post.shares import load_scenarios
    from dce.power import template_result

    spec_text = (ROOT / "designs" / "newdeal.yaml").read_text()
    truth = load_truth(ROOT / "examples" / "newdeal" / "truth.yaml", newdeal.spec)
    _, ref, scenarios = load_scenarios(ROOT / "examples" / "newdeal" / "scenarios.yaml",
                                       template_result(newdeal, spec_text))
    out = power_analysis(newdeal, _mnl(), [40, 120], 8, seed=4, truth=truth, target="shares", scenarios=scenarios,
                         reference=ref, spec_text=spec_text, workers=2)
    shares = {t["name"]: t for t in out["targets"]}
    # the truth of the shares is the truth's population (two language groups): the calibrated published shares
    assert shares["nurse, shorter working week"]["truth"] == pytest.approx(0.801, abs=0.002)
    assert shares["shorter consultations, shorter working week"]["truth"] == pytest.approx(0.104, abs=0.002)
    for t in out["targets"]:
        assert t["kind"] == "share" and t["null"] == 0.5
        assert t["mean_ci_width"][1] < t["mean_ci_width"][0]      # narrower with more respondents
    wtp = power_analysis(newdeal, _mnl(), [40], 4, seed=4, truth=truth, target="wtp", cost="income",
                         spec_text=spec_text, workers=1)
    w = {t["name"]: t for t in wtp["targets"]}
    assert "income" not in w
    assert w["workweek"]["truth"] == pytest.approx(-0.1 / 0.173808, rel=1e-6)
    assert w["workweek"]["power"] == [1.0]


def test_a_mixed_logit_plan_goes_through_the_same_interface(newdeal):
    """SIMULATED mixed-logit surveys (the status-quo constant normal with sd 0.8 in the truth and in the
    model; income's coefficient 0), 10 replications at 15 and 80 respondents.  Each bound below is the
    expected value plus or minus 3 (4 for the largest of 8 biases) Monte-Carlo standard errors of the
    replications used, so a wrong s.e. or a biased fit fails it."""
    from dce.data.simulate import prior_truth
    from dce.models.mixed.model import MixedLogit

    R, alpha = 10, 0.05
    truth = prior_truth(newdeal.spec)
    names = list(truth["names"])
    beta = np.array(truth["beta"], float)
    beta[names.index("income")] = 0.0
    truth = {**truth, "model": "mixed", "beta": beta, "random": {"asc_status_quo": ("n", 0.8)}}
    out = power_analysis(newdeal, MixedLogit(random={"asc_status_quo": "n"}, draws=50), [15, 80], R, seed=8,
                         truth=truth, alpha=alpha, workers=1)
    assert out["model"] == "mixed" and out["truth_model"] == "mixed"
    # issue 20: the spread of the random constant is a target too (truth: the file's sd)
    assert [t["name"] for t in out["targets"]] == names + ["sd.asc_status_quo"]
    sd = out["targets"][-1]
    assert sd["kind"] == "spread" and sd["truth"] == 0.8 and sd["null"] == 0.0 and out["misspecified"] is None
    assert 0 <= sd["power"][0] <= sd["power"][1] <= 1
    out["targets"] = out["targets"][:-1]
    t = {t["name"]: t for t in out["targets"]}
    # power rises with the sample size (the random constant, truth 1.0: about 0.5 at 15 respondents)
    assert t["asc_status_quo"]["power"][0] < t["asc_status_quo"]["power"][1]
    # large effects (analytic n80 below 20): power near 1 at 80 respondents (at most one miss in 10)
    large = [n for n, x in t.items() if x["analytic_n80"] is not None and x["analytic_n80"] < 20]
    assert len(large) >= 5
    for n in large:
        assert t[n]["power"][1] >= 0.9, (n, t[n]["power"])
    # a zero truth: rejected at about the level alpha (pooled over both sizes), and no n80
    zero = t["income"]
    assert zero["truth"] == 0.0 and zero["n80"] is None
    assert np.mean(zero["power"]) <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / (2 * R)), zero["power"]
    # the 95% intervals cover the truth about 95% of the time (pooled over targets and sizes), and not always
    # (all 160 covering has probability 0.95^160 < 0.1%: s.e. too large)
    coverage = np.mean([x["coverage"] for x in out["targets"]])
    assert abs(coverage - (1 - alpha)) <= 3 * math.sqrt(alpha * (1 - alpha) / (2 * R * len(names))), coverage
    assert coverage < 1.0, "every interval covers the truth: s.e. too large"
    # unbiased at 80 respondents: each mean estimate within 4 Monte-Carlo s.e. of its truth
    for n, x in t.items():
        assert abs(x["bias"][1]) <= 4 * x["mean_se"][1] / math.sqrt(R - out["failed"][1]), (n, x["bias"][1])


def test_crossing_interpolates_on_the_probit_scale_in_sqrt_n():
    nd = NormalDist()
    sizes = [25, 100, 400]
    power = [nd.cdf(0.1 * math.sqrt(n) - 1.0) for n in sizes]     # exact Phi(c sqrt(n) - z) curve
    n80 = ((1.0 + nd.inv_cdf(0.8)) / 0.1) ** 2
    assert crossing(sizes, power, 0.8, 10**6) == math.ceil(n80 - 1e-9)
    assert crossing(sizes, [0.9, 1.0, 1.0], 0.8, 10) == 25          # reached at the first size
    assert crossing(sizes, [0.1, 0.2, 0.3], 0.8, 10) is None


@pytest.mark.parametrize("bad, message", [
    ([50, 0], "respondents: '0' is not a positive whole number"),
    (["50", "x"], "respondents: 'x' is not a positive whole number"),
    ([50, 2.5], "respondents: '2.5' is not a positive whole number"),
    ([50, 50], "respondents: sample size 50 is given twice"),
    ([], "respondents: give at least one sample size")])
def test_bad_sizes(bad, message):
    with pytest.raises(ArgumentError, match=message):
        check_sizes(bad)


def test_bad_arguments(newdeal):
    with pytest.raises(ArgumentError, match="replications: must be at least 2, not 1"):
        power_analysis(newdeal, _mnl(), [10], 1, seed=1)
    with pytest.raises(ArgumentError, match="alpha: must be between 0 and 1"):
        power_analysis(newdeal, _mnl(), [10], 2, seed=1, alpha=1.5)
    with pytest.raises(ArgumentError, match="scenarios: the shares target needs scenarios"):
        power_analysis(newdeal, _mnl(), [10], 2, seed=1, target="shares")
    with pytest.raises(ArgumentError, match="cost: 'delegation' is not a numeric"):
        power_analysis(newdeal, _mnl(), [10], 2, seed=1, target="wtp", cost="delegation",
                       spec_text=(ROOT / "designs" / "newdeal.yaml").read_text())
    with pytest.raises(DCEError):
        power_analysis(newdeal, _mnl(), [10], 2, seed=1, truth={"names": ["a"], "beta": np.zeros(1)})


def test_truth_as_given_and_a_conditional_logit_against_a_mixed_truth_is_misspecified(newdeal):
    """Issue 20: the truth column holds the file's -0.1 (not a simulated mean such as -0.1004), and a
    conditional logit planned against a mixed-logit truth is said to be misspecified."""
    from dce.data.simulate import mean_coefficients, prior_truth

    truth = prior_truth(newdeal.spec)
    names = list(truth["names"])
    truth = {**truth, "model": "mixed", "random": {"workweek": ("n", 0.05), "income": ("ln", 0.5)}}
    out = power_analysis(newdeal, _mnl(), [20], 2, seed=1, truth=truth, workers=1)
    t = {x["name"]: x for x in out["targets"]}
    assert t["workweek"]["truth"] == truth["beta"][names.index("workweek")]          # exactly as given
    assert t["income"]["truth"] == pytest.approx(truth["beta"][names.index("income")] * math.exp(0.125))
    assert "misspecified" in out["misspecified"] and "workweek, income" in out["misspecified"]
    assert not any(x["kind"] == "spread" for x in out["targets"])
    # covariate shifts: the proportion-weighted mean, exactly
    tr = {**truth, "random": {}, "covariates": {"lang": ({"a": 0.25, "b": 0.75}, {"b": {"workweek": 0.04}})}}
    assert mean_coefficients(tr)[names.index("workweek")] == pytest.approx(truth["beta"][names.index("workweek")] + 0.03)
