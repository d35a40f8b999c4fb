"""The terminal console shared by every report."""
from __future__ import annotations


def console(stderr=False):
    """A rich console that prints text as it is: names such as `delegation[nurse]` are not markup."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False)


def warn(con, label, text):
    """Print `label: text` with the label in yellow."""
    from rich.text import Text

    con.print(Text.assemble((f"{label}: ", "yellow"), text))
