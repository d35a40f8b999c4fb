"""Fuzzing the data file readers (dce.data.readers.read_table): random bytes under every extension, valid
files of each format truncated, corrupted or given another format's name, and text tables in random
encodings.  Property: a DataFrame with rows, or one line naming the file; within a time bound."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dce.errors import DCEError

EXTENSIONS = [".csv", ".tsv", ".txt", ".dat", "", ".csv.gz", ".csv.bz2", ".csv.xz", ".zip", ".gz", ".xlsx", ".xls",
              ".xlsm", ".sav", ".zsav", ".por", ".dta", ".parquet", ".pq", ".sas7bdat", ".xpt", ".json", ".CSV",
              ".tar.gz"]
MAGIC = [b"", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"PAR1", b"$FL2", b"$FL3", b"<stata_dta>", b"BZh9",
         b"\xfd7zXZ\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"%PDF",
         b"id,task,alt,choice\n"]
N = settings.default.max_examples


def sample_frame():
    """A small table of the kinds of columns dce reads (numbers, text, flags)."""
    return pd.DataFrame({"id": [1, 1, 2, 2], "task": [1, 1, 2, 2], "alt": [1, 2, 1, 2], "choice": [1, 0, 0, 1],
                         "price": [1.5, 2.0, 3.25, 0.5], "label": ["a", "b", "é", "d"]})


def valid_files() -> dict:
    """Bytes of the sample table in every format dce writes tests for: extension -> bytes."""
    import tempfile
    from pathlib import Path

    df = sample_frame()
    csv = df.to_csv(index=False).encode()
    out = {".csv": csv, ".tsv": df.to_csv(index=False, sep="\t").encode(), ".csv.gz": gzip.compress(csv),
           ".csv.bz2": bz2.compress(csv), ".csv.xz": lzma.compress(csv)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.csv", csv)
    out[".zip"] = buf.getvalue()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        df.to_excel(d / "x.xlsx", index=False)
        df.to_parquet(d / "x.parquet")
        df.to_stata(d / "x.dta", write_index=False)
        import pyreadstat

        pyreadstat.write_sav(df, str(d / "x.sav"))
        for ext in (".xlsx", ".parquet", ".dta", ".sav"):
            out[ext] = (d / f"x{ext}").read_bytes()
    return out


VALID = valid_files()


def read(tmp_path, name, data: bytes, fz):
    """read_table on ``data`` saved as ``name``: a DataFrame with rows, or one line naming the file."""
    from dce.data.readers import read_table

    path = tmp_path / name
    path.write_bytes(data)
    try:
        with fz.bounded(20, f"reading {name}"):
            df = read_table(path)
    except DCEError as e:
        fz.one_line_error(e, path)
        return None
    finally:
        path.unlink()
    assert isinstance(df, pd.DataFrame) and len(df) > 0 and len(df.columns) > 0
    assert all(isinstance(c, str) for c in df.columns)
    return df


def test_every_valid_sample_reads_back(tmp_path, fz):
    for ext, data in VALID.items():
        df = read(tmp_path, "sample" + ext, data, fz)
        assert df is not None and len(df) == 4, ext


@given(ext=st.sampled_from(EXTENSIONS), magic=st.sampled_from(MAGIC), body=st.binary(max_size=3000))
@example(ext=".csv", magic=b"", body=b"\x00\x00")
@example(ext=".parquet", magic=b"PAR1", body=b"PAR1")
@example(ext=".xlsx", magic=b"PK\x03\x04", body=b"")
@example(ext=".dta", magic=b"<stata_dta>", body=b"<header>")
@example(ext=".csv", magic=b"\xfd7zXZ\x00", body=b"\x00" * 6)    # once: lzma.LZMAError escaped (internal error)
def test_random_bytes(tmp_path, fz, ext, magic, body):
    read(tmp_path, "random" + ext, magic + body, fz)


@settings(max_examples=2 * N)
@given(fmt=st.sampled_from(sorted(VALID)), cut=st.floats(0, 1), name_as=st.sampled_from([None] + EXTENSIONS))
@example(fmt=".xlsx", cut=0.5, name_as=None)
@example(fmt=".parquet", cut=0.9, name_as=None)
@example(fmt=".sav", cut=0.3, name_as=None)
@example(fmt=".csv.gz", cut=0.5, name_as=None)
@example(fmt=".parquet", cut=1.0, name_as=".csv")
@example(fmt=".xlsx", cut=1.0, name_as=".csv")
@example(fmt=".csv", cut=1.0, name_as=".xlsx")
def test_truncated_and_misnamed_files(tmp_path, fz, fmt, cut, name_as):
    data = VALID[fmt]
    data = data[: max(1, int(len(data) * cut))]
    read(tmp_path, "file" + (fmt if name_as is None else name_as), data, fz)


@given(fmt=st.sampled_from(sorted(VALID)), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                          min_size=1, max_size=8))
@example(fmt=".zip", flips=[(0.65625, 64)])       # once: NotImplementedError ("zip file version 6.4") escaped
def test_corrupted_files(tmp_path, fz, fmt, flips):
    data = bytearray(VALID[fmt])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    read(tmp_path, "corrupt" + fmt, bytes(data), fz)


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "cp1251",
             "shift_jis", "gb18030", "koi8-r", "mac_roman", "cp437"]
cells = st.text(max_size=12)


@given(header=st.lists(cells, min_size=1, max_size=5), rows=st.lists(st.lists(cells, max_size=6), max_size=6),
       delim=st.sampled_from([",", ";", "\t", "|", " "]), encoding=st.sampled_from(ENCODINGS),
       newline=st.sampled_from(["\n", "\r\n", "\r"]), ext=st.sampled_from([".csv", ".tsv", ".txt", ""]))
@example(header=["a", "a"], rows=[["1", "2"]], delim=",", encoding="utf-8", newline="\n", ext=".csv")
@example(header=["a", "b"], rows=[["1", "2", "3"]], delim=",", encoding="utf-16", newline="\n", ext=".csv")
@example(header=['"'], rows=[["1"]], delim=",", encoding="utf-8", newline="\n", ext=".csv")
@example(header=["", ""], rows=[["", ""]], delim=",", encoding="utf-8", newline="\n", ext=".csv")  # once: no columns
def test_text_tables_in_random_encodings(tmp_path, fz, header, rows, delim, encoding, newline, ext):
    text = newline.join(delim.join(r) for r in [header, *rows]) + newline
    data = text.encode(encoding, errors="replace")
    read(tmp_path, "table" + ext, data, fz)


@pytest.mark.parametrize("fmt", [".csv", ".xlsx", ".parquet"])
def test_a_folder_and_a_missing_file(tmp_path, fz, fmt):
    from dce.data.readers import read_table

    for path in (tmp_path, tmp_path / ("nope" + fmt)):
        with pytest.raises(DCEError) as e:
            read_table(path)
        fz.one_line_error(e.value, path)


def test_numeric_columns_of_random_text(fz):
    """numeric_column on any text: float64 values or one line naming the column and row."""
    from dce.data.readers import is_text_column, numeric_column, parse_choice_flags

    @given(values=st.lists(st.one_of(st.text(max_size=8), st.floats(allow_nan=True), st.integers(), st.none()),
                           min_size=1, max_size=8))
    @example(values=["\n"])          # once: a message of two lines (the value quoted as it is)
    @example(values=["1", "x\r\ny"])
    def check(values):
        s = pd.Series(values, dtype=object)
        is_text_column(s)
        for f in (lambda: numeric_column(pd.DataFrame({"c": s}), "c", "f.csv"),
                  lambda: parse_choice_flags(s, "f.csv", "c")):
            try:
                out = f()
            except DCEError as e:
                fz.one_line_error(e, "f.csv")
            else:
                assert len(np.asarray(out)) == len(values)

    check()


ACCENTED = st.text(alphabet="abcZ üéèäöàçñ", min_size=1, max_size=8)


@given(rows=st.lists(st.tuples(ACCENTED, st.sampled_from(["utf-8", "latin-1"])), min_size=1, max_size=12),
       ext=st.sampled_from([".csv", ".csv.gz"]), long_head=st.booleans())
@example(rows=[("Zürich", "utf-8"), ("Zürich", "latin-1")], ext=".csv", long_head=True)
def test_rows_in_mixed_encodings_never_read_wrong(tmp_path, fz, rows, ext, long_head):
    """Rows of accented text, each in UTF-8 or Latin-1 (after an ASCII head longer than the sample or
    not): every value reads back as written, or one line naming the file (never a value silently
    decoded in the wrong encoding)."""
    head = [("x" * 60, "utf-8")] * (1200 if long_head else 1)
    lines = [b"id,name"] + [f"{i},{t}".encode(enc) for i, (t, enc) in enumerate(head + rows)]
    data = b"\n".join(lines) + b"\n"
    df = read(tmp_path, "mixed" + ext, gzip.compress(data) if ext.endswith(".gz") else data, fz)
    if df is not None:
        assert list(df["name"].astype(str)[len(head):]) == [t for t, _ in rows]


# ------------------------------------------------------------------ issue 19: special files
SPECIAL_READERS = {
    "data": lambda p: __import__("dce.data.readers", fromlist=["read_table"]).read_table(p),
    "yaml": lambda p: __import__("dce.util.yamlio", fromlist=["read_yaml"]).read_yaml(p),
    "results": lambda p: __import__("dce.models.results", fromlist=["ModelResult"]).ModelResult.load(p),
    "design csv": lambda p: __import__("dce.design.io", fromlist=["read_design_csv"]).read_design_csv(
        p, __import__("dce.design.spec", fromlist=["load_design_spec"]).load_design_spec(
            ROOT / "designs" / "newdeal.yaml")),
}
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@settings(max_examples=max(8, N // 2))
@given(reader=st.sampled_from(sorted(SPECIAL_READERS)), kind=st.sampled_from(["fifo", "device", "link to fifo"]),
       name=st.sampled_from(["data.csv", "model.json", "design.yaml", "x.parquet", "d.csv.gz", "noext"]))
@example(reader="data", kind="fifo", name="data.csv")
def test_special_files_are_refused_not_waited_on(tmp_path, fz, reader, kind, name):
    """A named pipe (no writer: reading waits forever), a device or a link to a pipe, given as any input file:
    one line naming the path, within a bound (a FIFO as the data or model file once hung every command)."""
    import os

    path = tmp_path / name
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "device":
        path = __import__("pathlib").Path("/dev/zero")
    else:
        fifo = tmp_path / ("pipe-" + name)
        if not fifo.exists():
            os.mkfifo(fifo)
        if kind == "fifo":
            path = fifo
        else:
            path.symlink_to(fifo)
    with fz.bounded(5, f"reading {kind} {name}"):
        with pytest.raises(DCEError) as e:
            SPECIAL_READERS[reader](path)
    msg = fz.one_line_error(e.value, path)
    assert "named pipe" in msg or "device" in msg, msg


# ------------------------------------------------------------------ issue 19: damaged Parquet metadata and types
def _parquet_with(meta: bytes | None, extra):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(sample_frame())
    if extra is not None:
        table = table.append_column("extra", extra)
    if meta is not None:
        table = table.replace_schema_metadata({**dict(table.schema.metadata or {}), b"pandas": meta})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _pandas_meta_edits():
    import json as _json

    import pyarrow as pa

    base = _json.loads(pa.Table.from_pandas(sample_frame()).schema.metadata[b"pandas"])
    keys = ["pandas_type", "numpy_type", "name", "field_name", "metadata"]
    junk = st.one_of(st.none(), st.integers(), st.text(max_size=10), st.sampled_from(["object", "int64", "bytes",
                     "datetime", "categorical", "nosuch", "decimal", "float128", "unicode", "mixed"]),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    return st.one_of(
        st.binary(max_size=40),
        st.tuples(st.integers(0, len(base["columns"]) - 1), st.sampled_from(keys), junk).map(
            lambda t: _json.dumps({**base, "columns": [dict(c, **({t[1]: t[2]} if i == t[0] else {}))
                                                       for i, c in enumerate(base["columns"])]}).encode()),
        st.tuples(st.sampled_from(["index_columns", "columns", "column_indexes", "pandas_version"]), junk).map(
            lambda t: _json.dumps({**base, t[0]: t[1]}).encode()))


def _nested_columns():
    import pyarrow as pa

    return st.sampled_from([None, pa.array([[1], [2, 3], [], None]), pa.array([{"a": 1}, {"a": 2}, None, {"a": 4}]),
                            pa.array([[("k", 1)], [], None, [("j", 2)]], type=pa.map_(pa.string(), pa.int64())),
                            pa.array([b"\x00", b"a", None, b""]), pa.array(["a", "b", "a", None]).dictionary_encode(),
                            pa.array([[[1]], [[2]], None, []])])


@given(meta=st.one_of(st.none(), _pandas_meta_edits()), extra=_nested_columns())
@example(meta=b"{not json", extra=None)
def test_parquet_with_damaged_metadata_or_nested_columns(tmp_path, fz, meta, extra):
    """Parquet files whose pandas metadata is damaged or whose columns hold lists, structs or maps: a table of
    plain cells, or one line naming the file (a JSONDecodeError, a dtype name or an unhashable cell escaped)."""
    df = read(tmp_path, "damaged.parquet", _parquet_with(meta, extra), fz)
    if df is not None:
        for c in df.columns:
            for v in df[c].head(4):
                hash(v)                       # every cell one plain value
