"""Design constraints: conditions on one alternative's levels, in the one restricted expression language.

A constraint names a combination of levels that may not appear within one alternative, for example::

    delegation == 'none' and workweek < 50
    population in ['larger', 'smaller'] and not (income >= 0)

The text is parsed by :mod:`dce.expr` (Python's :mod:`ast`, a whitelist of node types, never
``eval``), then checked against the attributes: names are attributes; text compares with level labels
as written in the YAML (``==``, ``!=``, ``in``); numbers compare with numeric levels; comparisons are
not chained; the whole is a condition (comparisons joined by ``and``/``or``/``not``).  Evaluating it
over profiles (rows of level indices) looks up each attribute's levels and evaluates the expression on
those arrays (:meth:`Constraint.violated`).
"""
from __future__ import annotations

import ast

import numpy as np

from dce.errors import DCEError

_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}


class ConstraintSyntaxError(ValueError):
    """The text is not a valid constraint; the message says where."""


class Constraint:
    """A checked constraint: ``violated(idx)`` says which profiles (rows of level indices) it forbids.

    ``attributes`` is a sequence of objects with ``name``, ``labels`` (level text as written),
    ``levels`` (values) and ``numeric`` (all levels numbers).
    """

    def __init__(self, text: str, attributes):
        from dce import expr

        self.text = text
        self._attrs = {a.name: (i, a) for i, a in enumerate(attributes)}
        if not isinstance(text, str):
            raise ConstraintSyntaxError("a constraint must be text, e.g. \"delegation == 'none' and workweek < 50\"")
        if not text.strip():
            raise ConstraintSyntaxError("empty constraint")
        try:
            self._expr = expr.parse(text, where="constraint")
        except DCEError as e:
            raise ConstraintSyntaxError(e.message.removeprefix("constraint: ")) from None
        self._condition(self._expr._node)
        # each attribute's level values as the expression sees them: numbers, or labels as text
        self._values = {a.name: (np.array([float(v) for v in a.levels]) if a.numeric
                                 else np.array(a.labels, dtype=object)) for a in attributes}

    # ------------------------------------------------------------------ checks against the attributes
    def _condition(self, node):
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._condition(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._condition(node.operand)
        elif isinstance(node, ast.Compare):
            self._comparison(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise ConstraintSyntaxError(f"'{node.value}' is not allowed; compare attributes with levels")
        else:
            raise ConstraintSyntaxError(f"expected a comparison (==, !=, <, <=, >, >=, in) but found "
                                        f"'{ast.unparse(node)}'")

    def _comparison(self, node):
        if len(node.ops) > 1:
            raise ConstraintSyntaxError("chained comparisons are not allowed; join them with 'and'")
        op, left, right = node.ops[0], node.left, node.comparators[0]
        sym = _OPS[type(op)]
        if isinstance(left, (ast.List, ast.Tuple, ast.Set)):
            raise ConstraintSyntaxError("a list may only stand on the right of 'in'")
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                raise ConstraintSyntaxError(f"'{sym}' needs a list on its right, e.g. ['a', 'b']")
            for e in right.elts:
                self._operands(left, e, "==")
            return
        if isinstance(right, (ast.List, ast.Tuple, ast.Set)):
            raise ConstraintSyntaxError(f"'{sym}' cannot compare with a list; use 'in'")
        self._operands(left, right, sym)

    def _operand(self, node):
        """("attr", attribute) or ("lit", value) of one side of a comparison."""
        if isinstance(node, ast.Name):
            if node.id not in self._attrs:
                raise ConstraintSyntaxError(f"unknown attribute '{node.id}' (attributes: {', '.join(self._attrs)})")
            return "attr", self._attrs[node.id][1]
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            return "lit", node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            return "lit", -node.operand.value
        raise ConstraintSyntaxError(f"expected an attribute, a level or a list but found '{ast.unparse(node)}'")

    def _operands(self, left, right, sym):
        (lk, lv), (rk, rv) = self._operand(left), self._operand(right)
        if lk == "lit" and rk == "lit":
            if isinstance(lv, str) != isinstance(rv, str):
                raise ConstraintSyntaxError(f"cannot compare {lv!r} with {rv!r}")
            return
        if lk == "lit":
            (lk, lv), (rk, rv) = (rk, rv), (lk, lv)
        attr = lv
        if rk == "attr":
            if sym not in ("==", "!=") and not (attr.numeric and rv.numeric):
                raise ConstraintSyntaxError(f"'{sym}' needs numeric levels in '{attr.name}' and '{rv.name}'")
            return
        if isinstance(rv, str):
            if sym not in ("==", "!="):
                raise ConstraintSyntaxError(f"'{sym}' needs a number, not text '{rv}'")
            if rv not in attr.labels:
                raise ConstraintSyntaxError(f"'{rv}' is not a level of '{attr.name}' (levels: {', '.join(attr.labels)})")
        elif not attr.numeric:
            raise ConstraintSyntaxError(f"'{attr.name}' has text levels; compare it with text such as "
                                        f"'{attr.labels[0]}', not the number {rv}")

    # ------------------------------------------------------------------ evaluation
    def violated(self, idx) -> np.ndarray:
        """Which profiles the constraint forbids.

        ``idx`` (..., A) level indices of profiles (A attributes in the order given) -> (...) bool.
        """
        idx = np.asarray(idx)
        env = {name: self._values[name][idx[..., k]] for name, (k, _) in self._attrs.items()
               if name in self._expr.names}
        out = self._expr.evaluate(env)
        return np.broadcast_to(np.asarray(out, dtype=bool), idx.shape[:-1]).copy()

    def __repr__(self):
        return f"Constraint({self.text!r})"
