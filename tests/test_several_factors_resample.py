"""refit, simulate, the bootstrap comparison and Wald intervals of fits with several
grouping factors.

Expected values are closed forms: the moments of simulated outcomes are those of the
fitted model (mean X beta; covariance tau_rater where two rows share only a rater,
tau_item where they share only an item, 0 where they share neither, and the sum plus
sigma^2 on the diagonal); a refit to the fitted data is the fit; a refit to a new
outcome is fit_lmm on that outcome; Wald intervals are estimate +/- z SE; bootstrap intervals are the quantiles of
hp.bootstrap's replicates with the same seed.
Data: the raters x items data of tests/reference/make_crossed_reference.R.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp
from helpers.confint import confint

DATA = Path(__file__).parent / "reference" / "crossed" / "raters.csv"
FORMULA = "score ~ 1 + (1 | rater) + (1 | item)"


@pytest.fixture(scope="module")
def raters():
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def fit(raters):
    return hp.fit_lmm(FORMULA, raters)


def test_simulate_has_the_fitted_moments(fit, raters):
    draws = fit.simulate(2000, seed=7)
    assert draws.shape == (2000, fit.n_obs)
    np.testing.assert_array_equal(draws[:3], fit.simulate(3, seed=7)[:3])  # seeded
    tau_r = float(fit.tau["rater"].iloc[0, 0])
    tau_i = float(fit.tau["item"].iloc[0, 0])
    total = tau_r + tau_i + fit.sigma2
    mean = draws.mean(axis=0)
    # each row's mean within 5 standard errors of X beta
    assert np.max(np.abs(mean - fit.beta[0])) < 5 * np.sqrt(total / 2000)
    C = np.cov(draws.T)
    r = raters["rater"].to_numpy()[:, None]
    i = raters["item"].to_numpy()[:, None]
    same_r, same_i = r == r.T, i == i.T
    off = ~np.eye(len(r), dtype=bool)
    assert np.mean(np.diag(C)) == pytest.approx(total, rel=0.03)
    assert np.mean(C[same_r & ~same_i]) == pytest.approx(tau_r, rel=0.1)
    assert np.mean(C[same_i & ~same_r]) == pytest.approx(tau_i, rel=0.1)
    assert abs(np.mean(C[off & ~same_r & ~same_i])) < 0.02 * total


def test_refit_to_the_fitted_outcome_is_the_fit(fit):
    again = fit.refit(fit.y)
    assert again.deviance == pytest.approx(fit.deviance, abs=1e-8)
    np.testing.assert_allclose(again.beta, fit.beta, rtol=1e-8)
    np.testing.assert_allclose(again.varcorr["vcov"], fit.varcorr["vcov"], rtol=1e-6)
    assert again.formula == fit.formula and again.reml == fit.reml


def test_refit_is_fit_lmm_on_the_new_outcome(fit, raters):
    y = fit.simulate(1, seed=3)[0]
    new = fit.refit(pd.Series(y, index=fit.row_index))
    direct = hp.fit_lmm(FORMULA, raters.assign(score=y))
    assert new.deviance == pytest.approx(direct.deviance, abs=1e-8)
    np.testing.assert_allclose(new.beta, direct.beta, rtol=1e-8)
    np.testing.assert_allclose(new.fixed["df"], direct.fixed["df"], rtol=1e-6)
    assert fit.deviance != pytest.approx(new.deviance)  # the fit itself is unchanged


def test_refit_and_simulate_check_their_input(fit):
    with pytest.raises(ValueError, match=f"one outcome value per row of the fit \\({fit.n_obs}\\)"):
        fit.refit(fit.y[:-1])
    y = np.array(fit.y)
    y[4] = np.nan
    with pytest.raises(ValueError, match="1 missing or infinite"):
        fit.refit(y)
    with pytest.raises(ValueError, match="n"):
        fit.simulate(0)


def test_bootstrap_compare_of_a_crossed_model(raters):
    small = raters[(raters.rater <= 10) & (raters.item <= 12)].reset_index(drop=True)
    m0 = hp.fit_lmm("score ~ 1 + (1 | rater)", small, reml=False)
    m1 = hp.fit_lmm(FORMULA, small, reml=False)
    chi2 = hp.compare(m0, m1)
    assert chi2["test"].iloc[1] == "mixture chi2(0):chi2(1) 50:50"
    assert chi2["chisq"].iloc[1] == pytest.approx(m0.deviance - m1.deviance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        boot = hp.compare(m0, m1, method="bootstrap", n=9, seed=1)
    used = int(boot["test"].iloc[1].split("(")[1].split()[0])
    assert boot["test"].iloc[1] == f"parametric bootstrap ({used} samples)" and used >= 8
    p = boot["p_value"].iloc[1]
    assert 0 < p <= 1 and (p * (used + 1)) == pytest.approx(round(p * (used + 1)))
    pd.testing.assert_series_equal(boot["chisq"], chi2["chisq"])


def test_compare_refuses_what_is_not_nested(raters):
    d = raters.assign(block=raters["item"] % 5)  # items in 5 blocks
    a = hp.fit_lmm("score ~ 1 + (1 | item)", d, reml=False)
    b = hp.fit_lmm("score ~ 1 + (1 | rater) + (1 | block)", d, reml=False)
    with pytest.raises(ValueError, match="grouping factor 'item' is not a grouping factor"):
        hp.compare(a, b)
    other = hp.fit_lmm(FORMULA, d.assign(score=d["score"] + 1), reml=False)
    with pytest.raises(ValueError, match="the outcome values differ"):
        hp.compare(a, other)


def test_wald_intervals_and_what_confint_refuses(fit):
    ci = fit.confint(method="wald", level=0.9)
    assert list(ci.index) == ["sd(Intercept | item)", "sd(Intercept | rater)", "sigma"] + [
        "Intercept"
    ]
    z = fit.wald(ddf="z", level=0.9)
    np.testing.assert_allclose(ci.loc[fit.fixed_names, "ci_lower"], z["ci_lower"])
    half = scipy.stats.norm.ppf(0.95) * fit.fixed["std_error"]
    np.testing.assert_allclose(ci.loc[fit.fixed_names, "ci_upper"] - z["estimate"], half)
    vc = fit.varcorr.set_index("grp")["sdcor"]
    np.testing.assert_allclose(ci["estimate"].iloc[:3], vc[["item", "rater", "Residual"]])
    wide = fit.confint(method="wald", level=0.95)
    ratio = (wide["ci_upper"] - wide["estimate"]) / (ci["ci_upper"] - ci["estimate"])
    np.testing.assert_allclose(ratio, scipy.stats.norm.ppf(0.975) / scipy.stats.norm.ppf(0.95))
    with pytest.raises(ValueError, match="does not use them"):
        fit.confint(method="wald", n=10)


def test_wald_is_nan_for_the_random_part_of_a_singular_fit():
    d = pd.read_csv(DATA.parent / "singular.csv")
    with pytest.warns(hp.SingularFitWarning):
        m = hp.fit_lmm("score ~ 1 + (1 | rater) + (1 | item) + (1 | session)", d)
    ci = m.confint(method="wald")
    assert ci.loc[ci.index.str.startswith(("sd(", "sigma")), "ci_lower"].isna().all()
    with pytest.warns(hp.SingularFitWarning, match="session"):  # refit warns as fit_lmm
        m.refit(m.y)
    assert ci.loc["Intercept"].notna().all()


def test_confint_function_takes_a_fit_with_several_factors(fit):
    pd.testing.assert_frame_equal(confint(fit, method="wald"), fit.confint(method="wald"))


def test_bootstrap_intervals_are_quantiles_of_the_replicates(raters):
    small = raters[(raters.rater <= 10) & (raters.item <= 12)].reset_index(drop=True)
    m = hp.fit_lmm(FORMULA, small)
    ci = m.confint(method="bootstrap", n=8, seed=3, level=0.8)
    boot = hp.bootstrap(m, 8, seed=3)
    expected = {
        "sd(Intercept | item)": np.sqrt(boot["item: sigma2_u0"]),
        "sd(Intercept | rater)": np.sqrt(boot["rater: sigma2_u0"]),
        "sigma": np.sqrt(boot["sigma2_e"]),
        "Intercept": boot["Intercept"],
    }
    assert list(ci.index) == list(expected)
    for name, values in expected.items():
        lo, hi = np.quantile(values, [0.1, 0.9])
        assert ci.loc[name, "ci_lower"] == pytest.approx(lo)
        assert ci.loc[name, "ci_upper"] == pytest.approx(hi)
    pd.testing.assert_series_equal(ci["estimate"], m.confint(method="wald")["estimate"])
