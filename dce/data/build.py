"""Build :class:`ChoiceData` from a table and a model formula (long or wide data).

The formula is parsed with formulaic's Wilkinson parser, but every factor is evaluated here by our
own code: a column, ``C(col)`` (or a text column) dummy-coded against a reference level, or an
arithmetic expression evaluated by the restricted evaluator of :mod:`dce.expr`.  Nothing in a
formula is ever run as Python, so a formula stored in a results file can be rebuilt safely.

The same :func:`design_matrix` codes the estimation data and, later, new alternatives (scenarios) from
the ``spec`` stored with the results.
"""
from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

import numpy as np

from dce.data.choice_data import ChoiceData
from dce.data.readers import is_text_column, numeric_column, parse_choice_flags
from dce.errors import ArgumentError, DCEError, clip, missing_value, where
from dce.expr import parse

if TYPE_CHECKING:
    import pandas as pd

ALT_VIRTUAL = "alt"       # wide data: the alternative number is available to formulas as `alt`
#: bounds of a formula: its length in characters, its terms, and the coded columns of its terms
MAX_FORMULA_LENGTH = 20_000
MAX_TERMS = 1_000
MAX_COLUMNS = 2_000


# ---------------------------------------------------------------------------------------------- formula
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _plain_formula(text):
    """``y ~ a + b + c`` (names only, optional 0/1/-1): response and terms without formulaic (fast path)."""
    lhs, sep, rhs = text.partition("~")
    lhs, rhs = lhs.strip(), rhs.strip()
    if not sep or "~" in rhs or not _NAME.fullmatch(lhs):
        return None
    rhs = re.sub(r"\s*-\s*1$", "", rhs)
    parts = [p.strip() for p in rhs.split("+")]
    if any(not (_NAME.fullmatch(p) or p in ("0", "1")) for p in parts):
        return None
    names = [p for p in parts if p not in ("0", "1")]
    if not names or len(set(names)) != len(names):
        return None
    return lhs, _bounded_terms(text, [(n,) for n in names])


def parse_formula(formula: str, choice_col: str | None = None) -> tuple[str, list[tuple[str, ...]]]:
    """Split a formula into its response column and terms.

    An intercept is meaningless in a conditional logit and is dropped silently.  Formulas of plain
    names (``y ~ a + b``) are read directly; everything else by formulaic's Wilkinson parser.

    Parameters
    ----------
    formula : str
        ``"choice ~ price + C(type) + price:income"``; without ``~`` the terms alone, with
        ``choice_col`` as the response.
    choice_col : str, optional
        The response column when the formula has none.

    Returns
    -------
    response : str
        The choice column.
    terms : list of tuple of str
        Each term as the tuple of its factor expressions (``("price", "income")`` for an interaction).

    Raises
    ------
    dce.errors.ArgumentError
        (argument ``formula``) an empty or unreadable formula, no response, literals as terms.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ArgumentError("formula", "is empty")
    text = formula.strip()
    if len(text) > MAX_FORMULA_LENGTH:
        raise ArgumentError("formula", f"'{clip(text)}' is too long ({len(text):,} characters; at most "
                                       f"{MAX_FORMULA_LENGTH:,}): use a model file for very large models")
    if "~" not in text:
        if choice_col is None:
            raise ArgumentError("formula", f"'{clip(formula)}': no response; write it as 'choice ~ x1 + x2' or name the "
                                           "choice column (choice_col)")
        text = f"{choice_col} ~ {text}"
    plain = _plain_formula(text)
    if plain is not None:
        return plain
    _check_expansion(formula, text)
    from formulaic import Formula

    try:
        f = Formula(text)
    except RecursionError:
        raise ArgumentError("formula", f"'{clip(formula)}' is nested too deeply") from None
    except Exception as e:  # formulaic's syntax errors carry a coloured multi-line pointer
        msg = str(e).splitlines()[0].strip()
        if "integer string conversion" in msg:
            msg = "a number has more than 4,300 digits"
        at = _error_position(e, text)
        where_ = f" (at character {at + 1:,})" if at is not None else ""
        raise ArgumentError("formula", f"'{clip(text, at=at)}': {msg}{where_}") from None
    if not hasattr(f, "lhs") or not hasattr(f, "rhs"):   # '~' alone, or '~ x': no two sides
        raise ArgumentError("formula", f"'{clip(formula)}': no response; write it as 'choice ~ x1 + x2'")
    if isinstance(f.lhs, tuple) or isinstance(f.rhs, tuple):   # 'a | b': a formula of several parts
        raise ArgumentError("formula", f"'{clip(formula)}': '|' (a formula of several parts) is not supported")
    lhs = [t for t in f.lhs]
    if len(lhs) != 1 or len(lhs[0].factors) != 1:
        raise ArgumentError("formula", f"'{clip(formula)}': the left-hand side must be the one choice column")
    response = lhs[0].factors[0].expr
    terms = []
    for term in f.rhs:
        factors = tuple(fa.expr for fa in term.factors if fa.eval_method.value != "literal")
        if not factors:
            continue  # the intercept, or a literal
        if any(fa.eval_method.value == "literal" for fa in term.factors):
            raise ArgumentError("formula", f"'{clip(formula)}': literal '{clip(term)}' cannot be a model term")
        terms.append(factors)
    if not terms:
        raise ArgumentError("formula", f"'{clip(formula)}': no explanatory variables")
    return response, _bounded_terms(formula, terms)


def _bounded_terms(formula, terms):
    """The terms, at most :data:`MAX_TERMS` of them (a formula of thousands of terms ran for minutes before
    any answer)."""
    if len(terms) > MAX_TERMS:
        raise ArgumentError("formula", f"'{clip(formula)}' has {len(terms):,} terms; at most {MAX_TERMS:,} can be "
                                       "estimated here")
    return terms


def _check_expansion(formula, text):
    """Refuse, before formulaic expands it, a formula whose products or powers expand to more than
    :data:`MAX_TERMS` terms: ``a * b * c ...`` of k factors gives 2**k - 1 terms, ``(a + b + ...)**n`` of m
    terms about m**n (formulaic would take hours to list 2**900 terms).  Products inside a function's
    parentheses (``I(x * 2)``) are arithmetic, not expansions."""
    masked = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "v", text)
    stars, stack, groups = 0, [], []         # stack: True for a grouping parenthesis, False for a call
    for i, ch in enumerate(masked):
        if ch == "(":
            before = masked[:i].rstrip()
            stack.append(not (before and (before[-1].isalnum() or before[-1] in "_.")))
            groups.append([i, 1])
        elif ch == ")":
            if stack:
                stack.pop()
            if groups:
                start, m = groups.pop()
                power = re.match(r"\s*\*\*\s*(\d+)", masked[i + 1:])
                if power and float(m) ** min(int(power.group(1)), 1000) > MAX_TERMS:
                    raise ArgumentError("formula", f"'{clip(formula, at=i)}': the power at character {i + 2:,} "
                                                   f"expands to more than {MAX_TERMS:,} terms")
        elif ch == "+" and groups and all(stack):
            groups[-1][1] += 1
        elif ch == "*" and all(stack) and masked[i - 1:i] != "*" and masked[i + 1:i + 2] != "*":
            stars += 1
            if 2 ** stars > 2 * MAX_TERMS:
                raise ArgumentError("formula", f"'{clip(formula, at=i)}': the products ('*') expand to more than "
                                               f"{MAX_TERMS:,} terms (a * b gives a + b + a:b)")


def _error_position(e, text):
    """The 0-based position in ``text`` that formulaic's message marks (``x ⧛+ +⧚ )``), or None."""
    for line in str(e).splitlines()[1:]:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if "\u29db" in plain:
            at = plain.index("\u29db")
            return at if plain.replace("\u29db", "").replace("\u29da", "") == text else None
    return None


def _categorical_call(expr: str):
    """``C(col)``, ``C(col, ref='b')``, ``C(col, Treatment('b'))`` -> (col, reference or None); else None."""
    if not expr.startswith("C("):
        return None
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise ArgumentError("formula", f"cannot read the factor '{clip(expr)}'") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C"):
        return None
    if not node.args or not isinstance(node.args[0], ast.Name):
        raise ArgumentError("formula", f"'{clip(expr)}': C() takes a column name, e.g. C(type)")
    col = node.args[0].id
    ref = None
    extra = list(node.args[1:]) + [kw.value for kw in node.keywords if kw.arg in ("ref", "reference", "contr")]
    unknown = [kw.arg for kw in node.keywords if kw.arg not in ("ref", "reference", "contr")]
    if unknown:
        raise ArgumentError("formula", f"'{clip(expr)}': unknown argument '{unknown[0]}' (use C(col, ref='level'))")
    for arg in extra:
        if isinstance(arg, ast.Constant):
            ref = arg.value
        elif isinstance(arg, ast.Call) and arg.args and isinstance(arg.args[0], ast.Constant):
            fname = arg.func.attr if isinstance(arg.func, ast.Attribute) else getattr(arg.func, "id", "")
            if fname.lower() != "treatment":
                raise ArgumentError("formula", f"'{clip(expr)}': only treatment (dummy) coding is supported, "
                               "e.g. C(col, ref='level')")
            ref = arg.args[0].value
        elif isinstance(arg, ast.Call) and arg.keywords and isinstance(arg.keywords[0].value, ast.Constant):
            ref = arg.keywords[0].value.value
        else:
            raise ArgumentError("formula", f"'{clip(expr)}': cannot read the reference level (use C(col, ref='level'))")
    return col, ref


def inner_expression(expr: str) -> str:
    """The expression inside ``I(...)`` (formulaic's protection of arithmetic), else the expression."""
    e = expr.strip()
    if e.startswith("I(") and e.endswith(")"):
        try:
            node = ast.parse(e, mode="eval").body
        except SyntaxError:
            return e
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "I" and len(node.args) == 1:
            return ast.unparse(node.args[0])
    return e


def _sorted_levels(values):
    uniq = list(dict.fromkeys(values.tolist()))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _py(v):
    """A level as a plain Python value (JSON-friendly)."""
    return v.item() if hasattr(v, "item") else v


# ---------------------------------------------------------------------------------------------- coding
class _Coder:
    """Resolves and codes the factors of a formula on a long table (one row per alternative)."""

    def __init__(self, df, source, text_cols=None, row_of=None):
        self.df = df
        self.source = source
        self.text_cols = text_cols            # None: decide by content
        self.row_of = row_of                  # maps long row -> file row for messages (wide data)
        self._numeric = {}

    def column_exists(self, col):
        return col in self.df.columns

    def is_text(self, col):
        if self.text_cols is not None:
            return col in self.text_cols
        return is_text_column(self.df[col])

    def numeric(self, col):
        if col not in self._numeric:
            if col not in self.df.columns:
                raise DCEError(f"{where(self.source)}the formula names column '{col}', which is not in the data")
            from dce.data.readers import numeric_column

            self._numeric[col] = numeric_column(self.df, col, self.source)
        return self._numeric[col]

    def raw(self, col):
        if col not in self.df.columns:
            raise DCEError(f"{where(self.source)}the formula names column '{col}', which is not in the data")
        s = self.df[col]
        if s.isna().any():
            row = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise missing_value(self.source, col, self._row(row))
        return s.to_numpy()

    def _row(self, i):
        return self.row_of(i) if self.row_of is not None else i + 1


def resolve_factor(expr: str, coder: _Coder, stored: dict | None = None) -> dict:
    """Describe one factor: ``{'kind': 'numeric', 'expr'}`` or ``{'kind': 'categorical', 'column',
    'levels', 'reference'}``.

    ``stored`` is the description saved with a fitted model; levels then come from it, not the data.
    """
    if stored is not None:
        return stored
    cat = _categorical_call(expr)
    if cat is None and coder.column_exists(expr) and coder.is_text(expr):
        cat = (expr, None)
    if cat is not None:
        col, ref = cat
        values = coder.raw(col)
        levels = [_py(v) for v in _sorted_levels(values)]
        if ref is not None:
            match = [lv for lv in levels if lv == ref or str(lv) == str(ref)]
            if not match:
                raise DCEError(f"{where(coder.source)}reference level '{ref}' of '{clip(expr)}' is not a value of column "
                               f"'{col}' (values: {', '.join(map(str, levels[:10]))})")
            ref = match[0]
        else:
            ref = levels[0]
        return {"kind": "categorical", "column": col, "levels": levels, "reference": ref}
    return {"kind": "numeric", "expr": expr}


def _eval_numeric(expr, coder: _Coder):
    if coder.column_exists(expr):
        return coder.numeric(expr)
    e = parse(inner_expression(expr), where=f"formula term '{clip(expr)}'")
    env = {}
    for name in e.names:
        if not coder.column_exists(name):
            raise DCEError(f"{where(coder.source)}the formula names column '{name}', which is not in the data")
        env[name] = coder.numeric(name)
    with np.errstate(all="ignore"):
        v = np.asarray(e.evaluate(env))
    if v.dtype.kind not in "biuf":           # a string literal ('a'), or text: not a number to multiply by
        raise ArgumentError("formula", f"term '{clip(expr)}' is text, not a number (a string literal cannot be a "
                                       "model term or part of an interaction; compare it, e.g. I(x == 'a'))")
    v = v.astype(float)
    if v.ndim == 0:
        raise ArgumentError("formula", f"term '{clip(expr)}' does not depend on the data")
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DCEError(f"{where(coder.source)}formula term '{clip(expr)}' is not a finite number in row {coder._row(i)}")
    return v


# how the dummies of a categorical factor are named: ``column[level]`` (as in a survey export), e.g.
# ``doctor[junior doctor]`` for ``C(doctor, ref='consultant')``; models fitted before version 0.2 carry no
# ``dummy_names`` in their spec and keep their names ``C(doctor, ref='consultant')[T.junior doctor]``
DUMMY_NAMES = "column[level]"


def dummy_name(expr, info, level, full_rank=False, legacy=False):
    """The name of the dummy of ``level`` of the categorical factor ``expr`` (:data:`DUMMY_NAMES`)."""
    if legacy:
        return f"{expr}[{level}]" if full_rank else f"{expr}[T.{level}]"
    return f"{info['column']}[{level}]"


def _factor_columns(expr, info, coder, full_rank, legacy=False):
    """Coded columns of one factor: list of (name, values)."""
    if info["kind"] == "numeric":
        return [(expr, _eval_numeric(expr, coder))]
    values = coder.raw(info["column"])
    levels = info["levels"]
    keep = levels if full_rank else [lv for lv in levels if lv != info["reference"]]
    text = values.dtype.kind in "OUS"
    svals = values.astype(str) if text else values
    out = []
    for lv in keep:
        target = str(lv) if text else lv
        out.append((dummy_name(expr, info, lv, full_rank, legacy), (svals == target).astype(float)))
    return out


def design_matrix(terms: list, factor_info: dict, coder: _Coder, legacy=False) -> tuple[list[str], np.ndarray]:
    """Coded columns of every term (products of factor codings).

    Returns the K column names and the (N, K) float64 matrix, N the rows of the coder's table.
    ``legacy``: the dummies named as before version 0.2 (``C(x)[T.level]``; see :data:`DUMMY_NAMES`).
    Two terms coded into columns of the same name (``C(x)`` and ``C(x, ref='b')``) are refused.
    """
    present = {frozenset(t) for t in terms}
    names, cols = [], []
    for term in terms:
        parts = []
        for f in term:
            info = factor_info[f]
            rest = frozenset(term) - {f}
            full = info["kind"] == "categorical" and bool(rest) and rest not in present
            parts.append(_factor_columns(f, info, coder, full, legacy))
        combos = [("", None)]
        for part in parts:
            combos = [(f"{n}:{pn}" if n else pn, pv if v is None else v * pv) for n, v in combos for pn, pv in part]
        for n, v in combos:
            if n in names:
                if not np.array_equal(cols[names.index(n)], v):
                    raise ArgumentError("formula", f"two terms give a coefficient named '{n}': name each "
                                                   "categorical column once")
                continue
            names.append(n)
            cols.append(v)
    n_rows = len(coder.df)
    M = np.empty((n_rows, len(cols)))
    for k, v in enumerate(cols):
        M[:, k] = v
    return names, M


def _code_terms(terms, coder, mask):
    """Resolve every factor on the estimation data and code the terms (rows where ``mask`` is an
    available alternative give the observed ranges of numeric variables)."""
    factor_info = {}
    for term in terms:
        for f in term:
            if f not in factor_info:
                factor_info[f] = resolve_factor(f, coder)
    _check_columns_bound(terms, factor_info)
    names, M = design_matrix(terms, factor_info, coder)
    _record_ranges(factor_info, names, M, mask)
    return factor_info, names, M


def _check_columns_bound(terms, factor_info):
    """Refuse terms that code into more than :data:`MAX_COLUMNS` columns (a C() of a column of thousands of
    values, interactions of many levels) before the matrix is built."""
    total = 0
    for term in terms:
        n = 1
        for f in term:
            info = factor_info[f]
            n *= len(info["levels"]) if info["kind"] == "categorical" else 1
        total += n
        if total > MAX_COLUMNS:
            raise ArgumentError("formula", f"the terms code into more than {MAX_COLUMNS:,} columns (at "
                                           f"'{clip(':'.join(term))}'): is a C() of a column of many values, such "
                                           "as an id, in the formula?")


# ---------------------------------------------------------------------------------------------- long data
def _choice_flags(df, col, source):
    return parse_choice_flags(df[col], source, col)


def _require(df, col, source, argument=None):
    """A column the caller names must be in the data: an :class:`ArgumentError` naming ``argument`` (the
    choice column of the formula when None) otherwise."""
    if col not in df.columns:
        close = [c for c in df.columns if str(c).lower() == str(col).lower()]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if argument is None:
            raise DCEError(f"{source}: choice column '{col}' is not in the data{hint}")
        raise ArgumentError(argument, f"column '{col}' is not in {source or 'the data'}{hint}")


def choice_data_from_formula(df: pd.DataFrame, formula: str, *, source: str = "", alt: str | None = None,
                             task: str | None = None, id_col: str | None = None, choice_col: str | None = None,
                             avail: str | None = None) -> ChoiceData:
    """Choice data from a table and a model formula.

    Parameters
    ----------
    df : pandas.DataFrame
        Long data (one row per alternative of a task: give ``alt`` and ``task``) or wide data (one row
        per task, alternative attributes in columns ``price1``, ``price2``, ...: give neither).
    formula : str
        ``"choice ~ price + C(type) + I(price / income)"`` (see :func:`parse_formula`).  Factors are
        evaluated by the restricted evaluator :mod:`dce.expr`, never as Python.
    source : str
        What messages call the table (its file).
    alt, task : str, optional
        Long data: the alternative and task columns.
    id_col : str, optional
        The respondent column (panels, clustered standard errors).
    choice_col : str, optional
        The choice column when the formula has no left-hand side.
    avail : str, optional
        Availability: a 0/1 column (long) or the stem of columns ``avail1``, ``avail2``, ... (wide).

    Returns
    -------
    ChoiceData
        T tasks x J alternatives x K coded variables; ``spec`` holds the coding, so that new
        alternatives can be coded alike (:func:`rebuild_design`).

    Raises
    ------
    dce.errors.DCEError
        Naming the file, column and row of a bad value; :class:`~dce.errors.ArgumentError` for a bad
        argument.
    """
    response, terms = parse_formula(formula, choice_col)
    if len(df) == 0:
        raise DCEError(f"{source}: the file has no data rows")
    if alt is not None or task is not None:
        if alt is None or task is None:
            raise ArgumentError("alt", "long data needs both the alternative and the task column (wide data needs neither)")
        return _from_long(df, response, terms, formula, source, alt, task, id_col, avail)
    return _from_wide(df, response, terms, formula, source, id_col, avail)


def _from_long(df, response, terms, formula, source, alt, task, id_col, avail):
    import pandas as pd

    for col, argument in ((alt, "alt"), (task, "task"), (response, None), (id_col, "id_col"), (avail, "avail")):
        if col is not None:
            _require(df, col, source, argument)
    df = df.reset_index(drop=True)
    for col in [c for c in (alt, task, id_col) if c is not None]:
        if df[col].isna().any():
            row = int(np.flatnonzero(df[col].isna().to_numpy())[0]) + 1
            raise missing_value(source, col, row)
    # tasks: by task column (within respondent when ids are given), in order of first appearance
    if id_col is not None:
        keys = pd.MultiIndex.from_arrays([df[id_col].to_numpy(), df[task].to_numpy()])
        t_idx, t_uni = pd.factorize(keys, sort=False)
        resp_of_task, task_of_task = t_uni.get_level_values(0), t_uni.get_level_values(1)
        if pd.Index(task_of_task).is_unique:
            task_ids = np.asarray(task_of_task)
        else:  # task numbers restart for every respondent: name tasks as respondent/task
            task_ids = np.char.add(np.char.add(np.asarray(resp_of_task).astype(str), "/"),
                                   np.asarray(task_of_task).astype(str))
    else:
        t_idx, t_uni = pd.factorize(df[task].to_numpy(), sort=False)
        task_ids = np.asarray(t_uni)
    alt_values = df[alt].to_numpy()
    a_idx, a_uni = pd.factorize(alt_values, sort=True)
    T, J = len(t_uni), len(a_uni)
    cell = t_idx.astype(np.int64) * J + a_idx
    counts = np.bincount(cell, minlength=T * J)
    if counts.max() > 1:
        c = int(np.flatnonzero(counts > 1)[0])
        rows = np.flatnonzero(cell == c)[:2] + 1
        # the likely slip: a real column that does not name the alternatives (an id, a task number)
        raise ArgumentError("alt", f"{source}: task {task_ids[c // J]} lists alternative '{a_uni[c % J]}' twice "
                                   f"(rows {rows[0]} and {rows[1]}): is '{alt}' the column naming each row's "
                                   "alternative?")
    chosen_flag = _choice_flags(df, response, source)
    present = np.ones(len(df), bool)
    if avail is not None:
        present = _avail_flags(df, avail, source)
    n_chosen = np.bincount(t_idx, weights=chosen_flag.astype(float), minlength=T)
    _check_chosen_counts(n_chosen, task_ids, source, response)
    if np.any(chosen_flag & ~present):
        row = int(np.flatnonzero(chosen_flag & ~present)[0]) + 1
        raise DCEError(f"{where(source, row=row)}the chosen alternative is marked unavailable in column '{avail}'")
    factor_info, names, M = _code_terms(terms, _Coder(df, source), present)
    X = np.zeros((T, J, len(names)))
    X[t_idx[present], a_idx[present]] = M[present]
    av = np.zeros((T, J), bool)
    av[t_idx[present], a_idx[present]] = True
    chosen = np.zeros(T, np.intp)
    chosen[t_idx[chosen_flag]] = a_idx[chosen_flag]
    resp = np.asarray(resp_of_task) if id_col is not None else None
    spec = _spec(formula, "long", response, terms, factor_info, names,
                 {"alt": alt, "task": task, "id": id_col, "avail": avail}, [_py(a) for a in a_uni])
    first_row = np.full(T, -1, np.int64)
    first_row[t_idx[::-1]] = np.arange(len(t_idx))[::-1]       # the first row of every task
    return ChoiceData(X=X, avail=av, chosen=chosen, names=names, alt_labels=[_py(a) for a in a_uni],
                      task_ids=task_ids, resp=resp, spec=spec, source=source, task_rows=first_row)


def _check_chosen_counts(n_chosen, task_ids, source, col):
    if np.any(n_chosen == 0):
        t = int(np.flatnonzero(n_chosen == 0)[0])
        raise DCEError(f"{where(source, column=col)}task {task_ids[t]} has no chosen alternative")
    if np.any(n_chosen > 1):
        t = int(np.flatnonzero(n_chosen > 1)[0])
        raise DCEError(f"{where(source, column=col)}task {task_ids[t]} has {int(n_chosen[t])} chosen alternatives")


# ---------------------------------------------------------------------------------------------- wide data
_AVAIL_STEMS = ("av", "avail", "available")


def stem_columns(columns, stem):
    """{suffix: column} of the columns named STEM<n> or STEM_<n>."""
    pat = re.compile(re.escape(stem) + r"_?(\d+)$")
    out = {}
    for c in columns:
        m = pat.fullmatch(str(c))
        if m:
            out.setdefault(int(m.group(1)), c)
    return out


def _factor_names(terms, coder_columns):
    """Data names each factor refers to (a column, a C() column, or the names of an expression)."""
    names = []
    for term in terms:
        for f in term:
            cat = _categorical_call(f)
            if cat is not None:
                names.append(cat[0])
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", f) or f in coder_columns:
                names.append(f)
            else:
                from dce.expr import parse

                names.extend(sorted(parse(inner_expression(f), where=f"formula term '{clip(f)}'").names))
    return list(dict.fromkeys(names))


def _from_wide(df, response, terms, formula, source, id_col, avail):
    import pandas as pd

    _require(df, response, source)
    if id_col is not None:
        _require(df, id_col, source, "id_col")
    df = df.reset_index(drop=True)
    columns = list(df.columns)
    stems, generic, suffixes = _wide_variables(columns, terms, source)
    T, J = len(df), len(suffixes)
    av, av_cols = _wide_availability(df, columns, avail, suffixes, source)
    # choice
    chosen = _wide_choice(df[response], suffixes, source, response)
    rows_bad = ~av[np.arange(T), chosen]
    if rows_bad.any():
        r = int(np.flatnonzero(rows_bad)[0])
        raise DCEError(f"{where(source, column=response, row=r + 1)}the chosen alternative "
                       f"{suffixes[chosen[r]]} is not available")
    ldf, text_cols = _wide_to_long(df, stems, generic, suffixes, av, av_cols, source)
    coder = _Coder(ldf, source, text_cols=text_cols, row_of=lambda i: i // J + 1)
    factor_info, pnames, M = _code_terms(terms, coder, av.reshape(-1))
    X = M.reshape(T, J, len(pnames)) * av[:, :, None]
    resp = df[id_col].to_numpy() if id_col is not None else None
    if resp is not None and pd.isna(resp).any():
        r = int(np.flatnonzero(pd.isna(resp))[0]) + 1
        raise missing_value(source, id_col, r)
    spec = _spec(formula, "wide", response, terms, factor_info, pnames,
                 {"id": id_col, "avail": avail, "stems": sorted(stems)}, list(suffixes))
    return ChoiceData(X=X, avail=av, chosen=chosen, names=pnames, alt_labels=list(suffixes),
                      task_ids=np.arange(1, T + 1), resp=resp, spec=spec, source=source, task_rows=np.arange(T))


def _wide_variables(columns, terms, source):
    """The formula's variables in wide data: stems of alternative columns (``price`` -> ``price1``,
    ``price2``...), generic columns, and the alternatives' suffixes."""
    names = _factor_names(terms, set(columns))
    stems, generic = {}, []
    for name in names:
        if name == ALT_VIRTUAL and name not in columns:
            continue
        cols = stem_columns(columns, name)
        if cols and name not in columns:
            stems[name] = cols
        elif name in columns:
            generic.append(name)
        else:
            raise DCEError(f"{source}: the formula names '{name}', which is neither a column nor the stem of "
                           f"alternative columns such as '{name}1', '{name}2'")
    if not stems:
        raise DCEError(f"{source}: wide data needs alternative attributes in columns such as 'price1', 'price2' "
                       "(for long data, name its alternative and task columns: alt and task)")
    suffixes = sorted(set().union(*[set(c) for c in stems.values()]))
    for name, cols in stems.items():
        missing = [s for s in suffixes if s not in cols]
        if missing:
            raise DCEError(f"{source}: variable '{name}' has no column for alternative {missing[0]} "
                           f"(expected '{name}{missing[0]}'); use a model file for labelled alternatives")
    return stems, generic, suffixes


def _wide_availability(df, columns, avail, suffixes, source):
    """(T, J) availability from the ``avail`` stem's columns (or a conventional stem such as ``av``) and
    those columns by suffix (None: every alternative available)."""
    T, J = len(df), len(suffixes)
    av = np.ones((T, J), bool)
    av_cols = None
    if avail is not None:
        av_cols = stem_columns(columns, avail)
        if not av_cols:
            raise ArgumentError("avail", f"'{avail}': no columns '{avail}1', '{avail}2', ... in {source}")
    else:
        for stem in _AVAIL_STEMS:
            for c in {stem, stem.upper(), stem.capitalize()}:
                found = stem_columns(columns, c)
                if found and all(s in found for s in suffixes):
                    av_cols = found
                    break
            if av_cols:
                break
    if av_cols:
        for j, s in enumerate(suffixes):
            if s in av_cols:
                av[:, j] = _avail_flags(df, av_cols[s], source)
    return av, av_cols


def _avail_flags(df, col, source):
    """An availability column as flags: 1 (available) or 0 (not); anything else (0.5, -1, 2) is refused
    naming the row, never read as 'available' because it is not zero."""
    from dce.data.readers import numeric_column

    v = numeric_column(df, col, source)
    bad = (v != 0) & (v != 1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise DCEError(f"{where(source, column=col, row=r + 1)}availability {v[r]:g} is not 0 (unavailable) "
                       "or 1 (available)")
    return v == 1


def _wide_to_long(df, stems, generic, suffixes, av, av_cols, source):
    """A long table (T * J rows) of the variables the formula uses, and its text columns; messages about
    values name the wide columns."""
    import pandas as pd

    T, J = len(df), len(suffixes)
    long = {}
    text_cols = set()
    for name, cols in stems.items():
        parts = [df[cols[s]] for s in suffixes]
        if any(is_text_column(p) for p in parts) and all(
                is_text_column(p) or p.isna().all() for p in parts):
            for p, s in zip(parts, suffixes):
                if p.isna().any():
                    r = int(np.flatnonzero(p.isna().to_numpy())[0]) + 1
                    raise missing_value(source, cols[s], r)
            long[name] = np.stack([p.astype(str).to_numpy() for p in parts], axis=1).reshape(-1)
            text_cols.add(name)
        else:
            vals = []
            for j, s in enumerate(suffixes):
                v = df[cols[s]]
                if av_cols and not av[:, j].all():
                    v = v.where(av[:, j], 0)  # values of unavailable alternatives do not matter
                vals.append(numeric_column(pd.DataFrame({cols[s]: v}), cols[s], source))
            long[name] = np.stack(vals, axis=1).reshape(-1)
    for name in generic:
        s = df[name]
        if is_text_column(s):
            if s.isna().any():
                r = int(np.flatnonzero(s.isna().to_numpy())[0]) + 1
                raise missing_value(source, name, r)
            long[name] = np.repeat(s.astype(str).to_numpy(), J)
            text_cols.add(name)
        else:
            long[name] = np.repeat(numeric_column(df, name, source), J)
    if ALT_VIRTUAL not in long:
        long[ALT_VIRTUAL] = np.tile(np.asarray(suffixes), T)
    return pd.DataFrame(long), text_cols


def _wide_choice(series, suffixes, source, col):
    """Map the wide choice column (2, '2', 'choice2', 'alt2', 2.0) to alternative slots.

    Each distinct value is mapped once; the rows then take their value's slot (no loop over rows).
    """
    import pandas as pd

    index = {s: j for j, s in enumerate(suffixes)}
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    slot_of = np.full(len(uniques) + 1, -1, np.intp)        # the last entry serves missing values (-1)
    for u, v in enumerate(uniques):
        if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
            slot_of[u] = index.get(int(v), -1)
        elif isinstance(v, str):
            m = re.search(r"(\d+)\s*$", v.strip())
            if m:
                slot_of[u] = index.get(int(m.group(1)), -1)
    out = slot_of[codes]
    bad = np.flatnonzero(out < 0)
    if bad.size:
        i = int(bad[0])
        if codes[i] < 0:
            raise missing_value(source, col, i + 1)
        raise DCEError(f"{where(source, column=col, row=i + 1)}choice value '{series.iloc[i]}' matches no "
                       f"alternative (alternatives: {', '.join(map(str, suffixes))})")
    return out


# ---------------------------------------------------------------------------------------------- spec
def _record_ranges(factor_info, names, M, mask):
    """Store the observed range of each numeric main effect (for attribute importance)."""
    for f, info in factor_info.items():
        if info["kind"] == "numeric" and f in names and mask.any():
            v = M[mask, names.index(f)]
            info["range"] = [float(v.min()), float(v.max())]


def _spec(formula, layout, response, terms, factor_info, names, columns, alt_labels):
    refs = {}
    for expr, info in factor_info.items():
        if info["kind"] == "categorical":
            refs[info["column"]] = info["reference"]
    return {
        "type": "formula",
        "formula": formula,
        "layout": layout,
        "choice": response,
        "terms": [list(t) for t in terms],
        "factors": factor_info,
        "names": list(names),
        "columns": {k: v for k, v in columns.items() if v is not None},
        "alternatives": alt_labels,
        "references": refs,
        "dummy_names": DUMMY_NAMES,
    }


def _known_levels(info, coder, source):
    """Refuse a value of a categorical column that the model did not see: coded with no dummy set, it would
    silently be the reference level."""
    known = {str(lv) for lv in info["levels"]}
    numbers = {float(lv) for lv in info["levels"] if isinstance(lv, (int, float)) and not isinstance(lv, bool)}
    for v in coder.raw(info["column"]):
        v = _py(v)
        if str(v) not in known and not (isinstance(v, (int, float)) and float(v) in numbers):
            shown = ", ".join(map(str, info["levels"][:10])) + (", ..." if len(info["levels"]) > 10 else "")
            raise DCEError(f"{source}: '{clip(v)}' is not a level of '{info['column']}' known to the model "
                           f"(levels: {shown})")


def rebuild_design(spec: dict, df: pd.DataFrame, source: str = "scenarios") -> np.ndarray:
    """Code new alternatives with the coding stored in a fitted model's ``spec``.

    Parameters
    ----------
    spec : dict
        ``ChoiceData.spec`` of a formula model (``type == "formula"``).
    df : pandas.DataFrame
        N alternatives, one row each, with the columns the formula uses.
    source : str
        What messages call the alternatives.

    Returns
    -------
    numpy.ndarray
        (N, K): the coded variables, in the order of ``spec["names"]``.
    """
    if spec.get("type") != "formula":
        raise DCEError(f"{source}: the model was not specified by a formula")
    terms = [tuple(t) for t in spec["terms"]]
    coder = _Coder(df.reset_index(drop=True), source)
    info = {f: resolve_factor(f, coder, stored=spec["factors"][f]) for t in terms for f in t}
    for f, fi in info.items():
        if fi["kind"] == "categorical":
            _known_levels(fi, coder, source)
    names, M = design_matrix(terms, info, coder, legacy=spec.get("dummy_names") is None)
    if names != spec["names"]:
        raise DCEError(f"{source}: the coded variables {names} do not match the model's {spec['names']}")
    return M
