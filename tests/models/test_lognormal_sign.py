"""Lognormal coefficients with the wrong sign (issue 20, item 4): a truth file with a negative coefficient
and ``distribution: ln`` is refused in one line; a mixed logit or HB fit with ``ln`` on a coefficient whose
conditional-logit estimate is clearly negative is refused before it starts: "the coefficient is
negative, use -ln"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dce.data.choice_data import ChoiceData
from dce.data.simulate import load_truth
from dce.design.spec import load_design_spec
from dce.errors import ArgumentError, DCEError
from dce.models.hb.model import HierarchicalBayes
from dce.models.mixed.model import MixedLogit
from dce.models.signs import wrong_lognormal_signs

ROOT = Path(__file__).resolve().parents[2]


def _truth(tmp_path, spec, dist, value):
    coefs = {n: 0.5 for n in spec.param_names}
    coefs["income"] = value
    text = "model: mixed\ncoefficients:\n" + "".join(f"  {n}: {v}\n" for n, v in coefs.items())
    text += f"random:\n  income: {{distribution: {dist}, sd: 0.3}}\n"
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("dist, value, needle", [
    ("ln", -0.025, "the coefficient is negative, use -ln"),
    ("-ln", 0.2, "the coefficient is positive, use ln"),
    ("ln", 0, "a log-normal needs a non-zero coefficient"),
])
def test_truth_file_refuses_a_lognormal_of_the_other_sign(tmp_path, dist, value, needle):
    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    p = _truth(tmp_path, spec, dist, value)
    with pytest.raises(DCEError) as e:
        load_truth(p, spec)
    msg = str(e.value)
    assert needle in msg and "random.income.distribution" in msg and "\n" not in msg


def test_truth_file_accepts_the_right_sign(tmp_path):
    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    t = load_truth(_truth(tmp_path, spec, "-ln", -0.025), spec)
    assert t["random"]["income"] == ("-ln", 0.3)


def _cost_data(n=150, seed=2):
    """SIMULATED choices with a clearly negative cost effect (and a positive quality one)."""
    rng = np.random.default_rng(seed)
    T = n * 6
    X = rng.uniform(0, 10, size=(T, 2, 2))
    X[:, :, 1] = rng.integers(0, 2, size=(T, 2))
    V = X @ np.array([-0.3, 0.8])
    chosen = (V + rng.gumbel(size=(T, 2))).argmax(axis=1)
    return ChoiceData(X=X, avail=np.ones((T, 2), bool), chosen=chosen, names=["cost", "quality"],
                      alt_labels=[1, 2], resp=np.repeat(np.arange(n), 6), source="simulated")


def test_mixed_fit_refuses_ln_on_a_negative_effect():
    with pytest.raises(ArgumentError) as e:
        MixedLogit(random={"cost": "ln"}, draws=20, seed=1).fit(_cost_data())
    assert e.value.argument == "random"
    assert "the coefficient is negative, use cost=-ln" in str(e.value)


def test_hb_fit_refuses_ln_on_a_negative_effect():
    with pytest.raises(ArgumentError, match="the coefficient is negative, use cost=-ln"):
        HierarchicalBayes(random={"cost": "ln"}, iterations=20, thin=1, chains=1, seed=1).fit(_cost_data())


def test_the_right_sign_is_not_refused():
    res = MixedLogit(random={"cost": "-ln"}, draws=20, seed=1).fit(_cost_data())
    assert res.loglik > res.loglik_null


def test_only_clear_wrong_signs_are_caught():
    random = {"a": "ln", "b": "ln", "c": "-ln", "d": "n"}
    est, se = np.array([-0.5, -0.05, -0.3, -1.0]), np.array([0.1, 0.1, 0.1, 0.1])
    assert [x[0] for x in wrong_lognormal_signs(random, list("abcd"), est, se)] == ["a"]   # b: z = -0.5


def test_cli_one_line_exit_2(tmp_path):
    import pandas as pd

    d = _cost_data(60)
    rows = [{"id": int(d.resp[t]), "task": t, "alt": j + 1, "chosen": int(d.chosen[t] == j), "cost": d.X[t, j, 0],
             "quality": d.X[t, j, 1]} for t in range(d.n_tasks) for j in range(2)]
    p = tmp_path / "c.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    from dce.cli import cli

    r = CliRunner().invoke(cli, ["fit", str(p), "--formula", "chosen ~ cost + quality", "--alt", "alt", "--task",
                                 "task", "--id", "id", "--model", "mixed", "--random", "cost=ln", "--draws", "20",
                                 "--quiet"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "use cost=-ln" in lines[0] and "--random" in lines[0]
