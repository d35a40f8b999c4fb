"""Renderers: one :class:`~dce.tables.Table` to the terminal (rich) or to plain text formats.

The terminal renderer keeps the conventions of every `dce` table: text columns left-aligned and folded
when long, numeric columns right-aligned and never wrapped or cut, nothing read as markup (names such as
``delegation[nurse]`` print as they are); a table wider than the terminal even so is stacked (see
:func:`column_groups`), never cut.
"""
from __future__ import annotations

from dce.tables import Table


# the narrowest a text column (names, labels) is folded to before a table is stacked
TEXT_MIN = 18


def column_groups(widths, numeric, width, cells=None):
    """How a table of columns of natural ``widths`` fits ``width`` characters: a list of groups of column
    indices, each to be printed as its own table with the first (label) column in front.

    The rule, the same for every table: numbers are never wrapped or cut, so a numeric column keeps the
    width of its widest cell (``cells``; its heading may wrap at spaces); a text column may be folded down
    to :data:`TEXT_MIN` characters.  When the table still does not fit, it is stacked: the columns after
    the first are split, in order, into as few consecutive groups as fit, each printed below the other
    with the labels repeated.  ``width=None``: one group."""
    n = len(widths)
    cells = widths if cells is None else cells
    need = [c if num else min(w, TEXT_MIN) for w, c, num in zip(widths, cells, numeric)]
    # a rich table with box SIMPLE_HEAD takes each column's width plus 3, and 1 more
    if width is None or n <= 1 or sum(need) + 3 * n + 1 <= width:
        return [list(range(n))]
    groups, current, used = [], [], need[0] + 3 + 1
    for i in range(1, n):
        if current and used + need[i] + 3 > width:
            groups.append(current)
            current, used = [], need[0] + 3 + 1
        current.append(i)
        used += need[i] + 3
    groups.append(current)
    return [[0] + g for g in groups]


def _heading(name, width):
    """A numeric column's heading wrapped at spaces to ``width`` (its widest cell), never within a word."""
    import textwrap

    words = name.split()
    if len(name) <= width or not words:
        return name
    return "\n".join(textwrap.wrap(name, max(width, max(len(w) for w in words)), break_long_words=False))


def to_rich(table: Table, width=None):
    """A rich renderable of the table (title above, notes printed by :func:`print_table`), laid out for a
    terminal of ``width`` columns (:func:`column_groups`: folded text and headings, stacked when still
    too wide; numbers whole)."""
    from rich import box
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    rows = table.formatted()
    numeric = [i > 0 and col.numeric for i, col in enumerate(table.columns)]
    cellw = [max([len(r[i]) for r in rows] + [1]) for i in range(len(table.columns))]
    heads = [col.name for col in table.columns]
    widths = [max(c, len(h)) for c, h in zip(cellw, heads)]
    if width is not None and sum(widths) + 3 * len(widths) + 1 > width:
        heads = [_heading(h, c) if num else h for h, c, num in zip(heads, cellw, numeric)]
        cellw = [max(c, *(len(x) for x in h.split("\n"))) for c, h in zip(cellw, heads)]
    groups = column_groups(widths, numeric, width, cellw)
    parts = []
    for g, cols in enumerate(groups):
        title = str(table.title) if g == 0 else f"{table.title} (continued)"
        t = RichTable(title=Text(title, style="table.title"), title_justify="left", box=box.SIMPLE_HEAD)
        for i in cols:
            t.add_column(Text(heads[i]), justify="right" if numeric[i] else "left", style="bold" if i == 0 else None,
                         no_wrap=numeric[i], overflow="fold",
                         min_width=cellw[i] if numeric[i] else min(widths[i], TEXT_MIN))
        for r in rows:
            t.add_row(*[Text(r[i]) for i in cols])
        parts.append(t)
    return parts[0] if len(parts) == 1 else Group(*parts)


def print_table(con, table: Table):
    """Print a table and its notes (dim) on a rich console."""
    from rich.text import Text

    con.print(to_rich(table, con.width))
    for note in table.notes:
        con.print(Text(note, style="dim"))
