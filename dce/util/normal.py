"""The standard normal quantile function in numpy, without importing scipy.

The simulation draws of a mixed logit map uniform points onto normal ones; ``scipy.special.ndtri`` does
that, but importing ``scipy.special`` costs about a tenth of a second, serially, in every process that
fits a mixed logit.  :func:`ndtri` is Wichura's algorithm AS 241 (PPND16, Applied Statistics 37, 1988):
rational approximations in three regions of ``p``, accurate to about 1e-16 relative (the tests compare it
with scipy's over the whole range of the draws, and for the tails down to 1e-300).  Element by element,
so the same numbers however an array is split into blocks; its numpy operations release the GIL, so
blocks run in threads.  Meant for blocks of moderate size (its temporaries are the size of the block).
"""
from __future__ import annotations

import numpy as np

# |p - 0.5| <= 0.425: x = q A(r) / B(r) with r = 0.180625 - q^2
_A = (3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3, 1.3731693765509461125e+4,
      4.5921953931549871457e+4, 6.7265770927008700853e+4, 3.3430575583588128105e+4, 2.5090809287301226727e+3)
_B = (1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
      2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4, 5.2264952788528545610e+3)
# r = sqrt(-log(min(p, 1 - p))) <= 5: x = C(r - 1.6) / D(r - 1.6)
_C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0, 3.64784832476320460504e0,
      1.27045825245236838258e0, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9)
# r > 5: x = E(r - 5) / F(r - 5)
_E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0, 2.96560571828504891230e-1,
      2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15)


def _ratio(num, den, r, out):
    """num(r) / den(r) for the coefficients ``num``, ``den`` (lowest degree first; Horner, in ``out``)."""
    out.fill(num[-1])
    d = np.full_like(r, den[-1])
    for a, b in zip(num[-2::-1], den[-2::-1]):
        out *= r
        out += a
        d *= r
        d += b
    out /= d
    return out


def _tails(pt):
    """The quantile of ``pt = min(p, 1 - p)`` where ``|p - 0.5| > 0.425``, as a negative number: the two
    outer regions of AS 241 (``pt`` 0: -inf; outside [0, 1] or nan: nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(-np.log(pt))
    x = np.empty_like(r)
    near = r <= 5.0
    rn = r[near] - 1.6
    x[near] = _ratio(_C, _D, rn, np.empty_like(rn))
    far = ~near
    rf = r[far] - 5.0
    with np.errstate(invalid="ignore"):
        x[far] = _ratio(_E, _F, rf, np.empty_like(rf))
    x[pt == 0.0] = np.inf
    x[~(pt >= 0.0)] = np.nan
    return -x


def ndtri(p, out=None):
    """The standard normal quantile of ``p`` (0 and 1 give -inf and inf; outside [0, 1]: nan), written into
    ``out`` when given (it may be ``p`` itself)."""
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    with np.errstate(invalid="ignore"):
        tail = ~(np.abs(q) <= 0.425)
    xt = None
    if tail.any():      # read before ``out`` (perhaps ``p``) is written
        pt = p[tail]
        xt = _tails(np.minimum(pt, 1.0 - pt))
        np.negative(xt, out=xt, where=q[tail] > 0)
    r = q * q
    np.subtract(0.180625, r, out=r)
    res = np.empty_like(p) if out is None else out
    _ratio(_A, _B, r, res)
    res *= q
    if xt is not None:
        res[tail] = xt
    return res
