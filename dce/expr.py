"""A restricted expression language for model files, design constraints and scenario files.

Expressions are parsed with :mod:`ast` (``mode='eval'``) and only a whitelist of node types is ever
walked; nothing is passed to ``eval``/``exec``, so a file can never run code.  Allowed:

* numbers, strings, ``True``/``False``; names (no names starting with ``__``);
* ``+ - * / ** // %``, unary ``+ -``, ``not``, ``and``, ``or`` (elementwise on arrays);
* comparisons ``== != < <= > >=`` (chained as in Python), ``x in (1, 3)``/``x not in (...)`` with a
  tuple, list or set of constants on the right;
* ``a if cond else b`` (elementwise);
* calls of the functions in :data:`FUNCTIONS` by bare name with positional arguments.

Everything else (attribute access, subscripts, lambdas, comprehensions, keyword or starred arguments,
f-strings, bitwise operators, any other call) raises :class:`DCEError` naming the expression and the
construct.  Arithmetic follows numpy: division by zero or ``log(0)`` gives ``inf``/``nan`` without a
warning, for the caller to check with ``numpy.isfinite``.

:meth:`Expr.linear` decomposes an expression that is linear in named parameters into one coefficient
array per parameter plus a parameter-free offset -- how a model file's utilities become the columns
of a conditional logit's design.
"""
from __future__ import annotations

import ast

import numpy as np

from dce.errors import DCEError, clip

MAX_LENGTH = 20000


def _elementwise(name, op):
    """min/max of two or more values, elementwise over arrays."""
    def f(*args):
        if len(args) < 2:
            raise TypeError(f"{name}() needs at least two arguments")
        out = args[0]
        for a in args[1:]:
            out = op(out, a)
        return out
    return f


_min = _elementwise("min", np.minimum)
_max = _elementwise("max", np.maximum)


#: the functions an expression may call: name -> (function, number of arguments or None for 2+)
FUNCTIONS = {
    "log": (np.log, 1),
    "exp": (np.exp, 1),
    "sqrt": (np.sqrt, 1),
    "abs": (np.abs, 1),
    "min": (_min, None),
    "max": (_max, None),
}

_BINOPS = {
    ast.Add: ("+", np.add),
    ast.Sub: ("-", np.subtract),
    ast.Mult: ("*", np.multiply),
    ast.Div: ("/", np.true_divide),
    ast.Pow: ("**", np.power),
    ast.FloorDiv: ("//", np.floor_divide),
    ast.Mod: ("%", np.mod),
}
_CMPOPS = {
    ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
    ast.Gt: np.greater, ast.GtE: np.greater_equal,
}
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Starred: "a starred argument",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Dict: "a dictionary",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}
_BITOPS = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
           ast.MatMult: "@"}


def _snippet(node, limit=60) -> str:
    try:
        s = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        s = type(node).__name__
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _short_syntax(msg: str) -> str:
    """Python's message on a syntax error, without its advice to programmers (a 5,000-digit literal)."""
    if "integer string conversion" in msg:
        return "a number has more than 4,300 digits"
    return msg


def parse(text: str | int | float | bool, where: str = "expression") -> Expr:
    """Parse and check an expression of the restricted language (never run as Python).

    Parameters
    ----------
    text : str (or a number or bool, read as its text)
        The expression, e.g. ``"ASC_TRAIN + B_TIME * TRAIN_TT / 100"`` or ``"delegation == 'none'"``.
    where : str
        Starts every error message (e.g. ``"model.yaml: line 5: alternatives.train.utility"``).

    Returns
    -------
    Expr
        The checked expression; ``Expr.names`` the names it uses.

    Raises
    ------
    dce.errors.DCEError
        Empty, too long, invalid syntax or anything outside the language (attributes, calls of other
        functions, subscripts, lambdas, ...), in one line starting with ``where``.
    """
    if isinstance(text, bool):
        text = "1" if text else "0"
    elif isinstance(text, (int, float)):
        text = repr(text)
    if not isinstance(text, str):
        raise DCEError(f"{where}: an expression must be text, not {type(text).__name__}")
    src = text.strip()
    if not src:
        raise DCEError(f"{where}: the expression is empty")
    if len(src) > MAX_LENGTH:
        raise DCEError(f"{where}: the expression is too long ({len(src)} characters)")
    if "\n" in src or "\r" in src:
        src = " ".join(src.split())
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        col = f" at character {e.offset}" if e.offset else ""
        at = e.offset - 1 if e.offset else None
        raise DCEError(f"{where}: invalid expression '{clip(src, at=at)}': {_short_syntax(e.msg)}{col}") from None
    except (RecursionError, MemoryError, ValueError):
        raise DCEError(f"{where}: the expression '{clip(src)}' is too deeply nested or invalid (a number of "
                       "thousands of digits?)") from None
    expr = Expr(src, where, tree.body)
    try:
        expr._check(tree.body)
    except RecursionError:
        raise DCEError(f"{where}: the expression '{clip(src)}' is too deeply nested") from None
    return expr


class Expr:
    """A parsed, checked expression.  ``names``: the set of data or parameter names it uses."""

    def __init__(self, text, where, node):
        self.text = text
        self.where = where
        self._node = node
        self.names = set()
        self.functions = set()

    def __repr__(self):
        return f"Expr({self.text!r})"

    # ------------------------------------------------------------------------------- checking
    def _refuse(self, node, what, hint=""):
        raise DCEError(f"{self.where}: {what} is not allowed in '{clip(self.text)}' (at '{_snippet(node)}'){hint}")

    def _check(self, node):
        t = type(node)
        if t is ast.Constant:
            v = node.value
            if isinstance(v, bool) or (isinstance(v, (int, float)) and not isinstance(v, complex)) \
                    or isinstance(v, str):
                return
            self._refuse(node, f"the constant {v!r}")
        elif t is ast.Name:
            if node.id.startswith("__"):
                self._refuse(node, f"the name '{node.id}'")
            self.names.add(node.id)
        elif t is ast.UnaryOp:
            if isinstance(node.op, ast.Invert):
                self._refuse(node, "the operator '~'", " (use 'not')")
            self._check(node.operand)
        elif t is ast.BinOp:
            if type(node.op) in _BITOPS:
                hint = {ast.BitAnd: " (use 'and')", ast.BitOr: " (use 'or')"}.get(type(node.op), "")
                self._refuse(node, f"the operator '{_BITOPS[type(node.op)]}'", hint)
            self._check(node.left)
            self._check(node.right)
        elif t is ast.BoolOp:
            for v in node.values:
                self._check(v)
        elif t is ast.Compare:
            self._check(node.left)
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    self._check_members(right)
                elif type(op) in _CMPOPS:
                    self._check(right)
                else:
                    self._refuse(node, "an 'is' comparison" if isinstance(op, (ast.Is, ast.IsNot))
                                 else "this comparison", " (use == or !=)")
        elif t is ast.IfExp:
            self._check(node.test)
            self._check(node.body)
            self._check(node.orelse)
        elif t is ast.Call:
            if not isinstance(node.func, ast.Name):
                self._refuse(node, f"calling '{_snippet(node.func)}'",
                             " (only the functions " + ", ".join(sorted(FUNCTIONS)) + " may be called)")
            name = node.func.id
            if name not in FUNCTIONS:
                self._refuse(node, f"calling '{name}'",
                             " (only the functions " + ", ".join(sorted(FUNCTIONS)) + " may be called)")
            if node.keywords:
                self._refuse(node, "a keyword argument")
            for a in node.args:
                if isinstance(a, ast.Starred):
                    self._refuse(node, "a starred argument")
                self._check(a)
            n = FUNCTIONS[name][1]
            if (n is None and len(node.args) < 2) or (n is not None and len(node.args) != n):
                want = "at least 2 arguments" if n is None else f"{n} argument{'s' if n != 1 else ''}"
                raise DCEError(f"{self.where}: {name}() takes {want} in '{clip(self.text)}'")
            self.functions.add(name)
        elif t in (ast.Tuple, ast.List, ast.Set):
            self._refuse(node, "a list or tuple here", " (lists belong only after 'in' / 'not in')")
        elif t in _REFUSED:
            self._refuse(node, _REFUSED[t])
        else:
            self._refuse(node, f"the construct '{t.__name__}'")

    def _check_members(self, node):
        if type(node) not in (ast.Tuple, ast.List, ast.Set):
            self._refuse(node, f"'{_snippet(node)}' after 'in'", " (use a list of constants such as (1, 3))")
        for e in node.elts:
            if _const_value(e) is None:
                self._refuse(e, f"'{_snippet(e)}' in the list after 'in'", " (only constants may be listed)")

    # ------------------------------------------------------------------------------- evaluation
    def evaluate(self, env) -> np.ndarray | float:
        """The value of the expression, elementwise over the arrays (or pandas columns) in ``env``.

        ``env`` maps names to scalars or equal-length arrays (a dict or a DataFrame).  Comparisons,
        ``and``/``or``/``not`` and ``in`` give bool arrays; arithmetic gives float64.  Non-finite
        results (log(0), x/0) are returned as inf/nan for the caller to detect.
        """
        return self._guarded(self._eval, env)

    def _guarded(self, walk, env, *args):
        """Walk the tree with floating-point warnings off; evaluation failures become one-line DCEErrors."""
        with np.errstate(all="ignore"):
            try:
                return walk(self._node, env, *args)
            except DCEError:
                raise
            except RecursionError:
                raise DCEError(f"{self.where}: the expression '{clip(self.text)}' is too deeply nested") from None
            except (TypeError, ValueError, OverflowError, ZeroDivisionError) as e:
                raise DCEError(f"{self.where}: cannot evaluate '{clip(self.text)}': {e}") from None

    def _lookup(self, node, env):
        name = node.id
        try:
            v = env[name]
        except (KeyError, IndexError):
            raise DCEError(f"{self.where}: unknown name '{name}' in '{clip(self.text)}'") from None
        return _as_value(v)

    def _eval(self, node, env):
        t = type(node)
        if t is ast.Constant:
            return _const(node.value)
        if t is ast.Name:
            return self._lookup(node, env)
        if t is ast.UnaryOp:
            v = self._eval(node.operand, env)
            if isinstance(node.op, ast.Not):
                return np.logical_not(self._truth(v, node.operand))
            v = self._number(v, node.operand)
            return -v if isinstance(node.op, ast.USub) else +v
        if t is ast.BinOp:
            a = self._number(self._eval(node.left, env), node.left)
            b = self._number(self._eval(node.right, env), node.right)
            return _BINOPS[type(node.op)][1](a, b)
        if t is ast.BoolOp:
            vals = [self._truth(self._eval(v, env), v) for v in node.values]
            f = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = f(out, v)
            return out
        if t is ast.Compare:
            left = self._eval(node.left, env)
            out = None
            for op, right_node in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    members = [_const_value(e) for e in right_node.elts]
                    r = _isin(left, members)
                    if isinstance(op, ast.NotIn):
                        r = np.logical_not(r)
                    right = None
                else:
                    right = self._eval(right_node, env)
                    r = self._compare(op, left, right, node)
                out = r if out is None else np.logical_and(out, r)
                left = right
            return out
        if t is ast.IfExp:
            c = self._truth(self._eval(node.test, env), node.test)
            a = self._eval(node.body, env)
            b = self._eval(node.orelse, env)
            return np.where(c, a, b)
        if t is ast.Call:
            f = FUNCTIONS[node.func.id][0]
            args = [self._number(self._eval(a, env), a) for a in node.args]
            return f(*args)
        raise DCEError(f"{self.where}: cannot evaluate '{_snippet(node)}'")  # pragma: no cover

    def _number(self, v, node):
        """A numeric operand: bools become 0/1 floats; text is refused."""
        if isinstance(v, str) or (isinstance(v, np.ndarray) and v.dtype.kind in "OUS"):
            raise DCEError(f"{self.where}: arithmetic on text in '{clip(self.text)}' (at '{_snippet(node)}')")
        if isinstance(v, np.ndarray):
            if v.dtype.kind == "b":
                return v.astype(np.float64)
            if v.dtype.kind in "iu":
                return v.astype(np.float64)
            return v
        if isinstance(v, (bool, np.bool_)):
            return np.float64(v)
        return np.float64(v)

    def _truth(self, v, node):
        if isinstance(v, str) or (isinstance(v, np.ndarray) and v.dtype.kind in "OUS"):
            raise DCEError(f"{self.where}: text used as a condition in '{clip(self.text)}' (at '{_snippet(node)}'); "
                           "compare it, e.g. x == 'a'")
        if isinstance(v, np.ndarray) and v.dtype.kind == "b":
            return v
        return np.asarray(v) != 0

    def _compare(self, op, left, right, node):
        f = _CMPOPS[type(op)]
        lt, rt = _is_text(left), _is_text(right)
        if lt or rt:
            if type(op) in (ast.Eq, ast.NotEq):
                if lt and rt:
                    return f(np.asarray(left, dtype=object), np.asarray(right, dtype=object)).astype(bool)
                # text never equals a number
                shape = np.broadcast_shapes(np.shape(left), np.shape(right))
                return np.full(shape, isinstance(op, ast.NotEq)) if shape else np.bool_(isinstance(op, ast.NotEq))
            if not (lt and rt):
                raise DCEError(f"{self.where}: cannot order text and numbers in '{clip(self.text)}' "
                               f"(at '{_snippet(node)}')")
            return f(np.asarray(left, dtype=object), np.asarray(right, dtype=object)).astype(bool)
        return f(self._number(left, node), self._number(right, node))

    # ------------------------------------------------------------------------------- linear
    def linear(self, env, params, n=None):
        """Decompose the expression, linear in the names ``params``, into coefficients.

        Returns ``{param: coefficient, ..., None: offset}``: the expression equals
        ``offset + sum(coefficient[p] * p)``.  Every parameter that occurs is a key (in order of first
        appearance); ``None`` is always present.  With ``n`` every value is a float64 array of length
        ``n``; otherwise values are broadcast to a common shape (0-d when ``env`` holds scalars only).
        A parameter inside a function, a power, a comparison or a condition, a product of two
        parameter terms, or a parameter in a denominator raises :class:`DCEError` ("utility is not
        linear in parameter B").  Names not in ``params`` are looked up in ``env``.
        """
        params = set(params)
        terms = self._guarded(self._lin, env, params)
        terms.setdefault(None, np.float64(0.0))
        keys = list(terms)
        vals = [np.asarray(terms[k], dtype=np.float64) for k in keys]
        if n is not None:
            vals = [np.array(np.broadcast_to(v, (n,)), dtype=np.float64) for v in vals]
        else:
            vals = [np.array(v, dtype=np.float64) for v in np.broadcast_arrays(*vals)]
        out = {k: v for k, v in zip(keys, vals) if k is not None}
        out[None] = vals[keys.index(None)]
        return out

    def _params_in(self, node, params):
        found = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in params]
        return found

    def _nonlinear(self, node, params, how):
        names = self._params_in(node, params)
        if names:
            raise DCEError(f"{self.where}: utility is not linear in parameter {names[0]} ({how} "
                           f"'{_snippet(node)}') in '{clip(self.text)}'")

    def _lin(self, node, env, params):
        """{param or None: coefficient} of a subtree."""
        t = type(node)
        if t is ast.Name and node.id in params:
            return {node.id: np.float64(1.0)}
        if not self._params_in(node, params):
            return {None: self._number(self._eval(node, env), node)}
        if t is ast.UnaryOp and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self._lin(node.operand, env, params)
            if isinstance(node.op, ast.UAdd):
                return inner
            return {k: -v for k, v in inner.items()}
        if t is ast.BinOp and isinstance(node.op, (ast.Add, ast.Sub)):
            a = self._lin(node.left, env, params)
            b = self._lin(node.right, env, params)
            out = dict(a)
            for k, v in b.items():
                v = -v if isinstance(node.op, ast.Sub) else v
                out[k] = out[k] + v if k in out else v
            return out
        if t is ast.BinOp and isinstance(node.op, ast.Mult):
            lp = self._params_in(node.left, params)
            rp = self._params_in(node.right, params)
            if lp and rp:
                raise DCEError(f"{self.where}: utility is not linear in parameter {rp[0]} (product of "
                               f"parameters {lp[0]} and {rp[0]} in '{_snippet(node)}') in '{clip(self.text)}'")
            lin_node, fac_node = (node.left, node.right) if lp else (node.right, node.left)
            fac = self._number(self._eval(fac_node, env), fac_node)
            return {k: v * fac for k, v in self._lin(lin_node, env, params).items()}
        if t is ast.BinOp and isinstance(node.op, ast.Div):
            self._nonlinear(node.right, params, "divided by")
            den = self._number(self._eval(node.right, env), node.right)
            return {k: v / den for k, v in self._lin(node.left, env, params).items()}
        if t is ast.IfExp:
            self._nonlinear(node.test, params, "a condition on")
            c = self._truth(self._eval(node.test, env), node.test)
            a = self._lin(node.body, env, params)
            b = self._lin(node.orelse, env, params)
            out = {}
            for k in list(a) + [k for k in b if k not in a]:
                out[k] = np.where(c, a.get(k, 0.0), b.get(k, 0.0))
            return out
        if t is ast.Call:
            self._nonlinear(node, params, f"inside {node.func.id}() in")
        if t is ast.BinOp:
            self._nonlinear(node, params, f"inside '{_BINOPS[type(node.op)][0]}' in")
        self._nonlinear(node, params, "inside a comparison or condition in")
        raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------------------- helpers
def _float(v) -> float:
    """A number as a float; an integer literal beyond the float range is infinite (as 1e999 is)."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _const(v):
    if isinstance(v, bool):
        return np.bool_(v)
    if isinstance(v, (int, float)):
        return np.float64(_float(v))
    return v  # str


def _const_value(node):
    """The value of a constant (or a signed numeric constant) node, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)) \
            and not isinstance(node.operand.value, bool):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return None


def _as_value(v):
    """Scalars stay scalars; pandas columns and sequences become numpy arrays."""
    if isinstance(v, (str, bool, np.bool_)):
        return v
    if isinstance(v, (int, float, np.integer, np.floating)):
        return np.float64(v)
    if hasattr(v, "to_numpy"):
        v = v.to_numpy()
    return np.asarray(v)


def _is_text(v) -> bool:
    return isinstance(v, str) or (isinstance(v, np.ndarray) and v.dtype.kind in "OUS")


def _isin(left, members):
    if _is_text(left):
        arr = np.asarray(left, dtype=object)
        out = np.isin(arr, np.array([m for m in members], dtype=object))
    else:
        nums = [_float(m) for m in members if not isinstance(m, str)]
        if isinstance(left, (bool, np.bool_)):
            left = float(left)
        arr = np.asarray(left)
        if arr.dtype.kind == "b":
            arr = arr.astype(float)
        out = np.isin(arr, np.array(nums, dtype=float)) if nums else np.zeros(arr.shape, bool)
    return out if np.ndim(out) else bool(out)
