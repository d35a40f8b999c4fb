"""Level balance (issue 20, item 2): by default every level of every attribute appears equally often,
within one, over the design and within each block; relaxed and off on request; the D-error price of
balance beside the unconstrained one; warnings for unused levels, collinear columns and interactions
the design cannot estimate."""
from __future__ import annotations

import numpy as np
import pytest

from dce.design.core import Design
from dce.design.diagnostics import design_warnings, evaluate
from dce.design.generate import make_design
from dce.design.spec import parse_design_spec
from dce.errors import DCEError
from dce.report.design_tables import diagnostics_table

HOSPITAL = """\
name: hospital
alternatives: 2
tasks: 16
blocks: 2
{balance}
opt_out: {{label: no appointment, prior: -1.0}}
attributes:
  wait: {{levels: [2, 6, 10, 14], coding: linear, prior: -0.12}}
  distance: {{levels: [5, 20, 40, 60], coding: linear, prior: -0.025}}
  doctor: {{levels: [consultant, junior, nurse], coding: dummy, prior: [-0.3, -0.5]}}
  cost: {{levels: [0, 25, 50, 100], coding: linear, prior: -0.025}}
"""


def hospital(balance=""):
    return parse_design_spec(HOSPITAL.format(balance=balance))


def _within_one(counts):
    return counts.max() - counts.min() <= 1


@pytest.fixture(scope="module")
def balanced():
    spec = hospital()
    return spec, make_design(spec, seed=3, starts=2)


def test_every_level_appears_within_one_of_balance(balanced):
    spec, d = balanced
    assert spec.level_balance == "strict" and d.search["level_balance"] == "strict"
    for k, a in enumerate(spec.attributes):
        total = np.bincount(d.levels[:, :, k].ravel(), minlength=a.n_levels)
        assert _within_one(total) and total.min() > 0, (a.name, total)
        for b in (1, 2):
            per = np.bincount(d.levels[d.block == b][:, :, k].ravel(), minlength=a.n_levels)
            assert _within_one(per), (a.name, b, per)
    r = evaluate(d)
    assert r["constraint_violations"] == 0 and r["repeated_alternatives"] == 0
    assert not any("never shows" in w for w in r["warnings"])


def test_balance_with_levels_that_do_not_divide_and_constraints():
    """3 and 5 levels over 3 blocks of 4 tasks x 2 alternatives (8 per block: 3/3/2 and 2/2/2/1/1), with a
    constraint and dominance: still within one everywhere."""
    spec = parse_design_spec("""\
alternatives: 2
tasks: 12
blocks: 3
attributes:
  a: {levels: [x, y, z], coding: effects, prior: [0.3, 0.1]}
  b: {levels: [1, 2, 3, 4, 5], coding: linear, prior: -0.2}
  c: {levels: [lo, hi], coding: dummy, prior: 0.4}
constraints:
  - "a == 'z' and b == 5"
""")
    d = make_design(spec, seed=9, starts=2)
    for k, a in enumerate(spec.attributes):
        assert _within_one(np.bincount(d.levels[:, :, k].ravel(), minlength=a.n_levels))
        for b in (1, 2, 3):
            assert _within_one(np.bincount(d.levels[d.block == b][:, :, k].ravel(), minlength=a.n_levels))
    assert evaluate(d)["constraint_violations"] == 0


def test_price_of_balance_is_reported(balanced):
    _, d = balanced
    s = d.search
    assert s["unconstrained_objective"] > 0
    assert s["balance_price"] == pytest.approx(s["objective"] / s["unconstrained_objective"] - 1)
    # linear attributes: D-efficiency favours the extremes, so balance costs D-error here
    assert s["balance_price"] > 0
    rows = {r[0]: r[1] for r in diagnostics_table(evaluate(d)).rows}
    assert "balance costs" in rows["search D-error: balanced / unconstrained"]


def test_off_is_the_unconstrained_search_and_warns():
    spec = hospital("level_balance: false")
    d = make_design(spec, seed=3, starts=2)
    assert d.search["level_balance"] == "off" and "unconstrained_objective" not in d.search
    r = evaluate(d)
    text = " ".join(r["warnings"])
    # the design: only the extremes of the linear attributes, interactions not estimable
    assert "never shows" in text and "wait = 6" in text
    assert "interactions that this design cannot estimate" in text and "wait x cost" in text


def test_relaxed_keeps_every_level_at_least_half():
    spec = hospital("level_balance: relaxed")
    d = make_design(spec, seed=3, starts=2)
    assert d.search["level_balance"] == "relaxed"
    for k, a in enumerate(spec.attributes):
        counts = np.bincount(d.levels[:, :, k].ravel(), minlength=a.n_levels)
        assert counts.min() >= (16 * 2) // a.n_levels // 2, (a.name, counts)


def test_collinear_columns_warn():
    spec = parse_design_spec("""\
alternatives: 2
tasks: 4
attributes:
  a: {levels: [0, 1, 2], coding: linear}
  b: {levels: [0, 1, 2], coding: linear}
""")
    levels = np.array([[[0, 0], [2, 2]], [[1, 1], [0, 0]], [[2, 2], [1, 1]], [[0, 0], [1, 2]]])
    w = design_warnings(levels, spec)
    assert any("nearly collinear: a and b" in x for x in w), w
    assert evaluate(Design(spec=spec, levels=levels, block=np.ones(4, int)))["warnings"] == w


@pytest.mark.parametrize("value, want", [("true", "strict"), ("false", "off"), ("relaxed", "relaxed")])
def test_spec_key(value, want):
    assert hospital(f"level_balance: {value}").level_balance == want


def test_spec_key_refused():
    with pytest.raises(DCEError, match="level_balance"):
        hospital("level_balance: sometimes")
