"""The shared estimation engine: maximisation with and without a Hessian, and covariance matrices."""
import numpy as np

from dce.models import engine


def _poisson(y, X):
    """A Poisson regression log-likelihood: an independent concave problem for the engine."""
    def evaluate(b, hess):
        eta = X @ b
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.exp(eta)
        with np.errstate(over="ignore", invalid="ignore"):
            ll = float((y * eta - mu).sum())
            S = (y - mu)[:, None] * X
            H = -(X * mu[:, None]).T @ X if hess else None
            g = S.sum(0)
        return engine.Evaluation(ll, g, scores=S, hess=H)
    return evaluate


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    y = rng.poisson(np.exp(X @ np.array([0.3, 0.5, -0.4])))
    return y, X


def test_newton_from_the_start_and_bhhh_then_newton_reach_the_same_optimum():
    y, X = _data()
    ev = _poisson(y, X)
    a = engine.maximize(ev, np.zeros(3), tol=1e-12)                 # Hessian always: Newton
    b = engine.maximize(ev, np.zeros(3), tol=1e-12, switch=60.0)    # BHHH far away, then Newton
    assert a.converged and b.converged
    assert np.allclose(a.x, b.x, atol=1e-8)
    assert a.grad @ np.linalg.solve(-a.hess, a.grad) < 1e-12 and b.hess is not None
    # the first-order condition of a Poisson regression with a constant: sum(y) = sum(mu)
    assert np.isclose(np.exp(X @ a.x).sum(), y.sum())


def test_non_finite_start_is_reported():
    y, X = _data()
    res = engine.maximize(_poisson(y, X), np.array([800.0, 0, 0]))
    assert not res.converged and "not finite" in res.message


def test_covariances_classical_robust_cluster():
    y, X = _data(1)
    ev = _poisson(y, X)
    res = engine.maximize(ev, np.zeros(3), tol=1e-12)
    S = ev(res.x, False).scores
    groups = np.repeat(np.arange(100), 4)
    cov = engine.covariances(res.hess, S, groups, 100)
    A = np.linalg.inv(-res.hess)
    assert np.allclose(cov["classical"], A)
    assert np.allclose(cov["robust"], A @ S.T @ S @ A)
    Sg = np.array([S[groups == g].sum(0) for g in range(100)])
    assert np.allclose(cov["cluster"], 100 / 99 * A @ Sg.T @ Sg @ A)
    assert not cov["singular"]
