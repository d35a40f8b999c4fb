"""Questionnaire (Markdown): each block's tasks as a respondent sees them, one table per task."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dce.design.core import Design


def _letter(j):
    return chr(ord("A") + j) if j < 26 else str(j + 1)


def _cell(attr, label):
    if attr.unit and label != "":
        unit = attr.unit
        return f"{label}{unit}" if unit.startswith("%") else f"{label} {unit}"
    return label


def render_questionnaire(design: Design, title: str | None = None) -> str:
    """Markdown text: one section per block, one table per task (attributes as rows, options as columns).

    ``title`` defaults to the design's name.
    """
    spec = design.spec
    lines = [f"# {title or spec.name}: choice tasks", ""]
    if spec.description:
        lines += [spec.description, ""]
    per = {int(b): int((design.block == b).sum()) for b in np.unique(design.block)}
    lines += [f"{design.n_tasks} tasks in {len(per)} block{'s' if len(per) != 1 else ''}; each respondent "
              f"answers one block.", ""]
    for b in sorted(per):
        lines += [f"## Block {b}", ""]
        seq = 0
        for s in np.flatnonzero(design.block == b):
            seq += 1
            heads = [f"Option {_letter(j)}" for j in range(design.n_alternatives)]
            cols = [spec.labels_of(design.levels[s, j]) for j in range(design.n_alternatives)]
            if spec.status_quo is not None:
                heads.append(spec.status_quo.label[:1].upper() + spec.status_quo.label[1:])
                cols.append(spec.labels_of(spec.status_quo.levels))
            if spec.opt_out is not None:
                heads.append(spec.opt_out.label[:1].upper() + spec.opt_out.label[1:])
                cols.append({a: "" for a in spec.attribute_names})
            lines += [f"### Question {seq} of {per[b]} (task {int(design.task_ids[s])})", "",
                      "Which would you choose?", ""]
            lines.append("| | " + " | ".join(heads) + " |")
            lines.append("|---|" + "|".join(":---:" for _ in heads) + "|")
            for a in spec.attributes:
                name = a.label or a.name
                lines.append(f"| **{name}** | " + " | ".join(_cell(a, c[a.name]) for c in cols) + " |")
            lines.append("| | " + " | ".join("( )" for _ in heads) + " |")
            lines.append("")
    return "\n".join(lines)
