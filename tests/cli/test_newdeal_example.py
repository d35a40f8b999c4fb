"""The New Deal study end to end on its SIMULATED responses: the six published shares come back."""
import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"
PUBLISHED = [0.801, 0.745, 0.724, 0.419, 0.343, 0.104]   # examples/newdeal/README.md, in order


def run(*args):
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_the_readme_model_reproduces_the_published_shares(tmp_path):
    model, shares = tmp_path / "model.json", tmp_path / "shares.json"
    out = run("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml",
              "--interactions", "asc_status_quo:language", "--se", "cluster", "--output", model)
    assert "respondents read" in out and "1,852" in out
    m = json.loads(model.read_text())
    assert m["n_respondents"] == 1852 and m["n_tasks"] == 1852 * 12 and m["converged"]
    assert m["validation"]["missing_answers"] == 0
    run("shares", model, "--scenarios", EX / "scenarios.yaml", "--seed", "2024", "--output", shares)
    s = json.loads(shares.read_text())
    assert s["reference"] == "status_quo" and s["ci_method"] == "krinsky-robb"
    got = [x["share"] for x in s["scenarios"]]
    assert len(got) == 6
    for name, g, p in zip([x["name"] for x in s["scenarios"]], got, PUBLISHED):
        assert abs(g - p) < 0.02, f"{name}: {g:.3f} vs published {p:.3f}"
    for x in s["scenarios"]:
        assert x["ci_low"] < x["share"] < x["ci_high"]


def test_shares_by_language_and_bad_scenarios(tmp_path):
    model = tmp_path / "model.json"
    run("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml",
        "--interactions", "asc_status_quo:language", "-q", "-o", model)
    out = tmp_path / "by.json"
    run("shares", model, "--scenarios", EX / "scenarios.yaml", "--by", "language", "--seed", "1", "-o", out)
    rows = json.loads(out.read_text())["scenarios"]
    fr = [r["share"] for r in rows if r["group"] == "fr"]
    nl = [r["share"] for r in rows if r["group"] == "nl"]
    assert len(fr) == len(nl) == 6 and all(a < b for a, b in zip(fr, nl))  # truth: nl less attached to status quo
    bad = tmp_path / "bad.yaml"
    for text, needle in [("scenarios:\n  - name: x\n    levels: {colour: red}\n", "unknown attribute 'colour'"),
                         ("scenarios:\n  - name: x\n    levels: {delegation: robot}\n", "'robot' is not a level"),
                         ("scenarios:\n  - name: x\n    levels: {delegation: nurse}\n", None)]:
        bad.write_text(text)
        r = CliRunner().invoke(cli, ["shares", str(model), "--scenarios", str(bad), "--seed", "1"])
        if needle is None:
            assert r.exit_code == 0, r.output
        else:
            assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["wtp", str(model), "--cost", "delegation"])
    assert r.exit_code == 2 and "categorical" in r.output
    r = CliRunner().invoke(cli, ["shares", str(model), "--scenarios", str(EX / "scenarios.yaml"), "--by", "age"])
    assert r.exit_code == 2 and "no interaction with 'age'" in r.output


def test_model_from_another_design_is_refused(tmp_path):
    model = tmp_path / "model.json"
    run("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml",
        "-q", "-o", model)
    m = json.loads(model.read_text())
    m["spec"]["names"] = m["spec"]["names"][:-1] + ["asc_opt_out"]
    m["params"][-1]["name"] = "asc_opt_out"
    model.write_text(json.dumps(m))
    r = CliRunner().invoke(cli, ["shares", str(model), "--scenarios", str(EX / "scenarios.yaml")])
    assert r.exit_code == 2 and "another design" in r.output


def test_block_without_tasks_in_the_design(tmp_path):
    import pandas as pd

    df = pd.read_csv(EX / "responses.csv").head(5)
    df.loc[3, "block"] = 7
    p = tmp_path / "r.csv"
    df.to_csv(p, index=False)
    r = CliRunner().invoke(cli, ["fit", str(p), "--design", str(EX / "design.csv"), "--spec",
                                 str(ROOT / "designs" / "newdeal.yaml")])
    assert r.exit_code == 2 and "row 4" in r.output and "block '7'" in r.output


def test_run_script_leaves_model_and_shares(tmp_path):
    assert (EX / "run.sh").exists(), "examples/newdeal/run.sh is missing (it is part of the repository)"
    p = subprocess.run(["bash", str(EX / "run.sh"), str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "model.json").exists() and (tmp_path / "shares.json").exists()
    assert "Share preferring each scenario over the status quo" in p.stdout
