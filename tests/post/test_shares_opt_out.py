"""Shares in studies with an opt-out (issue 20, item 5c): the opt-out can be part of a market (and is, by
default, where the design has an opt-out and no status quo); every reference is documented in --help;
off-grid values are accepted for linear attributes (between their levels) and refused for dummy-coded
ones."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dce.data.simulate import prior_truth, simulate_responses
from dce.data.survey import choice_data_from_survey
from dce.design.generate import make_design
from dce.design.spec import parse_design_spec
from dce.errors import DCEError
from dce.models.mnl import ConditionalLogit
from dce.post.shares import load_scenarios, preference_shares

SPEC = """\
name: hospital
alternatives: 2
tasks: 8
opt_out: {label: no appointment, prior: -1.0}
attributes:
  wait: {levels: [2, 6, 10, 14], coding: linear, prior: -0.12}
  doctor: {levels: [consultant, junior, nurse], coding: dummy, prior: [-0.3, -0.5]}
  cost: {levels: [0, 25, 50, 100], coding: linear, prior: -0.025}
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A conditional logit on SIMULATED answers (400 respondents, the design's prior as truth)."""
    spec = parse_design_spec(SPEC)
    design = make_design(spec, seed=2, starts=1)
    df = simulate_responses(design, prior_truth(spec), 400, seed=3)
    data, _ = choice_data_from_survey(df, design, spec_text=SPEC)
    res = ConditionalLogit().fit(data)
    d = tmp_path_factory.mktemp("m")
    res.save(d / "m.json")
    return res, d


def _scen(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


HUB = "{name: hub, levels: {wait: 2, doctor: consultant, cost: 50}}"
LOCAL = "{name: local, levels: {wait: 10, doctor: nurse, cost: 0}}"


def test_the_opt_out_is_part_of_the_default_market(fitted, tmp_path):
    res, _ = fitted
    ref, row, items = load_scenarios(_scen(tmp_path, f"scenarios:\n  - {HUB}\n  - {LOCAL}\n"), res)
    assert ref == "none" and row is None
    assert [s.name for s in items] == ["hub", "local", "no appointment"] and items[2].kind == "opt_out"
    shares = preference_shares(res, items, row, n_sim=50, seed=1)
    total = sum(r["share"] for r in shares)
    assert total == pytest.approx(1.0)
    # the logit shares by hand, opt-out included
    b = dict(zip(res.names, res.estimates))
    v = np.array([b["wait"] * 2 + b["cost"] * 50, b["wait"] * 10 + b["doctor[nurse]"], b["asc_opt_out"]])
    assert [r["share"] for r in shares] == pytest.approx(list(np.exp(v) / np.exp(v).sum()))


def test_explicit_none_keeps_only_the_scenarios_and_alternative_opt_out_adds_it(fitted, tmp_path):
    res, _ = fitted
    _, _, items = load_scenarios(_scen(tmp_path, f"reference: none\nscenarios:\n  - {HUB}\n  - {LOCAL}\n"), res)
    assert [s.kind for s in items] == ["designed", "designed"]
    _, _, items = load_scenarios(_scen(tmp_path, f"reference: none\nscenarios:\n  - {HUB}\n"
                                                 "  - {name: stay home, alternative: opt_out}\n"), res)
    assert [s.name for s in items] == ["hub", "stay home"] and items[1].kind == "opt_out"
    with pytest.raises(DCEError, match="market only"):
        load_scenarios(_scen(tmp_path, f"reference: opt_out\nscenarios:\n  - {HUB}\n"
                                       "  - {name: x, alternative: opt_out}\n"), res)


def test_linear_attributes_take_values_between_levels(fitted, tmp_path):
    res, _ = fitted
    ref, row, items = load_scenarios(_scen(tmp_path, "reference: opt_out\nscenarios:\n"
                                                     "  - {name: a, levels: {wait: 3, doctor: junior, cost: 30}}\n"), res)
    x = items[0].x
    assert x[res.names.index("wait")] == 3.0 and x[res.names.index("cost")] == 30.0
    sh = preference_shares(res, items, row, n_sim=50, seed=1)[0]["share"]
    b = dict(zip(res.names, res.estimates))
    d = b["wait"] * 3 + b["doctor[junior]"] + b["cost"] * 30 - b["asc_opt_out"]
    assert sh == pytest.approx(1 / (1 + np.exp(-d)))


@pytest.mark.parametrize("levels, needle", [
    ("{wait: 3, doctor: registrar, cost: 0}", "only its levels have an effect"),
    ("{wait: 20, doctor: nurse, cost: 0}", r"outside its levels \(2 to 14\)"),
])
def test_off_grid_refusals(fitted, tmp_path, levels, needle):
    res, _ = fitted
    with pytest.raises(DCEError, match=needle):
        load_scenarios(_scen(tmp_path, f"reference: opt_out\nscenarios:\n  - {{name: a, levels: {levels}}}\n"), res)


def test_cli_help_lists_every_reference_and_the_market_note(fitted, tmp_path):
    from dce.cli import cli

    _, d = fitted
    text = " ".join(CliRunner().invoke(cli, ["shares", "--help"]).output.split())
    for ref in ("status_quo", "opt_out", "{name, levels}", "none", "alternative: opt_out"):
        assert ref in text, ref
    p = _scen(tmp_path, f"scenarios:\n  - {HUB}\n  - {LOCAL}\n")
    r = CliRunner().invoke(cli, ["shares", str(d / "m.json"), "--scenarios", str(p), "--sims", "50", "--seed", "1",
                                 "--output", str(tmp_path / "o.json")])
    assert r.exit_code == 0, r.output
    assert "the opt-out is part of the market" in " ".join(r.output.split())
    out = json.loads((tmp_path / "o.json").read_text())
    assert [s["name"] for s in out["scenarios"]] == ["hub", "local", "no appointment"]
