"""Tables for papers: every format renders the same table object; LaTeX compiles, xlsx and CSV read back."""
from __future__ import annotations

import io
import json
import shutil
import subprocess

import pandas as pd
import pytest

from dce.report.formats import FORMATS, flat, render, sheet_names, tex_escape
from dce.tables import Column, Table, cell

# pandas 3 reads floats exactly by default (and deprecates the option); pandas 2 needs "round_trip"
EXACT = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

NASTY = ["delegation[nurse]", "asc_status_quo:language[nl]", "income & 50% _x_ $5 #1 {a} ~ ^ \\ <b>", "[lead"]


def estimates():
    return Table("Estimates: delegation[nurse] & 95% CI", [
        Column("parameter"), Column("estimate", "f4"), Column("est (s.e.)", "est_se", 3), Column("p", "p"),
        Column("95% CI", "ci"), Column("share", "pct1"), Column("share CI", "pct_ci"), Column("n", "int"),
        Column("ok", "yesno")],
        [[NASTY[0], 1.2345678901234567, [1.2, 0.05], 1e-9, [1.1, 1.3], 0.801, [0.79, 0.81], 1852, True],
         [NASTY[1], -0.4219, [-0.42, 0.036], 0.0123, [-0.49, -0.35], 0.104, [0.09, 0.11], 12, False],
         [NASTY[2], None, [0.5, None], None, None, float("nan"), None, None, None],
         [NASTY[3], 2.0, [2.0, 0.1], 0.5, [1.8, 2.2], 0.5, [0.4, 0.6], 3, True]],
        key="estimates", notes=["s.e. clustered by respondent; 100% sure_"])


def fit_summary():
    return Table("Fit", [Column("statistic"), Column("value", "num")],
                 [["log-likelihood", cell(-20549.00812, "f3")], ["respondents", 1852], ["converged", True],
                  ["S&B efficiency", cell(0.98765, "pct2")], ["message", "converged: Newton"]], key="fit")


def test_every_format_renders():
    for fmt in FORMATS:
        out = render([estimates(), fit_summary()], fmt)
        assert out and isinstance(out, bytes if fmt == "xlsx" else str)
    with pytest.raises(ValueError, match="unknown table format"):
        render(estimates(), "docx")


def test_text_is_the_terminal_table():
    text = render(estimates(), "text")
    # names print as they are, not read as markup (titles and headers included)
    assert text.startswith("Estimates: delegation[nurse] & 95% CI") and " delegation[nurse] " in text
    assert "1.2346" in text and "1.200 (0.050)" in text and "<0.0001" in text and "80.1%" in text
    assert "[79.0%, 81.0%]" in text and "1,852" in text and "s.e. clustered" in text
    assert "-20549.008" in render(fit_summary(), "text") and "98.77%" in render(fit_summary(), "text")


def test_markdown():
    md = render(estimates(), "markdown")
    lines = md.splitlines()
    assert lines[0] == "**Estimates: delegation[nurse] & 95% CI**"
    header = next(i for i, x in enumerate(lines) if x.startswith("| parameter"))
    assert lines[header + 1] == "|:---|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = lines[header + 2: header + 6]
    assert all(r.count(" | ") == 8 for r in rows)                 # no cell's text breaks the pipe table
    assert rows[0].startswith("| delegation[nurse] | 1.2346 | 1.200 (0.050) | \\<0.0001 |")
    assert "asc\\_status\\_quo:language[nl]" in rows[1]


def test_latex_escapes_and_booktabs():
    tex = render(estimates(), "latex")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex and "\\usepackage{booktabs}" in tex
    assert "delegation{[}nurse{]}" in tex and "\\caption{Estimates: delegation{[}nurse{]} \\& 95\\% CI}" in tex
    assert "asc\\_status\\_quo:language{[}nl{]}" in tex
    assert tex_escape(NASTY[2]) == ("income \\& 50\\% \\_x\\_ \\$5 \\#1 \\{a\\} \\textasciitilde{} "
                                    "\\textasciicircum{} \\textbackslash{} \\textless{}b\\textgreater{}")
    assert "$-$0.4219" in tex and "80.1\\%" in tex and "\\textless{}0.0001" in tex
    assert "\\begin{tabular}{lrrrrrrrr}" in tex and "\\label{tab:estimates}" in tex
    body = tex.split("\\midrule")[1]
    assert not [ln for ln in body.splitlines() if ln.startswith("[")]   # a row never opens with '['


def test_latex_compiles(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("no TeX installation (pdflatex not on PATH; apt-get install texlive-latex-recommended)")
    doc = render([estimates(), fit_summary()], "latex").replace("% tables written by dce", "%")
    from dce.report.formats import to_latex

    (tmp_path / "t.tex").write_text(to_latex([estimates(), fit_summary()], standalone=True))
    assert doc.strip()
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000
    log = (tmp_path / "t.log").read_text(errors="replace")
    assert "Missing character" not in log and "Undefined control sequence" not in log


def test_csv_reads_back_raw_numbers():
    text = render(estimates(), "csv")
    df = pd.read_csv(io.StringIO(text), **EXACT)
    assert list(df.columns) == ["parameter", "estimate", "est", "est s.e.", "p", "95% CI low", "95% CI high",
                                "share", "share CI low", "share CI high", "n", "ok"]
    assert df["parameter"].tolist() == NASTY
    assert df["estimate"].iloc[0] == 1.2345678901234567 and df["p"].iloc[0] == 1e-9 and df["share"].iloc[0] == 0.801
    assert df["95% CI low"].iloc[1] == -0.49 and pd.isna(df["estimate"].iloc[2]) and df["n"].iloc[0] == 1852
    two = render([estimates(), fit_summary()], "csv").split("\n\n")
    assert len(two) == 2 and two[1].startswith("Fit\n")


def test_json_round_trip():
    d = json.loads(render([estimates(), fit_summary()], "json"))
    back = [Table.from_dict(t) for t in d["tables"]]
    assert back[0].formatted() == Table.from_dict(estimates().to_dict()).formatted()
    assert back[1].formatted() == fit_summary().formatted()


def test_xlsx_one_sheet_per_table_reads_back(tmp_path):
    tables = [estimates(), fit_summary(), estimates()]
    path = tmp_path / "t.xlsx"
    path.write_bytes(render(tables, "xlsx"))
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["estimates", "fit", "estimates (2)", "notes"]
    for name, t in zip(sheet_names(tables), tables):
        header, rows, _ = flat(t)
        df = sheets[name]
        assert list(df.columns) == header
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                got = df.iloc[i, j]
                if v is None:
                    assert pd.isna(got), (name, i, j)
                elif isinstance(v, float):      # openpyxl writes 16 significant digits (Excel keeps 15)
                    assert abs(got - v) <= 1e-15 * abs(v), (name, i, j, got, v)
                else:
                    assert got == v, (name, i, j, got, v)
    assert sheets["notes"]["title"].tolist()[0] == estimates().title
    from openpyxl import load_workbook

    ws = load_workbook(path)["estimates"]
    assert ws["H2"].number_format == "0.0%" and ws["B2"].number_format == "0.0000"


def test_sheet_names_are_valid():
    ts = [Table("a/b:c*d?[e]" + "x" * 40, ["c"]), Table("notes", ["c"]), Table("", ["c"])]
    names = sheet_names(ts)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.lower() for n in names} | {"notes"}) == 4
