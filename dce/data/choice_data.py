"""The one internal representation of choice data that every model reads.

A :class:`ChoiceData` holds ``n_tasks`` choice tasks, each with up to ``n_alts`` alternative slots:

* ``X`` (tasks x alternatives x variables, float64): the design, one column per model parameter; the
  utility of alternative ``j`` in task ``t`` is ``X[t, j] @ beta (+ offset[t, j])``.  Rows of
  unavailable alternatives are zero.
* ``avail`` (tasks x alternatives, bool): which alternatives the respondent could choose.
* ``chosen`` (tasks, int): the index of the chosen alternative slot.
* ``resp`` (tasks, object or int) or ``None``: the respondent of each task, for panels and clustering.
* ``task_rows`` (tasks, int) or ``None``: the row (0-based position) of each task in the table it was
  read from (its first row in long data), for reading respondent covariates (latent class membership).

Builders in :mod:`dce.data.build` (formulas on long or wide data) and :mod:`dce.data.modelfile`
(utilities per alternative) produce it; nothing downstream looks at the original table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dce.errors import where
from dce.util.numbers import SCALE_LIMIT


@dataclass
class ChoiceData:
    """T choice tasks of up to J alternatives described by K variables.

    Attributes
    ----------
    X : numpy.ndarray
        (T, J, K) float64: the variables of each alternative (zero rows for unavailable ones).
    avail : numpy.ndarray
        (T, J) bool: the alternatives the respondent could choose.
    chosen : numpy.ndarray
        (T,) int: the slot of the chosen alternative.
    names : list of str
        K variable (coefficient) names.
    alt_labels : list
        J labels of the alternative slots.
    task_ids : numpy.ndarray, optional
        (T,) the task identifiers of the source table (default 1..T).
    resp : numpy.ndarray, optional
        (T,) the respondent of each task (None: every task its own respondent).
    offset : numpy.ndarray, optional
        (T, J) a fixed part of each utility (None when all zero).
    spec : dict
        How the variables were coded (JSON-ready), kept with fitted models to code new alternatives.
    source : str
        What messages call the data (its file).
    task_rows : numpy.ndarray, optional
        (T,) int: the row (0-based position) of each task in the table it was read from (its first row
        in long data), for reading respondent covariates.
    """

    X: np.ndarray
    avail: np.ndarray
    chosen: np.ndarray
    names: list
    alt_labels: list
    task_ids: np.ndarray | None = None
    resp: np.ndarray | None = None
    offset: np.ndarray | None = None
    spec: dict = field(default_factory=dict)
    source: str = ""
    task_rows: np.ndarray | None = None

    def __post_init__(self):
        self.X = np.ascontiguousarray(self.X, dtype=np.float64)
        self.avail = np.ascontiguousarray(self.avail, dtype=bool)
        self.chosen = np.ascontiguousarray(self.chosen, dtype=np.intp)
        if self.X.ndim != 3:
            raise ValueError("X must be tasks x alternatives x variables")
        T, J, K = self.X.shape
        if self.avail.shape != (T, J):
            raise ValueError("avail must be tasks x alternatives")
        if self.chosen.shape != (T,):
            raise ValueError("chosen must have one entry per task")
        if len(self.names) != K:
            raise ValueError("one name per variable")
        if self.offset is not None:
            self.offset = np.ascontiguousarray(self.offset, dtype=np.float64)
            if not np.any(self.offset):
                self.offset = None
        if self.task_ids is None:
            self.task_ids = np.arange(1, T + 1)
        self._panel = None

    # ------------------------------------------------------------------ sizes
    @property
    def n_tasks(self) -> int:
        return self.X.shape[0]

    @property
    def n_alts(self) -> int:
        return self.X.shape[1]

    @property
    def n_vars(self) -> int:
        return self.X.shape[2]

    @property
    def n_respondents(self) -> int:
        """Number of respondents R (the number of tasks without respondent ids)."""
        if self.resp is None:
            return self.n_tasks
        return int(self.panel()[1])

    # ------------------------------------------------------------------ panels
    def panel(self) -> tuple[np.ndarray, int]:
        """Integer respondent codes (0..R-1, in order of first appearance) and R.

        Without respondent ids every task is its own respondent.
        """
        if self._panel is None:
            if self.resp is None:
                codes = np.arange(self.n_tasks)
                self._panel = (codes, self.n_tasks)
            else:
                import pandas as pd

                codes, uniques = pd.factorize(np.asarray(self.resp), sort=False)
                self._panel = (codes.astype(np.intp), len(uniques))
        return self._panel

    def panel_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """Tasks grouped by respondent: ``order`` (T,), the task indices sorted by respondent (stable), and
        ``starts`` (R + 1,), so that respondent ``r``'s tasks are ``order[starts[r]:starts[r + 1]]``."""
        codes, R = self.panel()
        order = np.argsort(codes, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=R))]).astype(np.int64)
        return order, starts

    def scale_problem(self) -> str | None:
        """One line naming the variables whose values are too large (or too small) in magnitude to estimate
        with and saying how to rescale them; None when every variable is fine.

        Finite but extreme values (near 1e308, or 1e-200) make the likelihood's derivatives overflow or
        underflow; rescaling a variable only rescales its coefficient, so the user can always fix it.
        """
        def check(values, label):
            a = np.abs(values[np.isfinite(values)]) if values.size else values
            m = float(a.max()) if a.size else 0.0
            if m > SCALE_LIMIT:
                e = int(math.floor(math.log10(m)))
                return f"{label} has values as large as {m:.3g}: too large to estimate with; rescale it " \
                       f"(divide it by 1e{e}, for example)"
            if 0 < m < 1 / SCALE_LIMIT:
                e = -int(math.floor(math.log10(m)))
                return f"{label} has values no larger than {m:.3g}: too small to estimate with; rescale it " \
                       f"(multiply it by 1e{e}, for example)"
            return None

        found = [msg for k, name in enumerate(self.names) if (msg := check(self.X[..., k], f"variable '{name}'"))]
        if self.offset is not None:
            msg = check(self.offset, "the fixed part of the utilities (offset)")
            found += [msg] if msg else []
        if not found:
            return None
        more = f" (and {len(found) - 1} more variable{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        return f"{where(self.source)}{found[0]}{more}"

    def null_loglik(self) -> float:
        """Log-likelihood of equal shares among the available alternatives of each task."""
        return float(-np.log(self.avail.sum(axis=1)).sum())
