"""`--format` on fit, shares, wtp and design: the same tables on standard output in the formats papers use,
the numbers equal to the JSON outputs; everything else on standard error; provenance in every JSON."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli

# pandas 3 reads floats exactly by default (and deprecates the option); pandas 2 needs "round_trip"
EXACT = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"
SPEC = ROOT / "designs" / "newdeal.yaml"


def invoke(*args, ok=True):
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt")
    r = invoke("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", SPEC, "--interactions",
               "asc_status_quo:language", "--se", "cluster", "--format", "json", "--output", d / "model.json",
               "--validation-output", d / "validation.json")
    return d, r


def test_fit_json_tables_equal_the_model_json(fitted):
    d, r = fitted
    tables = {t["key"]: t for t in json.loads(r.stdout)["tables"]}        # stdout holds only the tables
    m = json.loads((d / "model.json").read_text())
    est = tables["estimates"]
    assert [row[0] for row in est["rows"]] == [p["name"] for p in m["params"]]
    assert [row[1] for row in est["rows"]] == [p["estimate"] for p in m["params"]]
    assert [row[2] for row in est["rows"]] == [p["se"] for p in m["params"]]
    fit = {row[0]: row[1] for row in tables["fit"]["rows"]}
    assert fit["log-likelihood"]["value"] == m["loglik"] and fit["respondents"]["value"] == 1852
    assert "respondents read" in r.stderr                               # the validation report went aside
    v = json.loads((d / "validation.json").read_text())
    assert v["respondents_read"] == 1852 and v == {**m["validation"], "provenance": v["provenance"]}
    assert m["provenance"]["command"].startswith("dce fit ") and "--validation-output" in m["provenance"]["command"]
    assert [Path(f["path"]).name for f in m["provenance"]["inputs"]] == ["responses.csv", "design.csv", "newdeal.yaml"]
    assert all(len(f["sha256"]) == 64 for f in m["provenance"]["inputs"])


def test_fit_text_is_the_default(fitted, tmp_path):
    d, _ = fitted
    a = invoke("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", SPEC, "-q")
    b = invoke("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", SPEC, "-q", "--format", "text")

    def strip(s):
        return "\n".join(line for line in s.splitlines() if not line.startswith("seconds"))

    assert strip(a.stdout) == strip(b.stdout) and "Conditional logit" in a.stdout and "log-likelihood" in a.stdout


def test_shares_csv_and_wtp_xlsx_equal_the_json(fitted, tmp_path):
    d, _ = fitted
    r = invoke("shares", d / "model.json", "--scenarios", EX / "scenarios.yaml", "--seed", "3", "--sims", "100",
               "--format", "csv", "--output", tmp_path / "s.json")
    s = json.loads((tmp_path / "s.json").read_text())
    df = pd.read_csv(io.StringIO(r.stdout), **EXACT)   # exact, as written
    assert df["scenario"].tolist() == [x["name"] for x in s["scenarios"]]
    assert df["share"].tolist() == [x["share"] for x in s["scenarios"]]
    assert df["95% CI low"].tolist() == [x["ci_low"] for x in s["scenarios"]]
    assert s["provenance"]["command"].startswith("dce shares ")
    r = invoke("wtp", d / "model.json", "--cost", "income", "--seed", "3", "--sims", "100", "--format", "xlsx",
               "--output", tmp_path / "w.json")
    w = json.loads((tmp_path / "w.json").read_text())
    sheets = pd.read_excel(io.BytesIO(r.stdout_bytes), sheet_name=None)
    assert list(sheets) == ["wtp", "importance", "notes"]
    # openpyxl writes 16 significant digits (Excel itself keeps 15): equal to that precision
    close = dict(rtol=1e-15, atol=0)
    np.testing.assert_allclose(sheets["wtp"]["WTP"], [x["wtp"] for x in w["wtp"]], **close)
    np.testing.assert_allclose(sheets["wtp"]["95% CI (K-R) high"], [x["kr_high"] for x in w["wtp"]], **close)
    np.testing.assert_allclose(sheets["importance"]["importance"], [x["importance"] for x in w["importance"]], **close)
    assert sheets["wtp"]["coefficient"].tolist() == [x["name"] for x in w["wtp"]]


def test_design_evaluate_formats(tmp_path):
    r = invoke("design", "--evaluate", EX / "design.csv", SPEC, "--format", "markdown", "--json", tmp_path / "d.json")
    assert r.stdout.startswith("**Attributes, levels and coding**") and "**Design diagnostics**" in r.stdout
    assert "diagnostics written to" in r.stderr and "diagnostics written to" not in r.stdout
    r = invoke("design", "--evaluate", EX / "design.csv", SPEC, "--format", "latex")
    assert "\\toprule" in r.stdout and "delegation{[}nurse{]}" in r.stdout
    d = json.loads((tmp_path / "d.json").read_text())
    assert [a["name"] for a in d["attributes"]] == ["delegation", "workweek", "consultation", "population", "income"]
    assert d["attributes"][3]["reference"] == "current" and d["attributes"][3]["coding_table"][1] == [0.0, 0.0]


def test_bad_format_and_validation_output(tmp_path):
    r = invoke("wtp", "m.json", "--cost", "x", "--format", "docx", ok=False)
    assert r.exit_code == 2 and "docx" in r.output
    r = invoke("fit", ROOT / "examples" / "electricity" / "electricity.csv.gz", "--formula", "choice ~ pf",
               "--alt", "alt", "--task", "chid", "--validation-output", tmp_path / "v.json", ok=False)
    assert r.exit_code == 2 and "--validation-output" in r.output and not (tmp_path / "v.json").exists()
