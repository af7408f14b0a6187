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
    # the AR(1) model as the null: simulate from it, refit both with AR(1) errors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        t = hp.compare(sleep_ar1(False), m1, method="bootstrap", n=4, seed=1)
    assert t["test"].iloc[1] == "parametric bootstrap (4 samples)"
    assert 0 < t["p_value"].iloc[1] <= 1
