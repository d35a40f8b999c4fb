"""Willingness-to-pay space: the same conditional logit as preference space, exact derivatives through
the mixed kernels (numba and numpy), simulated truth, preference-space coefficient draws, errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dce.errors import DCEError
from dce.models.mixed.model import _Problem
from dce.models.mnl import ConditionalLogit
from dce.models.results import ModelResult
from dce.models.wtp_space import ConditionalLogitWTP, MixedLogitWTP, WTPSpace
from dce.util.numdiff import hessian_from_grad, jacobian
from tests.conftest import simulated_choices

VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]


def electricity(path):
    from dce.data.build import choice_data_from_formula

    df = pd.read_csv(path)
    return choice_data_from_formula(df, "choice ~ " + " + ".join(VARS), source=str(path), alt="alt", task="chid",
                                    id_col="id")


def simulated_wtp(n_resp=300, n_tasks=8, n_alts=3, seed=0, mu_s=np.log(0.8), sd_s=0.4, w=(1.0, -0.5),
                  sd_w=(0.5, 0.3), income=False, avail_drop=False, offset=False):
    """SIMULATED panel in WTP space: ``U = s_n (-price + w1_n x1 + w2_n x2) + e`` with a lognormal scale
    ``s_n`` and normal WTPs (``+income`` instead of ``-price`` with ``income``)."""
    rng = np.random.default_rng(seed)
    T = n_resp * n_tasks
    price = rng.integers(1, 6, size=(T, n_alts)).astype(float)
    x = rng.normal(size=(T, n_alts, 2))
    X = np.concatenate([price[:, :, None], x], axis=2)
    resp = np.repeat(np.arange(n_resp), n_tasks)
    s = np.exp(mu_s + sd_s * rng.normal(size=n_resp))[resp, None]
    w1 = rng.normal(w[0], sd_w[0], n_resp)[resp, None]
    w2 = rng.normal(w[1], sd_w[1], n_resp)[resp, None]
    V = s * ((1.0 if income else -1.0) * price + w1 * x[:, :, 0] + w2 * x[:, :, 1])
    return simulated_choices(rng, X, V, resp + 1, ["price", "x1", "x2"], offset, avail_drop)


# ------------------------------------------------------------------------------------------ conditional logit
def test_conditional_logit_in_wtp_space_is_the_preference_space_model(electricity_path):
    data = electricity(electricity_path)
    pref = ConditionalLogit().fit(data)
    res = ConditionalLogitWTP(price="pf", starts=3, seed=1).fit(data)
    assert res.model == "mnl_wtp" and res.converged
    assert res.names == ["scale"] + VARS[1:] and res.coef_names == VARS
    assert res.loglik == pytest.approx(-4958.649, abs=0.01)
    assert res.loglik == pytest.approx(pref.loglik, abs=1e-6)
    b, V = pref.estimates, pref.vcov
    for k in range(1, 6):
        ratio = -b[k] / b[0]
        grad = np.zeros(6)
        grad[k], grad[0] = -1 / b[0], b[k] / b[0] ** 2     # the delta method's gradient of -b_k / b_pf
        assert res.param(VARS[k]) == pytest.approx(ratio, rel=1e-6), VARS[k]
        assert res.se()[k] == pytest.approx(np.sqrt(grad @ V @ grad), rel=1e-6), VARS[k]
    assert res.param("scale") == pytest.approx(-b[0], rel=1e-8)
    assert res.se()[0] == pytest.approx(pref.se()[0], rel=1e-6)
    # every start reaches the same optimum; the default start is the optimum already
    assert res.info["starts"]["spread"] < 1e-6 and res.info["starts"]["reached_best"] == 3
    assert res.info["space"] == "wtp" and res.info["price"] == "pf" and res.info["price_sign"] == -1
    # post-estimation through the result's (preference-space) coefficient draws: dce wtp gives the WTPs back
    from dce.post.wtp import willingness_to_pay

    rows = {r["name"]: r for r in willingness_to_pay(res, "pf", n_sim=200, seed=1)}
    for k in range(1, 6):
        assert rows[VARS[k]]["wtp"] == pytest.approx(res.estimates[k], rel=1e-12)
        assert rows[VARS[k]]["se"] == pytest.approx(res.se()[k], rel=1e-5)


@pytest.mark.parametrize("sign", [-1, 1])
def test_conditional_evaluate_derivatives(sign):
    data = simulated_wtp(100, 4, seed=3, income=sign > 0, avail_drop=True, offset=True)
    model = ConditionalLogitWTP(price="price", price_sign=sign)
    problem = model._prepare(data, 1)
    assert model._space.sign == sign
    c = model._initial(problem, data, 0, np.random.default_rng(0)) + np.array([0.1, -0.2, 0.3])
    ev = problem.evaluate(c)
    np.testing.assert_allclose(ev.grad, jacobian(lambda t: problem.evaluate(t).loglik, c)[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ev.hess, hessian_from_grad(lambda t: problem.evaluate(t).grad, c), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(ev.scores.sum(axis=0), ev.grad, rtol=1e-10, atol=1e-8)


def test_the_sign_follows_the_preference_space_coefficient():
    """SIMULATED income (more is better): the sign is +1, the scale positive, the WTPs the income given up."""
    data = simulated_wtp(200, 6, seed=4, income=True, sd_s=0.0, sd_w=(0.0, 0.0))
    res = ConditionalLogitWTP(price="price").fit(data)
    assert res.info["price_sign"] == 1 and res.param("scale") > 0
    assert any("+scale x price" in v for _, v in res.fit_rows)
    B, _ = res.coefficient_draws()
    np.testing.assert_allclose(B[0], ConditionalLogit().fit(data).estimates, rtol=1e-6)


# ------------------------------------------------------------------------------------------ mixed logit
SPECS = [
    ({"scale": "ln", "x1": "n", "x2": "n"}, None),
    ({"scale": "ln", "x1": "n", "x2": "n"}, "all"),
    ({"x1": "t", "x2": "u"}, None),                   # a fixed scale
    ({"scale": "n", "x1": "ln", "x2": "-ln"}, None),
    ({"scale": "ln", "x2": "n", "x1": "u"}, ["scale", "x2"]),
]


def _mixed_problem(random, corr, backend, data, sign=None):
    model = MixedLogitWTP(random, price="price", price_sign=sign, correlated=corr, draws=20, seed=5,
                          backend=backend)
    model._prepare_space(data)
    model._setup(data)
    return model, _Problem(model, data, 3)


def _theta(model, rng):
    K = len(model._names) - len(model._lparams)
    return np.concatenate([rng.normal(scale=0.4, size=K), rng.uniform(0.2, 0.6, size=len(model._lparams))])


@pytest.mark.parametrize("random,corr", SPECS)
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_mixed_gradient_and_hessian_match_finite_differences(random, corr, backend):
    pytest.importorskip("numba") if backend == "numba" else None
    data = simulated_wtp(30, 4, seed=1, avail_drop=True, offset=True)
    model, prob = _mixed_problem(random, corr, backend, data)
    assert prob.sidx == 0 and model._coef_names == ["scale", "x1", "x2"]
    th = _theta(model, np.random.default_rng(2))
    ev = prob.evaluate(th, hess=True)
    np.testing.assert_allclose(ev.grad, jacobian(lambda t: prob.evaluate(t).loglik, th)[0], rtol=1e-6, atol=1e-6)
    fdH = jacobian(lambda t: prob.evaluate(t).grad, th)
    np.testing.assert_allclose(ev.hess, fdH, rtol=1e-6, atol=1e-6 * np.abs(ev.hess).max())
    np.testing.assert_array_equal(ev.hess, ev.hess.T)


@pytest.mark.parametrize("sign", [-1, 1])
def test_mixed_numba_and_numpy_kernels_agree(sign):
    pytest.importorskip("numba")
    data = simulated_wtp(40, 5, n_alts=4, seed=2, avail_drop=True, offset=True, income=sign > 0)
    out = {}
    for backend in ("numba", "numpy"):
        model, prob = _mixed_problem({"scale": "ln", "x1": "n", "x2": "t"}, None, backend, data, sign=sign)
        th = _theta(model, np.random.default_rng(0))
        out[backend] = prob.kernel_pass(th, hess=True)
        for x, y in zip(prob.kernel_pass(th)[:3], out[backend][:3]):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)
    for x, y in zip(out["numba"], out["numpy"]):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-11)


def test_mixed_without_random_scale_and_spread_is_the_conditional_logit():
    """With a spread of zero every draw is the conditional logit: the same log-likelihood and gradient."""
    data = simulated_wtp(50, 4, seed=6)
    cond = ConditionalLogitWTP(price="price")
    cp = cond._prepare(data, 1)
    model, prob = _mixed_problem({"x1": "n"}, None, "auto", data)
    c = np.array([0.7, 0.9, -0.4])
    ev_c, ev_m = cp.evaluate(c), prob.evaluate(np.concatenate([c, [0.0]]), hess=True)
    assert ev_m.loglik == pytest.approx(ev_c.loglik, rel=1e-12)
    np.testing.assert_allclose(ev_m.grad[:3], ev_c.grad, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ev_m.hess[:3, :3], ev_c.hess, rtol=1e-9, atol=1e-9)


def test_mixed_recovers_simulated_truth_from_the_default_start():
    """SIMULATED panel: lognormal scale, normal WTPs; truth within three standard errors; every start
    reaches the same optimum."""
    data = simulated_wtp(400, 8, seed=0)
    res = MixedLogitWTP({"scale": None, "x1": "n", "x2": "n"}, price="price", draws=100, seed=1, starts=3).fit(data)
    assert res.model == "mixed_wtp" and res.converged and "Newton" in res.message
    assert res.names == ["scale", "x1", "x2", "sd.scale", "sd.x1", "sd.x2"]
    truth = {"scale": np.log(0.8), "sd.scale": 0.4, "x1": 1.0, "sd.x1": 0.5, "x2": -0.5, "sd.x2": 0.3}
    se = res.se()
    for name, value in truth.items():
        i = res.names.index(name)
        assert abs(res.estimates[i] - value) < 3 * se[i], (name, res.estimates[i], value, se[i])
    assert res.info["random"]["scale"]["distribution"] == "ln"
    assert res.info["random"]["scale"]["mean"] == pytest.approx(res.param("scale"))   # the log-scale mean
    assert res.info["implied"]["scale"]["median"] == pytest.approx(np.exp(res.param("scale")))
    st = res.info["starts"]
    assert st["n"] == 3 and st["spread"] < 1e-3 and st["reached_best"] == 3
    assert res.info["space"] == "wtp" and res.info["price"] == "price"


def test_mixed_coefficient_draws_are_in_preference_space():
    data = simulated_wtp(40, 3, seed=7)
    res = MixedLogitWTP({"scale": "ln", "x1": "n"}, price="price", draws=10, seed=1, maxiter=2).fit(data)
    theta = np.array([np.log(0.5), 2.0, -1.0, 0.3, 0.6])     # scale, x1, x2, sd.scale, sd.x1
    B, w = res.coefficient_draws(theta, n_draws=4000, seed=2)
    assert B.shape == (4000, 3) and w.sum() == pytest.approx(1.0)
    s = -B[:, 0]                                              # beta_price = -scale
    assert np.all(s > 0)
    assert np.mean(np.log(s)) == pytest.approx(np.log(0.5), abs=0.01)
    assert np.std(np.log(s)) == pytest.approx(0.3, rel=0.03)
    wtp1, wtp2 = B[:, 1] / s, B[:, 2] / s                     # beta_k = scale * w_k
    assert wtp1.mean() == pytest.approx(2.0, abs=0.02) and wtp1.std() == pytest.approx(0.6, rel=0.03)
    np.testing.assert_allclose(wtp2, -1.0, rtol=1e-12)
    # and the result round-trips through its JSON to the same draws
    back = ModelResult.from_dict(json.loads(json.dumps(res.to_dict())), source="x.json")
    np.testing.assert_array_equal(back.coefficient_draws(theta, n_draws=50, seed=2)[0],
                                  res.coefficient_draws(theta, n_draws=50, seed=2)[0])
    assert back.info["price_sign"] == -1


def test_individual_means_are_wtps():
    data = simulated_wtp(60, 4, seed=8)
    model = MixedLogitWTP({"scale": "ln", "x1": "n"}, price="price", draws=20, seed=1)
    model.fit(data)
    ind = model.individual_means(data)
    assert list(ind.columns) == ["id", "n_tasks", "scale", "x1"] and len(ind) == 60
    assert np.all(ind["scale"] > 0)


def test_wtp_space_map_inverts():
    sp = WTPSpace(["a", "p", "b"], "p", -1)
    beta = np.array([0.6, -1.5, -0.3])
    c = sp.from_preference(beta)
    np.testing.assert_allclose(c, [0.4, 1.5, -0.2])
    np.testing.assert_allclose(sp.to_preference(c), beta)
    assert sp.names == ["a", "scale", "b"]


@pytest.mark.parametrize("cls,kwargs,match", [
    (ConditionalLogitWTP, dict(price="nope"), "price: simulated: 'nope' is not a coefficient of the model"),
    (ConditionalLogitWTP, dict(price="price", price_sign=2), "price_sign: must be -1"),
    (ConditionalLogitWTP, dict(price=None), "price: a willingness-to-pay space model needs"),
    (MixedLogitWTP, dict(price="price", random={"nope": "n"}), "random: 'nope' is not a coefficient"),
    (MixedLogitWTP, dict(price="price", random={"price": "n"}), "random: 'price' is the price"),
    (MixedLogitWTP, dict(price="price", random={"scale": "-ln"}), "cannot be negative lognormal"),
    (MixedLogitWTP, dict(price="nope", random={"scale": "ln"}), "price: simulated: 'nope' is not a coefficient"),
])
def test_bad_input_is_a_clear_error(cls, kwargs, match):
    data = simulated_wtp(20, 3, seed=1)
    with pytest.raises(DCEError, match=match):
        cls(**kwargs).fit(data)


def test_constant_price_and_a_coefficient_named_scale_are_refused():
    data = simulated_wtp(20, 3, seed=1)
    data.X[:, :, 0] = np.arange(20 * 3)[:, None]            # constant within every task
    with pytest.raises(DCEError, match="price: simulated: 'price' is constant within every task"):
        ConditionalLogitWTP(price="price").fit(data)
    data = simulated_wtp(20, 3, seed=1)
    data.names = ["price", "scale", "x2"]
    with pytest.raises(DCEError, match="already named 'scale'"):
        MixedLogitWTP({"x2": "n"}, price="price").fit(data)
