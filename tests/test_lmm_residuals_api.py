"""What a fit with a residual structure (fit_lmm(..., residuals=, variance=)) does beyond
its estimates: simulate, refit, the parametric bootstrap and hp.compare(method="bootstrap"),
Satterthwaite's df, Wald intervals and prediction intervals.

References: closed forms (the covariance of a group's outcomes is Z_j tau Z_j' +
residual_cov(group)); an independent dense computation of the (RE)ML criterion and
Satterthwaite's df written out in this file (V_j = Z_j tau Z_j' + sigma^2 R_j built
densely, no whitening, no engine); lmerTest's df for independent residuals from
tests/reference/ddf_reference.json (tests/reference/make_ddf_reference.R). The data:
the sleep study, and the simulated unbalanced design with AR(1) errors of
tests/reference/residuals_reference.json (make_residuals_reference.R).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize

import helpers as hp

REF = json.loads((Path(__file__).parent / "reference" / "residuals_reference.json").read_text())
SIM = pd.DataFrame(REF["sim_data"])


@cache
def sleep_ar1(reml: bool = True) -> hp.LmmFit:
    return hp.fit_lmm(
        "Reaction ~ Days + (1 | Subject)",
        hp.load_dataset("sleepstudy"),
        reml=reml,
        residuals=hp.AR1(time="Days"),
    )


@cache
def sim_varident() -> hp.LmmFit:
    """Random slope, AR(1) in occasions 0..7 with gaps, an SD ratio by z: unbalanced."""
    return hp.fit_lmm(
        "y ~ occ + z + x + (occ | id)",
        SIM,
        residuals=hp.AR1(time="occ"),
        variance=hp.VarIdent(by="z"),
    )


# ------------------------------------------------------------------ simulate and refit


def test_simulate_draws_the_fitted_covariance():
    """Each group's simulated outcomes have mean X_j beta and covariance
    Z_j tau Z_j' + residual_cov(group) (closed form). Monte Carlo with 2000 draws: every
    entry of the sample covariance within 4.5 of its standard errors
    sqrt((S_aa S_bb + S_ab^2) / N), every mean within 4.5 of sqrt(S_aa / N)."""
    m = sim_varident()
    N = 2000
    Y = m.simulate(N, seed=11)
    assert Y.shape == (N, m.n_obs)
    mean = m.X @ m.beta
    tau = m.tau.to_numpy()
    worst_independent = 0.0
    for g in m.groups[[0, 7, 31]]:
        R = m.residual_cov(g)  # in time order
        rows = np.flatnonzero(m.groups[m.group_codes] == g)
        occ = SIM["occ"].to_numpy()[rows]
        rows = rows[np.argsort(occ)]
        assert np.array_equal(np.sort(occ), R.index.to_numpy())
        Zj = m.Z[rows]
        S = Zj @ tau @ Zj.T + R.to_numpy()
        D = Y[:, rows] - mean[rows]
        se_mean = np.sqrt(np.diag(S) / N)
        assert np.all(np.abs(D.mean(axis=0)) < 4.5 * se_mean)
        C = D.T @ D / N  # the mean is known
        se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / N)
        assert np.all(np.abs(C - S) < 4.5 * se), np.max(np.abs(C - S) / se)
        # the same check fails for the covariance without the residual correlation
        # (Z_j tau Z_j' + the diagonal of residual_cov): the test can tell them apart
        S0 = S - R.to_numpy() + np.diag(np.diag(R.to_numpy()))
        worst_independent = max(worst_independent, float(np.max(np.abs(C - S0) / se)))
    assert worst_independent > 4.5, worst_independent  # 8.6 here


def test_simulate_is_seeded():
    m = sleep_ar1()
    np.testing.assert_array_equal(m.simulate(2, seed=3), m.simulate(2, seed=3))


def test_refit_reproduces_the_fit_and_a_fresh_fit():
    m = sim_varident()
    r = m.refit(m.y)
    np.testing.assert_allclose(r.beta, m.beta, rtol=1e-10)
    np.testing.assert_allclose(r.residual_params, m.residual_params, rtol=1e-10)
    assert r.deviance == pytest.approx(m.deviance, rel=1e-12)
    # a simulated outcome: refit gives what fit_lmm gives on the data with that outcome
    y = m.simulate(1, seed=5)[0]
    r = m.refit(y)
    d = SIM.assign(y=y)
    f = hp.fit_lmm(
        "y ~ occ + z + x + (occ | id)",
        d,
        residuals=hp.AR1(time="occ"),
        variance=hp.VarIdent(by="z"),
    )
    np.testing.assert_allclose(r.beta, f.beta, rtol=1e-9)
    np.testing.assert_allclose(r.residual_params, f.residual_params, rtol=1e-9)
    np.testing.assert_allclose(r.tau.to_numpy(), f.tau.to_numpy(), rtol=1e-8)
    assert r.residual_structure == m.residual_structure
    assert r.variance_function == m.variance_function


def test_bootstrap_table_has_the_residual_parameters():
    m = sleep_ar1()
    boot = hp.bootstrap(m, n=4, seed=2)
    assert list(boot.columns[:4]) == ["Intercept", "Days", "sigma2_e", "sigma2_u0"]
    assert "phi" in boot.columns
    # replicate 0 is the refit of simulate's first draw from the same generator
    y = m.simulate(1, seed=np.random.default_rng(2))[0]
    assert boot["phi"].iloc[0] == pytest.approx(m.refit(y).residual_params["phi"], rel=1e-12)
    assert boot["phi"].between(-1, 1).all()


def test_compare_bootstrap_of_the_ar1_correlation():
    """hp.compare(..., method="bootstrap") of independent residuals against AR(1) errors
    in the sleep study's random-slope model: the deviance difference is nlme's LRT
    (residuals_reference.json, 1e-4 as in test_lmm_residuals.py: nlme stops short
    there), far outside what the independent model simulates, so the p-value is the
    smallest possible, 1 / (n + 1)."""
    sleep = hp.load_dataset("sleepstudy")
    m0 = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        m1 = hp.fit_lmm(
            "Reaction ~ Days + (Days | Subject)", sleep, reml=False, residuals=hp.AR1(time="Days")
        )
        t = hp.compare(m0, m1, method="bootstrap", n=9, seed=1)
    assert t["chisq"].iloc[1] == pytest.approx(REF["sleep_lrt"]["statistic"], abs=1e-4)
    assert t["test"].iloc[1] == "parametric bootstrap (9 samples)"
    assert t["p_value"].iloc[1] == pytest.approx(1 / 10)


# ------------------------------------------------------------------ Satterthwaite's df
#
# The reference: an independent dense computation. Per group V_j = Z_j tau Z_j' +
# sigma^2 D_j R_j(phi) D_j built densely in the data's units (no whitening, no engine,
# no theta), in the natural variance parameters (the elements of tau, sigma^2, phi, the
# SD ratios); the (RE)ML deviance and C = (X'V^-1X)^-1 from it; the Hessian of the
# deviance and the gradient of l'Cl by central differences; df = 2 v^2 / (g' 2H^-1 g).
# Satterthwaite's df do not depend on how the variance parameters are written (at an
# optimum the Hessian and the gradient transform together), so the engine's (theta,
# sigma, phi) and these natural parameters give the same df.


def _dense_parts(X, Z, y, codes, tau_cells, q, R_of, reml):
    """deviance(x) and C(x) for x = (tau cells, sigma^2, residual parameters...)."""
    groups = [np.flatnonzero(codes == j) for j in np.unique(codes)]
    n, p = X.shape

    def V_blocks(x):
        tau = np.zeros((q, q))
        for v, (a, b) in zip(x[: len(tau_cells)], tau_cells, strict=True):
            tau[a, b] = tau[b, a] = v
        s2 = x[len(tau_cells)]
        psi = x[len(tau_cells) + 1 :]
        return [Z[r] @ tau @ Z[r].T + s2 * R_of(r, psi) for r in groups]

    def pieces(x):
        XtVX, XtVy, logdet, Vis = np.zeros((p, p)), np.zeros(p), 0.0, []
        for r, V in zip(groups, V_blocks(x), strict=True):
            Vi = np.linalg.inv(V)
            XtVX += X[r].T @ Vi @ X[r]
            XtVy += X[r].T @ Vi @ y[r]
            logdet += np.linalg.slogdet(V)[1]
            Vis.append(Vi)
        beta = np.linalg.solve(XtVX, XtVy)
        rss = sum(
            (y[r] - X[r] @ beta) @ Vi @ (y[r] - X[r] @ beta)
            for r, Vi in zip(groups, Vis, strict=True)
        )
        return XtVX, logdet, rss

    def deviance(x):
        XtVX, logdet, rss = pieces(x)
        dev = logdet + rss + (n - p if reml else n) * np.log(2 * np.pi)
        return dev + np.linalg.slogdet(XtVX)[1] if reml else dev

    def C(x):
        return np.linalg.inv(pieces(x)[0])

    return deviance, C


def _dense_df(deviance, C, x0, L, step=1e-3):
    """Central differences with steps of 1e-3 of each value: smaller steps drown the
    second differences of the dense deviance (size ~1e3, accurate to ~1e-12) in
    rounding (on the simulated model, 1e-4 already moves the df by 1e-3 relative, 1e-5
    by 4e-2); with 1e-3 the engine's df agree to 4e-6."""
    k = len(x0)
    h = step * np.abs(x0)
    H = np.empty((k, k))
    f0 = deviance(x0)

    def at(*moves):
        x = x0.copy()
        for i, s in moves:
            x[i] += s * h[i]
        return deviance(x)

    for i in range(k):
        H[i, i] = (at((i, 1)) - 2 * f0 + at((i, -1))) / h[i] ** 2
        for j in range(i):
            H[i, j] = H[j, i] = (
                at((i, 1), (j, 1))
                - at((i, 1), (j, -1))
                - at((i, -1), (j, 1))
                + at((i, -1), (j, -1))
            ) / (4 * h[i] * h[j])
    A = 2 * np.linalg.inv(H)
    out = []
    for row in np.atleast_2d(L):
        g = np.empty(k)
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            g[i] = (row @ C(x0 + e) @ row - row @ C(x0 - e) @ row) / (2 * h[i])
        v = row @ C(x0) @ row
        out.append(2 * v**2 / (g @ A @ g))
    return np.array(out)


def _tau_cells(m):
    q = len(m.tau)
    cells = [(a, b) for a in range(q) for b in range(a, q) if a == b or m.theta_is_free(b, a)]
    return cells, q


def test_dense_reference_reproduces_lmertest_without_a_residual_structure():
    """The reference code itself: with independent residuals (R_j = I, no residual
    parameter) it gives lmerTest's Satterthwaite df of the few-groups random-slope
    model (12 classes; tests/reference/ddf_reference.json) to 1e-4 relative."""
    ref = json.loads((Path(__file__).parent / "reference" / "ddf_reference.json").read_text())
    r = ref["few_groups"]
    data = pd.DataFrame(r["data"])
    m = hp.fit_lmm(r["formula"], data, reml=True)
    cells, q = _tau_cells(m)
    tau = m.tau.to_numpy()
    x0 = np.array([tau[a, b] for a, b in cells] + [m.sigma2])
    dev, C = _dense_parts(
        m.X, m.Z, m.y, m.group_codes, cells, q, lambda rows, psi: np.eye(len(rows)), True
    )
    df = _dense_df(dev, C, x0, np.eye(len(m.beta)))
    np.testing.assert_allclose(df, r["satterthwaite"]["df"], rtol=1e-4)


def _ar1_R(times, scales=None):
    def R_of(rows, psi):
        t = times[rows]
        R = psi[0] ** np.abs(t[:, None] - t[None, :])
        if scales is not None:
            s = np.concatenate([[1.0], psi[1:]])[scales[rows]]
            R = R * np.outer(s, s)
        return R

    return R_of


@pytest.mark.parametrize("case", ["sleep_REML", "sleep_ML", "sim_varident_REML"])
def test_satterthwaite_df_against_a_dense_computation(case):
    """Satterthwaite's df with the residual parameters among the variance parameters
    (helpers.ddf.ResidualDdf: exact in (theta, sigma), central differences in phi and
    the SD ratios) against the dense computation above, 1e-4 relative: the sleep
    study's AR(1) random-intercept model (REML and ML) and the simulated unbalanced
    random-slope model with AR(1) errors and an SD ratio (VarIdent by z)."""
    if case.startswith("sleep"):
        m = sleep_ar1(case.endswith("REML"))
        times, scales = hp.load_dataset("sleepstudy")["Days"].to_numpy(float), None
    else:
        m = sim_varident()
        times, scales = SIM["occ"].to_numpy(float), SIM["z"].to_numpy()
    cells, q = _tau_cells(m)
    tau = m.tau.to_numpy()
    x0 = np.array([tau[a, b] for a, b in cells] + [m.sigma2, *m.residual_params.to_numpy(float)])
    dev, C = _dense_parts(m.X, m.Z, m.y, m.group_codes, cells, q, _ar1_R(times, scales), m.reml)
    L = np.eye(len(m.beta))
    ref = _dense_df(dev, C, x0, L)
    np.testing.assert_allclose(m.fixed["df"], ref, rtol=1e-4)
    # C at the estimates is the fit's covariance (a check of the reference's algebra)
    np.testing.assert_allclose(C(x0), m.vcov.to_numpy(), rtol=1e-6)
    # an F test of one coefficient has the t test's df; containment stays available
    name = m.fixed.index[1]
    assert m.anova().loc[name, "den_df"] == pytest.approx(m.fixed["df"].iloc[1], rel=1e-12)
    cont = m.wald(ddf="containment")["df"].to_numpy()
    assert not np.allclose(cont, m.fixed["df"])


# ------------------------------------------------------------------ prediction intervals


def test_prediction_intervals_against_dense_algebra():
    """predict(interval=) with AR(1) errors and an SD ratio. The reference, densely: the
    prediction x'beta-hat + z'b-hat_j is linear in y, w'y with w' = x'C X'V^-1 +
    z'tau Z_j'V_j^-1 (S_j - X_j C X'V^-1) (S_j: group j's rows), w'X = x', so its error
    variance for the group's mean x'beta + z'b_j is w'Vw - 2 z'tau Z_j'w_j + z'tau z
    (the variance components as known, as the method documents). "prediction" adds
    sigma^2 times the row's squared SD ratio; a row of a new group gets x'Cx + z'tau z +
    sigma^2 delta^2."""
    m = sim_varident()
    X, Z, y, codes = m.X, m.Z, m.y, m.group_codes
    tau = m.tau.to_numpy()
    times, scales = SIM["occ"].to_numpy(float), SIM["z"].to_numpy()
    psi = m.residual_params.to_numpy(float)
    R_of = _ar1_R(times, scales)
    n = len(y)
    V = np.zeros((n, n))
    for j in np.unique(codes):
        r = np.flatnonzero(codes == j)
        V[np.ix_(r, r)] = Z[r] @ tau @ Z[r].T + m.sigma2 * R_of(r, psi)
    Vi = np.linalg.inv(V)
    C = np.linalg.inv(X.T @ Vi @ X)
    np.testing.assert_allclose(C, m.vcov.to_numpy(), rtol=1e-6)
    new = SIM.iloc[[0, 5, 40, 200]].copy()
    new["x"] = [0.3, -1.0, 2.0, 0.0]  # other predictors than the observed rows
    new["occ"] = [9, 2, 0, 4]
    out = m.predict(new, interval="confidence")
    pred = m.predict(new, interval="prediction")
    Xn = X[:4].copy()  # the fixed design of new's rows, built by hand
    Xn[:, 1], Xn[:, 2], Xn[:, 3] = new["occ"], new["z"], new["x"]
    assert list(m.fixed_names) == ["Intercept", "occ", "z", "x"]
    Zn = np.column_stack([np.ones(4), new["occ"]])
    G = Vi @ X @ C  # V^-1 X C
    for k in range(4):
        j = int(np.flatnonzero(m.groups == new["id"].iloc[k])[0])
        r = np.flatnonzero(codes == j)
        Bj = np.zeros((2, n))  # tau Z_j' V_j^-1 S_j
        Bj[:, r] = tau @ Z[r].T @ np.linalg.inv(V[np.ix_(r, r)])
        w = G @ Xn[k] + (Bj - Bj @ X @ C @ X.T @ Vi).T @ Zn[k]
        var = w @ V @ w - 2 * Zn[k] @ tau @ Z[r].T @ w[r] + Zn[k] @ tau @ Zn[k]
        assert out["std_error"].iloc[k] ** 2 == pytest.approx(var, rel=1e-6)
        assert out["predicted"].iloc[k] == pytest.approx(w @ y, rel=1e-8)
        delta = 1.0 if new["z"].iloc[k] == 0 else psi[1]
        assert pred["std_error"].iloc[k] ** 2 == pytest.approx(var + m.sigma2 * delta**2, rel=1e-6)
    # a new group: the population mean, and a new observation in a new group
    newg = new.assign(id=-1)
    with pytest.warns(UserWarning, match="not in the fit"):
        p = m.predict(newg, interval="prediction")
    delta = np.where(new["z"] == 0, 1.0, psi[1])
    zt = np.einsum("nq,qr,nr->n", Zn, tau, Zn)
    np.testing.assert_allclose(
        p["std_error"] ** 2,
        np.einsum("np,pr,nr->n", Xn, C, Xn) + zt + m.sigma2 * delta**2,
        rtol=1e-6,
    )
    # the fitted rows: prediction = confidence + sigma^2 delta_row^2
    a, b = m.predict(interval="confidence"), m.predict(interval="prediction")
    d_rows = np.where(SIM["z"] == 0, 1.0, psi[1])
    np.testing.assert_allclose(b["std_error"] ** 2 - a["std_error"] ** 2, m.sigma2 * d_rows**2)
    # the residual SD of a new row needs a level of the variance column the fit knows
    with pytest.raises(ValueError, match="not a level of the fit"):
        m.predict(new.assign(z=[0, 1, 2, 0]), interval="prediction")


# ------------------------------------------------------------------ confidence intervals


def test_confint_wald_against_the_dense_curvature():
    """confint(method="wald") with AR(1) errors: the random part's standard errors from
    the curvature of the REML criterion in (sd, sigma, phi), phi on its own scale. The
    reference: the dense criterion's Hessian H in (tau_00, sigma^2, phi) (above),
    cov = 2 H^-1, carried to (sd, sigma) by the delta method (d sd = d tau / (2 sd)),
    which at an optimum is the curvature in those parameters. Both are central
    differences with steps of 1e-3: agreement to 1e-4 relative."""
    m = sleep_ar1()
    ci = m.confint(method="wald")
    assert list(ci.index) == ["sd(Intercept)", "sigma", "phi", "Intercept", "Days"]
    half = (ci["ci_upper"] - ci["estimate"]) / 1.959963984540054
    cells, q = _tau_cells(m)
    x0 = np.array([m.tau.iloc[0, 0], m.sigma2, m.residual_params["phi"]])
    times = hp.load_dataset("sleepstudy")["Days"].to_numpy(float)
    dev, _ = _dense_parts(m.X, m.Z, m.y, m.group_codes, cells, q, _ar1_R(times), True)
    h = 1e-3 * x0
    H = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            H[i, j] = (
                dev(x0 + ei + ej) - dev(x0 + ei - ej) - dev(x0 - ei + ej) + dev(x0 - ei - ej)
            ) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(2 * np.linalg.inv(H)))
    expected = [se[0] / (2 * np.sqrt(x0[0])), se[1] / (2 * np.sqrt(x0[1])), se[2]]
    np.testing.assert_allclose(half.iloc[:3], expected, rtol=1e-4)
    # the fixed effects: estimate +/- z times fixed's standard errors
    np.testing.assert_allclose(half.iloc[3:], m.fixed["std_error"], rtol=1e-12)
    assert ci.loc["phi", "estimate"] == m.residual_params["phi"]


def test_confint_bootstrap_reads_the_residual_parameters():
    m = sleep_ar1()
    ci = m.confint(method="bootstrap", n=5, seed=4)
    boot = hp.bootstrap(m, n=5, seed=4)
    lo, hi = np.quantile(boot["phi"], [0.025, 0.975])
    assert ci.loc["phi", "ci_lower"] == pytest.approx(lo, rel=1e-12)
    assert ci.loc["phi", "ci_upper"] == pytest.approx(hi, rel=1e-12)


# ------------------------------------------------------------------ r2 and icc


def test_r2_with_ar1_and_the_refusals():
    """With AR(1) errors every residual has variance sigma^2, so Nakagawa's R-squared is
    var_f / (var_f + tau_00 + sigma^2) (random intercept; var_f the sample variance of
    X beta-hat, as performance::r2_nakagawa); Snijders-Bosker's needs independent
    residuals, VarIdent has no single level-1 variance, and the ICC depends on the lag:
    each refuses with the reason."""
    m = sleep_ar1()
    var_f = np.var(m.X @ m.beta, ddof=1)
    t00 = m.tau.iloc[0, 0]
    r2 = m.r2()
    assert r2["marginal"] == pytest.approx(var_f / (var_f + t00 + m.sigma2), rel=1e-12)
    assert r2["conditional"] == pytest.approx((var_f + t00) / (var_f + t00 + m.sigma2), rel=1e-12)
    assert "level1" not in r2.index
    with pytest.raises(ValueError, match="independent residuals"):
        m.r2(n=10)
    with pytest.raises(ValueError, match="differs by level"):
        sim_varident().r2()
    with pytest.raises(ValueError, match="residual structure"):
        hp.icc(m)


def test_satterthwaite_df_do_not_depend_on_units():
    """Shifting and rescaling the outcome and rescaling a predictor leave the df unchanged (they
    are computed in internal units, and their steps in phi are on phi's own scale)."""
    m = sleep_ar1()
    d = hp.load_dataset("sleepstudy")
    d = d.assign(R2=1000 * d["Reaction"] + 7, D2=1e-3 * d["Days"])
    m2 = hp.fit_lmm("R2 ~ D2 + (1 | Subject)", d, residuals=hp.AR1(time="Days"))
    np.testing.assert_allclose(m2.fixed["df"], m.fixed["df"], rtol=1e-6)
    assert m2.fixed["df"].iloc[1] != m.wald(ddf="containment")["df"].iloc[1]


def test_prediction_interval_needs_the_variance_column():
    """With variance= on a column the formula does not use, a new observation's residual
    SD needs that column in newdata: a clear error names it; the confidence interval
    (no residual) does not need it."""
    d = hp.load_dataset("sleepstudy")
    d = d.assign(late=np.where(d["Days"] >= 5, "late", "early"))
    m = hp.fit_lmm("Reaction ~ Days + (1 | Subject)", d, variance=hp.VarIdent(by="late"))
    new = d[["Subject", "Days"]].head(3)
    with pytest.raises(ValueError, match="newdata has no column 'late'"):
        m.predict(new, interval="prediction")
    ci = m.predict(new, interval="confidence")
    pi = m.predict(new.assign(late="early"), interval="prediction")
    np.testing.assert_allclose(pi["std_error"] ** 2 - ci["std_error"] ** 2, m.sigma2)


def _dense_ml_min(X, Z, y, codes, times, x0, hold=None):
    """Minimum of the dense ML deviance over (tau_00, sigma^2, phi) of a random-intercept
    model with AR(1) errors; ``hold=(i, value)`` holds parameter i at value. Nelder-Mead
    on (log tau_00, log sigma^2, atanh phi), tight tolerances."""
    dev, _ = _dense_parts(X, Z, y, codes, [(0, 0)], 1, _ar1_R(times), False)
    free = [i for i in range(3) if hold is None or i != hold[0]]

    def natural(u):
        x = np.empty(3)
        if hold is not None:
            x[hold[0]] = hold[1]
        for i, v in zip(free, u, strict=True):
            x[i] = np.tanh(v) if i == 2 else np.exp(v)
        return x

    u0 = [np.arctanh(x0[i]) if i == 2 else np.log(x0[i]) for i in free]
    r = scipy.optimize.minimize(
        lambda u: dev(natural(u)),
        u0,
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000},
    )
    return r.fun


def test_profile_points_against_a_dense_ml_profile():
    """confint(method="profile") with AR(1) errors works through the deviance of all the
    variance parameters (phi and the SD ratios re-estimated at every point). Checked at
    its pieces, against the dense ML deviance minimised by Nelder-Mead: the minimum (the
    profile's centre) is the ML fit's deviance; the profiled deviance with phi held at
    0.5 and with the Days coefficient held at 8 (an offset) agrees to 1e-5. (A whole
    profile takes seconds; the inversion of zeta is the one tested in test_confint.)"""
    m = sleep_ar1()  # REML: the profile is that of the ML deviance, as lme4's
    ml = sleep_ar1(False)
    dp = m.deviance_profile()
    assert dp.names == ["sd(Intercept)", "sigma", "phi", "Intercept", "Days"]
    centre, steps, dev_min, minimise = dp.profile_search()
    assert dev_min == pytest.approx(ml.deviance, abs=1e-6)
    np.testing.assert_allclose(
        centre[:3],
        [np.sqrt(ml.tau.iloc[0, 0]), np.sqrt(ml.sigma2), ml.residual_params["phi"]],
        rtol=1e-4,
    )
    times = hp.load_dataset("sleepstudy")["Days"].to_numpy(float)
    x0 = np.array([ml.tau.iloc[0, 0], ml.sigma2, ml.residual_params["phi"]])
    X, Z, y, codes = m.X, m.Z, m.y, m.group_codes
    assert minimise(2, 0.5, None)[0] == pytest.approx(
        _dense_ml_min(X, Z, y, codes, times, x0, hold=(2, 0.5)), abs=1e-5
    )
    dense_days = _dense_ml_min(X[:, :1], Z, y - 8.0 * X[:, 1], codes, times, x0)
    assert minimise(4, 8.0, None)[0] == pytest.approx(dense_days, abs=1e-5)


def test_confint_names_the_sd_ratio():
    m = sim_varident()
    ci = m.confint(method="wald")
    assert list(ci.index[3:6]) == ["sigma", "phi", "sd ratio(z=1)"]
    assert ci.loc["sd ratio(z=1)", "estimate"] == m.residual_params["z=1"]
    assert ci.loc["sd ratio(z=1)", "ci_lower"] < m.residual_params["z=1"]
    assert ci.loc["sd ratio(z=1)", "ci_upper"] > m.residual_params["z=1"]
