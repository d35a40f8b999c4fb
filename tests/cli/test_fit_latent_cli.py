"""`dce fit --model latent` through the command line, on SIMULATED long data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    """SIMULATED: 150 respondents x 6 tasks x 3 alternatives, two classes, membership on z."""
    rng = np.random.default_rng(1)
    rows = []
    for n in range(150):
        z = rng.normal()
        b = (-1.0, 1.5) if rng.random() > 1 / (1 + np.exp(-(-0.4 + 1.2 * z))) else (-0.3, 0.2)
        for t in range(6):
            price, quality = rng.integers(1, 6, 3), rng.integers(0, 2, 3)
            c = np.argmax(b[0] * price + b[1] * quality + rng.gumbel(size=3))
            for j in range(3):
                rows.append({"id": n, "task": t, "alt": j, "choice": int(j == c), "price": price[j],
                             "quality": quality[j], "z": round(z, 6)})
    path = tmp_path_factory.mktemp("lc") / "lc.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


BASE = ("--formula", "choice ~ price + quality", "--alt", "alt", "--task", "task", "--id", "id")


def test_a_range_of_classes_is_fitted_compared_and_written(long_csv, tmp_path):
    out = tmp_path / "lc.json"
    r = run("fit", long_csv, *BASE, "--model", "latent", "--classes", "1-2", "--membership", "z", "--starts", "2",
            "--seed", "3", "-o", out, "--individual", tmp_path / "ind.csv")
    assert r.exit_code == 0, r.output
    assert "Model comparison" in r.output and "Class membership" in r.output
    k1, k2 = (json.loads((tmp_path / f"lc.k{k}.json").read_text()) for k in (1, 2))
    assert k1["model"] == k2["model"] == "latent" and len(k2["classes"]) == 2
    assert "membership2.z" in [p["name"] for p in k2["params"]] and k2["seed"] == k1["seed"] == 3
    assert k2["loglik"] > k1["loglik"]
    ind = pd.read_csv(tmp_path / "ind.k2.csv")
    assert len(ind) == 150 and set(ind["class"]) <= {1, 2}


def test_shares_and_wtp_read_a_latent_class_model(long_csv, tmp_path):
    out = tmp_path / "lc.json"
    assert run("fit", long_csv, *BASE, "--model", "latent", "--starts", "2", "--seed", "1", "-o", out).exit_code == 0
    sc = tmp_path / "sc.yaml"
    sc.write_text("reference: {name: base, levels: {price: 3, quality: 0}}\n"
                  "scenarios:\n  - {name: better, levels: {price: 4, quality: 1}}\n")
    r = run("shares", out, "--scenarios", sc, "--seed", "2", "--sims", "100", "-o", tmp_path / "s.json")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "s.json").read_text())["scenarios"]
    assert [r.get("segment") for r in rows] == [None, "class 1", "class 2"]
    overall = rows[0]["share"]
    assert overall == pytest.approx(sum(r["segment_share"] * r["share"] for r in rows[1:]), abs=1e-12)
    r = run("wtp", out, "--cost", "price", "--seed", "2", "--sims", "100")
    assert r.exit_code == 0 and "class 1" in r.output


@pytest.mark.parametrize("args,needle", [
    (("--model", "latent", "--classes", "2-x"), "--classes: '2-x' is not a number of classes"),
    (("--model", "latent", "--classes", "0"), "--classes: '0': give at least 1 class"),
    (("--classes", "2"), "--classes, --shared and --membership need --model latent"),
    (("--model", "latent", "--membership", "age"), "--membership: 'age' is not a column"),
    (("--model", "latent", "--shared", "colour"), "--shared: 'colour' is not a coefficient"),
])
def test_bad_options_are_one_line_and_exit_2(long_csv, args, needle):
    r = run("fit", long_csv, *BASE, *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and len(r.output.strip().splitlines()) == 1
