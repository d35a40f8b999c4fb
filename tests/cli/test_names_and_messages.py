"""One name for one idea across the commands, progress on long steps, and the messages a newcomer meets
(issue 21).  Data: the New Deal example (SIMULATED responses) and small SIMULATED panels."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli
from dce.errors import DCEError

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"
SPEC = ROOT / "designs" / "newdeal.yaml"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def survey(tmp_path, id_name="rid"):
    """SIMULATED: the New Deal export with its respondent column renamed."""
    df = pd.read_csv(EX / "responses.csv").head(60).rename(columns={"id": id_name})
    path = tmp_path / "resp.csv"
    df.to_csv(path, index=False)
    return path


SURVEY = ["--design", EX / "design.csv", "--spec", SPEC, "-q"]


# ---------------------------------------------------------------------------------------------- --id
def test_id_names_the_respondent_column_of_a_survey_export(tmp_path):
    r = run("fit", survey(tmp_path), *SURVEY, "--id", "rid", "--se", "cluster", "-o", tmp_path / "m.json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m.json").read_text())["n_respondents"] == 60
    r = run("fit", survey(tmp_path), *SURVEY)                    # default 'id': not in this file
    assert r.exit_code == 2 and "--id" in r.output and "--id-col" not in r.output, r.output


def test_id_col_still_works_for_one_release_with_a_warning(tmp_path):
    r = run("fit", survey(tmp_path), *SURVEY, "--id-col", "rid")
    assert r.exit_code == 0, r.output
    assert "warning: --id-col is deprecated" in r.output and "use --id" in r.output
    r = run("fit", survey(tmp_path), *SURVEY, "--id-col", "rid", "--id", "other")
    assert r.exit_code == 2 and "give one" in r.output
    assert "--id-col" not in run("fit", "--help").output          # hidden


# ---------------------------------------------------------------------------------------------- help
def _option_help(command, option):
    text = " ".join(run(command, "--help").output.split())
    start = text.index(option + " ")
    return text[start:start + 220]


def test_help_says_which_draws_and_which_output_format():
    assert "prior" in _option_help("design", "--draws") and "not the simulation draws" in _option_help("design",
                                                                                                       "--draws")
    assert "simulated likelihood" in _option_help("fit", "--draws")
    assert "not the draws of the fit" in _option_help("shares", "--draws")
    assert "as dce fit --draws" in _option_help("power", "--draws")
    assert "CSV" in _option_help("design", "-o, --output")
    for command in ("fit", "shares", "wtp", "power"):
        assert "JSON" in _option_help(command, "-o, --output"), command


def test_top_level_help_names_the_four_families():
    text = " ".join(run("--help").output.split())
    assert "conditional, mixed, latent class or hierarchical Bayes logit" in text


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "model.json"
    r = run("fit", EX / "responses.csv", *SURVEY, "--interactions", "asc_status_quo:language", "-o", out)
    assert r.exit_code == 0, r.output
    return out


def test_quiet_shares_and_wtp_print_the_tables_without_notes(model):
    loud = run("shares", model, "--scenarios", EX / "scenarios.yaml", "--seed", "1", "--sims", "100")
    quiet = run("shares", model, "--scenarios", EX / "scenarios.yaml", "--seed", "1", "--sims", "100", "-q")
    assert quiet.exit_code == 0 and "confidence intervals:" in loud.output and "confidence intervals:" not in quiet.output
    assert "nurse, shorter working week" in quiet.output
    loud = run("wtp", model, "--cost", "income", "--seed", "1", "--sims", "100")
    quiet = run("wtp", model, "--cost", "income", "--seed", "1", "--sims", "100", "--quiet")
    assert quiet.exit_code == 0 and "WTP = coefficient" in loud.output and "WTP = coefficient" not in quiet.output
    assert "Willingness to pay" in quiet.output


# ---------------------------------------------------------------------------------------------- formula names
@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """SIMULATED long data: 60 respondents x 5 tasks x 3 alternatives, a text attribute 'doctor'."""
    rng = np.random.default_rng(2)
    rows = []
    for r in range(60):
        for t in range(5):
            doc = rng.choice(["consultant", "junior doctor", "nurse"], 3)
            cost = rng.integers(1, 5, 3).astype(float)
            v = -0.7 * cost + np.array([{"consultant": 0.0, "junior doctor": -0.5, "nurse": -1.0}[d] for d in doc])
            c = rng.choice(3, p=np.exp(v) / np.exp(v).sum())
            rows += [{"rid": r, "task": r * 10 + t, "alt": j, "chosen": int(j == c), "cost": cost[j],
                      "doctor": doc[j]} for j in range(3)]
    path = tmp_path_factory.mktemp("p") / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_formula_dummies_read_like_survey_ones(panel, tmp_path):
    out = tmp_path / "m.json"
    r = run("fit", panel, "--formula", "chosen ~ cost + C(doctor, ref='consultant')", "--alt", "alt", "--task",
            "task", "-q", "-o", out)
    assert r.exit_code == 0, r.output
    names = [p["name"] for p in json.loads(out.read_text())["params"]]
    assert names == ["cost", "doctor[junior doctor]", "doctor[nurse]"]
    assert "reference levels: doctor = consultant" in r.output


def test_latent_class_comparison_counts_classes(panel):
    r = run("fit", panel, "--formula", "chosen ~ cost + doctor", "--alt", "alt", "--task", "task", "--id", "rid",
            "--model", "latent", "--classes", "1-2", "--starts", "2", "--seed", "1", "-q")
    assert r.exit_code in (0, 3), r.output
    table = r.output[r.output.index("Model comparison"):]
    assert "classes" in table.splitlines()[2] + table.splitlines()[3] and "segments" not in table


# ---------------------------------------------------------------------------------------------- progress
def test_the_starts_report_progress_wherever_they_run(panel):
    from dce.data.build import choice_data_from_formula
    from dce.models.latent import LatentClassLogit

    data = choice_data_from_formula(pd.read_csv(panel), "chosen ~ cost + doctor", alt="alt", task="task",
                                    id_col="rid")
    for workers in (1, 2):
        seen = []
        LatentClassLogit(classes=2, starts=3, seed=1, workers=workers,
                         progress=lambda done, total: seen.append((done, total))).fit(data)
        assert seen[-1] == (3, 3) and all(t == 3 for _, t in seen), (workers, seen)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_report_reports_progress(model, tmp_path):
    from dce.report.document import build_report, write_report

    seen = []
    rep = build_report(models=[model], progress=lambda d, t: seen.append((d, t)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] and len(seen) >= 3
    files = []
    write_report(rep, tmp_path / "r.html", figures_dir=tmp_path / "f", progress=lambda d, t: files.append((d, t)))
    assert files[-1] == (2 * len(rep.figures), 2 * len(rep.figures))


# ---------------------------------------------------------------------------------------------- YAML slips
BASE = """alternatives: 2
tasks: 8
attributes:
  price:
    levels: [1, 2, 3]
    coding: linear
  quality:
    levels: [low, high]
"""


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("    coding: linear", "      coding: linear"),
     ["line 6", "not valid YAML", "indentation", "`      coding: linear`"]),
    (BASE.replace("    coding: linear", "coding: linear"),
     ["line 7", "mapping values are not allowed here", "indentation", "`coding: linear`"]),
    (BASE.replace("    coding: linear", "  coding: linear"),
     ["'attributes.coding'", "indentation is likely wrong", "`  coding: linear`"]),
    (BASE + "  status_quo:\n    label: now\n",
     ["'attributes.status_quo", "read here as an attribute", "indentation", "`  status_quo:`"]),
    (BASE.replace("    levels: [low, high]", "  levels: [low, high]"),
     ["'attributes.quality'", "nothing under it", "indentation", "`  levels: [low, high]`"]),
    (BASE.replace("    levels: [1, 2, 3]\n", "    levels: [1, 2, 3]\n    prior:\n      mean: 1\n    sd: 2\n")
     .replace("    coding: linear\n", ""),
     ["'attributes.price.sd'", "unknown key", "belongs at another level", "`    sd: 2`"]),
])
def test_a_mis_indented_design_file_says_so_and_shows_the_line(text, expected):
    from dce.design.spec import parse_design_spec

    with pytest.raises(DCEError) as e:
        parse_design_spec(text, "d.yaml")
    message = str(e.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, (part, message)


def test_an_unknown_key_that_is_no_key_of_the_file_gets_no_indentation_hint():
    from dce.design.spec import parse_design_spec

    with pytest.raises(DCEError) as e:
        parse_design_spec(BASE.replace("    coding: linear", "    codign: linear"), "d.yaml")
    assert "unknown key" in str(e.value) and "indentation" not in str(e.value)
