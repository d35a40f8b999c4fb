"""`dce power` and `dce fit --bootstrap` through click's test runner: the JSON of the issue, the report reads
it, and one-line refusals (exit 2) for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"
BASE = ["power", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml"]


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


def one_line_error(r, text):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], r.output


def test_power_writes_the_json_of_the_issue_and_the_report_reads_it(tmp_path):
    out = tmp_path / "power.json"
    r = run(*BASE, "--truth", EX / "truth.yaml", "--respondents", "30,60", "--replications", "4", "--seed", "5",
            "--workers", "2", "--output", out)
    assert r.exit_code == 0, r.output
    assert "Power by number of respondents" in r.output and "S-estimate" in r.output
    assert "power by respondents" in r.output                        # the text power curve
    d = json.loads(out.read_text())
    assert d["sizes"] == [30, 60] and d["replications"] == 4 and d["seed"] == 5 and d["model"] == "mnl"
    assert d["failed"] == [0, 0] and d["simulated"] is True
    t = d["targets"][0]
    assert t["name"] == "delegation[nurse]" and t["kind"] == "coefficient"
    for key in ("power", "mean_se", "bias", "coverage"):
        assert len(t[key]) == 2
    for key in ("n80", "n90", "s_estimate"):
        assert key in t
    assert d["provenance"]["inputs"][0]["path"].endswith("design.csv")
    html = tmp_path / "r.html"
    r = run("report", "--power", out, "--output", html)
    assert r.exit_code == 0, r.output
    assert "Sample size and power" in html.read_text()


def test_power_shares_target(tmp_path):
    out = tmp_path / "p.json"
    r = run(*BASE, "--truth", EX / "truth.yaml", "--respondents", "50", "--replications", "2", "--seed", "1",
            "--workers", "1", "--target", "shares", "--scenarios", EX / "scenarios.yaml", "--output", out, "-q")
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["target"] == "shares" and len(d["targets"]) == 6 and "mean_ci_width" in d["targets"][0]


@pytest.mark.parametrize("args, text", [
    (["--respondents", "50,abc"], "--respondents: 'abc' is not a positive whole number"),
    (["--respondents", "0,50"], "--respondents: '0' is not a positive whole number"),
    (["--respondents", "50", "--replications", "1"], "--replications: must be at least 2"),
    (["--respondents", "50", "--target", "wtp"], "--target wtp needs --cost"),
    (["--respondents", "50", "--workers", "0"], "--workers: must be at least 1"),
    (["--respondents", "50", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "not both"),
])
def test_bad_options_are_one_line(args, text):
    one_line_error(run(*BASE, *args), text)


def test_truth_not_matching_the_design(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("coefficients: {colour: 1.0}\n")
    one_line_error(run(*BASE, "--truth", bad, "--respondents", "50"), "key 'coefficients.colour' (line 1): not a coefficient of the design")


def test_unreachable_scheduler_names_the_address(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'dce[dask]')")
    out = tmp_path / "p.json"
    r = run(*BASE, "--respondents", "50", "--replications", "2", "--scheduler", "tcp://127.0.0.1:9", "-o", out)
    one_line_error(r, "--scheduler: no Dask scheduler answered at tcp://127.0.0.1:9 within 5 s")
    assert not out.exists()


def test_without_dask_scheduler_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    one_line_error(run(*BASE, "--respondents", "50", "--scheduler", "tcp://127.0.0.1:9"),
                   'pip install "dce[dask]"')
    # DCE_SCHEDULER is read by the CLI when no option says where to run (--workers runs locally)
    r = run(*BASE, "--respondents", "50", "--replications", "2", env={"DCE_SCHEDULER": "tcp://127.0.0.1:9"})
    one_line_error(r, "--scheduler: running on a Dask cluster needs dask.distributed")
    r = run(*BASE, "--respondents", "5", "--replications", "2", "--workers", "1", "-q",
            env={"DCE_SCHEDULER": "tcp://127.0.0.1:9"})
    assert r.exit_code == 0, r.output


def test_fit_bootstrap_keeps_replicates_that_shares_use(tmp_path):
    model = tmp_path / "m.json"
    resp = tmp_path / "r.csv"
    r = run("simulate", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml", "--truth",
            EX / "truth.yaml", "--respondents", "120", "--seed", "3", "--output", resp)
    assert r.exit_code == 0, r.output
    r = run("fit", resp, "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml", "--se",
            "cluster", "--bootstrap", "30", "--seed", "4", "--workers", "2", "--output", model)
    assert r.exit_code == 0, r.output
    assert "Bootstrap: 30 respondent-level replicates" in r.output and "BCa" in r.output
    d = json.loads(model.read_text())
    assert len(d["bootstrap"]["replicates"]) == 30 and d["bootstrap"]["seed"] == 4
    r = run("shares", model, "--scenarios", EX / "scenarios.yaml", "--seed", "1")
    assert r.exit_code == 0 and "percentiles over 30 respondent-level bootstrap replicates" in r.output
    # a terminal wide enough for the heading on one line (a narrower one wraps headings at spaces)
    r = run("wtp", model, "--cost", "income", "--seed", "1", env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "CI (bootstrap)" in r.output
    one_line_error(run("fit", resp, "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml",
                       "--bootstrap", "1"), "--bootstrap: must be at least 2")


def test_power_says_a_conditional_logit_is_misspecified_for_a_mixed_truth(tmp_path):
    """Issue 20: a mixed-logit truth planned with a conditional logit: a warning, and the truth printed as
    the file gives it (-0.12, not a simulated -0.1204)."""
    from dce.design.spec import load_design_spec

    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    coefs = {n: 0.5 for n in spec.param_names}
    coefs["workweek"] = -0.12
    p = tmp_path / "t.yaml"
    p.write_text("model: mixed\ncoefficients:\n" + "".join(f"  {n}: {v}\n" for n, v in coefs.items())
                 + "random:\n  workweek: {distribution: n, sd: 0.05}\n")
    r = run(*BASE, "--truth", p, "--respondents", "20", "--replications", "2", "--seed", "1", "--quiet",
            "--format", "csv")
    assert r.exit_code == 0, r.output
    assert "misspecified for this truth: workweek" in " ".join(r.output.split())
    row = [ln for ln in r.output.splitlines() if ln.startswith("workweek,")][0]
    assert row.split(",")[1] == "-0.12", row
