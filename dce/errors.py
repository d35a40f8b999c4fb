"""User-facing errors.

Every problem caused by the user's input (a file, a column, a model file, an option) is raised as a
:class:`DCEError` with one line that names the file, column, row or key.  The CLI prints that line and
exits with status 2; it never shows a traceback for a ``DCEError``.
"""


class DCEError(Exception):
    """An error in the user's input, reported as one clear line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


def where(file=None, column=None, row=None, key=None, task=None) -> str:
    """Compose the location prefix of an error message: ``file: column 'x', row 12:``."""
    parts = []
    if column is not None:
        parts.append(f"column '{column}'")
    if key is not None:
        parts.append(f"key '{key}'")
    if row is not None:
        parts.append(f"row {row}")
    if task is not None:
        parts.append(f"task {task}")
    head = f"{file}: " if file else ""
    return head + (", ".join(parts) + ": " if parts else "")
