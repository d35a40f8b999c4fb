"""Terminal reports with rich: estimates table and fit summary, in the manner of Biogeme and Apollo."""
from __future__ import annotations

import math


def _p(p):
    if p is None or not math.isfinite(p):
        return "-"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


SE_LABEL = {"classical": "s.e.", "robust": "robust s.e.", "cluster": "cluster s.e."}


def fit_tables(result, source=""):
    """The estimates table and the fit summary table of a FitResult, as rich renderables."""
    from rich.table import Table

    title = {"mnl": "Conditional logit", "mixed": "Mixed logit"}.get(result.model, result.model)
    from rich.markup import escape

    from rich import box

    t = Table(title=escape(f"{title}{': ' + str(source) if source else ''}"), title_justify="left",
              box=box.SIMPLE_HEAD)
    t.add_column("parameter", style="bold", overflow="fold", min_width=min(24, max(map(len, result.names), default=9)))
    for col in ("estimate", SE_LABEL[result.se_type], "z", "p", "95% CI"):
        t.add_column(col, justify="right", no_wrap=True)
    se = result.se()
    z = result.z
    p = result.p
    lo, hi = result.conf_int()
    from rich.text import Text

    for i, name in enumerate(result.names):
        t.add_row(Text(name), f"{result.estimates[i]:.6f}", f"{se[i]:.6f}", f"{z[i]:.2f}", _p(p[i]),
                  f"[{lo[i]:.4f}, {hi[i]:.4f}]")
    for name, value in result.fixed.items():
        t.add_row(Text(name), f"{value:.6f}", "fixed", "", "", "")
    s = Table(show_header=False, box=None, pad_edge=False)
    s.add_column(style="dim")
    s.add_column(justify="right")
    rows = [
        ("tasks", f"{result.n_tasks:,}"),
        ("respondents", f"{result.n_respondents:,}"),
        ("parameters", f"{result.n_params}"),
        ("log-likelihood", f"{result.loglik:.3f}"),
        ("null log-likelihood", f"{result.loglik_null:.3f}"),
        ("rho-squared", f"{result.rho2:.4f}"),
        ("adjusted rho-squared", f"{result.rho2_adj:.4f}"),
        ("AIC", f"{result.aic:.2f}"),
        ("BIC", f"{result.bic:.2f}"),
        ("iterations", f"{result.iterations}"),
        ("convergence", ("yes" if result.converged else "NO") + f" ({result.message})"),
        ("gradient norm", f"{result.grad_norm:.3g}"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    rows.extend(result.summary_rows)
    for k, v in rows:
        s.add_row(Text(k), Text(v))
    refs = result.spec.get("references") if isinstance(result.spec, dict) else None
    return t, s, refs


def print_fit(result, source="", console=None):
    from dce.report.console import console as make_console

    con = console or make_console()
    table, summary, refs = fit_tables(result, source)
    con.print(table)
    if refs:
        from rich.text import Text

        con.print(Text("reference levels: " + ", ".join(f"{k} = {v}" for k, v in refs.items()), style="dim"))
    for title, header, body in result.details:
        con.print(simple_table(title, header, body))
    con.print(summary)
    from dce.report.console import warn

    for w in result.warnings:
        warn(con, "warning", w)


_NUMERIC_CELL = None


def _numeric_column(cells):
    """Whether a column holds numbers (figures, percentages, intervals): right-aligned, never wrapped."""
    import re

    global _NUMERIC_CELL
    if _NUMERIC_CELL is None:
        _NUMERIC_CELL = re.compile(r"^[\s\-+0-9.,%eE\[\]()<>/x]*$|^(nan|inf|-|—|yes|no)$")
    return all(_NUMERIC_CELL.match(str(c).strip()) for c in cells)


def simple_table(title, header, rows):
    """A rich table from a title, column names and rows of already formatted cells.

    Text columns are left-aligned and folded when long; numeric columns are right-aligned, unwrapped.
    Everything is printed as it is (no markup), so names such as ``delegation[nurse]`` stay intact.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    rows = [list(r) for r in rows]
    t = Table(title=escape(str(title)), title_justify="left", box=box.SIMPLE_HEAD)
    for i, h in enumerate(header):
        cells = [r[i] for r in rows if i < len(r)]
        numeric = i > 0 and _numeric_column(cells)
        width = max([len(str(c)) for c in cells] + [len(str(h))])
        t.add_column(escape(str(h)), justify="right" if numeric else "left", style="bold" if i == 0 else None,
                     no_wrap=numeric, overflow="fold", min_width=None if numeric else min(width, 18))
    for r in rows:
        t.add_row(*[c if isinstance(c, Text) else Text(str(c)) for c in r])
    return t
