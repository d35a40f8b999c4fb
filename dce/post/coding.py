"""The coding of new alternatives (scenarios, a reference) under a fitted model.

Post-estimation (shares, willingness to pay) codes alternatives with the ``spec`` that a result
(:class:`dce.models.results.ModelResult`, read back from the JSON of `dce fit --output` or fitted in
memory) carries.  Two kinds of spec are understood:

* ``formula``: the formula's terms and factor codings (:func:`dce.data.build.rebuild_design`);
  alternatives are given as column values, e.g. ``{pf: 7, cl: 1, loc: 1}``.
* ``design``: a design file's attributes and coding (:mod:`dce.design.spec`), embedded in the JSON;
  alternatives are given as attribute levels, the status quo filling in levels left out.
"""
from __future__ import annotations

import functools

import numpy as np

from dce.errors import ArgumentError, DCEError

# what a spec of the wrong shape (a results file edited by hand, or damaged) raises while it is read
_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError)


def _malformed(source, e) -> DCEError:
    return DCEError(f"{source}: key 'spec' is malformed ({type(e).__name__}: {e})")


def _spec_guard(method):
    """A coder method: a failure that is not the user's DCEError comes from a malformed spec."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DCEError:
            raise
        except _MALFORMED as e:
            raise _malformed(self.source, e) from None
    return wrapper


def coder_for(result):
    """The coder of new alternatives under a fitted model (:class:`dce.models.results.ModelResult`).

    The coder is kept on the result, so scenarios coded for shares and WTP share one design parse.
    """
    coder = getattr(result, "_coder", None)
    if coder is not None:
        return coder
    source = result.source or "model"
    kind = result.spec.get("type")
    try:
        if kind == "formula":
            coder = FormulaCoder(result.spec, source)
        elif kind == "design":
            coder = DesignCoder(result.spec, source)
        else:
            raise DCEError(f"{source}: the model's spec (type '{kind}') cannot code new alternatives; "
                           "fit it with a formula or from a design")
    except DCEError:
        raise
    except _MALFORMED as e:
        raise _malformed(source, e) from None
    if list(coder.names) != list(result.coef_names):
        raise DCEError(f"{source}: the model's coefficients ({', '.join(result.coef_names)}) do not "
                       f"match its spec ({', '.join(coder.names)}); was it fitted on another design?")
    result._coder = coder
    return coder


class FormulaCoder:
    """Alternatives as column values, coded by the formula stored with the model."""

    has_status_quo = False

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

        from dce.data.build import rebuild_design

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


def _formula_columns(spec):
    """The data columns a formula's factors read (what a scenario must give)."""
    import re

    from dce.data.build import _inner

    cols = []
    for f, info in spec["factors"].items():
        if info["kind"] == "categorical":
            cols.append(info["column"])
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", f):
            cols.append(f)
        else:
            from dce.expr import parse

            cols.extend(sorted(parse(_inner(f), where=f).names))
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
        from dce.design.spec import parse_design_spec

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
        self.has_opt_out = self.design.opt_out is not None

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
