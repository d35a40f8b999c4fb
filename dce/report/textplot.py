"""Compact plots in plain text for the terminal (power curves), as lines of characters."""
from __future__ import annotations

import string

MARKS = string.ascii_lowercase + string.ascii_uppercase + string.digits


def curves(xs, series, labels, width=48, height=11, guides=(0.8,), y_label="power", x_label="respondents"):
    """Curves of values in [0, 1] against increasing ``xs``, one mark per series (``a``, ``b``, ...).

    Parameters
    ----------
    xs : sequence of float, shape (N,)
        The x values (sample sizes), increasing.
    series : sequence of sequence of float, each (N,)
        One curve per series; None values are skipped.
    labels : sequence of str
        The names of the series, listed in the legend under the plot.
    guides : sequence of float
        Levels drawn as a dotted line (80% power).

    Returns
    -------
    list of str
        The lines of the plot: ``height`` rows from 100% down to 0%, the x axis, and the legend.
        Where two series share a cell the cell shows ``*``.
    """
    xs = [float(x) for x in xs]
    lo, hi = xs[0], xs[-1]
    span = hi - lo if hi > lo else 1.0
    grid = [[" "] * width for _ in range(height)]
    for g in guides:
        r = _row(g, height)
        grid[r] = ["." if c == " " else c for c in grid[r]]
    for k, ys in enumerate(series):
        mark = MARKS[k % len(MARKS)]
        for col in range(width):
            x = lo + span * col / max(width - 1, 1)
            y = _interpolate(xs, ys, x)
            if y is None:
                continue
            r = _row(y, height)
            cell = grid[r][col]
            grid[r][col] = mark if cell in (" ", ".", mark) else "*"
    lines = []
    for r in range(height):
        level = 1 - r / (height - 1)
        lines.append(f"{100 * level:4.0f}% |" + "".join(grid[r]))
    lines.append("      +" + "-" * width)
    axis = [" "] * width
    for x in xs:
        text = f"{x:g}"
        col = int(round((x - lo) / span * (width - 1)))
        start = min(max(col - len(text) // 2, 0), width - len(text))
        if all(c == " " for c in axis[max(start - 1, 0):start + len(text) + 1]):
            axis[start:start + len(text)] = list(text)
    lines.append("       " + "".join(axis) + f"  {x_label}")
    lines.append(f"{y_label} by {x_label}; dotted: " + ", ".join(f"{100 * g:.0f}%" for g in guides)
                 + "; * : curves overlap")
    for k, name in enumerate(labels):
        lines.append(f"  {MARKS[k % len(MARKS)]}  {name}")
    return lines


def _row(y, height):
    y = min(max(float(y), 0.0), 1.0)
    return int(round((1 - y) * (height - 1)))


def _interpolate(xs, ys, x):
    pts = [(a, b) for a, b in zip(xs, ys) if b is not None]
    if not pts:
        return None
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return pts[-1][1]
