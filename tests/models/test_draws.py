"""Simulation draws: Halton structure, coverage, reproducibility and transforms."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from dce.errors import DCEError
from dce.models.mixed.draws import halton, primes, radical_inverse, transform, uniform_draws


def test_primes_and_radical_inverse():
    assert list(primes(6)) == [2, 3, 5, 7, 11, 13]
    np.testing.assert_allclose(radical_inverse(np.arange(1, 8), 2), [0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875])
    np.testing.assert_allclose(radical_inverse(np.arange(1, 4), 3), [1 / 3, 2 / 3, 1 / 9])


def test_halton_drops_leading_points():
    full = halton(20, 2, drop=0)       # starts at point 1: the all-zero point 0 is never used
    assert full[0, 0] == 0.5 and full[0, 1] == pytest.approx(1 / 3)
    np.testing.assert_allclose(halton(10, 2, drop=11), full[10:])


@pytest.mark.parametrize("kind", ["halton", "sobol", "mlhs", "random"])
def test_draws_shape_range_and_reproducibility(kind):
    U = uniform_draws(7, 3, 64, kind, seed=11)
    assert U.shape == (7, 3, 64)
    assert np.all((U > 0) & (U < 1))
    np.testing.assert_array_equal(U, uniform_draws(7, 3, 64, kind, seed=11))
    # each dimension covers (0, 1) evenly over all points
    for q in range(3):
        hist = np.histogram(U[:, q].ravel(), bins=8, range=(0, 1))[0]
        assert hist.min() > 0.6 * U[:, q].size / 8
    other = uniform_draws(7, 3, 64, kind, seed=12)
    if kind == "halton":
        np.testing.assert_array_equal(U, other)     # plain Halton is deterministic: the seed plays no part
    else:
        assert not np.array_equal(U, other)


def test_mlhs_is_stratified_per_respondent():
    U = uniform_draws(5, 2, 10, "mlhs", seed=1)
    for r in range(5):
        for q in range(2):
            assert sorted(np.floor(U[r, q] * 10).astype(int)) == list(range(10))


def test_scrambled_halton_depends_on_seed():
    a = uniform_draws(4, 2, 16, "halton", seed=1, scramble=True)
    b = uniform_draws(4, 2, 16, "halton", seed=2, scramble=True)
    assert not np.array_equal(a, b) and np.all((a > 0) & (a < 1))


def test_transforms():
    U = uniform_draws(50, 1, 200, "halton")[:, 0]
    z = transform(U, "n")
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.02
    t = transform(U, "t")
    assert t.min() >= -1 and t.max() <= 1 and abs(t.std() - 1 / np.sqrt(6)) < 0.01
    u = transform(U, "u")
    assert abs(u.std() - 1 / np.sqrt(3)) < 0.01
    with pytest.raises(ValueError, match="unknown distribution"):
        transform(U, "beta")


def test_bad_draws_are_checked_once_by_the_model():
    """Arguments are validated by the model (at fit: the constructor only stores them), with the
    argument's name."""
    from dce.models.mixed.model import MixedLogit

    with pytest.raises(DCEError, match="^draws: 1 draws are too few"):
        MixedLogit({"a": "n"}, draws=1)._validate()
    with pytest.raises(DCEError, match="^draw_type: unknown kind of draws 'lattice'"):
        MixedLogit({"a": "n"}, draw_type="lattice")._validate()
    with pytest.raises(ValueError):          # an internal call with a bad kind is a programming error
        uniform_draws(3, 1, 10, "lattice")


def test_fast_halton_equals_the_radical_inverse():
    idx = np.arange(100, 100 + 5000)
    H = halton(5000, 4, drop=100)
    for q, p in enumerate(primes(4)):
        np.testing.assert_allclose(H[:, q], radical_inverse(idx, int(p)), rtol=0, atol=1e-14)


def test_halton_blocks_are_the_points_of_the_whole_sequence_bit_for_bit():
    from dce.models.mixed.draws import _van_der_corput_prefix, halton_rows, van_der_corput_range

    for base in (2, 3, 7, 13, 29):
        full = _van_der_corput_prefix(200_137, base)
        for a, b in [(1, 200_137), (100, 2_100), (65_535, 65_537), (123_456, 200_137), (0, 5)]:
            np.testing.assert_array_equal(van_der_corput_range(a, b, base), full[a:b])
    U = uniform_draws(37, 5, 300, "halton")
    out = np.empty_like(U)
    for a, b in [(0, 11), (11, 12), (12, 37)]:
        halton_rows(out, slice(a, b))
    np.testing.assert_array_equal(out, U)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("block", [None, 1000, 3500])
def test_a_mixed_logits_standard_draws_do_not_depend_on_its_threads(threads, block, monkeypatch):
    """Made and transformed block by block of respondents (blocks of 196, 2 and 7 respondents here, the
    last one shorter) in threads: the numbers of the whole arrays."""
    import dce.models.mixed.model as M
    from dce.models.mixed.model import MixedLogit

    if block is not None:
        monkeypatch.setattr(M, "DRAW_BLOCK", block)

    names, dists = ["a", "b", "c", "d"], ["n", "ln", "t", "u"]
    m = MixedLogit(dict(zip(names, dists)), threads=threads)
    m._rand_idx, m._coef_names = list(range(4)), names
    Z = m._standard_draws(150, 500, "halton", 5, False)
    U = uniform_draws(150, 4, 500, "halton")
    for q, d in enumerate(dists):
        U[:, q, :] = transform(U[:, q, :], d)
    np.testing.assert_array_equal(Z, U)


@pytest.mark.parametrize("kind", ["halton", "sobol", "mlhs"])
@pytest.mark.parametrize("threads", [1, 3])
def test_draws_made_beside_the_kernels_loading_are_the_same_numbers(kind, threads, monkeypatch):
    """With ``beside`` (loading the kernel) and more than one thread the draws are made in a forked child
    process (dce.util.beside) while ``beside`` runs here; with one thread, after it: the same numbers."""
    import os

    import dce.util.beside as B
    from dce.models.mixed.model import MixedLogit

    monkeypatch.setattr(B.threading, "active_count", lambda: 1)     # whatever threads earlier tests left
    forked = []
    real_fork = os.fork
    monkeypatch.setattr(B.os, "fork", lambda: forked.append(1) or real_fork())
    names, dists = ["a", "b", "c"], ["n", "ln", "u"]
    m = MixedLogit(dict(zip(names, dists)), threads=threads)
    m._rand_idx, m._coef_names = list(range(3)), names
    ran = []
    Z = m._standard_draws(150, 500, kind, 5, False, beside=lambda: ran.append(os.getpid()))
    U = uniform_draws(150, 3, 500, kind, seed=5)
    for q, d in enumerate(dists):
        U[:, q, :] = transform(U[:, q, :], d)
    np.testing.assert_array_equal(Z, U)
    assert ran == [os.getpid()] and len(forked) == (threads > 1 and sys.platform.startswith("linux"))
