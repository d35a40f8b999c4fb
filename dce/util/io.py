"""Atomic file output: write to a temporary file beside the target, then rename over it."""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager

from dce.errors import DCEError


def check_writable(path) -> str:
    """Check before any work is done that ``path`` can be written: a file name (not empty, not a folder)
    in an existing folder where a file can be made (tried, not guessed: a read-only file system or a
    folder of another user fails here).  Returns the path; raises DCEError with one line otherwise."""
    path = os.fspath(path)
    if not path.strip():
        raise DCEError("an empty file name was given for an output")
    if os.path.isdir(path):
        raise DCEError(f"{path}: is a folder; give the name of the file to write")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DCEError(f"{path}: '{folder}' is a file, not a folder")
    if not os.path.isdir(folder):
        raise DCEError(f"{path}: folder '{folder}' does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise DCEError(f"{path}: folder '{folder}' is not writable ({e.strerror or e})") from None
    return path


@contextmanager
def atomic_open(path, mode="w", encoding="utf-8", newline=None):
    """Open a temporary file in the target's folder; it replaces ``path`` only if the block succeeds.

    Nothing is left behind when the block fails or is interrupted; a destination that cannot be
    written (a folder, a missing or read-only folder, a full disk) is one DCEError naming the path."""
    path = check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        # the temporary name keeps the target's ending, shortened so that it stays a valid file name
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path)[-100:], dir=folder)
    except OSError as e:
        raise DCEError(f"{path}: folder '{folder}' is not writable ({e.strerror or e})") from None
    try:
        # mkstemp makes the file private (0600); the output gets the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        kw = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename in (None, tmp, path):
            # writing or renaming failed (disk full, quota, the target became a folder ...)
            raise DCEError(f"{path}: could not be written ({e.strerror or e})") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_bytes(path, what="file") -> bytes:
    """The bytes of a file; a missing, unreadable or folder path is one line naming it and ``what`` it is."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DCEError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DCEError(f"{path}: is a folder, not a {what}") from None
    except OSError as e:
        raise DCEError(f"{path}: cannot be read ({e.strerror or e})") from None


def _collect(obj, lists):
    """``obj`` with NaN and infinite floats as None (JSON null: a figure that is not available), and every
    non-empty list of numbers replaced by a placeholder string naming its index in ``lists``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _collect(v, lists) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if obj and all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in obj):
            lists.append([v if not isinstance(v, float) or math.isfinite(v) else None for v in obj])
            return f"\x00{len(lists) - 1}\x00"
        return [_collect(v, lists) for v in obj]
    if isinstance(obj, str) and "\x00" in obj:
        raise ValueError("strings in JSON output may not contain NUL characters")
    return obj


def _number_list(values):
    """A list of numbers (or None) as JSON on one line, as ``json.dumps`` writes it."""
    return "[" + ", ".join("null" if v is None else float.__repr__(v) if isinstance(v, float) else int.__repr__(v)
                           for v in values) + "]"


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically: NaN and infinities as null, and lists of numbers on one
    line (a matrix one row a line; long vectors of draws stay compact)."""
    lists = []
    text = json.dumps(_collect(obj, lists), indent=2, allow_nan=False)
    text = re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: _number_list(lists[int(m.group(1))]), text)
    with atomic_open(path) as fh:
        fh.write(text)
        fh.write("\n")


def write_text(path, text):
    with atomic_open(path) as fh:
        fh.write(text)


def parse_pairs(text, option, example):
    """``"a=b, c=d"`` -> {"a": "b", "c": "d"}; an item without '=' names the option and an example."""
    out = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        k, sep, v = (s.strip() for s in item.partition("="))
        if not sep or not k or not v:
            raise DCEError(f"{option}: '{item}' is not of the form {example}")
        out[k] = v
    return out
