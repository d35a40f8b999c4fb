"""A small, safe language for design constraints: parsed by our own recursive-descent parser, never eval'd.

A constraint names a combination of levels that may not appear within one alternative, for example::

    delegation == 'none' and workweek < 50
    population in ['larger', 'smaller'] and not (income >= 0)

Grammar (keywords are lower case)::

    expr       := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison | '(' expr ')'
    comparison := operand OP operand          OP: == != < <= > >= in, not in
    operand    := NAME | 'text' | "text" | number | '[' literal (',' literal)* ']'

Names are attribute names.  Text compares with level labels as written in the YAML; numbers compare with
numeric levels; ``<``, ``<=``, ``>``, ``>=`` need numeric levels.  A constraint is compiled against the
attributes into boolean tables over level indices, so evaluating it over thousands of candidate profiles
is a few numpy look-ups (:meth:`Constraint.violated`).
"""
from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in"}
_CMP = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


class ConstraintSyntaxError(ValueError):
    """The text is not a valid constraint; the message says where."""


def tokenize(text: str):
    """Split constraint text into (kind, value) tokens; kind is num, str, op, kw or name."""
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConstraintSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}")
        pos = m.end()
        if m.group("num") is not None:
            s = m.group("num")
            out.append(("num", float(s) if any(c in s for c in ".eE") else int(s)))
        elif m.group("str") is not None:
            out.append(("str", m.group("str")[1:-1]))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            name = m.group("name")
            if name in ("True", "False", "None", "true", "false"):
                raise ConstraintSyntaxError(f"'{name}' is not allowed; compare attributes with levels")
            out.append(("kw" if name in _KEYWORDS else "name", name))
    return out


class _Parser:
    def __init__(self, tokens):
        self.t = tokens
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, kind, value=None):
        tok = self.take()
        if tok[0] != kind or (value is not None and tok[1] != value):
            want = value if value is not None else kind
            got = "the end" if tok[0] is None else repr(tok[1])
            raise ConstraintSyntaxError(f"expected {want!r} but found {got}")
        return tok

    def parse(self):
        if not self.t:
            raise ConstraintSyntaxError("empty constraint")
        node = self.expr()
        if self.i != len(self.t):
            raise ConstraintSyntaxError(f"unexpected {self.peek()[1]!r} after a complete condition")
        return node

    def expr(self):
        items = [self.and_expr()]
        while self.peek() == ("kw", "or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self):
        items = [self.not_expr()]
        while self.peek() == ("kw", "and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else ("and", items)

    def not_expr(self):
        if self.peek() == ("kw", "not"):
            self.take()
            return ("not", self.not_expr())
        if self.peek() == ("op", "("):
            self.take()
            node = self.expr()
            self.expect("op", ")")
            return node
        return self.comparison()

    def operand(self):
        kind, value = self.take()
        if kind == "name":
            return ("name", value)
        if kind in ("num", "str"):
            return ("lit", value)
        if (kind, value) == ("op", "["):
            items = []
            while True:
                k, v = self.take()
                if k not in ("num", "str"):
                    raise ConstraintSyntaxError("a list holds only text or numbers, e.g. ['a', 'b']")
                items.append(v)
                k, v = self.take()
                if (k, v) == ("op", "]"):
                    break
                if (k, v) != ("op", ","):
                    raise ConstraintSyntaxError("expected ',' or ']' in a list")
            return ("list", items)
        got = "the end" if kind is None else repr(value)
        raise ConstraintSyntaxError(f"expected an attribute, a level or a list but found {got}")

    def comparison(self):
        left = self.operand()
        kind, value = self.peek()
        if (kind, value) == ("kw", "not") and self.peek(1) == ("kw", "in"):
            self.take()
            self.take()
            op = "not in"
        elif (kind == "op" and value in _CMP) or (kind, value) == ("kw", "in"):
            self.take()
            op = value
        else:
            got = "the end" if kind is None else repr(value)
            raise ConstraintSyntaxError(f"expected a comparison (==, !=, <, <=, >, >=, in) but found {got}")
        right = self.operand()
        nxt = self.peek()
        if nxt[0] == "op" and nxt[1] in _CMP or nxt == ("kw", "in"):
            raise ConstraintSyntaxError("chained comparisons are not allowed; join them with 'and'")
        return ("cmp", op, left, right)


def parse(text: str):
    """Parse constraint text into a small tuple tree; raises ConstraintSyntaxError."""
    if not isinstance(text, str):
        raise ConstraintSyntaxError("a constraint must be text, e.g. \"delegation == 'none' and workweek < 50\"")
    return _Parser(tokenize(text)).parse()


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _compare(op, a, b):
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise AssertionError(op)


class Constraint:
    """A compiled constraint: ``violated(idx)`` says which profiles (rows of level indices) it forbids.

    ``attributes`` is a sequence of objects with ``name``, ``labels`` (level text as written),
    ``levels`` (values) and ``numeric`` (all levels numbers).
    """

    def __init__(self, text: str, attributes):
        self.text = text
        self._attrs = {a.name: (i, a) for i, a in enumerate(attributes)}
        self._tree = self._compile(parse(text))

    # compile: replace comparisons by ("mask", k, table) or ("mask2", k1, k2, table) or ("const", bool)
    def _attr(self, name):
        if name not in self._attrs:
            known = ", ".join(self._attrs)
            raise ConstraintSyntaxError(f"unknown attribute '{name}' (attributes: {known})")
        return self._attrs[name]

    def _level_matches(self, attr, op, lit):
        """Boolean array over the attribute's levels: level OP literal."""
        if op in ("in", "not in"):
            raise AssertionError
        if isinstance(lit, str):
            if op not in ("==", "!="):
                raise ConstraintSyntaxError(f"'{op}' needs a number, not text '{lit}'")
            if lit not in attr.labels:
                raise ConstraintSyntaxError(
                    f"'{lit}' is not a level of '{attr.name}' (levels: {', '.join(attr.labels)})")
            return np.array([_compare(op, lab, lit) for lab in attr.labels])
        if not attr.numeric:
            raise ConstraintSyntaxError(f"'{attr.name}' has text levels; compare it with text such as "
                                        f"'{attr.labels[0]}', not the number {lit}")
        return np.array([_compare(op, float(v), float(lit)) for v in attr.levels])

    def _compile(self, node):
        kind = node[0]
        if kind in ("and", "or"):
            return (kind, [self._compile(n) for n in node[1]])
        if kind == "not":
            return ("not", self._compile(node[1]))
        _, op, left, right = node
        if left[0] == "list":
            raise ConstraintSyntaxError("a list may only stand on the right of 'in'")
        if op in ("in", "not in"):
            if right[0] != "list":
                raise ConstraintSyntaxError(f"'{op}' needs a list on its right, e.g. ['a', 'b']")
            if left[0] == "lit":
                hit = left[1] in right[1]
                return ("const", hit if op == "in" else not hit)
            k, attr = self._attr(left[1])
            mask = np.zeros(len(attr.labels), bool)
            for lit in right[1]:
                mask |= self._level_matches(attr, "==", lit)
            return ("mask", k, mask if op == "in" else ~mask)
        if right[0] == "list":
            raise ConstraintSyntaxError(f"'{op}' cannot compare with a list; use 'in'")
        if left[0] == "lit" and right[0] == "lit":
            a, b = left[1], right[1]
            if _is_number(a) != _is_number(b):
                raise ConstraintSyntaxError(f"cannot compare {a!r} with {b!r}")
            return ("const", bool(_compare(op, a, b)))
        if left[0] == "lit":  # literal OP name  ->  name OP' literal
            flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
            left, right, op = right, left, flip
        k, attr = self._attr(left[1])
        if right[0] == "lit":
            return ("mask", k, self._level_matches(attr, op, right[1]))
        k2, attr2 = self._attr(right[1])
        if attr.numeric and attr2.numeric:
            a = np.array([float(v) for v in attr.levels])[:, None]
            b = np.array([float(v) for v in attr2.levels])[None, :]
        elif op in ("==", "!="):
            a = np.array(attr.labels, dtype=object)[:, None]
            b = np.array(attr2.labels, dtype=object)[None, :]
        else:
            raise ConstraintSyntaxError(f"'{op}' needs numeric levels in '{attr.name}' and '{attr2.name}'")
        table = np.asarray(_compare(op, a, b), dtype=bool)
        return ("mask2", k, k2, table)

    def attributes_used(self):
        """Indices of the attributes the constraint mentions."""
        out = set()

        def walk(n):
            if n[0] in ("and", "or"):
                for c in n[1]:
                    walk(c)
            elif n[0] == "not":
                walk(n[1])
            elif n[0] == "mask":
                out.add(n[1])
            elif n[0] == "mask2":
                out.update((n[1], n[2]))

        walk(self._tree)
        return sorted(out)

    def violated(self, idx):
        """Boolean array: which rows of ``idx`` (``[..., n_attributes]`` level indices) the constraint forbids."""
        idx = np.asarray(idx)
        shape = idx.shape[:-1]

        def ev(n):
            kind = n[0]
            if kind == "and":
                out = np.ones(shape, bool)
                for c in n[1]:
                    out &= ev(c)
                return out
            if kind == "or":
                out = np.zeros(shape, bool)
                for c in n[1]:
                    out |= ev(c)
                return out
            if kind == "not":
                return ~ev(n[1])
            if kind == "const":
                return np.full(shape, n[1], bool)
            if kind == "mask":
                return n[2][idx[..., n[1]]]
            return n[3][idx[..., n[1]], idx[..., n[2]]]

        return ev(self._tree)

    def __repr__(self):
        return f"Constraint({self.text!r})"
