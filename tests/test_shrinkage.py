"""helpers.shrinkage and helpers.widgets: the weighted-average identities and the simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import helpers as hp


@pytest.fixture(scope="module")
def small():
    return hp.load_dataset("popularity_small")


def test_eb_is_the_reliability_weighted_average_of_the_group_mean(small):
    """Closed form for the empty model: lambda_j * (ybar_j - g00), lambda from tau and sigma2."""
    m = hp.fit_lmm("popular ~ 1 + (1 | class)", small)
    t = hp.shrinkage_table(m)
    g00 = m.fixed.loc["Intercept", "estimate"]
    ybar = small.groupby("class", observed=True)["popular"].mean()
    n = small.groupby("class", observed=True).size()
    lam = m.tau.iloc[0, 0] / (m.tau.iloc[0, 0] + m.sigma2 / n)
    np.testing.assert_allclose(t["own"], ybar - g00, atol=1e-12)
    np.testing.assert_allclose(t["reliability"], lam, rtol=1e-12)
    np.testing.assert_allclose(t["eb"], lam * (ybar - g00), atol=1e-10)
    np.testing.assert_allclose(t["share_shrunk"], 1 - lam, rtol=1e-12)
    np.testing.assert_allclose(t["shrinkage"], (1 - lam) * (ybar - g00), atol=1e-10)


def test_matrix_weights_reproduce_random_slope_predictions(small):
    m = hp.fit_lmm("popular ~ extrav + gender + (1 + extrav | class)", small)
    own = hp.own_estimates(m)
    W = hp.shrinkage_weights(m)
    ok = own.notna().all(axis=1).to_numpy()
    joint = np.einsum("jab,jb->ja", W[ok], own.to_numpy()[ok])
    np.testing.assert_allclose(joint, m.ranef().to_numpy()[ok], atol=1e-10)
    # A group of two pupils with the same extraversion has no own slope estimate.
    assert own.isna().any(axis=1).sum() == (~ok).sum()


def test_shrinkage_table_refuses_random_slopes_and_weights_refuse_singular_fits(small):
    m = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", small)
    with pytest.raises(ValueError, match="random-intercept models"):
        hp.shrinkage_table(m)
    rng = np.random.default_rng(2)
    flat = pd.DataFrame({"g": np.repeat(np.arange(8), 5), "y": rng.normal(size=40)})
    flat["y"] -= flat.groupby("g")["y"].transform("mean")
    with pytest.warns(hp.SingularFitWarning):
        s = hp.fit_lmm("y ~ 1 + (1 | g)", flat)
    with pytest.raises(ValueError, match="singular"):
        hp.shrinkage_weights(s)


def test_pooling_simulation_recovers_known_bias_and_variance():
    """No pooling: unbiased with variance sigma2/n_j; complete pooling: bias mu_bar - mu_j."""
    mu = np.array([-1.0, 0.0, 0.5, 2.0])
    n = np.array([3, 5, 10, 20])
    sim = hp.pooling_simulation(mu, n, sigma2=1.0, n_rep=400, seed=3)
    pg = sim.per_group
    # Tolerances: 4 Monte Carlo standard errors (arrays, so compared by hand).
    se_var = np.sqrt(2 / 399) * (1.0 / n)  # standard error of a sample variance
    assert np.all(np.abs(pg[("no pooling", "variance")] - 1.0 / n) < 4 * se_var)
    assert np.all(np.abs(pg[("no pooling", "bias")]) < 4 * np.sqrt(1.0 / n / 400))
    weighted_mean = (n * mu).sum() / n.sum()
    cp_bias = pg[("complete pooling", "bias")].to_numpy()
    assert np.all(np.abs(cp_bias - (weighted_mean - mu)) < 4 * np.sqrt(1 / n.sum() / 400))
    assert set(sim.totals.index) == {"no pooling", "complete pooling", "partial pooling"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"true_means": [1.0], "sizes": [3]}, "at least 2"),
        ({"true_means": [1.0, 2.0], "sizes": [3, 0]}, "positive integers"),
        ({"true_means": [1.0, 2.0], "sizes": [3, 4], "sigma2": 0}, "sigma2 must be positive"),
        ({"true_means": [1.0, 2.0], "sizes": [3, 4], "n_rep": 1}, "n_rep"),
    ],
)
def test_pooling_simulation_validates_input(kwargs, message):
    kwargs.setdefault("sigma2", 1.0)
    with pytest.raises(ValueError, match=message):
        hp.pooling_simulation(**kwargs)


def test_explorer_geometry():
    p = hp.widgets.shrinkage_point(n=4, tau00=0.5, sigma2=1.0, distance=2.0)
    assert p["reliability"] == pytest.approx(0.5 / (0.5 + 0.25))
    assert p["eb"] == pytest.approx(p["reliability"] * 2.0)
    assert p["pull"] == pytest.approx(2.0 - p["eb"])
    with pytest.raises(ValueError, match="positive"):
        hp.widgets.shrinkage_point(n=0, tau00=0.5, sigma2=1.0, distance=1.0)
