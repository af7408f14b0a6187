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


# ------------------------------------------------- how compare and model_table label fits


@pytest.fixture(scope="module")
def lmm_pair(pop):
    return (
        hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False),
        hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop, reml=False),
    )


@pytest.fixture(scope="module")
def glmm_pair():
    df = hp.load_dataset("sim_binary")
    return (
        hp.fit_glmm("y ~ x + (1 | group)", df, family="binomial"),
        hp.fit_glmm("y ~ x + z + (1 | group)", df, family="binomial"),
    )


@pytest.mark.parametrize("pair", ["lmm_pair", "glmm_pair"])
def test_compare_and_model_table_take_and_label_fits_the_same_way(pair, request):
    """One rule (helpers._validate.named_fits): dict keys, else M0, M1, ... by position."""
    m0, m1 = request.getfixturevalue(pair)
    for args in ((m1, m0), ([m1, m0],), ((m1, m0),)):
        tests, table = hp.compare(*args), hp.model_table(*args)
        assert list(table.columns) == ["M0", "M1"]
        # compare sorts by number of parameters: the smaller model (given second) first.
        assert list(tests.index) == ["M1", "M0"]
        assert list(tests["model"]) == [m0.formula, m1.formula]
        assert table.loc[("Model fit", "Deviance"), "M1"] == f"{m0.deviance:.1f}"
    named = {"small": m0, "large": m1}
    assert list(hp.compare(named).index) == list(hp.model_table(named).columns) == list(named)
    assert hp.compare(named)["deviance"].tolist() == [m0.deviance, m1.deviance]
    # The same labels appear in compare's messages.
    with pytest.raises(ValueError, match="model 'only' of compare|at least two"):
        hp.compare({"only": m0})
    with pytest.raises(TypeError, match="one by one.*or as one list"):
        hp.compare(m0, [m1])
    with pytest.raises(TypeError, match="Model 'M1' of model_table is of type str"):
        hp.model_table(m0, "m1")


def test_compare_messages_use_the_labels(lmm_pair, pop):
    m0, _ = lmm_pair
    other = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop.iloc[:-5], reml=False)
    with pytest.raises(ValueError, match="model 'later' .* was fitted to different data"):
        hp.compare({"first": m0, "later": other})
    with pytest.raises(ValueError, match="model 'M1' .* was fitted to different data"):
        hp.compare(m0, other)
