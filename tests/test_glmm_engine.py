"""helpers._pirls: the exact gradient of the Laplace deviance against finite differences.

The optimiser of fit_glmm uses ``laplace_gradient`` (and central differences of it
for the Hessian behind the standard errors), so it is checked here against the
deviance itself: central differences of ``laplace`` (each evaluation a fresh,
tightly converged penalised IRLS) in every direction, for each family and link,
with weights, offsets and a vector random effect, at points away from the optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import _pirls


def _problem(family, link, q, seed=7, J=40, n_per=12, trials=None):
    rng = np.random.default_rng(seed)
    n = J * n_per
    codes = np.repeat(np.arange(J), n_per)
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x, rng.integers(0, 2, J)[codes]])
    Z = np.column_stack([np.ones(n), x])[:, :q]
    b = rng.normal(0, 0.8, (J, q))
    eta = X @ np.array([-0.2, 0.5, 0.4]) + np.einsum("ia,ia->i", Z, b[codes])
    offset = np.zeros(n)
    if family == "poisson":
        offset = np.log(rng.uniform(0.5, 2.0, n))
        y = rng.poisson(np.exp(eta + offset)).astype(float)
        wt = np.ones(n)
    else:
        p = _pirls.Family(family, link).linkinv(eta)
        m = np.ones(n) if trials is None else rng.integers(1, trials + 1, n).astype(float)
        y = rng.binomial(m.astype(int), p) / m
        wt = m
    perm = rng.permutation(n)  # make_problem sorts the rows by group again
    rows, cols = np.tril_indices(q)
    pb, _ = _pirls.make_problem(
        _pirls.Family(family, link),
        y[perm],
        wt[perm],
        offset[perm],
        X[perm],
        Z[perm],
        codes[perm],
        J,
        (rows, cols),
    )
    return pb


CASES = [
    ("binomial", "logit", 1, None),
    ("binomial", "logit", 2, None),
    ("binomial", "probit", 2, None),
    ("binomial", "logit", 2, 6),  # proportions with weights (cbind data)
    ("poisson", "log", 2, None),  # with an offset
]


def _deviance(pb, theta, beta):
    m = _pirls.pirls_u(pb, theta, beta, tol=1e-10)
    assert m.converged
    return _pirls.laplace(pb, m)


def _profiled(pb, theta):
    jm = _pirls.pirls_joint(pb, theta, np.zeros(pb.p), tol=1e-15)
    return _pirls.laplace(pb, jm.mode)


def _central(f, x, h=1e-5):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize(("family", "link", "q", "trials"), CASES)
def test_laplace_gradient_in_theta_and_beta(family, link, q, trials):
    pb = _problem(family, link, q, trials=trials)
    theta = np.array([0.9, -0.3, 0.6])[: pb.n_theta] if q == 2 else np.array([0.7])
    beta = np.array([-0.1, 0.3, 0.2])
    mode = _pirls.pirls_u(pb, theta, beta, tol=1e-10)
    exact = _pirls.laplace_gradient(pb, theta, beta, mode)
    k = pb.n_theta
    numeric = _central(lambda x: _deviance(pb, x[:k], x[k:]), np.r_[theta, beta])
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


@pytest.mark.parametrize(("family", "link", "q", "trials"), CASES)
def test_laplace_gradient_with_beta_profiled(family, link, q, trials):
    """The first stage: beta and u at their joint modes for each theta."""
    pb = _problem(family, link, q, trials=trials)
    theta = np.array([0.9, -0.3, 0.6])[: pb.n_theta] if q == 2 else np.array([0.7])
    jm = _pirls.pirls_joint(pb, theta, np.zeros(pb.p), tol=1e-15)
    exact = _pirls.laplace_gradient(pb, theta, jm.beta, jm.mode, profiled=True)
    numeric = _central(lambda t: _profiled(pb, t), theta)
    np.testing.assert_allclose(exact, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())
