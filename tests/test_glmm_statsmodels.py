"""What statsmodels offers for a binary multilevel outcome, next to the ML (glmer) answer.

statsmodels has no maximum-likelihood GLMM. Its two usual stand-ins answer other
questions, and this test records (does not hide) how far they are from
hp.fit_glmm on the contraception data, ``use ~ age + urban + (1 | district)``
(hp.fit_glmm agrees with lme4's glmer there: tests/test_glmm_reference.py):

* ``BinomialBayesMixedGLM.fit_vb`` (mean-field variational Bayes): the fixed-effect
  means are within a tenth of a standard error of ML, the district variance within
  10%, but its posterior SDs of the fixed effects are too small (the intercept's
  about 0.56 of the ML standard error) because the mean-field approximation drops
  the posterior correlation between the intercept and the district effects.
  ``fit_map`` (posterior mode) puts the district variance at zero here, i.e. it
  returns the ordinary logistic regression (up to its N(0, 2^2) prior on the fixed
  effects).
* ``GEE`` (exchangeable working correlation) estimates population-averaged
  coefficients, not the conditional (district-specific) ones of the GLMM: they are
  smaller by about 1 / sqrt(1 + c^2 tau), c = 16 sqrt(3) / (15 pi) (Zeger, Liang &
  Albert 1988), 0.97 here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import helpers as hp

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM  # noqa: E402


@pytest.fixture(scope="module")
def data():
    d = hp.load_dataset("contraception")
    return d.assign(
        y=(d["use"] == "Y").astype(float),
        urbanY=(d["urban"] == "Y").astype(float),
        dist=d["district"].astype(int),
    )


@pytest.fixture(scope="module")
def ml(data):
    return hp.fit_glmm("use ~ age + urban + (1 | district)", data)


def test_variational_bayes_means_close_but_sds_too_small(data, ml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vb = BinomialBayesMixedGLM.from_formula(
            "y ~ age + urbanY", {"district": "0 + C(dist)"}, data
        ).fit_vb(rng=np.random.default_rng(0))  # its starting values are random
    est, se = ml.fixed["estimate"].to_numpy(), ml.fixed["std_error"].to_numpy()
    assert np.all(np.abs(vb.fe_mean - est) < 0.1 * se)
    assert np.exp(vb.vcp_mean[0]) ** 2 == pytest.approx(ml.tau.iloc[0, 0], rel=0.10)
    ratio = vb.fe_sd / se
    assert ratio[0] < 0.7  # intercept: the mean-field posterior SD is far too small
    assert np.all(ratio[1:] > 0.7)


def test_posterior_mode_collapses_to_the_glm(data, ml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp = BinomialBayesMixedGLM.from_formula(
            "y ~ age + urbanY", {"district": "0 + C(dist)"}, data
        ).fit_map()
        glm = smf.glm("y ~ age + urbanY", data, family=sm.families.Binomial()).fit()
    assert np.exp(mp.vcp_mean[0]) ** 2 < 1e-6
    # Equal up to the shrinkage of statsmodels' default N(0, 2^2) prior on the fixed effects.
    np.testing.assert_allclose(mp.fe_mean, glm.params.to_numpy(), rtol=0.01)


def test_gee_gives_attenuated_population_averaged_coefficients(data, ml):
    gee = smf.gee(
        "y ~ age + urbanY",
        "dist",
        data,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit()
    ratio = gee.params.to_numpy() / ml.fixed["estimate"].to_numpy()
    c = 16 * np.sqrt(3) / (15 * np.pi)
    zeger = 1 / np.sqrt(1 + c**2 * ml.tau.iloc[0, 0])
    assert np.all((ratio > 0.9) & (ratio < 1.0))
    assert ratio[0] == pytest.approx(zeger, abs=0.02)
