"""dce.util.halton against scipy.stats.qmc.Halton (the numbers it replaces in design prior draws)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from dce.util.halton import first_primes, scrambled_halton


@pytest.mark.parametrize("make_seed", [lambda: 0, lambda: 2024, lambda: np.random.SeedSequence(7).spawn(2)[1]],
                         ids=["int0", "int2024", "child-seed-sequence"])
@pytest.mark.parametrize("d,n", [(1, 1), (3, 200), (8, 257), (13, 64)])
def test_scrambled_halton_is_scipys(make_seed, d, n):
    ours = scrambled_halton(n, d, np.random.default_rng(make_seed()))
    theirs = qmc.Halton(d=d, scramble=True, seed=np.random.default_rng(make_seed())).random(n)
    assert ours.shape == theirs.shape == (n, d)
    assert np.array_equal(ours, theirs)          # bit for bit
    assert ours.min() >= 0 and ours.max() < 1


def test_different_seeds_differ_and_primes():
    a = scrambled_halton(50, 4, np.random.default_rng(1))
    b = scrambled_halton(50, 4, np.random.default_rng(2))
    assert not np.array_equal(a, b)
    assert first_primes(8) == [2, 3, 5, 7, 11, 13, 17, 19]


def test_prior_draws_unchanged_against_scipy_path():
    """prior_draws (halton) equals the scipy.stats formula it used before: norm.ppf of qmc.Halton."""
    from scipy.stats import norm

    from dce.design.info import prior_draws

    mean, sd = np.array([0.5, -1.0, 0.3, 0.8]), np.array([0.3, 0.0, 0.2, 0.1])
    B = prior_draws(mean, sd, 100, "halton", seed=np.random.SeedSequence(5))
    u = qmc.Halton(d=3, scramble=True, seed=np.random.default_rng(np.random.SeedSequence(5))).random(100)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    ref = np.repeat(mean[None, :], 100, axis=0)
    ref[:, [0, 2, 3]] += norm.ppf(u) * sd[[0, 2, 3]]
    assert np.array_equal(B, ref)
