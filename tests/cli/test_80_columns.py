"""Every command's tables in an 80-column terminal (COLUMNS=80): no line is wider, no number is cut, no
column and no row label is lost (wide tables are folded or stacked, never cut).

The tables each command prints are recorded as data (:class:`dce.tables.Table`, on their way to the
renderer) and every formatted number of every table is looked for, whole, in what the terminal shows.
Data are the New Deal example (SIMULATED responses) and small SIMULATED panels.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import dce.report.render as render
import dce.report.tables as report_tables
from dce.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"
SPEC = ROOT / "designs" / "newdeal.yaml"
WIDTH = 80


@pytest.fixture
def recorded(monkeypatch):
    """The tables given to the terminal renderer during a command."""
    seen = []
    original = render.to_rich

    def to_rich(table, width=None):
        seen.append((table, width))
        return original(table, width)
    monkeypatch.setattr(render, "to_rich", to_rich)
    monkeypatch.setattr(report_tables, "to_rich", to_rich)
    return seen


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": str(WIDTH)})


def check(r, recorded, statuses=(0,)):
    """No line wider than 80; every table's numbers whole, its headings' words and row labels present."""
    assert r.exit_code in statuses, r.output
    lines = [ln.rstrip() for ln in r.output.splitlines()]
    # an error is one line whatever its length (the charter's rule); everything else fits
    wide = [ln for ln in lines if len(ln) > WIDTH and not ln.startswith("error: ")]
    assert not wide, f"{len(wide[0])} columns: {wide[0]!r}"
    text = "\n".join(lines)
    flat = re.sub(r"\s+", " ", text)
    assert recorded, "no table was printed"
    for table, width in recorded:
        assert width == WIDTH, f"{table.title}: laid out for {width} columns"
        for col in table.columns:
            for word in col.name.split():
                assert word in flat, f"{table.title}: heading '{col.name}' lost"
        for row in table.formatted():
            label = row[0].split(" ")[0][:12]
            assert label in text, f"{table.title}: row label {row[0]!r} lost"
            for value, col in zip(row[1:], table.columns[1:]):
                if col.numeric and value.strip():
                    assert value in text, f"{table.title}: column '{col.name}' value {value!r} cut or lost"


def test_help_of_every_command_fits():
    for args in [["--help"]] + [[name, "--help"] for name in COMMANDS]:
        r = run(*args)
        assert r.exit_code == 0, r.output
        wide = [ln for ln in r.output.splitlines() if len(ln) > WIDTH]
        assert not wide, f"dce {' '.join(args)}: {wide[0]!r}"


@pytest.fixture(scope="module")
def newdeal(tmp_path_factory):
    """The New Deal model (SIMULATED responses), fitted once."""
    out = tmp_path_factory.mktemp("nd")
    r = CliRunner().invoke(cli, [str(a) for a in (
        "fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", SPEC,
        "--interactions", "asc_status_quo:language", "--se", "cluster", "--output", out / "model.json", "-q")])
    assert r.exit_code == 0, r.output
    return out / "model.json"


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """SIMULATED long data: 60 respondents x 6 tasks x 3 alternatives, price and a text quality."""
    rng = np.random.default_rng(3)
    rows = []
    for r in range(60):
        b = {"price": -np.exp(rng.normal(-0.3, 0.3)), "good": rng.normal(0.8, 0.6), "best": rng.normal(1.4, 0.6)}
        for t in range(6):
            price = rng.integers(1, 6, 3).astype(float)
            qual = rng.choice(["basic", "good", "best"], 3)
            v = b["price"] * price + np.array([b.get(q, 0.0) for q in qual])
            c = rng.choice(3, p=np.exp(v) / np.exp(v).sum())
            rows += [{"rid": r, "task": r * 100 + t, "alt": j + 1, "chosen": int(j == c), "price": price[j],
                      "quality": qual[j]} for j in range(3)]
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


LONG = ["--formula", "chosen ~ price + C(quality, ref='basic')", "--alt", "alt", "--task", "task", "--id", "rid",
        "--seed", "4", "-q"]


def test_design_evaluate(recorded):
    check(run("design", "--evaluate", EX / "design.csv", SPEC), recorded)


def test_design_make(recorded, tmp_path):
    check(run("design", ROOT / "designs" / "generic_3x3.yaml", "--output", tmp_path / "d.csv", "--seed", "1",
              "--starts", "2", "--workers", "1"), recorded)


def test_fit_survey(recorded, tmp_path):
    check(run("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", SPEC,
              "--interactions", "asc_status_quo:language", "--se", "cluster"), recorded)


@pytest.mark.parametrize("model", [
    ["--model", "mixed", "--random", "price=-ln", "--draws", "50"],
    ["--model", "latent", "--classes", "1-2"],
    ["--model", "hb", "--iterations", "300", "--thin", "3", "--chains", "1"],
    ["--space", "wtp", "--price", "price"],
], ids=["mixed", "latent", "hb", "wtp-space"])
def test_fit_families(recorded, panel, model):
    check(run("fit", panel, *LONG, *model), recorded, statuses=(0, 3))


def test_shares_and_wtp(recorded, newdeal):
    check(run("shares", newdeal, "--scenarios", EX / "scenarios.yaml", "--seed", "1", "--sims", "200",
              "--by", "language"), recorded)
    recorded.clear()
    check(run("wtp", newdeal, "--cost", "income", "--seed", "1", "--sims", "200"), recorded)


def test_power(recorded):
    check(run("power", "--design", EX / "design.csv", "--spec", SPEC, "--truth", EX / "truth.yaml",
              "--respondents", "30,60,90,120", "--replications", "3", "--seed", "5", "--workers", "1", "-q"),
          recorded)


def test_the_layout_rule():
    """Text folds to 18 characters, numbers keep their width; beyond that the table is stacked."""
    assert render.column_groups([10, 8, 8], [False, True, True], 80) == [[0, 1, 2]]
    assert render.column_groups([30, 20, 20, 20], [False, True, True, True], 80) == [[0, 1, 2], [0, 3]]
    assert render.column_groups([30, 20, 20, 20], [False, True, True, True], None) == [[0, 1, 2, 3]]
