"""The global search of the mixed logit (both spaces) and the equivalences between models that are the same
model written twice: all on SIMULATED data (small, seeded)."""
from __future__ import annotations

import numpy as np
import pytest

from dce.errors import ArgumentError
from dce.models.mixed.model import MixedLogit
from dce.models.mixed.search import ONCE_WARNING, draws_seed, search_stream
from dce.models.mnl import ConditionalLogit
from dce.models.wtp_space import MixedLogitWTP
from tests.models.test_wtp_space import simulated_wtp


def _panel(seed=0, n_resp=120):
    """SIMULATED panel: a fixed price (-0.8) and two normal coefficients."""
    return simulated_wtp(n_resp, 6, seed=seed, sd_s=0.0)


def test_the_default_fit_is_a_seeded_search_reported_in_the_result():
    data = _panel()
    res = MixedLogit({"x1": "n", "x2": "n"}, draws=40, seed=3).fit(data)
    s = res.info["search"]
    assert s["candidates"] == MixedLogit.SEARCH and s["screen_draws"] == 40
    assert s["refined"] >= 1 and s["full_draw_runs"] == s["refined"] + s["hops"]
    assert 1 <= s["reached_best_full_draws"] <= s["reached_best"] <= s["candidates"] + s["hops"]
    assert len(s["rows"]) == s["candidates"] + s["hops"] and s["rows"][0]["origin"] == "conditional logit"
    assert res.converged and res.loglik == pytest.approx(max(v for v in res.info["starts"]["logliks"]), abs=1e-9)
    assert any(k == "global search" for k, _ in res.fit_rows) and any(t.key == "search" for t in res.tables)
    again = MixedLogit({"x1": "n", "x2": "n"}, draws=40, seed=3).fit(data)
    assert np.array_equal(res.estimates, again.estimates) and s["rows"] == again.info["search"]["rows"]


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_the_search_in_threads_gives_the_same_fit_as_in_one(backend):
    """Candidates screened three at a time in threads of this process (and the full-draw runs with three
    kernel threads) give the fit of one thread, bit for bit; ``workers`` starts no process for it."""
    data = _panel(seed=1)
    one = MixedLogit({"x1": "n"}, draws=30, seed=5, search=5, threads=1, backend=backend).fit(data)
    three = MixedLogit({"x1": "n"}, draws=30, seed=5, search=5, threads=3, workers=2, backend=backend).fit(data)
    assert np.array_equal(one.estimates, three.estimates)
    assert one.info["search"]["rows"] == three.info["search"]["rows"]


def test_a_wtp_space_search_in_threads_gives_the_same_fit_as_in_one():
    """The preference-space candidate (a fit of its own inside a screening thread) included."""
    data = _panel(seed=4)
    kw = dict(price="price", draws=30, seed=2, search=4)
    one = MixedLogitWTP({"x1": "n"}, threads=1, **kw).fit(data)
    two = MixedLogitWTP({"x1": "n"}, threads=2, **kw).fit(data)
    assert one.info["search"]["rows"][1]["origin"] == "preference space"
    assert np.array_equal(one.estimates, two.estimates)
    assert one.info["search"]["rows"] == two.info["search"]["rows"]


def test_draws_and_search_are_separate_children_of_the_seed():
    """The draws do not depend on the size of the search: the same likelihood at the same point."""
    assert draws_seed(7) != draws_seed(8)
    assert search_stream(7).spawn_key == (1,) and draws_seed(7) == int(
        np.random.SeedSequence(7).spawn(2)[0].generate_state(1)[0])
    data = _panel(seed=2)
    theta = np.array([-0.8, 1.0, -0.5, 0.4, 0.3])
    lls = []
    for search in (0, 3, 9):
        m = MixedLogit({"x1": "n", "x2": "n"}, draws=20, draw_type="mlhs", seed=11, search=search)
        lls.append(m._prepare(data, 11).evaluate(theta).loglik)
    assert lls[0] == lls[1] == lls[2]


def test_search_off_is_one_start_from_the_conditional_logit():
    data = _panel()
    res = MixedLogit({"x1": "n"}, draws=30, seed=3, search=0).fit(data)
    assert "search" not in res.info and "starts" not in res.info
    assert not any(k == "global search" for k, _ in res.fit_rows)


def test_a_best_reached_once_is_a_warning():
    data = _panel()
    res = MixedLogit({"x1": "n"}, draws=30, seed=3, search=1).fit(data)
    assert res.info["search"]["reached_best"] == 1 and ONCE_WARNING in res.warnings
    assert "may not be the global maximum: run with more starts" in ONCE_WARNING


def test_a_search_whose_candidates_stop_at_the_iteration_limit_is_not_converged():
    data = _panel()
    res = MixedLogit({"x1": "n", "x2": "n"}, draws=30, seed=3, search=3, maxiter=1).fit(data)
    s = res.info["search"]
    assert not res.converged and s["converged"] == 0 and s["reached_best_full_draws"] == 0
    assert all(r["converged"] is False for r in s["rows"] if r["loglik"] is not None)


@pytest.mark.parametrize("search", [-1, 1001, 2.5, "many", True])
def test_bad_search_sizes_are_refused(search):
    model = MixedLogit({"x1": "n"}, search=search)          # stored as given; checked when it fits
    with pytest.raises(ArgumentError, match="^search: must be a whole number"):
        model.fit(_panel())


# ------------------------------------------------------------------------------------------ equivalences
def test_preference_and_wtp_space_with_fixed_price_and_scale_reach_the_same_maximum():
    """The preference-space mixed logit with a fixed price coefficient and the WTP-space one with a fixed scale
    and normal WTPs are one model: with the same draws, from the default settings, the same maximum."""
    data = _panel(seed=4, n_resp=150)
    pref = MixedLogit({"x1": "n", "x2": "n"}, draws=50, seed=9).fit(data)
    wtp = MixedLogitWTP({"x1": "n", "x2": "n"}, price="price", draws=50, seed=9).fit(data)
    assert pref.converged and wtp.converged
    assert wtp.loglik == pytest.approx(pref.loglik, abs=1e-6)
    # the estimates map into each other: w = beta / scale, sd_w = sd_beta / scale
    b = dict(zip(pref.names, pref.estimates))
    c = dict(zip(wtp.names, wtp.estimates))
    scale = -b["price"]
    assert c["scale"] == pytest.approx(scale, rel=1e-4)
    for n in ("x1", "x2"):
        assert c[n] == pytest.approx(b[n] / scale, rel=1e-4, abs=1e-6)
        assert abs(c[f"sd.{n}"]) == pytest.approx(abs(b[f"sd.{n}"]) / scale, rel=1e-3, abs=1e-6)


def test_a_mixed_logit_with_zero_spreads_is_the_conditional_logit():
    """At spreads of zero every draw is the conditional logit: its log-likelihood, its gradient (zero at its
    estimates) and its Hessian in the means."""
    data = _panel(seed=5)
    mnl = ConditionalLogit().fit(data)
    m = MixedLogit({"x1": "n", "x2": "n"}, draws=25, seed=1, search=0)
    problem = m._prepare(data, 1)
    ev = problem.evaluate(np.concatenate([mnl.estimates, [0.0, 0.0]]), hess=True)
    assert ev.loglik == pytest.approx(mnl.loglik, rel=1e-12)
    np.testing.assert_allclose(ev.grad[:3], 0.0, atol=1e-6)
    from dce.models import mnl as mnl_module

    ref = mnl_module.evaluate(mnl.estimates, data)
    np.testing.assert_allclose(ev.hess[:3, :3], ref.hess, rtol=1e-9, atol=1e-9)


def test_a_latent_class_model_with_one_class_is_the_conditional_logit():
    from dce.models.latent import LatentClassLogit

    data = _panel(seed=6)
    one = LatentClassLogit(classes=1, starts=1).fit(data)
    mnl = ConditionalLogit().fit(data)
    assert one.loglik == pytest.approx(mnl.loglik, abs=1e-8)
    np.testing.assert_allclose(one.estimates, mnl.estimates, rtol=1e-7)
