"""hp.compare(..., method="bootstrap"): the parametric-bootstrap likelihood-ratio test.

Checked against the large-sample theory it must agree with where that theory holds (a
fixed effect tested with 100 classes of about 20 pupils: the chi-square(1) p-value), for
its bookkeeping (rows matched by the data's index in any order; reproducible with a
seed), and for its refusals.
"""

from __future__ import annotations

import numpy as np
import pytest

import helpers as hp


@pytest.fixture(scope="module")
def noise(pop):
    # A predictor with no effect: the test's p-value is moderate, where the two
    # reference distributions can be told apart if either is wrong.
    rng = np.random.default_rng(7)
    return pop.assign(z=rng.normal(size=len(pop)))


@pytest.fixture(scope="module")
def pair(noise):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", noise, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + z + (1 | class)", noise, reml=False)
    return m0, m1


def test_bootstrap_p_agrees_with_chi2_where_theory_holds(pair):
    n = 300
    chi2 = hp.compare(*pair)
    boot = hp.compare(*pair, method="bootstrap", n=n, seed=11)
    p_chi2, p_boot = chi2["p_value"].iloc[1], boot["p_value"].iloc[1]
    assert 0.05 < p_chi2 < 0.95  # a moderate p, where a wrong reference would show
    assert abs(p_boot - p_chi2) < 4 * np.sqrt(p_chi2 * (1 - p_chi2) / n) + 1 / n
    assert boot["test"].iloc[1] == f"parametric bootstrap ({n} samples)"
    # Everything but the p-value and the test's name is the chi-square table's.
    same = ["model", "npar", "deviance", "aic", "bic", "chisq", "df"]
    assert boot[same].equals(chi2[same])


def test_bootstrap_is_repeatable_and_matches_rows_by_index(pair, noise):
    m0, m1 = pair
    a = hp.compare(m0, m1, method="bootstrap", n=40, seed=3)["p_value"].iloc[1]
    b = hp.compare(m0, m1, method="bootstrap", n=40, seed=3)["p_value"].iloc[1]
    assert a == b
    # The larger model fitted to the same rows shuffled: the simulated outcomes are
    # matched by the index, so the refits and the p-value are the same.
    shuffled = noise.sample(frac=1.0, random_state=5)
    m1s = hp.fit_lmm("popular ~ extrav + z + (1 | class)", shuffled, reml=False)
    c = hp.compare(m0, m1s, method="bootstrap", n=40, seed=3)["p_value"].iloc[1]
    assert c == pytest.approx(a)
    # p = (1 + k) / (1 + n): a multiple of 1/41 here.
    assert (a * 41) == pytest.approx(round(a * 41))


def test_bootstrap_refusals(pair, noise):
    m0, m1 = pair
    with pytest.raises(ValueError, match="method must be one of"):
        hp.compare(m0, m1, method="parametric")
    with pytest.raises((TypeError, ValueError), match="n"):
        hp.compare(m0, m1, method="bootstrap", n=0)
    other = noise.reset_index(drop=True).set_index(noise.index + 10_000)
    m1o = hp.fit_lmm("popular ~ extrav + z + (1 | class)", other, reml=False)
    with pytest.raises(ValueError, match="same data frame"):
        hp.compare(m0, m1o, method="bootstrap", n=10, seed=1)
    contra = hp.load_dataset("contraception")
    g0 = hp.fit_glmm("use ~ age + (1 | district)", contra, family="binomial")
    g1 = hp.fit_glmm("use ~ age + urban + (1 | district)", contra, family="binomial")
    with pytest.raises(ValueError, match="linear mixed models|cannot be"):
        hp.compare(g0, g1, method="bootstrap", n=10, seed=1)
