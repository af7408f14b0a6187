"""m.confint(): profile intervals against lme4's confint(method = "profile"), Wald
intervals against lme4's Wald intervals (fixed effects) and the curvature of lme4's
profiled deviance (random part), parametric-bootstrap percentile intervals against
the exact sampling distributions of a balanced one-way design, and input validation.

Reference numbers: tests/reference/lme4_confint_reference.json, written by
tests/reference/make_confint_reference.R (lme4 1.1-31).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp
from helpers.confint import confint

REF = json.loads((Path(__file__).parent / "reference" / "lme4_confint_reference.json").read_text())
Z975 = 1.959963984540054


@cache
def _fit(key):
    r = REF[key]
    return hp.fit_lmm(r["formula"], hp.load_dataset(r["data"]), reml=r["reml"])


def _our_name(lme4_name: str) -> str:
    """lme4's 'sd_Days|Subject', 'cor_Days.(Intercept)|Subject' -> ours."""
    if lme4_name == "sigma":
        return "sigma"
    if lme4_name == "(Intercept)":
        return "Intercept"
    m = re.fullmatch(r"sd_(.+)\|\w+", lme4_name)
    if m:
        return f"sd({m.group(1).replace('(Intercept)', 'Intercept')})"
    m = re.fullmatch(r"cor_(.+)\.(\(Intercept\)|[^.]+)\|\w+", lme4_name)
    if m:
        b, a = (s.replace("(Intercept)", "Intercept") for s in m.groups())
        return f"cor({a}, {b})"
    return lme4_name


@cache
def _profile(key):
    return _fit(key).confint(method="profile")


@pytest.mark.parametrize("key", ["sleep_ml", "sleep_reml", "pop_ri_ml"])
def test_profile_intervals_agree_with_lme4(key):
    ours = _profile(key)
    ref = REF[key]["profile"]
    names = [_our_name(p) for p in ref["parameter"]]
    assert sorted(names) == sorted(ours.index)
    # lme4 interpolates its profile with splines; agreement to 1e-4 relative is what
    # both methods support.
    np.testing.assert_allclose(ours.loc[names, "ci_lower"], ref["lower"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.loc[names, "ci_upper"], ref["upper"], rtol=1e-4, atol=1e-6)


def test_profile_of_a_reml_fit_is_the_ml_profile_as_in_lme4():
    ml, reml = _profile("sleep_ml"), _profile("sleep_reml")
    cols = ["ci_lower", "ci_upper"]
    np.testing.assert_allclose(reml[cols], ml[cols], rtol=1e-5)
    # ... while the estimates are the fit's own (REML)
    assert reml.loc["sd(Intercept)", "estimate"] > ml.loc["sd(Intercept)", "estimate"]


def test_profile_interval_is_asymmetric_and_contains_the_estimate():
    ci = _profile("sleep_ml")
    assert (ci["ci_lower"] < ci["estimate"]).all() and (ci["estimate"] < ci["ci_upper"]).all()
    sd = ci.loc["sd(Intercept)"]
    # A standard deviation's likelihood is skewed to the right.
    assert sd["ci_upper"] - sd["estimate"] > 1.2 * (sd["estimate"] - sd["ci_lower"])


@pytest.mark.slow
def test_profile_of_a_random_slope_popularity_model_agrees_with_lme4():
    """pop_rs_ml: lme4 warns of a non-monotonic profile for the correlation and falls
    back on linear interpolation of its profile there (its sd and cor ends are then
    only approximate), so only sigma and the fixed effects are compared."""
    ours = _profile("pop_rs_ml")
    ref = REF["pop_rs_ml"]["profile"]
    for name, lo, hi in zip(ref["parameter"], ref["lower"], ref["upper"], strict=True):
        if name.startswith(("sd_", "cor_")):
            continue
        ours_row = ours.loc[_our_name(name)]
        assert ours_row["ci_lower"] == pytest.approx(lo, rel=1e-4), name
        assert ours_row["ci_upper"] == pytest.approx(hi, rel=1e-4), name
    assert ours.loc["cor(Intercept, extrav)", "ci_lower"] == -1.0  # lme4: -1 as well


@pytest.mark.parametrize("key", ["sleep_ml", "pop_ri_ml", "pop_rs_ml"])
def test_wald_intervals_agree_with_lme4(key):
    ci = _fit(key).confint(method="wald")
    ref = REF[key]
    names = [_our_name(p) for p in ref["wald"]["parameter"]]
    np.testing.assert_allclose(ci.loc[names, "ci_lower"], ref["wald"]["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci.loc[names, "ci_upper"], ref["wald"]["upper"], rtol=1e-6)
    sd = ref["sd_scale"]
    names = [_our_name(p) for p in sd["parameter"]]
    np.testing.assert_allclose(ci.loc[names, "estimate"], sd["estimate"], rtol=1e-4)
    se = (ci.loc[names, "ci_upper"] - ci.loc[names, "estimate"]) / Z975
    # Both sides differentiate numerically: agreement to about 1e-3.
    np.testing.assert_allclose(se, sd["se"], rtol=2e-3)


def test_wald_is_symmetric_and_scales_with_the_level():
    m = _fit("sleep_ml")
    a, b = m.confint(method="wald"), m.confint(method="wald", level=0.5)
    half_a = a["ci_upper"] - a["estimate"]
    np.testing.assert_allclose(a["estimate"] - a["ci_lower"], half_a, rtol=1e-10)
    np.testing.assert_allclose(
        (b["ci_upper"] - b["estimate"]) / half_a, 0.6744897501960817 / Z975, rtol=1e-10
    )


def test_wald_is_nan_for_a_parameter_on_the_boundary():
    d = hp.load_dataset("popularity")
    with pytest.warns(hp.SingularFitWarning):
        m = hp.fit_lmm(
            "popular ~ extrav + gender + texp + (1 + extrav + gender | class)", d, reml=False
        )
    ci = m.confint(method="wald")
    assert ci.filter(like="cor(", axis=0)["ci_lower"].isna().all()
    assert np.isfinite(ci.loc["Intercept", "ci_lower"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "jackknife"}, ValueError, "method must be one of"),
        ({"method": "profile", "n": 100}, ValueError, "does not use them"),
        ({"method": "wald", "seed": 1}, ValueError, "does not use them"),
        ({"method": "bootstrap", "n": 0}, ValueError, "at least 1"),
        ({"method": "bootstrap", "n": 10, "seed": "a"}, TypeError, "seed must be"),
        ({"level": 95}, ValueError, "strictly between 0 and 1"),
        ({"level": "0.95"}, TypeError, "level must be a number"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, message):
    with pytest.raises(error, match=message):
        _fit("sleep_ml").confint(**kwargs)


def test_only_mixed_models():
    with pytest.raises(TypeError, match="mixed model from hp.fit_lmm or hp.fit_glmm, not OlsFit"):
        confint(hp.fit_ols("Reaction ~ Days", hp.load_dataset("sleepstudy")))


def test_method_is_keyword_only():
    with pytest.raises(TypeError):
        _fit("sleep_ml").confint("wald")


# -- parametric bootstrap (percentile intervals) -------------------------------------


def _balanced(J=10, n=3, seed=5):
    """A balanced one-way design with a large between-group variance."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n)
    y = 50 + rng.normal(scale=6.0, size=J)[g] + rng.normal(scale=2.0, size=J * n)
    return pd.DataFrame({"g": g, "y": y})


def test_bootstrap_intervals_are_seeded_and_on_the_profile_scale():
    m = _fit("sleep_reml")
    a = m.confint(method="bootstrap", n=40, seed=3)
    pd.testing.assert_frame_equal(a, m.confint(method="bootstrap", n=40, seed=3))
    assert not a.equals(m.confint(method="bootstrap", n=40, seed=4))
    assert list(a.index) == list(m.confint(method="wald").index)
    pd.testing.assert_series_equal(a["estimate"], m.confint(method="wald")["estimate"])
    assert (a["ci_lower"] < a["ci_upper"]).all()
    # The ends are quantiles of hp.bootstrap's table with the same seed.
    boot = hp.bootstrap(m, n=40, seed=3)
    assert a.loc["Days", "ci_lower"] == pytest.approx(boot["Days"].quantile(0.025))
    assert a.loc["sigma", "ci_upper"] == pytest.approx(np.sqrt(boot["sigma2_e"]).quantile(0.975))
    narrow = m.confint(method="bootstrap", n=40, seed=3, level=0.5)
    assert (narrow["ci_lower"] > a["ci_lower"]).all() and (narrow["ci_upper"] < a["ci_upper"]).all()


def test_bootstrap_ends_are_the_quantiles_of_the_exact_sampling_distribution():
    """Balanced one-way design (J groups of n): when the between-group variance is
    estimated positive, the REML sigma2_e is the within-group mean square, and under
    the fitted model MSW ~ sigma2 chi2(J(n-1)) / (J(n-1)) and the intercept (the grand
    mean) ~ N(mu, SE^2) with SE the fit's standard error (Searle, Casella & McCulloch
    1992, ch. 3). The parametric bootstrap samples from the fitted model, so each
    percentile end must sit at the matching quantile of that exact law: its
    probability under the law is within 4 Monte Carlo standard errors of the
    nominal tail (deterministic with a seed). A wrong scale (variance instead of
    SD), a wrong tail or too few replicates would put it far outside.
    """
    J, n, reps, level = 10, 3, 2000, 0.9
    m = hp.fit_lmm("y ~ 1 + (1 | g)", _balanced(J, n))
    boot = hp.bootstrap(m, n=reps, seed=8)
    assert not boot["singular"].any()  # every refit is interior: sigma2_e = MSW exactly
    ci = m.confint(method="bootstrap", n=reps, seed=8, level=level)
    df = J * (n - 1)
    tail = (1 - level) / 2
    tol = 4 * np.sqrt(tail * (1 - tail) / reps)
    sigma_hat = np.sqrt(m.sigma2)
    mu, se = m.fixed.loc["Intercept", ["estimate", "std_error"]]
    for end, p in (("ci_lower", tail), ("ci_upper", 1 - tail)):
        u_sigma = scipy.stats.chi2.cdf(df * (ci.loc["sigma", end] / sigma_hat) ** 2, df)
        u_mean = scipy.stats.norm.cdf((ci.loc["Intercept", end] - mu) / se)
        assert abs(u_sigma - p) < tol, (end, u_sigma)
        assert abs(u_mean - p) < tol, (end, u_mean)


def test_bootstrap_intervals_are_close_to_the_profile_intervals_on_sleepstudy():
    """lme4's documentation shows confint(method = "boot") near the profile intervals
    on sleepstudy; with 1,000 replicates each end of ours lies within a quarter of
    the profile interval's width of the profile end (the correlation, whose
    bootstrap distribution piles up at +1, is left out)."""
    m = _fit("sleep_reml")
    boot = m.confint(method="bootstrap", n=1000, seed=11)
    prof = _profile("sleep_reml")
    keep = [p for p in prof.index if not p.startswith("cor(")]
    width = (prof["ci_upper"] - prof["ci_lower"])[keep]
    for end in ("ci_lower", "ci_upper"):
        gap = (boot[end] - prof[end])[keep].abs()
        assert (gap < 0.25 * width).all(), gap / width
    assert (boot["ci_lower"] <= boot["estimate"]).all()
    assert (boot["estimate"] <= boot["ci_upper"]).all()
