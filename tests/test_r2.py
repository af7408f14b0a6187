"""MixedFit.r2: Nakagawa-Schielzeth R-squared and Snijders-Bosker's level-1/level-2 R-squared.

Reference values come from R: ``tests/reference/make_r2_reference.R`` runs
``performance::r2_nakagawa`` on lme4/glmer fits of the project's data (tight optimiser
settings) and computes Snijders & Bosker's published formulas from lme4's estimates of
the model and of the empty model; it wrote ``tests/reference/r2_reference.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import helpers as hp

REF = json.loads((Path(__file__).parent / "reference" / "r2_reference.json").read_text())["models"]


def _fit(ref):
    data = hp.load_dataset(ref["data"])
    if ref.get("link"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", hp.SingularFitWarning)
            return hp.fit_glmm(ref["formula"], data, family="binomial", link=ref["link"])
    return hp.fit_lmm(ref["formula"], data, reml=ref["reml"])


@pytest.fixture(scope="module")
def fits():
    return {key: _fit(ref) for key, ref in REF.items()}


@pytest.mark.parametrize("key", sorted(REF))
def test_nakagawa_r2_equals_performance(fits, key):
    ref, r2 = REF[key], fits[key].r2()
    assert r2["marginal"] == pytest.approx(ref["marginal"], abs=1e-4)
    assert r2["conditional"] == pytest.approx(ref["conditional"], abs=1e-4)
    var_f, var_r, var_e = fits[key]._r2_parts()
    assert var_f == pytest.approx(ref["var_fixed"], rel=1e-4)
    assert var_r == pytest.approx(ref["var_random"], rel=1e-4)
    assert var_e == pytest.approx(ref["var_residual"], rel=1e-4)


@pytest.mark.parametrize("key", sorted(k for k, r in REF.items() if "snijders_bosker" in r))
def test_snijders_bosker_r2_equals_the_published_formula(fits, key):
    sb = REF[key]["snijders_bosker"]
    r2 = fits[key].r2()
    assert r2["n"] == pytest.approx(sb["n_harmonic"], rel=1e-12)
    assert r2["level1"] == pytest.approx(sb["harmonic"]["level1"], abs=1e-4)
    assert r2["level2"] == pytest.approx(sb["harmonic"]["level2"], abs=1e-4)
    at10 = fits[key].r2(n=10)
    assert at10["level2"] == pytest.approx(sb["n10"]["level2"], abs=1e-4)
    # The empty model may be passed in instead of refitted: the same numbers.
    f = fits[key]
    null = hp.fit_lmm(
        f"{REF[key]['formula'].split('~')[0].strip()} ~ 1 + (1 | {f.group})",
        hp.load_dataset(REF[key]["data"]),
        reml=f.reml,
    )
    assert f.r2(null=null)["level2"] == pytest.approx(r2["level2"], rel=1e-9)


def test_random_slope_models_report_no_snijders_bosker_r2(fits):
    r2 = fits["pop_final_reml"].r2()
    assert list(r2.index) == ["marginal", "conditional"]
    with pytest.raises(ValueError, match="random-intercept models"):
        fits["pop_final_reml"].r2(n=20)


def test_r2_is_unchanged_by_units(pop):
    """Rescaling or shifting the outcome or a predictor leaves every R-squared unchanged."""
    formula = "popular ~ extrav + gender + texp + (1 | class)"
    base = hp.fit_lmm(formula, pop).r2()
    for col, a, b in [("popular", 1e6, -3.0), ("popular", 1e-6, 5.0), ("texp", 1e8, 7.0)]:
        moved = pop.assign(**{col: pop[col] * a + b})
        np.testing.assert_allclose(hp.fit_lmm(formula, moved).r2(), base, rtol=1e-6)


def test_r2_bad_input(fits, pop):
    m = fits["pop_ri_reml"]
    with pytest.raises(ValueError, match="positive group size"):
        m.r2(n=0)
    with pytest.raises(TypeError, match="fit from hp.fit_lmm"):
        m.r2(null="empty")
    with pytest.raises(ValueError, match="empty model"):
        m.r2(null=m)
    other = hp.fit_lmm("popular ~ 1 + (1 | class)", pop.iloc[:-20])
    with pytest.raises(ValueError, match="same rows"):
        m.r2(null=other)
    counts = hp.load_dataset("sim_counts")
    g = hp.fit_glmm("count ~ x + (1 | group)", counts, family="poisson")
    with pytest.raises(ValueError, match="binomial models with a logit or probit link"):
        g.r2()
