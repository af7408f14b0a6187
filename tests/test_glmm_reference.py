"""hp.fit_glmm against lme4's glmer: numbers written by tests/reference/make_glmm_reference.R.

Every model of the JSON is refitted here on the same CSV files and compared with
the tolerances of issue 13: log-likelihood within 1e-4 (and never below lme4's by
more than 1e-6), fixed effects within 1e-5 relative, standard errors within 1e-3
relative, variance components within 1e-4 relative, conditional modes (and their
standard deviations) within 1e-4 of the largest.

What is comparable:

* nAGQ > 1: lme4's logLik() omits the constant sum log f(y | mu = y) (its
  quadrature sums deviance residuals; the Laplace code sums the family's aic()),
  so fit.loglik is compared with lme4's value plus "saturated_loglik" (computed in
  R by family$aic), and fit.lme4_loglik with lme4's value itself.
* nAGQ = 1 with Poisson, probit or cbind data: lme4's deviance function stops its
  inner penalised-IRLS loop on a relative change of 1e-11 and takes log|L|^2 from
  the weights one step behind, so it is off the exact Laplace value by 4e-6 to
  1.3e-5 in the log-likelihood (recorded in the JSON by an independent plain-R
  Laplace, "exact_laplace"). Its optimum and its finite-difference Hessian carry
  that error: estimates differ by up to 1.4e-5 relative and Hessian standard errors
  by up to 3.5e-3. There helpers is compared with the exact R computation (standard
  errors within 1e-5, log-likelihood at least as high) and with lme4 within the
  error lme4's own function has (fixed effects 5e-5, standard errors 5e-3).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp

REF = json.loads(
    (Path(__file__).parent / "reference" / "glmer_reference.json").read_text(encoding="utf-8")
)
MODELS = REF["models"]


def _data(name: str) -> pd.DataFrame:
    df = hp.load_dataset(name)
    if name == "sim_counts":
        df = df.assign(prop=df["successes"] / df["trials"])
    if name == "contraception":  # the district's share of urban women, as the R script
        df = df.assign(urban_mean=(df["urban"] == "Y").groupby(df["district"]).transform("mean"))
    return df


def _n(x) -> int:
    """Length of a JSON list written with auto_unbox (a scalar for length 1)."""
    return len(x) if isinstance(x, list) else 1


def _python_formula(formula: str) -> str:
    return formula.replace("offset(log(", "offset(np.log(")


def _inexact_lme4(r) -> bool:
    """lme4's Laplace deviance function is off the exact Laplace value by > 1e-6."""
    e = r.get("exact_laplace")
    return bool(e) and abs(-e["lme4_devfun_at_lme4"] / 2 - e["loglik_at_lme4"]) > 1e-6


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    r = MODELS[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hp.fit_glmm(
            _python_formula(r["formula"]),
            _data(r["data"]),
            family=r["family"],
            link=r["link"],
            nagq=r["nagq"],
            weights=r.get("weights"),
        )
    return request.param, r, fit


def test_loglik(case):
    key, r, fit = case
    expected = r["loglik"] + (r["saturated_loglik"] if r["nagq"] > 1 else 0.0)
    assert fit.loglik == pytest.approx(expected, abs=1e-4), key
    assert fit.loglik >= expected - 1e-6, key
    assert fit.lme4_loglik == pytest.approx(r["loglik"], abs=1e-4)
    assert fit.deviance == pytest.approx(-2 * expected, abs=2e-4)
    assert fit.aic == pytest.approx(
        r["aic"] - (2 * r["saturated_loglik"] if r["nagq"] > 1 else 0), abs=2e-4
    )
    assert fit.bic == pytest.approx(
        r["bic"] - (2 * r["saturated_loglik"] if r["nagq"] > 1 else 0), abs=2e-4
    )
    assert fit.saturated_loglik == pytest.approx(r["saturated_loglik"], abs=1e-8)
    assert (fit.n_obs, fit.n_groups) == (r["n_obs"], r["n_groups"])
    assert fit.converged and fit.singular == r["singular"]


def test_fixed_effects_and_standard_errors(case):
    key, r, fit = case
    est = np.array(r["fixed"]["estimate"])
    se = np.array(r["fixed"]["std_error"])
    assert len(fit.fixed) == len(est)
    inexact = _inexact_lme4(r)
    rel_b = 5e-5 if inexact else 1e-5
    rel_se = 5e-3 if inexact else 1e-3
    # atol: a coefficient near zero (chapter 9's linear age term beside age^2, 0.0035
    # with SE 0.0093) has no meaningful relative error; there 5e-5 of its standard
    # error is allowed. Over such a step the log-likelihood is flat to 1e-9, and
    # helpers' is the higher one (contra_age2_ri_laplace by 5e-10 over lme4's and
    # R's exact-Laplace optimum, contra_context_laplace by 1.5e-9; test_loglik).
    gap = np.abs(fit.fixed["estimate"].to_numpy() - est)
    ok = gap <= np.maximum(rel_b * np.abs(est) + 1e-9, 5e-5 * se)
    assert ok.all(), (key, fit.fixed.index[~ok].tolist(), gap[~ok])
    np.testing.assert_allclose(fit.fixed["std_error"], se, rtol=rel_se, err_msg=key)
    assert fit.vcov_method == "Hessian" and r["hessian_used"]
    # Covariances on the scale of the two standard errors: a covariance near zero
    # (chapter 9's contextual model: urban_mean with livch, 3e-4 beside variances of
    # 0.14 and 0.027) has no meaningful relative error of its own.
    V, V_r = fit.vcov.to_numpy(), np.array(r["vcov"])
    scale = np.sqrt(np.outer(np.diag(V_r), np.diag(V_r)))
    assert np.all(np.abs(V - V_r) <= 2 * rel_se * scale + 1e-12), key
    # The RX-based alternative (use.hessian = FALSE), conditional on theta.
    np.testing.assert_allclose(
        np.sqrt(np.diag(fit.vcov_rx)), r["fixed"]["std_error_rx"], rtol=rel_se
    )


def test_against_the_exact_laplace_where_lme4_is_inexact(case):
    key, r, fit = case
    e = r.get("exact_laplace")
    if not e:
        pytest.skip("no plain-R Laplace for this model (random slope or quadrature)")
    # Standard errors from optimHess of the exact Laplace deviance in R.
    np.testing.assert_allclose(fit.fixed["std_error"], e["std_error"], rtol=1e-5, err_msg=key)
    # helpers' optimum is at least as good on the exact criterion as lme4's.
    assert fit.loglik >= e["loglik_at_lme4"] - 1e-9


def test_variance_components(case):
    key, r, fit = case
    tau = np.array(r["tau"]["matrix"], dtype=float).reshape(_n(r["tau"]["terms"]), -1)
    rel = 5e-5 if _inexact_lme4(r) else 1e-5
    np.testing.assert_allclose(np.diag(fit.tau), np.diag(tau), rtol=max(rel, 1e-4), err_msg=key)
    np.testing.assert_allclose(fit.tau.to_numpy(), tau, atol=1e-4 * np.abs(tau).max())
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=1e-4, atol=1e-6)


def test_conditional_modes_and_their_sds(case):
    key, r, fit = case
    values = np.array(r["ranef"]["values"], dtype=float).reshape(_n(r["ranef"]["group"]), -1)
    sds = np.array(r["ranef"]["cond_sd"], dtype=float).reshape(values.shape)
    re = fit.ranef()
    assert [str(g) for g in re.index] == r["ranef"]["group"]
    assert np.max(np.abs(re.to_numpy() - values)) <= 1e-4 * np.max(np.abs(values)), key
    assert np.max(np.abs(fit.ranef_sd().to_numpy() - sds)) <= 1e-4 * np.max(sds), key


def test_the_agq_constant_is_the_saturated_loglik():
    """lme4's Laplace and nAGQ > 1 values differ by the saturated log-likelihood (+ a little)."""
    for lap, agq in (
        ("counts_poisson_laplace", "counts_poisson_agq12"),
        ("trials_cbind_laplace", "trials_cbind_agq15"),
        ("contra_ri_laplace", "contra_ri_agq20"),
    ):
        a, b = MODELS[lap], MODELS[agq]
        shift = b["loglik"] - a["loglik"]
        # Without the constant, the quadrature improves on Laplace by well under 1 unit.
        assert abs(shift + a["saturated_loglik"]) < 0.5
        if a["saturated_loglik"] != 0.0:
            assert abs(shift) > 100


def test_pearson_statistic_at_the_conditional_modes(case):
    """Chapter 9's overdispersion statistic: sum((y - mu)^2 / V(mu)), mu given the modes."""
    key, r, fit = case
    if "pearson_chisq" not in r or np.any(fit.weights != 1):
        pytest.skip("no Pearson statistic in the JSON, or prior weights (cbind / proportions)")
    mu = fit.fitted().to_numpy()
    var = mu if fit.family == "poisson" else mu * (1 - mu)
    pearson = np.sum((fit.y - mu) ** 2 / var)
    # mu moves with the conditional modes (held to 1e-4 of the largest above)
    assert pearson == pytest.approx(r["pearson_chisq"], rel=2e-5), key


def test_random_intercept_against_glm_as_r():
    """compare(glm, fit) of chapter 9's model: R's glm() and glmer() log-likelihoods."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    r = MODELS["contra_age2_ri_laplace"]
    con = _data("contraception").assign(y=lambda d: (d["use"] == "Y").astype(int))
    glm = smf.glm("y ~ age + I(age ** 2) + urban + livch", con, family=sm.families.Binomial()).fit()
    fit = hp.fit_glmm(r["formula"], con)
    # statsmodels puts the factors first; R (and helpers) keep the formula's order
    np.testing.assert_allclose(glm.params[fit.fixed.index], r["glm"]["estimate"], rtol=1e-6)
    assert glm.llf == pytest.approx(r["glm"]["loglik"], abs=1e-8)
    row = hp.compare(glm, fit).iloc[1]
    assert row["chisq"] == pytest.approx(r["glm"]["chisq"], abs=2e-4)
    assert row["p_value"] == pytest.approx(
        0.5 * scipy.stats.chi2.sf(r["glm"]["chisq"], 1), rel=1e-3
    )


def test_random_slope_lrt_with_the_mixture_as_r():
    """Chapter 9's random slope of urban: statistic and 50:50 chi2(1):chi2(2) p as in R."""
    t = REF["lrt"]["slope_urban"]
    con = _data("contraception")
    small = hp.fit_glmm(MODELS[t["small"]]["formula"], con)
    big = hp.fit_glmm(MODELS[t["big"]]["formula"], con)
    row = hp.compare(small, big).iloc[1]
    assert row["df"] == t["df"] == 2
    assert row["chisq"] == pytest.approx(t["chisq"], abs=2e-4)
    assert row["p_value"] == pytest.approx(t["p_mixture"], rel=1e-3)
    assert row["p_value"] < t["p_naive"]
