"""Latent class logit: derivatives, EM, recovery of a SIMULATED truth, Biogeme's optimum, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dce.data.choice_data import ChoiceData
from dce.errors import DCEError
from dce.models.latent import LatentClassLogit
from dce.util.numdiff import hessian_from_grad, jacobian

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "latent_biogeme_reference.json"
VARS = ["pf", "cl", "loc", "wk", "tod", "seas"]


def simulated(n_resp=500, n_tasks=8, seed=0):
    """SIMULATED panel: two classes whose membership depends on a respondent covariate z.

    Class 1: b = (-1.0, 1.5); class 2: b = (-0.3, 0.2); P(class 2) = logistic(-0.4 + 1.2 z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_resp)
    female = rng.integers(0, 2, n_resp)
    p2 = 1 / (1 + np.exp(-(-0.4 + 1.2 * z)))
    cls = (rng.random(n_resp) < p2).astype(int)
    B = np.array([[-1.0, 1.5], [-0.3, 0.2]])[cls]
    T = n_resp * n_tasks
    resp = np.repeat(np.arange(n_resp), n_tasks)
    X = np.stack([rng.integers(1, 6, (T, 3)).astype(float), rng.integers(0, 2, (T, 3)).astype(float)], axis=2)
    U = np.einsum("tjk,tk->tj", X, B[resp]) + rng.gumbel(size=(T, 3))
    frame = pd.DataFrame({"z": z[resp], "female": np.where(female[resp] == 1, "yes", "no"), "id": resp})
    data = ChoiceData(X=X, avail=np.ones((T, 3), bool), chosen=U.argmax(1), names=["price", "quality"],
                      alt_labels=[1, 2, 3], resp=resp + 1, source="simulated", task_rows=np.arange(T),
                      spec={"names": ["price", "quality"]})
    return data, frame


def test_derivatives_with_membership_covariates_and_a_shared_coefficient():
    data, frame = simulated(n_resp=60, n_tasks=4)
    model = LatentClassLogit(classes=3, shared=["price"], membership="z + C(female)", membership_data=frame)
    problem = model._prepare(data, 1)
    assert problem.names == ["price", "class1.quality", "class2.quality", "class3.quality", "membership2.const",
                             "membership2.z", "membership2.female[yes]", "membership3.const", "membership3.z",
                             "membership3.female[yes]"]
    theta = np.random.default_rng(2).normal(scale=0.4, size=len(problem.names))
    ev = problem.evaluate(theta, True)
    np.testing.assert_allclose(ev.grad, jacobian(lambda t: problem.evaluate(t).loglik, theta)[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ev.hess, hessian_from_grad(lambda t: problem.evaluate(t).grad, theta),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ev.scores.sum(axis=0), ev.grad, atol=1e-9)


def test_em_never_decreases_the_loglikelihood():
    data, frame = simulated(n_resp=120, n_tasks=6, seed=3)
    model = LatentClassLogit(classes=3, membership="z", membership_data=frame, em_iterations=80, em_tol=0)
    problem = model._prepare(data, 1)
    start = np.random.default_rng(5).normal(scale=0.5, size=len(problem.names))
    _, trace = problem.em(start, 80, 0.0)
    assert len(trace) > 20
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    assert trace[-1] > trace[0]


def test_recovers_a_simulated_truth_with_membership_covariates():
    data, frame = simulated()
    res = LatentClassLogit(classes=2, membership="z", membership_data=frame, starts=3, seed=4).fit(data)
    assert res.converged
    truth = {"class1.price": -1.0, "class1.quality": 1.5, "class2.price": -0.3, "class2.quality": 0.2,
             "membership2.const": -0.4, "membership2.z": 1.2}
    if res.param("class1.price") > res.param("class2.price"):    # classes are ordered by share, not by truth
        pytest.fail("the larger class should be the price-sensitive one in this simulation")
    se = dict(zip(res.names, res.se()))
    for name, value in truth.items():
        assert abs(res.param(name) - value) < 3 * se[name], name
    assert [c["class"] for c in res.info["classes"]] == [1, 2]
    assert res.info["classes"][0]["share"] >= res.info["classes"][1]["share"]
    assert set(res.vcovs) == {"classical", "robust", "cluster"}
    # per-respondent posteriors: probabilities, and the modal class mostly the true one
    ind = LatentClassLogit(classes=2, membership="z", membership_data=frame, starts=1, seed=4)
    ind.fit(data)
    table = ind.individual_means(data)
    np.testing.assert_allclose(table[["p_class1", "p_class2"]].sum(axis=1), 1.0)
    assert list(table.columns) == ["id", "n_tasks", "p_class1", "p_class2", "class", "price", "quality"]


def test_classes_are_ordered_by_share_and_the_seed_reproduces_the_fit():
    data, frame = simulated(n_resp=200, n_tasks=6, seed=8)
    a = LatentClassLogit(classes=2, starts=3, seed=21).fit(data)
    b = LatentClassLogit(classes=2, starts=3, seed=21).fit(data)
    np.testing.assert_array_equal(a.estimates, b.estimates)
    shares = [c["share"] for c in a.info["classes"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0)
    assert a.info["starts"]["n"] == 3 and len(a.info["starts"]["logliks"]) == 3
    assert 1 <= a.info["starts"]["reached_best"] <= 3


def test_one_class_is_the_conditional_logit():
    from dce.models.mnl import ConditionalLogit

    data, _ = simulated(n_resp=80, n_tasks=5, seed=2)
    one = LatentClassLogit(classes=1, starts=1).fit(data)
    mnl = ConditionalLogit().fit(data)
    assert one.loglik == pytest.approx(mnl.loglik, abs=1e-8)
    np.testing.assert_allclose(one.estimates, mnl.estimates, rtol=1e-7)


def _electricity(path):
    from dce.data.build import choice_data_from_formula

    df = pd.read_csv(path)
    return choice_data_from_formula(df, "choice ~ " + " + ".join(VARS), alt="alt", task="chid", id_col="id")


def _reference():
    """Biogeme 3.3.2's panel latent class logits on electricity (tests/fixtures; made by
    benchmarks/ref_latent_biogeme.py); missing, the test fails."""
    assert REFERENCE.exists(), f"no Biogeme reference in {REFERENCE} (python benchmarks/ref_latent_biogeme.py)"
    return json.loads(REFERENCE.read_text())


def _loglik(data, params, classes):
    """The panel latent class log-likelihood at ``params`` (name -> value), computed here with numpy alone
    (not with dce.models.latent): sum over respondents of log sum_c pi_c prod_t P(chosen_t | class c)."""
    B = np.array([[params[f"class{c}.{v}"] for v in VARS] for c in range(1, classes + 1)])       # (C, K)
    V = np.einsum("tjk,ck->ctj", data.X, B)
    V = np.where(data.avail[None], V, -np.inf)
    m = V.max(axis=2, keepdims=True)
    logp = V - (m + np.log(np.exp(V - m).sum(axis=2, keepdims=True)))                             # (C, T, J)
    chosen = logp[:, np.arange(data.n_tasks), data.chosen]                                         # (C, T)
    per_resp = pd.DataFrame(chosen.T).groupby(np.asarray(data.resp)).sum().to_numpy()              # (N, C)
    gamma = np.array([0.0] + [params[f"membership{c}.const"] for c in range(2, classes + 1)])
    logpi = gamma - np.log(np.exp(gamma).sum())
    a = per_resp + logpi
    top = a.max(axis=1, keepdims=True)
    return float((top[:, 0] + np.log(np.exp(a - top).sum(axis=1))).sum())


@pytest.mark.parametrize("classes", [2, 3])
def test_reaches_biogemes_best_optimum_on_electricity(electricity_path, classes):
    """dce's best of 10 starts reaches at least Biogeme 3.3.2's best log-likelihood over its 4 starts, and the
    log-likelihood it reports is that of its estimates, recomputed here without dce.models.latent (the same
    function gives Biogeme's log-likelihood at Biogeme's estimates).  At the same optimum (2 classes:
    -4526.829) the class coefficients equal Biogeme's to 3 significant digits; at a higher one (3 classes:
    Biogeme's 4 starts all stop at -4304.511, dce goes higher) the recomputed gradient is zero there, so it is
    an optimum, not a point dce misreports.  That dce, started at Biogeme's 3-class optimum, stays there with
    Biogeme's estimates and s.e., is the next test."""
    best = _reference()["models"][str(classes)]["best"]
    data = _electricity(electricity_path)
    assert _loglik(data, best["estimates"], classes) == pytest.approx(best["loglik"], abs=1e-6)  # Biogeme's own
    res = LatentClassLogit(classes=classes, starts=10, seed=1).fit(data)
    assert res.converged
    ours = dict(zip(res.names, res.estimates))
    assert _loglik(data, ours, classes) == pytest.approx(res.loglik, abs=1e-6)
    assert res.loglik >= best["loglik"] - 0.01
    if res.loglik <= best["loglik"] + 0.01:           # the same optimum: the same estimates, classes matched
        theirs = best["estimates"]
        perm = _match_classes(ours, theirs, classes)
        for name, value in theirs.items():
            if name.startswith("class"):
                c, coef = name.split(".", 1)
                assert _three_digits(ours[f"class{perm[int(c[5:])]}.{coef}"], value), name
    else:                                             # a higher optimum: the gradient vanishes there
        h = 1e-5
        grad = [(_loglik(data, {**ours, n: ours[n] + h}, classes)
                 - _loglik(data, {**ours, n: ours[n] - h}, classes)) / (2 * h) for n in res.names]
        assert np.max(np.abs(grad)) < 1e-3, dict(zip(res.names, np.round(grad, 5)))


def _three_digits(mine, theirs):
    """Equal to 3 significant digits: within half a unit of the third digit of the reference."""
    return abs(mine - theirs) <= 0.5 * 10 ** (np.floor(np.log10(abs(theirs))) - 2)


@pytest.mark.parametrize("classes", [2, 3])
def test_standard_errors_match_biogeme_at_its_optimum(electricity_path, classes):
    """Started at Biogeme's best estimates (no EM), the engine stays on that optimum, and the classical and
    robust s.e. of the class coefficients equal Biogeme's Rao-Cramer and robust (sandwich over respondents)
    s.e. to 3 significant digits.  For 3 classes Biogeme's best is a local optimum that dce's starts beat."""
    best = _reference()["models"][str(classes)]["best"]
    assert best.get("se", {}).get("classical"), ("the Biogeme reference has no standard errors (remake it with "
                                                 "benchmarks/ref_latent_biogeme.py)")
    data = _electricity(electricity_path)
    names = ([f"class{c}.{v}" for c in range(1, classes + 1) for v in VARS]
             + [f"membership{c}.const" for c in range(2, classes + 1)])
    start = [best["estimates"][n] for n in names]
    res = LatentClassLogit(classes=classes, starts=1, em_iterations=0, start=start, seed=1).fit(data)
    assert res.converged and res.loglik == pytest.approx(best["loglik"], abs=1e-4)
    ours = dict(zip(res.names, res.estimates))
    perm = _match_classes(ours, best["estimates"], classes)
    se = {kind: dict(zip(res.names, res.se(kind))) for kind in ("classical", "robust")}
    for name, value in best["estimates"].items():
        if not name.startswith("class"):
            continue
        c, coef = name.split(".", 1)
        mine = f"class{perm[int(c[5:])]}.{coef}"
        assert _three_digits(ours[mine], value), name
        for kind in ("classical", "robust"):
            assert _three_digits(se[kind][mine], best["se"][kind][name]), (kind, name, se[kind][mine])


def _match_classes(ours, theirs, C):
    """Biogeme's class c -> our class with the nearest coefficients (classes are ordered differently)."""
    out = {}
    for c in range(1, C + 1):
        tv = np.array([theirs[f"class{c}.{v}"] for v in VARS])
        out[c] = 1 + int(np.argmin([np.abs(np.array([ours[f"class{d}.{v}"] for v in VARS]) - tv).sum()
                                    for d in range(1, C + 1)]))
    return out


@pytest.mark.parametrize("kwargs,match", [
    (dict(classes=0), "^classes: must be at least 1"),
    (dict(classes=2.5), "^classes: expected a whole number"),
    (dict(classes=40), "^classes: 40 classes of 2 coefficients each need at least 80 respondents"),
    (dict(classes=2, shared=["nope"]), "^shared: 'nope' is not a coefficient"),
    (dict(classes=2, membership="age"), "^membership: 'age' is not a column"),
    (dict(classes=2, membership="z", membership_data=None), "^membership: membership covariates need"),
])
def test_bad_input_is_one_clear_line(kwargs, match):
    data, frame = simulated(n_resp=30, n_tasks=3)
    kwargs.setdefault("membership_data", frame)
    with pytest.raises(DCEError, match=match):
        LatentClassLogit(**kwargs).fit(data)


def test_a_covariate_varying_within_a_respondent_is_named():
    data, frame = simulated(n_resp=30, n_tasks=3)
    frame = frame.copy()
    frame.loc[4, "z"] = 99.0            # respondent 2 (rows 3-5) changes age mid-survey
    with pytest.raises(DCEError, match="column 'z' varies within respondent 2"):
        LatentClassLogit(classes=2, membership="z", membership_data=frame).fit(data)


def test_no_ids_is_a_warning():
    data, _ = simulated(n_resp=80, n_tasks=4, seed=1)
    data.resp = None
    data._panel = None
    res = LatentClassLogit(classes=2, starts=2, seed=3).fit(data)
    assert any("no respondent ids" in w for w in res.warnings)
    assert res.n_respondents == data.n_tasks and "cluster" not in res.vcovs


def test_a_collapsed_class_is_a_warning_not_a_crash():
    data, _ = simulated(n_resp=100, n_tasks=4, seed=6)
    # start with class 2 holding about 1e-13 of the respondents: it cannot come back
    start = np.array([-0.8, 1.0, -0.8, 1.0, -30.0])
    res = LatentClassLogit(classes=2, starts=1, start=start, em_iterations=0, maxiter=3).fit(data)
    assert res.info["classes"][1]["share"] < 0.01
    assert any("class 2 holds" in w and "collapsed" in w for w in res.warnings)
    assert np.all(np.isfinite(res.estimates))


def test_the_fit_does_not_depend_on_the_units_of_a_variable():
    """Starts are spread in units of each variable's spread and M-steps are scaled: a price in cents gives
    the fit of a price in euros, start by start (SIMULATED)."""
    data, _ = simulated(n_resp=150, n_tasks=5, seed=4)
    cents = ChoiceData(X=data.X * np.array([100.0, 1.0]), avail=data.avail, chosen=data.chosen, names=data.names,
                       alt_labels=data.alt_labels, resp=data.resp, spec=data.spec)
    a = LatentClassLogit(classes=3, starts=4, seed=9).fit(data)
    b = LatentClassLogit(classes=3, starts=4, seed=9).fit(cents)
    np.testing.assert_allclose(b.info["starts"]["logliks"], a.info["starts"]["logliks"], rtol=1e-9)
    scale = np.array([100.0 if n.endswith("price") else 1.0 for n in a.names])
    np.testing.assert_allclose(b.estimates * scale, a.estimates, rtol=1e-5, atol=1e-8)


def test_a_start_whose_class_collapses_during_em_stops_there():
    data, _ = simulated(n_resp=100, n_tasks=4, seed=6)
    model = LatentClassLogit(classes=2, seed=1)
    problem = model._prepare(data, 1)
    # class 2 prefers the dearest, worst alternative: EM empties it within a few iterations
    theta, trace = problem.em(np.array([-1.0, 1.0, 8.0, -8.0, 0.0]), 200, 0.0)
    assert problem.collapsed and len(trace) < 20
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    res = LatentClassLogit(classes=2, starts=1, start=[-1.0, 1.0, 8.0, -8.0, 0.0], seed=1).fit(data)
    assert not res.converged and "collapsed during EM" in res.message
    assert any("collapsed" in w for w in res.warnings)


def test_class_shares_come_with_delta_method_standard_errors():
    data, frame = simulated(n_resp=300, n_tasks=6, seed=2)
    res = LatentClassLogit(classes=2, membership="z", membership_data=frame, starts=2, seed=5).fit(data)
    classes = res.info["classes"]
    assert sum(c["share"] for c in classes) == pytest.approx(1.0)
    # two classes: the shares move together, so their s.e. are equal; finite and small next to the share
    assert classes[0]["share_se"] == pytest.approx(classes[1]["share_se"], rel=1e-6)
    assert 0 < classes[0]["share_se"] < 0.2
    assert sum(c["modal_respondents"] for c in classes) == 300
    table = [t for t in res.tables if t.key == "classes"][0]
    assert table.rows[0][0] == "share" and table.rows[0][1][1] == pytest.approx(classes[0]["share_se"])


@pytest.mark.parametrize("column,match", [
    ("same", "'same' takes the same value for every respondent"),
    ("z + z2", "perfectly collinear"),
])
def test_unidentified_membership_covariates_are_refused(column, match):
    data, frame = simulated(n_resp=40, n_tasks=3)
    frame = frame.assign(same=1.0, z2=2 * frame["z"])
    with pytest.raises(DCEError, match=match):
        LatentClassLogit(classes=2, membership=column, membership_data=frame).fit(data)
