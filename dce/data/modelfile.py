"""Model files: one utility per alternative, linear in named parameters (Biogeme/Apollo style).

A model file is YAML::

    choice: CHOICE                      # the column holding the chosen alternative's code
    exclude: "PURPOSE not in (1, 3) or CHOICE == 0"    # optional: rows where this is true are dropped
    id: ID                              # optional: respondent id column (panels, clustered s.e.)
    description: free text              # optional, ignored
    alternatives:
      train: {code: 1, available: "TRAIN_AV * (SP != 0)", utility: "ASC_TRAIN + B_TIME * TRAIN_TT / 100"}
      sm:    {code: 2, available: "SM_AV", utility: "B_TIME * SM_TT / 100"}

Expressions are read by the restricted evaluator :mod:`dce.expr` (never ``eval``).  In a
utility, names that are columns of the data are data; every other name is a parameter.  ``exclude``
and ``available`` may use data columns only; ``available`` defaults to "always available" (nonzero
means available).  Parameters are ordered alphabetically (as in Biogeme's report), whatever the
order in which they appear.  Column names must be valid Python identifiers to be referenced.

:func:`load_model_file` validates the file (every error names the file, the line and the key);
:func:`choice_data_from_model_file` applies it to a table and returns a
:class:`~dce.data.choice_data.ChoiceData`.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dce import expr as _expr
from dce.data.choice_data import ChoiceData
from dce.data.readers import is_text_column, numeric_column
from dce.errors import DCEError, missing_value, where
from dce.util.yamlio import YamlDoc, line_of

if TYPE_CHECKING:
    import pandas as pd

TOP_KEYS = ("choice", "exclude", "id", "alternatives", "description")
ALT_KEYS = ("code", "available", "utility")


@dataclass
class Alternative:
    """One alternative of a model file: its name, choice code, availability and utility (parsed and as
    written)."""

    name: str
    code: float
    available: "_expr.Expr"
    utility: "_expr.Expr"
    available_text: str
    utility_text: str


@dataclass
class ModelFile:
    """A checked model file: the choice column, the alternatives, the optional ``exclude`` condition and
    respondent ``id`` column, and the line of every key (``lines``) for messages."""

    path: str
    choice: str
    alternatives: list
    exclude: "_expr.Expr | None" = None
    exclude_text: str | None = None
    id: str | None = None
    description: str | None = None
    lines: dict = field(default_factory=dict)

    def where(self, *keys) -> str:
        """``file: line N: key a.b.c`` for error messages."""
        return _where(self.path, self.lines, keys)

    def parameters(self, columns) -> list:
        """The parameter names, given the data columns: utility names that are not columns, sorted."""
        columns = set(map(str, columns))
        return sorted({n for a in self.alternatives for n in a.utility.names if n not in columns})

    def spec(self, parameters=(), excluded: int = 0) -> dict:
        """The JSON-ready description kept with a fitted model (``ChoiceData.spec``)."""
        return {
            "type": "model_file",
            "file": self.path,
            "choice": self.choice,
            "exclude": self.exclude_text,
            "id": self.id,
            "alternatives": {a.name: {"code": _json_code(a.code), "available": a.available_text,
                                      "utility": a.utility_text} for a in self.alternatives},
            "parameters": list(parameters),
            "excluded": int(excluded),
        }


def _json_code(c):
    return int(c) if float(c).is_integer() else float(c)


def _where(path, lines, keys) -> str:
    """``file: line N: a.b`` (the line of the key or of its nearest parent that has one)."""
    keys = tuple(keys)
    line = line_of(lines, keys) if keys[:1] in lines else None      # a key's line, never the document's
    head = where(path, line=line)                                   # "file: line N: " or "file: "
    return head + ".".join(map(str, keys)) if keys else head[:-2]


def _unknown_key(path, lines, keys, allowed):
    key = keys[-1]
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
    return DCEError(f"{_where(path, lines, keys)}: unknown key '{key}'{hint}")


def _text(path, lines, keys, value, what="an expression"):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    if value is None:
        raise DCEError(f"{_where(path, lines, keys)}: is empty; it needs {what}")
    raise DCEError(f"{_where(path, lines, keys)}: must be {what}, not a {type(value).__name__}")


def load_model_file(path) -> ModelFile:
    """Read and validate a model file (syntax, keys, codes, expressions).

    Parameters
    ----------
    path : str or path-like
        The model file (YAML, see the module docstring).

    Returns
    -------
    ModelFile

    Raises
    ------
    dce.errors.DCEError
        Naming the file, the line and the key of any problem; the YAML is read safely (plain data,
        nothing executed) and expressions by the restricted evaluator.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DCEError(f"{path}: model file not found")
    doc = YamlDoc.load(path, what="model file", allow_empty=True)
    data = doc.data
    if data is None:
        raise DCEError(f"{path}: the model file is empty (it needs 'choice' and 'alternatives')")
    if not isinstance(data, dict):
        raise DCEError(f"{path}: a model file must be a mapping of keys (choice, alternatives, ...), "
                       f"not a {type(data).__name__}")
    lines = doc.lines
    for key in data:
        if str(key) not in TOP_KEYS:
            raise _unknown_key(path, lines, (str(key),), TOP_KEYS)
    for key in ("choice", "alternatives"):
        if key not in data:
            raise DCEError(f"{path}: missing key '{key}'")
    choice = _column_name(path, lines, data, "choice")
    if choice is None:
        raise DCEError(f"{_where(path, lines, ('choice',))}: is empty; it needs the choice column's name")
    id_col = _column_name(path, lines, data, "id")
    exclude = exclude_text = None
    if data.get("exclude") is not None:
        exclude_text = _text(path, lines, ("exclude",), data["exclude"])
        exclude = _expr.parse(exclude_text, _where(path, lines, ("exclude",)))
    alternatives = _alternatives(path, lines, data["alternatives"], choice)
    desc = data.get("description")
    return ModelFile(path=path, choice=choice, alternatives=alternatives, exclude=exclude,
                     exclude_text=exclude_text, id=id_col, description=None if desc is None else str(desc),
                     lines=lines)


def _column_name(path, lines, data, key):
    """The column name under top-level ``key`` (None when absent)."""
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise DCEError(f"{_where(path, lines, (key,))}: must be a column name, not {v!r}")
    return v.strip()


def _alternatives(path, lines, alts_raw, choice) -> list:
    """The checked alternatives of a model file: codes distinct numbers, expressions parsed."""
    if not isinstance(alts_raw, dict) or not alts_raw:
        raise DCEError(f"{_where(path, lines, ('alternatives',))}: must map alternative names to "
                       "{code, available, utility}")
    alternatives = []
    codes = {}
    for name, spec in alts_raw.items():
        name = str(name)
        keys = ("alternatives", name)
        if not isinstance(spec, dict):
            raise DCEError(f"{_where(path, lines, keys)}: must be a mapping with code, available and utility")
        for k in spec:
            if str(k) not in ALT_KEYS:
                raise _unknown_key(path, lines, keys + (str(k),), ALT_KEYS)
        for k in ("code", "utility"):
            if k not in spec:
                raise DCEError(f"{_where(path, lines, keys)}: missing key '{k}'")
        code = _code(path, lines, keys, spec["code"], choice, name)
        if code in codes:
            raise DCEError(f"{_where(path, lines, keys + ('code',))}: duplicate code {_json_code(code)} "
                           f"(also used by alternative '{codes[code]}')")
        codes[code] = name
        u_text = _text(path, lines, keys + ("utility",), spec["utility"])
        utility = _expr.parse(u_text, _where(path, lines, keys + ("utility",)))
        a_text = _text(path, lines, keys + ("available",), spec.get("available", 1))
        available = _expr.parse(a_text, _where(path, lines, keys + ("available",)))
        alternatives.append(Alternative(name, code, available, utility, a_text, u_text))
    return alternatives


def _code(path, lines, keys, code, choice, name) -> float:
    """An alternative's code: the number of the choice column that means it."""
    if isinstance(code, bool) or not isinstance(code, (int, float)) or code != code:
        raise DCEError(f"{_where(path, lines, keys + ('code',))}: the code must be a number "
                       f"(the value of '{choice}' that means {name}), not {code!r}")
    try:
        return float(code)
    except OverflowError:
        raise DCEError(f"{_where(path, lines, keys + ('code',))}: the code {code} is too large for a number "
                       "of the data") from None


# ------------------------------------------------------------------------------------- data
def _column_env(df, names, source, rows):
    """Columns by name: float64 for numeric columns, object arrays for text (categorical) columns.

    Stray text in a numeric column and missing values raise DCEError naming column and row.
    """
    env = {}
    for name in names:
        s = df[name]
        if is_text_column(s):
            if s.isna().any():
                pos = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise missing_value(source, name, rows[pos])
            env[name] = s.astype(object).to_numpy()
        else:
            env[name] = numeric_column(s.to_frame(), name, source, rows=rows)
    return env


def _flags(value, n, where, source, rows, what):
    """An availability/exclusion value as a bool array of length n (nonzero = true)."""
    v = np.asarray(value)
    if v.dtype.kind in "OUS":
        raise DCEError(f"{where}: {what} must be a number or a condition, not text")
    v = np.broadcast_to(v, (n,))
    if v.dtype.kind == "b":
        return np.array(v)
    v = v.astype(np.float64)
    bad = ~np.isfinite(v)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DCEError(f"{where}: {what} is not finite ({v[pos]}) in row {rows[pos]} of {source}")
    return v != 0


def choice_data_from_model_file(model, df: pd.DataFrame, source: str = "", id_col: str | None = None) -> ChoiceData:
    """Choice data from a model file and a table of one row per task.

    Parameters
    ----------
    model : str, path-like or ModelFile
        The model file.
    df : pandas.DataFrame
        N rows, one per task, with the columns the file uses.
    source : str
        What messages call the table (default ``df.attrs['source']``).
    id_col : str, optional
        The respondent column (default the file's ``id`` key).

    Returns
    -------
    ChoiceData
        T kept tasks (rows not dropped by ``exclude``) x J alternatives x K parameters (sorted by
        name); the utilities' constant parts go to ``offset`` (T, J).  ``task_ids`` are the 1-based
        data rows of the kept tasks (``task_rows`` their 0-based positions in ``df``);
        ``spec['excluded']`` counts the rows that ``exclude`` dropped.

    Raises
    ------
    dce.errors.DCEError
        Naming the file and key, or the data file, column and row, of any problem (a utility not
        linear in its parameters, an unavailable chosen alternative, a missing or non-finite value).
    """
    mf = model if isinstance(model, ModelFile) else load_model_file(model)
    source = source or str(df.attrs.get("source", "data"))
    columns = set(map(str, df.columns))
    n_all = len(df)
    rows_all = np.arange(1, n_all + 1)
    id_col = _check_columns(mf, columns, source, id_col or mf.id)
    keep = _kept_rows(mf, df, source, columns, rows_all)
    n_excluded = int(n_all - keep.sum())
    if not keep.any():
        raise DCEError(f"{mf.where('exclude')}: excludes all {n_all} rows of {source}")
    rows = rows_all[keep]
    sub = df.iloc[np.flatnonzero(keep)] if n_excluded else df

    # ------------------------------------------------------------------ parameters
    for a in mf.alternatives:
        _data_only(mf, a.available, ("alternatives", a.name, "available"), "'available'", source, columns)
    params = mf.parameters(columns)

    used = set()
    for a in mf.alternatives:
        used |= a.available.names | (a.utility.names - set(params))
    env = _column_env(sub, sorted(used), source, rows)

    chosen = _chosen(mf, sub, source, rows)
    X, offset, avail = _utilities(mf, env, params, source, rows)

    _check_chosen_available(mf, chosen, avail, source, rows)
    resp = _respondents(sub, id_col, source, rows)
    spec = mf.spec(params, n_excluded)
    spec["id"] = id_col
    return ChoiceData(X=X, avail=avail, chosen=chosen, names=params, alt_labels=[a.name for a in mf.alternatives],
                      task_ids=rows, resp=resp, offset=offset, spec=spec, source=source,
                      task_rows=np.flatnonzero(keep))


def _check_columns(mf, columns, source, id_col):
    """The choice and respondent columns must be in the data; returns the respondent column (or None)."""
    if mf.choice not in columns:
        raise DCEError(f"{mf.where('choice')}: the choice column '{mf.choice}' is not in {source}"
                       + _did_you_mean(mf.choice, columns))
    if id_col is not None and id_col not in columns:
        raise DCEError(f"{source}: no respondent id column '{id_col}'" + _did_you_mean(id_col, columns))
    return id_col


def _check_chosen_available(mf, chosen, avail, source, rows):
    """Every chosen alternative must be available in its task."""
    unavailable = ~avail[np.arange(len(chosen)), chosen]
    if unavailable.any():
        t = int(np.flatnonzero(unavailable)[0])
        a = mf.alternatives[chosen[t]]
        raise DCEError(f"{where(source, row=rows[t])}the chosen alternative '{a.name}' ({mf.choice} = "
                       f"{_json_code(a.code)}) is not available there ({mf.where('alternatives', a.name, 'available')}: "
                       f"'{a.available_text}')")


def _respondents(sub, id_col, source, rows):
    """The respondent of each kept task (None without an id column)."""
    if id_col is None:
        return None
    s = sub[id_col]
    if s.isna().any():
        p = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise missing_value(source, id_col, rows[p])
    return s.to_numpy()


def _data_only(mf, e, keys, what, source, columns):
    """Refuse names in ``e`` that are not data columns (``exclude`` and ``available`` use data only)."""
    for name in sorted(e.names):
        if name not in columns:
            raise DCEError(f"{mf.where(*keys)}: '{name}' is not a column of {source}; {what} may use "
                           "data columns only" + _did_you_mean(name, columns))


def _kept_rows(mf, df, source, columns, rows_all):
    """(N,) bool: the rows that ``exclude`` keeps (all without it)."""
    n_all = len(df)
    if mf.exclude is None:
        return np.ones(n_all, dtype=bool)
    _data_only(mf, mf.exclude, ("exclude",), "'exclude'", source, columns)
    env_x = _column_env(df, sorted(mf.exclude.names), source, rows_all)
    return ~_flags(mf.exclude.evaluate(env_x), n_all, mf.where("exclude"), source, rows_all, "exclude")


def _chosen(mf, sub, source, rows):
    """(T,) the slot of the chosen alternative of each kept row, from the choice column's codes."""
    codes = numeric_column(sub[[mf.choice]], mf.choice, source, rows=rows)
    alt_codes = np.array([a.code for a in mf.alternatives])
    order = np.argsort(alt_codes)
    pos = np.searchsorted(alt_codes[order], codes)
    pos = np.clip(pos, 0, len(order) - 1)
    match = alt_codes[order][pos] == codes
    if not match.all():
        bad = int(np.flatnonzero(~match)[0])
        listing = ", ".join(f"{_json_code(a.code)} = {a.name}" for a in mf.alternatives)
        raise DCEError(f"{where(source, column=mf.choice, row=rows[bad])}value {_json_code(codes[bad])} "
                       f"matches no alternative of {mf.path} ({listing})")
    return order[pos]


def _utilities(mf, env, params, source, rows):
    """The utilities as X (T, J, K) coefficients of the parameters, offset (T, J) and avail (T, J)."""
    T, J, K = len(rows), len(mf.alternatives), len(params)
    index = {p: k for k, p in enumerate(params)}
    X = np.zeros((T, J, K))
    offset = np.zeros((T, J))
    avail = np.zeros((T, J), dtype=bool)
    for j, a in enumerate(mf.alternatives):
        wa = mf.where("alternatives", a.name, "available")
        av = _flags(a.available.evaluate(env), T, wa, source, rows, "availability")
        terms = a.utility.linear(env, params, n=T)
        wu = mf.where("alternatives", a.name, "utility")
        for key, coef in terms.items():
            bad = ~np.isfinite(coef) & av
            if bad.any():
                p = int(np.flatnonzero(bad)[0])
                part = "the parameter-free part" if key is None else f"the coefficient of {key}"
                raise DCEError(f"{wu}: {part} of the utility of '{a.name}' is not finite ({coef[p]}) in row "
                               f"{rows[p]} of {source} (log of 0 or division by zero?)")
            coef = np.where(av, coef, 0.0)
            if key is None:
                offset[:, j] = coef
            else:
                X[:, j, index[key]] = coef
        avail[:, j] = av
    return X, offset, avail


def _did_you_mean(name, columns) -> str:
    close = difflib.get_close_matches(name, sorted(columns), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
