"""Fuzzing the survey export reader (dce fit RESPONSES --design --spec): random answer codes, ids, blocks,
Qualtrics-style and random extra header rows, --codes, --answer-cols and --interactions.  Property: the
responses become choice data (or a fit), or one line naming the file, the column or the option."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from dce.errors import DCEError

ROOT = Path(__file__).resolve().parents[2]
ND = ROOT / "examples" / "newdeal"
SPEC_PATH = ROOT / "designs" / "newdeal.yaml"
N = settings.default.max_examples
VALID = pd.read_csv(ND / "responses.csv").head(8)

answers = st.one_of(st.sampled_from([1, 2, 3, "1", "2", "3", "A", "b", "status quo", "sq", "SQ ", "current situation",
                                     "opt_out", 0, 4, -1, 1.0, 2.5, "1.0", ""]),
                    st.none(), st.integers(), st.floats(), st.text(max_size=6))
ids = st.one_of(st.integers(1, 6), st.text(max_size=3), st.none(), st.floats())
blocks = st.one_of(st.sampled_from([1, 2, "1", "2", 1.5, "2.5", 2.0]), st.integers(), st.text(max_size=3), st.none())
QUALTRICS = [{c: f"Question {c}?" for c in VALID.columns},
             {c: json.dumps({"ImportId": f"QID{i}"}) for i, c in enumerate(VALID.columns)}]


@st.composite
def exports(draw):
    """A responses table: rows of the valid export with random cells overwritten, columns renamed or dropped,
    and extra header rows."""
    df = VALID.copy().astype(object)
    for _ in range(draw(st.integers(0, 12))):
        r = draw(st.integers(0, len(df) - 1))
        c = draw(st.sampled_from(list(df.columns)))
        df.at[r, c] = draw({"id": ids, "block": blocks}.get(c, answers))
    if draw(st.booleans()):
        old = draw(st.sampled_from(list(df.columns)))
        new = draw(st.one_of(st.text(max_size=5), st.sampled_from(["Q1", "id ", "ID", "q13", "block", "q1"])))
        if new not in df.columns or new == old:
            df = df.rename(columns={old: new})
    if draw(st.booleans()):
        df = df.drop(columns=[draw(st.sampled_from(list(df.columns)))])
    head = draw(st.sampled_from(["none", "qualtrics", "random", "half"]))
    if head == "qualtrics":
        df = pd.concat([pd.DataFrame(QUALTRICS), df], ignore_index=True)
    elif head == "half":
        df = pd.concat([pd.DataFrame(QUALTRICS[1:]), df], ignore_index=True)
    elif head == "random":
        df = pd.concat([pd.DataFrame([{c: draw(st.text(max_size=5)) for c in df.columns}]), df], ignore_index=True)
    return df


@st.composite
def options(draw):
    if draw(st.booleans()):                 # half the examples: the default options (the answers are fuzzed)
        return {"codes": None, "answer_cols": None, "interactions": draw(st.sampled_from(
            [None, "asc_status_quo:language"])), "missing": draw(st.sampled_from(["drop", "error"]))}
    return {"codes": draw(st.one_of(st.none(), st.sampled_from(["1=A,2=B,3=status_quo", "3=sq", "x", "=", "1=nosuch",
                                                                "A=1,B=2", ",,,"]), st.text(max_size=10))),
            "answer_cols": draw(st.one_of(st.none(), st.sampled_from(["Q{k}", "q{k}", "q1,q2", "{k}", "q{k}{k}",
                                                                      "q{0}", "q{k", "{}", "q{k}{0}", "q{k}{x}",
                                                                      "q{k.__class__}", "q{k}{k.real}"]),
                                          st.text(max_size=8))),
            "interactions": draw(st.one_of(st.none(), st.sampled_from(["asc_status_quo:language", "income:language",
                                                                       "nosuch:language", "workweek:id", ":",
                                                                       "asc_status_quo:block"]),
                                           st.text(max_size=10))),
            "missing": draw(st.sampled_from(["drop", "error"]))}


def design():
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    return read_design_csv(ND / "design.csv", load_design_spec(SPEC_PATH))


DESIGN = design()


@settings(max_examples=2 * N)
@given(df=exports(), opts=options())
@example(df=VALID.copy(), opts={"codes": None, "answer_cols": None, "interactions": None, "missing": "drop"})
@example(df=VALID.copy(), opts={"codes": None, "answer_cols": "q{k", "interactions": None, "missing": "drop"})
@example(df=VALID.copy(), opts={"codes": None, "answer_cols": "q{0}", "interactions": None, "missing": "drop"})
@example(df=VALID.copy(), opts={"codes": None, "answer_cols": "{}", "interactions": None, "missing": "drop"})
@example(df=VALID.copy(), opts={"codes": None, "answer_cols": "q{k}{x}", "interactions": None, "missing": "drop"})
def test_random_exports(tmp_path, fz, df, opts):
    from dce.data.readers import read_table
    from dce.data.survey import choice_data_from_survey, parse_codes, parse_interactions, strip_qualtrics

    path = tmp_path / "responses.csv"
    df.to_csv(path, index=False)
    with fz.bounded(20, "a survey export"):
        try:
            table = strip_qualtrics(read_table(path, value_labels=True))
            data, report = choice_data_from_survey(
                table, DESIGN, source=str(path), answer_cols=opts["answer_cols"],
                codes=parse_codes(opts["codes"]), missing=opts["missing"],
                interactions=parse_interactions(opts["interactions"]), design_source="design.csv")
        except DCEError as e:
            msg = fz.one_line_error(e, None)
            event("refused")
            assert msg.startswith((str(path), "answer_cols:", "interactions:", "missing:", "codes:", "--codes",
                                   "--interactions", "id_col:", "design.csv")), msg
            return
    event("accepted")
    assert data.n_tasks > 0 and np.all(np.isfinite(data.X))
    # a block that is not a whole number (1.5) names no block: never rounded to one (issue 19)
    numbers = pd.to_numeric(table["block"].astype(object), errors="coerce").dropna()
    assert (numbers == np.round(numbers)).all(), table["block"].tolist()
    json.dumps(report.to_dict())          # the validation report is JSON


@settings(max_examples=max(3, N // 5))
@given(df=exports())
def test_random_exports_through_the_command_line(tmp_path, fz, df):
    """The whole command: exit 0, 2 or 3 (a fit without a finite maximum) with one line; no half-written JSON."""
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))        # a fresh folder per example
    path = tmp_path / "responses.csv"
    df.to_csv(path, index=False)
    out, val = tmp_path / "m.json", tmp_path / "v.json"
    fz.run_cli(["fit", path, "--design", ND / "design.csv", "--spec", SPEC_PATH, "-o", out,
                "--validation-output", val, "-q"], codes=(0, 2, 3), outputs=[out, val], folder=tmp_path)


# ------------------------------------------------------------------------------------------ design CSV
DESIGN_CSV = pd.read_csv(ND / "design.csv", dtype=object)
cells = st.one_of(st.sampled_from(["1", "2", "3", "0", "-1", "nurse", "none", "40", "45", "55", "10", "current",
                                   "larger", "", "99", "1.0", "1e308", "NaN"]), st.text(max_size=6))


@settings(max_examples=2 * N)
@given(edits=st.lists(st.tuples(st.integers(0, len(DESIGN_CSV) - 1), st.sampled_from(list(DESIGN_CSV.columns)),
                                cells), max_size=5),
       drop_rows=st.lists(st.integers(0, len(DESIGN_CSV) - 1), max_size=3),
       drop_col=st.one_of(st.none(), st.sampled_from(list(DESIGN_CSV.columns))),
       encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "binary"]))
@example(edits=[(0, "task", "1e308")], drop_rows=[], drop_col=None, encoding="utf-8")
@example(edits=[], drop_rows=[0], drop_col=None, encoding="utf-8")
@example(edits=[(0, "delegation", "café")], drop_rows=[], drop_col=None, encoding="latin-1")  # once: exit 1
def test_design_csv(tmp_path, fz, edits, drop_rows, drop_col, encoding):
    """dce design --evaluate / dce fit --design: a design CSV with cells changed, rows or a column dropped."""
    from dce.design.diagnostics import evaluate
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    df = DESIGN_CSV.copy()
    for r, c, v in edits:
        df.at[r, c] = v
    df = df.drop(index=sorted(set(drop_rows)))
    if drop_col:
        df = df.drop(columns=[drop_col])
    path = tmp_path / "design.csv"
    if encoding == "binary":               # a design CSV with binary garbage in the middle
        text = df.to_csv(index=False).encode()
        path.write_bytes(text[:len(text) // 2] + bytes(range(256)) + text[len(text) // 2:])
    else:
        path.write_bytes(df.to_csv(index=False).encode(encoding, errors="replace"))
    spec = load_design_spec(SPEC_PATH)
    with fz.bounded(30, "a design CSV"):
        try:
            d = read_design_csv(path, spec)
            diag = evaluate(d, spec, draws=10)
        except DCEError as e:
            fz.one_line_error(e, path)
            return
    json.dumps(diag, allow_nan=True)
