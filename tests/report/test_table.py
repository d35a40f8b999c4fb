"""Tables as data (dce.tables) and the terminal renderer (dce.report.render): every column format,
cells with their own format, the JSON round trip, and the survey validation printout."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from rich.console import Console

from dce.report.render import print_table
from dce.tables import FORMATS, Column, Table, cell, format_cell, json_cell
from dce.report.tables import print_validation, validation_table


@pytest.mark.parametrize("fmt, value, text", [
    ("text", "delegation[nurse]", "delegation[nurse]"), ("text", None, ""), ("text", 3, "3"),
    ("int", 1234567, "1,234,567"), ("int", 2.6, "3"), ("int", None, "-"),
    ("f2", 1.239, "1.24"), ("f3", -20549.00812, "-20549.008"), ("f4", 0.12344, "0.1234"),
    ("f6", 1 / 3, "0.333333"), ("f4", float("nan"), "-"), ("f4", float("inf"), "-"),
    ("g4", 123456.0, "1.235e+05"), ("g4", 0.012345, "0.01235"),
    ("pct0", 0.801, "80%"), ("pct1", 0.801, "80.1%"), ("pct2", 0.98765, "98.77%"),
    ("p", 1e-9, "<0.0001"), ("p", 0.01234, "0.0123"), ("p", None, "-"),
    ("est_se", [1.2, 0.05], "1.2000 (0.0500)"), ("est_se", [0.5, None], "0.5000 (-)"), ("est_se", None, "-"),
    ("ci", [0.1, 0.2], "[0.1000, 0.2000]"), ("ci", [0.1, None], "-"),
    ("pct_ci", [0.789, 0.8123], "[78.9%, 81.2%]"), ("g4_ci", [0.12344, 5.6789], "[0.1234, 5.679]"),
    ("yesno", True, "yes"), ("yesno", False, "no"), ("yesno", None, "-"),
    ("num", 1852, "1,852"), ("num", np.int64(12), "12"), ("num", 0.123456789, "0.123457"), ("num", True, "yes"),
    ("num", "converged", "converged"), ("num", float("nan"), "-"),
])
def test_every_column_format(fmt, value, text):
    assert format_cell(value, Column("c", fmt)) == text


def test_every_format_is_tested_and_unknown_ones_are_refused():
    tested = {p[0] for p in test_every_column_format.pytestmark[0].args[1]}
    assert tested == set(FORMATS)
    with pytest.raises(ValueError, match="unknown column format"):
        Column("c", "f5")
    with pytest.raises(ValueError, match="unknown cell format"):
        cell(1.0, "percent")


def test_digits_and_cells_with_their_own_format():
    assert format_cell([1.23456, 0.1], Column("c", "est_se", 2)) == "1.23 (0.10)"
    col = Column("value", "num")
    assert format_cell(cell(-20549.00812, "f3"), col) == "-20549.008"
    assert format_cell(cell([0.1, 0.2], "ci", 1), col) == "[0.1, 0.2]"
    assert format_cell(cell(None, "f3"), col) == "-"


def test_table_builds_from_names_and_tuples():
    t = Table("T", ["name", ("value", "f2"), Column("n", "int")], [("a", 1.0, 3)], key="t")
    assert t.header == ["name", "value", "n"] and [c.format for c in t.columns] == ["text", "f2", "int"]
    t.add_row("b", None, 4)
    assert t.formatted() == [["a", "1.00", "3"], ["b", "-", "4"]] and t.column("n") == [3, 4]


def test_to_dict_from_dict_round_trip_through_json():
    t = Table("Estimates: delegation[nurse]", [Column("parameter"), Column("estimate", "f4"),
                                               Column("est (s.e.)", "est_se", 3), Column("n", "int"),
                                               Column("value", "num")],
              [["a", np.float64(1.5), [np.float64(0.2), 0.01], np.int64(12), cell(0.5, "pct1")],
               ["b", float("nan"), [float("inf"), None], 3, True]], key="estimates", notes=["simulated"])
    d = json.loads(json.dumps(t.to_dict(), allow_nan=False))      # JSON holds no NaN or infinity
    assert d["rows"][1][1] is None and d["rows"][1][2] == [None, None] and d["rows"][0][3] == 12
    assert isinstance(d["rows"][0][3], int) and d["rows"][0][4] == {"value": 0.5, "format": "pct1"}
    back = Table.from_dict(d)
    assert (back.title, back.key, back.notes, back.header) == (t.title, t.key, t.notes, t.header)
    assert [(c.format, c.digits) for c in back.columns] == [(c.format, c.digits) for c in t.columns]
    assert back.formatted() == t.formatted()
    assert back.to_dict() == d


def test_json_cell_conversions():
    assert json_cell(np.float32(0.5)) == 0.5 and json_cell(math.nan) is None and json_cell(-math.inf) is None
    assert json_cell(np.int32(7)) == 7 and isinstance(json_cell(np.int32(7)), int)
    assert json_cell((1, "x", None, False)) == [1, "x", None, False]
    assert json_cell(object).startswith("<class")           # anything else as its text


def _printed(table_or_fn, width=100):
    con = Console(width=width, record=True, highlight=False, markup=False, force_terminal=False)
    table_or_fn(con)
    return con.export_text()


def test_print_table_prints_names_as_they_are_and_the_notes():
    t = Table("Fit [x]", [Column("parameter"), Column("estimate", "f4")],
              [["delegation[nurse]", 1.23456], ["[bold]x[/bold]", -0.5]], notes=["s.e. [robust]"])
    out = _printed(lambda con: print_table(con, t))
    lines = out.splitlines()
    assert lines[0].strip() == "Fit [x]" and "s.e. [robust]" in lines[-1]
    assert "delegation[nurse]" in out and "[bold]x[/bold]" in out
    row = next(line for line in lines if "delegation[nurse]" in line)
    assert row.rstrip().endswith("1.2346")                 # numbers right-aligned in their column


REPORT = {"respondents_read": 1852, "respondents_used": 1850, "tasks_read": 22224, "tasks_used": 22209,
          "missing_answers": 15, "always_status_quo": [21, 40], "always_same_position": list(range(1, 13)),
          "problems": [{"kind": "missing answer", "respondent": r, "column": "q3", "detail": "dropped"}
                       for r in range(1, 16)]}


def test_validation_table_holds_the_counts():
    t = validation_table(REPORT)
    assert t.key == "validation" and t.column("count") == [1852, 1850, 22224, 22209, 15, 2, 0, 12]
    assert t.formatted()[2] == ["tasks read", "22,224"]


def test_print_validation_shows_ten_problems_and_the_quality_checks():
    out = _printed(lambda con: print_validation(REPORT, con))
    assert out.count("warning: respondent") == 10 and "respondent 10, column 'q3': missing answer (dropped)" in out
    assert "... and 5 more problems (all in the JSON 'validation')" in out
    assert "quality check: 2 respondents always chose the status quo: 21, 40" in out
    assert "quality check: 12 respondents always chose the same designed alternative: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ..." in " ".join(out.split())
    quiet = dict(REPORT, problems=[], always_status_quo=[], always_same_position=[])
    out = _printed(lambda con: print_validation(quiet, con))
    assert "warning" not in out and "quality check" not in out and "22,209" in out
