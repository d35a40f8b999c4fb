"""The :class:`Design` object: designed alternatives as level indices, blocks and task numbers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dce.design.spec import DesignSpec


@dataclass
class Design:
    """A choice design for a :class:`dce.design.spec.DesignSpec`.

    Tasks are stored in the order a respondent sees them.

    Attributes
    ----------
    spec : DesignSpec
        The design file.
    levels : numpy.ndarray
        (S, m, A) int64 level indices of the m designed alternatives of S tasks (the status quo and
        opt-out come from the spec and are shown after them).
    block : numpy.ndarray
        (S,) int64 block number (1..B) of each task.
    task_ids : numpy.ndarray
        (S,) int64 task numbers (default 1..S).
    seed : int or None
        The seed the design was made with.
    search : dict
        How the design was made (method, draws, starts, errors, passes, seconds).
    """

    spec: DesignSpec
    levels: np.ndarray
    block: np.ndarray
    task_ids: np.ndarray = None
    seed: int | None = None
    search: dict = field(default_factory=dict)

    def __post_init__(self):
        self.levels = np.asarray(self.levels, dtype=np.int64)
        if self.levels.ndim != 3:
            raise ValueError("levels must be tasks x alternatives x attributes")
        self.block = np.asarray(self.block, dtype=np.int64)
        if self.task_ids is None:
            self.task_ids = np.arange(1, self.n_tasks + 1)
        self.task_ids = np.asarray(self.task_ids, dtype=np.int64)

    @property
    def n_tasks(self) -> int:
        """S, the number of tasks."""
        return self.levels.shape[0]

    @property
    def n_alternatives(self) -> int:
        """m, the number of designed alternatives per task (without status quo or opt-out)."""
        return self.levels.shape[1]

    @property
    def n_blocks(self) -> int:
        """B, the number of blocks."""
        return int(len(np.unique(self.block)))

    def matrix(self) -> np.ndarray:
        """Coded design (S, J, P): the m designed alternatives, then status quo / opt-out (J = m + fixed
        alternatives), coded as ``spec.param_names``."""
        spec = self.spec
        S, m, _ = self.levels.shape
        fixed = spec.fixed_rows()
        X = np.zeros((S, m + fixed.shape[0], spec.n_params))
        X[:, :m, : spec.n_coded] = spec.code_indices(self.levels)
        if fixed.shape[0]:
            X[:, m:, :] = fixed[None]
        return X

    def rows(self) -> list[dict]:
        """The CSV rows in the order a respondent sees them: dicts with block, task, alt and each attribute."""
        spec = self.spec
        out = []
        for s in range(self.n_tasks):
            head = {"block": int(self.block[s]), "task": int(self.task_ids[s])}
            for j in range(self.n_alternatives):
                out.append({**head, "alt": str(j + 1), **spec.labels_of(self.levels[s, j])})
            if spec.status_quo is not None:
                out.append({**head, "alt": "status_quo", **spec.labels_of(spec.status_quo.levels)})
            if spec.opt_out is not None:
                out.append({**head, "alt": "opt_out", **{a: "" for a in spec.attribute_names}})
        return out
