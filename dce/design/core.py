"""The :class:`Design` object: designed alternatives as level indices, blocks and task numbers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Design:
    """A choice design for a :class:`dce.design.spec.DesignSpec`.

    ``levels``: int array ``tasks x alternatives x attributes`` of level indices of the designed
    alternatives (the status quo and opt-out come from the spec and are shown after them);
    ``block``: block number (1..B) of each task; ``task_ids``: task numbers (1..tasks); tasks are stored in
    the order a respondent sees them.  ``seed`` and ``search`` record how the design was made.
    """

    spec: object
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
        return self.levels.shape[0]

    @property
    def n_alternatives(self) -> int:
        return self.levels.shape[1]

    @property
    def n_blocks(self) -> int:
        return int(len(np.unique(self.block)))

    def matrix(self) -> np.ndarray:
        """Coded design ``tasks x rows x params``: the designed alternatives, then status quo / opt-out."""
        spec = self.spec
        S, m, _ = self.levels.shape
        fixed = spec.fixed_rows()
        X = np.zeros((S, m + fixed.shape[0], spec.n_params))
        X[:, :m, : spec.n_coded] = spec.code_indices(self.levels)
        if fixed.shape[0]:
            X[:, m:, :] = fixed[None]
        return X

    def rows(self):
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
