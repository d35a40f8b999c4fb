"""The design file (YAML): attributes, levels, coding, priors, status quo, opt-out, constraints.

:func:`load_design_spec` reads and checks a design file and returns a :class:`DesignSpec`.  Every problem
is a :class:`dce.errors.DCEError` naming the file, the key (``attributes.delegation.prior``) and its line.

The spec is also the single place that turns levels into model columns, so that the design, the
simulation and the later estimation all code alternatives identically:

>>> spec = load_design_spec("designs/newdeal.yaml")                     # doctest: +SKIP
>>> spec.param_names                                                    # doctest: +SKIP
['delegation[nurse]', 'delegation[nurse and other providers]', 'workweek', ..., 'asc_status_quo']
>>> spec.code_alternative({"delegation": "nurse", "workweek": 45, ...})   # doctest: +SKIP
array([1., 0., 45., ..., 0.])

Coding of one attribute with levels ``l_0..l_{L-1}``:

* ``dummy``: one column per non-reference level, named ``attr[level]``; the reference level (the first,
  or the one named by ``reference``) is all zeros.
* ``effects``: the same columns, the reference level coded -1 in every column.
* ``linear``: one column named ``attr`` holding the numeric level.

The status quo alternative is coded like any alternative plus a 1 in ``asc_status_quo``; the opt-out
alternative has zeros in every attribute column and a 1 in ``asc_opt_out``.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from dce.design.constraints import Constraint, ConstraintSyntaxError
from dce.errors import DCEError
from dce.util.numbers import SCALE_LIMIT
from dce.util.yamlio import YamlDoc

ASC_STATUS_QUO = "asc_status_quo"
ASC_OPT_OUT = "asc_opt_out"
CODINGS = ("dummy", "effects", "linear")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOP_KEYS = {"name", "alternatives", "tasks", "blocks", "status_quo", "opt_out", "attributes", "constraints",
            "draws", "draw_type", "dominance", "method", "description", "level_balance"}
ATTR_KEYS = {"levels", "coding", "prior", "reference", "label", "unit"}
# every key of a design file at any level: one found where it does not belong is likely mis-indented
ALL_KEYS = TOP_KEYS | ATTR_KEYS | {"mean", "sd"}
# the most profiles for which feasibility is tabulated once (beyond it, profiles are checked on demand)
MAX_TABLE = 1_000_000


# --------------------------------------------------------------------------------------------------
@dataclass
class Attribute:
    """One attribute: its levels (values and labels as written), coding, columns and prior."""

    name: str
    levels: list                 # values as YAML reads them (numbers stay numbers)
    labels: list                 # the level text as written in the YAML
    coding: str                  # dummy | effects | linear
    reference: int = 0           # index of the reference level (dummy / effects)
    prior_mean: np.ndarray = None
    prior_sd: np.ndarray = None  # None: a fixed prior
    label: str = ""              # display name for questionnaires
    unit: str = ""

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.levels)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def columns(self) -> list:
        """Names of the coded columns of this attribute."""
        if self.coding == "linear":
            return [self.name]
        return [f"{self.name}[{lab}]" for i, lab in enumerate(self.labels) if i != self.reference]

    @property
    def table(self) -> np.ndarray:
        """``n_levels x n_columns`` matrix: row i is the coding of level i."""
        L = self.n_levels
        if self.coding == "linear":
            return np.array([[float(v)] for v in self.levels])
        keep = [i for i in range(L) if i != self.reference]
        t = np.eye(L)[:, keep]
        if self.coding == "effects":
            t[self.reference, :] = -1.0
        return t

    def partial_utility(self) -> np.ndarray:
        """Utility of each level under the prior mean (used for dominance)."""
        return self.table @ self.prior_mean

    def index(self, value) -> int | None:
        """Index of a level given as its label text or value; None when it is not a level."""
        return _match_level(self, value)


def _magnitude(v) -> str:
    """A number in 3 significant digits (an integer beyond the float range as its power of ten)."""
    try:
        return f"{float(v):.3g}"
    except OverflowError:
        return f"{'-' if v < 0 else ''}1e{len(str(abs(v))) - 1}"


def _as_number(v):
    if isinstance(v, bool):
        return None
    try:
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            return float(v.strip())
    except (ValueError, OverflowError):   # not a number, or an integer beyond the float range
        return None
    return None


def _match_level(attr, value):
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    text = value if isinstance(value, str) else None
    if text is not None:
        t = text.strip()
        for i, lab in enumerate(attr.labels):
            if lab == t:
                return i
    else:
        for i, v in enumerate(attr.levels):
            if type(v) is type(value) and v == value:
                return i
        if isinstance(value, bool):
            return None
    if attr.numeric:
        x = _as_number(value)
        if x is not None and math.isfinite(x):
            for i, v in enumerate(attr.levels):
                if abs(float(v) - x) <= 1e-9 * max(1.0, abs(x)):
                    return i
    if text is None and value is not None:
        for i, lab in enumerate(attr.labels):
            if lab == str(value):
                return i
    return None


@dataclass
class FixedAlternative:
    """The status quo (with levels) or the opt-out (without): its label, ASC name and ASC prior."""

    kind: str                    # "status_quo" | "opt_out"
    label: str
    asc: str
    levels: tuple = ()           # level indices (status quo only)
    prior_mean: float = 0.0
    prior_sd: float = 0.0


@dataclass
class DesignSpec:
    """A checked design file.  See the module docstring for the coding.

    Attributes
    ----------
    name, source : str
        The design's name and the file it was read from.
    alternatives : int
        m, designed alternatives per task.
    tasks, blocks : int
        S tasks, in B blocks of equal size.
    attributes : list of Attribute
        The A attributes with their levels, coding and prior.
    status_quo, opt_out : FixedAlternative or None
        Alternatives shown after the designed ones in every task.
    constraints : list of Constraint
        Compiled conditions that profiles must not meet.
    draws : int
        Quasi-random prior draws R for a Bayesian prior.
    draw_type : {"halton", "sobol"}
        Their point set.
    dominance : bool
        Avoid dominated alternatives.
    method : {"coordinate_exchange", "full_factorial"}
        How :func:`dce.design.generate.make_design` makes the design.
    level_balance : {"strict", "relaxed", "off"}
        ``strict`` (default; YAML ``level_balance: true``): every level of every attribute appears equally
        often, within one, over the design and within each block (a balanced start, then only swaps of
        levels within a block); ``relaxed``: a balanced start, then single level changes as long as every
        level keeps at least half its balanced count; ``off`` (``false``): the unconstrained search.
    description : str
        Free text, shown in the questionnaire.

    The coded model has P = :attr:`n_params` columns (:attr:`param_names`): :attr:`coded_names` of the
    attributes, then :attr:`asc_names` of the status quo / opt-out.
    """

    name: str
    source: str
    alternatives: int
    tasks: int
    blocks: int
    attributes: list
    status_quo: FixedAlternative | None = None
    opt_out: FixedAlternative | None = None
    constraints: list = field(default_factory=list)
    draws: int = 200
    draw_type: str = "halton"
    dominance: bool = True
    method: str = "coordinate_exchange"
    description: str = ""
    level_balance: str = "strict"

    def __post_init__(self):
        self._tables = [a.table for a in self.attributes]
        self._offsets = np.cumsum([0] + [t.shape[1] for t in self._tables])
        self._feasible_table = None
        self._profiles = None

    # ------------------------------------------------------------------ names
    @property
    def attribute_names(self) -> list:
        """The A attribute names, in order."""
        return [a.name for a in self.attributes]

    def attribute(self, name: str) -> Attribute:
        """The attribute called ``name`` (a DCEError naming the file when there is none)."""
        for a in self.attributes:
            if a.name == name:
                return a
        raise DCEError(f"{self.source}: no attribute '{name}' (attributes: {', '.join(self.attribute_names)})")

    @property
    def coded_names(self) -> list:
        """Names of the attribute columns of the model, in order (no ASCs)."""
        return [c for a in self.attributes for c in a.columns]

    @property
    def asc_names(self) -> list:
        """ASC columns: ``asc_status_quo`` and/or ``asc_opt_out`` when those alternatives exist."""
        return [f.asc for f in (self.status_quo, self.opt_out) if f is not None]

    @property
    def param_names(self) -> list:
        """All model parameters: the coded attribute columns then the ASCs."""
        return self.coded_names + self.asc_names

    @property
    def n_coded(self) -> int:
        return int(self._offsets[-1])

    @property
    def n_params(self) -> int:
        return self.n_coded + len(self.asc_names)

    @property
    def n_levels(self) -> np.ndarray:
        return np.array([a.n_levels for a in self.attributes])

    @property
    def n_profiles(self) -> int:
        return int(np.prod(self.n_levels.astype(object)))

    # ------------------------------------------------------------------ priors
    @property
    def prior_mean(self) -> np.ndarray:
        parts = [a.prior_mean for a in self.attributes]
        parts += [np.array([f.prior_mean]) for f in (self.status_quo, self.opt_out) if f is not None]
        return np.concatenate(parts).astype(float)

    @property
    def prior_sd(self) -> np.ndarray:
        parts = [a.prior_sd if a.prior_sd is not None else np.zeros(len(a.columns)) for a in self.attributes]
        parts += [np.array([f.prior_sd]) for f in (self.status_quo, self.opt_out) if f is not None]
        return np.concatenate(parts).astype(float)

    @property
    def bayesian(self) -> bool:
        """Whether the prior has standard deviations (a Bayesian design)."""
        return bool(np.any(self.prior_sd > 0))

    # ------------------------------------------------------------------ coding
    def level_index(self, attribute, value, where=None) -> int:
        """Index of ``value`` (label text or value) among the levels of ``attribute``; DCEError if none.

        ``where`` prefixes error messages (default: the design file), e.g. a scenario in a scenarios file.
        """
        a = self.attribute(attribute)
        i = a.index(value)
        if i is None:
            raise DCEError(f"{where or self.source}: '{value}' is not a level of '{a.name}' (levels: {', '.join(a.labels)})"
                           + ("" if a.coding == "linear" else f"; '{a.name}' is {a.coding}-coded, so only its levels "
                              "have an effect (values between levels need linear coding)"))
        return i

    def levels_to_indices(self, levels: dict, where=None) -> np.ndarray:
        """A levels dict ``{attribute: level}`` (every attribute) as level indices."""
        where = where or self.source
        if not isinstance(levels, dict):
            raise DCEError(f"{where}: an alternative must be given as {{attribute: level}}")
        unknown = [k for k in levels if k not in self.attribute_names]
        if unknown:
            raise DCEError(f"{where}: unknown attribute '{unknown[0]}' "
                           f"(attributes: {', '.join(self.attribute_names)})")
        missing = [a for a in self.attribute_names if a not in levels]
        if missing:
            raise DCEError(f"{where}: no level given for attribute '{missing[0]}'")
        return np.array([self.level_index(a, levels[a], where) for a in self.attribute_names])

    def code_indices(self, idx) -> np.ndarray:
        """Coded attribute columns of level indices ``[..., n_attributes]`` -> ``[..., n_coded]``."""
        idx = np.asarray(idx)
        return np.concatenate([t[idx[..., k]] for k, t in enumerate(self._tables)], axis=-1)

    def code_levels(self, levels: dict, where=None) -> np.ndarray:
        """Coded attribute columns (``coded_names``) of one alternative given as ``{attribute: level}``.

        A linearly coded attribute also takes a number between its lowest and highest level (its
        coefficient applies anywhere on that range); a dummy- or effects-coded one only its levels."""
        where = where or self.source
        if not isinstance(levels, dict):
            raise DCEError(f"{where}: an alternative must be given as {{attribute: level}}")
        off = {}
        for a in self.attributes:
            if a.name in levels and a.coding == "linear" and a.numeric and a.index(levels[a.name]) is None:
                x = _as_number(levels[a.name])
                if x is None or not math.isfinite(x):
                    continue                                  # not a number: level_index says so
                lo, hi = min(map(float, a.levels)), max(map(float, a.levels))
                if not lo <= x <= hi:
                    raise DCEError(f"{where}: {levels[a.name]!r} for '{a.name}' is outside its levels ({lo:g} to "
                                   f"{hi:g}): a linear effect is not extrapolated beyond the design")
                off[a.name] = x
        if not off:
            return self.code_indices(self.levels_to_indices(levels, where))
        grid = dict(levels)
        for n in off:
            grid[n] = self.attribute(n).levels[0]
        out = self.code_indices(self.levels_to_indices(grid, where))
        for n, x in off.items():
            out[self.coded_names.index(n)] = x
        return out

    def code_alternative(self, levels: dict | None = None, kind: str = "designed", where=None) -> np.ndarray:
        """The full parameter vector row (``param_names``) of one alternative.

        ``kind``: ``designed`` (a scenario; ``levels`` required), ``status_quo`` (``levels`` default to
        the status quo's, ASC 1) or ``opt_out`` (no attributes, ASC 1).
        """
        x = np.zeros(self.n_params)
        if kind == "opt_out":
            if self.opt_out is None:
                raise DCEError(f"{self.source}: the design has no opt-out alternative")
            x[self.param_names.index(self.opt_out.asc)] = 1.0
            return x
        if kind == "status_quo":
            if self.status_quo is None:
                raise DCEError(f"{self.source}: the design has no status quo alternative")
            x[: self.n_coded] = (self.code_levels(levels, where) if levels is not None
                                 else self.code_indices(np.array(self.status_quo.levels)))
            x[self.param_names.index(self.status_quo.asc)] = 1.0
            return x
        if kind != "designed":
            raise ValueError(f"kind must be designed, status_quo or opt_out, not {kind!r}")
        if levels is None:
            raise DCEError(f"{self.source}: a designed alternative needs its levels")
        x[: self.n_coded] = self.code_levels(levels, where)
        return x

    def fixed_rows(self) -> np.ndarray:
        """Coded rows (``n_fixed x n_params``) of the status quo and opt-out, in the order shown."""
        rows = []
        if self.status_quo is not None:
            rows.append(self.code_alternative(kind="status_quo"))
        if self.opt_out is not None:
            rows.append(self.code_alternative(kind="opt_out"))
        return np.array(rows).reshape(len(rows), self.n_params)

    def labels_of(self, idx) -> dict:
        """``{attribute: label}`` of a profile of level indices."""
        return {a.name: a.labels[int(i)] for a, i in zip(self.attributes, idx)}

    # ------------------------------------------------------------------ feasibility
    @property
    def strides(self) -> np.ndarray:
        """Mixed-radix strides: profile number = idx @ strides (first attribute slowest)."""
        L = self.n_levels
        s = np.ones(len(L), dtype=np.int64)
        for k in range(len(L) - 2, -1, -1):
            s[k] = s[k + 1] * L[k + 1]
        return s

    def all_profiles(self) -> np.ndarray:
        """Every profile of the full factorial as level indices (n_profiles x n_attributes)."""
        cached = getattr(self, "_profiles", None)
        if cached is not None:
            return cached
        L = self.n_levels
        grids = np.meshgrid(*[np.arange(n, dtype=np.int32) for n in L], indexing="ij")
        out = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64 if len(L) * int(np.prod(L)) < 2**20
                                                                    else np.int32)
        if out.shape[0] <= MAX_TABLE:
            self._profiles = out
        return out

    def violates(self, idx) -> np.ndarray:
        """Boolean ``[...]``: whether each profile (level indices ``[..., n_attributes]``) breaks a constraint."""
        idx = np.asarray(idx)
        out = np.zeros(idx.shape[:-1], bool)
        for c in self.constraints:
            out |= c.violated(idx)
        return out

    def feasible_table(self) -> np.ndarray | None:
        """Feasibility of every profile by profile number, or None when the factorial is too large."""
        if self._feasible_table is None and self.n_profiles <= MAX_TABLE:
            self._feasible_table = ~self.violates(self.all_profiles())
        return self._feasible_table


# --------------------------------------------------------------------------------------------------
def load_design_spec(path) -> DesignSpec:
    """Read and check a design file (YAML).

    Parameters
    ----------
    path : str or path-like
        The design file (see the module docstring).

    Returns
    -------
    DesignSpec

    Raises
    ------
    dce.errors.DCEError
        Naming the file, the key (``attributes.delegation.prior``) and its line for any problem; the
        YAML is read safely (plain data, nothing executed, no custom tags).
    """
    path = os.fspath(path)
    return _parse(YamlDoc.load(path, what="design file"))


def parse_design_spec(text: str, source: str = "<design>") -> DesignSpec:
    """Like :func:`load_design_spec`, from YAML text (``source`` names it in messages)."""
    return _parse(YamlDoc(text, source, what="design file"))


MAX_ALTERNATIVES, MAX_TASKS, MAX_DRAWS = 100, 10_000, 100_000


def _parse(doc) -> DesignSpec:
    source = doc.source
    d = doc.data
    if not isinstance(d, dict):
        raise doc.error((), "a design file is a mapping with keys such as attributes, alternatives, tasks")
    for k in d:
        if k not in TOP_KEYS:
            raise doc.error((k,), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})", indentation=k in ALL_KEYS)

    def integer(key, default=None, minimum=1, maximum=None):
        if key not in d:
            if default is None:
                raise doc.error((), f"missing key '{key}'")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise doc.error((key,), f"must be a whole number, not {v!r}")
        if v < minimum:
            raise doc.error((key,), f"must be at least {minimum}, not {v}")
        if maximum is not None and v > maximum:
            raise doc.error((key,), f"must be at most {maximum:,}, not {v:,}")
        return v

    name = d.get("name", os.path.splitext(os.path.basename(source))[0])
    if not isinstance(name, (str, int)):
        raise doc.error(("name",), "must be text")
    method = d.get("method", "coordinate_exchange")
    if method not in ("coordinate_exchange", "full_factorial"):
        raise doc.error(("method",), f"must be coordinate_exchange or full_factorial, not {method!r}")
    # the maxima are far beyond any survey; they keep a slip (tasks: 1000000000000) from a search of years
    alternatives = integer("alternatives", minimum=1, maximum=MAX_ALTERNATIVES)
    tasks = integer("tasks", default=0 if method == "full_factorial" else None, minimum=0, maximum=MAX_TASKS)
    blocks = integer("blocks", default=1, maximum=MAX_TASKS)
    draws = integer("draws", default=200, minimum=1, maximum=MAX_DRAWS)
    draw_type = d.get("draw_type", "halton")
    if draw_type not in ("halton", "sobol"):
        raise doc.error(("draw_type",), f"must be halton or sobol, not {draw_type!r}")
    dominance = d.get("dominance", True)
    if not isinstance(dominance, bool):
        raise doc.error(("dominance",), "must be true or false")
    balance = d.get("level_balance", True)
    balance = {True: "strict", False: "off"}.get(balance, balance) if isinstance(balance, bool) else balance
    if balance not in ("strict", "relaxed", "off"):
        raise doc.error(("level_balance",), f"must be true (strict), relaxed or false (off), not {balance!r}")

    # attributes
    attrs_raw = d.get("attributes")
    if attrs_raw is None:
        raise doc.error((), "missing key 'attributes'")
    if not isinstance(attrs_raw, dict) or not attrs_raw:
        raise doc.error(("attributes",), "must map attribute names to their levels, coding and prior")
    attributes = [_attribute_checked(doc, k, v) for k, v in attrs_raw.items()]

    status_quo = None
    if d.get("status_quo") not in (None, False):
        status_quo = _status_quo(doc, d["status_quo"], attributes)
    opt_out = None
    oo = d.get("opt_out", False)
    if oo not in (None, False):
        opt_out = _opt_out(doc, oo)
    if alternatives < 2 and status_quo is None and opt_out is None:
        raise doc.error(("alternatives",), "a task needs at least 2 alternatives (or 1 with a status quo or opt-out)")

    constraints = _constraints(doc, attributes)
    spec = DesignSpec(name=str(name), source=source, alternatives=alternatives, tasks=tasks, blocks=blocks,
                      attributes=attributes, status_quo=status_quo, opt_out=opt_out, constraints=constraints,
                      draws=draws, draw_type=draw_type, dominance=dominance, method=method,
                      description=str(d.get("description", "") or ""), level_balance=balance)
    _cross_check(doc, spec)
    return spec


def _constraints(doc, attributes) -> list:
    """The compiled ``constraints`` of the design file."""
    constraints = []
    cons = doc.data.get("constraints") or []
    if not isinstance(cons, list):
        raise doc.error(("constraints",), "must be a list of conditions, e.g. - \"delegation == 'none' and workweek < 50\"")
    for i, text_c in enumerate(cons):
        try:
            constraints.append(Constraint(text_c, attributes))
        except ConstraintSyntaxError as e:
            raise doc.error(("constraints", i), f"{e}") from None
    return constraints


def _cross_check(doc, spec) -> None:
    """Checks across keys: blocks against tasks, the constraints against the profiles and the status quo;
    a full factorial's number of tasks (set on ``spec``)."""
    tasks, blocks, alternatives = spec.tasks, spec.blocks, spec.alternatives
    constraints, status_quo, method = spec.constraints, spec.status_quo, spec.method
    if tasks and blocks > tasks:
        raise doc.error(("blocks",), f"{blocks} blocks are more than the {tasks} tasks")
    if tasks and tasks % blocks:
        raise doc.error(("blocks",), f"{tasks} tasks cannot be split into {blocks} equal blocks")
    table = spec.feasible_table()
    if table is not None:
        n_feasible = int(table.sum())
        if n_feasible == 0:
            raise doc.error(("constraints",), "the constraints leave no feasible profile")
        if n_feasible < alternatives:
            raise doc.error(("constraints",), f"the constraints leave {n_feasible} feasible profiles, fewer "
                                              f"than the {alternatives} alternatives of a task")
        for i, c in enumerate(constraints):
            if not c.violated(spec.all_profiles()).any():
                raise doc.error(("constraints", i), "this constraint excludes no profile (check the levels)")
    if status_quo is not None and constraints:
        for i, c in enumerate(constraints):
            if c.violated(np.array(status_quo.levels)):
                raise doc.error(("constraints", i), "the status quo itself breaks this constraint")
    if method == "full_factorial" and table is not None:
        n_feasible = int(table.sum())
        if tasks not in (0, n_feasible):
            raise doc.error(("tasks",), f"a full factorial design has one task per feasible profile "
                                        f"({n_feasible}); leave 'tasks' out or set it to {n_feasible}")
        spec.tasks = n_feasible
        if n_feasible % blocks:
            raise doc.error(("blocks",), f"{n_feasible} tasks cannot be split into {blocks} equal blocks")
    if method == "full_factorial" and table is None:
        raise doc.error(("method",), f"a full factorial of {spec.n_profiles:,} profiles is too large to enumerate "
                                     f"(at most {MAX_TABLE:,}); use method: coordinate_exchange with a number of "
                                     "tasks")
    if spec.tasks == 0:
        raise doc.error(("tasks",), "must be at least 1")
    _check_identifiable(doc, spec)


def _check_identifiable(doc, spec) -> None:
    """Refuse more parameters than the tasks can ever identify: a task of J alternatives (status quo and
    opt-out included) tells J - 1 utility differences, so S tasks identify at most S (J - 1) parameters
    however many respondents answer them (the information matrix is singular, the D-error undefined)."""
    J = spec.alternatives + (spec.status_quo is not None) + (spec.opt_out is not None)
    most = spec.tasks * (J - 1)
    if spec.n_params > most:
        need = -(-spec.n_params // (J - 1))
        raise doc.error(("tasks",), f"{spec.tasks} tasks of {J} alternatives identify at most {most} parameters, "
                                    f"but the attributes have {spec.n_params}: give at least {need} tasks (or "
                                    "fewer levels or attributes)")


def _prior(doc, path, value, n, what):
    """Parse a prior: a number, a list of n numbers, or {mean: ..., sd: ...}. Returns (mean, sd or None)."""
    def numbers(v, p, label):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            raise doc.error(p, f"{label} must be a number or a list of numbers")
        if len(v) != n:
            raise doc.error(p, f"{label} has {len(v)} value{'s' if len(v) != 1 else ''} but {what} has "
                               f"{n} coded column{'s' if n != 1 else ''}")
        if any(abs(x) > SCALE_LIMIT for x in v):
            raise doc.error(p, f"{label} is too large in magnitude (beyond 1e100); rescale the attribute")
        arr = np.array(v, float)
        if not np.all(np.isfinite(arr)):
            raise doc.error(p, f"{label} must be finite")
        return arr

    if value is None:
        return np.zeros(n), None
    if isinstance(value, dict):
        for k in value:
            if k not in ("mean", "sd"):
                raise doc.error(path + (k,), "unknown key in a prior (known: mean, sd)", indentation=k in ALL_KEYS)
        if "mean" not in value:
            raise doc.error(path, "a Bayesian prior needs 'mean' (and 'sd')")
        mean = numbers(value["mean"], path + ("mean",), "prior mean")
        sd = None
        if "sd" in value:
            sd = numbers(value["sd"], path + ("sd",), "prior sd")
            if np.any(sd < 0):
                raise doc.error(path + ("sd",), "prior sd must not be negative")
        return mean, sd
    return numbers(value, path, "prior"), None


def _attribute_checked(doc, name, spec):
    """:func:`_attribute`; when an attribute is named like a key of the file (``coding``, ``status_quo``)
    and is refused, the message says that the line is likely mis-indented (a key read as an attribute)."""
    try:
        return _attribute(doc, name, spec)
    except DCEError as e:
        if name not in ALL_KEYS or "indentation" in e.message:
            raise
        raise DCEError(f"{e.message}; '{name}' is a key of the file, read here as an attribute: the indentation "
                       f"is likely wrong{doc.quote(doc.line(('attributes', name)))}") from None


def _attribute(doc, name, spec):
    path = ("attributes", name)
    if not _NAME.match(str(name)):
        raise doc.error(path, "an attribute name is letters, digits and _ (starting with a letter)")
    if name in ("block", "task", "alt"):
        raise doc.error(path, f"'{name}' is reserved for a design column; choose another attribute name")
    if isinstance(spec, list):
        spec = {"levels": spec}
    if not isinstance(spec, dict):
        if spec is None:
            line = doc.line(path)
            raise doc.error(path, "has nothing under it: its levels, coding and prior are indented under its name; "
                                  f"the indentation is likely wrong{doc.quote(line + 1 if line else None)}")
        raise doc.error(path, "must be a mapping with levels, coding and prior")
    for k in spec:
        if k not in ATTR_KEYS:
            raise doc.error(path + (k,), f"unknown key (known: {', '.join(sorted(ATTR_KEYS))})",
                            indentation=k in ALL_KEYS)
    levels = spec.get("levels")
    if not isinstance(levels, list) or len(levels) < 2:
        raise doc.error(path + ("levels",), "needs a list of at least 2 levels")
    labels = []
    for i, v in enumerate(levels):
        if isinstance(v, (dict, list)) or v is None:
            raise doc.error(path + ("levels", i), "a level is a number or text")
        if isinstance(v, float) and not math.isfinite(v):
            raise doc.error(path + ("levels", i), "a level must be finite")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0 \
                and not 1 / SCALE_LIMIT <= abs(v) <= SCALE_LIMIT:
            raise doc.error(path + ("levels", i), f"level {_magnitude(v)} is too {'large' if abs(v) > 1 else 'small'} in "
                                                  "magnitude to design with; rescale the attribute (another unit)")
        labels.append(str(doc.texts.get(path + ("levels", i), v)).strip())
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise doc.error(path + ("levels", i), f"level '{lab}' is given twice")
        if lab == "":
            raise doc.error(path + ("levels", i), "a level must not be empty")
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)
    if numeric:
        vals = [float(v) for v in levels]
        if len(set(vals)) != len(vals):
            raise doc.error(path + ("levels",), "numeric levels must differ")
    coding = spec.get("coding", "linear" if numeric else "dummy")
    if coding not in CODINGS:
        raise doc.error(path + ("coding",), f"must be dummy, effects or linear, not {coding!r}")
    if coding == "linear" and not numeric:
        raise doc.error(path + ("coding",), "linear coding needs numeric levels")
    reference = 0
    if "reference" in spec:
        if coding == "linear":
            raise doc.error(path + ("reference",), "a reference level applies to dummy or effects coding only")
        ref = spec["reference"]
        ref_text = doc.texts.get(path + ("reference",), str(ref))
        tmp = Attribute(name=name, levels=levels, labels=labels, coding=coding)
        idx = tmp.index(ref_text) if isinstance(ref, str) else tmp.index(ref)
        if idx is None:
            raise doc.error(path + ("reference",), f"'{ref_text}' is not a level (levels: {', '.join(labels)})")
        reference = idx
    attr = Attribute(name=name, levels=levels, labels=labels, coding=coding, reference=reference,
                     label=str(spec.get("label", name)), unit=str(spec.get("unit", "") or ""))
    n = len(attr.columns)
    attr.prior_mean, attr.prior_sd = _prior(doc, path + ("prior",), spec.get("prior"), n, f"'{name}'")
    return attr


def _status_quo(doc, sq, attributes):
    path = ("status_quo",)
    if not isinstance(sq, dict):
        raise doc.error(path, "must be a mapping with label and levels (one level per attribute)")
    for k in sq:
        if k not in ("label", "levels", "prior"):
            raise doc.error(path + (k,), "unknown key (known: label, levels, prior)", indentation=k in ALL_KEYS)
    levels = sq.get("levels")
    if not isinstance(levels, dict):
        raise doc.error(path + ("levels",) if "levels" in sq else path,
                        "needs 'levels': {attribute: level} for every attribute")
    names = [a.name for a in attributes]
    for k in levels:
        if k not in names:
            raise doc.error(path + ("levels", k), f"unknown attribute (attributes: {', '.join(names)})")
    idx = []
    for a in attributes:
        if a.name not in levels:
            raise doc.error(path + ("levels",), f"no level given for attribute '{a.name}'")
        v = levels[a.name]
        text = doc.texts.get(path + ("levels", a.name))
        i = a.index(text) if text is not None else None
        if i is None:
            i = a.index(v)
        if i is None:
            raise doc.error(path + ("levels", a.name), f"'{text if text is not None else v}' is not a level of "
                                                       f"'{a.name}' (levels: {', '.join(a.labels)})")
        idx.append(i)
    mean, sd = _prior(doc, path + ("prior",), sq.get("prior"), 1, "the status quo constant")
    return FixedAlternative(kind="status_quo", label=str(sq.get("label", "current situation")),
                            asc=ASC_STATUS_QUO, levels=tuple(idx), prior_mean=float(mean[0]),
                            prior_sd=float(sd[0]) if sd is not None else 0.0)


def _opt_out(doc, oo):
    path = ("opt_out",)
    if oo is True:
        oo = {}
    if not isinstance(oo, dict):
        raise doc.error(path, "must be true, false, or a mapping with label and prior")
    for k in oo:
        if k not in ("label", "prior"):
            raise doc.error(path + (k,), "unknown key (known: label, prior)", indentation=k in ALL_KEYS)
    mean, sd = _prior(doc, path + ("prior",), oo.get("prior"), 1, "the opt-out constant")
    return FixedAlternative(kind="opt_out", label=str(oo.get("label", "neither")), asc=ASC_OPT_OUT,
                            prior_mean=float(mean[0]), prior_sd=float(sd[0]) if sd is not None else 0.0)
