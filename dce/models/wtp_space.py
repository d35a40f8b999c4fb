"""Models in willingness-to-pay space: the utility in money, ``U = scale * (sign * price + sum_k w_k x_k)``.

In preference space every coefficient is a utility per unit of its attribute and a WTP is a ratio of
two of them, ``-beta_k / beta_price``; with coefficients that vary over respondents that ratio has
absurd tails (a normal price coefficient near zero).  In WTP space (Train & Weeks 2005; Scarpa, Thiene
& Train 2008) the parameters are the WTPs ``w_k`` themselves and a ``scale``:

    beta_price = sign * scale,        beta_k = scale * w_k  (every other coefficient)

``sign`` is -1 for a price (a cost: more of it is worse, each WTP is what a respondent would pay for a
unit of the attribute) and +1 for an income-like attribute (more is better: each WTP is the income a
respondent would give up for a unit).  It is the sign of the price's coefficient in the preference-space
conditional logit unless given, and the output says which convention holds.  The parameters are named
as in preference space with the price's coefficient replaced by ``scale`` (at its place); the result's
:attr:`~dce.models.results.ModelResult.coef_names` stay the preference-space columns, and
:meth:`coefficient_draws` returns preference-space coefficient vectors, so shares and WTP
(``dce wtp --cost PRICE`` gives back the ``w_k``) work as on any model.

:class:`WTPSpace` is the map between the two spaces (one place); :class:`ConditionalLogitWTP` is the
conditional logit in WTP space (numpy, exact gradient and Hessian through the chain rule, with the
second-derivative term of the nonlinear map), :class:`MixedLogitWTP` the mixed logit in WTP space through
the mixed logit's own kernel (whose coefficient map multiplies every coefficient by the scale
coefficient, see :func:`dce.models.mixed.kernels.panel_kernel`).  Both start from the preference-space
conditional logit (its coefficient ratios, its price coefficient as the scale): the likelihood of the
conditional logit is the same in both spaces, so its WTP-space fit starts at the optimum.
"""
from __future__ import annotations

import math

import numpy as np

from dce.data.build import parse_formula, stem_columns
from dce.data.coding import is_categorical
from dce.data.readers import is_text_column
from dce.errors import ArgumentError, DCEError, where
from dce.models import engine
from dce.models.mixed.model import MixedLogit, coefficient_draws
from dce.models.mnl import ConditionalLogit, _chosen_rows, _hessian, _mean_x, probabilities, utilities

SCALE = "scale"


class WTPSpace:
    """The map between the coefficients ``c`` of WTP space and ``beta`` of preference space.

    Parameters
    ----------
    names : list of str
        The preference-space coefficients (columns of the data), K of them.
    price : str
        The price (or income) column among ``names``.
    sign : {-1, +1}
        How the price enters: ``beta_price = sign * scale``.
    """

    def __init__(self, names, price, sign):
        names = list(names)
        self.coef_names = names
        self.price = price
        self.sign = -1.0 if sign < 0 else 1.0
        self.k = names.index(price)
        self.names = [SCALE if n == price else n for n in names]

    def to_preference(self, c):
        """``beta`` from ``c``, both ``(..., K)``: ``beta_k = c_k c_S``, ``beta_S = sign c_S``."""
        c = np.asarray(c, float)
        s = c[..., self.k:self.k + 1]
        beta = c * s
        beta[..., self.k] = self.sign * c[..., self.k]
        return beta

    def from_preference(self, beta):
        """``c`` from ``beta`` (K,): the scale ``sign * beta_price`` and the ratios ``beta_k / scale``."""
        beta = np.asarray(beta, float)
        s = self.sign * beta[self.k]
        c = beta / s
        c[self.k] = s
        return c

    def jacobian(self, c):
        """``A = d beta / d c`` (K x K) at ``c`` (K,)."""
        K, S = len(c), self.k
        A = np.zeros((K, K))
        A[np.arange(K), np.arange(K)] = c[S]
        A[:, S] = c
        A[S, S] = self.sign
        return A

    def chain(self, c, g, H):
        """Gradient ``A'g`` and Hessian ``A'HA + sum_k g_k d2 beta_k / dc dc'`` in ``c`` from the gradient
        ``g`` (K,) and Hessian ``H`` (K x K) in ``beta``; the second term is ``g_k`` at (k, S) and (S, k)."""
        A = self.jacobian(c)
        Hc = A.T @ H @ A
        cross = np.array(g, float)
        cross[self.k] = 0.0
        Hc[:, self.k] += cross
        Hc[self.k, :] += cross
        return A.T @ g, Hc

    def convention(self):
        """The sign convention in words (a summary row of the fit)."""
        p = self.price
        if self.sign < 0:
            return f"-scale x {p} (a cost); a WTP is what a respondent would pay for one unit"
        return f"+scale x {p} (a good, like income); a WTP is the {p} a respondent would give up for one unit"

    @classmethod
    def of(cls, result):
        """The map of a fitted WTP-space result (:class:`~dce.models.results.ModelResult`)."""
        price = result.info.get("price")
        if price not in result.coef_names:
            raise DCEError(f"{result.source or 'model'}: a willingness-to-pay space model without its price "
                           "('price' is not one of its coefficients)")
        return cls(result.coef_names, price, result.info.get("price_sign", -1))


def check_price(data, price):
    """Refuse a price that is not a numeric coefficient of ``data`` or that never varies within a task."""
    names = list(data.names)
    if not isinstance(price, str) or not price:
        raise ArgumentError("price", "a willingness-to-pay space model needs the price column (or attribute)")
    if SCALE in names:
        raise ArgumentError("price", f"{where(data.source)}a coefficient is already named '{SCALE}', the name of "
                                     "the scale parameter of willingness-to-pay space; rename it")
    if price not in names:
        if is_categorical(data.spec or {}, price):
            raise ArgumentError("price", f"{where(data.source)}'{price}' is not numeric (it is coded as "
                                         "categories); the price must be a number, linearly coded")
        raise ArgumentError("price", f"{where(data.source)}'{price}' is not a coefficient of the model "
                                     f"(coefficients: {', '.join(names)})")
    x = np.where(data.avail, data.X[..., names.index(price)], np.nan)
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(x, axis=1) - np.nanmin(x, axis=1)
    if not np.any(spread > 0):
        raise ArgumentError("price", f"{where(data.source)}'{price}' is constant within every task: the scale of a "
                                     "willingness-to-pay space model is not identified")

    return False


def price_formula(formula, price, df, source=""):
    """The formula with the price term added when it does not name it, after checking that the table has
    the price as a numeric column (long data) or as numeric alternative columns ``PRICE1``, ... (wide)."""
    cols = [price] if price in df.columns else list(stem_columns(df.columns, price).values())
    if not cols:
        raise ArgumentError("price", f"{where(source)}no column '{price}' (nor alternative columns '{price}1', "
                                     f"'{price}2', ...)")
    for col in cols:
        if is_text_column(df[col]):
            value = next((v for v in df[col] if isinstance(v, str)), df[col].iloc[0])
            raise ArgumentError("price", f"{where(source, column=col)}is not numeric (values such as "
                                         f"'{value}'); the price must be a number")
    terms = parse_formula(formula, "_")[1]   # "_": a stand-in for the choice column where the formula has none
    if (price,) in terms:
        return formula
    return f"{formula} + {price}"


# ---------------------------------------------------------------------------------------------- both models
class _WTPSpaceModel:
    """What the conditional and the mixed logit in WTP space share: the price argument, the
    preference-space start, the description and the preference-space coefficient draws."""

    def _init_space(self, price, price_sign):
        self.price = price
        self.price_sign = price_sign

    def _validate(self):
        super()._validate()
        price, price_sign = self.price, self.price_sign
        if price_sign not in (None, -1, 1):
            raise ArgumentError("price_sign", f"must be -1 (a price), +1 (an income) or None (the sign of the "
                                              f"preference-space coefficient), not {price_sign}")
        if not isinstance(price, str) or not price:
            raise ArgumentError("price", "a willingness-to-pay space model needs the price column (or attribute)")

    def _prepare_space(self, data):
        """Check the price, fit the preference-space conditional logit (sign and start values)."""
        check_price(data, self.price)
        pref = ConditionalLogit().fit(data)
        k = list(data.names).index(self.price)
        b = pref.estimates[k]
        sign = self.price_sign if self.price_sign is not None else (1 if b > 0 else -1)
        self._pref = pref
        self._space = WTPSpace(data.names, self.price, sign)
        return pref

    def _space_start(self):
        """WTP-space coefficients of the preference-space conditional logit (ratios; price -> scale)."""
        beta = self._pref.estimates.copy()
        k = self._space.k
        # a sign given against the estimate: the scale is the estimate's size all the same
        beta[k] = self._space.sign * max(abs(beta[k]), 1e-6 * max(1.0, float(np.max(np.abs(beta)))))
        return self._space.from_preference(beta)

    def _describe_space(self, result, pref_row):
        """JSON ``space``, ``price``, ``price_sign``; summary rows with the sign convention (and, with
        ``pref_row``, the preference-space log-likelihood: the same model's)."""
        sp = self._space
        result.info.update({"space": "wtp", "price": sp.price, "price_sign": int(sp.sign)})
        result.fit_rows.append(("space", f"willingness to pay, in units of {sp.price}: U = scale x "
                                        f"({'-' if sp.sign < 0 else '+'}{sp.price} + WTP x attributes)"))
        result.fit_rows.append((f"price ({sp.price})", sp.convention()))
        if pref_row:
            result.fit_rows.append(("preference-space log-likelihood", f"{self._pref.loglik:.3f} (the same model)"))
        z = self._pref.z[sp.k]
        if not abs(z) >= 2:
            result.warnings.append(f"the coefficient of '{sp.price}' in the preference-space conditional logit is "
                                   f"not significant (z = {z:.2f}): the WTPs, ratios to it, are poorly determined")

    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        """Preference-space coefficient vectors (``beta_price = sign * scale``, ``beta_k = scale * w_k``) in
        the order of ``result.coef_names``, with their weights."""
        space = WTPSpace.of(result)
        C, w = cls._space_draws(result, space, theta, n_draws, seed)
        return space.to_preference(C), w


# ---------------------------------------------------------------------------------------------- conditional
class _Problem:
    """The conditional logit in WTP space on one data set, as the engine sees it."""

    engine_options: dict = {}

    def __init__(self, data, space: WTPSpace):
        self.data = data
        self.space = space
        self.names = list(space.names)
        self.score_groups = data.panel() if data.resp is not None else None

    def evaluate(self, c, hess=True):
        """Log-likelihood, gradient, per-task scores (tasks x K) and exact Hessian in ``c``."""
        data, sp = self.data, self.space
        c = np.asarray(c, float)
        P, logP = probabilities(utilities(sp.to_preference(c), data), data.avail)
        ll = float(logP[np.arange(data.n_tasks), data.chosen].sum())
        if not np.isfinite(ll):
            return engine.Evaluation(ll, np.full(len(c), np.nan))
        xbar = _mean_x(P, data.X)
        S = _chosen_rows(data.X, data.chosen) - xbar
        g = S.sum(axis=0)
        gc, Hc = sp.chain(c, g, _hessian(P, xbar, data.X))
        return engine.Evaluation(ll, gc, scores=S @ sp.jacobian(c), hess=Hc)

    def scores(self, c):
        return self.evaluate(c).scores


class ConditionalLogitWTP(_WTPSpaceModel, ConditionalLogit):
    """Conditional logit in willingness-to-pay space: ``ConditionalLogitWTP(price="pf").fit(data)``.

    ``price``: the price (or income) coefficient of the data; ``price_sign``: -1 (price), +1 (income) or
    None (the sign of its preference-space coefficient).  The other arguments are those of every model.
    """

    name = "mnl_wtp"
    label = "Conditional logit in WTP space"

    def __init__(self, price, price_sign=None, **kwargs):
        super().__init__(**kwargs)
        self._init_space(price, price_sign)

    def _parameter_names(self, data):
        check_price(data, self.price)
        return list(WTPSpace(data.names, self.price, -1).names)

    def _prepare(self, data, seed):
        self._prepare_space(data)
        return _Problem(data, self._space)

    def _initial(self, problem, data, start, rng):
        K = data.n_vars
        if start == 0 and self.start is not None:
            c0 = np.asarray(self.start, float)
            if c0.shape != (K,):
                raise ArgumentError("start", f"{c0.size} values given, the model has {K} parameters")
            return c0
        c0 = self._space_start()
        if start == 0:
            return c0
        # other starts: WTPs moved by about half their size, the scale by a factor of about e^(+-0.5)
        c = c0 + rng.normal(size=K) * 0.5 * np.maximum(np.abs(c0), 0.1 * np.abs(c0).mean())
        c[self._space.k] = c0[self._space.k] * math.exp(rng.normal(scale=0.5))
        return c

    def _describe(self, result, problem, data):
        self._describe_space(result, pref_row=True)

    @classmethod
    def _space_draws(cls, result, space, theta, n_draws, seed):
        idx = [result.names.index(n) for n in space.names]
        return np.asarray(theta, float)[idx][None, :], np.ones(1)


# ---------------------------------------------------------------------------------------------- mixed
class MixedLogitWTP(_WTPSpaceModel, MixedLogit):
    """Mixed logit in willingness-to-pay space: ``MixedLogitWTP({"scale": "ln", "loc": "n"}, price="pf")``.

    ``random``: {coefficient: distribution} over ``scale`` (ln by default: give None; n, t or u) and the
    WTPs (n, ln, -ln, t, u); the price itself is not random (its coefficient is ``sign * scale``).  The
    other arguments are those of :class:`dce.models.mixed.MixedLogit`.
    """

    name = "mixed_wtp"
    label = "Mixed logit in WTP space"

    def __init__(self, random, price, price_sign=None, **kwargs):
        super().__init__(random, **kwargs)
        self._init_space(price, price_sign)

    def _validate(self):
        random, price = self.random, self.price
        random = {n: ("ln" if n == SCALE and not d else d) for n, d in dict(random or {}).items()}
        if random.get(SCALE) == "-ln":
            raise ArgumentError("random", f"'{SCALE}' cannot be negative lognormal: the scale is positive (the "
                                          "price's sign is that of its preference-space coefficient)")
        if price in random:
            raise ArgumentError("random", f"'{price}' is the price, whose coefficient is -scale in willingness-to-pay "
                                          f"space: make '{SCALE}' random instead (for example {SCALE}=ln)")
        self.random = random
        super()._validate()

    def _model_names(self, names):
        names = list(names)
        if self.price not in names:
            raise ArgumentError("price", f"'{self.price}' is not a coefficient of the model "
                                         f"(coefficients: {', '.join(names)})")
        return [SCALE if n == self.price else n for n in names]

    def _scaling(self):
        return self._space.k, self._space.sign

    def _prepare(self, data, seed):
        self._prepare_space(data)
        return super()._prepare(data, seed)

    def _start_coefficients(self, data):
        """The preference-space conditional logit's WTPs and scale; spreads that translate the
        preference-space mixed logit's start (0.1 in utility) into money (0.1 / scale)."""
        c0 = self._space_start()
        spread = np.full(len(c0), 0.1)
        for k, n in enumerate(self._coef_names):
            if k != self._space.k and self.random.get(n) in ("n", "t", "u"):
                spread[k] = 0.1 / c0[self._space.k]
        return c0, self._pref, spread

    def _describe(self, result, problem, data):
        super()._describe(result, problem, data)     # says the conditional logit's log-likelihood
        self._describe_space(result, pref_row=False)

    # ------------------------------------------------------------------ the global search's candidates
    def _candidate_kinds(self, n):
        """The default start, the preference-space solution (the other space), random points."""
        kinds = super()._candidate_kinds(n)
        if self.start is None and n >= 2:
            kinds[1] = "preference space"
        return kinds

    def _perturbed(self, theta0, rng):
        """A random start around ``theta0`` whose fixed scale stays positive (moved by a factor of about
        e^(+-0.5)), as the conditional logit's other starts."""
        th = super()._perturbed(theta0, rng)
        return self._positive_scale(th, theta0, rng, 0.5)

    def _hop(self, theta, rng):
        th = super()._hop(theta, rng)
        return self._positive_scale(th, theta, rng, 2 * self.HOP_STEP)

    def _positive_scale(self, th, theta0, rng, sd):
        k = self._space.k
        if self.random.get(SCALE) is None:          # a fixed scale: multiplicative moves keep its sign
            th[k] = theta0[k] * math.exp(sd * rng.normal())
        return th

    def _candidate(self, problem, data, kind, rng, seed):
        if kind == "preference space":
            return self._from_preference_space(data, seed)
        return super()._candidate(problem, data, kind, rng, seed)

    def _from_preference_space(self, data, seed):
        """The preference-space mixed logit of the same model (same draws, the price's coefficient fixed, or
        lognormal with the scale's spread), maximised from its default start and mapped to WTPs and scale
        (exact for a fixed scale; through the scale's median for a lognormal one).  None where the model has
        no preference-space twin here (correlated coefficients, a scale that is not fixed or lognormal)."""
        sp, names = self._space, self._coef_names
        scale_dist = self.random.get(SCALE)
        if self._corr_idx or scale_dist not in (None, "ln"):
            return None
        random = {sp.price if n == SCALE else n: d for n, d in self.random.items()}
        if scale_dist == "ln":
            random[sp.price] = "-ln" if sp.sign < 0 else "ln"
        pref = MixedLogit(random, draws=self.draws, draw_type=self.draw_type, scramble=self.scramble, search=0,
                          seed=seed, maxiter=self.maxiter, tol=self.tol, threads=self.threads, backend=self.backend,
                          callback=self.callback)     # the screen's: it ends the fit when the search stops
        pref.seed_ = seed
        problem = pref._prepare(data, seed)
        pref._before_starts(problem, data)
        opt, _ = pref._optimize(problem, pref._theta0, "")
        if opt is None or not np.isfinite(opt.loglik):
            return None
        est = dict(zip(pref._names, opt.x))
        k = sp.k
        if scale_dist == "ln":
            mu_s, scale = est[sp.price], math.exp(est[sp.price])
        else:
            scale = sp.sign * est[sp.price]
            mu_s = scale
        if not scale > 0:
            return None
        theta = np.empty(len(self._names))
        for i, n in enumerate(self._names):
            if i < len(names):
                if i == k:
                    theta[i] = mu_s
                elif self.random.get(n) in ("ln", "-ln"):
                    theta[i] = est[n] - math.log(scale)
                else:
                    theta[i] = est[n] / scale
            else:       # sd.x: in money for n, t, u; the same on the log scale for ln, -ln and the scale
                base = n[3:]
                if base == SCALE:
                    theta[i] = abs(est[f"sd.{sp.price}"])
                elif self.random.get(base) in ("ln", "-ln"):
                    theta[i] = abs(est[n])
                else:
                    theta[i] = abs(est[n]) / scale
        return theta

    @classmethod
    def _space_draws(cls, result, space, theta, n_draws, seed):
        random = {n: (v or {}).get("distribution") for n, v in (result.info.get("random") or {}).items()}
        corr = (result.info.get("correlation") or {}).get("names") or None
        C = coefficient_draws(random, corr, space.names, result.names, theta, n_draws, seed)
        return C, np.full(C.shape[0], 1.0 / C.shape[0])
