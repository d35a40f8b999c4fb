"""Fuzzing the restricted expression language (dce.expr: model files, design constraints, scenario
files) and the formula reader (dce.data.build): random expression trees, deep nesting, huge literals,
names with any characters.  Property: a value (or a linear decomposition), or one DCEError line naming
the place; no warning, no other exception, within a time bound."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dce.errors import DCEError

PLACE = "m.yaml: key 'alternatives.a.utility'"
N = settings.default.max_examples
ENV = {"x": np.array([1.0, -2.0, 0.0, 3.5]), "y": np.array([0, 1, 1, 0]), "t": 2.0, "big": np.array([1e308] * 4),
       "label": np.array(["a", "b", "c", "a"], dtype=object), "flag": np.array([True, False, True, False])}
PARAMS = {"B", "C"}

# --------------------------------------------------------------------------------------------- strategies
numbers = st.one_of(st.integers(-10**6, 10**6).map(str), st.integers().map(str),
                    st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    st.sampled_from(["1e308", "1e999", "1e-400", "0", "0.0", "9" * 400, "1" + "0" * 5000, "0x1F",
                                     "1_000", "1j", "0b101", "1.5e+308"]))
names = st.one_of(st.sampled_from(sorted(ENV) + sorted(PARAMS) + ["nosuch", "__import__", "__class__", "_x",
                                                                   "True", "None", "log", "min"]),
                  st.text(min_size=1, max_size=6))
strings = st.text(max_size=6).map(repr)
leaf = st.one_of(numbers, names, strings, st.sampled_from(["True", "False", "None", "...", "[]", "()", "{}"]))
BINOPS = ["+", "-", "*", "/", "**", "//", "%", "&", "|", "^", "<<", ">>", "@", "and", "or", "==", "!=", "<", "<=",
          ">", ">=", "is", "is not", "in", "not in"]
FUNCS = ["log", "exp", "sqrt", "abs", "min", "max", "eval", "__import__", "open", "x.y", "len", "C", "I", "(lambda: 1)"]


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(BINOPS), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "not ", "~"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(children, st.lists(leaf, max_size=3)).map(lambda t: f"({t[0]} in ({', '.join(t[1])},))"),
        st.tuples(children, names).map(lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(children, children).map(lambda t: f"[{t[0]} for _ in {t[1]}]"),
        st.tuples(children, children).map(lambda t: f"f'{{{t[0]}}}' + {t[1]}"),
        st.tuples(children).map(lambda t: f"(z := {t[0]})"),
        st.tuples(children, children).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
    )


expressions = st.recursive(leaf, _extend, max_leaves=16)


def check_expression(text, fz, env=ENV):
    """parse, evaluate and linear on ``text``: values or one DCEError line naming the place; no warning."""
    from dce.expr import parse

    with warnings.catch_warnings():
        warnings.simplefilter("error")          # any warning fails the example
        with fz.bounded(10, f"expression {text[:40]!r}"):
            try:
                e = parse(text, PLACE)
            except DCEError as err:
                fz.one_line_error(err, PLACE)
                return
            for f in (lambda: e.evaluate(env), lambda: e.linear(env, PARAMS, n=4)):
                try:
                    out = f()
                except DCEError as err:
                    fz.one_line_error(err, PLACE)
                else:
                    if isinstance(out, dict):
                        assert None in out and all(np.shape(v) == (4,) for v in out.values())


# --------------------------------------------------------------------------------------------- tests
@settings(max_examples=3 * N)
@given(text=expressions)
@example(text="B * x + C * (label == 'a')")
@example(text="10 ** 400 * B")                      # a huge integer power
@example(text="B * " + "1" + "0" * 400)              # once: OverflowError (an integer literal beyond float64)
@example(text="x in (" + "1" + "0" * 400 + ",)")     # once: OverflowError
@example(text="min(B, x)")
@example(text="log(B)")
@example(text="B / (x - x)")
def test_random_expressions(fz, text):
    check_expression(text, fz)


@given(text=st.text(max_size=80))
@example(text="\x00")
@example(text="x\n+\ny")
@example(text="\u2028")
def test_random_text(fz, text):
    check_expression(text, fz)


@pytest.mark.parametrize("depth", [50, 500, 5000, 30000])
@pytest.mark.parametrize("template", ["({})", "-{}", "not {}", "abs({})", "({} + x)", "min(x, {})", "[{}]",
                                      "({} if x else y)", "B * ({})"])
def test_deep_nesting(fz, template, depth):
    text = "x"
    for _ in range(depth):
        text = template.format(text)
        if len(text) > 40000:
            break
    check_expression(text, fz)


@pytest.mark.parametrize("text", ["x" + " + x" * 8000, "B" + " + B * x" * 3000, "1" * 20000, "x" * 20001,
                                  "1e" + "9" * 5000, "1" + "0" * 4300, "1" + "0" * 4301],
                         ids=["sum", "linear", "digits", "name", "exponent", "int4300", "int4301"])
def test_long_and_huge(fz, text):
    check_expression(text, fz)


@given(env_name=st.text(min_size=1, max_size=8), value=st.one_of(st.floats(), st.text(max_size=4), st.booleans()))
def test_names_with_any_characters(fz, env_name, value):
    """A column may be called anything; an expression names it if it is an identifier."""
    env = dict(ENV)
    env[env_name] = np.array([value] * 4, dtype=object if isinstance(value, str) else None)
    check_expression(f"{env_name} * B + x", fz, env)
    check_expression(f"B * ({env_name} == 1)", fz, env)


# --------------------------------------------------------------------------------------------- formulas
COLUMNS = ["choice", "x", "price", "brand", "weird name", "é", "1st", "a.b", "C", "I", "np"]


def long_frame():
    rng = np.random.default_rng(0)
    rows = []
    for t in range(12):
        c = int(rng.integers(3))
        for j in range(3):
            rows.append({"task": t, "alt": j, "choice": int(j == c), "x": rng.normal(), "price": float(rng.integers(1, 5)),
                         "brand": "abc"[j], "weird name": rng.normal(), "é": rng.normal(), "1st": float(j),
                         "a.b": rng.normal(), "C": rng.normal(), "I": "pq"[j % 2], "np": rng.normal()})
    return pd.DataFrame(rows)


FRAME = long_frame()
term = st.one_of(
    st.sampled_from(COLUMNS).map(lambda c: c if c.isidentifier() else f"`{c}`"),
    st.sampled_from(COLUMNS), st.sampled_from(["C(brand)", "C(brand, ref='b')", "C(brand, Treatment('c'))",
                                               "C(x)", "C(nosuch)", "C()", "C(brand, ref=1, foo=2)", "I(x * 2)",
                                               "I(price ** 2)", "np.log(price)", "log(price)", "x:price",
                                               "x*price", "(x + price)**2", "-1", "0", "1", "+0", "x - x",
                                               "C(brand):x", "I(1/0)", "I(big)", "Q('weird name')", "{x}",
                                               "x[0]", "x.y", "__import__('os')", "x:'a'", "'a':x", "{'a'}",
                                               "I('a')", "x:{'a'}", "x:I('a')", "C(brand):'a'"]),
    st.text(max_size=8))
formulas = st.one_of(
    st.tuples(st.sampled_from(["choice", "x", "", "choice + x", "C(brand)", "`choice`"]),
              st.lists(term, min_size=0, max_size=4),
              st.sampled_from([" + ", " - ", " * ", ":", " | ", " ~ "])).map(
        lambda t: f"{t[0]} ~ {t[2].join(t[1])}"),
    st.text(max_size=30))


@settings(max_examples=2 * N)
@given(formula=formulas)
@example(formula="~")
@example(formula="choice ~ x + `weird name` + C(brand)")
@example(formula="choice ~ C(brand, ref='zzz')")
@example(formula="choice ~ x ~ y")
@example(formula="choice ~ I(x / 0)")
@example(formula="choice ~ choice | choice")     # once: AttributeError on formulaic's structured formula
@example(formula="x | y ~ choice")
@example(formula="choice ~ x:{'a'}")              # once: ValueError (a string literal in an interaction)
def test_random_formulas(fz, formula):
    from dce.data.build import choice_data_from_formula

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fz.bounded(15, f"formula {formula!r}"):
            try:
                data = choice_data_from_formula(FRAME, formula, source="f.csv", alt="alt", task="task")
            except DCEError as e:
                msg = fz.one_line_error(e, None)
                assert msg.startswith(("formula:", "formula term", "f.csv:")), msg
            else:
                assert data.n_tasks == 12 and np.all(np.isfinite(data.X))


# --------------------------------------------------------------------------------------------- huge inputs
HUGE_TERMS = ["x{i}", "x", "I(x * {i})", "C(brand):x", "x:price", "`weird name`", "I(x + {i} * price)", "9" * 60]


@settings(max_examples=max(4, N // 8))
@given(n=st.sampled_from([900, 1001, 2500, 6000]), kind=st.sampled_from(HUGE_TERMS),
       joiner=st.sampled_from([" + ", " * ", ":"]), tail=st.sampled_from(["", " + )", " + nosuch", " + '" + "a" * 5000 + "'",
                                                                     " + " + "9" * 5000]))
@example(n=6000, kind="x{i}", joiner=" + ", tail="")                  # once: minutes before any answer
@example(n=2500, kind="I(x * {i})", joiner=" + ", tail=" + )")        # once: the whole formula echoed
def test_huge_formulas_are_bounded_and_their_messages_short(fz, n, kind, joiner, tail):
    """Formulas of thousands of terms, long literals, syntax errors at the end: an answer within a few
    seconds, and a message that quotes the start and the position of the problem, never the whole input."""
    from dce.data.build import choice_data_from_formula

    formula = "choice ~ " + joiner.join(kind.format(i=i) for i in range(n)) + tail
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fz.bounded(15, f"a formula of {n} terms"):
            try:
                choice_data_from_formula(FRAME, formula, source="f.csv", alt="alt", task="task")
            except DCEError as e:
                msg = fz.one_line_error(e, None)
                assert len(msg) < 500, (len(msg), msg[:200])
                return
    assert len(formula) <= 20_000            # only a formula within the bounds is estimated


@pytest.mark.parametrize("text", [" and ".join(["x > 1"] * 2500) + " and )", "x > " + "9" * 5000,
                                  " + ".join(["x"] * 3000) + " + foo(1)", "(" * 3000 + "x" + ")" * 3000])
def test_messages_on_huge_expressions_are_short(fz, text):
    """A 10,000-character constraint or a 5,000-digit literal was echoed whole: the message quotes its start
    (and where the problem is), in a few hundred characters."""
    from dce.expr import parse

    try:
        parse(text, PLACE).evaluate(ENV)
    except DCEError as e:
        msg = fz.one_line_error(e, PLACE)
        assert len(msg) < 500, (len(msg), msg[:200])
    else:
        raise AssertionError("accepted")
