"""Properties of hp.fit_glmm that hold whatever the data (closed forms and invariances)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.special

import helpers as hp

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hp.fit_glmm(*args, **kwargs)


def test_zero_variance_fit_is_the_glm(binary):
    """Groups unrelated to the outcome: the variance is 0 and the fit is statsmodels' GLM."""
    rng = np.random.default_rng(3)
    df = binary.assign(noise=rng.integers(1, 40, len(binary)))
    m = _quiet("y ~ x + z + (1 | noise)", df)
    assert m.singular and m.tau.iloc[0, 0] < 1e-8
    glm = smf.glm("y ~ x + z", df, family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(m.fixed["estimate"], glm.params, rtol=1e-6)
    assert m.loglik == pytest.approx(glm.llf, abs=1e-6)
    # At theta = 0 the Hessian is singular in theta: lme4 then uses the RX-based
    # covariance, which is the GLM's.
    np.testing.assert_allclose(np.sqrt(np.diag(m.vcov_rx)), glm.bse, rtol=1e-5)


def test_zero_variance_poisson_with_offset_is_the_glm():
    rng = np.random.default_rng(11)
    n = 600
    df = pd.DataFrame(
        {"g": rng.integers(1, 30, n), "x": rng.normal(size=n), "t": rng.uniform(1, 5, n)}
    )
    df["count"] = rng.poisson(df["t"] * np.exp(0.2 + 0.4 * df["x"]))
    m = _quiet("count ~ x + offset(np.log(t)) + (1 | g)", df, family="poisson")
    glm = smf.glm("count ~ x", df, family=sm.families.Poisson(), offset=np.log(df["t"])).fit(
        tol=1e-12
    )
    assert m.singular
    np.testing.assert_allclose(m.fixed["estimate"], glm.params, rtol=1e-6)
    assert m.loglik == pytest.approx(glm.llf, abs=1e-6)


def _expanded(counts: pd.DataFrame) -> pd.DataFrame:
    rows = counts.loc[counts.index.repeat(counts["trials"])].copy()
    k = rows.groupby(level=0).cumcount()
    rows["y"] = (k < rows["successes"]).astype(int)
    return rows.reset_index(drop=True)


@pytest.mark.parametrize("nagq", [1, 9])
def test_cbind_equals_the_expanded_binary_data(counts, nagq):
    cb = hp.fit_glmm("cbind(successes, trials - successes) ~ x + (1 | group)", counts, nagq=nagq)
    ex = hp.fit_glmm("y ~ x + (1 | group)", _expanded(counts), nagq=nagq)
    np.testing.assert_allclose(cb.fixed["estimate"], ex.fixed["estimate"], rtol=1e-6)
    np.testing.assert_allclose(cb.fixed["std_error"], ex.fixed["std_error"], rtol=1e-4)
    np.testing.assert_allclose(cb.tau, ex.tau, rtol=1e-5)
    np.testing.assert_allclose(cb.ranef(), ex.ranef(), atol=1e-6)
    # The likelihoods differ by the binomial coefficients, which the 0/1 rows lack.
    log_choose = np.sum(
        scipy.special.gammaln(counts["trials"] + 1)
        - scipy.special.gammaln(counts["successes"] + 1)
        - scipy.special.gammaln(counts["trials"] - counts["successes"] + 1)
    )
    assert cb.loglik == pytest.approx(ex.loglik + log_choose, abs=1e-6)


@pytest.mark.parametrize("formula", ["y ~ x + z + (1 | group)", "y ~ x + z + (1 + x | group)"])
def test_relabelling_groups_and_permuting_rows_change_nothing(binary, formula):
    m = hp.fit_glmm(formula, binary)
    rng = np.random.default_rng(7)
    labels = {g: f"g{k:03d}" for g, k in zip(range(1, 61), rng.permutation(60), strict=True)}
    df = binary.assign(group=binary["group"].astype(int).map(labels))
    df = df.iloc[rng.permutation(len(df))]
    m2 = hp.fit_glmm(formula, df)
    assert m2.loglik == pytest.approx(m.loglik, abs=1e-7)
    np.testing.assert_allclose(m2.fixed["estimate"], m.fixed["estimate"], rtol=1e-5)
    np.testing.assert_allclose(m2.fixed["std_error"], m.fixed["std_error"], rtol=1e-4)
    re = m.ranef()
    re.index = [labels[int(g)] for g in re.index]
    np.testing.assert_allclose(
        m2.ranef().loc[re.index].to_numpy(), re.to_numpy(), atol=1e-5 * np.abs(re).max().max()
    )
    pd.testing.assert_series_equal(
        m2.fitted().sort_index(), m.fitted().sort_index(), check_exact=False, rtol=1e-5
    )


def test_units_do_not_matter(binary):
    m = hp.fit_glmm("y ~ x + z + (1 + x | group)", binary)
    tiny = binary.assign(x=binary["x"] * 1e-6)
    m2 = hp.fit_glmm("y ~ x + z + (1 + x | group)", tiny)
    assert m2.loglik == pytest.approx(m.loglik, abs=1e-6)
    assert m2.fixed.loc["x", "estimate"] == pytest.approx(
        m.fixed.loc["x", "estimate"] * 1e6, rel=1e-5
    )


def _simulate(J: int, n_per: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n_per)
    x = rng.normal(size=g.size)
    u = rng.normal(0, 1.0, J)
    y = (rng.random(g.size) < scipy.special.expit(-0.3 + 0.5 * x + u[g])).astype(int)
    return pd.DataFrame({"g": g, "x": x, "y": y})


def test_laplace_approaches_quadrature_as_groups_grow():
    """50 groups of 8, 32, 128: the Laplace error shrinks as each group's posterior sharpens."""
    ll_gap, tau_gap = [], []
    for n_per in (8, 32, 128):
        df = _simulate(J=50, n_per=n_per, seed=100 + n_per)
        lap = hp.fit_glmm("y ~ x + (1 | g)", df)
        agq = hp.fit_glmm("y ~ x + (1 | g)", df, nagq=15)
        ll_gap.append(abs(lap.loglik - agq.loglik))
        tau_gap.append(abs(lap.tau.iloc[0, 0] - agq.tau.iloc[0, 0]))
        # The quadrature has converged in its number of points.
        agq25 = hp.fit_glmm("y ~ x + (1 | g)", df, nagq=25)
        assert agq25.loglik == pytest.approx(agq.loglik, abs=1e-6)
    assert ll_gap[0] > ll_gap[1] > ll_gap[2] and ll_gap[2] < 0.5 * ll_gap[0]
    assert tau_gap[0] > tau_gap[1] > tau_gap[2] and tau_gap[2] < 0.1 * tau_gap[0]


def test_a_constant_offset_moves_only_the_intercept(counts):
    a = hp.fit_glmm("count ~ x + offset(np.log(exposure)) + (1 | group)", counts, family="poisson")
    b = hp.fit_glmm(
        "count ~ x + offset(np.log(exposure) + 2.0) + (1 | group)", counts, family="poisson"
    )
    assert b.loglik == pytest.approx(a.loglik, abs=1e-7)
    assert b.fixed.loc["Intercept", "estimate"] == pytest.approx(
        a.fixed.loc["Intercept", "estimate"] - 2.0, abs=1e-6
    )
    assert b.fixed.loc["x", "estimate"] == pytest.approx(a.fixed.loc["x", "estimate"], rel=1e-6)
