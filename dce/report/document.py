"""`dce report`: one self-contained HTML document of a study (design, data, models, shares, WTP, power).

:func:`build_report` reads and checks every input, builds the sections and renders the page with the
Jinja2 template shipped in ``dce/report/templates``; :func:`write_report` writes it (and, on request,
every figure as SVG and PNG) only once everything has been made, each file atomically.

The page makes no request: the style sheet is inline, figures are inline SVG, there is no script and
no font file, and a Content-Security-Policy forbids the browser any load.  Numbers in tables carry
their raw JSON value in ``data-v`` so that a test (or a reader's script) can compare them with the
inputs.
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field

import numpy

from dce.errors import DCEError
from dce.report import figures as F
from dce.report import sections as S
from dce.report.inputs import read_input
from dce.tables import Table, cell_column, cell_value, format_cell
from dce.util.io import atomic_open

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class Report:
    """A rendered report: the HTML text and the figures drawn for it."""

    html: str
    figures: list = field(default_factory=list)     # dce.report.figures.Figure
    inputs: list = field(default_factory=list)      # dce.report.inputs.Input


def build_report(models=(), design=None, shares=(), wtp=(), validation=(), power=(), title=None, command=None,
                 progress=None):
    """Read the inputs and render the report.

    Parameters
    ----------
    models, shares, wtp, validation, power : sequence of path
        JSON files written by `dce fit`, `dce shares`, `dce wtp`, `dce fit --validation-output` and
        `dce power`.
    design : path, optional
        Design diagnostics written by `dce design --json`.
    title : str, optional
        The report's title (default: from the design, else "Discrete choice experiment").
    command : str, optional
        The command line that made the report, shown under Reproducibility.
    progress : callable, optional
        ``progress(done, total)`` as the sections, then the page with its figures, are made.

    Returns
    -------
    Report
    """
    models = [read_input(p, "model") for p in models]
    design = read_input(design, "design") if design is not None else None
    shares = [read_input(p, "shares") for p in shares]
    wtp = [read_input(p, "wtp") for p in wtp]
    validation = [read_input(p, "validation") for p in validation]
    power = [read_input(p, "power") for p in power]
    inputs = models + ([design] if design else []) + shares + wtp + validation + power
    if not inputs:
        raise DCEError("nothing to report: give at least one model JSON, --design, --shares, --wtp, "
                       "--validation or --power")
    vals = [(v.data, v.name) for v in validation]
    for m in models:       # a model's own validation report, unless a --validation file already is it
        v = m.data.get("validation")
        if isinstance(v, dict) and not any(_same_validation(v, w) for w, _ in vals):
            vals.append((v, m.name))
    steps = [lambda: S.study_section(models, design, vals)]
    if design is not None:
        steps.append(lambda: S.design_section(design))
    if models:
        steps.append(lambda: S.model_sections(models))
    if len(models) > 1:
        steps.append(lambda: S.comparison_section(models))
    if shares:
        steps.append(lambda: S.shares_section(shares))
    if wtp:
        steps.append(lambda: S.wtp_section(wtp))
    if power:
        steps.append(lambda: S.power_section(power))
    steps.append(lambda: S.reproducibility_section(inputs, command, versions()))
    sections = []
    for i, step in enumerate(steps):
        if progress is not None:
            progress(i, len(steps) + 1)
        sections.append(step())
    sections = [s for s in sections if s is not None]
    if title is None:
        title = _default_title(design)
    figures = [b["figure"] for s in sections for b in s.blocks if b["kind"] == "figure"]
    if progress is not None:
        progress(len(steps), len(steps) + 1)
    html = render_html(title, sections)
    if progress is not None:
        progress(len(steps) + 1, len(steps) + 1)
    return Report(html, figures, inputs)


def _same_validation(a: dict, b: dict) -> bool:
    return {k: x for k, x in a.items() if k != "provenance"} == {k: x for k, x in b.items() if k != "provenance"}


def _default_title(design) -> str:
    if design is not None and design.data.get("design"):
        return f"Discrete choice experiment: {design.data['design']}"
    return "Discrete choice experiment"


def versions() -> dict:
    """Versions of dce and of the libraries whose numbers or figures the report holds."""
    import matplotlib

    from dce import __version__

    out = {"dce": __version__, "Python": platform.python_version(), "numpy": numpy.__version__}
    try:
        import scipy

        out["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    import jinja2

    out["matplotlib"] = matplotlib.__version__
    out["Jinja2"] = jinja2.__version__
    return out


# ------------------------------------------------------------------------------------------------ HTML
def table_view(t: Table) -> dict:
    """A table as the template reads it: formatted text, raw JSON value and alignment of every cell."""
    cols = [{"name": c.name, "numeric": j > 0 and c.numeric} for j, c in enumerate(t.columns)]
    rows = []
    for r in t.rows:
        cells = []
        for j, (v, c) in enumerate(zip(r, t.columns)):
            raw = cell_value(v)
            number = cell_column(v, c).numeric and raw is not None and not isinstance(raw, str)
            cells.append({"text": format_cell(v, c), "numeric": cols[j]["numeric"],
                          "raw": json.dumps(raw, allow_nan=False, default=str) if number else None})
        rows.append(cells)
    return {"title": t.title, "key": t.key, "columns": cols, "rows": rows, "notes": list(t.notes),
            "wide": len(t.columns) > 7}


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("dce.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    return env


def render_html(title: str, sections) -> str:
    from importlib import resources

    from markupsafe import Markup

    from dce import __version__
    css = resources.files("dce.report").joinpath("templates/report.css").read_text(encoding="utf-8")
    views = []
    for s in sections:
        blocks = []
        for b in s.blocks:
            if b["kind"] == "table":
                blocks.append({"kind": "table", "t": table_view(b["table"])})
            elif b["kind"] == "figure":
                f = b["figure"]
                blocks.append({"kind": "figure", "key": f.key, "caption": f.caption,
                               "svg": Markup(F.inline_svg(F.svg(f), f.alt or f.caption, prefix=f.key + "-"))})
            else:
                blocks.append(b)
        views.append({"id": s.id, "title": s.title, "blocks": blocks})
    template = _environment().get_template("report.html.j2")
    return template.render(title=title, sections=views, css=Markup(css), csp=CSP, version=__version__)


# ------------------------------------------------------------------------------------------------ writing
def write_report(report: Report, output, figures_dir=None, png_dpi=150, progress=None):
    """Write the HTML (and the figures as SVG and PNG under ``figures_dir``, with ``progress(done, total)``
    as they are drawn), each file atomically.

    Every destination is checked before anything is written: a folder that does not exist or cannot
    be written is an error and leaves no file behind.
    """
    output = os.fspath(output)
    _check_writable_folder(os.path.dirname(os.path.abspath(output)), output)
    if os.path.isdir(output):
        raise DCEError(f"{output}: is a folder; give the path of the HTML file to write")
    if figures_dir is not None:
        figures_dir = os.fspath(figures_dir)
        if os.path.exists(figures_dir) and not os.path.isdir(figures_dir):
            raise DCEError(f"--figures {figures_dir}: exists and is not a folder")
        parent = os.path.dirname(os.path.abspath(figures_dir))
        _check_writable_folder(parent if not os.path.isdir(figures_dir) else figures_dir, figures_dir)
        total = 2 * len(report.figures)
        files = []
        for f in report.figures:
            files.append((f"{f.key}.svg", F.svg(f).encode("utf-8")))
            if progress is not None:
                progress(len(files), total)
        for f in report.figures:
            files.append((f"{f.key}.png", F.png(f, dpi=png_dpi)))
            if progress is not None:
                progress(len(files), total)
        try:
            os.makedirs(figures_dir, exist_ok=True)
        except OSError as e:
            raise DCEError(f"--figures {figures_dir}: the folder cannot be made ({e.strerror or e})") from None
        for name, data in files:
            with atomic_open(os.path.join(figures_dir, name), "wb") as fh:
                fh.write(data)
    with atomic_open(output, "w", newline="\n") as fh:
        fh.write(report.html)


def _check_writable_folder(folder, target):
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DCEError(f"{target}: '{folder}' is a file, not a folder")
    if not os.path.isdir(folder):
        raise DCEError(f"{target}: folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DCEError(f"{target}: folder '{folder}' is not writable")
