"""The shared estimation engine: maximisation with and without a Hessian, and covariance matrices."""
import numpy as np
import pytest

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


def _quartic():
    """f(x, y) = -(x^2 - 1)^2 - 2 y^2 + 0.1 x: a saddle at about the origin (H indefinite there),
    maxima near x = +-1; no scores, an exact Hessian."""
    def evaluate(v, hess):
        x, y = v
        ll = -(x * x - 1) ** 2 - 2 * y * y + 0.1 * x
        g = np.array([-4 * x * (x * x - 1) + 0.1, -4 * y])
        H = np.array([[-12 * x * x + 4, 0.0], [0.0, -4.0]])
        return engine.Evaluation(float(ll), g, hess=H)
    return evaluate


def test_an_indefinite_hessian_gives_a_step_of_negative_curvature_not_a_crawl():
    res = engine.maximize(_quartic(), np.array([0.0, 0.5]), tol=1e-12, maxiter=50)
    assert res.converged and res.iterations < 15
    assert res.x[0] == pytest.approx(1.0 + 0.1 / 8, abs=2e-3) and abs(res.x[1]) < 1e-8
    # started exactly at a stationary point of a saddle (gradient zero in x only through symmetry)
    ev = lambda v, h: engine.Evaluation(float(-(v[0] ** 2 - 1) ** 2 - v[1] ** 2),            # noqa: E731
                                        np.array([-4 * v[0] * (v[0] ** 2 - 1), -2 * v[1]]),
                                        hess=np.array([[-12 * v[0] ** 2 + 4, 0.0], [0.0, -2.0]]))
    res = engine.maximize(ev, np.array([0.0, 0.3]), tol=1e-12, maxiter=50)
    assert res.converged and res.iterations < 20 and abs(res.x[1]) < 1e-8
    assert abs(abs(res.x[0]) - 1.0) < 1e-6 or res.x[0] == 0.0     # a maximum, or the saddle reported


@pytest.mark.parametrize("seed", range(5))
def test_the_trust_region_subproblem_is_solved_exactly(seed):
    """The step maximises g'p - p'Bp/2 on the ball ||p|| <= r (checked against many points of the ball),
    for positive definite, indefinite and hard-case matrices."""
    rng = np.random.default_rng(seed)
    P = 4
    Q, _ = np.linalg.qr(rng.normal(size=(P, P)))
    lam = rng.normal(size=P) * 2
    if seed == 0:
        lam = np.abs(lam) + 0.5
    g = rng.normal(size=P)
    if seed >= 3:       # the hard case: the gradient orthogonal to the most negative curvature
        lam[0] = -3.0
        g = g - (Q[:, 0] @ g) * Q[:, 0]
    B = Q @ np.diag(lam) @ Q.T
    model = engine.TrustModel(g, B, np.ones(P))
    for r in (0.1, 1.0, 10.0):
        p = model.solve(r)
        assert np.linalg.norm(p) <= r * (1 + 1e-8)
        u = rng.normal(size=(4000, P))
        u *= (r * rng.random(4000) ** (1 / P) / np.linalg.norm(u, axis=1))[:, None]
        vals = u @ g - 0.5 * np.einsum("np,pq,nq->n", u, B, u)
        assert model.gain(p) >= vals.max() - 1e-9
