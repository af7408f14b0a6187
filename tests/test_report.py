"""helpers.report: several fitted models side by side."""

from __future__ import annotations

import pytest

import helpers as hp


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


def test_model_table_of_glmms_has_no_residual_variance(pop):
    binary = hp.load_dataset("sim_binary")
    g = hp.fit_glmm("y ~ x + (1 | group)", binary, family="binomial")
    m = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    glmm_rows = hp.model_table(g).loc["Random part"].index
    assert list(glmm_rows) == ["var(Intercept)"]  # a GLMM has no sigma2_e (its sigma2 is 1)
    assert hp.model_table(g).loc[("Model fit", "Deviance"), "M0"] == f"{-2 * g.loglik:.1f}"
    lmm_rows = hp.model_table(m).loc["Random part"]
    assert lmm_rows.loc["sigma2_e (residual)", "M0"] == f"{m.sigma2:.3f}"
    with pytest.raises(TypeError, match="digits must be a whole number"):
        hp.model_table(m, digits=2.5)
    with pytest.raises(ValueError, match="digits must be >= 0"):
        hp.model_table(m, digits=-1)


def test_model_table_carries_the_df_of_each_fixed_effect(pop):
    m0 = hp.fit_lmm("popular ~ 1 + (1 | class)", pop)
    m1 = hp.fit_lmm("popular ~ extrav + texp + (1 | class)", pop)
    table = hp.model_table({"empty": m0, "full": m1})
    df_rows = table.loc["Fixed-effect df"]
    # the Satterthwaite df of fit.fixed, one decimal; blank where the term is absent
    for term, value in m1.fixed["df"].items():
        assert df_rows.loc[term, "full"] == f"{value:.1f}"
    assert df_rows.loc["texp", "empty"] == ""
    parts = list(dict.fromkeys(table.index.get_level_values("part")))
    assert parts == ["Fixed part", "Fixed-effect df", "Random part", "Model fit"]
    assert "Fixed-effect df" not in hp.model_table(m1, df=False).index.get_level_values(0)
    binary = hp.load_dataset("sim_binary")
    g = hp.fit_glmm("y ~ x + (1 | group)", binary, family="binomial")
    assert (hp.model_table(g).loc["Fixed-effect df", "M0"] == "\u221e").all()  # z tests
    with pytest.raises(TypeError, match="df must be True or False"):
        hp.model_table(m1, df="yes")
