"""The `dce` command line: a thin layer over the library.

Subcommands are imported only when they run, so `dce --help` stays instant.  Every user error is a
:class:`dce.errors.DCEError`, printed as one line with a non-zero exit status and no traceback.
Set ``DCE_DEBUG=1`` to see the traceback of an unexpected error.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from dce import __version__

# name -> (module, attribute, one-line help shown by `dce --help` without importing the module)
COMMANDS = {
    "fit": ("dce.cli.fit", "fit", "Estimate a model: conditional, mixed, latent class or hierarchical "
                                 "Bayes logit (the first two also in WTP space)."),
    "design": ("dce.cli.design", "design", "Make or evaluate an efficient choice-set design."),
    "shares": ("dce.cli.shares", "shares", "Predicted shares preferring scenarios over a reference."),
    "wtp": ("dce.cli.wtp", "wtp", "Willingness to pay and attribute importance."),
    "simulate": ("dce.cli.simulate", "simulate", "Simulate survey responses from a known truth."),
    "power": ("dce.cli.power", "power", "Sample size by simulation: power per target and number of respondents."),
    "report": ("dce.cli.report", "report", "A self-contained HTML report of a study, with figures."),
    "warm-up": ("dce.cli.warmup", "warm_up", "Compile the numba kernels now (once per machine)."),
}



class LazyGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run a command, remembering its arguments for the provenance of what it writes.

        Standalone (the console script, click's test runner): every failure the user can cause is one
        line on standard error and an exit status (see :data:`EXIT_STATUS`); stray library warnings
        are one line too.  An unexpected exception is left to :func:`main`."""
        from dce.cli.errors import record_invocation

        record_invocation(args if args is not None else sys.argv[1:])
        try:
            if not standalone_mode:
                return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            import warnings

            with warnings.catch_warnings(), _terminate_as_interrupt():
                warnings.showwarning = _show_warning
                for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                    warnings.simplefilter("ignore", category)   # addressed to developers, not users
                try:
                    rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                except BaseException as e:  # noqa: B036 - every path ends in sys.exit or a re-raise
                    code = _failure(e)
                    if code is None:
                        raise
                    sys.exit(code)
            sys.exit(rv if isinstance(rv, int) else 0)
        finally:
            record_invocation(None)

    def list_commands(self, ctx):
        return [name for name, (mod, _, _) in COMMANDS.items() if _available(mod)]

    def get_command(self, ctx, name):
        if name not in COMMANDS or not _available(COMMANDS[name][0]):
            return None
        mod, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(mod), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what SLURM and other batch schedulers send before they kill a job), raised where the command
    is, so that it stops as on Ctrl-C: workers stopped, Dask futures cancelled, nothing half-written."""


def _terminate_as_interrupt():
    """While the command runs, SIGTERM raises :class:`Terminated` in the main thread (default: the process
    dies at once, its worker processes computing on as orphans)."""
    import contextlib
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()

    def handler(signum, frame):
        raise Terminated()

    @contextlib.contextmanager
    def installed():
        try:
            old = signal.signal(signal.SIGTERM, handler)
        except (ValueError, OSError):   # pragma: no cover - not the main thread of the main interpreter
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, old)

    return installed()


def _available(module):
    """Whether a command's module exists, checked without importing it."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dce")
def cli():
    """dce: discrete choice experiments, from design to policy answer.

    \b
    dce design designs/newdeal.yaml --output design.csv      make a design
    dce fit data.csv --formula "choice ~ price + C(brand)" \\
        --alt alt --task task --output model.json            fit a model
    dce shares model.json --scenarios scenarios.yaml     shares vs status quo

    \b
    Exit status:
      0    success
      2    bad input: one line names the file, column, row, key or
           option; nothing is written
      3    no reliable estimate (no convergence - for --model hb an
           R-hat above 1.1 -, no finite maximum, a fit that could not
           start): the outputs are still written, with converged: false
           and the reason
      130  interrupted (Ctrl-C): no file is left half-written
      143  terminated (SIGTERM, as a batch scheduler sends): workers
           stopped, nothing half-written
      1    an internal error (a defect: please report it; DCE_DEBUG=1
           shows the traceback)
    """


def main(argv=None):
    """Entry point of the console script: run the CLI; an unexpected failure is still one line
    (exit status 1) unless ``DCE_DEBUG`` is set."""
    try:
        cli.main(args=argv, prog_name="dce")
    except Exception as e:  # an unexpected failure: still one line, unless debugging
        if os.environ.get("DCE_DEBUG"):
            raise
        click.echo(f"error: internal error: {type(e).__name__}: {e} (set DCE_DEBUG=1 for details)", err=True)
        sys.exit(1)


def _failure(e):
    """Print the one line of a failure the user can cause and return its exit status; None for an
    unexpected exception (re-raised)."""
    from dce.cli.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED, cli_message, exit_status
    from dce.errors import DCEError

    if isinstance(e, SystemExit):
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if isinstance(e, Terminated) or isinstance(e.__cause__ or e.__context__, Terminated):   # click: Abort from it
        click.echo("terminated (SIGTERM): no file is left half-written", err=True)
        return EXIT_TERMINATED
    if isinstance(e, (click.exceptions.Abort, KeyboardInterrupt)):
        click.echo("interrupted: no file is left half-written", err=True)
        return EXIT_INTERRUPTED
    if isinstance(e, getattr(click.exceptions, "NoArgsIsHelpError", ())):   # `dce` alone: the help
        e.show()
        return e.exit_code
    if isinstance(e, click.exceptions.BadParameter) and not isinstance(e, click.exceptions.MissingParameter):
        click.echo(f"error: {_bad_parameter(e)}", err=True)
        return EXIT_INPUT
    if isinstance(e, click.exceptions.UsageError):
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        click.echo(f"error: {e.format_message().rstrip('.')}{hint}", err=True)
        return EXIT_INPUT
    if isinstance(e, click.ClickException):
        e.show()
        return e.exit_code
    if isinstance(e, DCEError):
        click.echo(f"error: {cli_message(e)}", err=True)
        return exit_status(e)
    if isinstance(e, MemoryError):
        detail = str(e).splitlines()[0] if str(e) else "out of memory"
        click.echo(f"error: not enough memory for this run ({detail}): ask for fewer draws, simulations, "
                   "starts or respondents", err=True)
        return EXIT_INPUT
    return None


def _bad_parameter(e) -> str:
    """``--draws: must be ...``: a bad option value named by its longest spelling."""
    p = e.param
    if p is None:
        return e.format_message()
    if isinstance(p, click.Option) and p.opts:
        name = max(p.opts, key=len)
    else:
        name = (p.human_readable_name or "").upper()
    return f"{name}: {e.message}"


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A library warning as one line: no file, no source line (numerical ones say what they mean)."""
    text = str(message).splitlines()[0] if str(message) else category.__name__
    if issubclass(category, RuntimeWarning):
        text = f"numerical problem ({text}); check the results"
    click.echo(f"warning: {text}", err=True)
