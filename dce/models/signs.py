"""The sign a log-normal coefficient needs: checked against the conditional logit before a fit starts, and
looked at again after it.

A log-normal coefficient (``ln``) is positive for every respondent and a negative log-normal (``-ln``)
negative: ``price=ln`` on data where the price's effect is negative cannot fit (the spread collapses and
the log-likelihood ends worse than the conditional logit's).  :func:`check_lognormal_signs` refuses, in
one line, a log-normal whose conditional-logit estimate has the other sign (|z| >= Z_REFUSE), naming the
coefficient and the distribution to use; :func:`lognormal_sign_warnings` says so after a fit whose
log-normal was driven to about zero (from start values of the user's, where there was nothing to check).
"""
from __future__ import annotations

import math

import numpy as np

from dce.errors import ArgumentError

Z_REFUSE = 1.96
LOG_MEAN_COLLAPSED = -10.0
_NAMES = {"ln": "lognormal", "-ln": "negative lognormal"}


def _lognormals(random, names):
    """``(k, name, dist, sign)`` of each log-normal coefficient (``sign`` +1 for ``ln``, -1 for ``-ln``)."""
    for k, n in enumerate(names):
        dist = random.get(n)
        if dist in ("ln", "-ln"):
            yield k, n, dist, 1.0 if dist == "ln" else -1.0


def wrong_lognormal_signs(random, names, estimates, se=None, z_min=Z_REFUSE):
    """``[(name, dist, estimate, z)]``: the log-normal coefficients whose estimate has the other sign than
    the distribution gives (with ``se``: only where ``|estimate / se| >= z_min``)."""
    out = []
    for k, n, dist, _ in _lognormals(random, names):
        b = float(estimates[k])
        s = float(se[k]) if se is not None else math.nan
        z = b / s if s > 0 else math.inf * np.sign(b) if b else 0.0
        if (dist == "ln" and b < 0) or (dist == "-ln" and b > 0):
            if se is None or not math.isfinite(s) or abs(z) >= z_min:
                out.append((n, dist, b, z))
    return out


def check_lognormal_signs(random, names, mnl):
    """Raise :class:`dce.errors.ArgumentError` (``random``) where a log-normal coefficient's
    conditional-logit estimate (``mnl``, a ModelResult on the same coefficients) clearly has the other
    sign: "the coefficient is negative, use -ln".  Coefficients ``mnl`` does not have are not checked."""
    coef = list(mnl.coef_names or mnl.names)
    if coef[:len(names)] != list(names):
        return
    K = len(names)
    bad = wrong_lognormal_signs(random, names, mnl.estimates[:K], mnl.se()[:K])
    if not bad:
        return
    n, dist, b, z = bad[0]
    word, use = ("negative", "-ln") if b < 0 else ("positive", "ln")
    zt = f", z = {z:.1f}" if math.isfinite(z) else ""
    raise ArgumentError("random", f"'{n}={dist}': the conditional-logit estimate of '{n}' is {b:.4g}{zt}: the "
                                  f"coefficient is {word}, use {n}={use} (a {'negative ' if dist == '-ln' else ''}"
                                  f"log-normal is {'negative' if dist == '-ln' else 'positive'} for every "
                                  "respondent)")


def lognormal_sign_warnings(random, coef_names, estimates, mnl=None) -> list:
    """Warnings for lognormal coefficients whose sign is probably wrong for the data.

    A lognormal (``ln``) coefficient is positive for every respondent; when the data say it is negative
    (a price), the best the fit can do is drive the log-mean towards minus infinity (a coefficient of
    zero), and it may still report convergence.  A log-mean below :data:`LOG_MEAN_COLLAPSED`, or a median
    far below the conditional logit's ``mnl`` estimate of the opposite sign, says so and suggests the
    other sign (``-ln`` for ``ln``)."""
    out = []
    for k, n, dist, sign in _lognormals(random, coef_names):
        mu = float(estimates[k])
        b = float(mnl.estimates[k]) if mnl is not None and k < len(mnl.estimates) else None
        opposite = b is not None and b * sign < 0
        if mu < LOG_MEAN_COLLAPSED or (opposite and math.exp(min(mu, 700.0)) < 1e-3 * abs(b)):
            other = "-ln" if dist == "ln" else "ln"
            seen = f"; a conditional logit gives it {b:.3g}" if b is not None else ""
            out.append(f"the {_NAMES[dist]} coefficient '{n}' was driven to about zero (log-mean {mu:.3g}, "
                       f"median {sign * math.exp(min(mu, 700.0)):.2g}){seen}: its sign is probably wrong for the "
                       f"data; refit with {n}={other}")
    return out
