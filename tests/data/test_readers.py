"""read_table on every supported format, its error messages, and the column helpers."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from dce.data.readers import is_text_column, numeric_column, parse_choice_flags, read_table
from dce.errors import DCEError

FRAME = pd.DataFrame({
    "id": [1, 1, 2, 2],
    "price": [1.5, 2.25, 3.0, 4.75],
    "brand": ["a", "b", "a", "c"],
    "choice": [1, 0, 0, 1],
})


def check_frame(df):
    assert list(df.columns) == list(FRAME.columns)
    assert len(df) == 4
    np.testing.assert_allclose(df["price"].to_numpy(dtype=float), FRAME["price"])
    np.testing.assert_array_equal(df["id"].to_numpy(dtype=float), FRAME["id"])
    assert list(df["brand"].astype(str)) == list(FRAME["brand"])


def write_text(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------------------------ formats
@pytest.mark.parametrize("name,sep", [("d.csv", ","), ("d.tsv", "\t"), ("d.txt", ";"), ("d.dat", "|"),
                                      ("d.csv", ";"), ("d.csv", "\t")])
def test_delimited_text_detects_delimiter(tmp_path, name, sep):
    path = tmp_path / name
    FRAME.to_csv(path, sep=sep, index=False)
    df = read_table(path)
    check_frame(df)
    assert df.attrs["delimiter"] == sep
    assert df.attrs["format"] == "text"


def test_semicolon_csv_with_decimal_commas(tmp_path):
    path = write_text(tmp_path / "eu.csv", "id;price;brand\n1;1,5;a\n1;2,25;b\n2;3,0;a\n2;4,75;c\n")
    df = read_table(path)
    assert df.attrs["delimiter"] == ";" and df.attrs["decimal"] == ","
    np.testing.assert_allclose(df["price"], [1.5, 2.25, 3.0, 4.75])


def test_quoted_fields_with_delimiters_inside(tmp_path):
    path = write_text(tmp_path / "q.csv", 'id,label,price\n1,"a, b",2.5\n2,"c;d",3.5\n')
    df = read_table(path)
    assert list(df["label"]) == ["a, b", "c;d"]
    np.testing.assert_allclose(df["price"], [2.5, 3.5])


def test_gzip_by_extension_and_by_magic_bytes(tmp_path):
    gz = tmp_path / "d.csv.gz"
    with gzip.open(gz, "wt") as fh:
        FRAME.to_csv(fh, index=False)
    check_frame(read_table(gz))
    # a gzip file without .gz in its name is recognised by its first bytes
    disguised = tmp_path / "d2.csv"
    disguised.write_bytes(gz.read_bytes())
    check_frame(read_table(disguised))
    tsv_gz = tmp_path / "d.tsv.gz"
    with gzip.open(tsv_gz, "wt") as fh:
        FRAME.to_csv(fh, index=False, sep="\t")
    df = read_table(tsv_gz)
    check_frame(df)
    assert df.attrs["delimiter"] == "\t"


def test_encodings_bom_latin1_utf16(tmp_path):
    text = "id,name,price\n1,Zürich,2.5\n2,Genève,3.5\n"
    for enc in ("utf-8-sig", "latin-1", "utf-16"):
        df = read_table(write_text(tmp_path / f"{enc}.csv", text, enc))
        assert list(df.columns) == ["id", "name", "price"], enc
        assert list(df["name"]) == ["Zürich", "Genève"], enc


def test_trailing_delimiter_column_is_dropped_and_names_stripped(tmp_path):
    df = read_table(write_text(tmp_path / "t.csv", " a , b ,\n1,2,\n3,4,\n"))
    assert list(df.columns) == ["a", "b"]
    assert df["b"].tolist() == [2, 4]


def test_excel_sheets(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        FRAME.to_excel(w, sheet_name="first", index=False)
        FRAME.assign(price=FRAME.price * 2).to_excel(w, sheet_name="second", index=False)
    df = read_table(path)
    check_frame(df)
    assert df.attrs["sheet"] == "first"
    np.testing.assert_allclose(read_table(path, sheet="second")["price"], FRAME.price * 2)
    np.testing.assert_allclose(read_table(path, sheet="2")["price"], FRAME.price * 2)
    with pytest.raises(DCEError, match=r"book\.xlsx: sheet 'third' does not exist \(sheets: first, second\)"):
        read_table(path, sheet="third")


def test_excel_xlsm_and_duplicate_columns(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["x", "y", "x"])
    ws.append([1, 2, 3])
    path = tmp_path / "dup.xlsx"
    wb.save(path)
    with pytest.raises(DCEError, match=r"dup\.xlsx: .*duplicate column name 'x'"):
        read_table(path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b"])
    ws.append([1, 2])
    ws.append([None, None])
    ws.append([3, None])
    ws.append([None, None])
    macro = tmp_path / "m.xlsm"
    wb.save(macro)
    df = read_table(macro)
    assert df["a"].tolist()[::2] == [1, 3] and len(df) == 3  # inner blank row kept, trailing one dropped
    with pytest.raises(DCEError, match=r"m\.xlsm: column 'b' has a missing value in row 2"):
        numeric_column(df, "b", str(macro))


def test_xls_needs_xlrd_or_reads(tmp_path):
    path = tmp_path / "old.xls"
    # the OLE2 signature followed by junk: without xlrd the message names the package
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    try:
        import xlrd  # noqa: F401
        has_xlrd = True
    except ImportError:
        has_xlrd = False
    with pytest.raises(DCEError, match=r"old\.xls: " + ("is not a readable Excel" if has_xlrd else ".*xlrd")):
        read_table(path)


def test_spss_sav_with_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "survey.sav"
    df0 = FRAME.assign(brand=[1, 2, 1, 3])
    pyreadstat.write_sav(df0, str(path), column_labels=["respondent", "price in CHF", "brand", "chosen"],
                         variable_value_labels={"brand": {1: "Alpha", 2: "Beta", 3: "Gamma"}})
    df = read_table(path)
    assert df.attrs["format"] == "spss"
    np.testing.assert_allclose(df["brand"], [1, 2, 1, 3])  # codes by default
    labels = df.attrs["labels"]
    assert labels["variables"]["price"] == "price in CHF"
    assert labels["values"]["brand"] == {1: "Alpha", 2: "Beta", 3: "Gamma"}
    labelled = read_table(path, value_labels=True)
    assert list(labelled["brand"].astype(str)) == ["Alpha", "Beta", "Alpha", "Gamma"]
    np.testing.assert_allclose(labelled["price"], FRAME.price)


def test_stata_dta_with_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "survey.dta"
    df0 = FRAME.assign(brand=[1, 2, 1, 3])
    pyreadstat.write_dta(df0, str(path), column_labels=["respondent", "price", "brand", "chosen"],
                         variable_value_labels={"brand": {1: "Alpha", 2: "Beta", 3: "Gamma"}})
    df = read_table(path)
    assert df.attrs["format"] == "stata"
    np.testing.assert_allclose(df["price"], FRAME.price)
    assert df.attrs["labels"]["values"]["brand"] == {1: "Alpha", 2: "Beta", 3: "Gamma"}
    assert list(read_table(path, value_labels=True)["brand"].astype(str)) == ["Alpha", "Beta", "Alpha", "Gamma"]


def test_parquet(tmp_path):
    path = tmp_path / "d.parquet"
    FRAME.to_parquet(path)
    df = read_table(path)
    check_frame(df)
    assert df.attrs["format"] == "parquet"


def test_reads_shared_data(electricity_path, swissmetro_path):
    el = read_table(electricity_path)
    assert el.shape == (17232, 10)
    assert el["choice"].dtype == bool  # TRUE/FALSE text
    sm = read_table(swissmetro_path)
    assert sm.shape == (10728, 28)


# ------------------------------------------------------------------------------------ errors
def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DCEError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DCEError, match="is a folder"):
        read_table(tmp_path)


@pytest.mark.parametrize("content", [b"", b"a,b,c\n", b"a,b,c", b"\n\n  \n"])
def test_empty_and_header_only(tmp_path, content):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(DCEError, match=r"e\.csv: .*has no data rows"):
        read_table(path)


def test_header_only_excel_and_gz(tmp_path):
    gz = tmp_path / "h.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("a,b\n")
    with pytest.raises(DCEError, match="has no data rows"):
        read_table(gz)
    xl = tmp_path / "h.xlsx"
    FRAME.iloc[:0].to_excel(xl, index=False)
    with pytest.raises(DCEError, match=r"h\.xlsx: has no data rows"):
        read_table(xl)


def test_not_a_table(tmp_path):
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(DCEError, match=r"image\.csv: is not a table: it looks like a PNG image"):
        read_table(png)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(DCEError, match=r"junk\.csv: is not a table"):
        read_table(junk)
    ragged = write_text(tmp_path / "ragged.csv", "a,b,c\n1,2,3\n4,5,6,7,8\n")
    with pytest.raises(DCEError, match=r"ragged\.csv: is not a regular table: line 3 has 5"):
        read_table(ragged)
    wide_first = write_text(tmp_path / "wide.csv", "a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(DCEError, match=r"wide\.csv: is not a regular table"):
        read_table(wide_first)
    fake_gz = tmp_path / "fake.csv.gz"
    fake_gz.write_text("a,b\n1,2\n")
    with pytest.raises(DCEError, match=r"fake\.csv\.gz: is named \.gz but is not gzip-compressed"):
        read_table(fake_gz)
    broken_gz = tmp_path / "broken.csv.gz"
    broken_gz.write_bytes(gzip.compress(b"a,b\n1,2\n" * 1000)[:40])
    with pytest.raises(DCEError, match=r"broken\.csv\.gz: cannot be read"):
        read_table(broken_gz)
    fake_xlsx = write_text(tmp_path / "fake.xlsx", "a,b\n1,2\n")
    with pytest.raises(DCEError, match=r"fake\.xlsx: is not a valid Excel workbook"):
        read_table(fake_xlsx)
    fake_parquet = write_text(tmp_path / "fake.parquet", "a,b\n1,2\n")
    with pytest.raises(DCEError, match=r"fake\.parquet: is not a valid Parquet file"):
        read_table(fake_parquet)
    fake_sav = write_text(tmp_path / "fake.sav", "a,b\n1,2\n")
    with pytest.raises(DCEError, match=r"fake\.sav: is not a readable SPSS file"):
        read_table(fake_sav)


def test_unsupported_extension(tmp_path):
    path = write_text(tmp_path / "d.json", '{"a": 1}')
    with pytest.raises(DCEError, match=r"d\.json: unsupported file type '\.json'"):
        read_table(path)


def test_duplicate_columns(tmp_path):
    path = write_text(tmp_path / "dup.csv", "x,y,x\n1,2,3\n")
    with pytest.raises(DCEError, match=r"dup\.csv: duplicate column name 'x'"):
        read_table(path)
    spaced = write_text(tmp_path / "dup2.csv", "x,y, x \n1,2,3\n")
    with pytest.raises(DCEError, match="duplicate column name 'x'"):
        read_table(spaced)


def test_sheet_on_a_csv_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    FRAME.to_csv(path, index=False)
    with pytest.raises(DCEError, match="not an Excel workbook"):
        read_table(path, sheet="x")


# ------------------------------------------------------------------------------------ columns
def test_numeric_column_converts_and_reports_strays(tmp_path):
    path = write_text(tmp_path / "s.csv", "price,other\n1.5,a\n2,b\nabc,c\n4,d\n")
    df = read_table(path)
    assert not is_text_column(df["price"])  # mostly numbers: numeric with a stray
    assert is_text_column(df["other"])
    with pytest.raises(DCEError, match=r"s\.csv: column 'price', row 3: 'abc' is not a number"):
        numeric_column(df, "price", str(path))
    df2 = pd.DataFrame({"p": ["1.5", "2", "1,5", "3"]})
    with pytest.raises(DCEError, match=r"f\.csv: column 'p', row 3: '1,5' is not a number \(a decimal comma"):
        numeric_column(df2, "p", "f.csv")
    np.testing.assert_allclose(numeric_column(pd.DataFrame({"p": [" 1.5", "2 ", "3e1"]}), "p", "f"), [1.5, 2, 30])


def test_numeric_column_missing_values_and_row_numbers(tmp_path):
    path = write_text(tmp_path / "m.csv", "a,b\n1,2\n3,\n5,6\n")
    df = read_table(path)
    np.testing.assert_array_equal(numeric_column(df, "a", "m.csv"), [1.0, 3.0, 5.0])
    assert numeric_column(df, "a", "m.csv").dtype == np.float64
    with pytest.raises(DCEError, match=r"m\.csv: column 'b' has a missing value in row 2"):
        numeric_column(df, "b", "m.csv")
    # a filtered frame keeps its data-row numbers (index + 1), or takes them explicitly
    with pytest.raises(DCEError, match="missing value in row 2"):
        numeric_column(df.iloc[1:], "b", "m.csv")
    with pytest.raises(DCEError, match="missing value in row 17"):
        numeric_column(df.iloc[1:].reset_index(drop=True), "b", "m.csv", rows=[17, 18])
    with pytest.raises(DCEError, match=r"m\.csv: no column 'zzz'"):
        numeric_column(df, "zzz", "m.csv")
    with pytest.raises(DCEError, match="missing value in row 2"):
        numeric_column(pd.DataFrame({"t": ["1", None, "2"]}), "t", "x")
    with pytest.raises(DCEError, match=r"row 1: 'inf' is not a finite number"):
        numeric_column(pd.DataFrame({"t": [np.inf, 1.0]}), "t", "x")
    np.testing.assert_array_equal(numeric_column(pd.DataFrame({"b": [True, False]}), "b", "x"), [1.0, 0.0])


def test_is_text_column():
    assert is_text_column(pd.Series(["red", "green", "red"]))
    assert is_text_column(pd.Series(["low", "high", "3"]))  # mostly text: categorical
    assert is_text_column(pd.Series(pd.Categorical([1, 2, 1])))
    assert not is_text_column(pd.Series([1.0, 2.0]))
    assert not is_text_column(pd.Series([True, False]))
    assert not is_text_column(pd.Series(["1", "2", "3", "x"]))  # mostly numbers: an error later
    assert not is_text_column(pd.Series(["1,5", "2,5", "abc"]))  # decimal commas look numeric
    assert not is_text_column(pd.Series([None, None], dtype=object))


def test_parse_choice_flags():
    cases = {
        "ints": pd.Series([0, 1, 1, 0]),
        "floats": pd.Series([0.0, 1.0, 1.0, 0.0]),
        "bools": pd.Series([False, True, True, False]),
        "TRUE": pd.Series(["FALSE", "TRUE", "TRUE", "FALSE"]),
        "true": pd.Series(["false", "true", "true", "false"]),
        "yes": pd.Series(["no", "yes", "Yes", "NO"]),
        "yn": pd.Series(["n", "y", "Y", "N"]),
        "text 1.0": pd.Series(["0.0", "1.0", "1", "0"]),
    }
    for name, s in cases.items():
        np.testing.assert_array_equal(parse_choice_flags(s, "f.csv", "choice"), [False, True, True, False], name)
    with pytest.raises(DCEError, match=r"f\.csv: column 'choice', row 3: value 'maybe' is not a choice flag"):
        parse_choice_flags(pd.Series(["yes", "no", "maybe"]), "f.csv", "choice")
    with pytest.raises(DCEError, match=r"column 'choice', row 2: value '2' is not a choice flag"):
        parse_choice_flags(pd.Series([1, 2, 0]), "f.csv", "choice")
    with pytest.raises(DCEError, match="column 'choice' has a missing value in row 2"):
        parse_choice_flags(pd.Series([1.0, np.nan]), "f.csv", "choice")
    with pytest.raises(DCEError, match="column 'choice' has a missing value in row 1"):
        parse_choice_flags(pd.Series([None, "yes"]), "f.csv", "choice")


# ------------------------------------------------------------------ issue 19: hostile inputs, round 3
def test_mixed_utf8_and_latin1_rows_are_refused_naming_the_row_and_byte(tmp_path):
    """Mostly UTF-8 with one Latin-1 row: read as Latin-1 as a whole, 'Zürich' in the UTF-8 rows became
    'ZÃ¼rich' (a filter on it silently missed them).  Refused, naming the file, the row and the byte."""
    rows = ["id,REGION,x"] + [f"{i},Zürich,{i}" for i in range(1, 3001)]
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode() + "3001,Zürich,1\n".encode("latin-1"))
    with pytest.raises(DCEError) as e:
        read_table(path)
    msg = str(e.value)
    assert str(path) in msg and "row 3001" in msg and "0xFC" in msg and "UTF-8" in msg
    # the same within the first sample (the Latin-1 row first)
    path.write_bytes("id,REGION,x\n1,Zürich,1\n".encode("latin-1") + ("\n".join(rows[1:]) + "\n").encode())
    with pytest.raises(DCEError, match="row 1 "):
        read_table(path)
    # a file that is Latin-1 throughout is still read as Latin-1
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    assert set(read_table(path)["REGION"]) == {"Zürich"}


def _parquet_cases():
    import json

    import pyarrow as pa

    df = pd.DataFrame({"task": [1, 1], "alt": [1, 2], "choice": [1, 0], "x": [1.0, 2.0]})
    t = pa.Table.from_pandas(df)
    meta = dict(t.schema.metadata)
    pm = json.loads(meta[b"pandas"])
    for c in pm["columns"]:
        if c["name"] == "x":
            c["pandas_type"], c["numpy_type"] = "nosuchtype", "nosuchdtype"
    cols = {"task": [1, 1], "alt": [1, 2], "choice": [1, 0]}
    return {
        "json": (t.replace_schema_metadata({**meta, b"pandas": b"{not json"}), r"pandas metadata is damaged \(JSONDecodeError"),
        "dtype": (t.replace_schema_metadata({**meta, b"pandas": json.dumps(pm).encode()}),
                  r"pandas metadata is damaged \(TypeError: data type 'nosuchdtype'"),
        "list": (pa.table({**cols, "x": [[1, 2], [3]]}), r"column 'x' holds nested values \(Parquet type list<"),
        "struct": (pa.table({**cols, "x": [{"a": 1}, {"a": 2}]}), r"column 'x' holds nested values \(Parquet type struct<"),
        "map": (pa.table({**cols, "x": pa.array([[("a", 1)], [("b", 2)]], type=pa.map_(pa.string(), pa.int64()))}),
                r"column 'x' holds nested values \(Parquet type map<"),
    }


@pytest.mark.parametrize("case", ["json", "dtype", "list", "struct", "map"])
def test_damaged_parquet_files_are_one_line(tmp_path, case):
    """Issue 19: damaged pandas metadata (JSONDecodeError, an unknown dtype) and list, struct or map columns
    (unhashable type, later) were internal errors (exit 1)."""
    import pyarrow.parquet as pq

    table, needle = _parquet_cases()[case]
    path = tmp_path / "d.parquet"
    pq.write_table(table, path)
    with pytest.raises(DCEError, match=rf"d\.parquet: .*{needle}"):
        read_table(path)


def test_a_parquet_index_with_a_name_stays_a_column(tmp_path):
    """A table written with a named index (df.set_index('x').to_parquet()): 'x' is a column, not dropped."""
    df = pd.DataFrame({"task": [1, 1], "alt": [1, 2], "choice": [1, 0], "x": [1.0, 2.0]}).set_index("x")
    df.to_parquet(tmp_path / "i.parquet")
    assert read_table(tmp_path / "i.parquet")["x"].tolist() == [1.0, 2.0]
