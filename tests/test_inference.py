"""helpers.inference: deviance tests (compare), the intraclass correlation and the design effect."""

from __future__ import annotations

import pytest
import scipy.stats

import helpers as hp


def test_icc_and_design_effect(pop):
    m0 = hp.fit_lmm("popular ~ 1 + (1 | class)", pop)
    rho = hp.icc(m0)
    t00 = m0.tau.iloc[0, 0]
    assert rho == pytest.approx(t00 / (t00 + m0.sigma2))
    assert hp.design_effect(rho, 21) == pytest.approx(1 + 20 * rho)
    with pytest.raises(ValueError, match="correlation"):
        hp.design_effect(1.5, 20)
    with pytest.raises(ValueError, match="at least 1"):
        hp.design_effect(0.2, 0)


def test_compare_uses_the_mixture_for_one_variance_component(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pop, reml=False)
    table = hp.compare(m1, m0)  # order of arguments does not matter
    row = table.iloc[1]
    chisq = m0.deviance - m1.deviance
    assert row["df"] == 2 and row["chisq"] == pytest.approx(chisq)
    expected = 0.5 * scipy.stats.chi2.sf(chisq, 1) + 0.5 * scipy.stats.chi2.sf(chisq, 2)
    assert row["p_value"] == pytest.approx(expected)
    assert "mixture" in row["test"]


def test_compare_fixed_effects_uses_plain_chi2(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop, reml=False)
    row = hp.compare(m0, m1).iloc[1]
    assert row["test"] == "chi2(1)"
    assert row["p_value"] == pytest.approx(scipy.stats.chi2.sf(m0.deviance - m1.deviance, 1))


def test_compare_refuses_reml_fits_with_different_fixed_parts(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop)
    with pytest.raises(ValueError, match="REML fits with different fixed parts.*reml=False"):
        hp.compare(m0, m1)


def test_compare_refuses_different_data(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop.iloc[:-5], reml=False)
    with pytest.raises(ValueError, match="different data"):
        hp.compare(m0, m1)
