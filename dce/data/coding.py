"""The coding of alternatives: the one home of a model's coding ``spec`` and the one reader of it.

Data builders code the estimation data and record how in ``ChoiceData.spec`` (kept in every model's
results JSON, key ``spec``).  Two kinds of spec exist:

* ``formula`` (:func:`dce.data.build.choice_data_from_formula`): the formula's terms and factor codings;
  alternatives are given as column values, e.g. ``{pf: 7, cl: 1, loc: 1}``, and coded again by
  :func:`dce.data.build.rebuild_design`.
* ``design`` (:func:`design_coding`, the survey reader and power analysis): a design file's attributes and
  coding (:mod:`dce.design.spec`), embedded as its YAML text; alternatives are given as attribute levels,
  the status quo filling in levels left out.

Everything else (willingness-to-pay space, shares, WTP and attribute importance, power, the report) asks
the coder that :func:`coding_for` makes from a spec, and never reads the dict itself.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from dce.data.build import inner_expression, rebuild_design
from dce.design.spec import parse_design_spec
from dce.errors import ArgumentError, DCEError
from dce.expr import parse

# what a spec of the wrong shape (a results file edited by hand, or damaged) raises while it is read
MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError)


def malformed(source, e) -> DCEError:
    """The one line for a spec of the wrong shape."""
    return DCEError(f"{source}: key 'spec' is malformed ({type(e).__name__}: {e})")


def _spec_guard(method):
    """A coder method: a failure that is not the user's DCEError comes from a malformed spec."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DCEError:
            raise
        except MALFORMED as e:
            raise malformed(self.source, e) from None
    return wrapper


class FormulaCoder:
    """Alternatives as column values, coded by the formula stored with the model."""

    has_status_quo = False
    opt_out_label = None
    has_opt_out = None      # not known here: a formula model says so itself when asked to code an opt-out

    @_spec_guard
    def profiles(self, by=None):
        if by is not None:
            raise ArgumentError("by", f"the model has no interaction with '{by}' (shares by group need a model "
                                      "fitted from a survey export with covariate interactions)")
        return [({}, 1.0)]

    @_spec_guard
    def code_rows(self, levels, profiles, where="scenario", kind="designed"):
        return self.code(levels, where=where, kind=kind)[None, :]

    def __init__(self, spec, source):
        self.spec = spec
        self.source = source
        self.names = list(spec["names"])
        self.attributes = _formula_columns(spec)

    @_spec_guard
    def code(self, levels: dict, where="scenario", kind="designed"):
        import pandas as pd

        if kind != "designed":
            raise DCEError(f"{where}: a model fitted from a formula has no {kind.replace('_', ' ')}; "
                           "give the reference alternative's values explicitly")
        if not isinstance(levels, dict) or not levels:
            raise DCEError(f"{where}: give the alternative as {{column: value}}")
        unknown = [k for k in levels if k not in self.attributes]
        if unknown:
            raise DCEError(f"{where}: unknown attribute '{unknown[0]}' (the model uses: {', '.join(self.attributes)})")
        missing = [k for k in self.attributes if k not in levels]
        if missing:
            raise DCEError(f"{where}: no value for '{missing[0]}'")
        return rebuild_design(self.spec, pd.DataFrame([levels]), source=where)[0]

    @_spec_guard
    def numeric_attribute(self, name):
        """Whether ``name`` is a numeric (linearly coded) column of the model."""
        info = self.spec["factors"].get(name)
        return info is not None and info["kind"] == "numeric" and name in self.names

    def is_categorical(self, name):
        """Whether ``name`` is a categorical factor of the formula, or the column one reads."""
        factors = self.spec.get("factors") or {}
        info = factors.get(name)
        cols = [f for f, i in factors.items() if i.get("kind") == "categorical" and i.get("column") == name]
        return (info is not None and info.get("kind") == "categorical") or bool(cols)

    @_spec_guard
    def utility_ranges(self, beta: dict) -> dict:
        """{factor: range of its utility contribution} at coefficients ``beta`` (name -> value): over the
        levels of a categorical factor (reference 0), over the observed range of a numeric one."""
        ranges = {}
        for f, info in self.spec["factors"].items():
            if info["kind"] == "categorical":
                cols = [n for n in self.names if n.startswith(self._prefix(f, info))]
                u = [0.0] + [beta[n] for n in cols]
                ranges[f] = float(max(u) - min(u))
            elif f in beta and "range" in info:
                lo, hi = info["range"]
                ranges[f] = float(abs(beta[f]) * (hi - lo))
        return ranges

    def _prefix(self, f, info):
        """How the dummies of the categorical factor ``f`` begin: ``column[`` (``f[`` in a model fitted
        before version 0.2, whose spec has no ``dummy_names``)."""
        return f"{info.get('column', f)}[" if self.spec.get("dummy_names") else f + "["

    def coding_rows(self) -> list:
        """(attribute, coding, levels, reference, columns) rows: how each factor enters utility."""
        rows = []
        refs = self.spec.get("references") or {}
        for f, info in self.spec["factors"].items():
            if not isinstance(info, dict):
                continue
            kind = info.get("kind", "")
            if kind == "categorical":
                levels = ", ".join(map(str, info.get("levels", [])))
                rows.append([f, "dummy (treatment)", levels, str(info.get("reference", refs.get(f, ""))),
                             ", ".join(n for n in self.spec.get("names", []) if n.startswith(self._prefix(f, info)))])
            else:
                rng = info.get("range")
                rows.append([f, "linear", f"range {rng[0]:g} to {rng[1]:g}" if isinstance(rng, list) and len(rng) == 2
                             else "", "", str(info.get("expr", f))])
        return rows


def _formula_columns(spec):
    """The data columns a formula's factors read (what a scenario must give)."""
    cols = []
    for f, info in spec["factors"].items():
        if info["kind"] == "categorical":
            cols.append(info["column"])
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", f):
            cols.append(f)
        else:
            cols.extend(sorted(parse(inner_expression(f), where=f).names))
    return list(dict.fromkeys(cols))


def _embedded_design(parse, text, design_source, source):
    """The design saved in a model file (key ``spec.design_yaml``); a damaged one is an error of the model file
    ``source`` (its messages named the design file the model was once fitted from, which may be fine)."""
    ds = str(design_source or source)
    try:
        return parse(text, source=ds)
    except DCEError as e:
        msg = e.message[len(ds) + 2:] if e.message.startswith(ds + ": ") else e.message
        raise DCEError(f"{source}: key 'spec.design_yaml' (the design {ds} as saved with the model): {msg}") from None


class DesignCoder:
    """Alternatives as attribute levels, coded by the design file embedded in the model."""

    def __init__(self, spec, source):
        text = spec.get("design_yaml")
        if not text:
            raise DCEError(f"{source}: the model's spec has no design")
        self.design = _embedded_design(parse_design_spec, text, spec.get("design_source"), source)
        self.spec = spec
        self.source = source
        self.names = list(spec.get("names") or self.design.param_names)
        known = set(self.design.param_names)
        for n in self.names:
            if n not in known and n.split(":", 1)[0] not in known:
                raise DCEError(f"{source}: coefficient '{n}' is not a column of the design "
                               f"{self.design.name!r} ({', '.join(self.design.param_names)}); was the model fitted "
                               "on another design?")
        self.attributes = self.design.attribute_names
        self.has_status_quo = self.design.status_quo is not None
        self.opt_out_label = self.design.opt_out.label if self.design.opt_out is not None else None
        self.has_opt_out = self.opt_out_label is not None

    def status_quo_levels(self):
        sq = self.design.status_quo
        return self.design.labels_of(sq.levels) if sq is not None else None

    @_spec_guard
    def profiles(self, by=None):
        """Covariate profiles of the fitted sample: list of (values dict, weight); one empty profile without.

        ``by``: keep the covariate ``by`` as a grouping key: returns {level: [(values, weight), ...]}.
        """
        profs = [(p["values"], float(p["weight"])) for p in self.spec.get("covariate_profiles") or []]
        if not profs:
            profs = [({}, 1.0)]
        if by is None:
            return profs
        covs = self.spec.get("covariates") or {}
        if by not in covs:
            raise ArgumentError("by", f"the model has no interaction with '{by}' "
                           f"(covariates: {', '.join(covs) or 'none'})")
        groups = {}
        for values, w in profs:
            groups.setdefault(values[by], []).append((values, w))
        return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))

    @_spec_guard
    def code_rows(self, levels, profiles, where="scenario", kind="designed"):
        """Coded rows of one alternative for each covariate profile (profiles x coefficients)."""
        base = self.code(levels, where=where, kind=kind)
        inter = self.spec.get("interactions") or []
        if not inter:
            return np.repeat(base[None, :], len(profiles), axis=0)
        covs = self.spec["covariates"]
        rows = np.repeat(base[None, :], len(profiles), axis=0)
        for p, (values, _) in enumerate(profiles):
            for coef, cov in inter:
                b = base[self.names.index(coef)]
                info = covs[cov]
                if info["kind"] == "categorical":
                    for lv in info["levels"][1:]:
                        rows[p, self.names.index(f"{coef}:{cov}[{lv}]")] = b * (str(values[cov]) == lv)
                else:
                    rows[p, self.names.index(f"{coef}:{cov}")] = b * float(values[cov])
        return rows

    @_spec_guard
    def code(self, levels: dict, where="scenario", kind="designed"):
        if kind == "opt_out":
            return self._align(self.design.code_alternative(kind="opt_out"))
        if not isinstance(levels, dict):
            raise DCEError(f"{where}: give the alternative as {{attribute: level}}")
        # attributes a scenario leaves out keep their status-quo level; the design checks the rest
        full = dict(self.status_quo_levels() or {})
        full.update(levels)
        return self._align(self.design.code_alternative(full, kind=kind, where=where))

    def _align(self, x):
        names = self.design.param_names
        return np.array([x[names.index(n)] if n in names else 0.0 for n in self.names])

    @_spec_guard
    def numeric_attribute(self, name):
        try:
            a = self.design.attribute(name)
        except DCEError:
            return False
        return a.coding == "linear"

    def is_categorical(self, name):
        """Whether ``name`` is a dummy-coded attribute of the design."""
        try:
            return self.design.attribute(name).coding != "linear"
        except DCEError:
            return False

    @_spec_guard
    def utility_ranges(self, beta: dict) -> dict:
        """{attribute: range of its utility over its levels} at coefficients ``beta`` (name -> value)."""
        ranges = {}
        for a in self.design.attributes:
            u = a.table @ np.array([beta.get(col, 0.0) for col in a.columns])
            ranges[a.name] = float(u.max() - u.min())
        return ranges

    def coding_rows(self) -> list:
        """(attribute, coding, levels, reference, columns) rows: how each attribute enters utility."""
        return [[a.name, a.coding, ", ".join(map(str, a.labels)),
                 "" if a.coding == "linear" else str(a.labels[a.reference]), ", ".join(a.columns)]
                for a in self.design.attributes]


def design_coding(design_spec, spec_text, names=None) -> dict:
    """The spec of data coded from a design file (``spec_text``, the file's YAML, kept with the model so
    that scenarios are coded alike later)."""
    return {"type": "design", "design_yaml": spec_text, "design_source": design_spec.source,
            "names": list(design_spec.param_names if names is None else names)}


def coding_for(spec, source="model"):
    """The coder of new alternatives under ``spec`` (a :class:`FormulaCoder` or a :class:`DesignCoder`);
    a spec that cannot code alternatives, or one of the wrong shape, is one line naming ``source``."""
    if not isinstance(spec, dict):
        raise DCEError(f"{source}: key 'spec' is not a mapping")
    kind = spec.get("type")
    try:
        if kind == "formula":
            return FormulaCoder(spec, source)
        if kind == "design":
            return DesignCoder(spec, source)
    except DCEError:
        raise
    except MALFORMED as e:
        raise malformed(source, e) from None
    raise DCEError(f"{source}: the model's spec (type '{kind}') cannot code new alternatives; "
                   "fit it with a formula or from a design")


def is_categorical(spec, name) -> bool:
    """Whether ``name`` is a categorical factor (formula) or a dummy-coded attribute (design) of ``spec``;
    False where the spec cannot tell."""
    try:
        return coding_for(spec).is_categorical(name)
    except DCEError:
        return False


def references(spec) -> dict:
    """{factor: reference level} of a formula's categorical factors (empty for other specs)."""
    refs = spec.get("references") if isinstance(spec, dict) else None
    return refs if isinstance(refs, dict) else {}
