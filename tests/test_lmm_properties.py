"""Invariances of fit_lmm (hypothesis) and the balanced one-way ANOVA closed form."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import helpers as hp

# Derandomized: CI runs the same examples every time, so main stays reproducibly green.
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def two_level_data(draw):
    """Small unbalanced two-level data with a random intercept and slope."""
    seed = draw(st.integers(0, 2**32 - 1))
    J = draw(st.integers(4, 12))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, J)
    g = np.repeat(np.arange(J), sizes)
    x = rng.normal(size=len(g))
    u0 = rng.normal(scale=draw(st.floats(0.3, 2.0)), size=J)
    u1 = rng.normal(scale=0.5, size=J)
    y = 2.0 + 0.7 * x + u0[g] + u1[g] * x + rng.normal(size=len(g))
    return pd.DataFrame({"y": y, "x": x, "g": g})


def fit(formula, df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hp.fit_lmm(formula, df, **kw)


FORMULA = "y ~ x + (1 | g)"


@SETTINGS
@given(df=two_level_data(), shift=st.floats(-50, 50), reml=st.booleans())
def test_adding_a_constant_to_y_moves_only_the_intercept(df, shift, reml):
    a = fit(FORMULA, df, reml=reml)
    b = fit(FORMULA, df.assign(y=df["y"] + shift), reml=reml)
    assert b.fixed.loc["Intercept", "estimate"] == pytest.approx(
        a.fixed.loc["Intercept", "estimate"] + shift, rel=1e-5, abs=1e-5
    )
    assert b.fixed.loc["x", "estimate"] == pytest.approx(
        a.fixed.loc["x", "estimate"], rel=1e-5, abs=1e-6
    )
    assert b.sigma2 == pytest.approx(a.sigma2, rel=1e-5)
    assert b.deviance == pytest.approx(a.deviance, abs=1e-5)
    np.testing.assert_allclose(b.fixed["std_error"], a.fixed["std_error"], rtol=1e-4)


@SETTINGS
@given(df=two_level_data(), c=st.floats(0.01, 100), reml=st.booleans())
def test_scaling_y_scales_estimates_by_c_and_variances_by_c_squared(df, c, reml):
    a = fit(FORMULA, df, reml=reml)
    b = fit(FORMULA, df.assign(y=df["y"] * c), reml=reml)
    np.testing.assert_allclose(
        b.fixed["estimate"], c * a.fixed["estimate"], rtol=1e-4, atol=1e-6 * c
    )
    assert b.sigma2 == pytest.approx(c**2 * a.sigma2, rel=1e-4)
    np.testing.assert_allclose(
        b.tau.to_numpy(), c**2 * a.tau.to_numpy(), rtol=1e-3, atol=1e-6 * c**2
    )
    # The deviance shifts by 2 (n or n - p) log c, a closed form.
    m = a.n_obs - (len(a.fixed) if reml else 0)
    assert b.deviance == pytest.approx(a.deviance + 2 * m * np.log(c), abs=1e-5)


@SETTINGS
@given(df=two_level_data(), perm_seed=st.integers(0, 1000))
def test_permuting_rows_and_relabelling_groups_changes_nothing(df, perm_seed):
    a = fit("y ~ x + (1 + x | g)", df)
    rng = np.random.default_rng(perm_seed)
    shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    old_labels = df["g"].unique()
    new_order = rng.permutation(len(old_labels))
    labels = {old: f"group-{new}" for old, new in zip(old_labels, new_order, strict=True)}
    shuffled["g"] = shuffled["g"].map(labels)
    b = fit("y ~ x + (1 + x | g)", shuffled)
    assert b.deviance == pytest.approx(a.deviance, abs=1e-6)
    np.testing.assert_allclose(b.fixed["estimate"], a.fixed["estimate"], rtol=1e-5, atol=1e-8)
    # The same group's random effects, whatever its label and row order.
    ra = a.ranef().rename(index=labels).sort_index()
    rb = b.ranef().sort_index()
    np.testing.assert_allclose(
        rb.to_numpy(), ra.to_numpy(), atol=1e-4 * max(1, np.abs(ra.to_numpy()).max())
    )


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    J=st.integers(3, 15),
    n=st.integers(2, 10),
    sd_u=st.floats(0.0, 3.0),
)
def test_balanced_one_way_design_matches_the_anova_estimators(seed, J, n, sd_u):
    """REML equals the method-of-moments (ANOVA) estimators when these are positive.

    sigma2_e = MSW, sigma2_u0 = (MSB - MSW) / n, and the REML standard error of the
    mean is sqrt(MSB / (J n)) (e.g. Searle, Casella & McCulloch 1992, ch. 3).
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    y = 5 + rng.normal(scale=sd_u, size=J)[g] + rng.normal(size=J * n)
    df = pd.DataFrame({"y": y, "g": g})
    means = df.groupby("g")["y"].mean().to_numpy()
    msb = n * np.sum((means - y.mean()) ** 2) / (J - 1)
    msw = np.sum((y - means[g]) ** 2) / (J * (n - 1))
    assume(msb > msw * 1.05)  # the ANOVA estimate of the variance is positive
    m = fit("y ~ 1 + (1 | g)", df, reml=True)
    assert m.sigma2 == pytest.approx(msw, rel=1e-5)
    assert m.tau.iloc[0, 0] == pytest.approx((msb - msw) / n, rel=1e-4)
    assert m.fixed.loc["Intercept", "estimate"] == pytest.approx(y.mean(), rel=1e-9, abs=1e-9)
    assert m.fixed.loc["Intercept", "std_error"] == pytest.approx(np.sqrt(msb / (J * n)), rel=1e-4)
