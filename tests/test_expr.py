"""The restricted expression evaluator: what it computes, what it refuses, linear decomposition."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dce.errors import DCEError
from dce.expr import FUNCTIONS, parse

ENV = {
    "x": np.array([1.0, 2.0, 3.0, 4.0]),
    "k": np.array([1, 2, 3, 4]),
    "PURPOSE": np.array([1.0, 2.0, 3.0, 1.0]),
    "CHOICE": np.array([0.0, 1.0, 2.0, 3.0]),
    "kind": np.array(["bus", "car", "bus", "rail"], dtype=object),
}
X = ENV["x"]


@pytest.mark.parametrize("text,expected", [
    ("x * 2 + 1", X * 2 + 1),
    ("-x ** 2", -X ** 2),
    ("x / 4 - x // 2 + x % 3", X / 4 - X // 2 + X % 3),
    ("k / 2", np.array([0.5, 1.0, 1.5, 2.0])),  # integer columns divide as floats
    ("log(x) + exp(x / 10) + sqrt(x) + abs(-x)", np.log(X) + np.exp(X / 10) + np.sqrt(X) + X),
    ("min(x, 2.5) + max(x, 1, 3)", np.minimum(X, 2.5) + np.maximum(np.maximum(X, 1), 3)),
    ("x if x > 2 else -x", np.where(X > 2, X, -X)),
    ("(x > 1) - (x > 3)", np.array([0.0, 1.0, 1.0, 0.0])),
    ("2 ** 3", 8.0),
])
def test_arithmetic(text, expected):
    out = parse(text).evaluate(ENV)
    np.testing.assert_allclose(out, expected)
    assert np.asarray(out).dtype == np.float64


@pytest.mark.parametrize("text,expected", [
    ("PURPOSE not in (1, 3) or CHOICE == 0", [True, True, False, False]),
    ("PURPOSE in [1, 3] and CHOICE != 0", [False, False, True, True]),
    ("not (x > 2)", [True, True, False, False]),
    ("1 < x <= 3", [False, True, True, False]),
    ("kind == 'bus'", [True, False, True, False]),
    ("kind in ('car', 'rail')", [False, True, False, True]),
    ("kind != 'bus' and x > 2", [False, False, False, True]),
    ("x in {2, -1}", [False, True, False, False]),
    ("x == 'bus'", [False, False, False, False]),  # numbers never equal text
])
def test_conditions_are_elementwise(text, expected):
    out = parse(text).evaluate(ENV)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, expected)


def test_names_and_pandas_env():
    e = parse("B_TIME * TT / 100 + log(x) + (kind == 'a')")
    assert e.names == {"B_TIME", "TT", "x", "kind"}
    df = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 5.0]})
    np.testing.assert_allclose(parse("x * y").evaluate(df), [3.0, 10.0])


def test_non_finite_results_are_returned_not_raised():
    out = parse("log(x - 1) + 1 / (x - 2)").evaluate(ENV)
    assert not np.isfinite(out[0]) and not np.isfinite(out[1]) and np.isfinite(out[2])
    assert np.isinf(parse("10 ** 10 ** 10").evaluate({}))  # float arithmetic: no giant integers
    assert np.isinf(parse("1 / 0").evaluate({}))


@pytest.mark.parametrize("text,construct", [
    ("__import__('os')", "calling '__import__'"),
    ("__import__('os').system('ls')", "calling '__import__('os').system'"),
    ("x.real", "attribute access"),
    ("x[0]", "indexing"),
    ("x[1:2]", "indexing"),
    ("lambda: 1", "a lambda"),
    ("(lambda: 1)()", "calling 'lambda: 1'"),
    ("[i for i in x]", "a comprehension"),
    ("sum(i for i in x)", "calling 'sum'"),
    ("open('/etc/passwd')", "calling 'open'"),
    ("eval('1')", "calling 'eval'"),
    ("getattr(x, 'real')", "calling 'getattr'"),
    ("log(x=1)", "a keyword argument"),
    ("log(*x)", "a starred argument"),
    ("__builtins__", "the name '__builtins__'"),
    ("x.__class__", "attribute access"),
    ("{'a': 1}", "a dictionary"),
    ("f'{x}'", "an f-string"),
    ("b'abc'", "the constant b'abc'"),
    ("x & 1", "the operator '&'"),
    ("~x", "the operator '~'"),
    ("x is None", "an 'is' comparison"),
    ("x in y", "'y' after 'in'"),
    ("x in (y, 2)", "'y' in the list after 'in'"),
    ("(1, 2)", "a list or tuple here"),
])
def test_unsafe_constructs_are_refused(text, construct):
    with pytest.raises(DCEError) as err:
        parse(text, "m.yaml: line 3: alternatives.a.utility")
    msg = str(err.value)
    assert msg.startswith("m.yaml: line 3: alternatives.a.utility: ")
    assert construct in msg and "not allowed" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("text,message", [
    ("x +", "invalid expression"),
    ("import os", "invalid expression"),
    ("x = 1", "invalid expression"),
    ("", "is empty"),
    ("log(x, 2)", "log() takes 1 argument"),
    ("max(x)", "max() takes at least 2 arguments"),
    ("(" * 300 + "x" + ")" * 300, "nested"),
])
def test_syntax_errors(text, message):
    with pytest.raises(DCEError, match=r"^w\.yaml: exclude: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        parse(text, "w.yaml: exclude")


def test_runtime_errors_name_the_expression():
    with pytest.raises(DCEError, match="unknown name 'zz' in 'x \\+ zz'"):
        parse("x + zz", "f").evaluate(ENV)
    with pytest.raises(DCEError, match="arithmetic on text"):
        parse("kind * 2", "f").evaluate(ENV)
    with pytest.raises(DCEError, match="cannot order text and numbers"):
        parse("kind < 2", "f").evaluate(ENV)
    with pytest.raises(DCEError, match="text used as a condition"):
        parse("x if kind else 0", "f").evaluate(ENV)


def test_function_whitelist_is_small():
    assert set(FUNCTIONS) == {"log", "exp", "sqrt", "abs", "min", "max"}


# ------------------------------------------------------------------------------------ linear
def test_linear_decomposition_of_b01logit_utility():
    env = {"TRAIN_TT": np.array([100.0, 50.0]), "TRAIN_CO": np.array([40.0, 20.0]), "GA": np.array([0.0, 1.0])}
    e = parse("ASC_TRAIN + B_TIME * TRAIN_TT / 100 + B_COST * TRAIN_CO * (GA == 0) / 100")
    lin = e.linear(env, {"ASC_TRAIN", "B_TIME", "B_COST"})
    assert set(lin) == {"ASC_TRAIN", "B_TIME", "B_COST", None}
    np.testing.assert_allclose(lin["ASC_TRAIN"], [1.0, 1.0])
    np.testing.assert_allclose(lin["B_TIME"], [1.0, 0.5])
    np.testing.assert_allclose(lin["B_COST"], [0.4, 0.0])
    np.testing.assert_allclose(lin[None], [0.0, 0.0])


def test_linear_matches_evaluation_at_random_parameters():
    rng = np.random.default_rng(7)
    env = {"a": rng.normal(size=6), "b": rng.uniform(1, 2, size=6), "c": rng.integers(0, 3, size=6)}
    text = "-(B1 * a - 2 * B2) / b + 3 * (B1 + a * c) - B3 * (c in (1, 2)) + log(b) + (B2 if c > 0 else a * B3)"
    e = parse(text)
    params = ["B1", "B2", "B3"]
    lin = e.linear(env, params, n=6)
    for _ in range(3):
        beta = dict(zip(params, rng.normal(size=3)))
        direct = e.evaluate({**env, **beta})
        rebuilt = lin[None] + sum(lin[p] * beta[p] for p in params)
        np.testing.assert_allclose(rebuilt, direct, rtol=1e-12, atol=1e-12)
    assert all(v.shape == (6,) and v.dtype == np.float64 for v in lin.values())


def test_linear_scalars_and_offsets():
    lin = parse("2 * B + 5 - B / 4").linear({}, {"B"})
    assert float(lin["B"]) == pytest.approx(1.75)
    assert float(lin[None]) == pytest.approx(5.0)
    lin = parse("x * 3").linear(ENV, {"B"})
    assert list(lin) == [None]
    np.testing.assert_allclose(lin[None], X * 3)


@pytest.mark.parametrize("text,param,how", [
    ("exp(B_COST * x)", "B_COST", "inside exp()"),
    ("log(B_COST)", "B_COST", "inside log()"),
    ("B_COST ** 2", "B_COST", "inside '**'"),
    ("x ** B_COST", "B_COST", "inside '**'"),
    ("B_TIME * B_COST", "B_COST", "product of parameters B_TIME and B_COST"),
    ("x / B_COST", "B_COST", "divided by"),
    ("B_COST > 0", "B_COST", "comparison"),
    ("(x if B_COST else 0)", "B_COST", "a condition on"),
    ("B_COST and x", "B_COST", "comparison or condition"),
    ("B_COST // 2", "B_COST", "inside '//'"),
])
def test_nonlinear_parameters_are_refused(text, param, how):
    with pytest.raises(DCEError) as err:
        parse(text, "m.yaml: line 4: alternatives.car.utility").linear(ENV, {"B_COST", "B_TIME"})
    msg = str(err.value)
    assert msg.startswith("m.yaml: line 4: alternatives.car.utility: utility is not linear in parameter " + param)
    assert how in msg
