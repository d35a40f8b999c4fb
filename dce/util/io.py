"""Atomic file output: write to a temporary file beside the target, then rename over it."""
from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import tempfile
from contextlib import contextmanager

from dce.errors import ArgumentError, DCEError


def check_writable(path) -> str:
    """Check before any work is done that ``path`` can be written: a file name (not empty, not a folder)
    in an existing folder where a file can be made (tried, not guessed: a read-only file system or a
    folder of another user fails here).  Returns the path; raises DCEError with one line otherwise."""
    path = os.fspath(path)
    if not path.strip():
        raise DCEError("an empty file name was given for an output")
    if path == "-":
        raise DCEError("'-': writing to standard output is not supported here; give a file name (./- for a file "
                       "named '-')")
    if os.path.isdir(path):
        raise DCEError(f"{path}: is a folder; give the name of the file to write")
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise DCEError(f"{path}: is a symbolic link that loops (it never reaches a file)") from None
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
    # a symbolic link is written through: its target is replaced, the link stays a link
    target = os.path.realpath(path) if os.path.islink(path) else path
    if target != path:
        check_writable(target)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        # the temporary name keeps the target's ending, shortened so that it stays a valid file name
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(target)[-100:], dir=folder)
    except OSError as e:
        raise DCEError(f"{path}: folder '{folder}' is not writable ({e.strerror or e})") from None
    try:
        # mkstemp makes the file private (0600); the output gets the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        kw = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename in (None, tmp, path, target):
            # writing or renaming failed (disk full, quota, the target became a folder ...)
            raise DCEError(f"{path}: could not be written ({e.strerror or e})") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_SPECIAL = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_regular(path, what="file") -> None:
    """Refuse a path that is not a regular file (a named pipe, a device, a socket): reading one may wait
    forever for a writer or never end.  A missing path or a folder is left to the caller's message."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = next((name for test, name in _SPECIAL if test(mode)), "not a regular file")
    raise DCEError(f"{path}: is {kind}, not a {what}; save it as a regular file and give that")


def read_bytes(path, what="file") -> bytes:
    """The bytes of a file; a missing, unreadable or folder path, or one that is not a regular file (a named
    pipe), is one line naming it and ``what`` it is."""
    path = os.fspath(path)
    check_regular(path, what)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DCEError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DCEError(f"{path}: is a folder, not a {what}") from None
    except OSError as e:
        raise DCEError(f"{path}: cannot be read ({e.strerror or e})") from None


_NUMBER_TYPES = frozenset((int, float, type(None)))


def _collect(obj, lists):
    """``obj`` with NaN and infinite floats as None (JSON null: a figure that is not available), and every
    non-empty list of numbers replaced by a placeholder string naming its index in ``lists``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _collect(v, lists) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if obj and _NUMBER_TYPES.issuperset(map(type, obj)):
            lists.append(list(obj))                 # NaN and infinities become null in _numbers
            return f"\x00{len(lists) - 1}\x00"
        if obj and all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in obj):
            # numbers of subclasses (numpy floats): as plain floats and ints
            lists.append([v if v is None else float(v) if isinstance(v, float) else int(v) for v in obj])
            return f"\x00{len(lists) - 1}\x00"
        items = [_collect(v, lists) for v in obj]
        if items and all(isinstance(v, str) and v.startswith("\x00") and isinstance(lists[int(v[1:-1])], list)
                         for v in items):
            # a matrix: one placeholder for all its rows (each row one line), so that the (pure Python)
            # indenting encoder sees one string instead of thousands
            lists.append(tuple(lists[int(v[1:-1])] for v in items))
            return f"\x00{len(lists) - 1}\x00"
        return items
    if isinstance(obj, str) and "\x00" in obj:
        raise ValueError("strings in JSON output may not contain NUL characters")
    return obj


def _numbers(item, indent):
    """A list of numbers on one line, or a matrix (a tuple of such lists) one row a line, indented as
    ``json.dumps(indent=2)`` would from a line indented by ``indent``; NaN and infinities as null."""
    if isinstance(item, list):
        text = json.dumps(item)
    else:
        inner = indent + "  "
        text = "[\n" + inner + json.dumps(list(item))[1:-1].replace("], [", "],\n" + inner + "[") + "\n" + indent + "]"
    if "NaN" in text or "Infinity" in text:         # the only letters N and I a list of numbers can hold
        text = _NON_FINITE.sub("null", text)
    return text


_NON_FINITE = re.compile(r"-?Infinity|NaN")


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically: NaN and infinities as null, and lists of numbers on one
    line (a matrix one row a line; long vectors of draws stay compact)."""
    lists = []
    text = json.dumps(_collect(obj, lists), indent=2, allow_nan=False)
    text = re.sub(r'(?m)^( *)(.*)"\\u0000(\d+)\\u0000"',
                  lambda m: m.group(1) + m.group(2) + _numbers(lists[int(m.group(3))], m.group(1)), text)
    with atomic_open(path) as fh:
        fh.write(text)
        fh.write("\n")


def write_text(path, text):
    with atomic_open(path) as fh:
        fh.write(text)


def parse_pairs(text, argument, example):
    """``"a=b, c=d"`` -> {"a": "b", "c": "d"}; an item without '=' is an :class:`ArgumentError` naming the
    argument, with an example."""
    out = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        k, sep, v = (s.strip() for s in item.partition("="))
        if not sep or not k or not v:
            raise ArgumentError(argument, f"'{item}' is not of the form {example}")
        out[k] = v
    return out
