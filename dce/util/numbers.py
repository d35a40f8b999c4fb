"""Numbers the whole library checks the same way: whole-number arguments, positive numbers, JSON-safe
floats, and the magnitudes a variable may take.
"""
from __future__ import annotations

import math

import numpy as np

from dce.errors import ArgumentError

# variables whose largest magnitude lies outside [1 / SCALE_LIMIT, SCALE_LIMIT] are refused for estimation
# (their squares overflow or vanish in double precision); design priors and numeric levels likewise
SCALE_LIMIT = 1e100


def whole_number(value, argument: str, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` (an integer, a float with no fraction, or the text of an integer), checked
    against ``[low, high]``; an :class:`ArgumentError` naming ``argument`` otherwise.  Booleans are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(argument, f"expected a whole number, not {value!r}")
    try:
        v = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(argument, f"expected a whole number, not {value!r}") from None
    if v != value and not (isinstance(value, str) and str(v) == value.strip()):
        raise ArgumentError(argument, f"expected a whole number, not {value!r}")
    if high is not None and low is not None and not low <= v <= high:
        raise ArgumentError(argument, f"must be a whole number from {low:,} to {high:,}, not {v}")
    if low is not None and v < low:
        raise ArgumentError(argument, f"must be at least {low}, not {v}")
    if high is not None and v > high:
        raise ArgumentError(argument, f"must be at most {high}, not {v}")
    return v


def positive_number(value, argument: str) -> float:
    """``value`` as a finite float above 0; an :class:`ArgumentError` naming ``argument`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(argument, f"expected a number, not {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ArgumentError(argument, f"must be a positive number, not {value!r}")
    return v


def json_float(x) -> float | None:
    """A JSON-safe float: NaN and infinities become None (JSON null, a figure that is not available)."""
    x = float(x)
    return x if math.isfinite(x) else None
