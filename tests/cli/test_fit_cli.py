"""`dce fit` through click's test runner: every path, its JSON, and its refusals."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def small_long(tmp_path, sep=","):
    """A simulated long-format file (24 tasks x 3 alternatives) written for the test."""
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    for t in range(1, 25):
        X = rng.normal(size=(3, 2))
        v = X @ np.array([1.0, -0.5])
        c = rng.choice(3, p=np.exp(v) / np.exp(v).sum())
        for j in range(3):
            rows.append({"resp": (t - 1) // 6 + 1, "task": t, "alt": j + 1, "chosen": int(j == c),
                         "x1": X[j, 0], "x2": X[j, 1], "label": "abc"[j]})
    path = tmp_path / "small.csv"
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep)
    return path


def test_fit_electricity_writes_the_documented_json(electricity_path, tmp_path):
    out = tmp_path / "m.json"
    r = run("fit", electricity_path, "--formula", "choice ~ pf + cl + loc + wk + tod + seas",
            "--alt", "alt", "--task", "chid", "--id", "id", "--se", "robust", "--output", out)
    assert r.exit_code == 0, r.output
    assert "Conditional logit" in r.output and "rho-squared" in r.output and "robust s.e." in r.output
    j = json.loads(out.read_text())
    for key in ("model", "loglik", "loglik_null", "n_tasks", "n_respondents", "n_params", "aic", "bic", "rho2",
                "converged", "iterations", "seconds", "params", "vcov", "spec"):
        assert key in j
    assert j["model"] == "mnl" and j["n_tasks"] == 4308 and j["n_respondents"] == 361 and j["n_params"] == 6
    assert abs(j["loglik"] + 4958.649) < 0.01
    p = {x["name"]: x for x in j["params"]}
    assert set(p) == {"pf", "cl", "loc", "wk", "tod", "seas"}
    assert abs(p["pf"]["estimate"] + 0.625228) < 1e-5
    assert p["pf"]["se"] == p["pf"]["robust_se"]
    assert set(p["pf"]) >= {"name", "estimate", "se", "robust_se", "z", "p"}
    assert len(j["vcov"]) == 6 and len(j["vcov"][0]) == 6


def test_fit_cluster_and_tsv_and_gzip(tmp_path):
    path = small_long(tmp_path, sep="\t")
    gz = tmp_path / "small.tsv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    out = tmp_path / "m.json"
    r = run("fit", gz, "-f", "chosen ~ x1 + x2 + C(label)", "--alt", "alt", "--task", "task", "--id", "resp",
            "--se", "cluster", "-o", out)
    assert r.exit_code == 0, r.output
    j = json.loads(out.read_text())
    assert j["se_type"] == "cluster" and j["n_respondents"] == 4
    assert [x["name"] for x in j["params"]] == ["x1", "x2", "label[b]", "label[c]"]   # column[level]
    assert j["spec"]["references"] == {"label": "a"}
    assert "reference levels: label = a" in r.output


def test_fit_model_file_swissmetro(swissmetro_path, tmp_path):
    out = tmp_path / "b01.json"
    r = run("fit", swissmetro_path, "--model-file", ROOT / "examples" / "swissmetro" / "b01logit.yaml",
            "--se", "robust", "-o", out)
    assert r.exit_code == 0, r.output
    j = json.loads(out.read_text())
    assert j["n_tasks"] == 6768 and abs(j["loglik"] + 5331.252) < 0.01
    p = {x["name"]: x for x in j["params"]}
    assert abs(p["B_TIME"]["estimate"] + 1.277859) < 5e-5 and abs(p["B_TIME"]["robust_se"] - 0.104254) < 5e-4


@pytest.mark.parametrize("args, needle", [
    (["--formula", "chosen ~ x1 + nosuch"], "'nosuch'"),
    (["--formula", "chosen ~ x1", "--model-file", "m.yaml"], "exactly one of --formula and --model-file"),
    ([], "exactly one of --formula and --model-file"),
    (["--formula", "chosen ~ x1 +"], "--formula"),
    (["--formula", "chosen ~ x1", "--se", "cluster"], "--id"),
])
def test_fit_refusals_are_one_line(tmp_path, args, needle):
    path = small_long(tmp_path)
    base = ["--alt", "alt", "--task", "task"] if "--model-file" not in args else []
    r = run("fit", path, *args, *base)
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output


def test_missing_and_empty_files(tmp_path):
    r = run("fit", tmp_path / "nope.csv", "--formula", "y ~ x", "--alt", "a", "--task", "t")
    assert r.exit_code == 2 and "nope.csv" in r.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = run("fit", empty, "--formula", "y ~ x", "--alt", "a", "--task", "t")
    assert r.exit_code == 2 and "empty.csv" in r.output


def test_failed_fit_leaves_no_output_file(tmp_path):
    path = small_long(tmp_path)
    out = tmp_path / "m.json"
    r = run("fit", path, "--formula", "chosen ~ x1 + resp", "--alt", "alt", "--task", "task", "-o", out)
    assert r.exit_code == 2 and "constant within every task" in r.output
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))


def test_launcher_and_console_entry_point_agree(tmp_path):
    """`python cli.py` is the same program; an error there is one line on stderr, exit 2, no traceback."""
    path = small_long(tmp_path)
    p = subprocess.run([sys.executable, str(ROOT / "cli.py"), "fit", str(path), "--formula", "chosen ~ nosuch",
                        "--alt", "alt", "--task", "task"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error:") and "'nosuch'" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    h = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert h.returncode == 0 and "fit" in h.stdout


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from dce.cli import main; sys.argv=['dce','--help'];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy=[m for m in ('pandas','numpy','scipy','rich','formulaic') if m in sys.modules];"
            "print('HEAVY', heavy)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in p.stdout, p.stdout + p.stderr
