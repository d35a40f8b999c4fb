"""Design CSV: columns ``block, task, alt, <attribute>...`` with one row per alternative shown.

``alt`` is 1..m for the designed alternatives and ``status_quo`` / ``opt_out`` for those rows; attribute
cells hold the level as written in the design YAML (empty for opt-out rows).  Rows are in the order a
respondent sees them.  The same layout is read back (for example a design made by Ngene and rewritten in
it) for ``dce design --evaluate``.
"""
from __future__ import annotations

import csv
import io
import os
from typing import TYPE_CHECKING

import numpy as np

from dce.design.core import Design
from dce.errors import DCEError, where
from dce.util.io import atomic_open

if TYPE_CHECKING:
    from dce.design.spec import DesignSpec


def write_design_csv(path, design: Design) -> None:
    """Write ``design`` atomically in the CSV layout above (nothing is left half-written on failure)."""
    cols = ["block", "task", "alt"] + design.spec.attribute_names
    with atomic_open(path, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for row in design.rows():
            w.writerow(row)


def read_design_csv(path, spec: DesignSpec) -> Design:
    """Read a design in the CSV layout above and check it against ``spec``.

    Parameters
    ----------
    path : str or path-like
        The design CSV (``block, task, alt, <attribute>...``).
    spec : DesignSpec
        The design file it was made for.

    Returns
    -------
    Design
        ``levels`` (S, m, A): the number of tasks S and the blocks are taken from the file (they may
        differ from the spec's); the m designed alternatives, the A attributes, their levels and the
        status quo / opt-out rows must match the spec.

    Raises
    ------
    dce.errors.DCEError
        Naming the file, row and column of anything that does not match.
    """
    path = os.fspath(path)
    header, rows = _read_rows(path, spec)
    pos = {h: i for i, h in enumerate(header)}
    tasks = {}            # task id -> dict(block, alts{j: idx}, sq, oo, first row)
    order = []
    for r, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DCEError(f"{where(path, row=r)}{len(row)} cells but the header has {len(header)}")
        cell = {h: row[pos[h]].strip() for h in header}
        try:
            task = int(cell["task"])
            block = int(cell["block"])
        except ValueError:
            raise DCEError(f"{where(path, row=r)}'block' and 'task' must be whole numbers") from None
        if task not in tasks:
            tasks[task] = {"block": block, "alts": {}, "sq": None, "oo": False, "row": r}
            order.append(task)
        t = tasks[task]
        if t["block"] != block:
            raise DCEError(f"{where(path, row=r, column='block')}task {task} is in block {t['block']} on an earlier row")
        _read_alternative(path, spec, r, cell, task, t)
    if not order:
        raise DCEError(f"{path}: the design has no rows")
    return _assemble(path, spec, tasks, order)


def _design_text(path) -> str:
    """The text of a design CSV: UTF-8 (a byte-order mark allowed); binary data or another encoding is one
    line naming the file, the row and the byte."""
    from dce.util.io import read_bytes

    raw = read_bytes(path, "design CSV")
    head = raw[:8192]
    if b"\x00" in raw or sum(b < 9 or 13 < b < 32 for b in head) > max(2, len(head) // 100):
        raise DCEError(f"{path}: is not a design CSV (it holds binary data, not text)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        at = "the header (line 1)" if line == 1 else f"row {line - 1} (line {line})"
        raise DCEError(f"{path}: {at} is not valid UTF-8 (byte 0x{raw[e.start]:02X}): save the design as UTF-8 "
                       "text") from None


def _read_rows(path, spec):
    """The header (stripped) and the data rows of the CSV; the header must name exactly the columns."""
    rows = list(csv.reader(io.StringIO(_design_text(path), newline="")))
    if not rows:
        raise DCEError(f"{path}: the design file is empty")
    header = [h.strip() for h in rows[0]]
    need = ["block", "task", "alt"] + spec.attribute_names
    for c in need:
        if c not in header:
            raise DCEError(f"{path}: column '{c}' is missing (expected columns: {', '.join(need)})")
    extra = [h for h in header if h not in need]
    if extra:
        raise DCEError(f"{path}: column '{extra[0]}' is not an attribute of {spec.source}")
    return header, rows[1:]


def _read_alternative(path, spec, r, cell, task, t):
    """File row ``r`` (its ``cell`` by column) into task ``t``: a designed alternative, status quo or opt-out."""
    m = spec.alternatives
    alt = cell["alt"]
    if alt == "opt_out":
        if spec.opt_out is None:
            raise DCEError(f"{where(path, row=r, column='alt')}an opt-out row but {spec.source} has no opt_out")
        if any(cell[a] for a in spec.attribute_names):
            raise DCEError(f"{where(path, row=r)}an opt-out row must leave the attribute cells empty")
        t["oo"] = True
        return
    idx = []
    for a in spec.attributes:
        i = a.index(cell[a.name])
        if i is None:
            raise DCEError(f"{where(path, row=r, column=a.name)}'{cell[a.name]}' is not a level "
                           f"(levels: {', '.join(a.labels)})")
        idx.append(i)
    if alt == "status_quo":
        if spec.status_quo is None:
            raise DCEError(f"{where(path, row=r, column='alt')}a status quo row but {spec.source} has no status_quo")
        if tuple(idx) != tuple(spec.status_quo.levels):
            raise DCEError(f"{where(path, row=r)}the status quo levels differ from those in {spec.source}")
        t["sq"] = idx
        return
    try:
        j = int(alt)
    except ValueError:
        raise DCEError(f"{where(path, row=r, column='alt')}'{alt}' is not 1..{m}, status_quo or opt_out") from None
    if not 1 <= j <= m:
        raise DCEError(f"{where(path, row=r, column='alt')}{j} is outside 1..{m} "
                       f"({spec.source} has {m} designed alternatives)")
    if j in t["alts"]:
        raise DCEError(f"{where(path, row=r, column='alt')}task {task} has alternative {j} twice")
    t["alts"][j] = idx


def _assemble(path, spec, tasks, order) -> Design:
    """The design of the tasks read, in file order; every task complete."""
    m = spec.alternatives
    levels, blocks = [], []
    for task in order:
        t = tasks[task]
        if len(t["alts"]) != m:
            raise DCEError(f"{where(path, row=t['row'])}task {task} has {len(t['alts'])} designed alternatives, "
                           f"expected {m}")
        if spec.status_quo is not None and t["sq"] is None:
            raise DCEError(f"{where(path, row=t['row'])}task {task} has no status_quo row")
        if spec.opt_out is not None and not t["oo"]:
            raise DCEError(f"{where(path, row=t['row'])}task {task} has no opt_out row")
        levels.append([t["alts"][j] for j in range(1, m + 1)])
        blocks.append(t["block"])
    return Design(spec=spec, levels=np.array(levels, dtype=np.int64), block=np.array(blocks),
                  task_ids=np.array(order))
