"""hp.fit_gls against nlme::gls, its properties, and what it refuses.

Reference numbers come from tests/reference/make_gls_reference.R (nlme::gls, REML and
ML, with corCompSymm, corSymm, corAR1, corCAR1, varIdent, varPower and corAR1 +
varIdent on the sleep study and on a simulated design written into the JSON).
Tolerances: log-likelihood 1e-6 relative, fixed effects 1e-5, correlation and variance
parameters 1e-4. Where nlme's optimum is a little lower than ours (the unstructured
fits, by about 3e-9 in the log-likelihood), the log-likelihood is evaluated
independently (a dense multivariate normal density per group) at both sets of
estimates.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import helpers as hp

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "reference" / "gls_reference.json").read_text())
SLEEP = pd.read_csv(ROOT / "data" / "sleepstudy.csv")
SIM = pd.DataFrame(REF["sim_data"])
UNB = SIM[SIM["complete"]].copy()

CASES = {
    "sleep_cs": ("Reaction ~ Days", "sleep", dict(group="Subject", residuals="cs")),
    "sleep_ar1": ("Reaction ~ Days", "sleep", dict(group="Subject", residuals="ar1:Days")),
    "sleep_car1": ("Reaction ~ Days", "sleep", dict(group="Subject", residuals="car1:Days")),
    "sleep_none": ("Reaction ~ Days", "sleep", dict()),
    "sim_un": ("y ~ occ + z + x", "sim", dict(group="id", residuals="un:occ")),
    "sim_un_unbalanced": ("y ~ occ + z + x", "unb", dict(group="id", residuals="un:occ")),
    "sim_cs_unbalanced": ("y ~ occ + z + x", "unb", dict(group="id", residuals="cs")),
    "sim_varident": ("yv ~ occ + z", "sim", dict(variance="ident:z")),
    "sim_varpower": ("yv ~ occ + z", "sim", dict(variance="power:dose")),
    "sim_ar1_varident_unbalanced": (
        "yv ~ occ + z",
        "unb",
        dict(group="id", residuals="ar1:occ", variance="ident:z"),
    ),
}
DATA = {"sleep": SLEEP, "sim": SIM, "unb": UNB}


def _structure(spec: str | None):
    if spec is None:
        return None
    kind, _, col = spec.partition(":")
    return {
        "cs": lambda: hp.CompoundSymmetry(),
        "ar1": lambda: hp.AR1(time=col),
        "car1": lambda: hp.CAR1(time=col),
        "un": lambda: hp.Unstructured(time=col),
        "ident": lambda: hp.VarIdent(by=col),
        "power": lambda: hp.VarPower(of=col),
    }[kind]()


@functools.cache
def fit(case: str, method: str) -> hp.GlsFit:
    formula, data, kw = CASES[case]
    kw = dict(kw)
    kw["residuals"] = _structure(kw.get("residuals"))
    kw["variance"] = _structure(kw.get("variance"))
    return hp.fit_gls(formula, DATA[data], reml=method == "REML", **kw)


def _ref_params(r: dict) -> np.ndarray:
    cor = np.atleast_1d(r["cor"]).astype(float) if r["cor"] else np.zeros(0)
    var = np.array(list(r["var"].values()), float) if r["var"] else np.zeros(0)
    return np.concatenate([cor, var])


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("case", list(CASES))
def test_gls_matches_nlme(case, method):
    m, r = fit(case, method), REF[f"{case}_{method}"]
    assert m.converged
    assert m.loglik == pytest.approx(r["loglik"], rel=1e-6)
    # never below nlme's optimum by more than rounding: nlme may stop short, not we
    assert m.loglik >= r["loglik"] - 1e-9 * abs(r["loglik"])
    np.testing.assert_allclose(m.fixed["estimate"], list(r["fixed"].values()), rtol=1e-5)
    np.testing.assert_allclose(m.fixed["std_error"], list(r["std_error"].values()), rtol=1e-5)
    np.testing.assert_allclose(m.fixed["statistic"], list(r["t_value"].values()), rtol=1e-5)
    assert list(m.fixed.index) == [k.strip("()") for k in r["fixed"]]
    assert (m.fixed["df"] == r["df"]).all()  # nlme's df: N - p
    assert np.sqrt(m.sigma2) == pytest.approx(r["sigma"], rel=1e-5)
    np.testing.assert_allclose(m.residual_params.to_numpy(), _ref_params(r), atol=1e-4)
    assert m.aic == pytest.approx(r["aic"], rel=1e-6)
    assert m.bic == pytest.approx(r["bic"], rel=1e-6)
    np.testing.assert_allclose(m.fitted().to_numpy(), r["fitted"], rtol=1e-5)


def test_unstructured_names_follow_nlme_order():
    """corSymm reports the upper triangle row by row: (1,2), (1,3), ..., (4,5)."""
    names = list(fit("sim_un", "ML").residual_params.index)
    assert names[:5] == ["cor(1,2)", "cor(1,3)", "cor(1,4)", "cor(1,5)", "cor(2,3)"]
    assert names[-1] == "cor(4,5)" and len(names) == 10


def _dense_loglik(data, formula_cols, beta, sigma2, cov_of_group, reml_X=None):
    """ML log-likelihood of y ~ N(X beta, sigma2 Sigma_j) group by group (scipy)."""
    y, X = formula_cols
    total = 0.0
    for _, rows in data.groupby("id").indices.items():
        S = sigma2 * cov_of_group(rows)
        total += scipy.stats.multivariate_normal(X[rows] @ beta, S).logpdf(y[rows])
    return total


@pytest.mark.parametrize("case", ["sim_un", "sim_un_unbalanced"])
def test_unstructured_optimum_checked_independently(case):
    """nlme's corSymm ML fits end 1e-9 to 5e-9 below our log-likelihood: a dense
    multivariate normal density per group (scipy), evaluated at both sets of estimates,
    agrees with each reported log-likelihood and ranks ours at least as high. The
    balanced design is whitened with one Cholesky factor; the unbalanced one with one
    per distinct pattern of occasions."""
    m, r = fit(case, "ML"), REF[f"{case}_ML"]
    data = (SIM if case == "sim_un" else UNB).reset_index(drop=True)
    y = data["y"].to_numpy()
    X = np.column_stack([np.ones(len(data)), data["occ"], data["z"], data["x"]])
    occ = data["occ"].to_numpy().astype(int) - 1

    def cov_from(cors):
        R = np.eye(5)
        R[np.triu_indices(5, 1)] = cors
        R = np.triu(R) + np.triu(R, 1).T
        return lambda rows: R[np.ix_(occ[rows], occ[rows])]

    ours = _dense_loglik(
        data, (y, X), m.fixed["estimate"].to_numpy(), m.sigma2, cov_from(m.residual_params)
    )
    nlme = _dense_loglik(
        data,
        (y, X),
        np.array(list(r["fixed"].values())),
        r["sigma"] ** 2,
        cov_from(np.array(r["cor"], float)),
    )
    assert ours == pytest.approx(m.loglik, abs=1e-8)
    assert nlme == pytest.approx(r["loglik"], abs=1e-6)
    assert ours >= nlme - 1e-10
    patterns = [len(b.patterns) for b in m._structure.blocks]
    distinct = data.sort_values("occ").groupby("id")["occ"].apply(tuple).nunique()
    assert sum(patterns) == distinct
    if case == "sim_un":
        assert patterns == [1]


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_compound_symmetry_is_the_random_intercept_model(method):
    """With rho > 0, gls's compound symmetry and the random-intercept LMM are one model:
    the same log-likelihood (and nlme::lme's), sigma2_gls = tau + sigma2_e and
    rho = tau / (tau + sigma2_e)."""
    g = fit("sleep_cs", method)
    m = hp.fit_lmm("Reaction ~ Days + (1 | Subject)", SLEEP, reml=method == "REML")
    rho = float(g.residual_params["rho"])
    assert rho > 0
    assert g.loglik == pytest.approx(m.loglik, rel=1e-8)
    assert g.loglik == pytest.approx(REF[f"sleep_lme_int_{method}"]["loglik"], rel=1e-8)
    tau = float(m.tau.iloc[0, 0])
    assert rho == pytest.approx(tau / (tau + m.sigma2), rel=1e-5)
    assert g.sigma2 == pytest.approx(tau + m.sigma2, rel=1e-5)
    np.testing.assert_allclose(g.fixed["estimate"], m.fixed["estimate"], rtol=1e-6)


def test_residual_cov_of_a_group():
    g = fit("sleep_cs", "REML")
    S = g.residual_cov(308)
    rho = g.residual_params["rho"]
    assert S.shape == (10, 10)
    np.testing.assert_allclose(np.diag(S), g.sigma2)
    assert S.iloc[0, 3] == pytest.approx(g.sigma2 * rho)
    # unstructured, unbalanced: the group's occasions, the submatrix of the full R
    u = fit("sim_un_unbalanced", "REML")
    j = UNB.groupby("id").size().idxmin()
    S = u.residual_cov(j)
    occ = sorted(UNB.loc[UNB["id"] == j, "occ"])
    assert list(S.index) == occ
    a, b = occ[0], occ[1]
    assert S.loc[a, b] == pytest.approx(u.sigma2 * u.residual_params[f"cor({a},{b})"])
    # AR(1) and a residual SD per level: D R D
    v = fit("sim_ar1_varident_unbalanced", "ML")
    j = int(UNB.loc[UNB["z"] == 1, "id"].iloc[0])
    S = v.residual_cov(j)
    phi, ratio = v.residual_params["phi"], v.residual_params["z=1"]
    t = np.asarray(S.index, float)
    expect = v.sigma2 * ratio**2 * phi ** np.abs(t[:, None] - t[None, :])
    np.testing.assert_allclose(S.to_numpy(), expect, rtol=1e-12)
    with pytest.raises(ValueError, match="not a group"):
        v.residual_cov(-5)


def test_unstructured_labels_equal_positions():
    """Occasions given as labels (a categorical with its own order) fit as positions."""
    d = SIM.copy()
    d["wave"] = pd.Categorical(
        d["occ"].map(dict(enumerate("vwxyz", start=1))), categories=list("vwxyz")
    )
    a = fit("sim_un", "ML")
    b = hp.fit_gls(
        "y ~ occ + z + x", d, group="id", residuals=hp.Unstructured(time="wave"), reml=False
    )
    assert b.loglik == pytest.approx(a.loglik, rel=1e-10)
    np.testing.assert_allclose(b.residual_params.to_numpy(), a.residual_params, atol=1e-6)
    assert b.residual_params.index[0] == "cor(v,w)"


# ------------------------------------------------------------------------ invariance


def test_invariant_to_shifting_and_rescaling_outcome_and_predictor():
    """y -> 3 + 250 y and Days -> 7 Days - 2: the residual parameters are unchanged,
    beta and sigma2 transform as the algebra says, the ML log-likelihood moves by
    -n log 250 and the REML one by -(n - p) log 250 - log 7."""
    base = fit("sleep_ar1", "REML"), fit("sleep_ar1", "ML")
    d = SLEEP.copy()
    d["Reaction"] = 3 + 250 * d["Reaction"]
    d["Days2"] = 7 * d["Days"] - 2
    n, p = len(d), 2
    for m0, reml in zip(base, (True, False), strict=True):
        m = hp.fit_gls(
            "Reaction ~ Days2", d, group="Subject", residuals=hp.AR1(time="Days"), reml=reml
        )
        np.testing.assert_allclose(m.residual_params, m0.residual_params, rtol=1e-8)
        b0 = m0.fixed["estimate"].to_numpy()
        slope = 250 * b0[1] / 7
        assert m.fixed["estimate"].iloc[1] == pytest.approx(slope, rel=1e-8)
        assert m.fixed["estimate"].iloc[0] == pytest.approx(3 + 250 * b0[0] + 2 * slope, rel=1e-8)
        assert m.sigma2 == pytest.approx(250**2 * m0.sigma2, rel=1e-8)
        assert m.fixed["statistic"].iloc[1] == pytest.approx(
            m0.fixed["statistic"].iloc[1], rel=1e-7
        )
        shift = -(n - p) * np.log(250) - np.log(7) if reml else -n * np.log(250)
        assert m.loglik == pytest.approx(m0.loglik + shift, rel=1e-10)


def test_car1_time_rescaling_and_varpower_covariate_rescaling():
    """CAR1: time x 2 turns phi into phi^(1/2) with the same likelihood. VarPower:
    v x 10 keeps the power and multiplies sigma2 by 10^(-2 power)."""
    m0 = fit("sleep_car1", "ML")
    d = SLEEP.assign(Days=2 * SLEEP["Days"])
    m = hp.fit_gls(
        "Reaction ~ I(Days / 2)", d, group="Subject", residuals=hp.CAR1(time="Days"), reml=False
    )
    assert m.residual_params["phi"] == pytest.approx(m0.residual_params["phi"] ** 0.5, rel=1e-7)
    assert m.loglik == pytest.approx(m0.loglik, rel=1e-10)
    v0 = fit("sim_varpower", "REML")
    v = hp.fit_gls(
        "yv ~ occ + z", SIM.assign(dose=10 * SIM["dose"]), variance=hp.VarPower(of="dose")
    )
    power = v0.residual_params["power"]
    assert v.residual_params["power"] == pytest.approx(power, abs=1e-7)
    assert v.sigma2 == pytest.approx(v0.sigma2 * 10 ** (-2 * power), rel=1e-6)
    assert v.loglik == pytest.approx(v0.loglik, rel=1e-10)


# ------------------------------------------------------------------ results, compare


def test_predict_fitted_residuals_summary():
    m = fit("sim_varpower", "REML")
    new = pd.DataFrame({"occ": [1, 3], "z": [0, 1]})
    b = m.fixed["estimate"]
    expect = b["Intercept"] + b["occ"] * new["occ"] + b["z"] * new["z"]
    np.testing.assert_allclose(m.predict(new), expect, rtol=1e-12)
    np.testing.assert_allclose(m.fitted() + m.residuals(), SIM["yv"], rtol=1e-12)
    s = m.summary()
    assert s.loc[("Residual part", "power"), "estimate"] == m.residual_params["power"]
    assert s.loc[("Model fit", "REML criterion"), "estimate"] == pytest.approx(-2 * m.loglik)
    with pytest.raises(KeyError, match="'z'"):
        m.predict(pd.DataFrame({"occ": [1]}))
    d = SLEEP.assign(half=np.where(SLEEP["Days"] < 5, "early", "late"))
    h = hp.fit_gls("Reaction ~ C(half)", d, group="Subject", variance=hp.VarIdent(by="half"))
    with pytest.raises(ValueError, match="never saw"):
        h.predict(pd.DataFrame({"half": ["middle"]}))
    with pytest.raises(NotImplementedError, match="interval"):
        m.predict(new, interval="confidence")
    assert "Generalized least squares" in repr(m)
    assert "fixed-effect df: n - p = 397 (nlme's gls)" in repr(m)


def test_compare_nested_gls_fits():
    """Independence < compound symmetry < unstructured: chi-square = deviance difference,
    df = the difference in parameters (1, then 9)."""
    none = hp.fit_gls("y ~ occ + z + x", SIM, reml=False)
    cs = hp.fit_gls("y ~ occ + z + x", SIM, group="id", residuals=hp.CompoundSymmetry(), reml=False)
    un = fit("sim_un", "ML")
    t = hp.compare(none, cs, un)
    assert list(t["df"].iloc[1:]) == [1, 9]
    assert t["chisq"].iloc[1] == pytest.approx(none.deviance - cs.deviance)
    assert t["p_value"].iloc[2] == pytest.approx(scipy.stats.chi2.sf(cs.deviance - un.deviance, 9))
    # CAR1 added to independence: phi = 0 on the boundary, the 50:50 mixture
    a = fit("sleep_none", "REML")
    c = fit("sleep_car1", "REML")
    t = hp.compare(a, c)
    stat = a.deviance - c.deviance
    assert t["p_value"].iloc[1] == pytest.approx(0.5 * scipy.stats.chi2.sf(stat, 1))
    assert "mixture" in t["test"].iloc[1]


def test_compare_refuses():
    ar1, cs = fit("sleep_ar1", "REML"), fit("sleep_cs", "REML")
    with pytest.raises(ValueError, match="not nested.*aic and bic"):
        hp.compare(ar1, cs)
    lmm = hp.fit_lmm("Reaction ~ Days + (1 | Subject)", SLEEP)
    with pytest.raises(ValueError, match="same model when rho >= 0"):
        hp.compare(cs, lmm)
    other = hp.fit_gls("Reaction ~ 1", SLEEP, group="Subject", residuals=hp.AR1(time="Days"))
    with pytest.raises(ValueError, match="REML fits with different fixed parts"):
        hp.compare(ar1, other)
    with pytest.raises(ValueError, match="bootstrap"):
        hp.compare(fit("sleep_none", "REML"), ar1, method="bootstrap")
    with pytest.raises(ValueError, match="same method"):
        hp.compare(fit("sleep_none", "ML"), ar1)


# ------------------------------------------------------------------------- refusals


def test_fit_lmm_refuses_compound_symmetry_and_unstructured():
    for s in (hp.CompoundSymmetry(), hp.Unstructured(time="Days")):
        with pytest.raises(ValueError, match="random intercept.*fit_gls"):
            hp.fit_lmm("Reaction ~ Days + (1 | Subject)", SLEEP, residuals=s)
    with pytest.raises(ValueError, match="fit_gls"):
        hp.fit_lmm("Reaction ~ Days + (1 | Subject)", SLEEP, variance=hp.VarPower(of="Days"))


def test_fit_gls_refuses_bad_input():
    with pytest.raises(ValueError, match="random part"):
        hp.fit_gls("Reaction ~ Days + (1 | Subject)", SLEEP)
    with pytest.raises(ValueError, match="name the grouping column"):
        hp.fit_gls("Reaction ~ Days", SLEEP, residuals=hp.CompoundSymmetry())
    with pytest.raises(TypeError, match="correlation structure"):
        hp.fit_gls("Reaction ~ Days", SLEEP, group="Subject", residuals="AR1")
    with pytest.raises(TypeError, match="VarPower"):
        hp.fit_gls("Reaction ~ Days", SLEEP, variance="power")
    with pytest.raises(ValueError, match="distinct within a group"):
        hp.fit_gls(
            "Reaction ~ Days",
            SLEEP.assign(t=SLEEP["Days"] % 5),
            group="Subject",
            residuals=hp.Unstructured(time="t"),
        )
    with pytest.raises(ValueError, match="at most 10 occasions"):
        hp.fit_gls(
            "Reaction ~ Days",
            SLEEP.assign(t=SLEEP["Days"] + 10 * (SLEEP["Subject"] % 2)),
            group="Subject",
            residuals=hp.Unstructured(time="t"),
        )
    with pytest.raises(ValueError, match="fits the outcome exactly"):
        hp.fit_gls("Reaction ~ Days", SLEEP.assign(Reaction=7.0))
    with pytest.raises(ValueError, match="is 0 in"):
        hp.fit_gls("Reaction ~ Days", SLEEP, variance=hp.VarPower(of="Days"))
    with pytest.raises(KeyError, match="'nope'"):
        hp.fit_gls("Reaction ~ Days", SLEEP, group="nope", residuals=hp.CompoundSymmetry())
    with pytest.raises(ValueError, match="non-integer"):
        hp.fit_gls(
            "Reaction ~ Days",
            SLEEP.assign(t=SLEEP["Days"] + 0.5 * (SLEEP["Days"] == 3)),
            group="Subject",
            residuals=hp.Unstructured(time="t"),
        )
    with pytest.raises(TypeError, match="Unstructured\\(time="):
        hp.Unstructured(time=3)
    with pytest.raises(TypeError, match="VarPower\\(of="):
        hp.VarPower(of="")


def test_what_a_gls_fit_does_not_have_says_so():
    m = fit("sleep_cs", "REML")
    for name in ("tau", "ranef", "confint", "refit", "simulate"):
        with pytest.raises(AttributeError, match=f"GlsFit.{name} is not available"):
            getattr(m, name)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        m.nonsense  # noqa: B018


def test_negative_compound_symmetry_is_not_a_random_intercept():
    """Residuals of a group negatively correlated (rho = -0.25, simulated here): gls
    estimates rho < 0, which no random intercept gives; the random-intercept LMM ends
    at tau = 0 (singular), where its likelihood is that of independent residuals, below
    gls's compound symmetry."""
    rng = np.random.default_rng(20261207)
    J, k, rho = 150, 4, -0.25
    R = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    e = rng.standard_normal((J, k)) @ np.linalg.cholesky(R).T
    d = pd.DataFrame({"g": np.repeat(np.arange(J), k), "x": rng.standard_normal(J * k)})
    d["y"] = 1.0 + 0.5 * d["x"] + e.ravel()
    cs = hp.fit_gls("y ~ x", d, group="g", residuals=hp.CompoundSymmetry(), reml=False)
    none = hp.fit_gls("y ~ x", d, reml=False)
    assert -1 / (k - 1) < cs.residual_params["rho"] < -0.1
    with pytest.warns(hp.SingularFitWarning):
        m = hp.fit_lmm("y ~ x + (1 | g)", d, reml=False)
    assert float(m.tau.iloc[0, 0]) == pytest.approx(0.0, abs=1e-8)
    assert m.loglik == pytest.approx(none.loglik, rel=1e-9)
    assert cs.loglik > m.loglik + 1.0
