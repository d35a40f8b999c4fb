"""Preference shares, willingness to pay and importance from a fitted model's JSON."""
import numpy as np
import pandas as pd
import pytest

from dce.data.build import choice_data_from_formula
from dce.errors import DCEError
from dce.models.results import ModelResult
from dce.post.shares import load_scenarios, preference_shares
from dce.post.wtp import importance, willingness_to_pay


def scen_file(tmp_path, text):
    p = tmp_path / "sc.yaml"
    p.write_text(text)
    return p




def test_binary_shares_equal_the_logistic_of_the_utility_difference(fitted, tmp_path, scenarios_text):
    path, res = fitted
    m = ModelResult.load(path)
    ref_label, ref, items = load_scenarios(scen_file(tmp_path, scenarios_text), m)
    out = preference_shares(m, items, ref, seed=1, n_sim=500)
    b = dict(zip(res.names, res.estimates))
    d1 = b["price"] * 2 + b["quality[best]"]
    d2 = b["price"] * 1 + b["quality[good]"]
    assert out[0]["share"] == pytest.approx(1 / (1 + np.exp(-d1)), abs=1e-12)
    assert out[1]["share"] == pytest.approx(1 / (1 + np.exp(-d2)), abs=1e-12)
    for r in out:
        assert r["ci_low"] < r["share"] < r["ci_high"]
    # the delta method and Krinsky-Robb agree closely for a conditional logit with this much data
    delta = preference_shares(m, items, ref, ci="delta")
    for a, d in zip(out, delta):
        assert abs(a["ci_low"] - d["ci_low"]) < 0.01 and abs(a["ci_high"] - d["ci_high"]) < 0.01


def test_market_shares_add_to_one(fitted, tmp_path, scenarios_text):
    m = ModelResult.load(fitted[0])
    _, ref, items = load_scenarios(scen_file(tmp_path, scenarios_text.replace(
        "reference: {name: cheap basic, levels: {price: 1, quality: basic}}", "reference: none")), m)
    assert ref is None
    out = preference_shares(m, items, None, seed=2, n_sim=200)
    assert sum(r["share"] for r in out) == pytest.approx(1.0)


def test_wtp_is_minus_the_ratio_with_delta_standard_errors(fitted):
    path, res = fitted
    m = ModelResult.load(path)
    rows = {r["name"]: r for r in willingness_to_pay(m, "price", n_sim=2000, seed=3)}
    b = dict(zip(res.names, res.estimates))
    V = res.vcov
    i, c = res.names.index("quality[best]"), res.names.index("price")
    w = -b["quality[best]"] / b["price"]
    g = np.zeros(len(b))
    g[i], g[c] = -1 / b["price"], b["quality[best]"] / b["price"] ** 2
    assert rows["quality[best]"]["wtp"] == pytest.approx(w)
    assert rows["quality[best]"]["se"] == pytest.approx(np.sqrt(g @ V @ g), rel=1e-4)
    assert rows["quality[best]"]["kr_low"] < w < rows["quality[best]"]["kr_high"]
    # truth of the simulation: 1.6 / 0.8 = 2 (simulated data)
    assert abs(w - 2.0) < 3 * rows["quality[best]"]["se"]


def test_importance_shares_add_to_one(fitted):
    imp = importance(ModelResult.load(fitted[0]))
    assert {i["attribute"] for i in imp} == {"price", "quality"}
    assert sum(i["importance"] for i in imp) == pytest.approx(1.0)


def test_bad_scenarios_and_cost(fitted, tmp_path, scenarios_text):
    m = ModelResult.load(fitted[0])
    with pytest.raises(DCEError, match="unknown attribute 'colour'"):
        load_scenarios(scen_file(tmp_path, scenarios_text.replace("quality: best", "colour: red")), m)
    with pytest.raises(DCEError, match="categorical"):
        willingness_to_pay(m, "quality")
    with pytest.raises(DCEError, match="not an attribute"):
        willingness_to_pay(m, "nosuch")


def _mixed_model_json(sd=0.8):
    """A mixed-logit results JSON (x random normal, z fixed) on a formula spec, written by hand."""
    df = pd.DataFrame({"task": [1, 1, 2, 2], "alt": [1, 2, 1, 2], "y": [1, 0, 0, 1],
                       "x": [1.0, 0.0, 0.5, 2.0], "z": [0.0, 1.0, 1.0, 3.0]})
    spec = choice_data_from_formula(df, "y ~ x + z", alt="alt", task="task").spec
    params = [{"name": "x", "estimate": 1.0}, {"name": "z", "estimate": -0.5}, {"name": "sd.x", "estimate": sd}]
    return {"model": "mixed", "params": params, "vcov": (np.eye(3) * 1e-4).tolist(), "spec": spec,
            "random": {"x": {"distribution": "n"}}}


def test_mixed_logit_shares_integrate_over_the_random_coefficient():
    """Share = E[logistic(beta_x)], beta_x ~ N(1, 0.8^2): checked against Gauss-Hermite quadrature."""
    m = ModelResult.from_dict(_mixed_model_json(), source="mixed.json")
    from dce.post.shares import Scenario

    out = preference_shares(m, [Scenario("x up", {"x": 1.0, "z": 0.0})], ({"x": 0.0, "z": 0.0}, "designed"),
                            n_sim=200, n_draws=2000, seed=1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    expected = (weights * (1 / (1 + np.exp(-(1.0 + 0.8 * nodes))))).sum() / weights.sum()
    assert out[0]["share"] == pytest.approx(expected, abs=2e-3)
    # heterogeneity pulls the share towards one half compared with the conditional logit at the mean
    assert 0.5 < out[0]["share"] < 1 / (1 + np.exp(-1.0))
    # WTP distribution of x against z (z fixed): mean 1.0 / 0.5 = 2, spread 0.8 / 0.5 = 1.6
    rows = willingness_to_pay(m, "z", n_sim=200, n_draws=4000, seed=2)
    d = rows[0]["distribution"]
    assert d["mean"] == pytest.approx(2.0, abs=0.05) and d["median"] == pytest.approx(2.0, abs=0.05)
    assert (d["q95"] - d["q05"]) / (2 * 1.6449) == pytest.approx(1.6, rel=0.05)
