"""fit_by_group: exact fits are flagged, intervals use t quantiles with the group's df.

Independent sources: statsmodels OLS fitted to each group separately, and closed forms
(a straight line through three collinear points has residual variance zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.formula.api as smf

import helpers as hp


@pytest.fixture(scope="module")
def small():
    return hp.load_dataset("popularity_small")


def test_intervals_match_statsmodels_ols_in_every_group(small):
    table = hp.fit_by_group("popular ~ extrav + gender", small, group="class")
    ok = table[table["status"] == "ok"]
    assert len(ok) > 40
    # Groups with 1 or 2 residual df are where t and normal quantiles differ most.
    assert (ok["df_resid"] <= 2).any()
    for label, row in ok.iterrows():
        fit = smf.ols("popular ~ extrav + gender", small[small["class"] == label]).fit()
        ci = fit.conf_int(alpha=0.05)
        assert row["df_resid"] == fit.df_resid
        for term in ["Intercept", "extrav", "gender"]:
            np.testing.assert_allclose(row[term], fit.params[term], rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(row[f"se_{term}"], fit.bse[term], rtol=1e-8)
            np.testing.assert_allclose(row[f"ci_lower_{term}"], ci.loc[term, 0], rtol=1e-8)
            np.testing.assert_allclose(row[f"ci_upper_{term}"], ci.loc[term, 1], rtol=1e-8)


def test_interval_level_uses_the_t_quantile_of_the_group_df():
    # Closed form: for an intercept-only model in a group of n values, the interval is
    # mean ± t_{n-1, (1+level)/2} · s / sqrt(n).
    d = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0, 7.0, 5.0, 6.0], "g": [1, 1, 1, 2, 2, 2, 2]})
    table = hp.fit_by_group("y ~ 1", d, group="g", level=0.9)
    for label, part in d.groupby("g"):
        y = part["y"].to_numpy()
        n = len(y)
        half = scipy.stats.t.ppf(0.95, n - 1) * y.std(ddof=1) / np.sqrt(n)
        assert table.loc[label, "df_resid"] == n - 1
        np.testing.assert_allclose(table.loc[label, "ci_lower_Intercept"], y.mean() - half)
        np.testing.assert_allclose(table.loc[label, "ci_upper_Intercept"], y.mean() + half)


def test_exact_fit_is_flagged_and_not_used_for_inference():
    # Group 1: y = 1 + 2x exactly, four points and two coefficients (2 residual df).
    # Group 2: the same line plus noise.
    x = np.array([0.0, 1.0, 2.0, 3.0])
    d = pd.DataFrame(
        {
            "x": np.r_[x, x],
            "y": np.r_[1 + 2 * x, 1 + 2 * x + np.array([0.3, -0.2, 0.1, -0.4])],
            "g": ["a"] * 4 + ["b"] * 4,
        }
    )
    table = hp.fit_by_group("y ~ x", d, group="g")
    exact = table.loc["a"]
    assert exact["status"].startswith("exact fit")
    np.testing.assert_allclose(exact[["Intercept", "x"]].to_numpy(float), [1.0, 2.0])
    assert exact["sigma2"] < 1e-20
    for col in ["se_Intercept", "se_x", "ci_lower_x", "ci_upper_x"]:
        assert np.isnan(exact[col])
    assert table.loc["b", "status"] == "ok"
    assert np.isfinite(table.loc["b", ["se_x", "ci_lower_x", "ci_upper_x"]].astype(float)).all()


def test_exact_fits_in_the_book_data_are_flagged(small):
    # In popularity_small some classes of 4 pupils (3 coefficients, 1 residual df) lie
    # exactly on their fitted plane: popularity is recorded to one decimal.
    table = hp.fit_by_group("popular ~ extrav + gender", small, group="class")
    exact = table[table["status"].str.startswith("exact fit")]
    assert len(exact) >= 1
    assert (exact["df_resid"] >= 1).all()
    assert (exact["sigma2"] < 1e-20).all()
    assert exact["se_extrav"].isna().all()
    # No group marked "ok" has a residual variance at rounding level.
    ok = table[table["status"] == "ok"]
    assert (ok["sigma2"] > 1e-6).all()


def test_groups_without_residual_df_stay_unfitted(small):
    table = hp.fit_by_group("popular ~ extrav + gender", small, group="class")
    none_left = table[table["df_resid"] <= 0]
    assert len(none_left) > 0
    assert none_left["status"].str.startswith("too small").all()
    assert none_left[["extrav", "ci_lower_extrav", "ci_upper_extrav"]].isna().all().all()


@pytest.mark.parametrize("level", [0, 1, 95, "0.95", True])
def test_level_is_validated(small, level):
    with pytest.raises(ValueError, match="level must be a number between 0 and 1"):
        hp.fit_by_group("popular ~ extrav", small, group="class", level=level)


def test_level_is_keyword_only(small):
    with pytest.raises(TypeError):
        hp.fit_by_group("popular ~ extrav", small, "class", "raise", 0.9)
