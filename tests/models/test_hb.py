"""Hierarchical Bayes logit: bayesm's reference on camera, simulated truth, the Metropolis step against an
exactly computable posterior, seeds and workers, numba against numpy, refusals."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError, DCEError
from dce.models.hb import sampler as hs
from dce.models.hb.model import HierarchicalBayes
from dce.util.numdiff import hessian, jacobian

from tests.conftest import FIXTURES, fixture_file

REF = FIXTURES / "bayesm_camera"
CAMERA = ["canon", "sony", "nikon", "panasonic", "pixels", "zoom", "video", "swivel", "wifi", "price"]


def camera_data():
    df = pd.read_csv(fixture_file("camera_long.csv.gz"))
    X = df[CAMERA].to_numpy(float).reshape(-1, 5, len(CAMERA))
    chosen = df["choice"].to_numpy().reshape(-1, 5).argmax(axis=1)
    return ChoiceData(X=X, avail=np.ones((X.shape[0], 5), bool), chosen=chosen, names=list(CAMERA),
                      alt_labels=[1, 2, 3, 4, 5], resp=df["id"].to_numpy()[::5], task_ids=df["task"].to_numpy()[::5])


def simulated(n_resp=300, n_tasks=12, n_alts=3, seed=5, mu=(1.0, -0.5, 0.8, -1.2), sd=(0.8, 0.6, 0.5, 0.7),
              corr01=0.7, signed=None):
    """SIMULATED panel: beta_n ~ N(mu, Sigma) with corr(x1, x2) = corr01 (others independent); with
    ``signed = k``, coefficient k is -exp of its normal (a negative log-normal)."""
    rng = np.random.default_rng(seed)
    K = len(mu)
    C = np.eye(K)
    C[0, 1] = C[1, 0] = corr01
    Sigma = np.outer(sd, sd) * C
    Bstar = rng.multivariate_normal(mu, Sigma, size=n_resp)
    B = Bstar.copy()
    if signed is not None:
        B[:, signed] = -np.exp(Bstar[:, signed])
    T = n_resp * n_tasks
    X = rng.normal(size=(T, n_alts, K))
    resp = np.repeat(np.arange(n_resp), n_tasks)
    U = np.einsum("tjk,tk->tj", X, B[resp]) + rng.gumbel(size=(T, n_alts))
    data = ChoiceData(X=X, avail=np.ones((T, n_alts), bool), chosen=U.argmax(axis=1),
                      names=[f"x{k + 1}" for k in range(K)], alt_labels=list(range(1, n_alts + 1)),
                      resp=resp + 100, source="simulated")
    return data, Sigma


# ---------------------------------------------------------------------------------------------- bayesm
@pytest.fixture(scope="module")
def camera_fit():
    """bayesm's settings: one chain, 20,000 iterations, every 10th kept, the second half."""
    data = camera_data()
    model = HierarchicalBayes(iterations=20000, burn=10000, thin=10, chains=1, seed=66, prior="bayesm")
    return model, model.fit(data)


def test_population_means_match_bayesm(camera_fit):
    ref = json.loads((REF / "reference.json").read_text())
    _, res = camera_fit
    assert ref["names"] == CAMERA and res.names[:10] == CAMERA
    est = res.estimates
    assert np.max(np.abs(est[:10] - ref["mean"])) < 0.1
    # population sds (not in the criterion): within 5% of bayesm's
    assert np.max(np.abs(est[10:] / np.array(ref["sd"]) - 1)) < 0.05
    # posterior sds of the means of the same size as bayesm's
    assert np.all(np.abs(res.se()[:10] / np.array(ref["mean_sd"]) - 1) < 0.35)
    assert abs(res.loglik - ref["mean_loglik"]) < 15


def test_individual_means_correlate_with_bayesm(camera_fit):
    model, _ = camera_fit
    ours = model.individual_means().set_index("id")
    theirs = pd.read_csv(REF / "individual.csv.gz").set_index("id").loc[ours.index]
    assert len(ours) == 332
    for name in CAMERA:
        assert np.corrcoef(ours[name], theirs[name])[0, 1] > 0.98, name


# ---------------------------------------------------------------------------------------------- simulated truth
def test_recovers_a_simulated_truth_with_a_correlated_pair():
    data, Sigma = simulated()
    res = HierarchicalBayes(iterations=3000, thin=3, chains=2, seed=1).fit(data)
    mu, sd = np.array([1.0, -0.5, 0.8, -1.2]), np.sqrt(np.diag(Sigma))
    est, se = res.estimates, res.se()
    assert np.all(np.abs(est[:4] - mu) < 3 * se[:4]), (est[:4], se[:4])
    assert np.all(np.abs(est[4:] - sd) < 3 * se[4:] + 0.05), (est[4:], se[4:])
    cor = res.info["correlation"]
    assert cor["names"] == ["x1", "x2", "x3", "x4"]
    assert abs(cor["matrix"][0][1] - 0.7) < 3 * cor["matrix_se"][0][1] + 0.05
    assert abs(cor["matrix"][2][3]) < 3 * cor["matrix_se"][2][3] + 0.05


def test_recovers_a_negative_lognormal_coefficient():
    data, _ = simulated(n_resp=250, mu=(1.0, -0.5, 0.0), sd=(0.5, 0.5, 0.4), corr01=0.0, signed=2)
    res = HierarchicalBayes(random={"x3": "-ln"}, iterations=3000, thin=3, chains=2, seed=2).fit(data)
    est, se = res.estimates, res.se()
    assert np.all(np.abs(est[:3] - [1.0, -0.5, 0.0]) < 3 * se[:3]), (est[:3], se[:3])
    assert res.info["random"]["x3"]["distribution"] == "-ln"
    B, _ = res.coefficient_draws()
    assert np.all(B[:, 2] < 0)
    imp = res.info["implied"]["x3"]                   # the coefficient's own mean, -exp(m + s^2 / 2)
    assert abs(imp["mean"] + math.exp(0.08)) < 3 * imp["mean_se"] + 0.05


# ---------------------------------------------------------------------------------------------- the Metropolis step
def _one_respondent(ztype):
    """One respondent, one coefficient, four binary tasks (x = 0.2 .. 1.4, one chosen against x)."""
    x = np.linspace(0.2, 1.4, 4)
    X = np.zeros((4, 2, 1))
    X[:, 0, 0] = x
    chosen = np.array([0, 1, 0, 0])
    data = ChoiceData(X=X, avail=np.ones((4, 2), bool), chosen=chosen, names=["x"], alt_labels=[1, 2],
                      resp=np.zeros(4, int))
    return hs.prepare(data, np.array([ztype])), x, chosen


def _exact_moments(x, chosen, ztype, mu, sigma):
    """Posterior mean and variance of beta* by quadrature: exp(ll(beta(beta*))) N(beta*; mu, sigma^2)."""
    g = np.linspace(mu - 12 * sigma, mu + 12 * sigma, 200001)
    beta = g if ztype == 0 else (np.exp(g) if ztype == 1 else -np.exp(g))
    v = np.outer(beta, x)                                       # utility of alternative 1 (alternative 2: 0)
    ll = np.where(chosen == 0, v - np.logaddexp(v, 0), -np.logaddexp(v, 0)).sum(axis=1)
    logp = ll - 0.5 * ((g - mu) / sigma) ** 2
    p = np.exp(logp - logp.max())
    p /= p.sum()
    m = (g * p).sum()
    return m, ((g - m) ** 2 * p).sum()


@pytest.mark.parametrize("backend,ztype,n", [("numba", 0, 400000), ("numba", 2, 400000), ("numpy", 0, 60000)])
def test_metropolis_step_leaves_the_posterior_invariant(backend, ztype, n):
    from dce.models.hb.diagnostics import ess

    hbd, x, chosen = _one_respondent(ztype)
    mu, sigma = 0.4, 0.7
    k = hs.kernels(backend)
    B = np.array([[2.0]])                                        # a start far from the mode
    ll = np.empty(1)
    k.loglik_all(hbd.Dt, hbd.doff, hbd.task_ptr, hbd.resp_ptr, hbd.ztype, B, ll)
    out = np.empty((n, 1, 1))
    g = [np.random.default_rng(s) for s in np.random.SeedSequence(9).spawn(2)]
    acc = k.metropolis_only(n, hbd.Dt, hbd.doff, hbd.task_ptr, hbd.resp_ptr, hbd.ztype, B, ll, np.array([mu]),
                            np.array([[1 / sigma ** 2]]), np.array([[[1.0]]]), 1.2, g[0], g[1], out)
    draws = out[1000:, 0, 0]
    m, var = _exact_moments(x, chosen, ztype, mu, sigma)
    n_eff = ess(draws.reshape(1, -1, 1))[0]
    assert 0.2 < acc / n < 0.9
    assert abs(draws.mean() - m) < 4 * math.sqrt(var / n_eff), (draws.mean(), m)
    assert abs(draws.var() / var - 1) < 5 * math.sqrt(2 / n_eff), (draws.var(), var)


# ---------------------------------------------------------------------------------------------- pieces
def test_loglik_kernels_agree_with_the_logit_formula():
    data, _ = simulated(n_resp=30, n_tasks=5, n_alts=4)
    data.avail[::3, 3] = False
    data.chosen[::3] = np.minimum(data.chosen[::3], 2)
    B = np.random.default_rng(4).normal(size=(30, 4))
    ztype = np.array([0, 0, 1, 2])
    hbd = hs.prepare(data, ztype)
    beta = B.copy()
    beta[:, 2], beta[:, 3] = np.exp(B[:, 2]), -np.exp(B[:, 3])
    codes, _ = data.panel()
    V = np.einsum("tjk,tk->tj", data.X, beta[codes])
    V[~data.avail] = -np.inf
    lp = V[np.arange(data.n_tasks), data.chosen] - np.logaddexp.reduce(V, axis=1)
    want = np.bincount(codes, weights=lp)
    for backend in ("numba", "numpy"):
        got = np.empty(30)
        hs.kernels(backend).loglik_all(hbd.Dt, hbd.doff, hbd.task_ptr, hbd.resp_ptr, hbd.ztype, B, got)
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12), backend


def test_start_value_gradients_against_finite_differences():
    data, _ = simulated(n_resp=4, n_tasks=6, n_alts=3)
    ztype = np.array([0, 0, 0, 2])
    hbd = hs.prepare(data, ztype)
    B = np.random.default_rng(1).normal(scale=0.5, size=(4, 4))
    _, g, info = hs._mnl_parts(hbd, B)
    for r in range(4):
        def f(b, r=r):
            Bx = B.copy()
            Bx[r] = b
            return hs._loglik(hbd, Bx)[r]
        assert np.allclose(jacobian(lambda b: np.array([f(b)]), B[r])[0], g[r], atol=1e-6)
    # with normal coefficients only, the information is minus the Hessian (logit log-likelihoods)
    hbd0 = hs.prepare(data, np.zeros(4, np.int64))
    _, _, info0 = hs._mnl_parts(hbd0, B)
    H = hessian(lambda b: hs._loglik(hbd0, np.vstack([b, B[1:]]))[0], B[0])
    assert np.allclose(info0[0], -H, atol=1e-5)


def test_start_values_maximise_the_fractional_likelihood():
    data, _ = simulated(n_resp=20, n_tasks=8)
    hbd = hs.prepare(data, np.zeros(4, np.int64))
    pooled = np.array([0.8, -0.4, 0.6, -1.0])
    info = np.eye(4) * 50
    B0, H = hs.start_values(hbd, pooled, info)
    ll, g, _ = hs._mnl_parts(hbd, B0)
    wgt = (0.1 * hbd.n_tasks / hbd.n_tasks.sum())[:, None]
    grad = 0.9 * g - wgt * ((B0 - pooled) @ info)
    assert np.abs(grad).max() < 1e-5
    assert H.shape == (20, 4, 4) and np.all(np.linalg.eigvalsh(H) > -1e-10)


# ---------------------------------------------------------------------------------------------- reproducibility
@pytest.fixture(scope="module")
def small():
    return simulated(n_resp=60, n_tasks=8)[0]


def test_same_seed_same_draws_whatever_the_number_of_workers(small):
    runs = [HierarchicalBayes(iterations=300, thin=3, chains=2, seed=11, workers=w).fit(small) for w in (1, 2)]
    assert np.array_equal(runs[0].estimates, runs[1].estimates)
    assert np.array_equal(runs[0].posterior["individual"], runs[1].posterior["individual"])
    other = HierarchicalBayes(iterations=300, thin=3, chains=2, seed=12, workers=1).fit(small)
    assert not np.array_equal(runs[0].estimates, other.estimates)
    assert runs[0].info["seed"] == 11


def test_numpy_twin_gives_the_same_chain(small):
    a = HierarchicalBayes(iterations=200, thin=2, chains=1, seed=3, backend="numba").fit(small)
    b = HierarchicalBayes(iterations=200, thin=2, chains=1, seed=3, backend="numpy").fit(small)
    assert np.allclose(a.estimates, b.estimates, rtol=0, atol=1e-9)
    assert np.allclose(a.posterior["individual"], b.posterior["individual"], rtol=0, atol=1e-5)
    assert a.info["backend"] == "numba" and b.info["backend"] == "numpy"


def test_poor_mixing_is_a_warning_not_a_crash(small, tmp_path):
    res = HierarchicalBayes(iterations=40, burn=20, thin=1, chains=2, seed=4).fit(small)
    assert not res.converged
    assert any(w.startswith("R-hat") for w in res.warnings) or any("effective" in w for w in res.warnings)
    diag = res.info["diagnostics"]
    assert set(diag["rhat"]) == set(res.names) and diag["max_rhat"] is not None
    res.save(tmp_path / "m.json")
    back = type(res).load(tmp_path / "m.json")
    assert back.info["diagnostics"]["thresholds"] == {"rhat": 1.01, "ess": 400, "rhat_unreliable": 1.1}


def test_poor_mixing_short_of_non_convergence_keeps_the_estimate():
    """R-hat between 1.01 and 1.1 or a low ESS is a warning; above 1.1, or too few draws, no reliable estimate."""
    from dce.models.hb.summary import _converged

    assert _converged({"max_rhat": 1.04, "min_ess": 32.0}, 1000) == (True, "largest R-hat 1.040, smallest ESS 32")
    ok, message = _converged({"max_rhat": 1.25, "min_ess": 900.0}, 1000)
    assert not ok and "above 1.1" in message
    ok, message = _converged({"max_rhat": None, "min_ess": None}, 3)
    assert not ok and "only 3 kept draws" in message


def test_result_contract(small, tmp_path):
    model = HierarchicalBayes(iterations=300, thin=3, chains=2, seed=8, posterior_draws=30)
    res = model.fit(small)
    K = 4
    assert res.model == "hb" and res.se_type == "posterior" and set(res.vcovs) == {"posterior"}
    assert res.names == ["x1", "x2", "x3", "x4", "sd.x1", "sd.x2", "sd.x3", "sd.x4"]
    assert res.posterior["individual"].shape == (60, 30, K)
    assert res.info["individual_ids"] == list(range(100, 160))
    ci = res.info["credible_intervals"]["intervals"]
    assert all(ci[n][0] < res.param(n) < ci[n][1] for n in res.names)
    assert res.info["prior"]["nu"] == K + 3 and res.info["prior"]["Amu"] == 0.01
    assert 0 < res.info["rlh"] < 1 and 0 < res.info["percent_certainty"] < 1
    B, w = res.coefficient_draws()
    assert B.shape == (60 * 30, K) and abs(w.sum() - 1) < 1e-12
    sets = list(res.coefficient_sets(10))
    assert len(sets) == 10 and sets[0][0].shape == (60, K)
    res.save(tmp_path / "m.json")
    back = type(res).load(tmp_path / "m.json")
    assert np.array_equal(back.coefficient_draws()[0], B)
    table = model.individual_means()
    assert list(table.columns) == ["id", "x1", "x2", "x3", "x4"] and len(table) == 60
    for ext in ("npz", "parquet"):
        model.write_draws(tmp_path / f"d.{ext}")
    z = np.load(tmp_path / "d.npz")
    assert z["beta"].shape == (2, 50, 60, K)
    assert np.allclose(z["beta"].mean(axis=(0, 1)), table[["x1", "x2", "x3", "x4"]].to_numpy())
    assert len(pd.read_parquet(tmp_path / "d.parquet")) == 2 * 50 * 60


# ---------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("kwargs, argument", [
    ({"iterations": 100, "burn": 100}, "burn"),
    ({"iterations": 100, "burn": 150}, "burn"),
    ({"thin": 0}, "thin"),
    ({"iterations": 100, "burn": 50, "thin": 60}, "thin"),
    ({"prior_variance": 0}, "prior_variance"),
    ({"prior_variance": -1.0}, "prior_variance"),
    ({"prior_dof": 0}, "prior_dof"),
    ({"chains": 0}, "chains"),
    ({"random": {"x1": "t"}}, "random"),
])
def test_bad_arguments_name_the_argument(kwargs, argument, small):
    model = HierarchicalBayes(**kwargs)          # the constructor stores; fit checks
    assert model.get_params()[next(iter(kwargs))] == next(iter(kwargs.values()))
    with pytest.raises(ArgumentError) as e:
        model.fit(small)
    assert e.value.argument == argument


@pytest.mark.parametrize("kwargs, argument, also", [
    ({"starts": 5}, "starts", ""),
    ({"se": "robust"}, "se", ""),
    ({"starts": 5, "se": "robust"}, "se", "as is starts"),
    ({"maxiter": 10, "tol": 1e-3}, "maxiter", "as is tol"),
])
def test_a_sampler_refuses_maximum_likelihood_options(kwargs, argument, also, small):
    with pytest.raises(ArgumentError) as e:
        HierarchicalBayes(iterations=40, thin=1, **kwargs).fit(small)
    assert e.value.argument == argument
    assert "maximum-likelihood option" in str(e.value) and also in str(e.value)
    assert "\n" not in str(e.value)


def test_refusals_of_the_data(small):
    no_ids = ChoiceData(X=small.X, avail=small.avail, chosen=small.chosen, names=small.names,
                        alt_labels=small.alt_labels)
    with pytest.raises(ArgumentError) as e:
        HierarchicalBayes(iterations=40, thin=1).fit(no_ids)
    assert e.value.argument == "id_col"
    one_task = ChoiceData(X=small.X, avail=small.avail, chosen=small.chosen, names=small.names,
                          alt_labels=small.alt_labels, resp=np.arange(small.n_tasks))
    with pytest.raises(DCEError, match="fewer than 2 choice tasks"):
        HierarchicalBayes(iterations=40, thin=1).fit(one_task)
    with pytest.raises(ArgumentError, match="'nope' is not a coefficient"):
        HierarchicalBayes(iterations=40, thin=1, random={"nope": "ln"}).fit(small)
