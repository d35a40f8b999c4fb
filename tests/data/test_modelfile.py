"""Model files: Biogeme's swissmetro b01logit reproduced, the design they build, every error case."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dce.data.readers import read_table
from dce.errors import DCEError
from dce.models.mnl import ConditionalLogit
from dce.data.modelfile import choice_data_from_model_file, load_model_file

ROOT = Path(__file__).resolve().parents[2]
B01 = ROOT / "examples" / "swissmetro" / "b01logit.yaml"


def sig(x, digits):
    return float(f"{x:.{digits}g}")


def test_swissmetro_b01logit_matches_biogeme(swissmetro_path):
    df = read_table(swissmetro_path)
    data = choice_data_from_model_file(B01, df, str(swissmetro_path))
    assert data.n_tasks == 6768
    assert data.spec["excluded"] == 10728 - 6768
    assert data.names == ["ASC_CAR", "ASC_TRAIN", "B_COST", "B_TIME"]  # alphabetical
    assert data.alt_labels == ["train", "sm", "car"]
    res = ConditionalLogit(se="robust").fit(data)
    ref = {"ASC_CAR": -0.154633, "ASC_TRAIN": -0.701187, "B_COST": -1.083790, "B_TIME": -1.277859}
    robust = {"ASC_CAR": 0.058163, "ASC_TRAIN": 0.082562, "B_COST": 0.068225, "B_TIME": 0.104254}
    classical = {"ASC_CAR": 0.0432, "ASC_TRAIN": 0.0549, "B_COST": 0.0518, "B_TIME": 0.0569}
    se_r = np.sqrt(np.diag(res.vcovs["robust"]))
    se_c = np.sqrt(np.diag(res.vcovs["classical"]))
    for k, name in enumerate(res.names):
        assert sig(res.estimates[k], 4) == sig(ref[name], 4), name
        assert sig(se_r[k], 3) == sig(robust[name], 3), name
        assert sig(se_c[k], 3) == classical[name], name
    assert abs(res.loglik - (-5331.252)) < 0.01
    assert abs(res.loglik_null - (-6964.663)) < 0.01
    assert res.converged


def test_swissmetro_spec_rebuilds_utilities(swissmetro_path):
    df = read_table(swissmetro_path)
    data = choice_data_from_model_file(B01, df, "swissmetro.csv.gz")
    spec = data.spec
    assert spec["type"] == "model_file" and spec["choice"] == "CHOICE"
    assert spec["parameters"] == data.names
    assert spec["alternatives"]["car"] == {"code": 3, "available": "CAR_AV * (SP != 0)",
                                           "utility": "ASC_CAR + B_TIME * CAR_TT / 100 + B_COST * CAR_CO / 100"}
    # task ids are 1-based data rows of the kept rows; the first row is PURPOSE 1 with a choice
    assert data.task_ids[0] == 1 and data.task_ids[-1] <= 10728
    kept = df.iloc[data.task_ids - 1]
    assert set(kept["PURPOSE"]) <= {1, 3} and (kept["CHOICE"] != 0).all()
    # the design: car time / 100 in B_TIME's column, zero where the car is unavailable
    k = data.names.index("B_TIME")
    car_av = (kept["CAR_AV"] * (kept["SP"] != 0)).to_numpy() != 0
    np.testing.assert_array_equal(data.avail[:, 2], car_av)
    np.testing.assert_allclose(data.X[car_av, 2, k], kept["CAR_TT"].to_numpy()[car_av] / 100)
    assert not data.X[~car_av, 2].any()
    kc = data.names.index("B_COST")
    ga = kept["GA"].to_numpy() == 0
    np.testing.assert_allclose(data.X[:, 1, kc], kept["SM_CO"].to_numpy() * ga / 100 * data.avail[:, 1])


# ------------------------------------------------------------------------------- small files
SMALL = pd.DataFrame({
    "ID": [7, 7, 8, 8, 9],
    "CH": [1, 2, 2, 1, 0],
    "P1": [1.0, 2.0, 3.0, 4.0, 5.0],
    "P2": [2.0, 2.0, 1.0, 1.0, 1.0],
    "AV2": [1, 1, 1, 0, 1],
    "KIND": ["a", "b", "a", "b", "a"],
})


def write_model(tmp_path, text, name="m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
    choice: CH
    id: ID
    exclude: CH == 0
    alternatives:
      one: {code: 1, utility: "B_P * P1 + B_K * (KIND == 'b')"}
      two:
        code: 2
        available: AV2
        utility: "ASC + B_P * P2 + log(P2) / 2"
"""


def test_small_design_by_hand(tmp_path):
    data = choice_data_from_model_file(write_model(tmp_path, GOOD), SMALL, "small.csv")
    assert data.names == ["ASC", "B_K", "B_P"]
    assert data.n_tasks == 4 and data.spec["excluded"] == 1
    np.testing.assert_array_equal(data.task_ids, [1, 2, 3, 4])
    np.testing.assert_array_equal(data.chosen, [0, 1, 1, 0])
    np.testing.assert_array_equal(data.avail, [[1, 1], [1, 1], [1, 1], [1, 0]])
    np.testing.assert_array_equal(data.resp, [7, 7, 8, 8])
    # alternative one: ASC 0, B_K = KIND == 'b', B_P = P1
    np.testing.assert_allclose(data.X[:, 0], [[0, 0, 1], [0, 1, 2], [0, 0, 3], [0, 1, 4]])
    # alternative two: ASC 1, B_P = P2, zero where unavailable (row 4)
    np.testing.assert_allclose(data.X[:, 1], [[1, 0, 2], [1, 0, 2], [1, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(data.offset[:, 1], [np.log(2) / 2, np.log(2) / 2, 0, 0])
    np.testing.assert_allclose(data.offset[:, 0], 0)
    assert data.spec["id"] == "ID"


def test_kept_rows_are_known_by_position(tmp_path):
    """``task_rows`` are the 0-based positions of the kept rows in the table (covariates of latent class
    membership are read through them); ``exclude`` drops a row in the middle here."""
    df = SMALL.iloc[[4, 0, 1, 2, 3]].reset_index(drop=True)            # the excluded row (CH == 0) first
    data = choice_data_from_model_file(write_model(tmp_path, GOOD), df, "small.csv")
    np.testing.assert_array_equal(data.task_rows, [1, 2, 3, 4])
    np.testing.assert_array_equal(data.task_ids, [2, 3, 4, 5])
    np.testing.assert_array_equal(df["ID"].to_numpy()[data.task_rows], data.resp)


def test_id_column_argument_overrides(tmp_path):
    data = choice_data_from_model_file(write_model(tmp_path, GOOD), SMALL.assign(R=[1, 2, 3, 4, 5]), "s",
                                       id_col="R")
    np.testing.assert_array_equal(data.resp, [1, 2, 3, 4])


def test_parameter_recovery_on_simulated_data(tmp_path):
    """Simulated data: a labelled two-alternative model, true ASC 0.5, B_P -1.2, B_Q 0.8."""
    rng = np.random.default_rng(20240601)
    n = 4000
    df = pd.DataFrame({"P1": rng.uniform(0, 3, n), "P2": rng.uniform(0, 3, n), "Q": rng.integers(0, 2, n)})
    v1 = -1.2 * df.P1 + 0.8 * df.Q
    v2 = 0.5 - 1.2 * df.P2
    p1 = 1 / (1 + np.exp(v2 - v1))
    df["CH"] = np.where(rng.uniform(size=n) < p1, 10, 20)
    path = write_model(tmp_path, """\
        choice: CH
        alternatives:
          first: {code: 10, utility: "B_P * P1 + B_Q * Q"}
          second: {code: 20, utility: "ASC + B_P * P2"}
    """)
    res = ConditionalLogit().fit(choice_data_from_model_file(path, df, "simulated"))
    se = np.sqrt(np.diag(res.vcovs["classical"]))
    truth = np.array([0.5, -1.2, 0.8])  # ASC, B_P, B_Q
    assert np.all(np.abs(res.estimates - truth) < 4 * se)


# ------------------------------------------------------------------------------- load errors
@pytest.mark.parametrize("text,pattern", [
    ("choice: CH\nalternatives:\n  a: {code: 1, utility: B\n", r"m\.yaml: line \d+: not valid YAML"),
    ("choice: CH\nalternatives: [\n", r"m\.yaml: line \d+: not valid YAML"),
    ("", r"m\.yaml: the model file is empty"),
    ("- a\n- b\n", r"m\.yaml: a model file must be a mapping"),
    ("choice: CH\nalternativs:\n  a: {code: 1, utility: B}\n",
     r"m\.yaml: line 2: alternativs: unknown key 'alternativs' \(did you mean 'alternatives'\?\)"),
    ("alternatives:\n  a: {code: 1, utility: B}\n", r"m\.yaml: missing key 'choice'"),
    ("choice: CH\n", r"m\.yaml: missing key 'alternatives'"),
    ("choice: CH\nalternatives:\n  a: {code: 1}\n", r"m\.yaml: line 3: alternatives\.a: missing key 'utility'"),
    ("choice: CH\nalternatives:\n  a: {utility: B}\n", r"m\.yaml: line 3: alternatives\.a: missing key 'code'"),
    ("choice: CH\nalternatives:\n  a: {code: 1, utility: B, avail: X}\n",
     r"m\.yaml: line 3: alternatives\.a\.avail: unknown key 'avail' \(did you mean 'available'\?\)"),
    ("choice: CH\nalternatives:\n  a: {code: 1, utility: B}\n  b: {code: 1, utility: C}\n",
     r"m\.yaml: line 4: alternatives\.b\.code: duplicate code 1 \(also used by alternative 'a'\)"),
    ("choice: CH\nalternatives:\n  a: {code: one, utility: B}\n",
     r"m\.yaml: line 3: alternatives\.a\.code: the code must be a number"),
    ("choice: CH\nalternatives:\n  a: {code: 1, utility: B}\n  a: {code: 2, utility: C}\n",
     r"m\.yaml: line 4: key 'alternatives\.a' given twice \(first on line 3\)"),
    ("choice: [CH]\nalternatives:\n  a: {code: 1, utility: B}\n", r"m\.yaml: line 1: choice: must be a column name"),
    ("choice: CH\nalternatives:\n  a: {code: 1, utility: }\n", r"line 3: alternatives\.a\.utility: is empty"),
    ("choice: CH\nalternatives: 3\n", r"line 2: alternatives: must map alternative names"),
    ("choice: CH\nalternatives:\n  a: 3\n", r"line 3: alternatives\.a: must be a mapping"),
])
def test_load_errors(tmp_path, text, pattern):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(DCEError, match=pattern) as err:
        load_model_file(path)
    assert "\n" not in str(err.value)


def test_missing_model_file(tmp_path):
    with pytest.raises(DCEError, match=r"nope\.yaml: model file not found"):
        load_model_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize("utility,construct", [
    ("__import__('os').system('echo hacked')", "calling '__import__('os').system'"),
    ("__import__('os')", "calling '__import__'"),
    ("B * x.__class__", "attribute access"),
    ("B * P1.real", "attribute access"),
    ("(lambda: 1)() * B", "calling 'lambda: 1'"),
    ("B * [p for p in P1][0]", "indexing"),
    ("open('/etc/passwd') * B", "calling 'open'"),
    ("B * P1[0]", "indexing"),
    ("exec('1')", "calling 'exec'"),
])
def test_unsafe_model_file_expressions_are_refused(tmp_path, utility, construct):
    path = write_model(tmp_path, f"""\
        choice: CH
        alternatives:
          one: {{code: 1, utility: "{utility}"}}
          two: {{code: 2, utility: "0"}}
    """)
    with pytest.raises(DCEError) as err:
        load_model_file(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: line 3: alternatives.one.utility: ")
    assert construct in msg and "not allowed" in msg


def test_unsafe_exclude_is_refused(tmp_path):
    path = write_model(tmp_path, """\
        choice: CH
        exclude: "__import__('os').remove('x')"
        alternatives:
          one: {code: 1, utility: "B * P1"}
    """)
    with pytest.raises(DCEError, match=r"m\.yaml: line 2: exclude: calling .* is not allowed"):
        load_model_file(path)


# ------------------------------------------------------------------------------- data errors
def model_with(tmp_path, one="B_P * P1", two="ASC + B_P * P2", available="AV2", extra=""):
    return write_model(tmp_path, f"""\
        choice: CH
        {extra}
        alternatives:
          one: {{code: 1, utility: "{one}"}}
          two: {{code: 2, available: "{available}", utility: "{two}"}}
    """)


def test_nonlinear_parameter_is_refused(tmp_path):
    path = model_with(tmp_path, one="exp(B_P * P1)", extra="exclude: CH == 0")
    with pytest.raises(DCEError, match=r"m\.yaml: line \d+: alternatives\.one\.utility: utility is not linear "
                                       r"in parameter B_P"):
        choice_data_from_model_file(path, SMALL, "s.csv")
    path = model_with(tmp_path, two="ASC * B_P * P2", extra="exclude: CH == 0")
    with pytest.raises(DCEError, match="utility is not linear in parameter B_P"):
        choice_data_from_model_file(path, SMALL, "s.csv")


def test_choice_value_matching_no_alternative(tmp_path):
    with pytest.raises(DCEError, match=r"s\.csv: column 'CH', row 5: value 0 matches no alternative"):
        choice_data_from_model_file(model_with(tmp_path), SMALL, "s.csv")


def test_chosen_alternative_unavailable(tmp_path):
    df = SMALL.assign(CH=[1, 2, 2, 2, 1])
    with pytest.raises(DCEError, match=r"s\.csv: row 4: the chosen alternative 'two' \(CH = 2\) is not available"):
        choice_data_from_model_file(model_with(tmp_path), df, "s.csv")


def test_unknown_columns(tmp_path):
    with pytest.raises(DCEError, match=r"line \d+: alternatives\.two\.available: 'AV3' is not a column of s\.csv"
                                       r".*did you mean 'AV2'"):
        choice_data_from_model_file(model_with(tmp_path, available="AV3", extra="exclude: CH == 0"), SMALL, "s.csv")
    with pytest.raises(DCEError, match=r"line 2: exclude: 'CHX' is not a column of s\.csv"):
        choice_data_from_model_file(model_with(tmp_path, extra="exclude: CHX == 0"), SMALL, "s.csv")
    with pytest.raises(DCEError, match=r"line 1: choice: the choice column 'CH' is not in s\.csv"):
        choice_data_from_model_file(model_with(tmp_path), SMALL.drop(columns="CH"), "s.csv")
    with pytest.raises(DCEError, match=r"s\.csv: no respondent id column 'RID'"):
        choice_data_from_model_file(model_with(tmp_path, extra="exclude: CH == 0"), SMALL, "s.csv", id_col="RID")


def test_stray_text_and_missing_values_in_used_columns(tmp_path):
    path = model_with(tmp_path, extra="exclude: CH == 0")
    stray = SMALL.assign(P2=["2", "2", "1", "x1", "1"])
    with pytest.raises(DCEError, match=r"s\.csv: column 'P2', row 4: 'x1' is not a number"):
        choice_data_from_model_file(path, stray, "s.csv")
    missing = SMALL.assign(P1=[1.0, np.nan, 3.0, 4.0, 5.0])
    with pytest.raises(DCEError, match=r"s\.csv: column 'P1' has a missing value in row 2"):
        choice_data_from_model_file(path, missing, "s.csv")
    # a missing value in a row that 'exclude' drops is fine
    fine = SMALL.assign(P1=[1.0, 2.0, 3.0, 4.0, np.nan])
    assert choice_data_from_model_file(path, fine, "s.csv").n_tasks == 4
    missing_choice = SMALL.assign(CH=[1, 2, np.nan, 1, 2])
    with pytest.raises(DCEError, match=r"s\.csv: column 'CH' has a missing value in row 3"):
        choice_data_from_model_file(model_with(tmp_path), missing_choice, "s.csv")


def test_non_finite_utility_names_row(tmp_path):
    path = model_with(tmp_path, one="B_P * log(P1 - 1)", extra="exclude: CH == 0")
    with pytest.raises(DCEError, match=r"alternatives\.one\.utility: the coefficient of B_P of the utility of 'one' "
                                       r"is not finite \(-inf\) in row 1 of s\.csv"):
        choice_data_from_model_file(path, SMALL, "s.csv")


def test_everything_excluded(tmp_path):
    path = model_with(tmp_path, extra="exclude: CH >= 0")
    with pytest.raises(DCEError, match=r"line 2: exclude: excludes all 5 rows"):
        choice_data_from_model_file(path, SMALL, "s.csv")


def test_example_file_loads():
    mf = load_model_file(B01)
    assert [a.name for a in mf.alternatives] == ["train", "sm", "car"]
    assert [a.code for a in mf.alternatives] == [1, 2, 3]
    assert mf.exclude_text == "PURPOSE not in (1, 3) or CHOICE == 0"
