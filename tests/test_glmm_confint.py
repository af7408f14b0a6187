"""GlmmFit.confint(): profile and Wald intervals against lme4's glmer, properties, bad input.

Reference numbers: the "confint" entries of tests/reference/glmer_reference.json,
written by tests/reference/make_glmm_reference.R (lme4 1.1-31, the "tight" fits):
``confint(profile(fit))`` at levels 0.95 and 0.9; points of lme4's profile (a
parameter's value, zeta there, lme4's minimiser of the other parameters, lme4's
deviance function there and a plain-R exact Laplace deviance there);
``confint(fit, method = "Wald")`` for the fixed effects; and standard errors from
the Hessian of lme4's deviance on the scale of standard deviations, correlations
and fixed effects (``lme4:::devfun2``, differentiated by ``lme4:::deriv12``).
Models: contraception, random intercept by Laplace and by 20-point quadrature,
random slope (correlated); sim_counts cbind() binomial; a singular fit.

Tolerances, and why (measured on this machine; each test says more):

* Profile ends, as a fraction of the interval's width. lme4 profiles at a grid
  of points and reads the ends off an interpolating spline; helpers solves
  zeta(x) = +/-z to 1e-5 in zeta on the profile itself. With quadrature, whose
  deviance function in lme4 is exact, the ends agree to 1e-6 of the width
  (tolerance 1e-5). With the Laplace approximation lme4's deviance function is
  up to 3e-3 too high at some of its profile points (shown against the plain-R
  Laplace), which bends its spline: up to 6.8e-4 of the width (tolerance 1e-3).
* Profile points (no interpolation): zeta to 1e-4 where lme4's deviance is
  exact, else ours is the smaller |zeta| (the lower minimum) within 5e-3.
* Wald: fixed-effect ends within 5e-4 of the width (measured 1.7e-4; 1e-5 of the
  plain-R exact Laplace's); random-part
  standard errors (glmer gives none) against lme4's deriv12 Hessian, 1e-4
  relative with quadrature (measured 8e-7), 5e-3 with lme4's inexact Laplace
  deviance (measured 3.2e-3).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp

_JSON = json.loads(
    (Path(__file__).parent / "reference" / "glmer_reference.json").read_text(encoding="utf-8")
)
REF, BOUNDARY = _JSON["models"], _JSON["boundary"]
KEYS = sorted(k for k, r in REF.items() if "confint" in r)
Z975 = 1.959963984540054


def _listed(x) -> list:
    """A JSON list written with auto_unbox (a scalar for length 1)."""
    return x if isinstance(x, list) else [x]


@cache
def _fit(key: str) -> hp.GlmmFit:
    r = REF[key]
    data = hp.load_dataset(r["data"])
    return hp.fit_glmm(
        r["formula"].replace("offset(log(", "offset(np.log("),
        data,
        family=r["family"],
        link=r["link"],
        nagq=r["nagq"],
    )


def _profile(key: str, level: float = 0.95) -> pd.DataFrame:
    return _profile_at(key, level)


@cache  # (key, level) always passed alike, so that each profile is computed once
def _profile_at(key: str, level: float) -> pd.DataFrame:
    return _fit(key).confint(method="profile", level=level)


def _names(key: str) -> dict[str, str]:
    """lme4's parameter names ('sd_(Intercept)|district', 'cor_urbanY.(Intercept)|district',
    'urbanY') -> ours ('sd(Intercept)', 'cor(Intercept, urban[T.Y])', 'urban[T.Y]'),
    matching terms by position (lme4 and helpers order them alike)."""
    if key in BOUNDARY:
        r, fit = BOUNDARY[key], _boundary_fit()
    else:
        r, fit = REF[key], _fit(key)
    group = fit.group
    fixed = dict(zip(_listed(r["fixed"]["term"]), fit.fixed.index, strict=True))
    terms = dict(zip(_listed(r["tau"]["terms"]), fit.random_terms, strict=True))
    out = dict(fixed)
    for a, ours_a in terms.items():
        out[f"sd_{a}|{group}"] = f"sd({ours_a})"
        for b, ours_b in terms.items():
            if fit.random_terms.index(ours_a) < fit.random_terms.index(ours_b):
                out[f"cor_{b}.{a}|{group}"] = f"cor({ours_a}, {ours_b})"
    return out


# ------------------------------------------------------------------ against glmer


def _tol(key: str) -> float:
    """Allowed difference of an interval end, as a fraction of the interval's width.

    lme4's quadrature deviance function is exact (its profile points agree with
    ours to 4e-10 in zeta, test below), and its ends agree to 2.2e-6 of the width:
    1e-5. Its Laplace deviance function is off the exact Laplace value by up to
    3e-3 at some profile points (shown below with a plain-R Laplace), which moves
    the spline it reads the ends from: measured up to 6.8e-4 of the width, 1e-3.
    """
    return 1e-5 if REF[key]["nagq"] > 1 else 1e-3


@pytest.mark.parametrize("level", [0.95, 0.9])
@pytest.mark.parametrize("key", KEYS)
def test_profile_ends_agree_with_glmer(key, level):
    ours = _profile(key, level)
    ref = REF[key]["confint"]["profile" if level == 0.95 else "profile_90"]
    names = _names(key)
    assert sorted(names[p] for p in ref["parameter"]) == sorted(ours.index)
    for p, lo, hi in zip(ref["parameter"], ref["lower"], ref["upper"], strict=True):
        # lme4 warns "bad spline fit" for the correlation of contra_rs_laplace and
        # interpolates linearly between its profile points there (measured: 5.5e-3
        # of the width); its profile points are compared below instead.
        tol = (1e-2 if p.startswith("cor_") else _tol(key)) * (hi - lo)
        row = ours.loc[names[p]]
        assert row["ci_lower"] == pytest.approx(lo, abs=tol), (key, p)
        assert row["ci_upper"] == pytest.approx(hi, abs=tol), (key, p)


def _lme4_order(key: str, r: dict) -> list[str]:
    """Our names of the parameters in lme4's devfun2 order (sd_1, cor_21, sd_2, fixed)."""
    names = _names(key)
    if "sd_scale" in r["confint"]:
        return [names[p] for p in r["confint"]["sd_scale"]["parameter"]]
    return ["sd(Intercept)", *(names[t] for t in _listed(r["fixed"]["term"]))]  # scalar


def _point_cases():
    cases = [(k, REF[k]) for k in KEYS] + [(k, BOUNDARY[k]) for k in sorted(BOUNDARY)]
    return [pytest.param(k, r, id=k) for k, r in cases]


@pytest.mark.parametrize(("key", "r"), _point_cases())
def test_profile_passes_through_glmers_profile_points(key, r):
    """zeta at the points lme4 profiled (nearest zeta = -2, -1, 1, 2 for every
    parameter): the deviance minimised over all other parameters with one held
    fixed, without interpolation on either side.

    * Our deviance function at lme4's minimiser equals the plain-R exact Laplace
      deviance there (1e-6), or lme4's own quadrature deviance (1e-6).
    * Our minimum is never above the deviance of lme4's minimiser (we find at
      least as good a point), on that exact criterion.
    * Where lme4's deviance function is exact there, zeta agrees to 1e-4
      (measured: 4e-10 for quadrature, up to 1.5e-5 elsewhere). Where it is not (lme4's
      Laplace deviance is up to 3e-3 too high at some points, which makes its
      |zeta| too large), ours is smaller, within 5e-3 (measured: 3.1e-3).
    """
    fit = _fit(key) if key in REF else _boundary_fit()
    gp = fit.deviance_profile()
    names = _names(key)
    order = [gp.names.index(n) for n in _lme4_order(key, r)]
    quadrature = r["nagq"] > 1
    for p, pts in r["confint"]["points"].items():
        k = gp.names.index(names[p])
        values, zetas = _listed(pts["value"]), _listed(pts["zeta"])
        minimisers = np.array(pts["par"], dtype=float).reshape(len(values), -1)
        devfun = _listed(pts["devfun"])
        exact = _listed(pts["exact"]) if "exact" in pts else devfun if quadrature else None
        for i, x in enumerate(values):
            dev, _ = gp.minimise(k, x, None)
            zeta = np.sign(x - gp.par_hat[k]) * np.sqrt(max(dev - gp.dev_hat, 0.0))
            par = np.empty(len(order))
            par[order] = minimisers[i]
            ours_there = gp.deviance(np.linalg.solve(gp.A, par))
            if exact is not None:
                assert ours_there == pytest.approx(exact[i], abs=1e-6), (key, p, x)
            assert dev <= (ours_there if exact is None else exact[i]) + 1e-6, (key, p, x)
            if abs(devfun[i] - ours_there) < 1e-6:
                assert zeta == pytest.approx(zetas[i], abs=1e-4), (key, p, x)
            else:
                assert abs(zeta) <= abs(zetas[i]) + 1e-5, (key, p, x)
                assert zeta == pytest.approx(zetas[i], abs=5e-3), (key, p, x)


@pytest.mark.parametrize("key", KEYS)
def test_wald_intervals_agree_with_glmer(key):
    """Fixed effects: estimate +/- z SE, with the estimates and standard errors
    within their tolerances of test_glmm_reference.py: within 5e-4 of the width
    (measured: 1.7e-4 for the cbind model, where lme4's deviance function, and so
    its Hessian, is inexact; 1e-5 elsewhere), and within 1e-5 of the width of
    the plain-R exact Laplace optimum and standard errors. Random part: glmer gives NA; helpers, as for a linear mixed model, the
    curvature of the deviance on the standard-deviation scale, against lme4's
    deriv12 Hessian of devfun2 (measured: 7.8e-7 relative for quadrature, up to
    3.2e-3 with lme4's Laplace deviance function, which is inexact, see above)."""
    ci = _fit(key).confint(method="wald")
    ref = REF[key]["confint"]
    names = _names(key)
    ours = [names[p] for p in _listed(ref["wald"]["parameter"])]
    width = np.subtract(ref["wald"]["upper"], ref["wald"]["lower"])
    assert np.all(np.abs(ci.loc[ours, "ci_lower"] - ref["wald"]["lower"]) < 5e-4 * width), key
    assert np.all(np.abs(ci.loc[ours, "ci_upper"] - ref["wald"]["upper"]) < 5e-4 * width), key
    exact = REF[key].get("exact_laplace")
    if exact:  # the plain-R exact Laplace optimum and its standard errors
        est, se = np.array(exact["estimate"]), np.array(exact["std_error"])
        gap_lo = np.abs(ci.loc[ours, "ci_lower"].to_numpy() - (est - Z975 * se))
        gap_hi = np.abs(ci.loc[ours, "ci_upper"].to_numpy() - (est + Z975 * se))
        assert np.all(gap_lo < 1e-5 * width) and np.all(gap_hi < 1e-5 * width), (gap_lo, gap_hi)
    sd = ref["sd_scale"]
    random = [(names[p], se) for p, se in zip(sd["parameter"], sd["se"], strict=True)]
    random = [(p, se) for p, se in random if p.startswith(("sd(", "cor("))]
    assert random
    rel = 1e-4 if REF[key]["nagq"] > 1 else 5e-3
    for p, se in random:
        half = ci.loc[p, "ci_upper"] - ci.loc[p, "estimate"]
        assert half / Z975 == pytest.approx(se, rel=rel), (key, p)
        assert ci.loc[p, "estimate"] - ci.loc[p, "ci_lower"] == pytest.approx(half, rel=1e-12)


def test_quadrature_fit_is_profiled_on_its_own_deviance():
    """nagq=20 and the Laplace fit of the same model give different intervals, each
    matching glmer's for that approximation (checked above)."""
    lap, agq = _profile("contra_ri_laplace"), _profile("contra_ri_agq20")
    gap = (agq["ci_upper"] - lap["ci_upper"]).abs()
    assert gap.loc["sd(Intercept)"] > 1e-3


# ------------------------------------------------------------------- properties


@pytest.mark.parametrize("key", KEYS)
def test_intervals_contain_the_estimate(key):
    for ci in (_profile(key), _fit(key).confint(method="wald")):
        assert (ci["ci_lower"] < ci["estimate"]).all(), key
        assert (ci["estimate"] < ci["ci_upper"]).all(), key
    narrow, wide = _profile(key, 0.9), _profile(key)
    assert (wide["ci_lower"] < narrow["ci_lower"]).all()
    assert (narrow["ci_upper"] < wide["ci_upper"]).all()


def test_profile_of_a_standard_deviation_is_skewed_to_the_right():
    ci = _profile("contra_ri_laplace").loc["sd(Intercept)"]
    assert ci["ci_upper"] - ci["estimate"] > 1.1 * (ci["estimate"] - ci["ci_lower"])


def test_output_has_the_shape_and_labels_of_the_lmm_intervals():
    fit = _fit("contra_rs_laplace")
    ci = _profile("contra_rs_laplace")
    assert list(ci.columns) == ["estimate", "ci_lower", "ci_upper"]
    assert ci.index.name == "parameter"
    assert list(ci.index) == [
        "sd(Intercept)",
        "sd(urban[T.Y])",
        "cor(Intercept, urban[T.Y])",
        *fit.fixed.index,
    ]
    assert "sigma" not in ci.index  # a binomial model has no residual scale
    np.testing.assert_allclose(ci.loc[fit.fixed.index, "estimate"], fit.fixed["estimate"])
    np.testing.assert_allclose(
        ci.loc[["sd(Intercept)", "sd(urban[T.Y])"], "estimate"], np.sqrt(np.diag(fit.tau))
    )
    assert ci.loc["cor(Intercept, urban[T.Y])", "estimate"] == pytest.approx(
        fit.correlations().iloc[0, 1]
    )
    pd.testing.assert_index_equal(fit.confint(method="wald").index, ci.index)


@pytest.fixture(scope="module")
def chapter9():
    """Chapter 9's model, and the same model with age shifted and rescaled."""
    d = hp.load_dataset("contraception")
    d2 = d.assign(age_months=(d["age"] + 10.0) * -12.0)  # shifted, rescaled, sign flipped
    a = hp.fit_glmm("use ~ age + urban + (1 | district)", d)
    b = hp.fit_glmm("use ~ age_months + urban + (1 | district)", d2)
    return a, b


@pytest.mark.parametrize("method", ["profile", "wald"])
def test_fixed_effect_intervals_transform_as_the_coefficients(chapter9, method):
    """age_months = -12 (age + 10): the slope of age_months is -slope(age) / 12, so its
    interval is the age interval times -1/12 (ends swapped); the intercept becomes
    intercept - 10 slope(age), a different parameter, and is left out. Everything
    else (urban, the district SD) is the same model and the same interval."""
    a, b = (m.confint(method=method) for m in chapter9)
    np.testing.assert_allclose(
        b.loc["age_months", ["estimate", "ci_lower", "ci_upper"]],
        a.loc["age", ["estimate", "ci_upper", "ci_lower"]] / -12.0,
        rtol=1e-6,
    )
    same = ["urban[T.Y]", "sd(Intercept)"]
    np.testing.assert_allclose(b.loc[same], a.loc[same], rtol=1e-6)


@cache
def _boundary_fit() -> hp.GlmmFit:
    r = BOUNDARY["boundary_ri_laplace"]
    data = hp.load_dataset(r["data"])
    data = data.assign(block=data["id"] % 37 + 1)
    with pytest.warns(hp.SingularFitWarning):
        return hp.fit_glmm(r["formula"], data)


def test_boundary_fit_agrees_with_glmer():
    """Groups that have nothing to do with the outcome (block = id % 37 + 1): the SD
    is estimated as 0 (a singular fit). The profile's lower end is the boundary 0,
    as lme4's; the upper end and the fixed effects' ends agree with glmer's; the
    Wald interval of the SD does not exist (NaN) while the fixed effects' do."""
    r = BOUNDARY["boundary_ri_laplace"]
    m = _boundary_fit()
    assert m.singular and r["singular"]
    names = _names("boundary_ri_laplace")
    for level, key in ((0.95, "profile"), (0.9, "profile_90")):
        prof = m.confint(level=level)
        ref = r["confint"][key]
        ours = [names[p] for p in ref["parameter"]]
        assert prof.loc["sd(Intercept)", "ci_lower"] == 0.0 == ref["lower"][0]
        np.testing.assert_allclose(prof.loc[ours, "ci_lower"], ref["lower"], rtol=5e-4)
        np.testing.assert_allclose(prof.loc[ours, "ci_upper"], ref["upper"], rtol=5e-4)
        assert (prof["ci_lower"] <= prof["estimate"]).all()
        assert (prof["estimate"] <= prof["ci_upper"]).all()
    wald = m.confint(method="wald")
    assert np.isnan(wald.loc["sd(Intercept)", ["ci_lower", "ci_upper"]]).all()
    assert np.isfinite(wald.loc[m.fixed.index, ["ci_lower", "ci_upper"]]).all(axis=None)


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "jackknife"}, ValueError, "method must be one of"),
        ({"method": "bootstrap"}, ValueError, "linear mixed models .* only.*'profile'.*'wald'"),
        ({"method": "bootstrap", "n": 100, "seed": 1}, ValueError, "method='profile'"),
        ({"method": "profile", "n": 100}, ValueError, "does not use them"),
        ({"level": 0}, ValueError, "strictly between 0 and 1"),
        ({"level": 1.0}, ValueError, "strictly between 0 and 1"),
        ({"level": 95}, ValueError, "strictly between 0 and 1"),
        ({"level": -0.5}, ValueError, "strictly between 0 and 1"),
        ({"level": "0.95"}, TypeError, "level must be a number"),
        ({"level": True}, TypeError, "level must be a number"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, message):
    with pytest.raises(error, match=message):
        _fit("trials_cbind_laplace").confint(**kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        _fit("trials_cbind_laplace").confint("wald")


def test_a_fit_off_its_optimum_is_reported():
    """Estimates moved off the optimum (here the slope by one standard error): the
    profile finds deviances below the fit's, which lme4 stops on; helpers warns."""
    import dataclasses

    fit = _fit("trials_cbind_laplace")
    moved = fit.fixed["estimate"].to_numpy() + [0.0, fit.fixed.loc["x", "std_error"]]
    off = dataclasses.replace(fit, _beta=moved)  # the estimates behind fit.fixed
    assert off.fixed.loc["x", "estimate"] == moved[1]
    with pytest.warns(hp.ConvergenceWarning, match="deviance .* below the fit's"):
        off.confint()
