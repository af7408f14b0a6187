"""LmmFit.refit, LmmFit.simulate and hp.bootstrap.

Independent checks: a refit must give what a fresh fit_lmm gives on the data with
the new outcome, and on a balanced one-way design the REML estimates of a refit
equal the ANOVA (method-of-moments) estimators, sigma2_e = MSW and
sigma2_u0 = (MSB - MSW) / n (Searle, Casella & McCulloch 1992, ch. 3).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import helpers as hp

FINAL = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"


@pytest.fixture(scope="module")
def pop():
    return hp.load_dataset("popularity")


@pytest.fixture(scope="module")
def final(pop):
    return hp.fit_lmm(FINAL, pop)


def quiet_fit(formula, df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hp.fit_lmm(formula, df, **kw)


@pytest.mark.parametrize("reml", [True, False])
def test_refit_equals_a_fresh_fit_with_the_new_outcome(pop, reml):
    m = hp.fit_lmm(FINAL, pop, reml=reml)
    y = m.simulate(seed=3)[0]
    new = m.refit(y)
    fresh = hp.fit_lmm(FINAL, pop.assign(popular=y), reml=reml)
    assert new.reml == reml and new.formula == m.formula
    assert new.deviance == pytest.approx(fresh.deviance, abs=1e-7)
    np.testing.assert_allclose(new.fixed.to_numpy(), fresh.fixed.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(new.tau.to_numpy(), fresh.tau.to_numpy(), rtol=1e-4, atol=1e-8)
    assert new.sigma2 == pytest.approx(fresh.sigma2, rel=1e-6)
    np.testing.assert_allclose(new.ranef().to_numpy(), fresh.ranef().to_numpy(), atol=1e-5)
    np.testing.assert_allclose(new.fitted().to_numpy(), fresh.fitted().to_numpy(), atol=1e-5)
    # The original fit is untouched.
    assert m.deviance == pytest.approx(hp.fit_lmm(FINAL, pop, reml=reml).deviance, abs=1e-9)


def test_refit_matches_the_anova_estimators_on_a_balanced_design():
    rng = np.random.default_rng(11)
    J, n = 12, 6
    g = np.repeat(np.arange(J), n)
    df = pd.DataFrame({"g": g, "y": rng.normal(size=J * n)})
    m = quiet_fit("y ~ 1 + (1 | g)", df)
    y = 3 + rng.normal(scale=1.5, size=J)[g] + rng.normal(size=J * n)
    means = pd.Series(y).groupby(g).mean().to_numpy()
    msb = n * np.sum((means - y.mean()) ** 2) / (J - 1)
    msw = np.sum((y - means[g]) ** 2) / (J * (n - 1))
    assert msb > 1.05 * msw  # the ANOVA estimate of the variance is positive
    new = m.refit(y)
    assert new.sigma2 == pytest.approx(msw, rel=1e-6)
    assert new.tau.iloc[0, 0] == pytest.approx((msb - msw) / n, rel=1e-5)
    assert new.fixed.loc["Intercept", "estimate"] == pytest.approx(y.mean(), rel=1e-10)


def test_refit_accepts_a_series_and_checks_its_input(final, pop):
    y = pd.Series(final.simulate(seed=1)[0], index=pop.index)
    assert final.refit(y).deviance == pytest.approx(final.refit(y.to_numpy()).deviance)
    with pytest.raises(ValueError, match="2057"):
        final.refit(np.ones(10))
    with pytest.raises(ValueError, match="missing or infinite"):
        final.refit(np.where(np.arange(2057) == 5, np.nan, 1.0))
    with pytest.raises(TypeError, match="numbers"):
        final.refit(["a"] * 2057)


def test_simulate_is_seeded_and_has_the_fitted_variances(final, pop):
    a, b = final.simulate(3, seed=5), final.simulate(3, seed=5)
    assert a.shape == (3, final.n_obs)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, final.simulate(3, seed=6))
    # Var(y) = sigma2 + var of Z b over the rows (the data's own design), checked on
    # many draws: the residual variance of y around the fixed part matches.
    sims = final.simulate(400, seed=7)
    fixed_part = final.predict(include_random=False).to_numpy()
    spread = np.var(sims - fixed_part)
    tau = final.tau.to_numpy()
    Z = np.column_stack([np.ones(final.n_obs), pop["extrav"].to_numpy(float)])
    expected = final.sigma2 + np.mean(np.einsum("na,ab,nb->n", Z, tau, Z))
    assert spread == pytest.approx(expected, rel=0.03)


def test_bootstrap_is_deterministic_with_a_seed_and_tidy(final):
    a = hp.bootstrap(final, n=20, seed=42)
    b = hp.bootstrap(final, n=20, seed=42)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(hp.bootstrap(final, n=20, seed=43))
    assert a.index.name == "replicate" and len(a) == 20
    expected = list(final.fixed.index) + list(final.random_part().index)
    assert list(a.columns) == expected + ["deviance", "converged", "singular"]
    # Each replicate is a refit of one simulated outcome, drawn in turn from the seed.
    rng = np.random.default_rng(42)
    first = final.refit(final.simulate(seed=rng)[0])
    assert a.loc[0, "extrav"] == pytest.approx(first.fixed.loc["extrav", "estimate"])
    assert a.loc[0, "sigma2_e"] == pytest.approx(first.sigma2)


def test_bootstrap_spread_matches_the_model_based_standard_errors(pop):
    """For the fixed effects the bootstrap SD estimates the standard error."""
    m = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    boot = hp.bootstrap(m, n=200, seed=2)
    assert boot["converged"].all()
    for term in ("Intercept", "extrav"):
        assert boot[term].std() == pytest.approx(m.fixed.loc[term, "std_error"], rel=0.15)
        assert boot[term].mean() == pytest.approx(
            m.fixed.loc[term, "estimate"], abs=0.3 * m.fixed.loc[term, "std_error"]
        )


def test_bootstrap_input_checks(final):
    with pytest.raises(TypeError, match="fitted mixed model"):
        hp.bootstrap("model", n=10)
    with pytest.raises(ValueError, match="at least 1"):
        hp.bootstrap(final, n=0)
    with pytest.raises(TypeError, match="whole number"):
        hp.bootstrap(final, n=2.5)
    with pytest.raises(TypeError, match="seed"):
        hp.bootstrap(final, n=2, seed="one")


@pytest.mark.parametrize("shift, scale", [(1e7, 1.0), (0.0, 1e-6), (-3.0, 1e5)])
def test_refit_of_a_shifted_or_rescaled_outcome_equals_a_fresh_fit(pop, final, shift, scale):
    # The fit works in internal units chosen from the outcome; a refit must choose
    # them again for its own outcome, or a shifted outcome would be fitted badly.
    y = shift + scale * final.simulate(seed=5)[0]
    new = final.refit(y)
    fresh = hp.fit_lmm(FINAL, pop.assign(popular=y))
    assert new.deviance == pytest.approx(fresh.deviance, rel=1e-9, abs=1e-7)
    np.testing.assert_allclose(new.fixed["estimate"], fresh.fixed["estimate"], rtol=1e-6)
    np.testing.assert_allclose(new.tau.to_numpy(), fresh.tau.to_numpy(), rtol=1e-5, atol=0)


def test_refit_leaves_the_callers_array_writable_and_unchanged(final):
    y = final.simulate(seed=6)[0]
    before = y.copy()
    final.refit(y)
    assert y.flags.writeable
    np.testing.assert_array_equal(y, before)


def test_refit_names_an_outcome_constant_within_every_group(final):
    codes = final.group_codes
    with pytest.raises(ValueError, match="constant within every group of 'class'"):
        final.refit(codes.astype(float))


@pytest.mark.parametrize("reml", [True, False])
def test_bootstrap_rows_equal_full_refits_of_the_same_outcomes(pop, reml):
    """The bootstrap computes its rows without building result objects; each row must
    be what the full refit of the same simulated outcome reports (singular ones too)."""
    m = hp.fit_lmm(FINAL, pop, reml=reml)
    boot = hp.bootstrap(m, n=30, seed=9)
    outcomes = m.simulate(30, seed=9)  # the same draws, in the same order
    assert boot["singular"].any() or reml  # this seed includes singular refits (ML)
    for k in (0, 7, 29, *np.flatnonzero(boot["singular"].to_numpy())[:3]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = m.refit(outcomes[k])
        row = boot.loc[k]
        np.testing.assert_allclose(
            row[list(full.fixed.index)].to_numpy(float), full.fixed["estimate"], rtol=1e-12
        )
        part = full.random_part()["estimate"]
        np.testing.assert_allclose(
            row[list(part.index)].to_numpy(float), part.to_numpy(), rtol=1e-10, atol=1e-14
        )
        assert row["deviance"] == pytest.approx(full.deviance, rel=1e-13)
        assert row["singular"] == full.singular and row["converged"] == full.converged


def test_bootstrap_of_many_replicates_uses_batches_of_outcomes_without_change(final):
    """More replicates than one batch of simulated outcomes: the stream is unchanged."""
    from helpers import resample

    big = hp.bootstrap(final, n=5, seed=4)
    old = resample._BATCH
    try:
        resample._BATCH = 2
        small = hp.bootstrap(final, n=5, seed=4)
    finally:
        resample._BATCH = old
    pd.testing.assert_frame_equal(big, small)
