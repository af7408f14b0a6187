"""Satterthwaite and Kenward-Roger degrees of freedom against lmerTest, pbkrtest and emmeans.

Every expected number comes from tests/reference/ddf_reference.json, written by
tests/reference/make_ddf_reference.R: lmerTest's contest (summary tables and their
intervals, Satterthwaite and Kenward-Roger), anova(m, type = 3, ddf = ), contest(joint =
TRUE) (lmerTest's contestMD), pbkrtest's vcovAdj and emmeans' emtrends. The models: the
running example's final model (REML and ML), High School and Beyond's random-slope model
with cross-level interactions and a factor, a simulated few-groups model (12 classes, where
Satterthwaite and Kenward-Roger differ clearly) and a simulated random-slope model with a
cross-level interaction and a three-level factor (both data sets are in the JSON).

Tolerances (lmerTest differentiates numerically; its optimum and ours differ slightly):
estimates 1e-6, standard errors 1e-5 (Kenward-Roger 1e-4), df 2e-3 relative, test
statistics 1e-4 (relative to their size), p-values 2e-4 absolute.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp

REF = json.loads((Path(__file__).parent / "reference" / "ddf_reference.json").read_text())
MODELS = ["pop_final", "pop_final_ml", "hsb_rb", "few_groups", "cross_level"]


def _r_name(name: str) -> str:
    """helpers' coefficient name -> R's ("Intercept" -> "(Intercept)", "f[T.b]" -> "fb")."""
    if name == "Intercept":
        return "(Intercept)"
    return ":".join(re.sub(r"^(.+)\[T\.(.+)\]$", r"\1\2", c) for c in name.split(":"))


_fits: dict = {}


def fit(model: str):
    if model not in _fits:
        ref = REF[model]
        if "data" in ref:
            data = pd.DataFrame(ref["data"])
        else:
            data = hp.load_dataset({"pop": "popularity", "hsb": "hsb"}[model[:3]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # none of these fits is singular
            _fits[model] = hp.fit_lmm(ref["formula"], data, reml=ref["reml"])
    return _fits[model]


def _close(ours, theirs, *, se_tol=1e-5):
    ours = ours.copy()
    ours.index = [_term_key(_r_name(n)) for n in ours.index]
    theirs = pd.DataFrame(theirs)
    theirs.index = [_term_key(t) for t in theirs["term"]]  # R writes "cses:sectorCatholic"
    theirs = theirs.loc[ours.index]
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["std_error"], theirs["std_error"], rtol=se_tol, atol=0)
    np.testing.assert_allclose(ours["df"], theirs["df"], rtol=2e-3)
    np.testing.assert_allclose(ours["statistic"], theirs["statistic"], rtol=1e-4)
    np.testing.assert_allclose(ours["p_value"], theirs["p_value"], rtol=0, atol=2e-4)
    for col in ("ci_lower", "ci_upper"):
        np.testing.assert_allclose(ours[col], theirs[col], rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_fixed_is_satterthwaite_as_lmertest(model):
    _close(fit(model).fixed, REF[model]["satterthwaite"])


@pytest.mark.parametrize("model", [m for m in MODELS if REF[m]["reml"]])
def test_kenward_roger_as_pbkrtest(model):
    m = fit(model)
    _close(m.wald(ddf="kenward-roger"), REF[model]["kenward_roger"], se_tol=1e-4)
    # pbkrtest's adjusted covariance itself
    phi_a = m.contrast(np.eye(len(m.beta)), ddf="kenward-roger")["std_error"] ** 2
    ref = np.diag(np.array(REF[model]["vcov_kenward_roger"]))
    np.testing.assert_allclose(phi_a, ref, rtol=2e-4)


# lmerTest refuses Kenward-Roger for ML fits (so do we: test_ddf_refusals_name_the_fix)
WITH_DDF = [(m, "satterthwaite") for m in MODELS] + [
    (m, "kenward-roger") for m in MODELS if REF[m]["reml"]
]
# emmeans' Kenward-Roger slopes only where pbkrtest ran (REML, below 3000 rows)
SLOPES = [
    (m, ddf)
    for m in MODELS
    if "slopes" in REF[m]
    for ddf in ("satterthwaite", "kenward-roger")
    if ddf.replace("-", "_") in REF[m]["slopes"]
]


@pytest.mark.parametrize(("model", "ddf"), WITH_DDF)
def test_anova_type3_as_lmertest(model, ddf):
    ours = fit(model).anova(ddf=ddf)
    theirs = pd.DataFrame(REF[model][f"anova_{ddf.replace('-', '_')}"]).set_index("term")
    ours.index = [_r_name(n) for n in ours.index]
    # R orders an interaction's variables as they first appear: "cses:sector"
    theirs.index = [_term_key(t) for t in theirs.index]
    ours.index = [_term_key(t) for t in ours.index]
    theirs = theirs.loc[ours.index]
    assert list(ours["num_df"]) == list(theirs["num_df"])
    np.testing.assert_allclose(ours["den_df"], theirs["den_df"], rtol=2e-3)
    np.testing.assert_allclose(ours["statistic"], theirs["statistic"], rtol=1e-4)
    np.testing.assert_allclose(ours["p_value"], theirs["p_value"], rtol=0, atol=2e-4)


def _term_key(term: str) -> str:
    return ":".join(sorted(term.split(":")))


@pytest.mark.parametrize(("model", "ddf"), WITH_DDF)
def test_joint_contrast_as_contestmd(model, ddf):
    key = f"joint_{ddf.replace('-', '_')}"
    m = fit(model)
    ref = REF[model][key]
    names = {_term_key(_r_name(n)): n for n in m.fixed_names}
    L = [{names[_term_key(c)]: 1.0} for c in ref["coefficients"]]
    ours = m.contrast(L, ddf=ddf, joint=True).iloc[0]
    assert ours["num_df"] == ref["num_df"]
    np.testing.assert_allclose(ours["den_df"], ref["den_df"], rtol=2e-3)
    np.testing.assert_allclose(ours["statistic"], ref["statistic"], rtol=1e-4)
    np.testing.assert_allclose(ours["p_value"], ref["p_value"], rtol=0, atol=2e-4)


@pytest.mark.parametrize(("model", "ddf"), SLOPES)
def test_slopes_as_emtrends(model, ddf):
    spec = REF[model]["slopes"]
    ref = pd.DataFrame(spec[ddf.replace("-", "_")])
    ours = fit(model).slopes(spec["var"], at={spec["moderator"]: ref["at"].tolist()}, ddf=ddf)
    assert ours.index.name == spec["moderator"]
    np.testing.assert_allclose(ours.index, ref["at"])
    se_tol = 1e-4 if ddf == "kenward-roger" else 1e-5
    np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["std_error"], ref["std_error"], rtol=se_tol)
    np.testing.assert_allclose(ours["df"], ref["df"], rtol=2e-3)
    np.testing.assert_allclose(ours["statistic"], ref["statistic"], rtol=1e-4)
    np.testing.assert_allclose(ours["p_value"], ref["p_value"], rtol=0, atol=2e-4)
    np.testing.assert_allclose(ours["ci_lower"], ref["ci_lower"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["ci_upper"], ref["ci_upper"], rtol=0, atol=1e-5)


def test_few_groups_methods_differ():
    """With 12 unbalanced classes Kenward-Roger's df and standard errors differ clearly
    from Satterthwaite's (both as R computes them), and ours follow each."""
    s = REF["few_groups"]["satterthwaite"]
    k = REF["few_groups"]["kenward_roger"]
    w = s["term"].index("w")
    assert k["std_error"][w] > 1.05 * s["std_error"][w]
    assert abs(k["df"][w] - s["df"][w]) > 0.2 * s["df"][w]
    ours = fit("few_groups")
    assert ours.fixed.loc["w", "df"] < 12 and ours.wald(ddf="kenward-roger").loc["w", "df"] < 12


# ------------------------------------------------------------ closed forms and checks


def test_johnson_neyman_bounds_are_where_the_test_is_at_alpha():
    """At each Johnson-Neyman bound the simple slope's two-sided p-value is alpha
    (Satterthwaite's df at that value), and inside/outside is as the p-values say."""
    m = fit("pop_final")
    for ddf in ("satterthwaite", "kenward-roger", "z"):
        jn = m.johnson_neyman("extrav", "texp", ddf=ddf)
        assert len(jn.bounds) == 2 and jn.significant == "outside"
        at = m.slopes("extrav", at={"texp": list(jn.bounds)}, ddf=ddf)
        np.testing.assert_allclose(at["p_value"], 0.05, rtol=1e-8)
        lo, hi = jn.bounds
        mid = m.slopes("extrav", at={"texp": [lo - 1, (lo + hi) / 2, hi + 1]}, ddf=ddf)
        assert list(mid["p_value"] < 0.05) == [True, False, True]


def test_slopes_are_the_contrast_of_the_coefficients():
    """slope of extrav at texp = t is b_extrav + t b_extrav:texp, with its own test."""
    m = fit("pop_final")
    s = m.slopes("extrav", at={"texp": [10.0]})
    c = m.contrast({"extrav": 1, "extrav:texp": 10})
    np.testing.assert_allclose(s.to_numpy(), c.to_numpy(), rtol=1e-12)
    b = m.fixed["estimate"]
    assert s["estimate"].iloc[0] == pytest.approx(b["extrav"] + 10 * b["extrav:texp"])


def test_single_coefficient_anova_is_the_squared_t():
    m = fit("cross_level")
    a = m.anova()
    f = m.fixed
    np.testing.assert_allclose(a.loc["x:z", "statistic"], f.loc["x:z", "statistic"] ** 2)
    np.testing.assert_allclose(a.loc["x:z", "den_df"], f.loc["x:z", "df"])
    assert a.loc["f", "num_df"] == 2


def test_z_table_is_the_normal_one():
    m = fit("pop_final")
    z = m.wald(ddf="z")
    assert np.all(np.isinf(z["df"]))
    np.testing.assert_allclose(z["p_value"], 2 * scipy.stats.norm.sf(abs(z["statistic"])))


def test_ddf_refusals_name_the_fix():
    with pytest.raises(ValueError, match="REML"):
        fit("pop_final_ml").wald(ddf="kenward-roger")
    m = fit("pop_final")
    with pytest.raises(ValueError, match="ddf must be one of"):
        m.wald(ddf="between-within")
    with pytest.raises(ValueError, match="does not have"):
        m.contrast({"extraversion": 1})
    with pytest.raises(ValueError, match="fillna"):
        m.contrast(pd.DataFrame([{"extrav": 1.0}, {"texp": 1.0}]))
    with pytest.raises(ValueError, match="all weights zero"):
        m.contrast({"extrav": 0})
    with pytest.raises(ValueError, match="5 columns"):
        m.contrast(np.ones(3))
    with pytest.raises(ValueError, match="not a predictor"):
        m.slopes("age", at={"texp": [1]})
    with pytest.raises(ValueError, match="not a variable"):
        m.slopes("extrav", at={"age": [1]})
    with pytest.raises(TypeError, match="at must be a dict"):
        m.slopes("extrav", at=[5, 15])
    with pytest.raises(ValueError, match="does not depend"):
        m.johnson_neyman("gender", "texp")
    with pytest.raises(ValueError, match="level"):
        m.wald(level=95)


def test_fixed_columns_and_laziness():
    m = hp.fit_lmm(REF["pop_final"]["formula"], hp.load_dataset("popularity"))
    assert m._ddf is None  # nothing computed by the fit, simulate or the estimates
    m.simulate(2, seed=1)
    assert len(m.beta) == 5 and m.n_params == 9
    m.predict()
    assert m._ddf is None
    assert list(m.fixed.columns) == [
        "estimate",
        "std_error",
        "df",
        "statistic",
        "p_value",
        "ci_lower",
        "ci_upper",
    ]
    assert m._ddf is not None
