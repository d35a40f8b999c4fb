"""Fuzzing the model JSON read by `dce shares`, `dce wtp` and `dce report` (ModelResult.from_dict): results of
each model family with values replaced, keys dropped or added, and random JSON.  Property: a result, or one
line naming the file; the commands exit 0, 2 or 3 with one line and write nothing half-finished."""
from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dce.errors import DCEError
from tests.fuzz.conftest import key_paths

N = settings.default.max_examples

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=8), st.sampled_from([1e308, -1e308, 1e-320, 0, -1, "mnl", "mixed", "latent",
                                                               "mnl_wtp", "n", "ln", "classical", "cluster"]))
json_values = st.recursive(json_scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), c, max_size=4)),
                           max_leaves=10)


@st.composite
def mutated(draw, bases):
    doc = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(key_paths(doc, items=6)[1:]))
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        op = draw(st.sampled_from(["replace", "replace", "drop", "scale"]))
        if op == "drop":
            del parent[path[-1]]
        elif op == "scale" and isinstance(parent[path[-1]], (int, float)) and not isinstance(parent[path[-1]], bool):
            parent[path[-1]] = parent[path[-1]] * draw(st.sampled_from([1e300, -1e300, 0, -1, 1e-300]))
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def simulated(n_tasks=150, seed=3):
    """SIMULATED long data: price, a text attribute, respondents of 5 tasks."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        price = rng.integers(1, 6, 3).astype(float)
        qual = rng.choice(["basic", "good"], 3)
        v = -0.8 * price + (qual == "good") * 1.0 + rng.gumbel(size=3)
        for j in range(3):
            rows.append({"id": t // 5, "task": t, "alt": j, "chosen": int(j == v.argmax()), "price": price[j],
                         "quality": qual[j]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def bases():
    """One result JSON of each family (fitted on SIMULATED data, small)."""
    from dce.data.build import choice_data_from_formula
    from dce.models import model_class

    data = choice_data_from_formula(simulated(), "chosen ~ price + quality", alt="alt", task="task", id_col="id")
    fits = [model_class("mnl")(seed=1), model_class("mixed")(random={"price": "n"}, draws=20, seed=1),
            model_class("latent")(classes=2, starts=1, seed=1),
            model_class("mnl_wtp")(price="price", seed=1)]
    return [json.loads(json.dumps(m.fit(data).to_dict())) for m in fits]


SCENARIOS = ("reference: {name: cheap basic, levels: {price: 1, quality: basic}}\n"
             "scenarios:\n  - {name: dear good, levels: {price: 3, quality: good}}\n")


def test_the_bases_are_read_back(bases):
    from dce.models.results import ModelResult

    for d in bases:
        r = ModelResult.from_dict(d, "m.json")
        assert r.reliable and r.to_dict()["params"] == d["params"]


def read(fz, d):
    """from_dict, then what post-estimation asks of a result: a result or one line naming the file."""
    from dce.models.results import ModelResult

    with fz.bounded(20, "reading a results file"):
        try:
            r = ModelResult.from_dict(d, "m.json")
            json.dumps(r.to_dict(), allow_nan=False)
            B, w = r.coefficient_draws(n_draws=5, seed=1)
            assert B.shape[0] == w.shape[0] and abs(w.sum() - 1) < 1e-9
            for B, w in r.coefficient_sets(2, n_draws=5, seed=1):
                assert B.shape[1] == len(r.coef_names)
        except DCEError as e:
            fz.one_line_error(e, "m.json")


@settings(max_examples=3 * N)
@given(data=st.data())
def test_mutated_results(fz, bases, data):
    read(fz, data.draw(mutated(bases)))


@given(d=json_values)
@example(d={"model": "mnl", "params": [], "vcov": [], "spec": {}})
@example(d={"model": "nosuch", "params": [{"name": "x", "estimate": 1}], "vcov": [[1]], "spec": {}})
@example(d={"schema_version": 99})
def test_random_json(fz, d):
    read(fz, d)


@settings(max_examples=max(4, N // 3))
@given(data=st.data())
@example(data=None)
def test_shares_wtp_and_report_on_mutated_results(tmp_path, fz, bases, data):
    d = copy.deepcopy(bases[0]) if data is None else data.draw(mutated(bases))
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    m = folder / "m.json"
    m.write_text(json.dumps(d, allow_nan=True))
    sc = folder / "sc.yaml"
    sc.write_text(SCENARIOS)
    for args, out in ((["shares", m, "--scenarios", sc, "--sims", "20", "--draws", "5", "--seed", "1"], "s.json"),
                      (["shares", m, "--scenarios", sc, "--ci", "delta", "--seed", "1"], "d.json"),
                      (["wtp", m, "--cost", "price", "--sims", "20", "--seed", "1"], "w.json"),
                      (["report", m], "r.html")):
        with fz.bounded(60, args[0]):
            fz.run_cli([*args, "-o", folder / out], codes=(0, 2, 3), outputs=[folder / out], folder=folder)


def test_non_finite_numbers_in_the_json(tmp_path, fz, bases):
    """NaN and Infinity (which Python's json writes and reads) in estimates and covariances."""
    d = copy.deepcopy(bases[0])
    d["params"][0]["estimate"] = math.inf
    read(fz, d)
    d = copy.deepcopy(bases[0])
    d["vcov"][0][0] = math.nan
    read(fz, d)


# (family: 0 mnl, 1 mixed, 2 latent, 3 mnl_wtp; key path; new value): edits that once escaped as internal errors
REGRESSIONS = [
    (3, ("params", 1, "name"), "x"),                 # ValueError: 'scale' is not in list
    (0, ("coef_names",), ["nosuch", "quality[T.good]"]),  # ValueError: 'price' is not in list
    (0, ("n_tasks",), [1]),                          # TypeError: int() of a list
    (2, ("classes",), ":"),                          # ValueError: int(':')
    (2, ("membership_profiles",), [{"values": {}, "weight": 0}]),
    (1, ("params", 1, "name"), None),                # a mixed logit whose parameters are not its random ones
    (1, ("random",), 3),
    (0, ("spec", "factors"), 3),                     # AttributeError: 'int' object has no attribute 'items'
    (0, ("spec", "terms"), [[3]]),
    (0, ("vcov",), [[float("nan"), 0], [0, 1]]),
    (0, ("params", 0, "estimate"), 10**400),
    (1, ("vcovs",), True),                           # AttributeError: 'bool' object has no attribute 'items'
    (0, ("loglik_null",), 0),                        # ZeroDivisionError in rho-squared
    (0, ("spec", "factors", "price", "range"), None),    # TypeError in dce wtp's attribute importance
]


@pytest.mark.parametrize("family, path, value", REGRESSIONS)
def test_regressions(tmp_path, fz, bases, family, path, value):
    d = copy.deepcopy(bases[family])
    parent = d
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    read(fz, d)
    m = tmp_path / "m.json"
    m.write_text(json.dumps(d))
    sc = tmp_path / "sc.yaml"
    sc.write_text(SCENARIOS)
    fz.run_cli(["shares", m, "--scenarios", sc, "--sims", "20", "--seed", "1", "-o", tmp_path / "s.json"],
               codes=(0, 2, 3), outputs=[tmp_path / "s.json"], folder=tmp_path)
    fz.run_cli(["wtp", m, "--cost", "price", "--sims", "20", "--seed", "1", "-o", tmp_path / "w.json"],
               codes=(0, 2, 3), outputs=[tmp_path / "w.json"], folder=tmp_path)


# ------------------------------------------------------------------ issue 19: the classes of round 3
@given(family=st.integers(0, 3), depth=st.sampled_from([65, 200, 1000, 5000, 50_000]), at=st.integers(0, 50),
       bracket=st.sampled_from(["[]", "{}"]))
@example(family=0, depth=50_000, at=0, bracket="[]")
def test_results_nested_deeply_anywhere(tmp_path, fz, bases, family, depth, at, bracket):
    """A value nested thousands of levels deep at any key of a results file: one line naming the file (was a
    RecursionError, exit 1), from the library and through `dce wtp`."""
    from dce.models.results import ModelResult

    d = copy.deepcopy(bases[family])
    paths = [p for p in key_paths(d, items=3)[1:] if p and isinstance(p[-1], str)]
    path = paths[at % len(paths)]
    parent = d
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = "\x01DEEP\x01"
    o, c = bracket
    nested = (o + '"a": ' if o == "{" else o) * depth
    nested = (o + '"a": ') * (depth - 1) + "{}" + c * (depth - 1) if o == "{" else o * depth + c * depth
    m = tmp_path / "m.json"
    m.write_text(json.dumps(d).replace('"\\u0001DEEP\\u0001"', nested))
    with fz.bounded(20, "a deeply nested results file"):
        try:
            ModelResult.load(m)
        except DCEError as e:
            fz.one_line_error(e, m)
        else:
            raise AssertionError(f"a value nested {depth} levels deep was accepted")
    fz.run_cli(["wtp", m, "--cost", "price", "--sims", "20", "--seed", "1"], codes=(2,), place=m)


@given(family=st.integers(0, 3), entries=st.lists(st.floats(-10, 10), min_size=1, max_size=64),
       symmetric=st.booleans())
@example(family=0, entries=[-1.0], symmetric=True)
def test_any_accepted_covariance_is_a_covariance(fz, bases, family, entries, symmetric):
    """A vcov of random entries: refused in one line, or positive semidefinite (a matrix with a negative
    eigenvalue gave zero standard errors and zero-width intervals)."""
    from dce.models.results import ModelResult

    d = copy.deepcopy(bases[family])
    k = len(d["params"])
    M = np.resize(np.array(entries), (k, k))
    V = M @ M.T * 1e-3 if symmetric and len(entries) % 2 else (M + M.T) / 2 if symmetric else M
    d["vcov"] = V.tolist()
    d.pop("vcovs", None)
    try:
        r = ModelResult.from_dict(d, "m.json")
    except DCEError as e:
        fz.one_line_error(e, "m.json")
        return
    W = r.vcov
    if r.converged:                       # an unconverged fit's matrix is kept as written (exit status 3)
        assert np.allclose(W, W.T) and np.linalg.eigvalsh(W)[0] >= -1e-8 * max(np.abs(W).max(), 1e-300)


@given(level=st.one_of(st.sampled_from(["basic", "good", "best", "Good", " good", "1", ""]), st.text(max_size=6),
                       st.integers(), st.floats(allow_nan=False)))
@example(level="premium")
def test_scenario_levels_are_levels_the_model_knows(tmp_path, fz, bases, level):
    """A scenario value of a categorical column: coded only when the model knows it (an unknown one was
    silently coded as the reference level)."""
    from dce.models.results import ModelResult
    from dce.post.shares import load_scenarios

    r = ModelResult.from_dict(copy.deepcopy(bases[0]), "m.json")
    sc = tmp_path / "sc.yaml"
    sc.write_text("reference: {name: ref, levels: {price: 1, quality: basic}}\n"
                  f"scenarios:\n  - {{name: s, levels: {{price: 2, quality: {json.dumps(level)}}}}}\n")
    try:
        _, _, items = load_scenarios(sc, r)
    except DCEError as e:
        fz.one_line_error(e, sc)
        return
    assert str(level) in ("basic", "good")
