"""The JSON inputs of `dce report`, read and checked before anything is drawn or written.

Each input is one file a `dce` command wrote: a model (``dce fit --output``), a design's diagnostics
(``dce design --json``), shares (``dce shares --output``), WTP (``dce wtp --output``), a survey
validation report (``dce fit --validation-output``) or a power analysis (``dce power --output``).  A
missing, unreadable or malformed file, or a model of another schema version, is one
:class:`~dce.errors.DCEError` naming the file and the key.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from dce.errors import DCEError
from dce.util.io import read_bytes

KINDS = ("model", "design", "shares", "wtp", "validation", "power")

# keys each kind must have: (key, the command that writes such a file)
_REQUIRED = {
    "design": (("tasks", "parameters", "level_balance"), "dce design --json"),
    "shares": (("scenarios",), "dce shares --output"),
    "wtp": (("wtp",), "dce wtp --output"),
    "validation": (("respondents_read", "respondents_used"), "dce fit --validation-output"),
    "power": (("sizes", "targets"), "dce power --output"),
}


@dataclass
class Input:
    """One input file: its kind, the path as given, its SHA-256 and size, and the parsed JSON."""

    kind: str
    path: str
    sha256: str
    size: int
    data: dict
    result: object = None     # a model's dce.models.results.ModelResult

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def read_input(path, kind) -> Input:
    """Read and check one input file of ``kind`` (one of :data:`KINDS`)."""
    path = os.fspath(path)
    raw = read_bytes(path, f"{kind} JSON file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DCEError(f"{path}: not a {kind} JSON file (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise DCEError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(data, dict):
        raise DCEError(f"{path}: not a {kind} JSON file (expected an object at the top level)")
    result = check(data, kind, path)
    return Input(kind, path, hashlib.sha256(raw).hexdigest(), len(raw), data, result)


def check(data: dict, kind: str, source: str):
    """Check the keys the report reads; return a model's result object (None for other kinds).

    A model is read as every command reads it (:meth:`ModelResult.from_dict`): a file of another schema
    version, or with a malformed key, is an error naming the file and the key.
    """
    if kind == "model":
        from dce.models.results import ModelResult

        return ModelResult.from_dict(data, source=source)
    keys, writer = _REQUIRED[kind]
    for k in keys:
        if k not in data:
            raise DCEError(f"{source}: key '{k}' is missing (not a file written by `{writer}`)")
    if kind == "shares":
        _check_rows(data, "scenarios", ("name", "share", "ci_low", "ci_high"), source)
    elif kind == "wtp":
        _check_rows(data, "wtp", ("name", "wtp"), source)
        if "importance" in data:
            _check_rows(data, "importance", ("attribute", "importance"), source, allow_empty=True)
    elif kind == "power":
        if not isinstance(data["sizes"], list) or not data["sizes"]:
            raise DCEError(f"{source}: key 'sizes' must be a non-empty list of sample sizes")
        _check_rows(data, "targets", ("name", "power"), source, allow_empty=True)
        for i, t in enumerate(data["targets"], 1):
            if not isinstance(t["power"], list) or len(t["power"]) != len(data["sizes"]):
                raise DCEError(f"{source}: key 'targets[{i}].power' must have one value per sample size")
    elif kind == "design":
        if not isinstance(data["level_balance"], dict):
            raise DCEError(f"{source}: key 'level_balance' must be a mapping of attribute to level counts")
    return None


def _check_rows(data, key, fields, source, allow_empty=False):
    rows = data[key]
    if not isinstance(rows, list) or (not rows and not allow_empty):
        raise DCEError(f"{source}: key '{key}' must be a non-empty list")
    for i, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            raise DCEError(f"{source}: key '{key}[{i}]' must be a mapping")
        for f in fields:
            if f not in r:
                raise DCEError(f"{source}: key '{key}[{i}].{f}' is missing")


def sha256_file(path) -> str | None:
    """SHA-256 of a file, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()
