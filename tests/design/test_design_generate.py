"""Design search: D-error against an independent calculation, known optimal designs, constraints,
blocks, reproducibility."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dce.design.core import Design
from dce.design.diagnostics import evaluate, sb_efficiency, sb_optimum_det
from dce.design.generate import _Search, assign_blocks, make_design
from dce.design.info import d_error, information, prior_draws
from dce.design.spec import parse_design_spec
from dce.util.numdiff import hessian_from_grad


def _spec(n_attr, n_lev, m, tasks, coding="effects", extra=""):
    attrs = "".join(f"  a{k}: {{levels: {list(range(n_lev))}, coding: {coding}}}\n" for k in range(n_attr))
    return parse_design_spec(f"alternatives: {m}\ntasks: {tasks}\n{extra}attributes:\n{attrs}")


def _independent_info(X, beta):
    """-Hessian of the MNL log-likelihood by finite differences of its score (written out in loops)."""
    S, J, P = X.shape

    def score(b):
        g = np.zeros(P)
        for s in range(S):
            v = [sum(X[s, j, p] * b[p] for p in range(P)) for j in range(J)]
            e = [math.exp(x - max(v)) for x in v]
            tot = sum(e)
            for j in range(J):
                y = 1.0 if j == 0 else 0.0      # any choices: the Hessian of the MNL does not depend on them
                for p in range(P):
                    g[p] += (y - e[j] / tot) * X[s, j, p]
        return g

    return -hessian_from_grad(score, beta, rel=1e-5)


def test_d_error_matches_independent_calculation():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 3, 4))
    for beta in (np.zeros(4), np.array([0.5, -1.0, 0.3, 0.8])):
        I_ref = _independent_info(X, beta)
        I = information(X, beta[None])[0]
        np.testing.assert_allclose(I, I_ref, rtol=1e-6, atol=1e-8)
        assert d_error(X, beta[None]) == pytest.approx(np.linalg.det(I_ref) ** (-1 / 4), rel=1e-6)
    # Bayesian: the mean of the per-draw D-errors
    B = prior_draws(np.array([0.5, -1.0, 0.3, 0.8]), np.full(4, 0.3), 16, "halton", seed=1)
    ref = np.mean([np.linalg.det(_independent_info(X, b)) ** (-1 / 4) for b in B])
    assert d_error(X, B) == pytest.approx(ref, rel=1e-6)


def test_d_error_known_value_foldover():
    """4 two-level attributes, effects coded, 8 foldover pairs from a 2^(4-1) fraction: I = 8 * identity."""
    base = np.array([r + (r[0] ^ r[1] ^ r[2],) for r in itertools.product((0, 1), repeat=3)])
    levels = np.stack([base, 1 - base], axis=1)
    spec = _spec(4, 2, 2, 8)
    d = Design(spec=spec, levels=levels, block=np.ones(8))
    np.testing.assert_allclose(information(d.matrix(), np.zeros((1, 4)))[0], 8 * np.eye(4), atol=1e-12)
    assert d_error(d.matrix(), np.zeros((1, 4))) == pytest.approx(1 / 8)
    assert sb_efficiency(levels, [2, 2, 2, 2]) == pytest.approx(1.0)


def test_sb_bound_formula():
    # 2^4, m = 2: det C_opt = (1/16)^4; 3^3, m = 3: (1/27)^6 (Street & Burgess 2007, Thm 6.3.1)
    assert sb_optimum_det([2, 2, 2, 2], 2) == pytest.approx((1 / 16) ** 4)
    assert sb_optimum_det([3, 3, 3], 3) == pytest.approx((1 / 27) ** 6)
    # a poor design is less than 100%
    rng = np.random.default_rng(0)
    assert sb_efficiency(rng.integers(0, 2, size=(8, 2, 4)), [2, 2, 2, 2]) < 0.99


@pytest.mark.parametrize("coding", ["effects", "dummy"])
def test_finds_optimal_2x4_design(coding):
    spec = _spec(4, 2, 2, 8, coding)
    d = make_design(spec, seed=11, starts=5)
    r = evaluate(d)
    assert r["sb_efficiency"] == pytest.approx(1.0, abs=1e-6)
    assert r["repeated_alternatives"] == 0


def test_finds_optimal_3x3_design():
    spec = _spec(3, 3, 3, 9)
    d = make_design(spec, seed=7, starts=40)
    r = evaluate(d)
    assert r["sb_efficiency"] == pytest.approx(1.0, abs=1e-6)
    # the optimum shows every level of every attribute in every task
    assert all(v["mean_distinct_levels"] == 3 for v in r["overlap"].values())
    assert r["d_error_neutral"] == pytest.approx(27 ** -0.5, rel=1e-9)


def test_full_factorial_shifted_is_optimal():
    spec = _spec(4, 2, 2, 0, extra="method: full_factorial\n")
    d = make_design(spec, seed=1)
    assert d.n_tasks == 16
    assert evaluate(d)["sb_efficiency"] == pytest.approx(1.0)


NEWDEAL_LIKE = """\
alternatives: 2
tasks: 12
blocks: 3
draws: 20
status_quo:
  levels: {deleg: none, hours: 50, consult: 15, income: 0}
  prior: {mean: 0.5, sd: 0.2}
attributes:
  deleg: {levels: [none, nurse, team], coding: dummy, prior: {mean: [1.0, 0.5], sd: [0.3, 0.3]}}
  hours: {levels: [40, 45, 50, 55], coding: linear, prior: {mean: -0.1, sd: 0.03}}
  consult: {levels: [10, 15, 20], coding: linear, prior: 0.2}
  income: {levels: [-10, 0, 10], coding: effects, prior: [0.0, 0.4]}
constraints:
  - "deleg == 'none' and hours < 50"
  - "consult == 20 and hours == 40"
"""


@pytest.fixture(scope="module")
def nd():
    spec = parse_design_spec(NEWDEAL_LIKE)
    return spec, make_design(spec, seed=123, starts=2)


def test_constraints_never_violated(nd):
    spec, d = nd
    for row in d.rows():
        if row["alt"] == "status_quo":
            continue
        assert not (row["deleg"] == "none" and float(row["hours"]) < 50), row
        assert not (row["consult"] == "20" and row["hours"] == "40"), row
    r = evaluate(d)
    assert r["constraint_violations"] == 0
    assert r["repeated_alternatives"] == 0 and r["alternatives_equal_to_status_quo"] == 0
    assert r["dominance"]["tasks_with_dominated_alternative"] == 0


def test_blocks_balanced(nd):
    spec, d = nd
    assert sorted(np.bincount(d.block)[1:].tolist()) == [4, 4, 4]
    assert np.all(np.diff(d.block) >= 0)            # rows in block order
    np.testing.assert_array_equal(d.task_ids, np.arange(1, 13))
    from dce.design.generate import block_features

    F = block_features(d.levels, spec.n_levels)
    target = F.sum(0) / 3

    def obj(block):
        return sum(((F[block == b].sum(0) - target) ** 2).sum() for b in (1, 2, 3))

    rng = np.random.default_rng(0)
    random_objs = [obj(rng.permutation(d.block)) for _ in range(200)]
    assert obj(d.block) <= min(random_objs)
    assert evaluate(d)["block_balance_max_deviation"] <= 1.0 + 1e-9


def test_block_assignment_perfect_when_possible():
    # two copies of each task: a perfect split into 2 blocks exists
    rng = np.random.default_rng(2)
    half = rng.integers(0, 3, size=(6, 2, 3))
    levels = np.concatenate([half, half])
    block = assign_blocks(levels, np.array([3, 3, 3]), 2, np.random.default_rng(0))
    from dce.design.generate import block_features

    F = block_features(levels, [3, 3, 3])
    np.testing.assert_array_equal(F[block == 1].sum(0), F[block == 2].sum(0))


def test_same_seed_same_design(nd):
    spec, d = nd
    d2 = make_design(spec, seed=123, starts=2)
    np.testing.assert_array_equal(d.levels, d2.levels)
    np.testing.assert_array_equal(d.block, d2.block)
    assert d2.seed == 123
    d3 = make_design(spec, seed=124, starts=2)
    assert not np.array_equal(d.levels, d3.levels)


def test_search_objective_is_reported_bayesian_error(nd):
    spec, d = nd
    r = evaluate(d)
    assert r["bayesian"] and r["draws"] == 20
    # the search minimised the same Bayesian D-error (up to the tiny ridge it adds)
    assert r["d_error"] == pytest.approx(d.search["objective"], rel=1e-6)
    assert r["d_error"] <= min(d.search["errors"]) * (1 + 1e-6)


def test_numba_and_numpy_kernels_agree():
    pytest.importorskip("numba")
    spec = parse_design_spec(NEWDEAL_LIKE)
    B = prior_draws(spec.prior_mean, spec.prior_sd, 20, seed=0)
    out = []
    for backend in ("numba", "numpy"):
        ctx = _Search(spec, B, backend=backend)
        trng = np.random.default_rng(5)
        idx = np.stack([ctx.random_task(trng) for _ in range(spec.tasks)])
        X = ctx.code(idx)
        from dce.design.generate import _info_batch

        M = _info_batch(X, B)
        Itot = M.sum(0)
        ctx.ridge = 1e-9 * np.eye(spec.n_params)
        Xc = ctx.code(np.stack([ctx.random_task(trng) for _ in range(3)]))
        out.append(ctx.candidates(Xc, Itot, M[0]))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-12)


def test_numpy_backend_designs(nd):
    spec, _ = nd
    d = make_design(spec, seed=5, starts=1, backend="numpy")
    r = evaluate(d)
    assert r["constraint_violations"] == 0 and r["d_error"] is not None
    assert d.search["backend"] == "numpy"
