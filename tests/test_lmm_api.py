"""helpers.fit_lmm: the result object, bad input, boundary fits, closed forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp
from helpers import lmm


@pytest.fixture(scope="module")
def final(pop):
    return hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", pop)


# ------------------------------------------------------------------ the result object


def test_result_object_has_the_documented_shape(final, pop):
    assert list(final.fixed.columns) == [
        "estimate",
        "std_error",
        "df",
        "statistic",
        "p_value",
        "ci_lower",
        "ci_upper",
    ]
    assert list(final.fixed.index) == ["Intercept", "extrav", "gender", "texp", "extrav:texp"]
    assert list(final.tau.index) == ["Intercept", "extrav"] == list(final.tau.columns)
    assert final.n_obs == len(pop) and final.n_groups == 100
    assert final.converged and not final.singular
    assert final.n_params == 5 + 3 + 1
    # Wald columns follow from estimate, standard error and df (t reference).
    f = final.fixed
    assert np.all((f["df"] > 1) & np.isfinite(f["df"]))
    np.testing.assert_allclose(f["statistic"], f["estimate"] / f["std_error"])
    np.testing.assert_allclose(f["p_value"], 2 * scipy.stats.t.sf(np.abs(f["statistic"]), f["df"]))
    np.testing.assert_allclose(
        f["ci_upper"] - f["ci_lower"], 2 * scipy.stats.t.ppf(0.975, f["df"]) * f["std_error"]
    )
    # The normal reference is ddf="z" (df infinite).
    z = final.wald(ddf="z")
    assert np.all(np.isinf(z["df"]))
    np.testing.assert_allclose(z["p_value"], 2 * scipy.stats.norm.sf(np.abs(z["statistic"])))
    np.testing.assert_allclose(
        z["ci_upper"] - z["ci_lower"], 2 * 1.959963984540054 * z["std_error"]
    )


def test_coef_is_fixed_plus_random(final):
    coef, ranef = final.coef(), final.ranef()
    np.testing.assert_allclose(
        coef["extrav"], final.fixed.loc["extrav", "estimate"] + ranef["extrav"]
    )
    np.testing.assert_allclose(coef["texp"], final.fixed.loc["texp", "estimate"])
    assert list(ranef.index) == list(range(1, 101))


def test_fitted_residuals_predict_agree(final, pop):
    fitted = final.fitted()
    np.testing.assert_allclose(final.residuals(), pop["popular"] - fitted)
    np.testing.assert_allclose(final.predict(pop), fitted)
    # Without random effects: the fixed part only.
    fixed_only = final.predict(pop, include_random=False)
    X = np.column_stack(
        [np.ones(len(pop)), pop.extrav, pop.gender, pop.texp, pop.extrav * pop.texp]
    )
    np.testing.assert_allclose(fixed_only, X @ final.fixed["estimate"].to_numpy())


def test_predict_for_a_new_group_uses_the_fixed_part_and_warns(final, pop):
    new = pop.head(3).copy()
    new["class"] = 999
    with pytest.warns(UserWarning, match="groups not in the fit"):
        pred = final.predict(new)
    np.testing.assert_allclose(pred, final.predict(new, include_random=False))


def test_reliability_closed_form_for_random_intercept(pop):
    m = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    n = m.group_sizes()
    t00 = m.tau.iloc[0, 0]
    expected = t00 / (t00 + m.sigma2 / n)
    np.testing.assert_allclose(m.reliability()["Intercept"], expected)


def test_reliability_for_random_slopes_uses_the_group_design(final, pop):
    g = pop[pop["class"] == 7]
    Z = np.column_stack([np.ones(len(g)), g["extrav"]])
    d = np.diag(np.linalg.inv(Z.T @ Z))
    tau = np.diag(final.tau.to_numpy())
    np.testing.assert_allclose(
        final.reliability().loc[7].to_numpy(), tau / (tau + final.sigma2 * d)
    )


def test_summary_and_html(final):
    s = final.summary()
    assert ("Fixed part", "extrav:texp") in s.index
    assert ("Random part", "sigma2_e") in s.index
    assert s.loc[("Model fit", "REML criterion"), "estimate"] == pytest.approx(final.deviance)
    assert "Linear mixed model fit by REML" in repr(final)
    assert "<table" in final._repr_html_()
    # rows without a standard error say so with a dash, never "NaN"
    assert s.loc[("Fixed part", "extrav"), "std_error"] == pytest.approx(
        final.fixed.loc["extrav", "std_error"]
    )
    no_se = s.loc[["Random part", "Model fit"], "std_error"]
    assert len(no_se) == len(final.random_part()) + 3 and (no_se == "\u2014").all()
    # the fixed part carries the df of its tests (Satterthwaite, as ``fixed``)
    df = s.loc["Fixed part", "df"].astype(float)
    np.testing.assert_array_equal(df.to_numpy(), final.fixed["df"].to_numpy())
    assert (s.loc[["Random part", "Model fit"], "df"] == "\u2014").all()
    assert "NaN" not in repr(final) and "NaN" not in s.to_html()


# ----------------------------------------------------------------------- bad input


def test_non_numeric_outcome(pop):
    df = pop.assign(label=np.where(pop["popular"] > 5, "high", "low"))
    with pytest.raises(TypeError, match="outcome 'label' must be numeric"):
        hp.fit_lmm("label ~ extrav + (1 | class)", df)


def test_missing_values_raise_by_default_and_drop_on_request(pop):
    df = pop.copy()
    df.loc[[3, 10, 11], "extrav"] = np.nan
    with pytest.raises(ValueError, match=r"'extrav' \(3 missing\).*missing='drop'"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df)
    with pytest.warns(UserWarning, match="3 of 2057 rows dropped"):
        m = hp.fit_lmm("popular ~ extrav + (1 | class)", df, missing="drop")
    assert m.n_obs == 2054 and m.n_dropped == 3
    # Missing values in an unused column change nothing.
    df2 = pop.assign(unused=np.nan)
    assert hp.fit_lmm("popular ~ extrav + (1 | class)", df2).n_obs == 2057


def test_missing_group_labels(pop):
    df = pop.copy()
    df["class"] = df["class"].astype(float)
    df.loc[[0, 1], "class"] = np.nan
    with pytest.raises(ValueError, match="grouping column 'class' has 2 missing label"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df)


def test_fewer_than_two_groups(pop):
    one = pop[pop["class"] == 1]
    with pytest.raises(ValueError, match="at least 2"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", one)


def test_rank_deficient_design_names_the_aliased_term(pop):
    df = pop.assign(texp2=pop["texp"] * 2.0)
    with pytest.raises(ValueError, match="rank deficient: 'texp2'"):
        hp.fit_lmm("popular ~ extrav + texp + texp2 + (1 | class)", df)


def test_random_slope_of_a_group_level_variable_is_refused(pop):
    with pytest.raises(ValueError, match="'texp' is constant within every group"):
        hp.fit_lmm("popular ~ extrav + texp + (1 + texp | class)", pop)


def test_data_must_be_a_dataframe(pop):
    with pytest.raises(TypeError, match="pandas DataFrame"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", pop.to_dict())
    with pytest.raises(ValueError, match="missing must be"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", pop, missing="ignore")


# ----------------------------------------------------------- boundary and convergence


def test_zero_between_group_variance_is_a_singular_fit_not_an_error():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"g": np.repeat(np.arange(10), 5), "x": rng.normal(size=50)})
    # Outcome with group means forced equal: the estimated variance is exactly 0.
    e = rng.normal(size=50)
    e -= pd.Series(e).groupby(df["g"]).transform("mean").to_numpy()
    df["y"] = 1.0 + e
    with pytest.warns(hp.SingularFitWarning, match="variance of 'Intercept' is zero"):
        m = hp.fit_lmm("y ~ 1 + (1 | g)", df)
    assert m.singular and m.tau.iloc[0, 0] == pytest.approx(0, abs=1e-10)
    # With no between-group variance the model is OLS: same estimate and variance.
    assert m.fixed.loc["Intercept", "estimate"] == pytest.approx(df["y"].mean())
    assert m.sigma2 == pytest.approx(df["y"].var(ddof=1))


def test_non_convergence_is_reported_not_raised(pop, monkeypatch):
    real = lmm.optimize

    def stalled(stats, tmap, reml, theta0):
        return dataclasses.replace(real(stats, tmap, reml, theta0), converged=False)

    monkeypatch.setattr(lmm, "optimize", stalled)
    with pytest.warns(hp.ConvergenceWarning, match="did not confirm an optimum"):
        m = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    assert m.converged is False
    assert "NOT CONVERGED" in repr(m)
