"""The terminal console shared by every report."""
from __future__ import annotations

import os


def console(stderr=False):
    """A rich console that prints text as it is: names such as `delegation[nurse]` are not markup."""
    from rich.console import Console

    con = Console(stderr=stderr, highlight=False, markup=False)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        # a file or a pipe: no terminal wraps the lines, so give the tables room (COLUMNS overrides)
        con = Console(stderr=stderr, highlight=False, markup=False, width=120)
    return con


def warn(con, label, text):
    """Print `label: text` with the label in yellow."""
    from rich.text import Text

    con.print(Text.assemble((f"{label}: ", "yellow"), text))
