"""`dce fit --space wtp --price`: JSON fields, `dce wtp` and `dce shares` on the result, the survey path
with an income attribute, and one-line errors (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
ELEC = "choice ~ cl + loc + wk + tod + seas"          # without the price: --price adds it


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def long_csv(folder, n_resp=60, n_tasks=4, seed=0):
    """SIMULATED long data in WTP space: price (a cost), x1, a text column and a constant."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_resp):
        s, w = np.exp(rng.normal(-0.2, 0.3)), rng.normal(1.0, 0.5)
        for t in range(n_tasks):
            price, x1 = rng.integers(1, 6, 3), rng.normal(size=3)
            u = s * (-price + w * x1) + rng.gumbel(size=3)
            for j in range(3):
                rows.append({"id": r, "task": r * n_tasks + t, "alt": j, "choice": int(j == u.argmax()),
                             "price": price[j], "x1": x1[j], "colour": "red" if j else "blue", "flat": 2.0})
    path = Path(folder) / "sim.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def base(path, formula="choice ~ x1"):
    return ["fit", path, "--formula", formula, "--alt", "alt", "--task", "task", "--id", "id"]


def test_electricity_wtp_space_json_wtp_and_shares(electricity_path, tmp_path):
    out, wtp = tmp_path / "m.json", tmp_path / "wtp.json"
    r = run("fit", electricity_path, "--formula", ELEC, "--alt", "alt", "--task", "chid", "--id", "id",
            "--space", "wtp", "--price", "pf", "-o", out)
    assert r.exit_code == 0, r.output
    assert "Conditional logit in WTP space" in r.output and "-scale x pf (a cost)" in r.output
    d = json.loads(out.read_text())
    assert d["model"] == "mnl_wtp" and d["space"] == "wtp" and d["price"] == "pf" and d["price_sign"] == -1
    assert [p["name"] for p in d["params"]] == ["cl", "loc", "wk", "tod", "seas", "scale"]
    assert d["coef_names"] == ["cl", "loc", "wk", "tod", "seas", "pf"]
    assert d["loglik"] == pytest.approx(-4958.649, abs=0.01)
    r = run("wtp", out, "--cost", "pf", "--seed", "1", "--sims", "200", "-o", wtp)
    assert r.exit_code == 0, r.output
    est = {p["name"]: p for p in d["params"]}
    for row in json.loads(wtp.read_text())["wtp"]:
        assert row["wtp"] == pytest.approx(est[row["name"]]["estimate"], rel=1e-10)
        assert row["se"] == pytest.approx(est[row["name"]]["se"], rel=1e-5)
    sc = tmp_path / "sc.yaml"
    sc.write_text("reference: {name: base, levels: {pf: 7, cl: 1, loc: 0, wk: 0, tod: 0, seas: 0}}\n"
                  "scenarios:\n  - name: local\n    levels: {pf: 7, cl: 1, loc: 1, wk: 0, tod: 0, seas: 0}\n")
    r = run("shares", out, "--scenarios", sc, "--seed", "1", "--sims", "100")
    assert r.exit_code == 0 and "local" in r.output, r.output


def test_mixed_wtp_space_cli_and_wtp_distribution(tmp_path):
    data, out, wtp = long_csv(tmp_path), tmp_path / "m.json", tmp_path / "w.json"
    r = run(*base(data, "choice ~ price + x1"), "--model", "mixed", "--space", "wtp", "--price", "price",
            "--random", "scale", "--random", "x1=n", "--draws", "30", "--seed", "2", "--starts", "2", "-q", "-o", out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["model"] == "mixed_wtp" and d["space"] == "wtp"
    assert [p["name"] for p in d["params"]] == ["scale", "x1", "sd.scale", "sd.x1"]
    assert d["random"]["scale"]["distribution"] == "ln" and d["starts"]["n"] == 2
    r = run("wtp", out, "--cost", "price", "--seed", "1", "--sims", "100", "-o", wtp)
    assert r.exit_code == 0 and "Distribution over respondents" in r.output, r.output
    row = json.loads(wtp.read_text())["wtp"][0]
    x1 = {p["name"]: p["estimate"] for p in d["params"]}
    # the individual ratio -beta_x1 / beta_price is the WTP itself: its distribution is the normal's
    assert row["distribution"]["median"] == pytest.approx(x1["x1"], abs=0.05 * x1["sd.x1"])


def test_survey_export_with_income_as_the_price(tmp_path):
    ex = ROOT / "examples" / "newdeal"
    out = tmp_path / "nd.json"
    args = ["fit", ex / "responses.csv", "--design", ex / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml"]
    r = run(*args, "--space", "wtp", "--price", "income", "-o", out)
    assert r.exit_code == 0, r.output
    assert "+scale x income (a good, like income)" in r.output
    d = json.loads(out.read_text())
    assert d["price"] == "income" and d["price_sign"] == 1 and "scale" in [p["name"] for p in d["params"]]
    r = run(*args, "--space", "wtp", "--price", "delegation")
    assert r.exit_code == 2 and "--price" in r.output and "not numeric" in r.output, r.output


@pytest.mark.parametrize("extra,formula,message", [
    (["--space", "wtp"], None, "--price: --space wtp needs the price column"),
    (["--price", "price"], None, "--price needs --space wtp"),
    (["--space", "wtp", "--price", "cost"], None, "sim.csv: no column 'cost'"),
    (["--space", "wtp", "--price", "colour"], None, "column 'colour': is not numeric"),
    (["--space", "wtp", "--price", "flat"], None, "sim.csv: 'flat' is constant within every task"),
    (["--space", "wtp", "--price", "price", "--model", "mixed", "--random", "nope=n"], None,
     "--random: 'nope' is not a coefficient of the model (coefficients: x1, scale)"),
    (["--space", "wtp", "--price", "price", "--model", "mixed", "--random", "price=n"], None,
     "--random: 'price' is the price"),
    (["--space", "wtp", "--price", "price", "--model", "latent"], None, "--space wtp: willingness-to-pay space is"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, extra, formula, message):
    data = long_csv(tmp_path, n_resp=10)
    r = run(*base(data, formula or "choice ~ x1"), *extra)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output and r.output.startswith("error: --")
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1, r.output
