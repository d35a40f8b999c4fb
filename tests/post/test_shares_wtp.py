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


# ------------------------------------------------------------------ issue 19: hostile inputs, round 3
def _edited(path, tmp_path, edit, name="edited.json"):
    import json

    d = json.loads(open(path).read())
    edit(d)
    out = tmp_path / name
    out.write_text(json.dumps(d))
    return out


def test_a_covariance_that_is_not_positive_semidefinite_is_refused(fitted, tmp_path):
    """A vcov with a negative eigenvalue gave zero standard errors and zero-width intervals (exit 0)."""
    def negate(d):
        V = np.array(d["vcov"])
        d["vcov"] = (-V).tolist()
        d.pop("vcovs", None)
        d.pop("vcov_robust", None)
    with pytest.raises(DCEError, match=r"edited\.json: key 'vcov' \(classical\) is not a covariance matrix: it is "
                                       r"not positive semidefinite \(smallest eigenvalue -"):
        ModelResult.load(_edited(fitted[0], tmp_path, negate))

    def asymmetric(d):
        V = np.array(d["vcov"])
        V[0, 1] += 1.0
        d["vcov"] = V.tolist()
    with pytest.raises(DCEError, match="is not symmetric"):
        ModelResult.load(_edited(fitted[0], tmp_path, asymmetric))

    def unconverged(d):                  # a fit that stopped at a saddle: read, its results say so (exit 3)
        negate(d)
        d["converged"] = False
    assert not ModelResult.load(_edited(fitted[0], tmp_path, unconverged)).reliable


def test_a_scenario_level_the_formula_model_does_not_know_is_refused(fitted, tmp_path, scenarios_text):
    """A level not seen in the fit was coded with no dummy set: silently the reference level."""
    m = ModelResult.load(fitted[0])
    with pytest.raises(DCEError, match=r"'premium' is not a level of 'quality' known to the model \(levels: basic, "
                                       r"best, good\)"):
        load_scenarios(scen_file(tmp_path, scenarios_text.replace("quality: best", "quality: premium")), m)


def test_wtp_against_a_cost_coefficient_of_exactly_zero_is_refused(fitted, tmp_path):
    """A cost coefficient of exactly 0 printed non-finite WTPs with exit 0."""
    def zero(d):
        for p in d["params"]:
            if p["name"] == "price":
                p["estimate"] = 0.0
    m = ModelResult.load(_edited(fitted[0], tmp_path, zero))
    with pytest.raises(DCEError, match=r"edited\.json: the coefficient of 'price' is 0: willingness to pay"):
        willingness_to_pay(m, "price", n_sim=50)


def test_a_results_file_nested_thousands_of_levels_deep_is_one_line(fitted, tmp_path):
    """RecursionError (exit 1) in dce shares and dce wtp on a JSON nested thousands of levels deep."""
    for depth in (100, 5000, 100_000):
        def nest(d, depth=depth):
            d["extra"] = json_nested(depth)
        path = tmp_path / f"deep{depth}.json"
        import json

        d = json.loads(open(fitted[0]).read())
        nest(d)
        path.write_text(json.dumps(d) if depth < 500 else json.dumps(d).replace('"extra": "X"', '"extra": ' + "[" * depth + "]" * depth))
        with pytest.raises(DCEError, match=rf"deep{depth}\.json: .*(nested more than 64 levels|nested too deeply)"):
            ModelResult.load(path)


def json_nested(depth):
    """A JSON value nested ``depth`` lists deep (small depths only; deep ones are written as text)."""
    if depth >= 500:
        return "X"
    v = []
    for _ in range(depth):
        v = [v]
    return v


def test_messages_name_the_file_that_is_wrong(fitted, tmp_path, scenarios_text):
    """Issue 19: a dropped 'sd.' parameter said "vcovs.robust is not 3 x 3"; a damaged design embedded in a
    model named the design YAML; an opt-out reference the model lacks named the design, not the scenario."""
    import json

    d = _mixed_model_json()
    d["vcovs"] = {"robust": d["vcov"]}
    d["params"] = d["params"][:2]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(d))
    with pytest.raises(DCEError, match=r"mixed\.json: key 'params' has no parameter 'sd\.x'"):
        ModelResult.load(path)


def test_a_damaged_embedded_design_and_an_opt_out_reference_name_the_right_file(tmp_path):
    import json
    from pathlib import Path

    from click.testing import CliRunner

    from dce.cli import cli

    root = Path(__file__).resolve().parents[2]
    nd = root / "examples" / "newdeal"
    m = tmp_path / "m.json"
    r = CliRunner().invoke(cli, ["fit", str(nd / "responses.csv"), "--design", str(nd / "design.csv"), "--spec",
                                 str(root / "designs" / "newdeal.yaml"), "-o", str(m), "-q"])
    assert r.exit_code == 0, r.output
    sc = tmp_path / "sc.yaml"
    sc.write_text("reference: opt_out\nscenarios:\n  - {name: a, levels: {workweek: 45}}\n")
    with pytest.raises(DCEError, match=rf"^{sc}: line 1: reference: the model has no opt-out alternative$"):
        load_scenarios(sc, ModelResult.load(m))
    d = json.loads(m.read_text())
    d["spec"]["design_yaml"] = d["spec"]["design_yaml"].replace("tasks: 24", "tasks: many")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    sc.write_text("reference: status_quo\nscenarios:\n  - {name: a, levels: {workweek: 45}}\n")
    with pytest.raises(DCEError, match=rf"^{bad}: key 'spec.design_yaml' \(the design .*newdeal\.yaml as saved with "
                                       r"the model\): key 'tasks' \(line \d+\): must be a whole number"):
        load_scenarios(sc, ModelResult.load(bad))
