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


# ------------------------------------------------------------------ issue 19: hostile inputs, round 3
def test_more_parameters_than_the_tasks_identify_is_refused(tmp_path):
    """40 parameters from 8 tasks of 2 alternatives: the design was written with a D-error of '-' and no
    warning.  Refused before any search, naming the key."""
    attrs = "".join(f"  a{i}: {{levels: [0, 1, 2, 3, 4], coding: dummy}}\n" for i in range(10))
    spec = tmp_path / "s.yaml"
    spec.write_text("name: big\nalternatives: 2\ntasks: 8\nattributes:\n" + attrs)
    r = CliRunner().invoke(design, [str(spec), "-o", str(tmp_path / "d.csv"), "--starts", "1", "--seed", "1"])
    assert r.exit_code == 2, r.output
    assert (f"{spec}: key 'tasks' (line 3): 8 tasks of 2 alternatives identify at most 8 parameters, but the "
            "attributes have 40: give at least 40 tasks") in r.output
    assert not (tmp_path / "d.csv").exists()


def test_a_design_that_identifies_nothing_is_evaluated_with_a_warning(tmp_path):
    """Enough tasks, but an attribute that never varies: the information matrix is singular; the D-error
    is undefined and a warning says why (was a bare '-')."""
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    csv = tmp_path / "d.csv"
    rows = ["block,task,alt,a,b,c,d"] + [f"{1 + t // 4},{t + 1},{j + 1},{j},{(t + j) % 2},lo,{t % 2}"
                                          for t in range(8) for j in range(2)]
    csv.write_text("\n".join(rows) + "\n")
    r = CliRunner().invoke(design, ["--evaluate", str(csv), str(spec), "--json", str(tmp_path / "e.json")])
    assert r.exit_code == 0, r.output
    assert "does not identify every parameter" in r.output
    assert json.loads((tmp_path / "e.json").read_text())["d_error"] is None


def test_a_full_factorial_too_large_to_enumerate_says_so(tmp_path):
    """2^25 profiles: was "key 'tasks' must be at least 1"."""
    attrs = "".join(f"  a{i}: {{levels: [0, 1]}}\n" for i in range(25))
    spec = tmp_path / "s.yaml"
    spec.write_text("name: ff\nalternatives: 2\nmethod: full_factorial\nattributes:\n" + attrs)
    r = CliRunner().invoke(design, [str(spec), "-o", str(tmp_path / "d.csv")])
    assert r.exit_code == 2, r.output
    assert "key 'method' (line 3): a full factorial of 33,554,432 profiles is too large to enumerate" in r.output
