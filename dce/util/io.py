"""Atomic file output: write to a temporary file beside the target, then rename over it."""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager

from dce.errors import DCEError


@contextmanager
def atomic_open(path, mode="w", encoding="utf-8", newline=None):
    """Open a temporary file in the target's folder; it replaces ``path`` only if the block succeeds."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DCEError(f"{path}: folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=folder)
    try:
        # mkstemp makes the file private (0600); the output gets the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        kw = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
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


# a JSON list of numbers (and nulls) as ``json.dumps(indent=2)`` writes it: one item per line
_NUMBER_LIST = re.compile(r"\[\n\s*((?:-?[0-9][0-9.eE+-]*|null)(?:,\n\s*(?:-?[0-9][0-9.eE+-]*|null))*)\n\s*\]")


def _finite(obj):
    """``obj`` with NaN and infinite floats as None (JSON null: a figure that is not available)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path, obj):
    """Write ``obj`` as indented JSON (NaN and infinities as null, lists of numbers on one line, so that
    matrices read one row a line), atomically."""
    text = json.dumps(_finite(obj), indent=2, allow_nan=False)
    text = _NUMBER_LIST.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)
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
