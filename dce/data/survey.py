"""Survey exports (one row per respondent) + a design -> :class:`ChoiceData`, with a validation report.

A survey export has an id column, a block column and one answer column per task of the block, in the
order of ``design.csv``.  An answer is the alternative's position in the task as listed in the design
(1, 2, ..., the status quo and opt-out last), or its label (``1``, ``A``, ``status_quo``, the status
quo's label); ``codes`` maps other codes.  The utility is every attribute coded as the design file
says plus a constant for the status quo / opt-out; ``interactions`` adds coefficient x respondent
covariate terms (``asc_status_quo:language``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.data.coding import design_coding
from dce.data.readers import is_text_column, numeric_column
from dce.errors import ArgumentError, DCEError, missing_value, where
from dce.util.io import parse_pairs

if TYPE_CHECKING:
    import pandas as pd

    from dce.design.core import Design


@dataclass
class Problem:
    """One problem found in a survey export: its kind, the respondent, the answer column and what was done."""

    kind: str
    respondent: object
    column: str
    detail: str


@dataclass
class ValidationReport:
    """Counts of a survey export read into choice data, its problems and quality checks (numbers and names:
    :func:`dce.report.tables.validation_table` and :func:`~dce.report.tables.print_validation` show it)."""

    respondents_read: int = 0
    respondents_used: int = 0
    tasks_read: int = 0
    tasks_used: int = 0
    missing_answers: int = 0
    problems: list = field(default_factory=list)
    always_status_quo: list = field(default_factory=list)
    always_opt_out: list = field(default_factory=list)
    always_same_position: list = field(default_factory=list)     # the same designed alternative (1, 2, ...)

    def to_dict(self) -> dict:
        """The report as JSON-ready values (``dce fit --validation-output``)."""
        return {"respondents_read": self.respondents_read, "respondents_used": self.respondents_used,
                "tasks_read": self.tasks_read, "tasks_used": self.tasks_used,
                "missing_answers": self.missing_answers,
                "always_status_quo": [_py(r) for r in self.always_status_quo],
                "always_opt_out": [_py(r) for r in self.always_opt_out],
                "always_same_position": [_py(r) for r in self.always_same_position],
                "problems": [p.__dict__ | {"respondent": _py(p.respondent)} for p in self.problems]}


def _py(v):
    return v.item() if hasattr(v, "item") else v


def strip_qualtrics(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the two extra header rows of a Qualtrics export (question texts, ImportId JSON) and re-type."""
    import pandas as pd

    if len(df) < 2:
        return df
    head = [str(v) for v in df.iloc[1].tolist()] + [str(v) for v in df.iloc[0].tolist()]
    if not any(v.startswith('{"ImportId"') or v.startswith("{'ImportId'") for v in head):
        return df
    out = df.iloc[2:].reset_index(drop=True)
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            conv = pd.to_numeric(out[c], errors="coerce")
            if conv.notna().sum() == out[c].notna().sum():
                out[c] = conv
    out.attrs = dict(df.attrs, qualtrics=True)
    return out


def parse_codes(text: str, argument: str = "codes") -> dict[str, str]:
    """``"1=A,2=B,3=status_quo"`` -> {"1": "A", "2": "B", "3": "status_quo"}."""
    return parse_pairs(text, argument, "CODE=ALTERNATIVE (for example 3=status_quo)")


def answer_columns(df: pd.DataFrame, pattern: str | None, n_max: int, source: str) -> list[str]:
    """The answer columns of task positions 1..``n_max``.

    ``pattern`` is a pattern with ``{k}`` (default ``q{k}``) or a comma-separated list of at least
    ``n_max`` columns; names match regardless of case.  A column not in ``df`` is a
    :class:`~dce.errors.DCEError` naming ``source``.
    """
    if pattern is None:
        pattern = "q{k}"
    if "{" in pattern or "}" in pattern:
        # {k} is the one placeholder, replaced as text: the pattern is never formatted ({0}, {k.__class__})
        if "{" in pattern.replace("{k}", "") or "}" in pattern.replace("{k}", ""):
            from dce.errors import clip

            raise ArgumentError("answer_cols", f"'{clip(pattern)}': only {{k}} (the task number) may stand in "
                                               "braces, e.g. q{k} or Q{k}_choice")
        cols = [pattern.replace("{k}", str(k)) for k in range(1, n_max + 1)]
    else:
        cols = [c.strip() for c in pattern.split(",") if c.strip()]
        if len(cols) < n_max:
            raise ArgumentError("answer_cols", f"{len(cols)} columns given, but a block has {n_max} tasks")
    lower = {str(c).lower(): c for c in df.columns}
    resolved = []
    for c in cols:
        if c in df.columns:
            resolved.append(c)
        elif c.lower() in lower:
            resolved.append(lower[c.lower()])
        else:
            raise DCEError(f"{source}: answer column '{c}' is not in the file (columns: "
                           f"{', '.join(map(str, list(df.columns)[:12]))}{'...' if len(df.columns) > 12 else ''})")
    return resolved


def _alternative_labels(spec, m):
    """For each position (0-based) the labels that name it."""
    labels = []
    for j in range(m):
        labels.append({str(j + 1), chr(ord("A") + j), chr(ord("a") + j), f"alt{j + 1}", f"alternative {j + 1}"})
    if spec.status_quo is not None:
        labels.append({"status_quo", "status quo", "sq", str(spec.status_quo.label).lower()})
    if spec.opt_out is not None:
        labels.append({"opt_out", "opt-out", "opt out", "none", "neither", str(spec.opt_out.label).lower()})
    for j in range(m, len(labels)):  # the status quo and opt-out also answer to their position
        labels[j] |= {str(j + 1)}
    return labels


def choice_data_from_survey(df: pd.DataFrame, design: Design, *, source: str = "responses", id_col: str = "id",
                            block_col: str = "block", answer_cols: str | None = None, codes: dict | None = None,
                            missing: str = "drop", interactions: list | None = None,
                            design_source: str = "design.csv",
                            spec_text: str | None = None) -> tuple[ChoiceData, ValidationReport]:
    """Choice data and a validation report from a survey export and its design.

    Parameters
    ----------
    df : pandas.DataFrame
        The export: one row per respondent (N), an id column, a block column and one answer column per
        task of the block, in the order of the design.
    design : dce.design.core.Design
        The design the respondents answered: S tasks of m designed alternatives (+ status quo / opt-out).
    source, design_source : str
        What messages call the export and the design.
    id_col, block_col : str
        The respondent id and block columns.
    answer_cols : str, optional
        The answer columns (see :func:`answer_columns`; default ``q{k}``).
    codes : dict, optional
        Answer code -> alternative label (``{"3": "status_quo"}``, see :func:`parse_codes`).
    missing : {"drop", "error"}
        What a missing answer does: the task is dropped (and reported) or it is an error.
    interactions : list of (str, str), optional
        ``(coefficient, covariate column)`` pairs (see :func:`parse_interactions`).
    spec_text : str, optional
        The design file's text, kept with the model.

    Returns
    -------
    data : ChoiceData
        T answered tasks x J alternatives x K coded variables (K: the design's parameters plus one
        column per interaction level); ``resp`` the respondent ids.
    report : ValidationReport
        Respondents and tasks read and used, missing answers, problems, quality checks.

    Raises
    ------
    dce.errors.DCEError
        Naming the file, column and row of an unknown block, an unknown answer, a duplicate or missing
        id; :class:`~dce.errors.ArgumentError` for a bad argument.
    """
    if missing not in ("drop", "error"):
        raise ArgumentError("missing", f"'{missing}' (use drop or error)")
    for col, argument in ((id_col, "id_col"), (block_col, "block_col")):
        if col not in df.columns:
            raise ArgumentError(argument, f"column '{col}' is not in {source}")
    df = df.reset_index(drop=True)
    blocks = {}
    for s in range(design.n_tasks):
        blocks.setdefault(int(design.block[s]), []).append(s)
    acols = answer_columns(df, answer_cols, max(len(v) for v in blocks.values()), source)
    Xd = design.matrix()                        # design tasks x positions x params
    reader = _AnswerReader(design, Xd.shape[1], blocks, df, acols, codes, missing, source, design_source)
    reader.read(_respondent_ids(df, id_col, source).to_numpy(), df[block_col].to_numpy(), block_col,
                _block_labels(df, block_col))
    return _choice_data(design, Xd, reader, df, id_col, interactions, spec_text, source), reader.report


class _AnswerReader:
    """Reads the answers of a survey export respondent by respondent: the answered tasks' design rows,
    respondents and chosen positions, and the validation report."""

    def __init__(self, design, J, blocks, df, acols, codes, missing, source, design_source):
        self.design, self.J, self.blocks, self.acols, self.codes = design, J, blocks, acols, codes
        self.missing, self.source, self.design_source = missing, source, design_source
        self.m = design.n_alternatives
        self.answers = _Answers(design.spec, self.m, codes, df)
        self.answer_vals = {c: df[c].to_numpy() for c in acols}      # columns read once, not cell by cell
        self.report = ValidationReport(respondents_read=len(df))
        self.task_rows, self.resp, self.chosen, self.src_rows = [], [], [], []
        self.sq_pos = self.m if design.spec.status_quo is not None else None
        self.oo_pos = self.m + (self.sq_pos is not None) if design.spec.opt_out is not None else None

    def read(self, id_vals, block_vals, block_col, block_labels):
        keep_resp = []
        for i in range(len(id_vals)):
            rid = id_vals[i]
            picks = self._respondent(i, rid, self._tasks(i, rid, block_vals[i], block_col, block_labels))
            if picks:
                keep_resp.append(rid)
                self._patterns(rid, picks)
        if not self.task_rows:
            raise DCEError(f"{self.source}: no answered task")
        self.report.respondents_used = len(keep_resp)
        self.report.tasks_used = len(self.task_rows)

    def _tasks(self, i, rid, b, block_col, block_labels):
        """The design tasks of respondent ``rid``'s block ``b`` (row ``i``; ``block_labels``: the value labels
        of an SPSS/Stata block column)."""
        bnum = _block_number(b, block_labels)
        if bnum not in self.blocks:
            raise DCEError(f"{where(self.source, column=block_col, row=i + 1)}respondent {rid} has block '{b}', which "
                           f"has no tasks in {self.design_source} (blocks: {', '.join(map(str, sorted(self.blocks)))})")
        return self.blocks[bnum]

    def _respondent(self, i, rid, tasks):
        """Read one respondent's answers to ``tasks``; returns the chosen positions."""
        picks = []
        for k, s in enumerate(tasks):
            col = self.acols[k]
            v = self.answer_vals[col][i]
            if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
                self.report.missing_answers += 1
                if self.missing == "error":
                    raise DCEError(f"{where(self.source, column=col, row=i + 1)}respondent {rid} has no answer")
                self.report.problems.append(Problem("missing answer", rid, col, "dropped"))
                continue
            pos = self.answers.position(v, col)
            if pos is None:
                raise DCEError(f"{where(self.source, column=col, row=i + 1)}respondent {rid} answered '{v}', which "
                               f"is not an alternative of the task (1..{self.J}, or a label"
                               f"{'; map other answer codes to alternatives (codes)' if not self.codes else ''})")
            self.task_rows.append(s)
            self.src_rows.append(i)
            self.resp.append(rid)
            self.chosen.append(pos)
            picks.append(pos)
        self.report.tasks_read += len(tasks)
        return picks

    def _patterns(self, rid, picks):
        """Answer patterns of a respondent that the validation report counts, by what was chosen: always
        the status quo, always the opt-out, or always the same designed alternative (position 1, 2, ...)."""
        if len(picks) < 2 or len(set(picks)) != 1:
            return
        if picks[0] == self.sq_pos:
            self.report.always_status_quo.append(rid)
        elif picks[0] == self.oo_pos:
            self.report.always_opt_out.append(rid)
        else:
            self.report.always_same_position.append(rid)


def _choice_data(design, Xd, reader, df, id_col, interactions, spec_text, source) -> ChoiceData:
    """The ChoiceData of the answered tasks (with covariate interactions, when asked for)."""
    spec, m = design.spec, design.n_alternatives
    X = Xd[np.asarray(reader.task_rows)]
    names = list(spec.param_names)
    spec_json = design_coding(spec, spec_text, names)
    resp_arr = np.asarray(reader.resp, dtype=object)
    if interactions:
        X, names, spec_json = _add_interactions(X, names, spec_json, df, id_col, resp_arr, interactions, source)
    task_ids = np.array([f"{r}/{design.task_ids[s]}" for r, s in zip(reader.resp, reader.task_rows)])
    return ChoiceData(X=X, avail=np.ones(X.shape[:2], bool), chosen=np.asarray(reader.chosen), names=names,
                      alt_labels=[str(j + 1) for j in range(m)] + (["status_quo"] if spec.status_quo else [])
                      + (["opt_out"] if spec.opt_out else []), task_ids=task_ids, resp=resp_arr,
                      spec=spec_json, source=source, task_rows=np.asarray(reader.src_rows, np.int64))


class _Answers:
    """Answers -> positions: the alternatives' labels, the ``codes`` mapping and, for SPSS/Stata, the
    value labels of the answer columns."""

    def __init__(self, spec, m, codes, df):
        self.code_map = {str(k).strip().lower(): str(v).strip().lower() for k, v in (codes or {}).items()}
        self.label_to_pos = {}
        for j, labs in enumerate(_alternative_labels(spec, m)):
            for lab in labs:
                self.label_to_pos.setdefault(lab.lower(), j)
        self.value_codes = {}
        for col, lab in ((df.attrs.get("labels") or {}).get("values") or {}).items():
            self.value_codes[col] = {str(l).strip().lower(): _code_text(c) for c, l in lab.items()}

    def position(self, v, col):
        """The 0-based position that answer ``v`` of column ``col`` names, or None."""
        key = str(v).strip()
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            key = str(int(v))
        key = key.lower()
        key = self.code_map.get(key, key)
        pos = self.label_to_pos.get(key)
        if pos is None and col in self.value_codes:  # SPSS/Stata: a label we do not know, try its code
            code = self.value_codes[col].get(str(v).strip().lower())
            if code is not None:
                pos = self.label_to_pos.get(self.code_map.get(code, code))
        return pos


def _block_labels(df, block_col) -> dict:
    """SPSS/Stata value labels of the block column (``"block two"`` -> 2), so that an export read with its
    labels applied maps its blocks as its answers are mapped."""
    labels = ((df.attrs.get("labels") or {}).get("values") or {}).get(block_col) or {}
    return {str(lab).strip().lower(): code for code, lab in labels.items()}


def _block_number(b, block_labels):
    """The design block a block cell names, or None: a whole number (2, 2.0, '2') or a value label; a
    fraction (1.5) names no block (it is never rounded to one)."""
    if isinstance(b, str) and b.strip().lower() in block_labels:
        b = block_labels[b.strip().lower()]
    try:
        f = float(b)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(f) if np.isfinite(f) and f.is_integer() else None


def _respondent_ids(df, id_col, source):
    """The id column, refused with a one-line error when an id is missing or appears twice."""
    ids = df[id_col]
    if ids.isna().any():
        r = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        raise missing_value(source, id_col, r)
    dup = ids.duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise DCEError(f"{where(source, column=id_col, row=r + 1)}respondent {ids.iloc[r]} appears twice")
    return ids


def _code_text(c):
    if isinstance(c, float) and c.is_integer():
        c = int(c)
    return str(c).strip().lower()


def parse_interactions(text: str | None) -> list[tuple[str, str]]:
    """``"asc_status_quo:language, income:age"`` -> [("asc_status_quo", "language"), ...]."""
    out = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.count(":") != 1:
            raise ArgumentError("interactions", f"'{item}' is not COEFFICIENT:COVARIATE")
        a, b = (s.strip() for s in item.split(":"))
        out.append((a, b))
    return out


def _add_interactions(X, names, spec_json, df, id_col, resp, interactions, source):
    """Append coefficient x covariate columns; text covariates are dummy-coded against their first level."""
    row_of = {v: i for i, v in enumerate(df[id_col].tolist())}
    idx = np.array([row_of[r] for r in resp])
    covs = {}
    new_cols, new_names = [], []
    for coef, cov in interactions:
        if coef not in names:
            raise ArgumentError("interactions", f"'{coef}' is not a coefficient of the model ({', '.join(names)})")
        if cov not in df.columns:
            raise ArgumentError("interactions", f"covariate column '{cov}' is not in {source}")
        if cov not in covs:
            s = df[cov]
            if s.isna().any():
                r = int(np.flatnonzero(s.isna().to_numpy())[0]) + 1
                raise missing_value(source, cov, r)
            if is_text_column(s) or s.nunique() <= 2 and not np.issubdtype(s.dtype, np.floating):
                levels = sorted(map(str, s.unique()))
                covs[cov] = {"kind": "categorical", "levels": levels, "reference": levels[0],
                             "values": s.astype(str).to_numpy()}
            else:
                covs[cov] = {"kind": "numeric", "values": numeric_column(df, cov, source)}
        info = covs[cov]
        base = X[:, :, names.index(coef)]
        vals = info["values"][idx]
        if info["kind"] == "categorical":
            for lv in info["levels"][1:]:
                new_names.append(f"{coef}:{cov}[{lv}]")
                new_cols.append(base * (vals == lv)[:, None])
        else:
            new_names.append(f"{coef}:{cov}")
            new_cols.append(base * vals.astype(float)[:, None])
    X = np.concatenate([X] + [c[:, :, None] for c in new_cols], axis=2)
    names = names + new_names
    # the sample's covariate profiles (for population shares and --by)
    cov_names = list(covs)
    prof = {}
    for i in range(len(df)):
        key = tuple(str(covs[c]["values"][i]) if covs[c]["kind"] == "categorical" else float(covs[c]["values"][i])
                    for c in cov_names)
        prof[key] = prof.get(key, 0) + 1
    spec_json = dict(spec_json, names=names, interactions=[list(t) for t in interactions],
                     covariates={c: {k: v for k, v in covs[c].items() if k != "values"} for c in cov_names},
                     covariate_profiles=[{"values": dict(zip(cov_names, k)), "weight": w} for k, w in prof.items()])
    return X, names, spec_json
