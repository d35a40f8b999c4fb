"""`dce design`: make, evaluate, outputs and clean errors."""
from __future__ import annotations

import json

from click.testing import CliRunner

from dce.cli.design import design

SPEC = """\
name: small
alternatives: 2
tasks: 8
blocks: 2
attributes:
  a: {levels: [0, 1], coding: effects}
  b: {levels: [0, 1], coding: effects}
  c: {levels: [lo, hi], coding: dummy}
  d: {levels: [0, 1], coding: effects}
"""


def test_make_and_evaluate(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    out, q, js = tmp_path / "d.csv", tmp_path / "q.md", tmp_path / "d.json"
    r = CliRunner().invoke(design, [str(spec), "--output", str(out), "--seed", "4", "--starts", "5",
                                    "--questionnaire", str(q), "--json", str(js)])
    assert r.exit_code == 0, r.output
    assert "seed 4" in r.output and "Street & Burgess" in r.output and "100.00%" in r.output
    d = json.loads(js.read_text())
    assert d["seed"] == 4 and abs(d["sb_efficiency"] - 1) < 1e-6 and d["tasks"] == 8
    assert len(out.read_text().splitlines()) == 1 + 16
    assert q.read_text().count("### Question") == 8
    r2 = CliRunner().invoke(design, ["--evaluate", str(out), str(spec), "--json", str(tmp_path / "e.json")])
    assert r2.exit_code == 0, r2.output
    e = json.loads((tmp_path / "e.json").read_text())
    assert e["d_error"] == d["d_error"] and e["sb_efficiency"] == d["sb_efficiency"]


def test_seed_chosen_and_printed(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    r = CliRunner().invoke(design, [str(spec), "-o", str(tmp_path / "d.csv"), "--starts", "1"])
    assert r.exit_code == 0, r.output
    assert "; seed " in r.output


def test_errors_are_one_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.replace("blocks: 2", "blocks: 9"))
    r = CliRunner().invoke(design, [str(spec), "-o", str(tmp_path / "d.csv")])
    assert r.exit_code == 2
    assert "key 'blocks' (line 4)" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "d.csv").exists()
    spec.write_text(SPEC)
    r = CliRunner().invoke(design, [str(spec)])
    assert r.exit_code == 2 and "--output" in r.output
