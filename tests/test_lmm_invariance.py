"""Invariance under changes of units: the answer must not depend on how the data are scaled.

The expected values are the algebra of a change of variables, applied to the fit
on the original data (nothing is hard-coded):

* y -> a + c y:  beta_0 -> a + c beta_0, other beta -> c beta, standard errors -> |c| se,
  tau -> c^2 tau, sigma2 -> c^2 sigma2, conditional modes -> c b (their SDs |c|),
  predictions -> a + c pred; the deviance moves by exactly 2 n log|c| (ML) or
  2 (n - p) log|c| (REML), the Jacobian of the change of units.
* a predictor x -> c x (fixed, random slope, or both): beta_x -> beta_x / c,
  tau -> D tau D with D = diag(1 / c for x's random slope, 1 otherwise), the slope's
  conditional modes -> b / c; the ML deviance is unchanged, the REML criterion
  moves by 2 log|c| (its log|X'V^-1 X| term).
* x -> x + a with x's random slope in an unstructured block with the intercept:
  beta_0 -> beta_0 - a beta_x, tau -> A tau A' and b -> A b with
  A = [[1, -a], [0, 1]]; deviances unchanged (det A = 1).

Tests of the fixed effects (Satterthwaite's and Kenward-Roger's df, t and F statistics,
p-values, simple slopes) do not change under a rescaling or a shift of y, or a rescaling
of a predictor (a t statistic changes sign with its coefficient). Under a shift of a
predictor the coefficients that change are contrasts of the old ones (``x -> x + a``
in ``y ~ x * w``: ``beta_w -> beta_w - a beta_x:w``), and their tests are the tests of
those contrasts in the original fit; the other tests stay as they are.

Tolerances: the deviance within 1e-6 relative (the issue's promise); estimates within
1e-6 relative of their own size, covariances judged against the variances involved.
Factors span 1e-8 ... 1e8. Property tests are derandomized (the same examples on
every run), as in test_lmm_properties.py.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers as hp

SETTINGS = settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
REF = json.loads((Path(__file__).parent / "reference" / "lme4_reference.json").read_text())

MODELS = {
    "intercept": "y ~ x + w + (1 | g)",
    "slope": "y ~ x + w + (1 + x | g)",
    "uncorrelated": "y ~ x + w + (1 + x || g)",
}
FACTORS = st.floats(-8, 8).map(lambda e: 10.0**e) | st.floats(-8, 8).map(lambda e: -(10.0**e))
RTOL = 1e-6


@st.composite
def two_level_data(draw):
    """Unbalanced two-level data: x varies within groups (random slope), w is a covariate."""
    seed = draw(st.integers(0, 2**32 - 1))
    J = draw(st.integers(6, 14))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(4, 10, J)
    g = np.repeat(np.arange(J), sizes)
    x = rng.normal(size=len(g)) + rng.normal(size=J)[g]
    w = rng.normal(size=len(g))
    u0 = rng.normal(scale=1.0, size=J)
    u1 = rng.normal(scale=0.6, size=J)
    y = 2.0 + 0.7 * x - 0.4 * w + u0[g] + u1[g] * x + rng.normal(size=len(g))
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": g})


def fit(formula, df, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hp.fit_lmm(formula, df, reml=reml)


def assert_deviance(actual, expected):
    assert actual == pytest.approx(expected, rel=RTOL, abs=RTOL)


def assert_close(actual, expected, scale):
    """Agreement within 1e-6 of the quantity's own size (scale: its natural unit, broadcast)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    tol = RTOL * np.abs(expected) + RTOL * np.broadcast_to(np.asarray(scale, float), expected.shape)
    err = np.abs(actual - expected)
    worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else ()
    assert np.all(err <= tol), (
        f"{int((err > tol).sum())} of {err.size} differ; worst at {worst}: "
        f"{actual[worst]!r} vs {expected[worst]!r} (tolerance {tol[worst]:.3g})"
    )


def assert_cov(actual, expected):
    """Covariance matrices: each element within 1e-6 of sqrt(var_i var_j)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    d = np.sqrt(np.clip(np.diag(expected), 0, None))
    scale = np.outer(d, d)
    assert np.all(np.abs(actual - expected) <= RTOL * scale + 1e-300), (actual, expected)


def assert_same_tests(a, b, sign=1.0):
    """Every test of the fixed effects of b as a's (t statistics times sign)."""
    tables = [("satterthwaite", a.fixed, b.fixed)]
    if a.reml:
        tables.append(("kenward-roger", a.wald(ddf="kenward-roger"), b.wald(ddf="kenward-roger")))
    for ddf in ["satterthwaite"] + (["kenward-roger"] if a.reml else []):
        tables.append((f"anova {ddf}", a.anova(ddf=ddf), b.anova(ddf=ddf)))
    for what, ta, tb in tables:
        df = "den_df" if "den_df" in ta else "df"
        s = 1.0 if what.startswith("anova") else sign
        np.testing.assert_allclose(tb[df], ta[df], rtol=1e-6, err_msg=what)
        np.testing.assert_allclose(
            tb["statistic"], s * ta["statistic"], rtol=1e-6, atol=1e-6, err_msg=what
        )
        np.testing.assert_allclose(
            tb["p_value"], ta["p_value"], rtol=1e-4, atol=1e-10, err_msg=what
        )


def nu(m):
    return m.n_obs - (len(m.fixed) if m.reml else 0)


model_names = st.sampled_from(sorted(MODELS))


# --------------------------------------------------------------------------- outcome


@SETTINGS
@given(df=two_level_data(), model=model_names, c=FACTORS, reml=st.booleans())
def test_scaling_y(df, model, c, reml):
    a = fit(MODELS[model], df, reml)
    b = fit(MODELS[model], df.assign(y=df["y"] * c), reml)
    assert_deviance(b.deviance - 2 * nu(a) * np.log(abs(c)), a.deviance)
    beta = a.fixed["estimate"].to_numpy()
    assert_close(b.fixed["estimate"], c * beta, abs(c) * np.abs(beta).max())
    assert_close(b.fixed["std_error"], abs(c) * a.fixed["std_error"], 0)
    assert_cov(b.vcov, c**2 * a.vcov.to_numpy())
    assert_cov(b.tau, c**2 * a.tau.to_numpy())
    assert b.sigma2 == pytest.approx(c**2 * a.sigma2, rel=RTOL)
    re = a.ranef().to_numpy()
    assert_close(b.ranef(), c * re, abs(c) * np.sqrt(np.diag(a.tau.to_numpy())))
    assert_close(b.ranef_sd(), abs(c) * a.ranef_sd().to_numpy(), abs(c) * np.sqrt(a.sigma2))
    assert_close(b.fitted(), c * a.fitted(), abs(c) * np.sqrt(a.sigma2))
    assert b.singular == a.singular
    assert_same_tests(a, b, np.sign(c))


@SETTINGS
@given(
    df=two_level_data(),
    model=model_names,
    exponent=st.floats(-8, 8),
    sign=st.sampled_from([-1, 1]),
    reml=st.booleans(),
)
def test_shifting_y(df, model, exponent, sign, reml):
    shift = sign * 10.0**exponent
    a = fit(MODELS[model], df, reml)
    b = fit(MODELS[model], df.assign(y=df["y"] + shift), reml)
    # y + shift rounds each value to the spacing of doubles near |shift|: the data
    # themselves change by up to 1.1e-16 |shift|, which bounds what any fit can match.
    data_rounding = 4e-16 * abs(shift)
    sd = np.sqrt(a.sigma2)
    assert_deviance(b.deviance, a.deviance)
    expected = a.fixed["estimate"].to_numpy() + shift * (a.fixed.index == "Intercept")
    np.testing.assert_allclose(
        b.fixed["estimate"], expected, rtol=RTOL, atol=RTOL * sd + 10 * data_rounding
    )
    assert_close(b.fixed["std_error"], a.fixed["std_error"], 0)
    assert_cov(b.tau, a.tau)
    assert b.sigma2 == pytest.approx(a.sigma2, rel=RTOL)
    np.testing.assert_allclose(b.ranef(), a.ranef(), atol=RTOL * sd + 10 * data_rounding)
    np.testing.assert_allclose(
        b.fitted(), a.fitted() + shift, rtol=1e-15, atol=RTOL * sd + 10 * data_rounding
    )
    # every test but the intercept's (whose coefficient moves by the shift)
    slopes = [t for t in a.fixed_names if t != "Intercept"]
    for ta, tb in [(a.fixed, b.fixed)] + (
        [(a.wald(ddf="kenward-roger"), b.wald(ddf="kenward-roger"))] if reml else []
    ):
        ta, tb = ta.loc[slopes], tb.loc[slopes]
        np.testing.assert_allclose(tb["df"], ta["df"], rtol=1e-6)
        np.testing.assert_allclose(tb["statistic"], ta["statistic"], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(tb["p_value"], ta["p_value"], rtol=1e-4, atol=1e-10)


# ------------------------------------------------------------------------ predictors


@SETTINGS
@given(df=two_level_data(), model=model_names, c=FACTORS, reml=st.booleans())
def test_scaling_a_fixed_predictor(df, model, c, reml):
    a = fit(MODELS[model], df, reml)
    b = fit(MODELS[model], df.assign(w=df["w"] * c), reml)
    assert_deviance(b.deviance - (2 * np.log(abs(c)) if reml else 0.0), a.deviance)
    unit = np.where(a.fixed.index == "w", 1 / c, 1.0)
    beta = a.fixed["estimate"].to_numpy()
    se = a.fixed["std_error"].to_numpy()
    assert_close(b.fixed["estimate"], beta * unit, np.abs(unit) * se)
    assert_close(b.fixed["std_error"], se * np.abs(unit), 0)
    assert_cov(b.tau, a.tau)
    assert b.sigma2 == pytest.approx(a.sigma2, rel=RTOL)
    assert_close(b.ranef(), a.ranef(), np.sqrt(np.diag(a.tau.to_numpy())))
    assert_close(b.fitted(), a.fitted(), np.sqrt(a.sigma2))
    assert_same_tests(a, b, np.sign(unit))


@SETTINGS
@given(df=two_level_data(), model=model_names, c=FACTORS, reml=st.booleans())
def test_scaling_the_random_slope_predictor(df, model, c, reml):
    """x appears in the fixed part and (except in 'intercept') in the random part."""
    a = fit(MODELS[model], df, reml)
    b = fit(MODELS[model], df.assign(x=df["x"] * c), reml)
    assert_deviance(b.deviance - (2 * np.log(abs(c)) if reml else 0.0), a.deviance)
    unit = np.where(a.fixed.index == "x", 1 / c, 1.0)
    se = a.fixed["std_error"].to_numpy()
    assert_close(b.fixed["estimate"], a.fixed["estimate"].to_numpy() * unit, np.abs(unit) * se)
    assert_close(b.fixed["std_error"], se * np.abs(unit), 0)
    d = np.where(a.tau.index == "x", 1 / c, 1.0)
    assert_cov(b.tau, a.tau.to_numpy() * np.outer(d, d))
    assert b.sigma2 == pytest.approx(a.sigma2, rel=RTOL)
    tau_sd = np.sqrt(np.diag(a.tau.to_numpy()))
    assert_close(b.ranef(), a.ranef().to_numpy() * d, np.abs(d) * tau_sd)
    assert_close(b.ranef_sd(), a.ranef_sd().to_numpy() * np.abs(d), np.abs(d) * tau_sd)
    assert_close(b.fitted(), a.fitted(), np.sqrt(a.sigma2))
    assert b.singular == a.singular
    assert_same_tests(a, b, np.sign(unit))


@SETTINGS
@given(
    df=two_level_data(),
    exponent=st.floats(-8, 4),
    sign=st.sampled_from([-1, 1]),
    reml=st.booleans(),
)
def test_shifting_the_random_slope_predictor(df, exponent, sign, reml):
    """An exact reparametrisation when the slope shares an unstructured block with the intercept."""
    shift = sign * 10.0**exponent
    formula = MODELS["slope"]
    a = fit(formula, df, reml)
    b = fit(formula, df.assign(x=df["x"] + shift), reml)
    assert_deviance(b.deviance, a.deviance)
    beta = a.fixed["estimate"]
    expected = beta.to_numpy().copy()
    expected[a.fixed.index.get_loc("Intercept")] -= shift * beta["x"]
    se = a.fixed["std_error"]
    scale = se.to_numpy() * (1 + abs(shift))
    assert_close(b.fixed["estimate"], expected, scale)
    A = np.array([[1.0, -shift], [0.0, 1.0]])
    assert_cov(b.tau, A @ a.tau.to_numpy() @ A.T)
    assert b.sigma2 == pytest.approx(a.sigma2, rel=RTOL)
    tau_sd = np.sqrt(np.diag(A @ a.tau.to_numpy() @ A.T))
    assert_close(b.ranef(), a.ranef().to_numpy() @ A.T, tau_sd)
    assert_close(b.fitted(), a.fitted(), np.sqrt(a.sigma2))


INTERACTION = "y ~ x * w + (1 + x | g)"


def assert_tests_of_contrast(table, contrast, rows_b, rows_a, k=1.0):
    """Rows rows_b of table (a fit on shifted data) are the contrasts rows_a of the original.

    k = 1 + |shift|: a contrast beta_w - shift beta_x:w of the original fit carries
    shift times the (1e-6 relative) uncertainty of the optimum in beta_x:w, as the
    estimates' own check above allows."""
    tb, ta = table.loc[rows_b], contrast.loc[rows_a]
    np.testing.assert_allclose(tb["df"], ta["df"], rtol=1e-6)
    np.testing.assert_allclose(tb["statistic"], ta["statistic"], rtol=1e-6, atol=1e-6 * k)
    np.testing.assert_allclose(tb["p_value"], ta["p_value"], rtol=1e-4, atol=1e-6 * k)
    np.testing.assert_allclose(tb["std_error"], ta["std_error"], rtol=1e-6)


@SETTINGS
@given(
    df=two_level_data(),
    exponent=st.floats(-8, 4),
    sign=st.sampled_from([-1, 1]),
    reml=st.booleans(),
    which=st.sampled_from(["x", "w"]),
)
def test_shifting_a_predictor_under_an_interaction(df, exponent, sign, reml, which):
    """y ~ x * w: shifting w moves beta_0 and beta_x, shifting x (with its random slope)
    moves beta_0 and beta_w, as the algebra says; their tests become the tests of those
    contrasts in the original fit, the tests of the unchanged coefficients stay, and the
    simple slope of x at a value of w is the same once the value is shifted too."""
    a_shift = sign * 10.0**exponent
    other = "w" if which == "x" else "x"
    a = fit(INTERACTION, df, reml)
    b = fit(INTERACTION, df.assign(**{which: df[which] + a_shift}), reml)
    assert_deviance(b.deviance, a.deviance)
    # beta_other(b) = beta_other(a) - shift beta_x:w, beta_0(b) = beta_0(a) - shift beta_which
    contrasts = pd.DataFrame(
        [{"Intercept": 1.0, which: -a_shift}, {other: 1.0, "x:w": -a_shift}],
        index=["Intercept", other],
    ).fillna(0.0)
    ddfs = ["satterthwaite", "z"] + (["kenward-roger"] if reml else [])
    for ddf in ddfs:
        tb, ta = b.wald(ddf=ddf), a.wald(ddf=ddf)
        ca = a.contrast(contrasts, ddf=ddf)
        se = ca["std_error"].to_numpy() * (1 + abs(a_shift))
        assert_close(tb.loc[["Intercept", other], "estimate"], ca["estimate"], se)
        assert_tests_of_contrast(
            tb, ca, ["Intercept", other], ["Intercept", other], 1 + abs(a_shift)
        )
        assert_tests_of_contrast(tb, ta, [which, "x:w"], [which, "x:w"])
        assert_same_anova = b.anova(ddf=ddf).loc[["x:w"]], a.anova(ddf=ddf).loc[["x:w"]]
        np.testing.assert_allclose(
            assert_same_anova[0].to_numpy(), assert_same_anova[1].to_numpy(), rtol=1e-6
        )
    if which == "w":
        values = np.quantile(df["w"], [0.1, 0.5, 0.9])
        for ddf in ddfs:
            sa = a.slopes("x", at={"w": values}, ddf=ddf)
            sb = b.slopes("x", at={"w": values + a_shift}, ddf=ddf)
            scale = sa["std_error"].to_numpy()
            assert_close(sb["estimate"], sa["estimate"], scale * (1 + abs(a_shift)))
            np.testing.assert_allclose(sb["std_error"], sa["std_error"], rtol=1e-6)
            np.testing.assert_allclose(sb["df"], sa["df"], rtol=1e-6)
            np.testing.assert_allclose(sb["p_value"], sa["p_value"], rtol=1e-4, atol=1e-10)


# ----------------------------------------------------------------- the cases


def test_sleepstudy_with_days_in_millionths_gives_lme4s_unscaled_deviance():
    """Issue 11: Days x 1e-6 gave 1760.81 (lme4 itself returns 1787.7 and warns).

    The ML deviance does not depend on the units of Days: it must equal lme4's fit
    on the unscaled data, 1751.94 (tests/reference/lme4_reference.json, sleep_corr_ml).
    """
    ref = REF["models"]["sleep_corr_ml"]
    s = hp.load_dataset("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning either
        m = hp.fit_lmm(
            "Reaction ~ Days + (Days | Subject)", s.assign(Days=s.Days * 1e-6), reml=False
        )
    assert m.deviance == pytest.approx(ref["deviance"], rel=1e-6)
    assert round(m.deviance, 2) == 1751.94
    assert m.converged and not m.singular
    # The slope and its variance in units of Days: lme4's values times 1e6 and 1e12.
    slope = dict(zip(ref["fixed"]["term"], ref["fixed"]["estimate"], strict=True))["Days"]
    assert m.fixed.loc["Days", "estimate"] == pytest.approx(slope * 1e6, rel=1e-5)
    tau_ref = np.array(ref["tau"]["matrix"], dtype=float)
    assert m.tau.loc["Days", "Days"] == pytest.approx(tau_ref[1, 1] * 1e12, rel=1e-4)


def test_popularity_with_a_shifted_outcome_keeps_its_deviance():
    """Issue 11: popular + 1e7 moved the REML criterion by tens of units (and warned)."""
    pop = hp.load_dataset("popularity")
    a = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = hp.fit_lmm("popular ~ extrav + (1 | class)", pop.assign(popular=pop.popular + 1e7))
    assert b.deviance == pytest.approx(a.deviance, rel=1e-6)
    assert b.fixed.loc["Intercept", "estimate"] - 1e7 == pytest.approx(
        a.fixed.loc["Intercept", "estimate"], abs=1e-6
    )
    assert b.tau.iloc[0, 0] == pytest.approx(a.tau.iloc[0, 0], rel=1e-6)
    assert b.converged


def test_predict_on_new_data_follows_the_units(sleep=None):
    """Predictions for new rows: the same in any units of the predictor."""
    s = hp.load_dataset("sleepstudy")
    a = fit("Reaction ~ Days + (Days | Subject)", s, reml=True)
    b = fit("Reaction ~ Days + (Days | Subject)", s.assign(Days=s.Days * 1e6 + 3e7), reml=True)
    new = s.head(20)
    assert_close(
        b.predict(new.assign(Days=new.Days * 1e6 + 3e7)), a.predict(new), np.sqrt(a.sigma2)
    )
