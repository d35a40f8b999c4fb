"""What the command line makes of a library error: its exit status, and its message with each library
argument shown as the option that sets it (``draws`` -> ``--draws``, ``id_col`` -> ``--id``).

This module imports nothing from the CLI, so every command module can use it.
"""
from __future__ import annotations

from dce.errors import ArgumentError, UnreliableEstimate

# exit statuses of the command line (documented in `dce --help` and the README)
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_UNRELIABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143       # SIGTERM: 128 + 15, as a shell reports a process the signal ended

# library argument -> command-line option, where the two differ by more than '_' -> '-'
OPTION_NAMES = {"id_col": "--id", "alt": "--alt", "task": "--task", "random": "--random",
                "choice_col": "--choice", "draws": "--draws", "n_sim": "--sims", "n_draws": "--draws",
                "model_file": "--model-file", "se": "--se", "n_respondents": "--respondents",
                "answer_cols": "--answer-cols", "id_col_s": "--id-col"}

_ARGV = None      # the arguments of the running command, for the provenance of what it writes


def option_name(argument: str, options: dict | None = None) -> str:
    """The command-line option of a library argument (``id_col`` -> ``--id``)."""
    if options and argument in options:
        return options[argument]
    return OPTION_NAMES.get(argument, "--" + argument.replace("_", "-"))


def for_cli(e: ArgumentError, options: dict | None = None) -> str:
    """An :class:`ArgumentError`'s message with the argument shown as its command-line option."""
    return f"{option_name(e.argument, options)}: {e.detail}"


def cli_message(e) -> str:
    """A library error's message as the command line says it: arguments shown as their options."""
    return for_cli(e) if isinstance(e, ArgumentError) else e.message


def exit_status(e) -> int:
    """The exit status of a library error: 3 for no reliable estimate, 2 for bad input."""
    return EXIT_UNRELIABLE if isinstance(e, UnreliableEstimate) else EXIT_INPUT


def record_invocation(args) -> None:
    """Remember the arguments of the running command (the provenance of what it writes)."""
    global _ARGV
    _ARGV = None if args is None else list(args)


def invocation() -> str | None:
    """The running command line as a shell would take it (``dce fit data.csv ...``); None when the
    command was not started through the `dce` group (a subcommand called on its own)."""
    import shlex

    return None if _ARGV is None else shlex.join(["dce", *map(str, _ARGV)])
