"""Conditional logit: peer references, derivatives against finite differences, recovery of a known truth."""
import numpy as np
import pandas as pd
import pytest

from dce.data.build import choice_data_from_formula
from dce.data.choice_data import ChoiceData
from dce.errors import DCEError
from dce.models import mnl
from dce.models.mnl import ConditionalLogit


def sig_equal(a, b, digits):
    """a and b agree to `digits` significant digits."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.all(np.abs(a - b) <= 0.5 * 10.0 ** (np.floor(np.log10(np.abs(b))) - digits + 1))


# ------------------------------------------------------------------------------------- peer references
ELEC_REF = {  # xlogit 0.2.7, tests/fixtures/README.md
    "pf": (-0.625228, 0.023222), "cl": (-0.108299, 0.008244), "loc": (1.442244, 0.050557),
    "wk": (0.995505, 0.044780), "tod": (-5.462758, 0.183712), "seas": (-5.840031, 0.186678),
}


def test_electricity_matches_xlogit(electricity_path):
    df = pd.read_csv(electricity_path)
    data = choice_data_from_formula(df, "choice ~ pf + cl + loc + wk + tod + seas", source="electricity",
                                    alt="alt", task="chid", id_col="id")
    assert data.n_tasks == 4308 and data.n_alts == 4 and data.n_respondents == 361
    res = ConditionalLogit().fit(data)
    assert res.converged
    est = [ELEC_REF[n][0] for n in res.names]
    se = [ELEC_REF[n][1] for n in res.names]
    assert sig_equal(res.estimates, est, 4)
    assert sig_equal(res.se(), se, 4)
    assert abs(res.loglik - (-4958.649)) < 0.01
    # null log-likelihood: equal shares among 4 alternatives
    assert res.loglik_null == pytest.approx(4308 * np.log(0.25))


TRAIN_REF = {"price_eur": (-0.067358, 0.003393), "time_h": (-1.720546, 0.160352),
             "change": (-0.326346, 0.059489), "comfort": (-0.945728, 0.064945)}


def _train_frame(path):
    df = pd.read_csv(path)
    for j in (1, 2):
        df[f"price_eur{j}"] = df[f"price{j}"] / 100 * 2.20371
        df[f"time_h{j}"] = df[f"time{j}"] / 60
    return df


def test_train_wide_matches_xlogit(train_path):
    df = _train_frame(train_path)
    data = choice_data_from_formula(df, "choice ~ price_eur + time_h + change + comfort", source="train",
                                    id_col="id")
    assert data.n_tasks == 2929 and data.n_alts == 2 and data.n_respondents == 235
    res = ConditionalLogit().fit(data)
    assert sig_equal(res.estimates, [TRAIN_REF[n][0] for n in res.names], 4)
    assert sig_equal(res.se(), [TRAIN_REF[n][1] for n in res.names], 4)
    assert abs(res.loglik - (-1724.150)) < 0.01


def test_train_formula_arithmetic_gives_same_fit(train_path):
    """I(price/100*2.20371) evaluated by our restricted evaluator equals the precomputed column."""
    df = pd.read_csv(train_path)
    data = choice_data_from_formula(df, "choice ~ I(price / 100 * 2.20371) + I(time / 60) + change + comfort",
                                    source="train")
    res = ConditionalLogit().fit(data)
    assert res.names[0] == "I(price / 100 * 2.20371)"
    assert sig_equal(res.estimates, [v[0] for v in TRAIN_REF.values()], 4)


def test_robust_and_cluster_se_match_statsmodels_binary_logit(train_path):
    """With two alternatives the conditional logit is a binary logit on attribute differences:
    statsmodels' HC0 and cluster covariances are an independent peer for our sandwich estimators."""
    import statsmodels.api as sm

    df = _train_frame(train_path)
    names = ["price_eur", "time_h", "change", "comfort"]
    data = choice_data_from_formula(df, "choice ~ " + " + ".join(names), source="train", id_col="id")
    res = ConditionalLogit(se="robust").fit(data)
    D = np.column_stack([df[f"{n}1"] - df[f"{n}2"] for n in names])
    y = (df["choice"] == "choice1").astype(float)
    hc0 = sm.Logit(y, D).fit(disp=0, cov_type="HC0")
    assert np.allclose(res.estimates, hc0.params, rtol=1e-6)
    assert np.allclose(res.se("robust"), hc0.bse, rtol=1e-5)
    G = df["id"].nunique()
    cl = sm.Logit(y, D).fit(disp=0, cov_type="cluster",
                            cov_kwds={"groups": pd.factorize(df["id"])[0], "use_correction": False})
    # statsmodels without correction is the plain cluster sandwich; ours carries G/(G-1)
    assert np.allclose(res.se("cluster"), np.sqrt(G / (G - 1)) * cl.bse, rtol=1e-5)


# ------------------------------------------------------------------------------------- derivatives
def _random_data(T=300, J=3, K=4, seed=1, unavailable=True, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, J, K)) * scale
    av = np.ones((T, J), bool)
    if unavailable:
        av[rng.random(T) < 0.3, J - 1] = False
    X *= av[:, :, None]
    beta = rng.normal(size=K)
    V = np.where(av, X @ beta, -np.inf)
    P = np.exp(V - V.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    chosen = np.array([rng.choice(J, p=p) for p in P])
    return ChoiceData(X=X, avail=av, chosen=chosen, names=[f"x{k}" for k in range(K)],
                      alt_labels=list(range(1, J + 1)), resp=np.repeat(np.arange(T // 5), 5)), beta


def test_large_utilities_stay_finite():
    data, _ = _random_data(scale=1000.0)
    ev = mnl.evaluate(np.array([2.0, -1.0, 1.5, 0.5]), data)
    assert ev.finite and ev.hess is not None


def test_recovers_known_truth_on_simulated_data():
    """Simulated data: 20,000 tasks from known coefficients; estimates within 3 s.e. of the truth."""
    data, beta = _random_data(T=20000, K=4, seed=7)
    res = ConditionalLogit().fit(data)
    assert res.converged
    assert np.all(np.abs(res.estimates - beta) < 3 * res.se())
    # a single fit reports consistent summary figures
    assert res.aic == pytest.approx(2 * 4 - 2 * res.loglik)
    assert res.bic == pytest.approx(4 * np.log(20000) - 2 * res.loglik)
    assert 0 < res.rho2 < 1 and res.rho2_adj < res.rho2


def test_non_convergence_is_reported_not_raised():
    data, _ = _random_data()
    res = ConditionalLogit(maxiter=1).fit(data)
    assert not res.converged
    assert any("did not converge" in w for w in res.warnings)
    assert res.to_dict()["converged"] is False


def test_constant_within_task_is_not_identified():
    data, _ = _random_data()
    data.X[:, :, 2] = np.arange(data.n_tasks)[:, None] * data.avail  # varies between tasks only
    with pytest.raises(DCEError, match="'x2' is constant within every task"):
        ConditionalLogit().fit(data)


def test_collinear_variables_are_named():
    data, _ = _random_data()
    data.X[:, :, 3] = 2 * data.X[:, :, 0] - data.X[:, :, 1]
    with pytest.raises(DCEError, match="perfectly collinear") as e:
        ConditionalLogit().fit(data)
    assert "'x3'" in str(e.value) and "'x0'" in str(e.value)


def test_cluster_needs_ids():
    data, _ = _random_data()
    data.resp = None
    with pytest.raises(DCEError, match="id_col: needed for cluster standard errors"):
        ConditionalLogit(se="cluster").fit(data)


def test_perfect_separation_is_reported_not_called_converged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3, 2))
    data = ChoiceData(X=X, avail=np.ones((200, 3), bool), chosen=X[:, :, 0].argmax(1), names=["a", "b"],
                      alt_labels=[1, 2, 3])
    res = ConditionalLogit().fit(data)
    assert not res.converged and "separation" in res.message
    assert any("separation" in w for w in res.warnings)
