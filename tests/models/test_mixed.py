"""Mixed logit: gradients, numba vs numpy, simulated-truth recovery, the electricity reference, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError, DCEError
from dce.models.mixed.model import MixedLogit, _Problem
from dce.util.numdiff import jacobian
from tests.conftest import simulated_choices

VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]


def electricity(path):
    df = pd.read_csv(path)
    X = df[VARS].to_numpy(float).reshape(-1, 4, 6)
    chosen = df["choice"].astype(str).str.upper().eq("TRUE").to_numpy().reshape(-1, 4).argmax(axis=1)
    return ChoiceData(X=X, avail=np.ones((X.shape[0], 4), bool), chosen=chosen, names=list(VARS),
                      alt_labels=[1, 2, 3, 4], resp=df["id"].to_numpy()[::4], source=str(path))


def simulated_panel(n_resp, n_tasks, n_alts, beta_fn, names, seed, avail_drop=False, offset=False):
    """SIMULATED data: respondents with coefficients drawn by beta_fn(rng, n) answer random tasks."""
    rng = np.random.default_rng(seed)
    K = len(names)
    B = beta_fn(rng, n_resp)                                   # n_resp x K
    T = n_resp * n_tasks
    X = rng.normal(size=(T, n_alts, K))
    resp = np.repeat(np.arange(n_resp), n_tasks)
    V = np.einsum("tjk,tk->tj", X, B[resp])
    return simulated_choices(rng, X, V, resp + 1000, names, offset, avail_drop)


def _problem(model, data, seed=3):
    model._setup(data)
    return _Problem(model, data, seed)


def _theta_for(model, rng):
    K = len(model._names) - len(model._lparams)
    th = np.concatenate([rng.normal(scale=0.5, size=K), rng.uniform(0.2, 0.8, size=len(model._lparams))])
    return th


@pytest.mark.parametrize("random,corr", [
    ({"a": "n", "b": "n"}, None),
    ({"a": "ln", "b": "n"}, None),
    ({"a": "-ln", "c": "t"}, None),
    ({"a": "t", "b": "u", "c": "n"}, None),
    ({"a": "n", "b": "ln", "c": "n"}, "all"),
    ({"a": "n", "b": "n", "c": "u"}, ["a", "b"]),
])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_gradient_matches_finite_differences(random, corr, backend):
    pytest.importorskip("numba") if backend == "numba" else None
    data = simulated_panel(30, 4, 3, lambda r, n: r.normal(size=(n, 3)), ["a", "b", "c"], seed=1,
                           avail_drop=True, offset=True)
    model = MixedLogit(random, correlated=corr, draws=20, seed=5, backend=backend)
    prob = _problem(model, data)
    th = _theta_for(model, np.random.default_rng(2))
    # through the exact function the engine maximises
    ev = prob.evaluate(th, hess=True)
    fd = jacobian(lambda t: prob.evaluate(t).loglik, th)[0]
    np.testing.assert_allclose(ev.grad, fd, rtol=1e-6, atol=1e-6)
    # the exact Hessian of the simulated log-likelihood against differences of the analytic gradient
    H = ev.hess
    fdH = jacobian(lambda t: prob.evaluate(t).grad, th)
    np.testing.assert_allclose(H, fdH, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    np.testing.assert_array_equal(H, H.T)


def test_numba_and_numpy_kernels_agree():
    pytest.importorskip("numba")
    data = simulated_panel(40, 5, 4, lambda r, n: r.normal(size=(n, 3)), ["a", "b", "c"], seed=2,
                           avail_drop=True, offset=True)
    out = {}
    for backend in ("numba", "numpy"):
        model = MixedLogit({"a": "n", "b": "ln", "c": "t"}, draws=50, seed=4, backend=backend)
        prob = _problem(model, data)
        th = _theta_for(model, np.random.default_rng(0))
        out[backend] = prob.kernel_pass(th, hess=True)
        # the same log-likelihood, scores and means with and without the Hessian
        for x, y in zip(prob.kernel_pass(th)[:3], out[backend][:3]):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)
    for x, y in zip(out["numba"], out["numpy"]):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-11)


def test_numpy_chunks_give_the_same_result():
    """The fallback processes draws in chunks; the merge across chunks is exact."""
    from dce.models.mixed.kernels_ref import panel_kernel_np

    data = simulated_panel(20, 3, 3, lambda r, n: r.normal(size=(n, 2)), ["a", "b"], seed=3)
    model = MixedLogit({"a": "n", "b": "n"}, draws=37, seed=1, backend="numpy")
    prob = _problem(model, data)
    mu, L = prob.unpack(np.array([0.3, -0.2, 0.5, 0.7]))
    res = []
    for chunk in (10**9, 2000):   # one chunk / several chunks of a few draws
        R, K, P = prob.R, prob.K, prob.n_params
        outs = [np.empty(R), np.empty((R, P)), np.empty((R, K)), np.empty((1, P, P))]
        panel_kernel_np(prob.dX, prob.doff, prob.starts, mu, L, prob.ztype, prob.Z, prob.pk, prob.pq, prob.sidx,
                        True, prob.bounds, 0, 1, *outs, chunk_bytes=chunk)
        res.append(outs)
    for x, y in zip(*res):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_fast_exponential_is_accurate():
    pytest.importorskip("numba")
    from dce.models.mixed.kernels import vexp_array

    x = np.concatenate([np.linspace(-700, 700, 200001), np.random.default_rng(0).normal(size=10000)])
    np.testing.assert_allclose(vexp_array(x), np.exp(x), rtol=4e-16, atol=0)


def test_recovers_simulated_truth_with_correlation_and_lognormal():
    """SIMULATED panel, known truth: a (normal) and b (normal) correlated, c negative lognormal."""
    mu = np.array([1.0, -0.5])
    Lt = np.array([[0.8, 0.0], [0.5, 0.6]])
    mc, sc = np.log(0.8), 0.4

    def beta(rng, n):
        z = rng.normal(size=(n, 3))
        ab = mu + z[:, :2] @ Lt.T
        c = -np.exp(mc + sc * z[:, 2])
        return np.column_stack([ab, c])

    data = simulated_panel(500, 8, 3, beta, ["a", "b", "c"], seed=11)
    model = MixedLogit({"a": "n", "b": "n", "c": "-ln"}, correlated=["a", "b"], draws=100, seed=2)
    res = model.fit(data)
    assert res.converged
    truth = {"a": 1.0, "b": -0.5, "c": mc, "sd.c": sc, "chol.a.a": 0.8, "chol.b.a": 0.5, "chol.b.b": 0.6}
    se = res.se()
    for name, value in truth.items():
        i = res.names.index(name)
        assert abs(res.estimates[i] - value) < 3 * se[i], (name, res.estimates[i], value, se[i])
    corr = res.info["correlation"]
    assert corr["names"] == ["a", "b"]
    true_corr = 0.5 / np.hypot(0.5, 0.6)
    assert abs(corr["matrix"][0][1] - true_corr) < 3 * corr["matrix_se"][0][1]
    imp = res.info["implied"]["c"]
    assert imp["median"] == pytest.approx(-np.exp(res.param("c")))
    assert abs(imp["mean"] - (-np.exp(mc + sc**2 / 2))) < 3 * imp["mean_se"]


def test_recovers_simulated_truth_triangular_uniform_cross_section():
    """SIMULATED cross-section (no ids): triangular and uniform coefficients."""
    def beta(rng, n):
        u1, u2 = rng.random(n), rng.random(n)
        tri = np.where(u1 < 0.5, np.sqrt(2 * u1) - 1, 1 - np.sqrt(2 * (1 - u1)))
        return np.column_stack([1.0 + 1.5 * tri, -1.0 + 1.0 * (2 * u2 - 1)])

    data = simulated_panel(300, 10, 3, beta, ["a", "b"], seed=5)
    panel_model = MixedLogit({"a": "t", "b": "u"}, draws=100, seed=1)
    res = panel_model.fit(data)
    for name, value in {"a": 1.0, "b": -1.0, "sd.a": 1.5, "sd.b": 1.0}.items():
        i = res.names.index(name)
        assert abs(res.estimates[i] - value) < 3 * res.se()[i], name
    assert res.info["panel"] is True and res.n_respondents == 300
    data.resp = None
    data._panel = None
    cs = MixedLogit({"a": "t", "b": "u"}, draws=50, seed=1).fit(data)
    assert cs.info["panel"] is False and cs.n_respondents == data.n_tasks
    # the means are identified without the panel too
    assert cs.converged
    for name, value in {"a": 1.0, "b": -1.0}.items():
        assert abs(cs.param(name) - value) < 3 * cs.se()[cs.names.index(name)], name
    assert "cluster" not in cs.vcovs


def test_electricity_100_halton_draws_matches_reference(electricity_path):
    ref = {"pf": (-0.973384, 0.034324), "cl": (-0.205557, 0.013323), "loc": (2.075733, 0.080430),
           "wk": (1.475650, 0.065168), "tod": (-9.052542, 0.287219), "seas": (-9.103772, 0.289043),
           "sd.pf": (0.219945, 0.010840), "sd.cl": (0.378304, 0.018489), "sd.loc": (1.482980, 0.081305),
           "sd.wk": (1.000061, 0.074182), "sd.tod": (2.289489, 0.110731), "sd.seas": (1.180883, 0.109007)}
    data = electricity(electricity_path)
    model = MixedLogit({v: "n" for v in VARS}, draws=100, draw_type="halton", seed=1, se="robust")
    res = model.fit(data)
    assert res.converged
    # the same Halton scheme as the reference (primes per dimension, points 100.. per respondent block)
    assert res.loglik == pytest.approx(-3952.488, abs=0.05)
    for name, (est, se) in ref.items():
        assert abs(res.param(name) - est) < se, name
    assert res.info["draws"] == 100 and res.info["seed"] == 1 and res.info["draw_type"] == "halton"
    assert set(res.info["random"]) == set(VARS)
    assert res.info["random"]["pf"]["distribution"] == "n"
    assert "cluster" in res.vcovs
    # conditional means: one row per respondent, centred near the population means
    ind = model.individual_means(data)
    assert list(ind.columns) == ["id", "n_tasks"] + VARS and len(ind) == 361
    assert abs(ind["pf"].mean() - res.param("pf")) < 0.1


def test_starts_keep_the_best_and_report_the_spread():
    data = simulated_panel(100, 6, 3, lambda r, n: 0.5 + r.normal(size=(n, 2)), ["a", "b"], seed=8)
    res = MixedLogit({"a": "n"}, draws=30, seed=3, starts=3, search=0).fit(data)   # the starts without the search
    st = res.info["starts"]
    assert st["n"] == 3 and len(st["logliks"]) == 3
    assert res.loglik == pytest.approx(max(st["logliks"]), abs=1e-6)
    assert st["spread"] == pytest.approx(max(st["logliks"]) - min(st["logliks"]))


def test_zero_sd_is_a_warning_and_seed_is_chosen_and_reported():
    # SIMULATED: 'b' is fixed in truth, so its sd should go to about zero
    data = simulated_panel(150, 6, 3, lambda r, n: np.column_stack([r.normal(1, 1, n), np.full(n, -1.0)]),
                           ["a", "b"], seed=4)
    model = MixedLogit({"a": "n", "b": "n"}, draws=50)
    res = model.fit(data)
    assert isinstance(res.info["seed"], int) and res.info["seed"] == model.seed_
    again = MixedLogit({"a": "n", "b": "n"}, draws=50, seed=res.info["seed"]).fit(data)
    np.testing.assert_allclose(again.estimates, res.estimates, rtol=1e-10)
    # seeded: 'b' has no spread in truth; its sd goes to about zero, which is said
    fixed = MixedLogit({"a": "n", "b": "n"}, draws=50, seed=4).fit(data)
    assert fixed.info["random"]["b"]["sd"] < 0.01
    assert any("'b'" in w and "zero" in w for w in fixed.warnings)


@pytest.mark.parametrize("kwargs,match", [
    (dict(random={"nope": "n"}), "'nope' is not a coefficient"),
    (dict(random={"a": "gamma"}), "unknown distribution 'gamma'"),
    (dict(random={"a": "n"}, correlated=["a", "b"]), "'b' is a fixed coefficient"),
    (dict(random={"a": "n"}, draws=1), "too few"),
    (dict(random={}), "at least one random coefficient"),
    (dict(random={"a": "t", "b": "n"}, correlated="all"), "only normal and lognormal"),
    (dict(random={"a": "n"}, se="cluster", _cross=True), "id_col: needed for cluster standard errors"),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    data = simulated_panel(10, 2, 3, lambda r, n: r.normal(size=(n, 2)), ["a", "b"], seed=1)
    if kwargs.pop("_cross", False):
        data.resp = None
        data._panel = None
    with pytest.raises(DCEError, match=match):
        MixedLogit(**kwargs).fit(data)


def test_electricity_1000_halton_draws_matches_reference(electricity_path):
    ref = {"pf": (-1.003841, 0.036746), "cl": (-0.248130, 0.015107), "loc": (2.349380, 0.090355),
           "wk": (1.640601, 0.071705), "tod": (-9.513376, 0.313293), "seas": (-9.739302, 0.317243),
           "sd.pf": (0.215875, 0.013046), "sd.cl": (0.408774, 0.020177), "sd.loc": (1.884571, 0.104617),
           "sd.wk": (1.235815, 0.084987), "sd.tod": (2.442797, 0.137063), "sd.seas": (1.581369, 0.142852)}
    res = MixedLogit({v: "n" for v in VARS}, draws=1000, seed=1).fit(electricity(electricity_path))
    assert res.loglik == pytest.approx(-3886.897, abs=1.0)
    for name, (est, se) in ref.items():
        assert abs(res.param(name) - est) < se, name


def test_train_500_halton_draws_matches_reference(train_path):
    df = pd.read_csv(train_path)
    cols = {"price_eur": ("price", 2.20371 / 100), "time_h": ("time", 1 / 60), "change": ("change", 1.0),
            "comfort": ("comfort", 1.0)}
    X = np.stack([np.stack([df[f"{c}{j}"].to_numpy(float) * f for (c, f) in cols.values()], axis=1)
                  for j in (1, 2)], axis=1)
    chosen = (df["choice"].astype(str) == "choice2").to_numpy().astype(int)
    data = ChoiceData(X=X, avail=np.ones((len(df), 2), bool), chosen=chosen, names=list(cols),
                      alt_labels=[1, 2], resp=df["id"].to_numpy())
    ref = {"price_eur": (-0.149428, 0.006890), "time_h": (-4.841640, 0.321042), "change": (-0.970054, 0.101479),
           "comfort": (-2.528245, 0.151955), "sd.time_h": (5.946397, 0.430099),
           "sd.change": (1.845233, 0.152120), "sd.comfort": (2.660590, 0.180930)}
    res = MixedLogit({"time_h": "n", "change": "n", "comfort": "n"}, draws=500, seed=1).fit(data)
    assert res.loglik == pytest.approx(-1542.859, abs=1.0)
    for name, (est, se) in ref.items():
        assert abs(res.param(name) - est) < se, name


def test_coefficient_draws_follow_the_mixing_distribution():
    """coefficient_draws maps parameters to coefficients as the likelihood does (moments of the draws)."""
    from dce.models.mixed.model import coefficient_draws

    names = ["a", "b", "c", "d", "e"]
    data = simulated_panel(40, 3, 3, lambda r, n: r.normal(size=(n, 5)), names, seed=6)
    model = MixedLogit({"a": "n", "b": "n", "c": "-ln", "d": "t"}, correlated=["a", "b"], draws=10, seed=1,
                       maxiter=3)
    res = model.fit(data)
    pn = res.names
    assert pn == names + ["sd.c", "sd.d", "chol.a.a", "chol.b.a", "chol.b.b"]
    theta = np.array([1.0, -0.5, np.log(0.8), 2.0, 0.7, 0.4, 1.5, 0.8, 0.5, 0.6])
    B, w = res.coefficient_draws(theta, n_draws=4000, seed=3)
    assert B.shape == (4000, 5) and w.shape == (4000,) and w.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(B[:, 4], 0.7)                          # fixed
    np.testing.assert_allclose(B[:, :2].mean(axis=0), [1.0, -0.5], atol=0.03)
    Lt = np.array([[0.8, 0.0], [0.5, 0.6]])
    np.testing.assert_allclose(np.cov(B[:, :2].T), Lt @ Lt.T, atol=0.03)
    assert np.all(B[:, 2] < 0)
    assert np.median(B[:, 2]) == pytest.approx(-0.8, rel=0.02)           # -ln: median -exp(mu)
    assert np.std(np.log(-B[:, 2])) == pytest.approx(0.4, rel=0.03)
    assert B[:, 3].min() >= 2.0 - 1.5 and B[:, 3].max() <= 2.0 + 1.5     # triangular on mean +- spread
    assert B[:, 3].std() == pytest.approx(1.5 / np.sqrt(6), rel=0.03)
    # the same seed gives the same draws, another seed others; cheap repeated calls (Krinsky-Robb)
    np.testing.assert_array_equal(B, res.coefficient_draws(theta, n_draws=4000, seed=3)[0])
    assert not np.array_equal(B, res.coefficient_draws(theta, n_draws=4000, seed=4)[0])
    random = {n: v["distribution"] for n, v in res.info["random"].items()}
    with pytest.raises(DCEError, match="parameters"):
        coefficient_draws(random, ["a", "b"], names[:4], pn, theta, 100, seed=1)


def test_coefficient_draws_normal_mean_and_sd():
    data = simulated_panel(30, 3, 3, lambda r, n: r.normal(size=(n, 2)), ["a", "b"], seed=7)
    res = MixedLogit({"a": "n", "b": "ln"}, draws=10, seed=1, maxiter=2).fit(data)
    B, _ = res.coefficient_draws(np.array([-1.2, 0.1, 0.5, 0.3]), n_draws=1000, seed=0)
    assert B[:, 0].mean() == pytest.approx(-1.2, abs=0.02)
    assert B[:, 0].std() == pytest.approx(0.5, rel=0.03)
    assert np.median(B[:, 1]) == pytest.approx(np.exp(0.1), rel=0.02)


def test_threads_do_not_change_the_results():
    """The numba kernel runs chunks of respondents in threads; the chunks do not depend on the threads."""
    pytest.importorskip("numba")
    data = simulated_panel(70, 3, 3, lambda r, n: r.normal(size=(n, 2)), ["a", "b"], seed=9)
    model = MixedLogit({"a": "n", "b": "ln"}, correlated="all", draws=30, seed=2, backend="numba")
    prob = _problem(model, data)
    assert prob.bounds[0] == 0 and prob.bounds[-1] == prob.R and np.all(np.diff(prob.bounds) > 0)
    th = _theta_for(model, np.random.default_rng(1))
    out = {}
    for threads in (1, 3):
        prob.threads = threads
        out[threads] = prob.kernel_pass(th, hess=True)
    for x, y in zip(out[1], out[3]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("random,wtp", [({"a": "n", "b": "ln"}, False), ({"a": "n"}, True)])
def test_loading_the_kernel_beside_the_draws_loads_the_specialisation_the_passes_use(random, wtp):
    """A process's first fit loads numba's kernel by a call on no respondents while the draws are made
    (dce.util.beside): that call has the argument types of the real passes (draws in shared memory
    included), so it adds no specialisation of its own, and it computes nothing."""
    pytest.importorskip("numba")
    from dce.models.mixed.kernels import panel_kernel
    from dce.models.mixed.model import _touch
    from dce.models.wtp_space import MixedLogitWTP

    data = simulated_panel(400, 3, 3, lambda r, n: r.normal(size=(n, 2)), ["a", "b"], seed=9)
    model = (MixedLogitWTP(price="b", random=random, draws=600, seed=2, threads=2) if wtp else
             MixedLogit(random, draws=600, seed=2, threads=2, backend="numba"))
    model._setup(data)
    prob = model._prepare(data, 3)
    assert prob.Z.size >= 200_000 and prob.backend == "numba"
    before = prob.kernel_pass(_theta_for(model, np.random.default_rng(1)), hess=True)
    n = len(panel_kernel.overloads)
    _touch(panel_kernel, prob)
    assert len(panel_kernel.overloads) == n
    again = prob.kernel_pass(_theta_for(model, np.random.default_rng(1)), hess=True)
    for x, y in zip(before, again):
        np.testing.assert_array_equal(x, y)


def test_standard_errors_come_from_the_exact_hessian_at_the_estimates():
    """SIMULATED panel: the Hessian kept at convergence equals central differences of the gradient there."""
    data = simulated_panel(150, 5, 3, lambda r, n: np.column_stack([r.normal(1, 0.8, n), r.normal(-1, 0.5, n)]),
                           ["a", "b"], seed=12)
    res = MixedLogit({"a": "n", "b": "n"}, draws=40, seed=1).fit(data)
    assert res.converged and "Newton decrement" in res.message
    num = MixedLogit({"a": "n", "b": "n"}, draws=40, seed=1, hessian="central").fit(data)
    np.testing.assert_allclose(res.estimates, num.estimates, rtol=1e-12)
    np.testing.assert_allclose(res.vcovs["classical"], num.vcovs["classical"], rtol=1e-5)
    np.testing.assert_allclose(res.vcovs["robust"], num.vcovs["robust"], rtol=1e-5)


def test_a_lognormal_of_the_wrong_sign_says_so():
    """Issue 19: a lognormal coefficient whose sign is wrong for the data (a price, negative for everyone)
    drove its log-mean towards minus infinity and reported convergence with only a warning about a zero
    spread.  SIMULATED: 'p' negative lognormal in truth, fitted as 'ln' (positive)."""
    data = simulated_panel(150, 6, 3, lambda r, n: np.column_stack([r.normal(1, 0.5, n),
                                                                    -np.exp(r.normal(0, 0.3, n))]),
                           ["a", "p"], seed=5)
    # issue 20: from the default start the conditional logit's clear sign refuses the fit before it starts
    with pytest.raises(ArgumentError, match=r"'p=ln'.*the coefficient is negative, use p=-ln"):
        MixedLogit({"a": "n", "p": "ln"}, draws=50, seed=1).fit(data)
    # from start values of the user's (no conditional logit to check against), one start where the lognormal
    # has already collapsed (log-mean -20): the fit says so afterwards
    wrong = MixedLogit({"a": "n", "p": "ln"}, draws=50, seed=1, search=0,
                       start=[1.0, -20.0, 0.1, 0.1]).fit(data)
    said = [w for w in wrong.warnings if "'p'" in w and "sign is probably wrong" in w]
    assert said and "refit with p=-ln" in said[0], wrong.warnings
    right = MixedLogit({"a": "n", "p": "-ln"}, draws=50, seed=1).fit(data)
    assert not any("sign is probably wrong" in w for w in right.warnings), right.warnings
