"""Reading user tables (CSV/TSV and other delimited text, gzip, Excel, SPSS, Stata, Parquet).

:func:`read_table` turns a file into a :class:`pandas.DataFrame` or raises a one-line
:class:`~dce.errors.DCEError` that names the file.  The format is decided from the first bytes of the
file where they are unambiguous (gzip, bzip2, xz, Parquet, SPSS, an Excel workbook, new Stata files)
and from the extension otherwise; delimited text has its delimiter (comma, semicolon, tab or pipe)
and its encoding (UTF-8, UTF-16 with a byte-order mark, else Latin-1) detected from a sample.

Column helpers used by every builder:

* :func:`numeric_column` -- a column as float64, with an error naming file, column, row and value on
  stray text ("abc", "1,5") or missing values;
* :func:`is_text_column` -- categorical (mostly text) or numeric; a numeric-looking column with a few
  stray texts counts as numeric, so :func:`numeric_column` reports the strays instead of the column
  silently becoming categorical;
* :func:`parse_choice_flags` -- a long-format choice column (0/1, TRUE/FALSE, yes/no, y/n) as bools.

Row numbers in messages are 1-based data rows: row 1 is the first row after the header.
"""
from __future__ import annotations

import codecs
import csv
import io
import lzma
import os
import re
import warnings
import zipfile
import zlib
from typing import TYPE_CHECKING

import numpy as np

from dce.errors import DCEError, missing_value, where

if TYPE_CHECKING:                       # annotations only: pandas loads when a file is read
    import pandas as pd

# ---------------------------------------------------------------------------------------- formats
TEXT_EXTS = {".csv", ".tsv", ".tab", ".txt", ".dat", ".psv", ".ssv", ""}
COMPRESSED_EXTS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
SPSS_EXTS = {".sav", ".zsav", ".por"}
STATA_EXTS = {".dta"}
SAS_EXTS = {".sas7bdat", ".xpt"}
PARQUET_EXTS = {".parquet", ".pq"}
SUPPORTED = ("CSV/TSV or other delimited text (optionally .gz), Excel .xlsx/.xlsm/.xls, SPSS .sav, "
             "Stata .dta, Parquet")

# first bytes of files that are certainly not tables
_NOT_TABLES = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"RIFF", "a media file"),
]
_DELIMS = [",", ";", "\t", "|"]
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_BYTES = 1 << 16


def _fail(path, msg) -> DCEError:
    return DCEError(f"{path}: {msg}")


def _extension(path: str):
    """(compression from the name or None, the extension of the table format, lower case)."""
    name = os.path.basename(path).lower()
    root, ext = os.path.splitext(name)
    comp = COMPRESSED_EXTS.get(ext)
    if comp:
        ext = os.path.splitext(root)[1]
    return comp, ext


def _sniff_kind(head: bytes):
    """The format that the first bytes announce, or None."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"$FL2") or head.startswith(b"$FL3"):
        return "spss"
    if head.startswith(b"<stata_dta>"):
        return "stata"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"  # old Excel .xls (or another Office document)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


# ---------------------------------------------------------------------------------------- entry
def read_table(path, sheet: str | int | None = None, value_labels: bool = False) -> pd.DataFrame:
    """Read a data file (CSV/TSV, optionally compressed, Excel, SPSS, Stata, Parquet) into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        The file; its format is found from its content and extension.
    sheet : str or int, optional
        An Excel sheet by name (or by 1-based number when no sheet has that name); default the first.
    value_labels : bool
        Replace SPSS/Stata value codes by their labels.

    Returns
    -------
    pandas.DataFrame
        One row per data row.  ``df.attrs['source']`` is the path, ``df.attrs['format']`` the format
        read; for SPSS and Stata files ``df.attrs['labels']`` holds ``{'variables': {column: label},
        'values': {column: {code: label}}}``.

    Raises
    ------
    dce.errors.DCEError
        A missing, empty or unreadable file, one that is not a table, duplicate column names or no data
        rows, in one line naming the file.  Column names are stripped of surrounding blanks.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise _fail(path, "file not found")
    if os.path.isdir(path):
        raise _fail(path, "is a folder, not a data file")
    from dce.util.io import check_regular

    check_regular(path, "data file")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise _fail(path, "is empty (0 bytes): it has no data rows")

    fmt, comp, ext = _format(path, head)
    if sheet is not None and fmt not in ("excel", "xls"):
        raise _fail(path, f"a sheet ('{sheet}') was given, but this is not an Excel workbook")
    if fmt == "text":
        df = _read_text(path, comp)
    elif fmt in ("excel", "xls"):
        df = _read_excel(path, sheet, fmt)
    elif fmt in ("spss", "stata", "sas"):
        df = _read_stat(path, fmt, ext, value_labels)
    elif fmt == "parquet":
        df = _read_parquet(path)
    else:  # pragma: no cover - every branch above sets fmt
        raise _fail(path, "unsupported file")

    _check_columns(path, df)
    if len(df.columns) == 0:
        raise _fail(path, "has no columns with data (the header names none)")
    if len(df) == 0:
        raise _fail(path, "has no data rows (only a header)")
    df.attrs["source"] = path
    df.attrs["format"] = fmt
    return df


def _format(path, head):
    """The format to read (text, excel, xls, spss, stata, sas, parquet), the compression of text and the
    extension, from the first bytes ``head`` where they are unambiguous and the extension otherwise."""
    comp, ext = _extension(path)
    kind = _sniff_kind(head)
    for magic, what in _NOT_TABLES:
        if head.startswith(magic):
            raise _fail(path, f"is not a table: it looks like {what}")

    if kind in ("gzip", "bz2", "xz"):
        fmt, comp = "text", kind
        if ext in EXCEL_EXTS | SPSS_EXTS | STATA_EXTS | PARQUET_EXTS | SAS_EXTS:
            raise _fail(path, f"is {kind}-compressed; decompress it first ({ext} files are read as they are)")
    elif kind == "parquet":
        fmt = "parquet"
    elif kind == "spss":
        fmt = "spss"
    elif kind == "stata":
        fmt = "stata"
    elif kind == "ole2":
        if ext not in (".xls", ".xlsx", ".xlsm", ""):
            raise _fail(path, "is not a table: it looks like an Office document (an old Excel .xls? "
                              "rename it to .xls)")
        fmt = "xls"
    elif kind == "zip":
        fmt = "excel" if _zip_is_xlsx(path) else None
        if fmt is None:
            if ext in TEXT_EXTS and comp is None and ext != "":
                comp, fmt = "zip", "text"  # a zipped CSV with a plain name
            elif os.path.basename(path).lower().endswith(".zip"):
                comp, fmt = "zip", "text"
            else:
                raise _fail(path, "is not a table: it is a ZIP archive but not an Excel workbook")
    elif comp is not None:
        raise _fail(path, f"is named {os.path.splitext(path)[1]} but is not {comp}-compressed")
    elif ext in TEXT_EXTS:
        fmt = "text"
    elif ext in (".xlsx", ".xlsm"):
        raise _fail(path, "is not a valid Excel workbook (an .xlsx file is a ZIP archive)")
    elif ext == ".xls":
        fmt = "text"  # many ".xls" exports are really tab-separated text; the text reader decides
    elif ext in STATA_EXTS:
        fmt = "stata"
    elif ext in SPSS_EXTS:
        fmt = "spss"
    elif ext in SAS_EXTS:
        fmt = "sas"
    elif ext in PARQUET_EXTS:
        raise _fail(path, "is not a valid Parquet file (it does not start with PAR1)")
    else:
        raise _fail(path, f"unsupported file type '{os.path.splitext(path)[1]}' (supported: {SUPPORTED})")
    return fmt, comp, ext


def _zip_is_xlsx(path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except _damaged():
        return False
    return any(n.startswith("xl/") for n in names)


def _check_columns(path, df):
    import pandas as pd

    names = [("" if (not isinstance(c, str) and pd.isna(c)) else str(c)).strip() for c in df.columns]
    seen = set()
    for n in names:
        if n in seen:
            raise _fail(path, f"duplicate column name '{n}' (every column needs its own name)")
        seen.add(n)
    df.columns = names


# ---------------------------------------------------------------------------------------- text
def _open_binary(path, comp):
    if comp == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if comp == "bz2":
        import bz2

        return bz2.open(path, "rb")
    if comp == "xz":
        import lzma

        return lzma.open(path, "rb")
    if comp == "zip":
        import zipfile

        z = zipfile.ZipFile(path)
        members = [n for n in z.namelist() if not n.endswith("/")]
        if len(members) != 1:
            raise _fail(path, f"a ZIP archive must hold exactly one table file (it holds {len(members)})")
        return z.open(members[0])
    return open(path, "rb")


def _decode_sample(path, raw: bytes):
    """(encoding for the whole file, decoded sample text)."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", codecs.getincrementaldecoder("utf-8")("replace").decode(raw[3:])
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", raw.decode("utf-16", errors="replace")
    try:
        return "utf-8", codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
    except UnicodeDecodeError as e:
        _refuse_mixed_encoding(path, raw, e.start)
        return "latin-1", raw.decode("latin-1")


# a multi-byte UTF-8 character (two to four bytes): in a Latin-1 file such pairs ("Ã¼") are next to unheard of
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _refuse_mixed_encoding(path, raw: bytes, bad: int):
    """Refuse text that is not valid UTF-8 at byte ``bad`` but holds valid UTF-8 characters elsewhere: a file
    of mixed encodings (UTF-8 rows and a few Latin-1 ones).  Read as Latin-1 as a whole, its UTF-8 text would
    silently become other values ('ZÃ¼rich' is not 'Zürich'); a file with no UTF-8 character is Latin-1."""
    if not _UTF8_MULTIBYTE.search(raw) or _looks_binary(raw[:SAMPLE_BYTES].decode("latin-1")):
        return          # Latin-1 throughout, or binary data (refused as such)
    line = raw.count(b"\n", 0, bad) + 1
    if b"\n" not in raw[:bad] and b"\r" in raw[:bad]:
        line = raw.count(b"\r", 0, bad) + 1
    where_ = "the header" if line == 1 else f"row {line - 1} (line {line})"
    raise _fail(path, f"mixes text encodings: {where_} is not valid UTF-8 (byte 0x{raw[bad]:02X} at byte "
                      f"offset {bad}) while other rows are UTF-8; save the file as UTF-8 from the program that "
                      "made it (or convert that row), so that every value reads the same")


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    if not text:
        return False
    ctrl = sum(1 for ch in text[:8192] if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or 0x7f <= ord(ch) < 0xa0)
    return ctrl > max(2, 0.01 * min(len(text), 8192))


def _records(text: str, delim: str, limit=50):
    """Field counts of the first complete records of a sample (quotes respected)."""
    lines = text.splitlines(True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut
    counts = []
    try:
        for rec in csv.reader(io.StringIO("".join(lines[: limit * 2])), delimiter=delim, quotechar='"'):
            if not rec or all(not f.strip() for f in rec):
                continue
            counts.append(len(rec))
            if len(counts) >= limit:
                break
    except csv.Error:
        return []
    return counts


def _detect_delimiter(text: str) -> str:
    """Comma, semicolon, tab or pipe: the one that splits the sample into the most consistent table."""
    best, best_score = ",", (-1.0, 0)
    for d in _DELIMS:
        counts = _records(text, d)
        if not counts or counts[0] < 2:
            continue
        header = counts[0]
        consistent = sum(1 for c in counts[1:] if c == header) / max(1, len(counts) - 1)
        score = (consistent, header)
        if score > best_score:
            best, best_score = d, score
    return best


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")


def _detect_decimal(text: str, delim: str) -> str:
    """',' for semicolon files that write numbers as 1,5 (and none as 1.5); '.' otherwise."""
    if delim != ";":
        return "."
    comma = point = 0
    try:
        for i, rec in enumerate(csv.reader(io.StringIO(text), delimiter=delim)):
            if i > 200:
                break
            for f in rec:
                f = f.strip()
                if _DECIMAL_COMMA.match(f):
                    comma += 1
                elif _DECIMAL_POINT.match(f):
                    point += 1
    except csv.Error:
        return "."
    return "," if comma > 0 and point == 0 else "."


def _damaged():
    """The exceptions of a damaged compressed file (zlib, lzma and zipfile raise their own)."""
    return (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error, zipfile.BadZipFile, NotImplementedError)


def _read_text(path, comp):
    import pandas as pd

    try:
        with _open_binary(path, comp) as fh:
            raw = fh.read(SAMPLE_BYTES)
    except DCEError:
        raise
    except _damaged() as e:
        what = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz", "zip": "ZIP"}.get(comp, "")
        raise _fail(path, f"cannot be read: a damaged {what} file ({e})".replace("  ", " ")) from None
    if not raw.strip():
        raise _fail(path, "is empty: it has no data rows")
    for magic, what in _NOT_TABLES:
        if raw.startswith(magic):
            raise _fail(path, f"is not a table: it holds {what}")
    encoding, text = _decode_sample(path, raw)
    if _looks_binary(text):
        raise _fail(path, "is not a table: it holds binary data, not delimited text")
    delim = _detect_delimiter(text)
    decimal = _detect_decimal(text, delim)
    _check_header(path, text, delim)
    counts = _records(text, delim, limit=2)
    if len(counts) == 2 and counts[1] > counts[0]:
        raise _fail(path, f"is not a regular table: the first data row has {counts[1]} "
                          f"{_DELIM_NAMES[delim]}-separated fields, the header has {counts[0]}")
    compression = comp if comp else None
    kw = dict(sep=delim, encoding=encoding, compression=compression, skipinitialspace=False)
    if decimal == ",":
        kw["decimal"] = ","
    # pandas' C parser: on two cores it beat engine="pyarrow" on a 3-million-row CSV (0.7 s against
    # 1.9 s at best).  low_memory chunks are safe here: a column with text in one chunk only comes back
    # as object with numbers and strings mixed, which numeric_column reports value by value.
    try:
        df = _read_csv_c(path, kw)
    except UnicodeDecodeError:
        # the sample was UTF-8 but a later part is not: Latin-1 throughout, or mixed encodings (refused)
        _check_whole_file_encoding(path, comp)
        kw["encoding"] = "latin-1"
        try:
            df = _read_csv_c(path, kw)
        except Exception as e:  # pragma: no cover - latin-1 decodes anything
            raise _fail(path, f"is not a readable table ({_short(e)})") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "is empty: it has no data rows") from None
    except pd.errors.ParserError as e:
        raise _fail(path, f"is not a regular table: {_parser_message(e, delim)}") from None
    except _damaged() as e:
        raise _fail(path, f"cannot be read as a table ({_short(e)})") from None
    if not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1):
        raise _fail(path, "is not a regular table: the data rows have more fields than the header "
                          f"({_DELIM_NAMES[delim]}-separated)")
    # a trailing delimiter on every line gives an unnamed, empty last column: drop it
    for c in list(df.columns)[::-1]:
        if isinstance(c, str) and c.startswith("Unnamed: ") and df[c].isna().all():
            df = df.drop(columns=c)
        else:
            break
    df.attrs["delimiter"] = delim
    df.attrs["decimal"] = decimal
    return df


def _check_whole_file_encoding(path, comp):
    """Refuse a file whose UTF-8 sample is followed by text in another encoding while it holds UTF-8
    characters (see :func:`_refuse_mixed_encoding`)."""
    try:
        with _open_binary(path, comp) as fh:
            raw = fh.read()
    except _damaged() as e:
        raise _fail(path, f"cannot be read as a table ({_short(e)})") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _refuse_mixed_encoding(path, raw, e.start)


def _check_header(path, text, delim):
    """Duplicate names in the header line (pandas would silently rename the second 'x' to 'x.1')."""
    try:
        for rec in csv.reader(io.StringIO(text), delimiter=delim, quotechar='"'):
            if not rec or all(not f.strip() for f in rec):
                continue
            seen = set()
            for name in (f.strip() for f in rec):
                if name and name in seen:
                    raise _fail(path, f"duplicate column name '{name}' (every column needs its own name)")
                seen.add(name)
            return
    except csv.Error:
        return


def _read_csv_c(path, kw):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return pd.read_csv(path, engine="c", **kw)


def _short(e) -> str:
    s = str(e).strip().splitlines()
    return s[-1] if s else type(e).__name__


def _parser_message(e, delim) -> str:
    msg = str(e)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        exp, line, saw = m.groups()
        return (f"line {line} has {saw} {_DELIM_NAMES[delim]}-separated fields, the header has {exp}")
    return _short(e)


# ---------------------------------------------------------------------------------------- excel
def _read_excel(path, sheet, fmt):
    import pandas as pd

    engine = "openpyxl"
    if fmt == "xls":
        try:
            import xlrd  # noqa: F401
        except ImportError:
            raise _fail(path, "is an old Excel .xls workbook; reading it needs the 'xlrd' package "
                              "(pip install xlrd), or save it as .xlsx or CSV") from None
        engine = "xlrd"
    try:
        book = pd.ExcelFile(path, engine=engine)
    except Exception as e:
        raise _fail(path, f"is not a readable Excel workbook ({_short(e)})") from None
    with book:
        names = list(book.sheet_names)
        if sheet is None:
            target = names[0] if names else None
        elif str(sheet) in names:
            target = str(sheet)
        elif str(sheet).strip().isdigit() and 1 <= int(str(sheet)) <= len(names):
            target = names[int(str(sheet)) - 1]
        else:
            raise _fail(path, f"sheet '{sheet}' does not exist (sheets: {', '.join(names)})")
        if target is None:
            raise _fail(path, "the workbook has no sheets")
        try:
            head = pd.read_excel(book, sheet_name=target, header=None, nrows=1)
            df = pd.read_excel(book, sheet_name=target)
        except pd.errors.EmptyDataError:
            raise _fail(path, f"sheet '{target}' is empty: it has no data rows") from None
        except Exception as e:
            raise _fail(path, f"sheet '{target}' cannot be read ({_short(e)})") from None
    if head.shape[0] == 0:
        raise _fail(path, f"sheet '{target}' is empty: it has no data rows")
    raw_names = ["" if pd.isna(v) else str(v).strip() for v in head.iloc[0].tolist()]
    seen = set()
    for n in raw_names:
        if n and n in seen:
            raise _fail(path, f"sheet '{target}': duplicate column name '{n}' (every column needs its own name)")
        seen.add(n)
    # empty, unnamed columns (formatting without content) are dropped
    keep = [c for c in df.columns if not (str(c).startswith("Unnamed: ") and df[c].isna().all())]
    df = df[keep]
    # trailing rows without content (formatting only) are dropped; inner blank rows keep their number
    filled = df.notna().any(axis=1).to_numpy()
    last = filled.nonzero()[0]
    df = df.iloc[: (last[-1] + 1 if len(last) else 0)].reset_index(drop=True)
    df.attrs["sheet"] = target
    return df


# ---------------------------------------------------------------------------------------- stats
def _read_stat(path, fmt, ext, value_labels):
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover - pyreadstat is a dependency
        raise _fail(path, "reading SPSS/Stata files needs the 'pyreadstat' package") from None
    if fmt == "spss":
        reader = pyreadstat.read_por if ext == ".por" else pyreadstat.read_sav
    elif fmt == "stata":
        reader = pyreadstat.read_dta
    else:
        reader = pyreadstat.read_xport if ext == ".xpt" else pyreadstat.read_sas7bdat
    what = {"spss": "SPSS", "stata": "Stata", "sas": "SAS"}[fmt]
    try:
        df, meta = reader(path, apply_value_formats=bool(value_labels), formats_as_category=True)
    except Exception as e:
        raise _fail(path, f"is not a readable {what} file ({_short(e)})") from None
    df.attrs["labels"] = {
        "variables": {k: v for k, v in (meta.column_names_to_labels or {}).items() if v},
        "values": {k: dict(v) for k, v in (meta.variable_value_labels or {}).items()},
    }
    df.attrs["value_labels_applied"] = bool(value_labels)
    return df


def _read_parquet(path):
    import pandas as pd

    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as e:
        raise _fail(path, f"is not a readable Parquet file ({_short(e)})") from None
    names = table.column_names
    seen = set()
    for n in names:
        if n.strip() in seen:
            raise _fail(path, f"duplicate column name '{n.strip()}' (every column needs its own name)")
        seen.add(n.strip())
    _check_parquet_types(path, table)
    try:
        df = table.to_pandas()
    except Exception as e:  # noqa: BLE001 - damaged pandas metadata (JSON, dtype names) raises anything
        raise _fail(path, f"is not a readable Parquet file: its pandas metadata is damaged ({type(e).__name__}: "
                          f"{_short(e)[:200]})") from None
    if not isinstance(df.index, pd.RangeIndex):
        named = any(n is not None for n in df.index.names)
        df = df.reset_index(drop=not named)     # an index stored with a name is a column of the table
    return df


def _check_parquet_types(path, table):
    """Refuse a column of nested values (lists, structs, maps): a table cell holds one number or text."""
    import pyarrow as pa

    for field in table.schema:
        t = field.type
        if pa.types.is_nested(t):       # lists, structs, maps and unions
            raise _fail(path, f"column '{field.name}' holds nested values (Parquet type {str(t)[:80]}), not one "
                              "number or text per cell: flatten it into columns first")


# ---------------------------------------------------------------------------------------- columns
def _row_numbers(series, rows):
    """1-based data row numbers of the entries of ``series``."""
    if rows is not None:
        return np.asarray(rows)
    idx = series.index
    if idx.dtype.kind in "iu":
        return np.asarray(idx) + 1
    return np.arange(1, len(series) + 1)


def _missing_error(series, source, col, rows, mask):
    pos = int(np.flatnonzero(mask)[0])
    r = _row_numbers(series, rows)[pos]
    return missing_value(source, col, r)


_NUMBERISH = re.compile(r"^\s*[+-]?(\d+[.,]?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _numbers_of(values):
    """Numeric value (float) or NaN of each unique value of an object array (vectorised)."""
    import pandas as pd

    values = np.asarray(values, dtype=object)
    out = np.full(len(values), np.nan)
    if len(values) == 0:
        return out
    is_num = np.fromiter((isinstance(v, (bool, int, float, np.number)) for v in values), bool, len(values))
    if is_num.any():
        out[is_num] = values[is_num].astype(float)
    rest = ~is_num
    if rest.any():
        txt = pd.Series(values[rest]).astype(str).str.strip()
        out[rest] = pd.to_numeric(txt, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return out


def numeric_column(df: pd.DataFrame, col: str, source: str = "", rows=None) -> np.ndarray:
    """Column ``col`` of ``df`` as numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (N rows).
    col : str
        The column.
    source : str
        What messages call the table (its file).
    rows : array-like of int, optional
        (N,) row numbers for messages; default the integer index + 1, i.e. the data row of an
        unfiltered table.

    Returns
    -------
    numpy.ndarray
        (N,) float64.

    Raises
    ------
    dce.errors.DCEError
        Naming ``source``, the column, the row and the value when the column holds text that is not a
        number (``'abc'``, ``'1,5'``) or an infinite value, or a missing value.
    """
    import pandas as pd

    if col not in df.columns:
        raise DCEError(f"{where(source)}no column '{col}'"
                       f" (columns: {', '.join(map(str, df.columns[:30]))}{', ...' if df.shape[1] > 30 else ''})")
    s = df[col]
    if isinstance(s, pd.DataFrame):
        raise DCEError(f"{where(source, column=col)}appears more than once")
    if pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
        unum = _numbers_of(uniques)
        bad = np.flatnonzero(np.isnan(unum))
        if len(bad):
            first = int(np.flatnonzero(np.isin(codes, bad))[0])
            value = uniques[codes[first]]
            r = _row_numbers(s, rows)[first]
            hint = " (a decimal comma? write 1.5)" if isinstance(value, str) and _DECIMAL_COMMA.match(value.strip()) else ""
            raise DCEError(f"{where(source, column=col, row=r)}'{value}' is not a number{hint}")
        vals = np.where(codes >= 0, unum[np.maximum(codes, 0)], np.nan) if len(unum) else np.full(len(s), np.nan)
    vals = np.asarray(vals, dtype=np.float64)
    nan = np.isnan(vals)
    if nan.any():
        raise _missing_error(s, source, col, rows, nan)
    inf = np.isinf(vals)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise DCEError(f"{where(source, column=col, row=_row_numbers(s, rows)[pos])}'{vals[pos]}' is not a finite number")
    return vals


def is_text_column(series: pd.Series) -> bool:
    """True when ``series`` is categorical: text where most non-missing values are not numbers.

    Numeric and boolean columns are not text; pandas categoricals are.  A text column whose values
    are mostly numbers (``'1,5'`` style decimal commas count as numbers here) is numeric: its stray
    values are an error for :func:`numeric_column` to report, never a silent categorical.
    """
    import pandas as pd

    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt):
        return False
    if pd.api.types.is_datetime64_any_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt):
        return False
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) == 0:
        return False
    uniques = np.asarray(uniques, dtype=object)
    numberish = np.array([
        isinstance(v, (bool, int, float, np.number)) or bool(_NUMBERISH.match(str(v)))
        or str(v).strip().lower() in ("inf", "-inf", "+inf", "nan")
        for v in uniques])
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return counts[numberish].sum() * 2 <= counts.sum()


_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def parse_choice_flags(series: pd.Series, source: str = "", column: str | None = None,
                       rows=None) -> np.ndarray:
    """A long-format choice column (0/1, TRUE/FALSE, yes/no, y/n, 1.0/0.0) as flags.

    Parameters
    ----------
    series : pandas.Series
        The column (N rows).
    source, column : str
        The file and the column's name, for messages (default: the series' name).
    rows : array-like of int, optional
        (N,) row numbers for messages (as in :func:`numeric_column`).

    Returns
    -------
    numpy.ndarray
        (N,) bool: True where the alternative was chosen.

    Raises
    ------
    dce.errors.DCEError
        Naming the row and the value for anything else, a missing value included.
    """
    import pandas as pd

    col = column if column is not None else series.name
    dt = series.dtype
    if pd.api.types.is_bool_dtype(dt) and not isinstance(dt, pd.CategoricalDtype):
        if series.isna().any():
            raise _missing_error(series, source, col, rows, series.isna().to_numpy())
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dt) and not isinstance(dt, pd.CategoricalDtype):
        v = series.to_numpy(dtype=float, na_value=np.nan)
        nan = np.isnan(v)
        if nan.any():
            raise _missing_error(series, source, col, rows, nan)
        bad = (v != 0) & (v != 1)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raw = series.iloc[pos]
            raise DCEError(f"{where(source, column=col, row=_row_numbers(series, rows)[pos])}value '{raw}' "
                           "is not a choice flag (use 1/0, TRUE/FALSE or yes/no)")
        return v == 1
    codes, uniques = pd.factorize(series.astype(object) if isinstance(dt, pd.CategoricalDtype) else series,
                                  use_na_sentinel=True)
    if (codes < 0).any():
        raise _missing_error(series, source, col, rows, codes < 0)
    flags = np.zeros(len(uniques), dtype=bool)
    for i, u in enumerate(np.asarray(uniques, dtype=object)):
        key = str(u).strip().lower()
        if isinstance(u, (bool, np.bool_)):
            flags[i] = bool(u)
        elif key in _TRUE:
            flags[i] = True
        elif key in _FALSE:
            flags[i] = False
        else:
            pos = int(np.flatnonzero(codes == i)[0])
            raise DCEError(f"{where(source, column=col, row=_row_numbers(series, rows)[pos])}value '{u}' "
                           "is not a choice flag (use 1/0, TRUE/FALSE or yes/no)")
    return flags[codes]
