"""`dce fit --model mixed` through click's CliRunner: JSON fields, individual means, clear errors."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dce.cli import cli

FORMULA = "choice ~ pf + cl + loc + wk + tod + seas"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def base(path):
    return ["fit", path, "--formula", FORMULA, "--alt", "alt", "--task", "chid", "--id", "id", "--model", "mixed"]


def test_fit_mixed_json_and_individual_means(electricity_path, tmp_path):
    out = tmp_path / "mixed.json"
    ind = tmp_path / "ind.csv"
    r = run(*base(electricity_path), "--random", "pf=n,cl=n", "--random", "loc=ln", "--correlated", "pf,cl",
            "--draws", "50", "--seed", "3", "--quiet", "--se", "cluster", "-o", out, "--individual", ind)
    assert r.exit_code == 0, r.output
    assert "Mixed logit" in r.output and "Implied correlation" in r.output
    d = json.loads(out.read_text())
    assert d["model"] == "mixed" and d["draws"] == 50 and d["draw_type"] == "halton" and d["seed"] == 3
    names = [p["name"] for p in d["params"]]
    assert names[:6] == ["pf", "cl", "loc", "wk", "tod", "seas"]
    assert {"sd.loc", "chol.pf.pf", "chol.cl.pf", "chol.cl.cl"} <= set(names)
    assert set(d["random"]) == {"pf", "cl", "loc"}
    for item in d["random"].values():
        assert {"distribution", "mean", "sd", "mean_se", "sd_se"} <= set(item)
    assert d["random"]["loc"]["distribution"] == "ln"
    assert d["correlation"]["names"] == ["pf", "cl"]
    assert d["correlation"]["matrix"][0][0] == pytest.approx(1.0)
    assert {"mean", "median", "sd", "mean_se"} <= set(d["implied"]["loc"])
    assert d["se_type"] == "cluster" and "cluster_se" in d["params"][0]
    lines = ind.read_text().splitlines()
    assert lines[0] == "id,n_tasks,pf,cl,loc" and len(lines) == 362


def test_fit_mixed_seed_is_reported_when_not_given(electricity_path, tmp_path):
    out = tmp_path / "m.json"
    r = run(*base(electricity_path), "--random", "pf=n", "--draws", "20", "--quiet", "-o", out)
    assert r.exit_code == 0, r.output
    assert isinstance(json.loads(out.read_text())["seed"], int)


@pytest.mark.parametrize("extra,message", [
    (["--random", "price=n"], "'price' is not a coefficient"),
    (["--random", "pf=gamma"], "unknown distribution 'gamma'"),
    (["--random", "pf=n", "--correlated", "pf,cl"], "'cl' is a fixed coefficient"),
    (["--random", "pf=n", "--draws", "1"], "--draws: must be a whole number from 2"),
    ([], "at least one random coefficient"),
])
def test_fit_mixed_bad_input(electricity_path, extra, message):
    r = run(*base(electricity_path), "--quiet", *extra)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
