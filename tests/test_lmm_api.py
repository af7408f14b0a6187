"""helpers.fit_lmm and friends: the result object, bad input, boundary fits, closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp
from helpers import lmm


@pytest.fixture(scope="module")
def pop():
    return hp.load_dataset("popularity")


@pytest.fixture(scope="module")
def final(pop):
    return hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", pop)


@pytest.fixture(scope="module")
def sleep():
    return hp.load_dataset("sleepstudy")


# ------------------------------------------------------------------ the result object


def test_result_object_has_the_documented_shape(final, pop):
    assert list(final.fixed.columns) == [
        "estimate",
        "std_error",
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
    # Wald columns follow from estimate and standard error (normal reference).
    f = final.fixed
    np.testing.assert_allclose(f["statistic"], f["estimate"] / f["std_error"])
    np.testing.assert_allclose(f["p_value"], 2 * scipy.stats.norm.sf(np.abs(f["statistic"])))
    np.testing.assert_allclose(
        f["ci_upper"] - f["ci_lower"], 2 * 1.959963984540054 * f["std_error"]
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


def test_icc_and_design_effect(pop):
    m0 = hp.fit_lmm("popular ~ 1 + (1 | class)", pop)
    rho = hp.icc(m0)
    t00 = m0.tau.iloc[0, 0]
    assert rho == pytest.approx(t00 / (t00 + m0.sigma2))
    assert hp.design_effect(rho, 21) == pytest.approx(1 + 20 * rho)
    with pytest.raises(ValueError, match="correlation"):
        hp.design_effect(1.5, 20)
    with pytest.raises(ValueError, match="at least 1"):
        hp.design_effect(0.2, 0)


# ----------------------------------------------------------------------- compare


def test_compare_uses_the_mixture_for_one_variance_component(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pop, reml=False)
    table = hp.compare(m1, m0)  # order of arguments does not matter
    row = table.iloc[1]
    chisq = m0.deviance - m1.deviance
    assert row["df"] == 2 and row["chisq"] == pytest.approx(chisq)
    expected = 0.5 * scipy.stats.chi2.sf(chisq, 1) + 0.5 * scipy.stats.chi2.sf(chisq, 2)
    assert row["p_value"] == pytest.approx(expected)
    assert "mixture" in row["test"]


def test_compare_fixed_effects_uses_plain_chi2(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop, reml=False)
    row = hp.compare(m0, m1).iloc[1]
    assert row["test"] == "chi2(1)"
    assert row["p_value"] == pytest.approx(scipy.stats.chi2.sf(m0.deviance - m1.deviance, 1))


def test_compare_refuses_reml_fits_with_different_fixed_parts(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop)
    with pytest.raises(ValueError, match="REML fits with different fixed parts.*reml=False"):
        hp.compare(m0, m1)


def test_compare_refuses_different_data(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop.iloc[:-5], reml=False)
    with pytest.raises(ValueError, match="different data"):
        hp.compare(m0, m1)


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "formula, exc, message",
    [
        ("popular ~ extrav", hp.FormulaError, "no random part"),
        ("popular extrav + (1 | class)", hp.FormulaError, "exactly one '~'"),
        ("~ extrav + (1 | class)", hp.FormulaError, "no outcome"),
        ("popular ~ extrav + (1 | class", hp.FormulaError, "Unbalanced"),
        ("popular ~ extrav + (1 | class) + (1 | texp)", hp.FormulaError, "several grouping"),
        ("popular ~ extrav + ( | class)", hp.FormulaError, "nothing left of"),
        ("popular ~ extrav + (1 | class/texp)", hp.FormulaError, "single column name"),
        ("popular ~ extraversion + (1 | class)", KeyError, "'extraversion'.*Available columns"),
        ("popular ~ extrav + (1 | klass)", KeyError, "'klass'"),
    ],
)
def test_malformed_formulas_and_unknown_columns(pop, formula, exc, message):
    with pytest.raises(exc, match=message):
        hp.fit_lmm(formula, pop)


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
    real = lmm._optimize

    def stalled(fun, fun_grad, theta0, tmap):
        best, _, pg = real(fun, fun_grad, theta0, tmap)
        return best, False, pg + 1.0

    monkeypatch.setattr(lmm, "_optimize", stalled)
    with pytest.warns(hp.ConvergenceWarning, match="did not confirm an optimum"):
        m = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    assert m.converged is False
    assert "NOT CONVERGED" in repr(m)


# ------------------------------------------------------------------ formula features


def test_independent_terms_three_ways_agree(sleep):
    a = hp.fit_lmm("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep)
    b = hp.fit_lmm("Reaction ~ Days + (1 + Days || Subject)", sleep)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    assert a.tau.iloc[0, 1] == 0 and b.tau.iloc[0, 1] == 0
    assert not a.theta_is_free(0, 1)


def test_implicit_intercept_in_random_part(sleep):
    a = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep)
    b = hp.fit_lmm("Reaction ~ Days + (1 + Days | Subject)", sleep)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)


def test_categorical_and_star_terms():
    hsb = hp.load_dataset("hsb")
    m = hp.fit_lmm("mAch ~ meanses*cses + sector*cses + (1 + cses | school)", hsb)
    assert "sector[T.Catholic]" in m.fixed.index
    assert "meanses:cses" in m.fixed.index
    m2 = hp.fit_lmm("mAch ~ C(minrty) + (1 | school)", hsb)
    assert "C(minrty)[T.Yes]" in m2.fixed.index


def test_parse_formula():
    f = hp.parse_formula("y ~ a*b + (1 + a | g) + c")
    assert f.fixed == "y ~ a*b + c"
    assert f.group == "g" and f.random[0].expr == "1 + a"
    assert f.variables() == {"y", "a", "b", "c", "g"}


# -------------------------------------------------------------------------- OLS


def test_fit_ols_matches_numpy_least_squares(pop):
    o = hp.fit_ols("popular ~ extrav + gender + texp", pop)
    X = np.column_stack([np.ones(len(pop)), pop.extrav, pop.gender, pop.texp])
    beta, *_ = np.linalg.lstsq(X, pop["popular"].to_numpy(), rcond=None)
    np.testing.assert_allclose(o.fixed["estimate"], beta)
    resid = pop["popular"].to_numpy() - X @ beta
    assert o.sigma2 == pytest.approx(resid @ resid / (len(pop) - 4))
    assert o.n_params == 5  # intercept, three slopes, one error variance


def test_cluster_robust_standard_errors_are_larger_for_the_class_level_predictor(pop):
    naive = hp.fit_ols("popular ~ extrav + gender + texp", pop)
    robust = hp.fit_ols("popular ~ extrav + gender + texp", pop, cluster="class")
    np.testing.assert_allclose(naive.fixed["estimate"], robust.fixed["estimate"])
    assert robust.fixed.loc["texp", "std_error"] > 2 * naive.fixed.loc["texp", "std_error"]
    assert robust.n_clusters == 100


def test_fit_ols_refuses_random_parts(pop):
    with pytest.raises(ValueError, match="hp.fit_lmm"):
        hp.fit_ols("popular ~ extrav + (1 | class)", pop)


def test_fit_by_group_matches_separate_regressions(pop):
    table = hp.fit_by_group("popular ~ extrav + gender", pop, group="class")
    assert len(table) == 100 and (table["status"] == "ok").all()
    g = pop[pop["class"] == 17]
    X = np.column_stack([np.ones(len(g)), g.extrav, g.gender])
    beta, *_ = np.linalg.lstsq(X, g["popular"].to_numpy(), rcond=None)
    np.testing.assert_allclose(
        table.loc[17, ["Intercept", "extrav", "gender"]].to_numpy(float), beta
    )
    assert table.loc[17, "n"] == len(g)


def test_fit_by_group_explains_groups_it_cannot_fit():
    small = hp.load_dataset("popularity_small")
    table = hp.fit_by_group("popular ~ extrav + gender", small, group="class")
    too_small = table[table["n"] <= 3]
    assert len(too_small) > 0
    assert too_small["status"].str.startswith("too small").all()
    assert too_small["extrav"].isna().all()
    # A predictor constant inside a group (texp) cannot be separated from the intercept.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t2 = hp.fit_by_group("popular ~ texp", small, group="class")
    fittable_size = t2["n"] > 2
    assert t2.loc[fittable_size, "status"].str.contains("texp cannot be separated").all()
    assert t2.loc[~fittable_size, "status"].str.startswith("too small").all()


def test_fit_by_group_lists_its_terms(pop):
    table = hp.fit_by_group("popular ~ extrav * gender", pop, group="class")
    assert table.attrs["terms"] == ["Intercept", "extrav", "gender", "extrav:gender"]
    assert {"se_extrav:gender", "sigma2", "status", "n", "df_resid"} <= set(table.columns)


def test_book_style_uses_the_colour_blind_safe_palette():
    import matplotlib as mpl

    hp.use_book_style()
    colours = [c.lower() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours == [c.lower() for c in hp.OKABE_ITO.values()]
    assert len(set(colours)) == 8


def test_model_table_lays_out_models_side_by_side(pop):
    m0 = hp.fit_lmm("popular ~ 1 + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pop, reml=False)
    table = hp.model_table({"empty": m0, "slope": m1}, digits=2)
    assert list(table.columns) == ["empty", "slope"]
    est, se = m1.fixed.loc["extrav", ["estimate", "std_error"]]
    assert table.loc[("Fixed part", "extrav"), "slope"] == f"{est:.2f} ({se:.2f})"
    assert table.loc[("Fixed part", "extrav"), "empty"] == ""  # not in the empty model
    assert (
        table.loc[("Random part", "cov(Intercept, extrav)"), "slope"] == f"{m1.tau.iloc[0, 1]:.2f}"
    )
    assert table.loc[("Model fit", "Deviance"), "empty"] == f"{m0.deviance:.1f}"
    with pytest.raises(TypeError, match="not a fit from hp.fit_lmm"):
        hp.model_table([m0, "not a model"])


def test_model_table_never_puts_reml_aic_beside_ml_aic(pop):
    ml = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    reml = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=True)
    mixed = hp.model_table({"ML": ml, "REML": reml})
    fit_rows = mixed.loc["Model fit"]
    assert fit_rows.loc["AIC", "ML"] == f"{ml.aic:.1f}"
    assert fit_rows.loc["AIC", "REML"] == ""
    assert fit_rows.loc["BIC", "REML"] == ""
    assert not any("REML)" in t for t in fit_rows.index)
    only_reml = hp.model_table({"REML": reml}).loc["Model fit"]
    assert only_reml.loc["AIC (REML)", "REML"] == f"{reml.aic:.1f}"
    assert "AIC" not in only_reml.index
