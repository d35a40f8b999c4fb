"""Tables for papers: one or several :class:`~dce.tables.Table` as text, Markdown, LaTeX, CSV, JSON or xlsx.

Every renderer reads the same table objects; none computes anything.

========== ============================================================================================
format     what comes out
========== ============================================================================================
``text``   the terminal tables (rich), as `dce` prints them
``markdown`` GitHub pipe tables, the title in bold above, notes in italics below
``latex``  one ``table`` float per table with booktabs rules (``\\usepackage{booktabs}``), every
           special character escaped (``delegation[nurse]``, ``%``, ``_``, ``&``)
``csv``    raw numbers at full precision (no rounding, fractions not percentages); a cell
           ``[value, se]`` or ``[low, high]`` becomes two columns; several tables are blocks
           separated by a blank line, each headed by a row holding its title
``json``   ``{"tables": [Table.to_dict(), ...]}``
``xlsx``   a workbook with one sheet per table (header in row 1, raw numbers with the column's
           number format, so that pandas reads back the numbers) and a last sheet ``notes``
           listing each sheet's title and notes
========== ============================================================================================

:func:`render` returns ``str`` for every format but ``xlsx`` (``bytes``).
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import re

from dce.report.render import print_table
from dce.tables import Column, Table, cell_column, cell_value, json_cell

FORMATS = ("text", "markdown", "latex", "csv", "json", "xlsx")
BINARY = ("xlsx",)

_PAIR = {"est_se": ("", " s.e."), "ci": (" low", " high"), "pct_ci": (" low", " high"),
         "g4_ci": (" low", " high")}


def render(tables, fmt: str, width: int = 120):
    """Render a table or a list of tables in ``fmt`` (one of :data:`FORMATS`).

    Parameters
    ----------
    tables : Table or list of Table
    fmt : str
        ``text``, ``markdown``, ``latex``, ``csv``, ``json`` or ``xlsx``.
    width : int
        Line width of the ``text`` format.

    Returns
    -------
    str, or bytes for ``xlsx``
    """
    if isinstance(tables, Table):
        tables = [tables]
    tables = list(tables)
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r} (use one of {', '.join(FORMATS)})")
    return {"text": lambda: to_text(tables, width), "markdown": lambda: to_markdown(tables),
            "latex": lambda: to_latex(tables), "csv": lambda: to_csv(tables), "json": lambda: to_json(tables),
            "xlsx": lambda: to_xlsx(tables)}[fmt]()


# ---------------------------------------------------------------------------------------------- flat view
def flat(table: Table):
    """The table with paired cells split in two columns and raw values.

    Returns
    -------
    header : list of str
    rows : list of list
        Raw cells: numbers as they are stored (fractions stay fractions), text as text, None for missing.
    formats : list of list of str
        The number format of each raw cell (its column's, its own, or ``f{digits}``/``pct1``/``g4`` for
        the halves of a pair), same shape as ``rows``.
    """
    header, split = [], []
    for c in table.columns:
        if c.format in _PAIR:
            a, b = _PAIR[c.format]
            base = c.name[: -len(" (s.e.)")] if c.format == "est_se" and c.name.endswith(" (s.e.)") else c.name
            header += [base + a, base + b]
            split.append(True)
        else:
            header.append(c.name)
            split.append(False)
    rows, formats = [], []
    for r in table.rows:
        out, fmts = [], []
        for v, c, s in zip(r, table.columns, split):
            cc = cell_column(v, c)
            v = cell_value(v)
            if s:
                half = {"est_se": f"f{cc.digits}", "ci": f"f{cc.digits}", "pct_ci": "pct1",
                        "g4_ci": "g4"}.get(cc.format, "num")
                pair = list(v) if isinstance(v, (list, tuple)) and len(v) == 2 else [None, None]
                out += [_raw(x, half) for x in pair]
                fmts += [half, half]
            else:
                out.append(_raw(v, cc.format))
                fmts.append(cc.format)
        rows.append(out)
        formats.append(fmts)
    return header, rows, formats


def _raw(v, fmt):
    """A cell as a spreadsheet holds it: a finite float/int/bool, text, or None."""
    if v is None:
        return None
    if fmt == "text":
        return str(v)
    if fmt == "yesno":
        return bool(v)
    x = json_cell(v)
    if fmt == "int" and isinstance(x, float) and x.is_integer():
        return int(x)
    return x


# ---------------------------------------------------------------------------------------------- text
def to_text(tables, width=120) -> str:
    """The terminal rendering (rich, no colour) captured as text."""
    from rich.console import Console

    buf = io.StringIO()
    con = Console(file=buf, width=width, highlight=False, markup=False, color_system=None,
                  force_terminal=False, emoji=False)
    for t in tables:
        print_table(con, t)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- markdown
_MD_SPECIAL = re.compile(r"([\\`*_|<>])")


def md_escape(text: str) -> str:
    """Escape what Markdown would read as markup (``*``, ``_``, ``|``, backticks, angle brackets)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def to_markdown(tables) -> str:
    parts = []
    for t in tables:
        lines = [f"**{md_escape(t.title)}**", ""] if t.title else []
        lines.append("| " + " | ".join(md_escape(c.name) for c in t.columns) + " |")
        lines.append("|" + "|".join(("---:" if i > 0 and c.numeric else ":---") for i, c in enumerate(t.columns))
                     + "|")
        for r in t.formatted():
            lines.append("| " + " | ".join(md_escape(c) for c in r) + " |")
        if t.notes:
            lines.append("")
            lines += [f"*{md_escape(n)}*  " for n in t.notes]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- LaTeX
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
        ">": r"\textgreater{}", "[": "{[}", "]": "{]}", "|": r"\textbar{}", '"': "''"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))


def tex_escape(text: str) -> str:
    """Text safe in LaTeX's text mode; brackets are braced so that ``\\\\[`` is never an optional argument."""
    return _TEX_RE.sub(lambda m: _TEX[m.group(0)], str(text)).replace("\n", " ")


def _tex_number(text: str) -> str:
    """A numeric cell: escaped, with a true minus sign; a lone ``-`` (missing) as an en dash."""
    if text.strip() in ("-", ""):
        return "--" if text.strip() else ""
    out = tex_escape(text)
    return re.sub(r"(?<![0-9eE])-(?=[0-9.])", r"$-$", out)


def _numeric_cell(v, col) -> bool:
    """A cell holding a number under a numeric format (its own or its column's)."""
    return cell_column(v, col).numeric and not isinstance(cell_value(v), str)


def _tex_label(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9:.-]+", "-", key).strip("-")


def to_latex(tables, standalone=False) -> str:
    """LaTeX tables with booktabs rules; ``standalone`` wraps them in a compilable article."""
    parts = []
    for t in tables:
        align = "".join("r" if i > 0 and c.numeric else "l" for i, c in enumerate(t.columns))
        lines = [r"\begin{table}[htbp]", r"\centering"]
        if t.title:
            lines.append(r"\caption{" + tex_escape(t.title) + "}")
        if t.key:
            lines.append(r"\label{tab:" + _tex_label(t.key) + "}")
        lines += [r"\begin{tabular}{" + align + "}", r"\toprule",
                  " & ".join(tex_escape(c.name) for c in t.columns) + r" \\", r"\midrule"]
        for raw, r in zip(t.rows, t.formatted()):
            cells = [_tex_number(x) if i > 0 and _numeric_cell(v, c) else tex_escape(x)
                     for i, (v, x, c) in enumerate(zip(raw, r, t.columns))]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if t.notes:
            lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize"]
            lines += [tex_escape(n) + r"\par" for n in t.notes]
            lines.append(r"\end{minipage}")
        lines.append(r"\end{table}")
        parts.append("\n".join(lines) + "\n")
    body = "\n".join(parts)
    if not standalone:
        return "% tables written by dce; they need \\usepackage{booktabs}\n" + body
    return ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
            "\\usepackage{booktabs}\n\\usepackage[margin=2cm,landscape]{geometry}\n"
            "\\begin{document}\n" + body + "\\end{document}\n")


# ---------------------------------------------------------------------------------------------- CSV / JSON
def to_csv(tables) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, t in enumerate(tables):
        if i:
            buf.write("\n")
        if len(tables) > 1:
            w.writerow([t.title])
        header, rows, _ = flat(t)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in r])
    return buf.getvalue()


def to_json(tables) -> str:
    return json.dumps({"tables": [t.to_dict() for t in tables]}, indent=2, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------------- xlsx
def _xlsx_number(fmt):
    """Excel's number format for a cell format (None: leave the cell as it is)."""
    if fmt == "int":
        return "#,##0"
    if fmt[0] == "f" and fmt[1:].isdigit():
        return "0." + "0" * int(fmt[1:]) if int(fmt[1:]) else "0"
    if fmt.startswith("pct") and fmt[3:].isdigit():
        return "0." + "0" * int(fmt[3:]) + "%" if int(fmt[3:]) else "0%"
    return {"p": "0.0000", "g4": "General", "num": "General"}.get(fmt)
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_names(tables) -> list:
    """Unique Excel sheet names (at most 31 characters, none of ``[]:*?/\\``) from keys or titles."""
    names, seen = [], set()
    for i, t in enumerate(tables, 1):
        base = _SHEET_BAD.sub("_", (t.key or t.title or f"table {i}")).strip("'") or f"table {i}"
        base = base[:31]
        name, n = base, 2
        while name.lower() in seen or name.lower() == "notes":
            suffix = f" ({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        seen.add(name.lower())
        names.append(name)
    return names


def to_xlsx(tables) -> bytes:
    """A workbook: one sheet per table (raw numbers, number formats from the columns) and a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    names = sheet_names(tables)
    for name, t in zip(names, tables):
        ws = wb.create_sheet(name)
        header, rows, formats = flat(t)
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, (r, fmts) in enumerate(zip(rows, formats), 2):
            ws.append(r)
            for j, fmt in enumerate(fmts, 1):
                number = _xlsx_number(fmt)
                if number:
                    ws.cell(row=i, column=j).number_format = number
        for j in range(1, len(header) + 1):
            width = max([len(str(header[j - 1]))] + [len(_shown(r[j - 1])) for r in rows])
            ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(60, max(8, width + 2))
        ws.freeze_panes = "B2"
    notes = wb.create_sheet("notes")
    notes.append(["sheet", "title", "notes"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for name, t in zip(names, tables):
        notes.append([name, t.title, " ".join(t.notes)])
    # fixed document dates: the same tables give the same workbook contents
    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "dce"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _shown(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


# ---------------------------------------------------------------------------------------------- writing
def write(tables, fmt, path=None, stream=None, width=120):
    """Write rendered tables to ``path`` (atomically) or to a text/binary ``stream``."""
    out = render(tables, fmt, width=width)
    if path is not None:
        from dce.util.io import atomic_open

        with atomic_open(path, "wb" if fmt in BINARY else "w", **({} if fmt in BINARY else {"newline": ""})) as fh:
            fh.write(out)
        return
    stream.write(out)


__all__ = ["FORMATS", "render", "flat", "to_text", "to_markdown", "to_latex", "to_csv", "to_json", "to_xlsx",
           "tex_escape", "md_escape", "sheet_names", "write", "Column"]
