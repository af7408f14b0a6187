"""hp.fit_glmm input defects of issue 26, one test each.

Expected numbers come from closed forms or from a second fit that must agree
exactly (the same model written another way): no value is typed in.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import helpers as hp

# ------------------------------------------------------------------- text outcomes


def test_two_category_text_outcome_of_str_dtype_fits_as_0_1(contra):
    formula = "use ~ age + (1 | district)"
    as_str = contra.assign(use=contra["use"].astype(str).astype("str"))
    assert pd.api.types.is_string_dtype(as_str["use"])
    m = hp.fit_glmm(formula, as_str)
    ref = hp.fit_glmm(formula, contra.assign(use=(contra["use"] == "Y").astype(int)))
    assert m.loglik == pytest.approx(ref.loglik, abs=1e-9)
    np.testing.assert_allclose(m.fixed["estimate"], ref.fixed["estimate"], rtol=1e-9)
    assert m.outcome_coding == "'use' coded 'Y' = 1, 'N' = 0"
    assert "Outcome 'use' coded 'Y' = 1, 'N' = 0" in repr(m)
    assert ref.outcome_coding is None


def test_three_category_text_outcome_is_refused(contra):
    three = np.where(np.arange(len(contra)) % 3 == 0, "maybe", contra["use"].astype(str))
    data = contra.assign(use=pd.Series(three, index=contra.index, dtype="str"))
    with pytest.raises(ValueError, match=r"'use' has 3 categories .*a binomial outcome has two"):
        hp.fit_glmm("use ~ age + (1 | district)", data)


# ------------------------------------------------------------------------ weights


def test_weights_series_is_matched_on_the_index(counts):
    data = counts.assign(prop=counts["successes"] / counts["trials"])
    formula = "prop ~ x + (1 | group)"
    ref = hp.fit_glmm(formula, data, weights="trials")
    shuffled = data["trials"].sample(frac=1.0, random_state=3)  # same labels, other order
    m = hp.fit_glmm(formula, data, weights=shuffled)
    assert m.loglik == pytest.approx(ref.loglik, abs=1e-9)
    np.testing.assert_array_equal(m.weights, ref.weights)
    # A positional array in the order of the rows is still taken as it is.
    m_arr = hp.fit_glmm(formula, data, weights=data["trials"].to_numpy())
    assert m_arr.loglik == pytest.approx(ref.loglik, abs=1e-9)


def test_weights_series_with_other_labels_is_refused(counts):
    data = counts.assign(prop=counts["successes"] / counts["trials"])
    other = pd.Series(data["trials"].to_numpy(), index=data.index + 1000)
    with pytest.raises(ValueError, match="index does not match the rows of data"):
        hp.fit_glmm("prop ~ x + (1 | group)", data, weights=other)


# ---------------------------------------------------------- rows dropped, counted


def test_rows_dropped_for_a_missing_offset_or_weight_are_counted(counts):
    data = counts.assign(prop=counts["successes"] / counts["trials"]).astype(
        {"exposure": float, "trials": float}
    )
    data.loc[data.index[:3], "exposure"] = np.nan
    data.loc[data.index[5:7], "trials"] = np.nan
    with pytest.warns(UserWarning, match="dropped"):
        m = hp.fit_glmm(
            "count ~ x + offset(np.log(exposure)) + (1 | group)",
            data,
            family="poisson",
            missing="drop",
        )
    assert m.n_dropped == 3 and m.n_obs == len(data) - 3
    assert "3 rows dropped for missing values" in repr(m)
    with pytest.warns(UserWarning, match="dropped"):
        w = hp.fit_glmm("prop ~ x + (1 | group)", data, weights="trials", missing="drop")
    assert w.n_dropped == 2 and w.n_obs == len(data) - 2


# ------------------------------------------------------- singular flag, any units


def test_singular_flag_does_not_depend_on_the_units_of_a_slope(contra):
    formula = "use ~ a + urban + (1 + a | district)"
    fits = [hp.fit_glmm(formula, contra.assign(a=contra["age"] * s)) for s in (1.0, 1e6, 1e-6)]
    assert not fits[0].singular
    for m in fits[1:]:
        assert m.singular is fits[0].singular
        assert m.loglik == pytest.approx(fits[0].loglik, abs=1e-6)


# ------------------------------------------------------------ duplicate columns


def test_duplicate_column_names_are_named(binary):
    data = pd.concat([binary, binary[["x"]]], axis=1)
    with pytest.raises(ValueError, match=r"several columns named 'x' \(2 columns\)"):
        hp.fit_glmm("y ~ x + (1 | group)", data)
    with pytest.raises(ValueError, match=r"several columns named 'x' \(2 columns\)"):
        hp.fit_lmm("x ~ z + (1 | group)", data)
    dup_outcome = pd.concat([binary, binary[["y"]]], axis=1)
    with pytest.raises(ValueError, match=r"several columns named 'y'"):
        hp.fit_glmm("y ~ x + (1 | group)", dup_outcome)


# ----------------------------------------------------------------------- compare


def test_compare_of_fits_on_different_rows_says_rows(counts):
    formula = "cbind(successes, trials - successes) ~ x + (1 | group)"
    m0 = hp.fit_glmm("cbind(successes, trials - successes) ~ 1 + (1 | group)", counts)
    m1 = hp.fit_glmm(formula, counts.iloc[10:])
    with pytest.raises(ValueError, match="different data") as err:
        hp.compare(m0, m1)
    assert "prior weights" not in str(err.value)


def test_compare_refuses_different_nagq(binary):
    m0 = hp.fit_glmm("y ~ x + (1 | group)", binary)
    m1 = hp.fit_glmm("y ~ x + z + (1 | group)", binary, nagq=15)
    with pytest.raises(ValueError, match=r"M0: Laplace \(nagq=1\), M1: nagq=15.*same nagq"):
        hp.compare(m0, m1)
    m2 = hp.fit_glmm("y ~ x + z + (1 | group)", binary, nagq=9)
    with pytest.raises(ValueError, match="nagq=15.*nagq=9"):
        hp.compare(hp.fit_glmm("y ~ x + (1 | group)", binary, nagq=15), m2)


# ------------------------------------------------------ simulate and refit a GLMM


def test_simulate_lmm_of_a_glmm_says_what_to_use(binary):
    m = hp.fit_glmm("y ~ x + (1 | group)", binary)
    with pytest.raises(TypeError, match=r"simulates linear mixed models.*fit\.simulate.*refit"):
        hp.simulate_lmm(m, data=binary)


def test_glmm_simulate_and_refit(counts):
    m = hp.fit_glmm("cbind(successes, trials - successes) ~ x + (1 | group)", counts)
    draws = m.simulate(200, seed=7)
    assert draws.shape == (200, m.n_obs)
    np.testing.assert_array_equal(draws, m.simulate(200, seed=7))
    k = draws * m.weights
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # whole numbers of successes
    assert ((draws >= 0) & (draws <= 1)).all()
    # The mean of the draws is the marginal mean: E[mu(eta + b)] over b ~ N(0, tau),
    # computed here by quadrature (closed form for each row), within Monte Carlo error.
    sd = float(np.sqrt(m.tau.iloc[0, 0]))
    z, w = np.polynomial.hermite_e.hermegauss(40)
    eta = m.predict(include_random=False).to_numpy()
    marginal = (1 / (1 + np.exp(-(eta[:, None] + sd * z[None, :])))) @ (w / w.sum())
    se = np.sqrt(marginal * (1 - marginal) / m.weights / 200)
    assert np.max(np.abs(draws.mean(axis=0) - marginal) / se) < 5
    # refit on the fit's own outcome is the fit; on a draw, what fit_glmm gives.
    assert m.refit(m.y).loglik == pytest.approx(m.loglik, abs=1e-9)
    new = counts.assign(successes=np.round(draws[0] * m.weights).astype(int))
    direct = hp.fit_glmm("cbind(successes, trials - successes) ~ x + (1 | group)", new)
    r = m.refit(draws[0])
    assert r.loglik == pytest.approx(direct.loglik, abs=1e-9)
    np.testing.assert_allclose(r.fixed["estimate"], direct.fixed["estimate"], rtol=1e-8)
    with pytest.raises(ValueError, match="one outcome value per row"):
        m.refit(draws[0][:-1])


def test_poisson_simulate_draws_counts(counts):
    m = hp.fit_glmm("count ~ x + offset(np.log(exposure)) + (1 | group)", counts, family="poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draws = m.simulate(3, seed=1)
    assert draws.shape == (3, m.n_obs)
    np.testing.assert_array_equal(draws, np.round(draws))
    assert m.refit(draws[1]).n_obs == m.n_obs
