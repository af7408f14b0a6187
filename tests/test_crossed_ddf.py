"""Tests of the fixed effects and conditional SDs of fits with several grouping factors.

Expected values: tests/reference/crossed_ddf_reference.json, written by
tests/reference/make_crossed_ddf_reference.R from the data of
tests/reference/make_crossed_reference.R (nested, crossed and partially crossed
models, and a singular crossed fit whose third factor has no variance; REML and
ML): lmerTest's summary() table (Satterthwaite df), contest() of one contrast and
its joint F test (contestMD), anova(m, type = 3), for REML fits the Kenward-Roger
table and joint test and pbkrtest's vcovAdj, for ML fits the curvature of lme4's
devfun2 (Wald SEs of the random part), lme4's profile intervals of the two crossed
intercept models, and lme4's as.data.frame(ranef(m, condVar = TRUE)).

Tolerances are those of the one-factor tests (tests/test_lmm_ddf.py; lmerTest
differentiates numerically, and so do these fits): estimates 1e-6, standard errors
1e-5 (Kenward-Roger's adjusted covariance 2e-4), df 2e-3 relative, statistics 1e-4
relative, p-values 2e-4 absolute; the conditional SDs 1e-5 relative (as the
conditional modes of tests/test_crossed_reference.py, from the same optimum); Wald
SEs of the random part and profile interval ends 1e-4 relative (both sides search
numerically).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "crossed_ddf_reference.json").read_text())["models"]
# The random-slope models' ML fits are left out here to keep the file cheap (their REML
# fits, and the ML fits of the other models, cover the same code).
KEYS = sorted(k for k in REF if k not in ("nested3_slopes_ml", "nested3_uncorr_ml", "singular_ml"))
_cache: dict = {}


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "crossed" / f"{name}.csv")


def fitted(key: str):
    if key not in _cache:
        spec = REF[key]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # only "singular" is singular (session's variance)
            if key.startswith("singular"):
                warnings.simplefilter("ignore", hp.SingularFitWarning)
            _cache[key] = hp.fit_lmm(spec["formula"], _data(spec["data"]), reml=spec["reml"])
    return _cache[key]


def _list(x):
    return x if isinstance(x, list) else [x]


@pytest.mark.parametrize("key", KEYS)
def test_fixed_is_satterthwaite_as_lmertest(key):
    ref, m = REF[key]["satterthwaite"], fitted(key)
    ours = m.fixed
    assert list(ours.index) == [t.replace("(Intercept)", "Intercept") for t in _list(ref["term"])]
    np.testing.assert_allclose(ours["estimate"], _list(ref["estimate"]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["std_error"], _list(ref["std_error"]), rtol=1e-5)
    np.testing.assert_allclose(ours["df"], _list(ref["df"]), rtol=2e-3)
    np.testing.assert_allclose(ours["statistic"], _list(ref["statistic"]), rtol=1e-4)
    np.testing.assert_allclose(ours["p_value"], _list(ref["p_value"]), rtol=0, atol=2e-4)
    # the same table as wald() with its default, and as wald(ddf="satterthwaite")
    pd.testing.assert_frame_equal(m.wald(ddf="satterthwaite"), ours)


WITH_CONTRASTS = [k for k in KEYS if "contrast" in REF[k]]


@pytest.mark.parametrize("key", WITH_CONTRASTS)
def test_contrast_joint_and_anova_as_lmertest(key):
    ref, m = REF[key], fitted(key)
    c = m.contrast(np.array(ref["contrast"]["L"], dtype=float)).iloc[0]
    for col, tol in (("estimate", 1e-6), ("std_error", 1e-5)):
        assert c[col] == pytest.approx(ref["contrast"][col], abs=tol)
    assert c["df"] == pytest.approx(ref["contrast"]["df"], rel=2e-3)
    assert c["statistic"] == pytest.approx(ref["contrast"]["statistic"], rel=1e-4)
    j = m.contrast(np.array(ref["joint"]["L"], dtype=float), joint=True).iloc[0]
    assert j["num_df"] == ref["joint"]["num_df"]
    assert j["den_df"] == pytest.approx(ref["joint"]["den_df"], rel=2e-3)
    assert j["statistic"] == pytest.approx(ref["joint"]["statistic"], rel=1e-4)
    a = m.anova()
    assert list(a.index) == _list(ref["anova"]["term"])
    np.testing.assert_allclose(a["den_df"], _list(ref["anova"]["den_df"]), rtol=2e-3)
    np.testing.assert_allclose(a["statistic"], _list(ref["anova"]["statistic"]), rtol=1e-4)
    np.testing.assert_allclose(a["p_value"], _list(ref["anova"]["p_value"]), rtol=0, atol=2e-4)


@pytest.mark.parametrize("key", KEYS)
def test_conditional_sds_as_lme4_condvar(key):
    ref, m = pd.DataFrame(REF[key]["cond_sd"]), fitted(key)
    sds, modes = m.ranef_sd(), m.ranef()
    assert set(sds) == set(ref["grpvar"]) == set(m.groups)
    for (grp, term), rows in ref.groupby(["grpvar", "term"]):
        ours = sds[grp][term.replace("(Intercept)", "Intercept")]
        assert len(ours) == len(rows) == m.n_levels[grp]
        labels = rows["level"].astype(str)
        ours.index = ours.index.astype(str)
        # atol: lme4 stops a zero variance (the singular fit's session) at theta ~ 1e-8,
        # where its conditional SD is 5e-8; here theta is 0 and so is the SD
        np.testing.assert_allclose(ours.loc[labels], rows["condsd"], rtol=1e-5, atol=1e-7)
        # the same levels and terms as ranef()
        pd.testing.assert_index_equal(sds[grp].index, modes[grp].index)


def test_df_and_conditional_sds_do_not_depend_on_units():
    d = _data("nested3")
    m = fitted("nested3_reml")
    e = d.assign(y=1000 + 40 * d.y, x=3 - 0.01 * d.x)  # x' = 0 is x = 300
    m2 = hp.fit_lmm(REF["nested3_reml"]["formula"], e)
    # the slope: estimate times 40 / -0.01, the same t and df
    assert m2.fixed.loc["x", "estimate"] == pytest.approx(-4000 * m.fixed.loc["x", "estimate"])
    assert m2.fixed.loc["x", "statistic"] == pytest.approx(-m.fixed.loc["x", "statistic"])
    assert m2.fixed.loc["x", "df"] == pytest.approx(m.fixed.loc["x", "df"], rel=1e-5)
    # a contrast that means the same in both units: the mean at x = 1 (x' = 2.99)
    c1 = m.contrast({"Intercept": 1, "x": 1}).iloc[0]
    c2 = m2.contrast({"Intercept": 1, "x": 2.99}).iloc[0]
    assert c2["estimate"] == pytest.approx(1000 + 40 * c1["estimate"])
    assert c2["df"] == pytest.approx(c1["df"], rel=1e-5)
    assert c2["statistic"] != pytest.approx(c1["statistic"])  # y's shift moves t, not df
    for grp in ("school", "class:school"):
        np.testing.assert_allclose(
            m2.ranef_sd()[grp]["Intercept"], 40 * m.ranef_sd()[grp]["Intercept"], rtol=1e-5
        )


@pytest.mark.parametrize("key", [k for k in KEYS if "kenward_roger" in REF[k]])
def test_kenward_roger_as_pbkrtest(key):
    ref, m = REF[key], fitted(key)
    kr = ref["kenward_roger"]
    ours = m.wald(ddf="kenward-roger")
    np.testing.assert_allclose(ours["estimate"], _list(kr["estimate"]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["std_error"], _list(kr["std_error"]), rtol=1e-4)
    np.testing.assert_allclose(ours["df"], _list(kr["df"]), rtol=2e-3)
    np.testing.assert_allclose(ours["p_value"], _list(kr["p_value"]), rtol=0, atol=2e-4)
    # pbkrtest's adjusted covariance itself
    phi_a = m.contrast(np.eye(len(m.beta)), ddf="kenward-roger")["std_error"] ** 2
    vcov = np.array(ref["vcov_kenward_roger"], dtype=float).reshape(len(m.beta), -1)
    np.testing.assert_allclose(phi_a, np.diag(vcov), rtol=2e-4)
    if "joint_kenward_roger" in ref:
        j = m.contrast(np.array(ref["joint"]["L"], dtype=float), joint=True, ddf="kenward-roger")
        j = j.iloc[0]
        assert j["den_df"] == pytest.approx(ref["joint_kenward_roger"]["den_df"], rel=2e-3)
        assert j["statistic"] == pytest.approx(ref["joint_kenward_roger"]["statistic"], rel=1e-4)


def test_ddf_refusals_say_what_works(monkeypatch):
    with pytest.raises(ValueError, match="REML"):  # the one-factor rule: pbkrtest's
        fitted("pupils_crossed_ml").wald(ddf="kenward-roger")
    m = hp.fit_lmm(REF["raters_items_reml"]["formula"], _data("raters"))
    with pytest.raises(ValueError, match="ddf must be one of"):
        m.wald(ddf="residual")
    # Kenward-Roger's dense pieces have the size of the random effects: refused above
    # a limit (here 50 against the model's 20 raters + 30 items), with what works
    monkeypatch.setattr("helpers._multi_ddf.KR_MAX", 40)
    with pytest.raises(ValueError, match="up to 40 random effects.*has 50.*'satterthwaite'"):
        m.wald(ddf="kenward-roger")


def test_summary_is_the_one_factor_layout_with_df():
    m = fitted("nested3_slopes_reml")
    s = m.summary()
    one = hp.fit_lmm("y ~ x + (1 + x | school)", _data("nested3")).summary()
    assert list(s.columns) == list(one.columns) == ["estimate", "std_error", "df"]
    assert s.index.names == one.index.names
    assert list(s.index.get_level_values("part").unique()) == [
        "Fixed part",
        "Random part",
        "Model fit",
    ]
    fixed = s.loc["Fixed part"]
    np.testing.assert_allclose(fixed["df"].astype(float), m.fixed["df"])
    np.testing.assert_allclose(fixed["std_error"].astype(float), m.fixed["std_error"])
    random = s.loc["Random part"]
    assert (random["df"] == "\u2014").all() and (random["std_error"] == "\u2014").all()
    # every variance and covariance of varcorr, the residual first
    vc = m.varcorr
    assert random["estimate"].iloc[0] == pytest.approx(m.sigma2)
    assert sorted(random["estimate"].iloc[1:].astype(float).round(10)) == sorted(
        vc["vcov"].iloc[:-1].round(10)
    )
    assert "school: sigma_u01 (Intercept, x)" in random.index
    assert s.loc[("Model fit", "REML criterion"), "estimate"] == pytest.approx(m.deviance)
    assert "df" in repr(m) and "school: sigma2_u1 (x)" in repr(m)


def _wald_name(r: str) -> str:
    """lme4's devfun2 name ("sd_(Intercept)|item", "cor_x.(Intercept)|school") -> ours."""
    if r == "sigma":
        return r
    kind, rest = r.split("_", 1)
    terms, grp = rest.rsplit("|", 1)
    terms = terms.replace("(Intercept)", "Intercept")
    if kind == "sd":
        return f"sd({terms} | {grp})"
    a, b = terms.split(".", 1)
    return f"cor({b}, {a} | {grp})"


@pytest.mark.parametrize("key", [k for k in KEYS if "wald_random" in REF[k]])
def test_wald_standard_errors_of_the_random_part_as_lme4s_devfun2(key):
    ref, m = REF[key]["wald_random"], fitted(key)
    ci = m.confint(method="wald")
    names = [_wald_name(r) for r in _list(ref["parameter"])]
    np.testing.assert_allclose(ci.loc[names, "estimate"], _list(ref["estimate"]), rtol=1e-5)
    se = (ci.loc[names, "ci_upper"] - ci.loc[names, "estimate"]) / 1.959963984540054
    np.testing.assert_allclose(se, _list(ref["std_error"]), rtol=1e-4)


def _profile_name(r: str) -> str:
    """lme4's confint(oldNames = FALSE) row ("sd_(Intercept)|item") -> ours."""
    return (
        r.replace("(Intercept)", "Intercept") if "|" not in r and r != "sigma" else (_wald_name(r))
    )


# one of the four fits with lme4 profiles (a REML fit: the profile is centred on the
# ML refit): a profile re-optimises the model many times
@pytest.mark.parametrize("key", ["raters_items_reml"])
def test_profile_intervals_as_lme4(key):
    ref, m = REF[key]["profile"], fitted(key)
    ci = m.confint()  # method="profile", as lme4's default
    names = [_profile_name(r) for r in _list(ref["parameter"])]
    assert list(ci.index) == names
    np.testing.assert_allclose(ci["ci_lower"], _list(ref["lower"]), rtol=1e-4)
    np.testing.assert_allclose(ci["ci_upper"], _list(ref["upper"]), rtol=1e-4)
