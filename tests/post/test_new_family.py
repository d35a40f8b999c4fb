"""A model family defined outside the package reaches shares and WTP through the result interface alone.

The toy family is a two-segment logit: segment 1 has coefficients ``b``, segment 2 the same with the
price coefficient doubled, in shares ``s`` and ``1 - s`` (``s`` the logistic of a parameter).  Nothing in
``dce.post`` knows of it: the test registers it, builds its result and asks for shares and WTP.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dce.data.build import choice_data_from_formula
from dce.models import MODELS
from dce.models.base import Model
from dce.models.results import ModelResult
from dce.post.shares import Scenario, preference_shares
from dce.post.wtp import willingness_to_pay


class ToySegments(Model):
    name = "toy-segments"
    label = "Two-segment toy logit"

    @classmethod
    def segment_draws(cls, result, theta, n_draws, seed):
        b = np.asarray(theta[:2], float)
        s = 1 / (1 + np.exp(-theta[2]))
        return [("segment 1", s, b[None, :], np.ones(1)), ("segment 2", 1 - s, (b * [2.0, 1.0])[None, :], np.ones(1))]

    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        segs = cls.segment_draws(result, theta, n_draws, seed)
        return np.vstack([B for _, _, B, _ in segs]), np.array([sh for _, sh, _, _ in segs])


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(MODELS, "toy-segments", f"{__name__}:ToySegments")
    df = pd.DataFrame({"task": [1, 1, 2, 2], "alt": [1, 2, 1, 2], "y": [1, 0, 0, 1],
                       "price": [1.0, 2.0, 2.0, 1.0], "q": [0.0, 1.0, 1.0, 0.0]})
    spec = choice_data_from_formula(df, "y ~ price + q", alt="alt", task="task").spec
    theta = np.array([-0.8, 1.2, np.log(0.7 / 0.3)])
    return ModelResult(model="toy-segments", names=["price", "q", "share.logit"], estimates=theta,
                       vcovs={"classical": np.eye(3) * 1e-6}, spec=spec, coef_names=["price", "q"],
                       source="toy.json")


def test_shares_of_a_new_family_are_the_segment_weighted_average(toy):
    out = preference_shares(toy, [Scenario("better", {"price": 2.0, "q": 1.0})],
                            ({"price": 1.0, "q": 0.0}, "designed"), n_sim=50, seed=1)
    logistic = lambda d: 1 / (1 + np.exp(-d))  # noqa: E731
    s1, s2 = logistic(-0.8 + 1.2), logistic(-1.6 + 1.2)
    overall = [r for r in out if "segment" not in r][0]
    assert overall["share"] == pytest.approx(0.7 * s1 + 0.3 * s2, abs=1e-12)
    segs = {r["segment"]: r for r in out if "segment" in r}
    assert segs["segment 1"]["share"] == pytest.approx(s1, abs=1e-12)
    assert segs["segment 2"]["share"] == pytest.approx(s2, abs=1e-12)
    assert segs["segment 1"]["segment_share"] == pytest.approx(0.7)
    for r in out:
        assert r["ci_low"] <= r["share"] <= r["ci_high"]


def test_wtp_of_a_new_family_per_segment(toy):
    rows = willingness_to_pay(toy, "price", n_sim=50, n_draws=10, seed=1)
    seg = {r["segment"]: r for r in rows if "segment" in r}
    assert seg["segment 1"]["wtp"] == pytest.approx(1.2 / 0.8)
    assert seg["segment 2"]["wtp"] == pytest.approx(1.2 / 1.6)
    overall = [r for r in rows if "segment" not in r][0]
    mean_b = 0.7 * np.array([-0.8, 1.2]) + 0.3 * np.array([-1.6, 1.2])
    assert overall["wtp"] == pytest.approx(mean_b[1] / abs(mean_b[0]))
    assert overall["distribution"]["median"] == pytest.approx(1.2 / 0.8)   # 70% of respondents in segment 1
