"""hp.fit_glmm: the result API, predictions, compare/icc, warnings and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.special
import scipy.stats

import helpers as hp
from helpers import FormulaError


@pytest.fixture(scope="module")
def m_contra(contra):
    return hp.fit_glmm("use ~ age + urban + (1 | district)", contra, family="binomial")


# ------------------------------------------------------------------------------ the API


def test_is_a_mixed_fit_with_the_shared_api(m_contra, contra):
    m = m_contra
    assert isinstance(m, hp.MixedFit) and isinstance(m, hp.GlmmFit)
    assert list(m.fixed.columns) == [
        "estimate",
        "std_error",
        "df",
        "statistic",
        "p_value",
        "ci_lower",
        "ci_upper",
    ]
    assert list(m.fixed.index) == ["Intercept", "age", "urban[T.Y]"]
    assert m.n_params == 4 and m.reml is False and m.sigma2 == 1.0
    assert m.deviance == pytest.approx(-2 * m.loglik)
    assert m.aic == pytest.approx(m.deviance + 8)
    assert m.bic == pytest.approx(m.deviance + np.log(1934) * 4)
    assert m.ranef().shape == (60, 1) and m.ranef_sd().shape == (60, 1)
    coef = m.coef()
    np.testing.assert_allclose(
        coef["Intercept"], m.fixed.loc["Intercept", "estimate"] + m.ranef()["Intercept"]
    )
    assert m.y.shape == (1934,) and set(np.unique(m.y)) == {0.0, 1.0}
    assert m.y.sum() == (contra["use"] == "Y").sum()  # "Y" is success, as in R
    with pytest.raises(ValueError):
        m.y[0] = 3.0  # the design view is read-only
    assert "Random part" in m.summary().index.get_level_values(0)
    assert (m.summary().loc["Fixed part", "df"] == np.inf).all()  # z tests
    assert "sigma2_e" not in m.random_part().index
    assert "binomial, logit link" in repr(m) and "Laplace" in repr(m)
    assert "<table" in m._repr_html_()


def test_fitted_and_predict_scales(m_contra, contra):
    m = m_contra
    eta = m.fitted(type="link")
    mu = m.fitted()  # response scale by default
    np.testing.assert_allclose(mu, scipy.special.expit(eta))
    beta = m.fixed["estimate"].to_numpy()
    b = m.ranef()["Intercept"].reindex(contra["district"]).to_numpy()
    np.testing.assert_allclose(eta, m.X @ beta + b)
    np.testing.assert_allclose(m.predict(contra), eta)  # link scale by default, as lme4
    np.testing.assert_allclose(m.predict(contra, type="response"), mu)
    np.testing.assert_allclose(m.predict(contra, include_random=False), m.X @ beta)
    np.testing.assert_allclose(m.predict(include_random=False), m.X @ beta)
    new = contra.iloc[:3].assign(district=[1, 2, 999])
    with pytest.warns(UserWarning, match="1 row"):
        p = m.predict(new)
    assert p.iloc[2] == pytest.approx(m.X[2] @ beta)
    with pytest.raises(ValueError, match="'link' or 'response'"):
        m.predict(contra, type="probability")
    with pytest.raises(ValueError, match="'link' or 'response'"):
        m.fitted(type="mu")


def test_icc_on_the_latent_scale(m_contra, contra):
    t00 = float(m_contra.tau.iloc[0, 0])
    assert m_contra.icc() == pytest.approx(t00 / (t00 + np.pi**2 / 3))
    assert hp.icc(m_contra) == m_contra.icc()
    probit = hp.fit_glmm("use ~ age + urban + (1 | district)", contra, link="probit")
    t00 = float(probit.tau.iloc[0, 0])
    assert probit.icc() == pytest.approx(t00 / (t00 + 1.0))


def test_poisson_offset_and_predictions(counts):
    m = hp.fit_glmm("count ~ x + offset(np.log(exposure)) + (1 | group)", counts, family="poisson")
    np.testing.assert_allclose(m.offset, np.log(counts["exposure"]))
    beta = m.fixed["estimate"].to_numpy()
    np.testing.assert_allclose(
        m.predict(counts, include_random=False), np.log(counts["exposure"]) + m.X @ beta
    )
    np.testing.assert_allclose(m.predict(counts, type="response"), m.fitted())
    with pytest.raises(ValueError, match="binomial models only"):
        m.icc()


def test_compare_nested_glmms_with_the_boundary_mixture(binary):
    m0 = hp.fit_glmm("y ~ x + z + (1 | group)", binary)
    m1 = hp.fit_glmm("y ~ x + z + (1 + x | group)", binary)
    table = hp.compare(m0, m1)
    assert list(table["npar"]) == [4, 6]
    chisq = m0.deviance - m1.deviance
    assert table["chisq"].iloc[1] == pytest.approx(chisq)
    # One added random term (variance + covariance): 50:50 mixture of chi2(1) and chi2(2).
    import scipy.stats

    p = 0.5 * scipy.stats.chi2.sf(chisq, 1) + 0.5 * scipy.stats.chi2.sf(chisq, 2)
    assert table["p_value"].iloc[1] == pytest.approx(p)
    assert table["test"].iloc[1].startswith("mixture")
    # Fixed-effect test: plain chi-square.
    m2 = hp.fit_glmm("y ~ x + (1 | group)", binary)
    t2 = hp.compare(m2, m0)
    assert t2["test"].iloc[1] == "chi2(1)"


def test_compare_refuses_mixed_families(counts):
    a = hp.fit_glmm("count ~ x + offset(np.log(exposure)) + (1 | group)", counts, family="poisson")
    b = hp.fit_lmm("count ~ x + (1 | group)", counts, reml=False)
    with pytest.raises(ValueError, match="different families"):
        hp.compare(a, b)


def test_weights_and_cbind_give_the_same_fit(counts):
    cb = hp.fit_glmm("cbind(successes, trials - successes) ~ x + (1 | group)", counts)
    prop = counts.assign(prop=counts["successes"] / counts["trials"])
    pw = hp.fit_glmm("prop ~ x + (1 | group)", prop, weights="trials")
    pa = hp.fit_glmm("prop ~ x + (1 | group)", prop, weights=prop["trials"].to_numpy())
    for other in (pw, pa):
        assert other.loglik == pytest.approx(cb.loglik, abs=1e-8)
        np.testing.assert_allclose(other.fixed["estimate"], cb.fixed["estimate"], rtol=1e-6)
    np.testing.assert_allclose(cb.weights, counts["trials"])


def test_input_frame_is_not_modified(contra):
    before = contra.copy()
    hp.fit_glmm("use ~ age + (1 | district)", contra)
    pd.testing.assert_frame_equal(contra, before)


def test_duplicate_index_and_missing_drop(binary):
    df = binary.copy()
    df.index = np.repeat(np.arange(len(df) // 2 + 1), 2)[: len(df)]
    df.loc[df.index[:4], "x"] = np.nan  # four rows of two index labels
    with pytest.raises(ValueError, match="'x' \\(4 missing\\)"):
        hp.fit_glmm("y ~ x + (1 | group)", df)
    with pytest.warns(UserWarning, match="4 of 2043 rows dropped"):
        m = hp.fit_glmm("y ~ x + (1 | group)", df, missing="drop")
    assert m.n_obs == 2039 and m.n_dropped == 4 and len(m.fitted()) == 2039


def test_a_group_with_identical_outcomes_is_fine(binary):
    df = binary.copy()
    first = df["group"] == df["group"].iloc[0]
    df.loc[first, "y"] = 1
    other = df["group"] == 2
    df.loc[other, "y"] = 0
    m = hp.fit_glmm("y ~ x + (1 | group)", df)
    assert m.converged
    re = m.ranef()["Intercept"]
    assert re.iloc[0] > 0 > re.loc[2]  # shrunk towards 0, finite
    assert np.isfinite(re).all()


def test_singular_fit_warns(binary):
    rng = np.random.default_rng(3)
    df = binary.assign(noise=rng.integers(1, 40, len(binary)))
    with pytest.warns(hp.SingularFitWarning, match="variance of 'Intercept' is zero"):
        m = hp.fit_glmm("y ~ x + z + (1 | noise)", df)
    assert m.singular and m.theta[0] < 1e-4


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("outcome", "kwargs", "error", "match"),
    [
        (np.r_[0, 1, 2], {}, ValueError, "outside \\[0, 1\\]"),
        (np.r_[0, 0.5, 1], {}, ValueError, "strictly between 0 and 1.*weights="),
        (np.r_[0, 1, -1], {"family": "poisson"}, ValueError, "negative"),
        (np.r_[0, 1.5, 3], {"family": "poisson"}, ValueError, "whole number.*offset"),
    ],
)
def test_bad_outcomes(binary, outcome, kwargs, error, match):
    df = binary.assign(yy=np.resize(outcome, len(binary)))
    with pytest.raises(error, match=match):
        hp.fit_glmm("yy ~ x + (1 | group)", df, **kwargs)


def test_proportion_weights_must_give_whole_successes(counts):
    df = counts.assign(prop=counts["successes"] / counts["trials"])
    with pytest.raises(ValueError, match="whole numbers of successes"):
        hp.fit_glmm("prop ~ x + (1 | group)", df, weights=df["trials"] + 0.5)


def test_three_category_outcome(contra):
    with pytest.raises(ValueError, match="4 categories"):
        hp.fit_glmm("livch ~ age + (1 | district)", contra)


def test_perfect_separation_is_detected_and_named(binary):
    df = binary.assign(sep=np.where(binary["y"] == 1, 1.0, -1.0) * (1 + binary["x"].abs()))
    with pytest.raises(hp.PerfectSeparationError, match="'sep'"):
        hp.fit_glmm("y ~ x + sep + (1 | group)", df)
    cat = binary.assign(c=np.where(binary["y"] == 1, "a", np.where(binary["x"] > 0, "b", "c")))
    with pytest.raises(hp.PerfectSeparationError, match="Perfect separation"):
        hp.fit_glmm("y ~ C(c) + (1 | group)", cat)


def test_nagq_needs_a_scalar_random_intercept(binary):
    with pytest.raises(ValueError, match="single scalar random intercept.*nagq=1"):
        hp.fit_glmm("y ~ x + (1 + x | group)", binary, nagq=10)
    with pytest.raises(ValueError, match="single scalar random intercept"):
        hp.fit_glmm("y ~ x + (0 + x | group)", binary, nagq=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"family": "gaussian"}, ValueError, "hp.fit_lmm"),
        ({"family": "binomial", "link": "log"}, ValueError, "'logit', 'probit'"),
        ({"family": "poisson", "link": "logit"}, ValueError, "'log'"),
        ({"nagq": 0}, ValueError, "from 1"),
        ({"nagq": 30}, ValueError, "25"),
        ({"nagq": 2.0}, TypeError, "whole number"),
        ({"missing": "ignore"}, ValueError, "'raise' or 'drop'"),
        ({"weights": [1, 2]}, ValueError, "one number per row"),
        ({"weights": "nope"}, KeyError, "'nope'"),
    ],
)
def test_bad_arguments(binary, kwargs, error, match):
    with pytest.raises(error, match=match):
        hp.fit_glmm("y ~ x + (1 | group)", binary, **kwargs)


def test_options_are_keyword_only(binary):
    with pytest.raises(TypeError):
        hp.fit_glmm("y ~ x + (1 | group)", binary, "binomial")  # type: ignore[misc]


def test_bad_formulas_and_data(binary, counts):
    with pytest.raises(FormulaError):
        hp.fit_glmm("y ~ x", binary)  # no random part
    with pytest.raises(FormulaError):
        hp.fit_glmm(3, binary)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DataFrame"):
        hp.fit_glmm("y ~ x + (1 | group)", binary.to_dict())
    with pytest.raises(KeyError, match="'w'"):
        hp.fit_glmm("y ~ w + (1 | group)", binary)
    with pytest.raises(ValueError, match="cbind.*two parts"):
        hp.fit_glmm("cbind(successes) ~ x + (1 | group)", counts)
    with pytest.raises(ValueError, match="whole numbers"):
        hp.fit_glmm("cbind(successes, trials - successes - 0.5) ~ x + (1 | group)", counts)
    with pytest.raises(ValueError, match="family='binomial'"):
        hp.fit_glmm("cbind(successes, trials) ~ x + (1 | group)", counts, family="poisson")
    with pytest.raises(ValueError, match="exposures must be positive"):
        hp.fit_glmm(
            "count ~ x + offset(np.log(exposure - 0.51)) + (1 | group)", counts, family="poisson"
        )


def test_no_warning_on_a_clean_fit(binary):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hp.fit_glmm("y ~ x + z + (1 | group)", binary, nagq=7)


def test_one_row_of_counts_per_group_is_a_valid_binomial_design(contra):
    # Aggregated to one cbind row per district, the data carry the same binomial
    # likelihood as the 0/1 rows (the binomial coefficients are constant in the
    # parameters), so the fit must go through and agree with the 0/1 fit; a linear
    # mixed model would refuse one row per group (no residual variance to separate).
    y = (contra["use"] == "Y").astype(int)
    agg = (
        contra.assign(y=y)
        .groupby("district", observed=True)["y"]
        .agg(users="sum", women="size")
        .reset_index()
    )
    m_agg = hp.fit_glmm("cbind(users, women - users) ~ 1 + (1 | district)", agg, family="binomial")
    m_01 = hp.fit_glmm("y ~ 1 + (1 | district)", contra.assign(y=y), family="binomial")
    assert m_agg.n_obs == agg.shape[0] == m_agg.n_groups
    np.testing.assert_allclose(m_agg.fixed["estimate"], m_01.fixed["estimate"], rtol=1e-5)
    np.testing.assert_allclose(m_agg.tau.to_numpy(), m_01.tau.to_numpy(), rtol=1e-4)


def test_wald_is_z_and_other_ddf_are_refused(m_contra):
    """A GLMM's tests use the normal distribution (glmer's summary): df infinite; the
    linear mixed model's ddf are refused with the fix named."""
    z = m_contra.wald(ddf="z")
    pd.testing.assert_frame_equal(z, m_contra.fixed)
    assert np.all(np.isinf(z["df"]))
    np.testing.assert_allclose(z["p_value"], 2 * scipy.stats.norm.sf(np.abs(z["statistic"])))
    for ddf in ("satterthwaite", "kenward-roger"):
        with pytest.raises(ValueError, match="use ddf='z'"):
            m_contra.wald(ddf=ddf)
        with pytest.raises(ValueError, match="use ddf='z'"):
            m_contra.anova(ddf=ddf)
    # the Wald chi-square of a one-column term is z^2
    a = m_contra.anova()
    assert np.isinf(a.loc["age", "den_df"])
    assert a.loc["age", "statistic"] == pytest.approx(z.loc["age", "statistic"] ** 2)
    assert a.loc["age", "p_value"] == pytest.approx(z.loc["age", "p_value"])
