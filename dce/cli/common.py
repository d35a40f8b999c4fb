"""Helpers shared by the CLI commands: the console and guarded command bodies."""
from __future__ import annotations

import functools

import click

from dce.cli.errors import cli_message, exit_status  # noqa: F401  (cli_message re-exported)
from dce.errors import ArgumentError, DCEError
from dce.report.console import console, warn  # noqa: F401  (re-exported for the commands)
from dce.util.io import check_writable
from dce.util.numbers import whole_number
from dce.util.seeds import resolve_seed


def user_errors(fn):
    """Let DCEError escape as a click error so the test runner and the launcher show one line."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DCEError as e:
            raise UserError(cli_message(e), exit_code=exit_status(e)) from None

    return wrapper


class UserError(click.ClickException):
    """A user's error as click shows it: ``error: <one line>`` and the exit status of the library error."""

    exit_code = 2

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code

    def format_message(self):
        return self.message

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


# ---------------------------------------------------------------------------------------------- tables
TABLE_FORMATS = ("text", "markdown", "latex", "csv", "json", "xlsx")


def format_option(fn):
    """``--format``: how the command's tables are written on standard output (text: the terminal tables)."""
    return click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="text", show_default=True,
                        help="Tables on standard output as text (the terminal tables), markdown, latex "
                             "(booktabs), csv, json or xlsx (a workbook, one sheet per table: redirect to a "
                             "file).")(fn)


def check_format(fmt):
    """Refuse a binary workbook on a terminal before any work is done."""
    import sys

    if fmt == "xlsx" and sys.stdout.isatty():
        raise UserError("--format xlsx writes a workbook: redirect the output to a file (> tables.xlsx)")


def info_console(fmt):
    """The console for everything but the tables: standard output for text, standard error otherwise
    (so that ``--format latex > tables.tex`` holds only the tables)."""
    return console(stderr=fmt != "text")


def emit_tables(tables, fmt, con=None):
    """Print tables on the console (text) or write them in ``fmt`` on standard output."""
    if fmt == "text":
        from dce.report.render import print_table

        con = con or console()
        for t in tables:
            print_table(con, t)
        return
    from dce.report.formats import render

    out = render(tables, fmt)
    if isinstance(out, bytes):
        click.get_binary_stream("stdout").write(out)
    else:
        click.echo(out, nl=False)


# ---------------------------------------------------------------------------------------------- provenance
def provenance(*paths) -> dict:
    """How an output was made: dce version, the command line, and the SHA-256 of each input file."""
    from dce import __version__
    from dce.cli.errors import invocation
    from dce.report.inputs import sha256_file

    return {"dce_version": __version__, "command": invocation(),
            "inputs": [{"path": str(p), "sha256": sha256_file(p)} for p in paths if p]}


# ---------------------------------------------------------------------------------------------- replications
def runner_options(fn):
    """``--workers`` and ``--scheduler`` of a command whose replications go through :mod:`dce.runner`."""
    fn = click.option("--scheduler", default=None, metavar="ADDRESS",
                      help="Send the replications to a running Dask scheduler (tcp://host:8786); default: "
                           "$DCE_SCHEDULER when set. Needs pip install \"dce[dask]\".")(fn)
    return click.option("--workers", type=int, default=None,
                        help="Local worker processes (default: every core; 1: this process). Runs locally "
                             "even when DCE_SCHEDULER is set.")(fn)


def where_to_run(workers, scheduler):
    """``(workers, scheduler)`` for :func:`dce.runner.run`: ``--scheduler``, else ``$DCE_SCHEDULER`` unless
    ``--workers`` asks for local processes; both options at once is an error."""
    import os

    if workers is not None and scheduler:
        raise DCEError("give --workers (local processes) or --scheduler (a Dask cluster), not both")
    if scheduler is None and workers is None:
        scheduler = os.environ.get("DCE_SCHEDULER") or None
    return workers, scheduler


class ProgressBar:
    """A rich progress bar with the time left on standard error, as a ``progress(done, total)`` callback
    for :func:`dce.runner.run`; it appears at the first finished task and disappears when closed."""

    def __init__(self, description, enabled=True):
        self.description = description
        self.enabled = enabled
        self._bar = None
        self._task = None

    def __call__(self, done, total):
        if not self.enabled:
            return
        if self._bar is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                 console=console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------------- option types
# Every option's range is checked when the command line is read, before any work is done, with one line
# naming the option (``--draws: must be ...``).  Upper bounds keep a typing slip (1000000000000 draws)
# from ending in an exhausted memory or a run of days; they are far above any sensible study.
class Count(click.ParamType):
    """A whole number in ``[low, high]``."""

    name = "integer"

    def __init__(self, low, high):
        self.low, self.high = int(low), int(high)

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            value = value.strip().replace("_", "")      # 1_000 as Python writes it
        try:
            return whole_number(value, "value", self.low, self.high)
        except ArgumentError as e:
            self.fail(e.detail, param, ctx)

    def get_metavar(self, param, ctx=None):
        return "INTEGER"

class Seed(click.ParamType):
    """A seed, checked by :func:`dce.util.seeds.resolve_seed` (0 to 2**32 - 1)."""

    name = "seed"

    def convert(self, value, param, ctx):
        if value is None:
            return None
        try:
            return resolve_seed(value)
        except ArgumentError as e:
            self.fail(e.detail, param, ctx)

class Level(click.ParamType):
    """A confidence level strictly between 0 and 1."""

    name = "level"

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"expected a number between 0 and 1 (e.g. 0.95), not {value!r}", param, ctx)
        if not 0 < v < 1:
            self.fail(f"must be between 0 and 1 (e.g. 0.95), not {value}", param, ctx)
        return v

class Output(click.ParamType):
    """A file to write: checked up front (not empty, not a folder, in a folder that can be written)."""

    name = "file"

    def convert(self, value, param, ctx):
        try:
            return check_writable(value)
        except DCEError as e:
            self.fail(e.message, param, ctx)

    def get_metavar(self, param, ctx=None):
        return "FILE"


SEED = Seed()
LEVEL = Level()
OUTPUT = Output()


def distinct_files(inputs, outputs):
    """Refuse an output that is one of the inputs or another output (it would be overwritten).

    ``inputs`` and ``outputs``: dicts or lists of ``(option, path)``; None paths are skipped."""
    import os

    pairs = [(o, p, False) for o, p in (inputs.items() if isinstance(inputs, dict) else inputs)]
    pairs += [(o, p, True) for o, p in (outputs.items() if isinstance(outputs, dict) else outputs)]
    seen = {}
    for option, path, is_output in pairs:
        if not path:
            continue
        key = os.path.realpath(os.fspath(path))
        if key in seen and is_output:
            raise DCEError(f"{option}: '{path}' is also {seen[key]}; give another file name")
        seen.setdefault(key, f"the file of {option}" if is_output else f"the input {option}")


# ---------------------------------------------------------------------------------------------- model options
def parse_random(values):
    """`--random pf=n --random cl=ln` or `--random pf=n,cl=n` -> {"pf": "n", "cl": "ln"}."""
    from dce.util.io import parse_pairs

    out = {}
    for value in values:
        # a bare `scale` (willingness-to-pay space) is the lognormal scale
        value = ",".join("scale=ln" if v.strip() == "scale" else v for v in value.split(","))
        out.update(parse_pairs(value, "random", "NAME=DIST (for example pf=n)"))
    return out
