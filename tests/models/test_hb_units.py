"""Hierarchical Bayes on attributes in their natural units (issue 20, item 1): the default prior is set on
attributes scaled by twice their standard deviation and everything is reported in the data's units;
bayesm's defaults stay available (``prior="bayesm"``) and warn where they set the result."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dce.data.choice_data import ChoiceData
from dce.errors import ArgumentError
from dce.models.hb.model import HierarchicalBayes, attribute_scales
from dce.models.mixed.model import MixedLogit
from dce.post.wtp import WtpMap

NAMES = ["none", "wait", "distance", "cost"]
MU = np.array([-1.0, -0.12, -0.025, -0.025])
SD = np.array([0.5, 0.05, 0.012, 0.008])


def hospital(n_resp=120, n_tasks=8, seed=20):
    """SIMULATED hospital-appointment choices in raw units: two appointments and "no appointment"; waiting
    time 2/6/10/14 weeks, distance 5/20/40/60 km, cost 0/25/50/100 EUR; coefficients normal over
    respondents (means MU, sds SD, independent)."""
    rng = np.random.default_rng(seed)
    B = MU + SD * rng.standard_normal((n_resp, 4))
    T = n_resp * n_tasks
    X = np.zeros((T, 3, 4))
    X[:, 2, 0] = 1.0
    X[:, :2, 1] = rng.choice([2, 6, 10, 14], (T, 2))
    X[:, :2, 2] = rng.choice([5, 20, 40, 60], (T, 2))
    X[:, :2, 3] = rng.choice([0, 25, 50, 100], (T, 2))
    resp = np.repeat(np.arange(n_resp), n_tasks)
    U = np.einsum("tjk,tk->tj", X, B[resp]) + rng.gumbel(size=(T, 3))
    return ChoiceData(X=X, avail=np.ones((T, 3), bool), chosen=U.argmax(axis=1), names=list(NAMES),
                      alt_labels=[1, 2, 3], resp=resp, source="simulated")


@pytest.fixture(scope="module")
def fits():
    data = hospital()
    mixed = MixedLogit(random={n: "n" for n in NAMES}, draws=200, seed=1).fit(data)
    scaled = HierarchicalBayes(iterations=3000, thin=3, chains=2, seed=3).fit(data)
    bayesm = HierarchicalBayes(iterations=3000, thin=3, chains=2, seed=3, prior="bayesm").fit(data)
    return data, mixed, scaled, bayesm


def _mixed_wtp(res):
    """WTP of wait and distance against cost (ratios of the means) with delta-method 95% intervals."""
    b, V = res.estimates[:4], res.vcov[:4, :4]
    out = {}
    for k in (1, 2):
        w = -b[k] / b[3]
        g = np.zeros(4)
        g[k], g[3] = -1 / b[3], b[k] / b[3] ** 2
        se = math.sqrt(g @ V @ g)
        out[NAMES[k]] = (w - 1.96 * se, w + 1.96 * se)
    return out


def _hb_wtp(res):
    B, w = res.coefficient_draws()
    return dict(zip(["none", "wait", "distance"], WtpMap(res.coef_names, "cost")(B, w)))


def test_raw_units_land_within_the_mixed_logits_intervals(fits):
    _, mixed, scaled, _ = fits
    lo, hi = mixed.conf_int().to_numpy().T
    for k, n in enumerate(NAMES):
        assert lo[k] < scaled.param(n) < hi[k], (n, scaled.param(n), lo[k], hi[k])
    wtp = _hb_wtp(scaled)
    for n, (a, b) in _mixed_wtp(mixed).items():
        assert a < wtp[n] < b, (n, wtp[n], a, b)
    # individual means and draws in the data's units: about the population means
    ind = scaled.posterior["individual"].mean(axis=(0, 1))
    assert np.all(np.abs(ind - scaled.estimates[:4]) < 0.5 * np.abs(scaled.estimates[:4]))
    assert not any("prior" in w for w in scaled.warnings), scaled.warnings


def test_bayesm_defaults_on_raw_units_are_off_and_say_so(fits):
    """The failure of the issue: bayesm's unit prior variance on euros and km; its results fall outside the
    mixed logit's intervals and a warning names the attributes whose spread is the prior's."""
    _, mixed, _, bayesm = fits
    lo, hi = mixed.conf_int().to_numpy().T
    outside = [n for k, n in enumerate(NAMES) if not lo[k] < bayesm.param(n) < hi[k]]
    assert {"distance", "cost"} <= set(outside)
    text = " ".join(bayesm.warnings)
    assert "population variance of distance" in text and "cost" in text
    assert bayesm.info["prior"]["mode"] == "bayesm" and bayesm.info["prior"]["variance"] == [1.0] * 4


def test_the_prior_is_stated_in_the_data_units(fits):
    data, _, scaled, _ = fits
    s = attribute_scales(data)
    prior = scaled.info["prior"]
    assert prior["mode"] == "scaled" and prior["units"] == "data"
    assert np.allclose(prior["scales"], s)
    assert np.allclose(prior["variance"], 1.0 / s ** 2)           # variance 1 on x / s is 1 / s^2 on x
    assert s[3] > 50 and 0.5 < s[0] < 1.5                        # cost in euros; the 0/1 opt-out about 1
    line = dict(scaled.fit_rows)["prior"]
    assert "cost" in line and "in the data's units" in line


def test_scaling_is_exact_in_the_data_units():
    """Sampling on x / s and reporting gamma / s is the model on x with the prior on the scaled data: a
    column multiplied by 10 gives coefficients divided by 10 (same seed, same draws)."""
    data = hospital(n_resp=40, n_tasks=6, seed=4)
    X10 = data.X.copy()
    X10[:, :, 3] *= 10
    import dataclasses

    a = HierarchicalBayes(iterations=200, thin=2, chains=1, seed=5).fit(data)
    b = HierarchicalBayes(iterations=200, thin=2, chains=1, seed=5).fit(dataclasses.replace(data, X=X10))
    assert np.allclose(b.estimates[[3, 7]] * 10, a.estimates[[3, 7]], rtol=1e-6)
    assert np.allclose(b.estimates[:3], a.estimates[:3], rtol=1e-6)
    assert np.allclose(b.posterior["individual"][:, :, 3] * 10, a.posterior["individual"][:, :, 3], rtol=1e-4)


def test_lognormal_mean_is_shifted_by_the_log_scale():
    data = hospital(n_resp=40, n_tasks=6, seed=6)
    res = HierarchicalBayes(random={"cost": "-ln"}, iterations=200, thin=2, chains=1, seed=2).fit(data)
    B, _ = res.coefficient_draws()
    assert np.all(B[:, 3] < 0)
    # the implied median, -exp(mu), is of the cost coefficient's size in euros, not of the scaled one
    assert 0.002 < -res.info["implied"]["cost"]["median"] < 0.2


def test_sign_change_warning_names_the_attribute():
    from dce.models.hb.sampler import Prior
    from dce.models.hb.summary import prior_warnings

    rng = np.random.default_rng(0)
    beta = np.stack([np.column_stack([rng.normal(-1, 0.1, 100), rng.normal(0.5, 1.0, 100)])] * 10)
    chains = [{"beta": beta, "mu": np.tile([-1.0, 0.5], (10, 1)), "sigma": np.tile(np.diag([0.01, 1.0]), (10, 1, 1))}]
    prior = Prior(np.zeros(2), 0.01, 5.0, 0.005 * np.eye(2))
    out = prior_warnings(prior, chains, ["a", "b"], np.zeros(2, int), np.array([-1.0, 0.5]),
                         np.array([-1.1, 0.3]), np.array([-0.9, 0.7]))
    assert len(out) == 1 and "other sign" in out[0] and "b (" in out[0] and "a (" not in out[0]


def test_unknown_prior_is_refused():
    model = HierarchicalBayes(prior="vague")             # stored as given; checked when it fits
    with pytest.raises(ArgumentError) as e:
        model.fit(hospital(n_resp=10, n_tasks=4, seed=1))
    assert e.value.argument == "prior"
