"""Helpers shared by the CLI commands: the console and guarded command bodies."""
from __future__ import annotations

import functools

from dce.report.console import console, warn  # noqa: F401  (re-exported for the commands)


def user_errors(fn):
    """Let DCEError escape as a click error so the test runner and the launcher show one line."""
    import click

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from dce.errors import DCEError

        try:
            return fn(*args, **kwargs)
        except DCEError as e:
            raise UserError(cli_message(e)) from None

    return wrapper


def cli_message(e) -> str:
    """A library error's message as the command line says it: arguments shown as their options."""
    from dce.errors import ArgumentError

    return e.for_cli() if isinstance(e, ArgumentError) else e.message


def _user_error_cls():
    import click

    class _UserError(click.ClickException):
        exit_code = 2

        def format_message(self):
            return self.message

        def show(self, file=None):
            click.echo(f"error: {self.message}", err=True)

    return _UserError


UserError = _user_error_cls()
