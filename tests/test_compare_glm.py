"""hp.compare(glm, glmm): a random intercept tested against the same GLM without it.

The statistic is the difference of two full log-likelihoods, so it is checked here
against an independent computation of each side: statsmodels' GLM log-likelihood
is re-derived from the Poisson / Bernoulli densities in scipy, and the GLMM's from
helpers' own fit (held to glmer in tests/test_glmm_reference.py, which also holds
the statistic of chapter 9's model to R's glm() and glmer()). The p-value is the
50:50 mixture of chi2(0) and chi2(1) (Self & Liang 1987, case 5): half the chi2(1)
tail probability for a positive statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm
import statsmodels.formula.api as smf

import helpers as hp

FORMULA = "count ~ x + offset(np.log(exposure)) + (1 | group)"


@pytest.fixture(scope="module")
def pois(counts):
    return hp.fit_glmm(FORMULA, counts, family="poisson")


@pytest.fixture(scope="module")
def glm(counts):
    return smf.glm(
        "count ~ x", counts, family=sm.families.Poisson(), offset=np.log(counts["exposure"])
    ).fit()


def test_statistic_is_the_difference_of_full_log_likelihoods(counts, pois, glm):
    table = hp.compare(glm, pois)
    mu = np.exp(
        np.log(counts["exposure"]) + glm.params["Intercept"] + glm.params["x"] * counts["x"]
    )
    loglik_glm = scipy.stats.poisson.logpmf(counts["count"], mu).sum()  # independent of statsmodels
    assert table.index.tolist() == ["M0", "M1"]
    assert table["npar"].tolist() == [2, 3]
    assert table["deviance"].iloc[0] == pytest.approx(-2 * loglik_glm, rel=1e-10)
    assert table["chisq"].iloc[1] == pytest.approx(-2 * loglik_glm - pois.deviance, rel=1e-9)
    chisq = table["chisq"].iloc[1]
    assert chisq > 100
    assert table["p_value"].iloc[1] == pytest.approx(0.5 * scipy.stats.chi2.sf(chisq, 1), rel=1e-12)
    assert table["test"].iloc[1] == "mixture chi2(0):chi2(1) 50:50"
    assert table["aic"].iloc[0] == pytest.approx(-2 * loglik_glm + 4, rel=1e-10)
    assert table["bic"].iloc[0] == pytest.approx(
        -2 * loglik_glm + 2 * np.log(len(counts)), rel=1e-10
    )


def test_order_labels_and_exposure_form_do_not_matter(counts, pois, glm):
    base = hp.compare(glm, pois)
    flipped = hp.compare({"mixed": pois, "glm": glm})
    assert flipped.index.tolist() == ["glm", "mixed"]
    assert flipped["chisq"].iloc[1] == pytest.approx(base["chisq"].iloc[1], rel=1e-12)
    as_list = hp.compare([glm, pois])
    assert as_list["chisq"].iloc[1] == pytest.approx(base["chisq"].iloc[1], rel=1e-12)
    # statsmodels' exposure= is the same model as offset=log(exposure)
    glm_exp = smf.glm(
        "count ~ x", counts, family=sm.families.Poisson(), exposure=counts["exposure"]
    ).fit()
    assert hp.compare(glm_exp, pois)["chisq"].iloc[1] == pytest.approx(
        base["chisq"].iloc[1], rel=1e-9
    )


def test_rows_in_another_order_and_rescaled_predictor(counts, pois, glm):
    base = hp.compare(glm, pois)["chisq"].iloc[1]
    shuffled = counts.sample(frac=1.0, random_state=3)
    glm_s = smf.glm(
        "count ~ x", shuffled, family=sm.families.Poisson(), offset=np.log(shuffled["exposure"])
    ).fit()
    assert hp.compare(glm_s, pois)["chisq"].iloc[1] == pytest.approx(base, rel=1e-9)
    # shifting and rescaling x changes neither model: the same statistic
    moved = counts.assign(x=10 * counts["x"] + 3)
    pm = hp.fit_glmm(FORMULA, moved, family="poisson")
    gm = smf.glm(
        "count ~ x", moved, family=sm.families.Poisson(), offset=np.log(moved["exposure"])
    ).fit()
    assert hp.compare(gm, pm)["chisq"].iloc[1] == pytest.approx(base, abs=1e-5)


def test_binary_outcome_with_a_factor():
    con = hp.load_dataset("contraception").assign(y=lambda d: (d["use"] == "Y").astype(int))
    fit = hp.fit_glmm("use ~ age + urban + (1 | district)", con)
    glm = smf.glm("y ~ age + urban", con, family=sm.families.Binomial()).fit()
    p = 1 / (1 + np.exp(-(glm.model.exog @ glm.params.to_numpy())))
    loglik = scipy.stats.bernoulli.logpmf(con["y"], p).sum()
    row = hp.compare(glm, fit).iloc[1]
    assert row["chisq"] == pytest.approx(-2 * loglik - fit.deviance, rel=1e-9)
    assert 0 < row["p_value"] < 1e-5


@pytest.mark.filterwarnings("ignore:Singular fit")
def test_refusals_name_the_problem(counts, pois, glm):
    con = hp.load_dataset("contraception").assign(y=lambda d: (d["use"] == "Y").astype(int))
    binom = smf.glm("y ~ age", con, family=sm.families.Binomial()).fit()
    with pytest.raises(ValueError, match="not comparable"):
        hp.compare(binom, pois)
    other_fixed = smf.glm(
        "count ~ 1", counts, family=sm.families.Poisson(), offset=np.log(counts["exposure"])
    ).fit()
    with pytest.raises(ValueError, match="fixed parts differ"):
        hp.compare(other_fixed, pois)
    no_offset = smf.glm("count ~ x", counts, family=sm.families.Poisson()).fit()
    with pytest.raises(ValueError, match="offsets"):
        hp.compare(no_offset, pois)
    fewer = counts.iloc[:-5]
    short = smf.glm(
        "count ~ x", fewer, family=sm.families.Poisson(), offset=np.log(fewer["exposure"])
    ).fit()
    with pytest.raises(ValueError, match="same rows"):
        hp.compare(short, pois)
    with pytest.raises(ValueError, match="exactly two"):
        hp.compare(glm, pois, pois)
    with pytest.raises(ValueError, match="two statsmodels GLMs"):
        hp.compare(glm, glm)
    slope = hp.fit_glmm(
        "count ~ x + offset(np.log(exposure)) + (1 + x | group)", counts, family="poisson"
    )
    with pytest.raises(ValueError, match="single random intercept"):
        hp.compare(glm, slope)
    weighted = smf.glm(
        "count ~ x",
        counts,
        family=sm.families.Poisson(),
        offset=np.log(counts["exposure"]),
        var_weights=np.full(len(counts), 2.0),
    ).fit()
    with pytest.raises(ValueError, match="prior weights"):
        hp.compare(weighted, pois)
    two_col = sm.GLM(
        counts[["successes"]].assign(f=counts["trials"] - counts["successes"]),
        sm.add_constant(counts[["x"]]),
        family=sm.families.Binomial(),
    ).fit()
    cb = hp.fit_glmm("cbind(successes, trials - successes) ~ x + (1 | group)", counts)
    with pytest.raises(ValueError, match="two-column"):
        hp.compare(two_col, cb)
    lmm = hp.fit_lmm("x ~ 1 + (1 | group)", counts, reml=False)
    with pytest.raises(ValueError, match="linear mixed model"):
        hp.compare(glm, lmm)
    # without a GLM, compare is unchanged: still refuses a non-fit
    with pytest.raises(TypeError):
        hp.compare(pd.DataFrame(), pois)
