"""Tables as data: what models, diagnostics and post-estimation return for people to read.

A :class:`Table` holds numbers and names, never formatted strings: a title, columns (each with a
*format* saying how its cells read) and rows of raw cells.  Renderers in :mod:`dce.report.render`
turn one table into terminal text (rich) or text/markdown/LaTeX/CSV; the HTML report reads the same
objects (from the JSON a model writes, via :meth:`Table.to_dict` / :meth:`Table.from_dict`).

Cell values by column format:

========== =============================== =======================================
format     cell                            reads as
========== =============================== =======================================
``text``   any value                       ``str(value)``
``int``    integer                         ``1,234``
``f2``..   float                           fixed decimals (``f2``, ``f3``, ``f4``, ``f6``)
``g4``     float                           4 significant digits
``pct0``   fraction                        ``80%``
``pct1``   fraction                        ``80.1%``
``pct2``   fraction                        ``80.12%``
``num``    number, bool or text            ints ``1,234``; floats 6 significant digits; text as is
``p``      p-value                         ``0.0123``, ``<0.0001``
``est_se`` ``[value, se]``                 ``0.1234 (0.0456)`` (``digits`` decimals)
``ci``     ``[low, high]``                 ``[0.1234, 0.5678]`` (``digits`` decimals)
``pct_ci`` ``[low, high]`` (fractions)     ``[78.9%, 81.2%]``
``g4_ci``  ``[low, high]``                 ``[0.1234, 5.679]``
``yesno``  bool                            ``yes`` / ``no``
========== =============================== =======================================

``None`` and non-finite numbers read as ``-``.

A cell may carry its own format, ``{"value": v, "format": "f3"}`` (optionally ``"digits"``), for
tables of mixed measures (a fit summary: log-likelihood ``f3``, rho-squared ``f4``, iterations ``int``);
the column's format applies to every other cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

FORMATS = ("text", "int", "f2", "f3", "f4", "f6", "g4", "pct0", "pct1", "pct2", "p", "est_se", "ci", "pct_ci",
           "g4_ci", "yesno", "num")


@dataclass
class Column:
    """One column: its heading, the format of its cells and, for ``est_se``/``ci``, the decimals."""

    name: str
    format: str = "text"
    digits: int = 4

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown column format {self.format!r}")

    @property
    def numeric(self) -> bool:
        return self.format not in ("text",)


@dataclass
class Table:
    """A titled table of raw cells; ``key`` names it for machines (JSON, the report's anchors)."""

    title: str
    columns: list
    rows: list = field(default_factory=list)
    key: str = ""
    notes: list = field(default_factory=list)

    def __post_init__(self):
        self.columns = [c if isinstance(c, Column) else Column(*c) if isinstance(c, (tuple, list))
                        else Column(str(c)) for c in self.columns]
        self.rows = [list(r) for r in self.rows]

    @property
    def header(self) -> list:
        return [c.name for c in self.columns]

    def add_row(self, *cells):
        self.rows.append(list(cells))

    def formatted(self) -> list:
        """Rows of text cells, each formatted by its column's format."""
        return [[format_cell(v, c) for v, c in zip(r, self.columns)] for r in self.rows]

    def column(self, name) -> list:
        i = self.header.index(name)
        return [r[i] for r in self.rows]

    def as_text(self) -> str:
        """Plain text: the title, the header, a rule and the formatted rows (numbers right-aligned), then
        the notes; for a Python prompt (the terminal's renderer is :mod:`dce.report.render`)."""
        cells = [self.header] + self.formatted()
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        right = [c.numeric for c in self.columns]

        def line(r):
            return "  ".join(str(v).rjust(w) if al else str(v).ljust(w)
                             for v, w, al in zip(r, widths, right)).rstrip()
        out = [self.title, line(self.header), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in cells[1:]] + list(self.notes)
        return "\n".join(out)

    def as_html(self) -> str:
        """A plain HTML table (for notebooks)."""
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                       for r in self.formatted())
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return f"<table><caption>{html.escape(self.title)}</caption><tr>{head}</tr>{body}</table>{notes}"

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title,
                "columns": [{"name": c.name, "format": c.format, "digits": c.digits} for c in self.columns],
                "rows": [[json_cell(v) for v in r] for r in self.rows], "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "Table":
        return cls(title=d.get("title", ""), key=d.get("key", ""), notes=list(d.get("notes") or []),
                   columns=[Column(c["name"], c.get("format", "text"), int(c.get("digits", 4)))
                            for c in d.get("columns", [])],
                   rows=d.get("rows") or [])


def cell(value, fmt: str, digits: int | None = None) -> dict:
    """A cell with its own format (see the module docstring)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown cell format {fmt!r}")
    out = {"value": value, "format": fmt}
    if digits is not None:
        out["digits"] = int(digits)
    return out


def cell_value(v):
    """The raw value of a cell (unwrapping a cell that carries its own format)."""
    return v.get("value") if isinstance(v, dict) and "format" in v else v


def cell_column(v, col: "Column") -> "Column":
    """The column format that applies to one cell: its own, or the column's."""
    if isinstance(v, dict) and "format" in v:
        return Column(col.name, v["format"], int(v.get("digits", col.digits)))
    return col


def json_cell(v):
    """A cell as JSON holds it: numbers (int or finite float; NaN and infinities become None), text,
    bools, lists of these, and cells with their own format."""
    if isinstance(v, dict) and "format" in v:
        out = {"value": json_cell(v.get("value")), "format": str(v["format"])}
        if "digits" in v:
            out["digits"] = int(v["digits"])
        return out
    if isinstance(v, (list, tuple)):
        return [json_cell(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return None
    return int(v) if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu") else f


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fixed(x: float, digits: int) -> str:
    """Fixed decimals; scientific notation beyond 1e12 in magnitude (a runaway estimate stays readable)."""
    return f"{x:.{digits}f}" if abs(x) < 1e12 else f"{x:.{digits}e}"


def format_cell(value, col: Column) -> str:
    """The text of one cell under its column's format (``-`` for a missing or non-finite number)."""
    if isinstance(value, dict) and "format" in value:
        return format_cell(value.get("value"), cell_column(value, col))
    fmt = col.format
    if fmt == "num":
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, str):
            return value
        x = _num(value)
        if x is None:
            return "-"
        if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
            return f"{int(value):,}"
        return f"{x:.6g}"
    if fmt == "text":
        return "" if value is None else str(value)
    if fmt == "yesno":
        return "-" if value is None else ("yes" if value else "no")
    if fmt in ("est_se", "ci", "pct_ci", "g4_ci"):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return "-"
        a, b = (_num(x) for x in value)
        if fmt == "est_se":
            return "-" if a is None else f"{_fixed(a, col.digits)} ({'-' if b is None else _fixed(b, col.digits)})"
        if a is None or b is None:
            return "-"
        if fmt == "pct_ci":
            return f"[{100 * a:.1f}%, {100 * b:.1f}%]"
        if fmt == "g4_ci":
            return f"[{a:.4g}, {b:.4g}]"
        return f"[{_fixed(a, col.digits)}, {_fixed(b, col.digits)}]"
    x = _num(value)
    if x is None:
        return "-" if not isinstance(value, str) else value
    if fmt == "int":
        return f"{int(round(x)):,}"
    if fmt == "g4":
        return f"{x:.4g}"
    if fmt.startswith("pct"):
        return f"{100 * x:.{int(fmt[3:])}f}%"
    if fmt == "p":
        return "<0.0001" if x < 1e-4 else f"{x:.4f}"
    return _fixed(x, int(fmt[1:]))
