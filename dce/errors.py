"""User-facing errors.

Every problem caused by the user's input (a file, a column, a model file, an option) is raised as a
:class:`DCEError` with one line that names the file, column, row or key.  The CLI prints that line and
exits with status 2 (3 for an :class:`UnreliableEstimate`, see :mod:`dce.cli.errors`); it never shows a
traceback for a ``DCEError``.
"""


class DCEError(Exception):
    """An error in the user's input, reported as one clear line."""

    def __init__(self, message: str):
        message = _bounded(one_line(message))
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


#: the longest message: beyond it the middle is cut (a message quoting a user's 15,000-character input)
MAX_MESSAGE = 1000


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:700]} ... [{len(text) - 950:,} characters cut] ... {text[-250:]}"


class ArgumentError(DCEError):
    """A bad argument of a library function or command, named as the library calls it (``draws``,
    ``id_col``); the CLI shows the option (``--draws``, ``--id``) through
    :func:`dce.cli.errors.option_name`."""

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")
        self.detail = one_line(message)

    def __reduce__(self):   # raised in a worker process, re-raised here: keep both parts
        return (type(self), (self.argument, self.detail))


class UnreliableEstimate(DCEError):
    """The run finished and wrote what it was asked to, but its figures rest on no reliable estimate (a fit
    that did not converge, has no finite maximum or could not start): exit status 3, so that a pipeline
    stops there.  The message says why."""


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


#: the most characters of a user's input (a formula, a constraint, a literal) a message quotes
CLIP = 80


def clip(text, at: int | None = None, limit: int = CLIP) -> str:
    """User input as a message quotes it: whole when short, else its start and, when ``at`` (a 0-based
    position of the problem) lies beyond the start, the text around it, with the length:
    ``x1 + x2 + ... (15,000 characters)``.  A message never echoes a 15,000-character formula."""
    text = str(text)
    if len(text) <= limit:
        return text
    if at is None or at < limit - 20:
        return f"{text[:limit - 3]}... ({len(text):,} characters)"
    lo = max(0, at - 25)
    return f"{text[:30]} ... {text[lo:at + 25]} ... (character {at + 1:,} of {len(text):,})"
