"""`dce fit` on survey exports (SPSS value labels) and `dce simulate`, through the command line."""
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "designs" / "newdeal.yaml"
DESIGN = ROOT / "examples" / "newdeal" / "design.csv"
TRUTH = ROOT / "examples" / "newdeal" / "truth.yaml"


def answers_frame(n=6):
    """Six respondents, alternating blocks, hand-written answers (positions 1..3, 3 = status quo)."""
    rows = []
    for r in range(1, n + 1):
        rows.append({"id": r, "block": 1 + (r - 1) % 2, **{f"q{k}": 1 + (r + k) % 3 for k in range(1, 13)}})
    return pd.DataFrame(rows)


def test_spss_value_labels_are_used(tmp_path):
    import pyreadstat

    df = answers_frame()
    labels = {f"q{k}": {1.0: "Scenario A", 2.0: "Scenario B", 3.0: "Current situation"} for k in range(1, 13)}
    path = tmp_path / "resp.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels=labels)
    r = CliRunner().invoke(cli, ["fit", str(path), "--design", str(DESIGN), "--spec", str(SPEC), "-o",
                                 str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m.json").read_text())["n_tasks"] == 72


def test_simulate_command_writes_a_survey_export(tmp_path):
    out = tmp_path / "r.csv"
    r = CliRunner().invoke(cli, ["simulate", "--design", str(DESIGN), "--spec", str(SPEC), "--truth", str(TRUTH),
                                 "--respondents", "20", "--seed", "3", "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "SIMULATED" in r.output and "seed 3" in r.output
    df = pd.read_csv(out)
    assert list(df.columns[:3]) == ["id", "block", "language"] and len(df) == 20
    assert df.filter(like="q").isin([1, 2, 3]).all().all()


def test_spss_block_value_labels_map_to_the_designs_blocks(tmp_path):
    """Issue 19: an SPSS export whose block column carries value labels ('Block two') was refused; its
    labels map to the design's blocks as answer labels map to alternatives."""
    import pyreadstat

    df = answers_frame()
    labels = {f"q{k}": {1.0: "Scenario A", 2.0: "Scenario B", 3.0: "Current situation"} for k in range(1, 13)}
    labels["block"] = {1.0: "Block one", 2.0: "Block two"}
    path = tmp_path / "resp.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels=labels)
    r = CliRunner().invoke(cli, ["fit", str(path), "--design", str(DESIGN), "--spec", str(SPEC), "-o",
                                 str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    plain = tmp_path / "plain.csv"
    answers_frame().to_csv(plain, index=False)
    r2 = CliRunner().invoke(cli, ["fit", str(plain), "--design", str(DESIGN), "--spec", str(SPEC), "-o",
                                  str(tmp_path / "m2.json")])
    assert r2.exit_code == 0, r2.output
    fitted, reference = (json.loads((tmp_path / m).read_text()) for m in ("m.json", "m2.json"))
    assert fitted["n_tasks"] == 72 and fitted["params"] == reference["params"]
