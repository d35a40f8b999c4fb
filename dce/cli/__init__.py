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
    "fit": ("dce.cli.fit", "fit", "Estimate a conditional or mixed logit from choice data."),
    "design": ("dce.cli.design", "design", "Make or evaluate an efficient choice-set design."),
    "shares": ("dce.cli.shares", "shares", "Predicted shares preferring scenarios over a reference."),
    "wtp": ("dce.cli.wtp", "wtp", "Willingness to pay and attribute importance."),
    "simulate": ("dce.cli.simulate", "simulate", "Simulate survey responses from a known truth."),
    "power": ("dce.cli.power", "power", "Sample size by simulation: power per target and number of respondents."),
    "report": ("dce.cli.report", "report", "A self-contained HTML report of a study, with figures."),
}

_ARGV = None      # the arguments of the running command, for the provenance of what it writes


def invocation() -> str | None:
    """The running command line as a shell would take it (``dce fit data.csv ...``); None when the
    command was not started through the `dce` group (a subcommand called on its own)."""
    import shlex

    return None if _ARGV is None else shlex.join(["dce", *map(str, _ARGV)])


class LazyGroup(click.Group):
    def main(self, args=None, *rest, **kwargs):
        """Run a command, remembering its arguments for the provenance of what it writes."""
        global _ARGV
        _ARGV = list(args) if args is not None else sys.argv[1:]
        try:
            return super().main(args, *rest, **kwargs)
        finally:
            _ARGV = None

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


def _available(module):
    """Whether a command's module exists, checked without importing it."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dce")
def cli():
    """dce: discrete choice experiments, from design to policy answer.

    \b
    dce design designs/newdeal.yaml --output design.csv     make a design
    dce fit data.csv --formula "choice ~ price + C(brand)" --alt alt --task task
    dce shares model.json --scenarios scenarios.yaml         shares against the status quo
    """


def main(argv=None):
    """Entry point of the console script: run the CLI, turning errors into one clear line."""
    from dce.errors import DCEError

    try:
        cli.main(args=argv, prog_name="dce", standalone_mode=False)
    except DCEError as e:
        from dce.cli.common import cli_message

        click.echo(f"error: {cli_message(e)}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # an unexpected failure: still one line, unless debugging
        if os.environ.get("DCE_DEBUG"):
            raise
        click.echo(f"error: internal error: {type(e).__name__}: {e} (set DCE_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(0)
