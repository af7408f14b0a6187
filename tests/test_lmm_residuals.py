"""Residual correlation structures (hp.AR1, hp.CAR1) in fit_lmm, against nlme::lme.

Reference numbers: tests/reference/residuals_reference.json, written by
tests/reference/make_residuals_reference.R (nlme::lme, REML and ML, on the sleep study
and on simulated unbalanced designs with known phi = 0.6 whose rows the JSON holds).
Where nlme stops short of its optimum (the sleep study's random-slope model with AR(1)
errors lies on the boundary: the slope and intercept are perfectly correlated, which
nlme's parametrisation can only approach), the test shows it with the criterion: our
log-likelihood is higher, and the profiled likelihood at nlme's phi is lower than ours.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp
from helpers.residuals import containment_df

REF = json.loads((Path(__file__).parent / "reference" / "residuals_reference.json").read_text())

MODELS = {
    "sleep_ar1_slope": ("Reaction ~ Days + (Days | Subject)", "sleep", hp.AR1(time="Days")),
    "sleep_ar1_int": ("Reaction ~ Days + (1 | Subject)", "sleep", hp.AR1(time="Days")),
    "sim_ar1_int": ("y ~ occ + z + (1 | id)", "sim", hp.AR1(time="occ")),
    "sim_ar1_slope": ("y ~ occ + z + x + (occ | id)", "sim", hp.AR1(time="occ")),
    "sim_car1_int": ("yc ~ t + z + (1 | id)", "sim", hp.CAR1(time="t")),
}
# nlme stopped short of its optimum here (it warns "singular convergence"): judged by
# the criterion in test_nlme_stops_short, and compared with looser tolerances below.
SHORT = {"sleep_ar1_slope"}


def data(name: str) -> pd.DataFrame:
    if name == "sleep":
        return hp.load_dataset("sleepstudy")
    return pd.DataFrame(REF["sim_data"])


@cache
def fitted(key: str, reml: bool) -> hp.LmmFit:
    formula, d, structure = MODELS[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        return hp.fit_lmm(formula, data(d), reml=reml, residuals=structure)


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("key", list(MODELS))
def test_against_nlme(key, reml):
    r = REF[f"{key}_{'REML' if reml else 'ML'}"]
    m = fitted(key, reml)
    assert m.converged
    # log-likelihood: 1e-6 relative, and never below nlme's (ours is the optimum)
    assert m.loglik == pytest.approx(r["loglik"], rel=1e-6)
    assert m.loglik >= r["loglik"] - 1e-9 * abs(r["loglik"])
    assert m.residual_params["phi"] == pytest.approx(r["phi"], abs=1e-4)
    beta_r = np.array(list(r["fixed"].values()))
    se_r = np.array(list(r["std_error"].values()))
    np.testing.assert_allclose(m.beta, beta_r, rtol=1e-5)
    if not reml:  # nlme's ML standard errors use sigma^2 * n / (n - p); lme4's (ours) not
        se_r = se_r * np.sqrt((m.n_obs - len(m.beta)) / m.n_obs)
    np.testing.assert_allclose(m.fixed["std_error"], se_r, rtol=1e-4 if key not in SHORT else 2e-3)
    # nlme's containment df, exactly
    np.testing.assert_array_equal(m.wald(ddf="containment")["df"], list(r["df"].values()))
    rtol = 1e-3 if key not in SHORT else 2e-2
    np.testing.assert_allclose(np.sqrt(m.sigma2), r["sigma"], rtol=rtol)
    tau_r = np.array(r["tau"])
    np.testing.assert_allclose(
        m.tau.to_numpy(), tau_r, rtol=rtol, atol=1e-4 * max(tau_r.max(), r["sigma"] ** 2)
    )
    b = m.ranef().loc[[type(m.groups[0])(g) for g in r["ranef_groups"]]].to_numpy()
    np.testing.assert_allclose(b, np.array(r["ranef"]), rtol=rtol, atol=1e-4 * r["sigma"])
    # level-1 fitted values (nlme: fitted(m, level = 1)) in the data's row order
    fit_rtol = 1e-5 if key not in SHORT else 1e-4
    np.testing.assert_allclose(m.predict().to_numpy(), r["fitted"], rtol=fit_rtol)


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_nlme_stops_short(reml):
    """On the sleep study's random-slope model nlme stops below the optimum: the
    profiled likelihood at nlme's phi (theta re-optimised) is below ours at our phi."""
    r = REF[f"sleep_ar1_slope_{'REML' if reml else 'ML'}"]
    m = fitted("sleep_ar1_slope", reml)
    assert m.loglik > r["loglik"] + 1e-6
    assert m.singular  # the optimum has the intercept and slope perfectly correlated

    # The profile at nlme's phi: the engine's optimum over theta there.
    bound_at = _profile_at(m, r["phi"])
    assert bound_at < m.loglik
    assert bound_at >= r["loglik"] - 1e-9 * abs(r["loglik"])


def _profile_at(m: hp.LmmFit, phi: float) -> float:
    """The log-likelihood maximised over the other parameters with phi held fixed."""
    from helpers._pls import ThetaMap, optimize, sufficient_stats

    bound = m._residual[0]
    internal = m._design.internal()
    w, logdet = bound.whiten(internal, [phi])
    stats = sufficient_stats(w)
    tmap = ThetaMap(m._design.blocks, m._design.Z.shape[1])
    opt = optimize(stats, tmap, m.reml, m._theta_internal)
    n, p = stats.n, len(m.beta)
    dev = m._design.units.deviance(opt.pls.deviance, n, p, m.reml) + logdet
    return -0.5 * dev


def test_sleep_without_correlation_matches_nlme():
    """Without a structure fit_lmm is lme4's fit, and lme4 and nlme agree on it."""
    for reml in (True, False):
        r = REF[f"sleep_none_slope_{'REML' if reml else 'ML'}"]
        m = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", data("sleep"), reml=reml)
        assert m.loglik == pytest.approx(r["loglik"], rel=1e-8)
        assert m.residual_params.empty and m.residual_structure is None


def test_deviance_equals_dense_likelihood():
    """The whitened engine's deviance is -2 log-likelihood of y ~ N(X beta, V) with
    V_j = Z_j tau Z_j' + sigma^2 R_j(phi), evaluated densely here (ML and REML)."""
    for reml in (False, True):
        m = fitted("sim_ar1_slope", reml)
        d = m._design
        phi, s2, tau = m.residual_params["phi"], m.sigma2, m.tau.to_numpy()
        t = data("sim")["occ"].to_numpy(float)
        dev = 0.0
        XtVX = np.zeros((len(m.beta),) * 2)
        for j in range(m.n_groups):
            rows = np.flatnonzero(d.codes == j)
            X, Z, y = d.X[rows], d.Z[rows], d.y[rows]
            V = Z @ tau @ Z.T + s2 * phi ** np.abs(t[rows, None] - t[None, rows])
            r = y - X @ m.beta
            dev += np.linalg.slogdet(V)[1] + r @ np.linalg.solve(V, r)
            XtVX += X.T @ np.linalg.solve(V, X)
        n, p = m.n_obs, len(m.beta)
        if reml:
            dev += np.linalg.slogdet(XtVX)[1] + (n - p) * np.log(2 * np.pi)
        else:
            dev += n * np.log(2 * np.pi)
        assert m.deviance == pytest.approx(dev, rel=1e-10)


def test_residual_cov_closed_form():
    m = fitted("sim_car1_int", False)
    sim = data("sim")
    rows = sim[sim["id"] == 7].sort_values("t")
    t = rows["t"].to_numpy()
    expected = m.sigma2 * m.residual_params["phi"] ** np.abs(t[:, None] - t[None, :])
    got = m.residual_cov(7)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(got.index.to_numpy(), t)
    assert got.index.name == "t"
    with pytest.raises(ValueError, match="not a group"):
        m.residual_cov("nobody")


def test_containment_df_rule():
    """nlme's rule on a small design: group-level term J - 2, within terms n - J - 2."""
    codes = np.repeat(np.arange(4), 3)
    X = np.column_stack(
        [np.ones(12), np.arange(12.0), np.repeat([0.0, 1, 0, 1], 3), np.sin(np.arange(12.0))]
    )
    np.testing.assert_array_equal(containment_df(X, codes, 4), [6, 6, 2, 6])


def test_compare_nested_structures():
    """Independent residuals in AR(1): phi = 0 is inside (-1, 1), chi-square(1); the
    statistic as nlme's anova (whose ML fit stops a little short: 1e-4)."""
    m0 = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", data("sleep"), reml=False)
    m1 = fitted("sleep_ar1_slope", False)
    table = hp.compare(m0, m1)
    r = REF["sleep_lrt"]
    assert table["chisq"].iloc[1] == pytest.approx(r["statistic"], abs=1e-4)
    assert table["df"].iloc[1] == 1
    assert "phi = 0 lies inside" in table["test"].iloc[1]
    assert table["p_value"].iloc[1] == pytest.approx(r["p_value"], rel=1e-3)
    # CAR1: phi = 0 on the boundary, the 50:50 mixture halves the chi-square(1) p-value
    sim = data("sim")
    c0 = hp.fit_lmm("yc ~ t + z + (1 | id)", sim, reml=False)
    c1 = fitted("sim_car1_int", False)
    t = hp.compare(c0, c1)
    import scipy.stats

    assert "mixture" in t["test"].iloc[1] and "boundary" in t["test"].iloc[1]
    assert t["p_value"].iloc[1] == pytest.approx(0.5 * scipy.stats.chi2.sf(t["chisq"].iloc[1], 1))


def test_compare_refuses_non_nested_structures():
    small = fitted("sleep_ar1_int", False)
    big = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", data("sleep"), reml=False)
    with pytest.raises(ValueError, match="residual structure"):
        hp.compare(small, big)


def test_unwired_uses_refuse():
    m = fitted("sleep_ar1_int", True)
    with pytest.raises(NotImplementedError, match="residual structure"):
        hp.influence(m)
    with pytest.raises(ValueError, match="residual structure"):
        hp.icc(m)
    with pytest.raises(ValueError, match="Kenward-Roger"):
        m.wald(ddf="kenward-roger")
    assert m.wald(ddf="z")["df"].tolist() == [np.inf, np.inf]
    # nlme's containment df (n - J - 1) by name; Satterthwaite's by default
    assert m.anova(ddf="containment").loc["Days", "den_df"] == 161
    assert m.random_part().loc["phi", "estimate"] == m.residual_params["phi"]
    assert "Satterthwaite" in repr(m) and "AR1(time='Days')" in repr(m)


def test_input_checks():
    sleep = data("sleep")
    f = "Reaction ~ Days + (1 | Subject)"
    with pytest.raises(ValueError, match="no column 'day'"):
        hp.fit_lmm(f, sleep, residuals=hp.AR1(time="day"))
    with pytest.raises(TypeError, match="residual structure"):
        hp.fit_lmm(f, sleep, residuals="ar1")
    with pytest.raises(TypeError, match="name of the column"):
        hp.AR1(time=3)
    half = sleep.assign(Days=sleep["Days"] / 2)
    with pytest.raises(ValueError, match="integer occasions.*CAR1"):
        hp.fit_lmm(f, half, residuals=hp.AR1(time="Days"))
    dup = sleep.assign(Days=sleep["Days"] // 2)
    with pytest.raises(ValueError, match="two rows at Days"):
        hp.fit_lmm(f, dup, residuals=hp.AR1(time="Days"))
    with pytest.raises(TypeError, match="must hold numbers.*to_numeric"):
        hp.fit_lmm(
            "Reaction ~ 1 + (1 | Subject)",  # Days only as the occasion, stored as text
            sleep.assign(Days=sleep["Days"].astype(str)),
            residuals=hp.AR1(time="Days"),
        )
    gap = sleep.assign(Days=sleep["Days"].where(sleep.index != 5))
    with pytest.raises(ValueError, match="missing"):
        hp.fit_lmm(f, gap, residuals=hp.AR1(time="Days"))


def test_invariance_shift_rescale_and_time_scale():
    """Shifting and rescaling y: beta and sigma follow the algebra, phi and the shape
    stay; rescaling a predictor rescales its coefficient; CAR1 with time * c has phi^(1/c)
    and the same likelihood (tested on the CAR1 model of the simulated data, ML).
    phi is found to about 1e-7 (the profile is flat below that), so phi and what depends
    on it agree to 1e-6; the likelihood, flat at the optimum, to 1e-10."""
    sim = data("sim")
    base = fitted("sim_car1_int", False)
    a, c = 1e4, 1e-3
    m = hp.fit_lmm(
        "yc ~ t + z + (1 | id)",
        sim.assign(yc=a + c * sim["yc"]),
        reml=False,
        residuals=hp.CAR1(time="t"),
    )
    assert m.residual_params["phi"] == pytest.approx(base.residual_params["phi"], rel=1e-6)
    np.testing.assert_allclose(m.beta, [a + c * base.beta[0], *(c * base.beta[1:])], rtol=1e-6)
    assert m.sigma2 == pytest.approx(c**2 * base.sigma2, rel=1e-6)
    assert m.loglik == pytest.approx(base.loglik - base.n_obs * np.log(c), rel=1e-10)
    k = 60.0  # time in other units: phi -> phi^(1/k); t's coefficient / k
    m = hp.fit_lmm(
        "yc ~ t + z + (1 | id)", sim.assign(t=k * sim["t"]), reml=False, residuals=hp.CAR1(time="t")
    )
    assert m.residual_params["phi"] == pytest.approx(
        base.residual_params["phi"] ** (1 / k), rel=1e-6
    )
    assert m.loglik == pytest.approx(base.loglik, rel=1e-10)
    np.testing.assert_allclose(m.beta, base.beta / [1, k, 1], rtol=1e-6)
    # row order does not matter
    shuffled = sim.sample(frac=1.0, random_state=3).reset_index(drop=True)
    m = hp.fit_lmm("yc ~ t + z + (1 | id)", shuffled, reml=False, residuals=hp.CAR1(time="t"))
    assert m.loglik == pytest.approx(base.loglik, rel=1e-12)


# ---------------------------------------------------------------- VarIdent (a SD per level)


@cache
def varident_fit(key: str, reml: bool) -> hp.LmmFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        if key == "hsb":
            return hp.fit_lmm(
                "mAch ~ ses + sector + (1 | school)",
                hp.load_dataset("hsb"),
                reml=reml,
                variance=hp.VarIdent(by="sx"),
            )
        return hp.fit_lmm(
            "y ~ occ + z + x + (occ | id)",
            data("sim"),
            reml=reml,
            residuals=hp.AR1(time="occ"),
            variance=hp.VarIdent(by="z"),
        )


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("key", ["hsb", "sim_ar1"])
def test_varident_against_nlme(key, reml):
    """nlme's varIdent takes the level of the first row as reference; helpers the first
    in sorted order (independent of row order). On the simulated data the first row
    has z = 1, so nlme reports the ratio of z = 0 to z = 1, the inverse of ours.
    High School and Beyond: R's reference sector is Catholic (alphabetical), the
    book's data set codes Public first, so the intercepts differ by the sector effect."""
    r = REF[f"{key}_varident_{'REML' if reml else 'ML'}"]
    m = varident_fit(key, reml)
    assert m.converged
    assert m.loglik == pytest.approx(r["loglik"], rel=1e-6)
    assert m.loglik >= r["loglik"] - 1e-9 * abs(r["loglik"])
    beta_r = np.array(list(r["fixed"].values()))
    se_r = np.array(list(r["std_error"].values()))
    if key == "hsb":
        ratio = m.residual_params["sx=Male"]
        assert ratio == pytest.approx(r["var_ratio"]["Male"], rel=1e-4)
        # (Intercept, ses, sectorPublic) of R -> (Intercept at Public, ses, Catholic - Public)
        beta_r = np.array([beta_r[0] + beta_r[2], beta_r[1], -beta_r[2]])
        se_r = se_r[[1, 2]]  # the intercept's SE differs by the parametrisation
        se = m.fixed["std_error"].to_numpy()[[1, 2]]
    else:
        assert m.residual_params["phi"] == pytest.approx(r["phi"], abs=1e-4)
        assert m.residual_params["z=1"] == pytest.approx(1 / r["var_ratio"]["0"], rel=1e-4)
        se = m.fixed["std_error"].to_numpy()
    np.testing.assert_allclose(m.beta, beta_r, rtol=1e-5)
    if not reml:
        se_r = se_r * np.sqrt((m.n_obs - len(m.beta)) / m.n_obs)
    np.testing.assert_allclose(se, se_r, rtol=1e-4)
    np.testing.assert_array_equal(sorted(m.wald(ddf="containment")["df"]), sorted(r["df"].values()))
    assert np.sqrt(m.sigma2) == pytest.approx(
        r["sigma"] if key == "hsb" else r["sigma"] / m.residual_params["z=1"], rel=1e-4
    )


def test_varident_residual_cov_and_checks():
    m = varident_fit("sim_ar1", False)
    sim = data("sim")
    rows = sim[sim["id"] == 3].sort_values("occ")
    t, z = rows["occ"].to_numpy(), rows["z"].iloc[0]
    delta = m.residual_params["z=1"] if z == 1 else 1.0
    R = m.residual_params["phi"] ** np.abs(t[:, None] - t[None, :])
    np.testing.assert_allclose(m.residual_cov(3).to_numpy(), m.sigma2 * delta**2 * R, rtol=1e-12)
    assert m.n_params == 4 + 4 + 2  # beta, theta and sigma, phi and one ratio
    # compare: the same model with only AR(1) is nested (ratio 1), chi-square(1)
    small = fitted("sim_ar1_slope", False)
    table = hp.compare(small, m)
    assert table["df"].iloc[1] == 1 and table["test"].iloc[1] == "chi2(1)"
    assert table["chisq"].iloc[1] == pytest.approx(small.deviance - m.deviance)
    f = "y ~ occ + (1 | id)"
    with pytest.raises(ValueError, match="not nested.*VarIdent"):
        small = hp.fit_lmm(
            "y ~ occ + z + x + (1 | id)", sim, reml=False, variance=hp.VarIdent(by="z")
        )
        hp.compare(small, fitted("sim_ar1_slope", False))
    with pytest.raises(ValueError, match="one level"):
        hp.fit_lmm(f, sim.assign(k="a"), variance=hp.VarIdent(by="k"))
    with pytest.raises(ValueError, match="no column 'sex'"):
        hp.fit_lmm(f, sim, variance=hp.VarIdent(by="sex"))
    with pytest.raises(TypeError, match="variance structure"):
        hp.fit_lmm(f, sim, variance=hp.AR1(time="occ"))
    with pytest.raises(TypeError, match="name of a column"):
        hp.VarIdent(by=None)


def test_shifting_time_and_a_predictor():
    """AR(1) over Days + 5 (and the predictor Days + 5): R is unchanged, so phi, the
    likelihood and the slope stay, and the intercept moves by -5 * slope."""
    sleep = data("sleep")
    base = fitted("sleep_ar1_int", True)
    m = hp.fit_lmm(
        "Reaction ~ Days + (1 | Subject)",
        sleep.assign(Days=sleep["Days"] + 5),
        residuals=hp.AR1(time="Days"),
    )
    assert m.residual_params["phi"] == pytest.approx(base.residual_params["phi"], abs=1e-6)
    assert m.loglik == pytest.approx(base.loglik, rel=1e-11)
    np.testing.assert_allclose(m.beta, [base.beta[0] - 5 * base.beta[1], base.beta[1]], rtol=1e-6)
