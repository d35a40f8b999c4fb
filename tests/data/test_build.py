"""Formulas on long and wide data -> ChoiceData, and the errors bad data gets."""
import numpy as np
import pandas as pd
import pytest

from dce.data.build import choice_data_from_formula, rebuild_design
from dce.errors import ArgumentError, DCEError


def long_frame():
    """Three tasks of two respondents; task 3 has only two alternatives."""
    return pd.DataFrame({
        "id":     [1, 1, 1, 1, 1, 1, 2, 2],
        "task":   [1, 1, 1, 2, 2, 2, 3, 3],
        "alt":    ["a", "b", "c", "a", "b", "c", "a", "c"],
        "choice": ["no", "yes", "no", "yes", "no", "no", "no", "yes"],
        "price":  [1.0, 2.0, 3.0, 2.0, 1.0, 4.0, 3.0, 1.0],
        "brand":  ["x", "y", "z", "y", "x", "z", "z", "x"],
        "income": [10, 10, 10, 10, 10, 10, 20, 20],
    })


def test_long_layout_with_missing_alternative():
    d = choice_data_from_formula(long_frame(), "choice ~ price", alt="alt", task="task", id_col="id")
    assert d.X.shape == (3, 3, 1)
    assert d.alt_labels == ["a", "b", "c"]
    assert d.avail.tolist() == [[True, True, True], [True, True, True], [True, False, True]]
    assert d.chosen.tolist() == [1, 0, 2]
    assert d.X[2, :, 0].tolist() == [3.0, 0.0, 1.0]
    assert d.n_respondents == 2


def test_categorical_text_column_and_reference_named():
    d = choice_data_from_formula(long_frame(), "choice ~ price + brand", alt="alt", task="task")
    # dummies are named column[level], as in a survey export (issue 21; they were brand[T.y] before)
    assert d.names == ["price", "brand[y]", "brand[z]"]
    assert d.spec["references"] == {"brand": "x"}
    d2 = choice_data_from_formula(long_frame(), "choice ~ price + C(brand, ref='z')", alt="alt", task="task")
    assert d2.names == ["price", "brand[x]", "brand[y]"]
    assert d2.spec["references"] == {"brand": "z"}


def test_a_model_fitted_with_the_old_dummy_names_still_codes_scenarios():
    d = choice_data_from_formula(long_frame(), "choice ~ price + C(brand, ref='z')", alt="alt", task="task")
    old = {k: v for k, v in d.spec.items() if k != "dummy_names"}
    old["names"] = ["price", "C(brand, ref='z')[T.x]", "C(brand, ref='z')[T.y]"]
    frame = long_frame().head(3)
    np.testing.assert_array_equal(rebuild_design(old, frame), rebuild_design(d.spec, frame))


def test_alternative_specific_constants_and_interactions():
    d = choice_data_from_formula(long_frame(), "choice ~ C(alt) + price + price:income", alt="alt", task="task")
    assert d.names == ["alt[b]", "alt[c]", "price", "price:income"]
    assert np.allclose(d.X[0, :, 3], [10.0, 20.0, 30.0])
    # an intercept is dropped silently: same names without '- 1'
    d0 = choice_data_from_formula(long_frame(), "choice ~ 1 + price", alt="alt", task="task")
    assert d0.names == ["price"]


@pytest.mark.parametrize("values", [[0, 1, 0, 1, 0, 0, 0, 1], ["FALSE", "TRUE", "FALSE", "TRUE", "FALSE",
                                    "FALSE", "FALSE", "TRUE"], [False, True, False, True, False, False, False, True]])
def test_choice_flag_encodings(values):
    df = long_frame()
    df["choice"] = values
    d = choice_data_from_formula(df, "choice ~ price", alt="alt", task="task")
    assert d.chosen.tolist() == [1, 0, 2]


def wide_frame():
    return pd.DataFrame({
        "id": [1, 1, 2, 2],
        "choice": ["choice2", "choice1", "choice3", "choice1"],
        "price1": [1, 2, 3, 4], "price2": [2, 1, 2, 1], "price3": [3, 3, 1, 2],
        "time1": [10, 20, 10, 30], "time2": [20, 10, 30, 20], "time3": [30, 30, 20, 10],
        "av1": [1, 1, 1, 1], "av2": [1, 1, 1, 1], "av3": [1, 0, 1, 0],
        "income": [5, 5, 7, 7],
    })


def test_wide_layout_with_availability_columns():
    d = choice_data_from_formula(wide_frame(), "choice ~ price + time", id_col="id")
    assert d.X.shape == (4, 3, 2)
    assert d.alt_labels == [1, 2, 3]
    assert d.chosen.tolist() == [1, 0, 2, 0]
    assert d.avail[:, 2].tolist() == [True, False, True, False]
    assert d.X[1, 2].tolist() == [0.0, 0.0]
    assert d.n_respondents == 2


def test_wide_numeric_choice_and_asc_and_individual_interaction():
    df = wide_frame()
    df["choice"] = [2, 1, 3, 1]
    d = choice_data_from_formula(df, "choice ~ C(alt) + price + price:income")
    assert d.chosen.tolist() == [1, 0, 2, 0]
    assert d.names == ["alt[2]", "alt[3]", "price", "price:income"]
    assert np.allclose(d.X[0, :, 3], [5.0, 10.0, 15.0])


def test_rebuild_design_codes_new_alternatives_like_the_estimation_data():
    d = choice_data_from_formula(long_frame(), "choice ~ price + brand", alt="alt", task="task")
    new = pd.DataFrame({"price": [2.5, 1.0], "brand": ["z", "x"]})
    M = rebuild_design(d.spec, new)
    assert M.tolist() == [[2.5, 0.0, 1.0], [1.0, 0.0, 0.0]]


# ------------------------------------------------------------------------------------- bad data
def err(df, formula="choice ~ price", **kw):
    kw = kw or {"alt": "alt", "task": "task"}
    with pytest.raises(DCEError) as e:
        choice_data_from_formula(df, formula, source="f.csv", **kw)
    return str(e.value)


def test_unknown_column_in_formula():
    msg = err(long_frame(), "choice ~ price + colour")
    assert "f.csv" in msg and "'colour'" in msg


def test_task_without_choice_and_with_two():
    df = long_frame()
    df.loc[3, "choice"] = "no"
    assert "task 2 has no chosen alternative" in err(df)
    df = long_frame()
    df.loc[4, "choice"] = "yes"
    assert "task 2 has 2 chosen alternatives" in err(df)


def test_bad_choice_flag_value_names_row():
    df = long_frame()
    df["choice"] = df["choice"].astype(object)
    df.loc[5, "choice"] = "maybe"
    msg = err(df)
    assert "'choice'" in msg and "row 6" in msg and "maybe" in msg


def test_stray_text_in_numeric_column_names_row_and_value():
    df = long_frame()
    df["price"] = df["price"].astype(object)
    df.loc[4, "price"] = "abc"
    msg = err(df)
    assert "'price'" in msg and "row 5" in msg and "abc" in msg


def test_missing_value_names_row():
    df = long_frame()
    df.loc[2, "price"] = np.nan
    msg = err(df)
    assert "'price'" in msg and "row 3" in msg


def test_wide_choice_matching_no_alternative():
    df = wide_frame()
    df.loc[2, "choice"] = "choice7"
    msg = err(df, "choice ~ price + time", id_col="id")
    assert "row 3" in msg and "choice7" in msg


def test_wide_chosen_alternative_unavailable():
    df = wide_frame()
    df.loc[1, "choice"] = "choice3"
    assert "row 2" in err(df, "choice ~ price", id_col="id")


def test_duplicate_alternative_in_task():
    df = long_frame()
    df.loc[1, "alt"] = "a"
    assert "task 1 lists alternative 'a' twice" in err(df)


def test_a_real_but_wrong_alt_column_suggests_checking_it():
    from dce.errors import ArgumentError

    df = long_frame()
    with pytest.raises(ArgumentError) as e:
        choice_data_from_formula(df, "choice ~ price", alt="id", task="task")     # the respondent id, not alt
    assert e.value.argument == "alt" and "lists alternative '1' twice" in str(e.value)
    assert "is 'id' the column naming each row's alternative?" in str(e.value)


def test_long_data_needs_task():
    with pytest.raises(DCEError, match="^alt: long data needs both the alternative and the task column"):
        choice_data_from_formula(long_frame(), "choice ~ price", alt="alt")


def test_formula_code_is_never_executed():
    msg = err(long_frame(), "choice ~ I(__import__('os').getcwd())")
    assert "f.csv" in msg or "formula" in msg


@pytest.mark.parametrize("formula", ["y ~ a + b + c", "y~a+b", "y ~ 0 + a", "y ~ a - 1", "y ~ 1 + a + b",
                                     "y ~ a + 0", " choice ~ pf + cl + loc "])
def test_plain_formulas_read_without_formulaic_match_formulaic(formula, monkeypatch):
    from dce.data import build

    fast = build.parse_formula(formula)
    monkeypatch.setattr(build, "_plain_formula", lambda text: None)
    assert fast == build.parse_formula(formula)


@pytest.mark.parametrize("formula", ["y ~ a + a", "y ~ a:b + c", "y ~ C(a) + b", "y ~ a 1", "y ~ a - b", "y ~ 1"])
def test_other_formulas_go_to_formulaic(formula):
    from dce.data import build

    assert build._plain_formula(formula) is None


@pytest.mark.parametrize("bad", [0.5, -1, 2])
def test_availability_other_than_0_or_1_is_refused(bad):
    """Issue 19: wide availability 0.5 or -1 was read as 'available' (not zero); long too."""
    wide = pd.DataFrame({"price1": [1.0, 2.0, 3.0], "price2": [2.0, 1.0, 2.5], "av1": [1, 1, 1],
                         "av2": [1, bad, 1], "choice": [1, 1, 2]})
    with pytest.raises(DCEError, match=rf"w\.csv: column 'av2', row 2: availability {bad:g} is not 0"):
        choice_data_from_formula(wide, "choice ~ price", source="w.csv")
    long = pd.DataFrame({"task": [1, 1, 2, 2], "alt": [1, 2, 1, 2], "price": [1.0, 2.0, 3.0, 1.0],
                         "choice": [1, 0, 0, 1], "av": [1, 1, bad, 1]})
    with pytest.raises(DCEError, match=r"l\.csv: column 'av', row 3: availability"):
        choice_data_from_formula(long, "choice ~ price", source="l.csv", alt="alt", task="task", avail="av")


LONG = pd.DataFrame({"task": [1, 1, 2, 2], "alt": [1, 2, 1, 2], "choice": [1, 0, 0, 1], "x1": [1.0, 2.0, 3.0, 0.5],
                     "x2": [0.5, 1.0, 2.0, 1.5]})


@pytest.mark.parametrize("formula", ["choice ~ x1:{'a'}", "choice ~ I('a')", "choice ~ x1 + I('a'):x1"])
def test_a_string_literal_in_a_term_is_one_line(formula):
    """Issue 19: a string literal in a term or an interaction was a ValueError (exit 1)."""
    with pytest.raises(ArgumentError, match=r"formula: term .* is text, not a number"):
        choice_data_from_formula(LONG, formula, alt="alt", task="task")


@pytest.mark.parametrize("formula, needle", [
    ("choice ~ " + " + ".join(f"x{i}" for i in range(6000)), r"is too long \(4\d,\d{3} characters; at most 20,000\)"),
    ("choice ~ " + " + ".join(f"x{i}" for i in range(1500)), r"has 1,500 terms; at most 1,000"),
    ("choice ~ " + " + ".join(f"C(x{i})" for i in range(1200)), r"has 1,200 terms; at most 1,000"),
    ("choice ~ " + " * ".join(f"x{i}" for i in range(40)), r"the products \('\*'\) expand to more than 1,000 terms"),
    ("choice ~ (" + " + ".join(f"x{i}" for i in range(30)) + ")**4", r"the power at character \d+ expands"),
])
def test_formulas_of_thousands_of_terms_are_bounded(formula, needle):
    """Issue 19: a formula of 6,000 terms ran for more than 60 s before any answer; products and powers that
    expand to thousands of terms never ended.  Bounded, with a message, at once."""
    import time

    t0 = time.monotonic()
    with pytest.raises(ArgumentError, match=needle) as e:
        choice_data_from_formula(LONG, formula, alt="alt", task="task")
    assert time.monotonic() - t0 < 10 and len(str(e.value)) < 300


def test_terms_coding_into_thousands_of_columns_are_refused():
    df = pd.concat([LONG] * 1500, ignore_index=True)
    df["task"] = np.repeat(np.arange(3000), 2)
    df["code"] = [f"c{i}" for i in range(len(df))]
    with pytest.raises(ArgumentError, match=r"the terms code into more than 2,000 columns \(at 'C\(code\)'\)"):
        choice_data_from_formula(df, "choice ~ x1 + C(code)", alt="alt", task="task")


@pytest.mark.parametrize("formula, start, at", [
    ("choice ~ " + " + ".join(["x1"] * 3000) + " + )", "choice ~ x1 + x1", "(at character 15,008)"),
    ("choice ~ x1 + I(x1 * " + "9" * 5000 + ")", "choice ~ x1 + I(x1 * 999", "a number has more than 4,300 digits"),
])
def test_messages_quote_the_start_and_the_position_not_the_whole_input(formula, start, at):
    """Issue 19: a 15,000-character formula and a 5,000-digit literal were echoed whole on one line."""
    with pytest.raises(DCEError) as e:
        choice_data_from_formula(LONG, formula, alt="alt", task="task")
    msg = str(e.value)
    assert len(msg) < 300 and start in msg and at in msg, msg
