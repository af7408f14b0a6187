"""m.confint(): profile intervals against lme4's confint(method = "profile"), Wald
intervals against lme4's Wald intervals (fixed effects) and the curvature of lme4's
profiled deviance (random part), and input validation.

Reference numbers: tests/reference/lme4_confint_reference.json, written by
tests/reference/make_confint_reference.R (lme4 1.1-31).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

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
        ({"method": "bootstrap"}, ValueError, "method must be one of"),
        ({"level": 95}, ValueError, "strictly between 0 and 1"),
        ({"level": "0.95"}, TypeError, "level must be a number"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, message):
    with pytest.raises(error, match=message):
        _fit("sleep_ml").confint(**kwargs)


def test_only_linear_mixed_models():
    with pytest.raises(TypeError, match="linear mixed model from hp.fit_lmm"):
        confint(hp.fit_ols("Reaction ~ Days", hp.load_dataset("sleepstudy")))


def test_method_is_keyword_only():
    with pytest.raises(TypeError):
        _fit("sleep_ml").confint("wald")
