"""LmmFit.predict(..., interval=): intervals from Henderson's mixed-model equations.

Two independent checks: the error variances equal those read off the inverse of the
full (dense) mixed-model-equations coefficient matrix built from the fit's own X, Z,
tau and sigma^2 (Henderson 1975: its inverse is the covariance of the prediction
errors of beta-hat and b-hat), and simulated coverage of the intervals is nominal
within Monte Carlo error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp


@pytest.fixture(scope="module")
def final(pop):
    return hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", pop)


def _dense_mme_inverse(fit):
    X, Z, codes = fit.X, fit.Z, fit.group_codes
    n, p = X.shape
    q, J = Z.shape[1], fit.n_groups
    Zfull = np.zeros((n, J * q))
    for k in range(q):
        Zfull[np.arange(n), codes * q + k] = Z[:, k]
    G = np.kron(np.eye(J), fit.tau.to_numpy())
    s2 = fit.sigma2
    C = np.block(
        [
            [X.T @ X / s2, X.T @ Zfull / s2],
            [Zfull.T @ X / s2, Zfull.T @ Zfull / s2 + np.linalg.inv(G)],
        ]
    )
    return np.linalg.inv(C), p, q


def test_error_variance_equals_the_inverse_of_the_mixed_model_equations(final, pop):
    Cinv, p, q = _dense_mme_inverse(final)
    np.testing.assert_allclose(Cinv[:p, :p], final.vcov.to_numpy(), rtol=1e-8)
    rows = pop.iloc[[0, 17, 400, 1999]]
    got = final.predict(rows, interval="confidence")
    X = final.X[[0, 17, 400, 1999]]
    Z = final.Z[[0, 17, 400, 1999]]
    codes = final.group_codes[[0, 17, 400, 1999]]
    for i in range(len(rows)):
        a = np.zeros(Cinv.shape[0])
        a[:p] = X[i]
        a[p + codes[i] * q : p + codes[i] * q + q] = Z[i]
        assert got["std_error"].iloc[i] ** 2 == pytest.approx(a @ Cinv @ a, rel=1e-8)
    # Point predictions are those of predict() without an interval.
    np.testing.assert_allclose(got["predicted"], final.predict(rows), rtol=1e-12)
    # A prediction interval adds sigma^2; the limits are predicted -/+ z * se.
    pi = final.predict(rows, interval="prediction", level=0.9)
    np.testing.assert_allclose(pi["std_error"] ** 2, got["std_error"] ** 2 + final.sigma2)
    z = scipy.stats.norm.ppf(0.95)
    np.testing.assert_allclose(pi["upper"] - pi["predicted"], z * pi["std_error"])


def test_new_groups_and_the_fixed_part(final, pop):
    rows = pop.iloc[[0, 1]].assign(**{"class": [1000, 1001]})
    with pytest.warns(UserWarning, match="groups not in the fit"):
        new = final.predict(rows, interval="prediction")
    x = final.X[[0, 1]]
    z = final.Z[[0, 1]]
    V, T = final.vcov.to_numpy(), final.tau.to_numpy()
    expect = np.einsum("np,pr,nr->n", x, V, x) + np.einsum("nq,qr,nr->n", z, T, z) + final.sigma2
    np.testing.assert_allclose(new["std_error"] ** 2, expect, rtol=1e-10)
    fixed = final.predict(pop.iloc[[0, 1]], interval="confidence", include_random=False)
    np.testing.assert_allclose(fixed["std_error"] ** 2, np.einsum("np,pr,nr->n", x, V, x))
    # The fitted rows: the same as passing the data in again.
    np.testing.assert_allclose(
        final.predict(interval="confidence").iloc[:5].to_numpy(),
        final.predict(pop.iloc[:5], interval="confidence").to_numpy(),
        rtol=1e-10,
    )


def test_bad_interval_arguments(final, pop):
    with pytest.raises(ValueError, match="interval must be one of"):
        final.predict(pop.head(2), interval="credible")
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        final.predict(pop.head(2), interval="prediction", level=95)
    with pytest.raises(TypeError, match="level must be a number"):
        final.predict(pop.head(2), interval="prediction", level="0.95")


def test_intervals_are_unchanged_by_units(pop):
    formula = "popular ~ extrav + texp + (1 + extrav | class)"
    base = hp.fit_lmm(formula, pop).predict(pop.head(4), interval="prediction")
    moved = pop.assign(popular=pop["popular"] * 1e6 + 3.0, texp=pop["texp"] * 1e-6 - 2.0)
    got = hp.fit_lmm(formula, moved).predict(moved.head(4), interval="prediction")
    np.testing.assert_allclose((got["predicted"] - 3.0) / 1e6, base["predicted"], rtol=1e-7)
    np.testing.assert_allclose(got["std_error"] / 1e6, base["std_error"], rtol=1e-6)


def test_coverage_is_nominal_in_simulation():
    """A random intercept and slope, 60 groups of 10; 150 data sets drawn from known values.

    Per data set, at every observed row: the 95% confidence interval of the row's true
    group mean x'beta + z'u_j, and the 95% prediction interval of a new observation of
    that group there; at one row, the prediction interval of an observation in a new
    group (``include_random=False``). Averaged over rows and data sets each covers 95%
    within Monte Carlo error (computed from independent groups, not rows); the
    variance components are estimated in every data set and the intervals treat them
    as known, so a small shortfall is expected (with 30 groups of 8 the confidence
    intervals covered 92.9%; here 94.4%): the test allows 1 point below.
    """
    rng = np.random.default_rng(20261207)
    J, m, reps = 60, 10, 150
    g = np.repeat(np.arange(J), m)
    x = rng.normal(size=J * m)
    T = np.array([[0.5, 0.1], [0.1, 0.2]])
    beta, sigma = np.array([1.0, 0.5]), 1.0
    data = pd.DataFrame({"g": g, "x": x, "y": rng.normal(size=J * m)})
    hit_mean = hit_new = hit_group = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hp.fit_lmm("y ~ x + (1 + x | g)", data)
        for _ in range(reps):
            u = rng.multivariate_normal([0, 0], T, size=J)
            mu = beta[0] + u[g, 0] + (beta[1] + u[g, 1]) * x
            f = fit.refit(mu + sigma * rng.normal(size=J * m))
            ci = f.predict(interval="confidence")
            hit_mean += np.sum((ci["lower"] <= mu) & (mu <= ci["upper"]))
            y_new = mu + sigma * rng.normal(size=J * m)
            pi = f.predict(interval="prediction")
            hit_new += np.sum((pi["lower"] <= y_new) & (y_new <= pi["upper"]))
            u_new = rng.multivariate_normal([0, 0], T)
            y_other = beta[0] + u_new[0] + (beta[1] + u_new[1]) * x[0] + sigma * rng.normal()
            other = f.predict(interval="prediction", include_random=False).iloc[0]
            hit_group += int(other["lower"] <= y_other <= other["upper"])
    # Rows of a group share its errors: count the Monte Carlo SE by groups (conservative).
    mcse = np.sqrt(0.95 * 0.05 / (J * reps))
    for hits in (hit_mean, hit_new):
        rate = hits / (J * m * reps)
        assert 0.95 - 0.01 - 3 * mcse < rate < 0.95 + 3 * mcse, rate
    rate = hit_group / reps
    assert abs(rate - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps) + 0.015, rate
