"""Design CSV round trip, reading errors, questionnaire, and the New Deal spec and shipped design."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dce.design.diagnostics import evaluate
from dce.design.generate import make_design
from dce.design.io import read_design_csv, write_design_csv
from dce.design.questionnaire import render_questionnaire
from dce.design.spec import load_design_spec, parse_design_spec
from dce.errors import DCEError

ROOT = Path(__file__).resolve().parents[2]
SPEC = """\
alternatives: 2
tasks: 6
blocks: 2
opt_out: true
status_quo: {levels: {a: x, b: 1.5}}
attributes:
  a: {levels: [x, y, z]}
  b: {levels: [1.5, 2.5, 3.5], coding: linear, prior: -0.5}
"""


def test_round_trip(tmp_path):
    spec = parse_design_spec(SPEC)
    d = make_design(spec, seed=3, starts=1)
    p = tmp_path / "d.csv"
    write_design_csv(p, d)
    lines = p.read_text().splitlines()
    assert lines[0] == "block,task,alt,a,b"
    assert lines[3].split(",")[2:] == ["status_quo", "x", "1.5"]
    assert lines[4].split(",")[2:] == ["opt_out", "", ""]
    back = read_design_csv(p, spec)
    np.testing.assert_array_equal(back.levels, d.levels)
    np.testing.assert_array_equal(back.block, d.block)
    r1, r2 = evaluate(d), evaluate(back, seed=d.seed)
    assert r1["d_error"] == pytest.approx(r2["d_error"])
    md = render_questionnaire(d)
    assert md.count("## Block") == 2 and md.count("### Question") == 6 and "Neither" in md


@pytest.mark.parametrize("edit,msg", [
    (lambda t: t.replace(",x,", ",w,", 1), "column 'a'"),
    (lambda t: t.replace("block,task", "blk,task"), "column 'block' is missing"),
    (lambda t: t.replace("\n1,1,2,", "\n1,1,7,", 1), "column 'alt'"),
    (lambda t: "\n".join(l for l in t.splitlines() if ",status_quo," not in l), "no status_quo row"),
])
def test_read_errors(tmp_path, edit, msg):
    spec = parse_design_spec(SPEC)
    d = make_design(spec, seed=3, starts=1)
    p = tmp_path / "d.csv"
    write_design_csv(p, d)
    p.write_text(edit(p.read_text()))
    with pytest.raises(DCEError, match=msg):
        read_design_csv(p, spec)


NEWDEAL = ROOT / "designs" / "newdeal.yaml"
SCENARIOS = [  # (levels differing from the status quo, published share preferring the scenario)
    ({"delegation": "nurse", "workweek": 45}, 80.1),
    ({"delegation": "nurse and other providers", "consultation": 20}, 74.5),
    ({"delegation": "nurse", "population": "larger", "income": 10}, 72.4),
    ({"delegation": "nurse and other providers", "workweek": 45, "population": "smaller", "income": -10}, 41.9),
    ({"delegation": "nurse and other providers", "consultation": 20, "income": -10}, 34.3),
    ({"consultation": 10, "workweek": 45}, 10.4),
]


def test_newdeal_priors_reproduce_published_shares():
    spec = load_design_spec(NEWDEAL)
    sq = spec.labels_of(spec.status_quo.levels)
    beta = spec.prior_mean
    x_sq = spec.code_alternative(kind="status_quo")
    for change, share in SCENARIOS:
        levels = {**sq, **change}
        idx = spec.levels_to_indices(levels)
        assert not spec.violates(idx), change           # every scenario is allowed by the constraints
        dv = spec.code_alternative(levels) @ beta - x_sq @ beta
        assert 100 / (1 + math.exp(-dv)) == pytest.approx(share, abs=0.05), change
    assert spec.blocks == 2 and spec.tasks // spec.blocks == 12 and spec.status_quo is not None


def test_shipped_newdeal_design():
    path = ROOT / "examples" / "newdeal" / "design.csv"
    assert path.exists(), "examples/newdeal/design.csv is missing (it is part of the repository)"
    spec = load_design_spec(NEWDEAL)
    d = read_design_csv(path, spec)
    r = evaluate(d, draws=50)
    assert r["tasks"] == 24 and r["tasks_per_block"] == [12, 12]
    assert r["constraint_violations"] == 0 and r["repeated_alternatives"] == 0
    assert r["dominance"]["tasks_with_dominated_alternative"] == 0
    assert r["d_error"] is not None and r["block_balance_max_deviation"] <= 1.0


@pytest.mark.parametrize("path", sorted((ROOT / "designs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_load(path):
    spec = load_design_spec(path)
    assert spec.n_params > 0 and spec.tasks % spec.blocks == 0


# ------------------------------------------------------------------ issue 19: hostile inputs, round 3
@pytest.mark.parametrize("data, needle", [
    ("block,task,alt,delegation\n1,1,1,caf\xe9\n".encode("latin-1"), r"row 1 \(line 2\) is not valid UTF-8 \(byte 0xE9\)"),
    ("bl\xf6ck,task\n".encode("latin-1"), r"the header \(line 1\) is not valid UTF-8"),
    (bytes(range(256)) * 4, r"is not a design CSV \(it holds binary data, not text\)"),
    (b"block,task\x00,alt\n", r"is not a design CSV \(it holds binary data"),
])
def test_design_csv_in_another_encoding_or_binary_is_one_line(tmp_path, data, needle):
    """Issue 19: a Latin-1 or binary design CSV was a UnicodeDecodeError (exit 1) in dce design --evaluate and
    the survey path."""
    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    path = tmp_path / "design.csv"
    path.write_bytes(data)
    with pytest.raises(DCEError, match=rf"design\.csv: {needle}"):
        read_design_csv(path, spec)


def test_a_design_yaml_in_latin1_names_the_line_and_byte(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_bytes((ROOT / "designs" / "newdeal.yaml").read_bytes() + "# caf\xe9\n".encode("latin-1"))
    with pytest.raises(DCEError, match=r"d\.yaml: line \d+: is not a text \(UTF-8\) design file \(byte 0xE9\)"):
        load_design_spec(path)


@pytest.mark.parametrize("constraint, needle", [
    (" and ".join(["workweek > 1"] * 800) + " and )", "(character 13,601 of 13,601)': unmatched ')'"),
    ("workweek > " + "9" * 5000, "(5,011 characters)': a number has more than 4,300 digits"),
])
def test_a_huge_constraint_is_quoted_by_its_start_and_position(constraint, needle):
    """Issue 19: a 10,000-character constraint and a 5,000-digit literal were echoed whole."""
    text = (ROOT / "designs" / "newdeal.yaml").read_text().replace("constraints:\n", f'constraints:\n  - "{constraint}"\n', 1)
    with pytest.raises(DCEError) as e:
        parse_design_spec(text, "d.yaml")
    msg = str(e.value)
    line = text.splitlines().index(f'  - "{constraint}"') + 1
    assert len(msg) < 300 and needle in msg and msg.startswith(f"d.yaml: key 'constraints[0]' (line {line})"), msg
