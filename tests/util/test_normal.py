"""dce.util.normal.ndtri (AS 241) against scipy.special.ndtri over the whole range of the draws."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri as scipy_ndtri

from dce.util.normal import ndtri


def test_the_normal_quantile_is_scipys_to_a_few_units_in_the_last_place():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.random(200_000), np.logspace(-300, -1, 3_000), 1 - np.logspace(-16, -1, 3_000),
                        [1e-12, 1 - 1e-12, 0.5, 0.075, 0.925, np.nextafter(0.075, 0), 1e-300]])
    want, got = scipy_ndtri(p), ndtri(p)
    assert np.all(np.abs(got - want) <= 8 * np.spacing(np.abs(want)) + 1e-300)
    assert got[p == 0.5] == 0.0 and np.all(np.sign(got) == np.sign(want))


def test_edges_in_place_and_blocks():
    assert ndtri(np.array([0.0, 1.0])).tolist() == [-np.inf, np.inf]
    assert np.isnan(ndtri(np.array([-0.1, 1.1, np.nan]))).all()
    U = np.random.default_rng(1).random((40, 3, 50))
    whole = ndtri(U)
    V = U.copy()
    for a, b in [(0, 7), (7, 40)]:                  # in place, block by block: the same numbers
        for q in range(3):
            ndtri(V[a:b, q, :], out=V[a:b, q, :])
    np.testing.assert_array_equal(V, whole)
