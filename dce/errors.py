"""User-facing errors.

Every problem caused by the user's input (a file, a column, a model file, an option) is raised as a
:class:`DCEError` with one line that names the file, column, row or key.  The CLI prints that line and
exits with status 2; it never shows a traceback for a ``DCEError``.
"""


class DCEError(Exception):
    """An error in the user's input, reported as one clear line."""

    exit_code = 2

    def __init__(self, message: str):
        message = one_line(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and other control characters (quoted from a user's file, a value
    holding a newline) are shown escaped, as ``\\n``."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class ArgumentError(DCEError):
    """A bad argument of a library function or command, named as the library calls it (``draws``,
    ``id_col``); the CLI shows the option (``--draws``, ``--id``) through :func:`option_name`."""

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")
        self.detail = one_line(message)

    def __reduce__(self):   # raised in a worker process, re-raised here: keep both parts
        return (type(self), (self.argument, self.detail))

    def for_cli(self, options: dict | None = None) -> str:
        """The message with the argument shown as its command-line option."""
        return f"{option_name(self.argument, options)}: {self.detail}"


# library argument -> command-line option, where the two differ by more than '_' -> '-'
OPTION_NAMES = {"id_col": "--id", "alt": "--alt", "task": "--task", "random": "--random",
                "choice_col": "--choice", "draws": "--draws", "n_sim": "--sims", "n_draws": "--draws",
                "model_file": "--model-file", "se": "--se", "n_respondents": "--respondents",
                "answer_cols": "--answer-cols", "id_col_s": "--id-col"}


def option_name(argument: str, options: dict | None = None) -> str:
    """The command-line option of a library argument (``id_col`` -> ``--id``)."""
    if options and argument in options:
        return options[argument]
    return OPTION_NAMES.get(argument, "--" + argument.replace("_", "-"))


class UnreliableEstimate(DCEError):
    """The run finished and wrote what it was asked to, but its figures rest on no reliable estimate (a fit
    that did not converge, has no finite maximum or could not start): exit status 3, so that a pipeline
    stops there.  The message says why."""

    exit_code = 3


# exit statuses of the command line (documented in `dce --help` and the README)
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_UNRELIABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class NotFittedError(DCEError):
    """A model asked to predict or describe before :meth:`fit`."""


def where(file=None, **place) -> str:
    """The location prefix of an error message, parts in the order given: ``where("a.csv", column="x",
    row=12)`` -> ``a.csv: column 'x', row 12: ``.  Parts: ``column``, ``key`` (quoted), ``row``, ``task``,
    ``line``, ``respondent``; None parts are left out."""
    parts = []
    for kind, value in place.items():
        if value is None:
            continue
        parts.append(f"{kind} '{value}'" if kind in ("column", "key") else f"{kind} {value}")
    head = f"{file}: " if file else ""
    return head + (", ".join(parts) + ": " if parts else "")


def missing_value(file, column, row) -> DCEError:
    """The one message for a missing value: ``a.csv: column 'x' has a missing value in row 12``."""
    return DCEError(f"{where(file)}column '{column}' has a missing value in row {row}")
