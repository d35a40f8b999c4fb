"""Renderers: one :class:`~dce.tables.Table` to the terminal (rich) or to plain text formats.

The terminal renderer keeps the conventions of every `dce` table: text columns left-aligned and folded
when long, numeric columns right-aligned and never wrapped, nothing read as markup (names such as
``delegation[nurse]`` print as they are).
"""
from __future__ import annotations

from dce.tables import Table


def to_rich(table: Table):
    """A rich renderable of the table (title above, notes printed by :func:`print_table`)."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    rows = table.formatted()
    t = RichTable(title=Text(str(table.title), style="table.title"), title_justify="left", box=box.SIMPLE_HEAD)
    for i, col in enumerate(table.columns):
        cells = [r[i] for r in rows]
        numeric = i > 0 and col.numeric
        width = max([len(c) for c in cells] + [len(col.name)])
        t.add_column(Text(col.name), justify="right" if numeric else "left", style="bold" if i == 0 else None,
                     no_wrap=numeric, overflow="fold", min_width=None if numeric else min(width, 18))
    for r in rows:
        t.add_row(*[Text(c) for c in r])
    return t


def print_table(con, table: Table):
    """Print a table and its notes (dim) on a rich console."""
    from rich.text import Text

    con.print(to_rich(table))
    for note in table.notes:
        con.print(Text(note, style="dim"))
