"""The public API: every name in ``dce.__all__`` resolves, lazily, to what its module defines."""
from __future__ import annotations

import subprocess
import sys

import dce


def test_every_public_name_resolves():
    for name in dce.__all__:
        assert getattr(dce, name) is not None, name
    assert set(dce.__all__) <= set(dir(dce))


def test_the_re_exports_are_the_modules_objects():
    from dce.models.mixed.model import MixedLogit
    from dce.models.results import ModelResult

    assert dce.MixedLogit is MixedLogit and dce.ModelResult is ModelResult


def test_import_dce_loads_nothing_heavy():
    code = ("import sys, dce; heavy = [m for m in ('numpy', 'pandas', 'numba', 'scipy', 'matplotlib') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dce.nope  # noqa: B018
