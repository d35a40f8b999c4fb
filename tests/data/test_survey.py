"""Survey exports + design -> choice data; the validation report; simulated responses."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dce.data.simulate import load_truth, simulate_responses
from dce.data.survey import choice_data_from_survey, parse_codes, strip_qualtrics
from dce.design.io import read_design_csv
from dce.design.spec import load_design_spec
from dce.errors import DCEError
from dce.models.mnl import ConditionalLogit

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "designs" / "newdeal.yaml"
DESIGN = ROOT / "examples" / "newdeal" / "design.csv"
TRUTH = ROOT / "examples" / "newdeal" / "truth.yaml"


@pytest.fixture(scope="module")
def design():
    spec = load_design_spec(SPEC)
    return read_design_csv(DESIGN, spec)


def answers_frame(n=6):
    """Six respondents, alternating blocks, hand-written answers (positions 1..3, 3 = status quo)."""
    rows = []
    for r in range(1, n + 1):
        rows.append({"id": r, "block": 1 + (r - 1) % 2, **{f"q{k}": 1 + (r + k) % 3 for k in range(1, 13)}})
    return pd.DataFrame(rows)


def test_answers_become_choices_in_design_order(design):
    df = answers_frame()
    data, report = choice_data_from_survey(df, design)
    assert data.n_tasks == 72 and data.n_alts == 3 and data.n_respondents == 6
    assert data.names == design.spec.param_names
    # respondent 1 answers q1 = 1 + (1+1)%3 = 3: the status quo (last position) of block 1's first task
    assert data.chosen[0] == 2
    first_block1 = [s for s in range(design.n_tasks) if design.block[s] == 1][0]
    assert np.allclose(data.X[0], design.matrix()[first_block1])
    assert report.respondents_read == 6 and report.tasks_used == 72 and report.missing_answers == 0


def test_labels_and_codes(design):
    df = answers_frame(2)
    df["q1"] = ["status_quo", "A"]
    df["q2"] = ["current situation", "b"]
    data, _ = choice_data_from_survey(df, design)
    assert data.chosen[0] == 2 and data.chosen[12] == 0 and data.chosen[1] == 2 and data.chosen[13] == 1
    df = answers_frame(2).replace({1: 11, 2: 12, 3: 13})
    df["id"], df["block"] = [1, 2], [1, 2]
    with pytest.raises(DCEError, match=r"map other answer codes to alternatives \(codes\)"):
        choice_data_from_survey(df, design)
    data, _ = choice_data_from_survey(df, design, codes=parse_codes("11=A,12=B,13=status_quo"))
    assert set(data.chosen.tolist()) <= {0, 1, 2}


def test_missing_answers_drop_or_error(design):
    df = answers_frame()
    df = df.astype({"q5": float})
    df.loc[2, "q5"] = np.nan
    data, report = choice_data_from_survey(df, design, missing="drop")
    assert data.n_tasks == 71 and report.missing_answers == 1
    assert report.problems[0].respondent == 3 and report.problems[0].column == "q5"
    with pytest.raises(DCEError, match=r"column 'q5', row 3: respondent 3 has no answer"):
        choice_data_from_survey(df, design, missing="error")


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.__setitem__("block", [1, 2, 3, 1, 2, 1]), "block '3', which has no tasks"),
    (lambda d: d.__setitem__("id", [1, 1, 2, 3, 4, 5]), "respondent 1 appears twice"),
    (lambda d: d.__setitem__("q4", [1, 2, 3, 4, 1, 2]), "answered '4'"),
    (lambda d: d.pop("q12"), "answer column 'q12'"),
])
def test_bad_exports_name_respondent_and_column(design, mutate, needle):
    df = answers_frame()
    mutate(df)
    with pytest.raises(DCEError, match=needle):
        choice_data_from_survey(df, design, source="resp.csv")


def test_quality_checks_flag_always_status_quo_and_same_position(design):
    df = answers_frame()
    for k in range(1, 13):
        df.loc[0, f"q{k}"] = 3
        df.loc[1, f"q{k}"] = 1
    _, report = choice_data_from_survey(df, design)
    assert report.always_status_quo == [1] and report.always_same_position == [2]


def test_qualtrics_export_is_recognised(design):
    df = answers_frame().astype(str)
    meta1 = {c: f"Question text {c}" for c in df.columns}
    meta2 = {c: '{"ImportId":"QID%s"}' % i for i, c in enumerate(df.columns)}
    q = pd.concat([pd.DataFrame([meta1, meta2]), df], ignore_index=True)
    out = strip_qualtrics(q)
    assert len(out) == 6 and out["q1"].dtype.kind in "if"
    data, _ = choice_data_from_survey(out, design)
    assert data.n_tasks == 72


# ------------------------------------------------------------------------------------------ simulation
def test_simulation_is_reproducible_and_recovers_its_truth(design):
    truth = load_truth(TRUTH, design.spec)
    a = simulate_responses(design, truth, 600, seed=4)
    b = simulate_responses(design, truth, 600, seed=4)
    assert a.equals(b)
    assert (a["language"] == "fr").sum() == round(0.451 * 600)
    assert a["block"].value_counts().tolist() == [300, 300]
    data, _ = choice_data_from_survey(a, design, interactions=[("asc_status_quo", "language")])
    res = ConditionalLogit().fit(data)
    true = dict(zip(truth["names"], truth["beta"]))
    true["asc_status_quo:language[nl]"] = truth["covariates"]["language"][1]["nl"]["asc_status_quo"]
    z = (res.estimates - np.array([true[n] for n in res.names])) / res.se()
    assert np.all(np.abs(z) < 3.5), dict(zip(res.names, z))


@pytest.mark.parametrize("text, needle", [
    ("coefficients: {nosuch: 1}", "coefficients.nosuch"),
    ("model: probit\ncoefficients: {}", "probit"),
    ("coefficients: {workweek: x}", "no value for|not a number"),
    ("colour: 1", "unknown key 'colour'"),
])
def test_bad_truth_files(design, tmp_path, text, needle):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    with pytest.raises(DCEError, match=needle):
        load_truth(p, design.spec)




def test_a_fractional_block_is_refused_not_rounded(design):
    """Issue 19: block 1.5 was read as block 1 (int(float('1.5'))); a fraction names no block."""
    df = answers_frame()
    df["block"] = [1, 2, 1.5, 2, 1, 2]
    with pytest.raises(DCEError, match=r"resp\.csv: column 'block', row 3: respondent 3 has block '1\.5'"):
        choice_data_from_survey(df, design, source="resp.csv")
    df["block"] = ["1", "2.0", "1", "2", "1", "2"]          # whole numbers written as text still name blocks
    data, _ = choice_data_from_survey(df, design, source="resp.csv")
    assert data.n_tasks == 72


@pytest.mark.parametrize("pattern", ["q{0}", "q{x}", "q{k.__class__}", "q{k}{", "{k!r}", "q{{k}}", "q{k:>3}"])
def test_answer_cols_only_k_is_a_placeholder(design, pattern):
    """Issue 19: '{0}', '{x}', '{k.__class__}' raised IndexError, KeyError, AttributeError (exit 1); the
    pattern was formatted with attribute access.  Only {k} is a placeholder; the rest is one line."""
    from dce.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"only \{k\} \(the task number\) may stand in braces") as e:
        choice_data_from_survey(answers_frame(), design, answer_cols=pattern)
    assert e.value.argument == "answer_cols"
    data, _ = choice_data_from_survey(answers_frame().rename(columns=lambda c: c.replace("q", "Q_") + "_x"),
                                      design, answer_cols="Q_{k}_x", id_col="id_x", block_col="block_x")
    assert data.n_tasks == 72


@pytest.mark.parametrize("edit, needle", [
    (("asc_status_quo: 1.200000", "asc_status_quo: 1e6"), "every simulated answer is alternative 3"),
    (("workweek: -0.100000", "workweek: -1e6"), "100% of the simulated tasks have a certain answer")])
def test_simulation_warns_when_the_answers_carry_no_information(design, tmp_path, edit, needle):
    """Issue 19: a truth with an enormous coefficient wrote an export in which every answer was the same
    alternative (or every answer certain), without a word."""
    import warnings

    p = tmp_path / "t.yaml"
    p.write_text(TRUTH.read_text().replace(*edit))
    truth = load_truth(p, design.spec)
    with pytest.warns(UserWarning, match=needle):
        simulate_responses(design, truth, 50, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # the shipped truth: informative answers, no warning
        simulate_responses(design, load_truth(TRUTH, design.spec), 50, seed=1)


@pytest.mark.parametrize("status_quo", [False, True])
def test_quality_checks_count_opt_out_by_meaning_not_position(status_quo):
    """Issue 20: a respondent who always answers "no appointment" always opted out (not "the same
    position"), with or without a status quo before the opt-out."""
    from dce.design.generate import make_design
    from dce.design.spec import parse_design_spec

    sq = "status_quo:\n  levels: {wait: 14, cost: 0}\n" if status_quo else ""
    spec = parse_design_spec(f"""\
alternatives: 2
tasks: 4
{sq}opt_out: {{label: no appointment}}
attributes:
  wait: {{levels: [2, 6, 10, 14], coding: linear, prior: -0.1}}
  cost: {{levels: [0, 25, 50, 100], coding: linear, prior: -0.02}}
""")
    design = make_design(spec, seed=1, starts=1)
    n_pos = 3 + status_quo
    df = pd.DataFrame([{"id": r, "block": 1, **{f"q{k}": v for k, v in zip(range(1, 5), ans)}} for r, ans in
                       [(1, ["no appointment"] * 4), (2, [1] * 4), (3, [n_pos] * 4), (4, [1, 2, 1, 2])]
                       + ([(5, ["status_quo"] * 4)] if status_quo else [])])
    _, report = choice_data_from_survey(df, design)
    assert report.always_opt_out == [1, 3]
    assert report.always_same_position == [2]
    assert report.always_status_quo == ([5] if status_quo else [])
    assert report.to_dict()["always_opt_out"] == [1, 3]
