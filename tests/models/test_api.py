"""The Python API in the statsmodels idiom, checked on SIMULATED data.

* ``from dce import ...`` gives every registered family;
* estimators store their arguments and check them at ``fit``;
* a result's ``params``/``bse``/``tvalues``/``pvalues`` are Series by name, ``conf_int(alpha=...)`` is a
  ``1 - alpha`` interval, ``cov_params()`` the covariance, ``summary()`` the tables; the old names warn;
* ``predict(data)`` gives the probabilities the fit itself used (its log-likelihood at the chosen
  alternatives; its shares of the alternatives where the model has constants).
"""
from __future__ import annotations

import json
import math
import warnings
from statistics import NormalDist

import numpy as np
import pytest

import dce
from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError
from dce.models import MODELS
from dce.models.results import ModelResult
from dce.tables import Table


def simulated(n_resp=150, n_tasks=4, seed=0, asc=True, resp=True):
    """SIMULATED: three alternatives, two attributes (the first varying across respondents) and, with
    ``asc``, constants of alternatives 2 and 3."""
    rng = np.random.default_rng(seed)
    T, J = n_resp * n_tasks, 3
    X = rng.normal(size=(T, J, 2))
    names = ["a", "b"]
    if asc:
        D = np.zeros((T, J, 2))
        D[:, 1, 0] = D[:, 2, 1] = 1.0
        X = np.concatenate([X, D], axis=2)
        names += ["asc2", "asc3"]
    r = np.repeat(np.arange(n_resp), n_tasks)
    beta = np.column_stack([rng.normal(1.0, 0.8, n_resp), np.full(n_resp, -0.8)]
                           + ([np.full(n_resp, 0.3), np.full(n_resp, -0.2)] if asc else []))[r]
    U = np.einsum("tjk,tk->tj", X, beta) + rng.gumbel(size=(T, J))
    return ChoiceData(X=X, avail=np.ones((T, J), bool), chosen=U.argmax(1), names=names, alt_labels=[1, 2, 3],
                      resp=(r + 1) if resp else None, source="simulated", spec={"names": names})


@pytest.fixture(scope="module")
def data():
    return simulated()


@pytest.fixture(scope="module")
def mnl(data):
    return dce.ConditionalLogit(se="robust").fit(data)


def test_every_registered_family_is_exported():
    for key, target in MODELS.items():
        cls = getattr(dce, target.split(":")[1])
        assert cls.name == key and dce.model_class(key) is cls


def test_constructors_store_their_arguments_and_fit_checks_them(data):
    model = dce.ConditionalLogit(se="nope", starts="many")         # no error yet: stored as given
    assert model.get_params()["se"] == "nope" and model.starts == "many"
    assert "se='nope'" in repr(model)
    with pytest.raises(ArgumentError) as e:
        model.fit(data)
    assert e.value.argument == "se"
    model.se = "classical"
    with pytest.raises(ArgumentError) as e:
        model.fit(data)
    assert e.value.argument == "starts"
    mixed = dce.MixedLogit({"a": "gamma"})
    assert mixed.random == {"a": "gamma"}
    with pytest.raises(ArgumentError, match="unknown distribution 'gamma'"):
        mixed.fit(data)
    with pytest.raises(ArgumentError, match="maximum-likelihood option"):
        dce.HierarchicalBayes(starts=5, se="robust").fit(data)


def test_results_speak_the_statsmodels_idiom(mnl):
    names = mnl.names
    assert list(mnl.params.index) == names
    np.testing.assert_array_equal(mnl.params.to_numpy(), mnl.estimates)
    np.testing.assert_array_equal(mnl.bse.to_numpy(), np.sqrt(np.diag(mnl.vcovs["robust"])))
    np.testing.assert_allclose(mnl.tvalues.to_numpy(), mnl.estimates / mnl.bse.to_numpy())
    np.testing.assert_allclose(mnl.pvalues.to_numpy(),
                               [math.erfc(abs(z) / math.sqrt(2)) for z in mnl.tvalues], rtol=1e-12)
    assert mnl.params["a"] == mnl.param("a")
    assert mnl.llf == mnl.loglik < 0 and mnl.llnull == pytest.approx(-mnl.nobs * math.log(3))
    assert mnl.prsquared == pytest.approx(1 - mnl.llf / mnl.llnull)
    assert mnl.aic == pytest.approx(2 * len(names) - 2 * mnl.llf)
    assert mnl.bic == pytest.approx(len(names) * math.log(mnl.nobs) - 2 * mnl.llf)
    cov = mnl.cov_params()
    assert list(cov.index) == list(cov.columns) == names
    np.testing.assert_array_equal(cov.to_numpy(), mnl.vcovs["robust"])


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_conf_int_takes_alpha(mnl, alpha):
    ci = mnl.conf_int(alpha=alpha)
    q = NormalDist().inv_cdf(1 - alpha / 2)
    assert list(ci.index) == mnl.names and list(ci.columns) == [0, 1]
    np.testing.assert_allclose(ci[0], mnl.estimates - q * mnl.bse.to_numpy())
    np.testing.assert_allclose(ci[1], mnl.estimates + q * mnl.bse.to_numpy())
    np.testing.assert_allclose(mnl.conf_int(alpha).to_numpy(), ci.to_numpy())     # positional: alpha too


def test_conf_int_of_a_level_is_refused_or_deprecated(mnl):
    with pytest.raises(ArgumentError, match="alpha=0.05") as e:      # what conf_int(0.95) used to mean
        mnl.conf_int(0.95)
    assert e.value.argument == "alpha"
    with pytest.warns(DeprecationWarning, match="conf_int\\(alpha=1 - level\\)"):
        old = mnl.conf_int(level=0.9)
    np.testing.assert_allclose(old.to_numpy(), mnl.conf_int(alpha=0.1).to_numpy())
    assert mnl.conf_int().iloc[0, 0] < mnl.conf_int(alpha=0.5 - 1e-9).iloc[0, 0]


def test_summary_returns_the_tables_and_the_old_list_still_works_with_a_warning(mnl):
    tables = mnl.summary()
    assert all(isinstance(t, Table) for t in tables)
    assert [t.key for t in tables][0] == "estimates" and tables[-1].key == "fit"
    text = str(tables)
    assert "Conditional logit" in text and "log-likelihood" in text and f"{mnl.params['a']:.6f}" in text
    rows = [("note", "added the old way")]
    with pytest.warns(DeprecationWarning, match="fit_rows"):
        mnl.summary.append(rows[0])
    assert mnl.fit_rows[-1] == rows[0]
    with pytest.warns(DeprecationWarning):
        assert list(mnl.summary)[-1] == rows[0]
    d = mnl.to_dict()                       # the JSON key is unchanged
    assert d["summary"][-1] == list(rows[0])
    back = ModelResult.from_dict(json.loads(json.dumps(d)))
    assert back.fit_rows[-1] == rows[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert back.summary()[-1].rows[-1] == list(rows[0])        # calling it is not deprecated
    mnl.fit_rows.pop()


def test_predict_gives_the_probabilities_of_the_fit(data, mnl):
    P = mnl.predict(data)
    assert P.shape == (data.n_tasks, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    chosen = P[np.arange(data.n_tasks), data.chosen]
    assert np.log(chosen).sum() == pytest.approx(mnl.llf, abs=1e-8)
    # with alternative constants the fitted shares equal the observed ones (first-order conditions)
    observed = np.bincount(data.chosen, minlength=3)
    np.testing.assert_allclose(P.sum(axis=0), observed, atol=1e-5)


def test_predict_in_wtp_space_is_the_same_model(data, mnl):
    wtp = dce.ConditionalLogitWTP(price="b").fit(data)
    P = wtp.predict(data)
    assert np.log(P[np.arange(data.n_tasks), data.chosen]).sum() == pytest.approx(wtp.llf, abs=1e-6)
    np.testing.assert_allclose(P, mnl.predict(data), atol=1e-5)


def test_predict_of_a_mixed_logit_matches_its_simulated_likelihood():
    cross = simulated(n_resp=400, n_tasks=1, seed=3, resp=False)     # one task each: no panel
    res = dce.MixedLogit({"a": "n"}, draws=500, seed=2).fit(cross)
    P = res.predict(cross, n_draws=2000)
    ll = np.log(P[np.arange(cross.n_tasks), cross.chosen]).sum()
    assert abs(ll - res.llf) < 0.002 * cross.n_tasks           # simulation error only
    assert abs(ll - res.llf) < 0.1 * abs(res.llf - dce.ConditionalLogit().fit(cross).llf) + 0.5


def test_predict_of_new_choice_sets(mnl):
    rng = np.random.default_rng(9)
    new = simulated(n_resp=5, n_tasks=2, seed=9)
    new.avail[0, 2] = False
    P = mnl.predict(new)
    V = np.einsum("tjk,k->tj", new.X, mnl.estimates)
    V[0, 2] = -np.inf
    expected = np.exp(V - V.max(1, keepdims=True))
    np.testing.assert_allclose(P, expected / expected.sum(1, keepdims=True))
    assert P[0, 2] == 0
    other = ChoiceData(X=rng.normal(size=(2, 2, 2)), avail=np.ones((2, 2), bool), chosen=np.zeros(2, int),
                       names=["a", "c"], alt_labels=[1, 2])
    with pytest.raises(ArgumentError, match="not the model's coefficients"):
        mnl.predict(other)
    with pytest.raises(ArgumentError, match="expected choice data"):
        mnl.predict([[1, 2]])


def test_predict_of_latent_classes_and_a_sampler_sum_to_one(data):
    lc = dce.LatentClassLogit(classes=2, seed=1).fit(data)
    P = lc.predict(data)
    (_, s1, B1, _), (_, s2, B2, _) = lc.segment_draws()
    V1, V2 = np.einsum("tjk,k->tj", data.X, B1[0]), np.einsum("tjk,k->tj", data.X, B2[0])
    soft = lambda V: np.exp(V) / np.exp(V).sum(1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(P, s1 * soft(V1) + s2 * soft(V2), atol=1e-10)
    hb = dce.HierarchicalBayes(iterations=200, thin=2, chains=1, seed=1).fit(data)
    np.testing.assert_allclose(hb.predict(data).sum(axis=1), 1.0)
