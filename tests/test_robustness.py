"""No silent wrong answer (issue 11): degenerate data are named, comparisons checked,
predictions for unseen levels refused, bad input reported clearly, inputs never mutated.

Each test feeds the kind of input a new user brings and checks both that the call
refuses (or warns) and that the message names the column, the count or the
condition, and the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import helpers as hp


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def two_level():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(12), 8)
    h = np.tile(np.arange(8), 12)  # another grouping of the same rows
    x = rng.normal(size=96)
    w = rng.normal(size=96)
    y = 1 + 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=96)
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": g, "h": h, "z": rng.normal(size=12)[g]})


# --------------------------------------------------------------- degenerate designs


def test_group_level_outcome_is_named_not_fitted(pop):
    """Issue 11: 'texp ~ 1 + (1 | class)' gave tau 3.6 (true 43.5), sigma2 5e-14, no warning."""
    with pytest.raises(
        ValueError, match="outcome 'texp' is constant within every group of 'class'.*group-level"
    ):
        hp.fit_lmm("texp ~ 1 + (1 | class)", pop)


def test_every_group_of_size_one_is_refused(two_level):
    df = two_level.assign(id=np.arange(len(two_level)))
    with pytest.raises(ValueError, match="Every group of 'id' has a single row.*not identified"):
        hp.fit_lmm("y ~ x + (1 | id)", df)


def test_too_few_rows_for_the_random_slopes_is_refused(two_level):
    pairs = two_level.assign(pair=np.arange(len(two_level)) // 2)
    with pytest.raises(ValueError, match="96 rows cannot identify 48 groups x 2 random effects"):
        hp.fit_lmm("y ~ x + (1 + x | pair)", pairs)


def test_constant_outcome_says_so(two_level):
    with pytest.raises(ValueError, match="outcome 'c' has the same value \\(3\\) in every row"):
        hp.fit_lmm("c ~ x + (1 | g)", two_level.assign(c=3.0))


def test_random_slope_of_a_group_level_variable_is_named_in_any_units(two_level):
    for factor in (1.0, 1e-8, 1e8):
        with pytest.raises(ValueError, match="random slope of 'z'.*constant within every group"):
            hp.fit_lmm("y ~ z + (1 + z | g)", two_level.assign(z=two_level["z"] * factor))


def test_shifted_predictor_is_not_mistaken_for_an_aliased_one(two_level):
    """x + 1e8 is nearly parallel to the intercept in raw units; centring sees it is not."""
    a = quiet(hp.fit_lmm, "y ~ x + (1 | g)", two_level, reml=False)
    b = quiet(hp.fit_lmm, "y ~ x + (1 | g)", two_level.assign(x=two_level["x"] + 1e8), reml=False)
    assert b.deviance == pytest.approx(a.deviance, rel=1e-6)
    assert b.fixed.loc["x", "estimate"] == pytest.approx(a.fixed.loc["x", "estimate"], rel=1e-6)


def test_text_in_a_few_rows_of_a_number_column_is_named(pop):
    df = pop.assign(extrav=pop["extrav"].astype(object))
    df.loc[[5, 17, 40], "extrav"] = ["seven", "n/a", "7,5"]
    pattern = r"Column 'extrav' holds numbers in 2054 rows but text in 3 row\(s\) \(e\.g\. 'seven' in row 5\)"
    with pytest.raises(ValueError, match=pattern):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df)
    with pytest.raises(ValueError, match=pattern):
        hp.fit_ols("popular ~ extrav", df)
    # Written as an explicit categorical, it is taken at its word.
    assert "C(extrav)[T.seven]" in quiet(hp.fit_ols, "popular ~ C(extrav)", df).fixed.index


def test_numbers_stored_as_text_are_refused(pop):
    df = pop.assign(extrav=pop["extrav"].astype(str))
    with pytest.raises(TypeError, match="'extrav' holds numbers stored as text.*pd.to_numeric"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df)


def test_a_declared_categorical_with_number_like_levels_is_taken_at_its_word(pop):
    # pandas Categorical levels "0", "1", "2", "3+" (as the contraception survey's
    # number of living children) are a deliberate coding, not numbers stored as text.
    levels = ["0", "1", "2", "3+"]
    codes = np.arange(len(pop)) % 4
    df = pop.assign(kids=pd.Categorical.from_codes(codes, categories=levels))
    m = quiet(hp.fit_lmm, "popular ~ kids + (1 | class)", df)
    assert {"kids[T.1]", "kids[T.2]", "kids[T.3+]"} <= set(m.fixed.index)


def test_infinite_values_name_the_column_and_count(pop):
    df = pop.assign(extrav=pop["extrav"].astype(float))
    df.loc[[3, 8], "extrav"] = [np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"Column 'extrav' holds 2 infinite value\(s\).*row 3"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df)
    with pytest.raises(ValueError, match=r"Column 'extrav' holds 2 infinite"):
        hp.fit_ols("popular ~ extrav", df)
    df2 = pop.assign(popular=pop["popular"].replace(pop["popular"].iloc[0], np.inf))
    with pytest.raises(ValueError, match="Column 'popular' holds .* infinite"):
        hp.fit_lmm("popular ~ extrav + (1 | class)", df2)


def test_missing_values_name_the_column_and_count(pop):
    df = pop.copy()
    df.loc[[1, 2], "texp"] = np.nan
    with pytest.raises(ValueError, match=r"'texp' \(2 missing\)"):
        hp.fit_ols("popular ~ texp", df)
    with pytest.raises(ValueError, match=r"'texp' \(2 missing\)"):
        hp.fit_by_group("popular ~ texp", df, group="class")


# ------------------------------------------------------------------------- compare


def test_compare_refuses_different_grouping_factors(two_level):
    """Issue 11: fits grouped by h and by g were reported as nested, p = 1e-17."""
    by_h = quiet(hp.fit_lmm, "y ~ x + (1 | h)", two_level, reml=False)
    by_g = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", two_level, reml=False)
    with pytest.raises(ValueError, match="groups the rows by 'h' and model 'M1' .* by 'g'"):
        hp.compare(by_h, by_g)


def test_compare_accepts_the_same_rows_in_another_order(two_level):
    m0 = quiet(hp.fit_lmm, "y ~ x + (1 | g)", two_level, reml=False)
    m1 = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", two_level, reml=False)
    shuffled = two_level.sample(frac=1, random_state=1)
    m1s = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", shuffled, reml=False)
    reset = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", shuffled.reset_index(drop=True), reml=False)
    expected = hp.compare(m0, m1)
    for other in (m1s, reset):
        got = hp.compare(m0, other)
        np.testing.assert_allclose(got["p_value"].iloc[1], expected["p_value"].iloc[1], rtol=1e-6)


def test_compare_refuses_different_data_by_content(two_level):
    m0 = quiet(hp.fit_lmm, "y ~ x + (1 | g)", two_level, reml=False)
    other = two_level.copy()
    other.loc[0, "y"] += 1.0
    m1 = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", other, reml=False)
    with pytest.raises(ValueError, match="different data.*the outcome values differ"):
        hp.compare(m0, m1)
    moved = two_level.copy()
    moved.loc[0, "g"] = 5
    m2 = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", moved, reml=False)
    with pytest.raises(ValueError, match="different data.*spread differently over the groups"):
        hp.compare(m0, m2)


def test_compare_refuses_fixed_parts_that_are_not_nested(two_level):
    m_x = quiet(hp.fit_lmm, "y ~ x + (1 | g)", two_level, reml=False)
    m_wz = quiet(hp.fit_lmm, "y ~ w + z + (1 | g)", two_level, reml=False)
    with pytest.raises(
        ValueError, match="model 'M0' .* is not nested in model 'M1' .*fixed term 'x'"
    ):
        hp.compare(m_x, m_wz)


def test_compare_judges_nesting_by_column_space_not_names(two_level):
    """x2 = 2x is the same column space as x: 'y ~ x2 + w' contains 'y ~ x'."""
    df = two_level.assign(x2=2 * two_level["x"])
    m0 = quiet(hp.fit_lmm, "y ~ x + (1 | g)", df, reml=False)
    m1 = quiet(hp.fit_lmm, "y ~ x2 + w + (1 | g)", df, reml=False)
    row = hp.compare(m0, m1).iloc[1]
    assert row["df"] == 1 and row["test"] == "chi2(1)"


def test_compare_refuses_random_parts_that_are_not_nested(two_level):
    m_slope = quiet(hp.fit_lmm, "y ~ x + (0 + x | g)", two_level, reml=False)
    m_int = quiet(hp.fit_lmm, "y ~ x + w + (1 | g)", two_level, reml=False)
    with pytest.raises(ValueError, match="random term 'x' is not a combination"):
        hp.compare(m_slope, m_int)


def test_compare_keeps_the_reml_guard_and_the_mixture(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop)
    with pytest.raises(ValueError, match="REML fits with different fixed parts"):
        hp.compare(m0, m1)
    m2 = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pop)
    assert "mixture" in hp.compare(m0, m2).iloc[1]["test"]


# ------------------------------------------------------------------------- predict


def test_predict_names_an_unseen_level_of_a_fixed_factor():
    hsb = hp.load_dataset("hsb")
    m = quiet(hp.fit_lmm, "mAch ~ sector + cses + (1 | school)", hsb)
    new = hsb.head(6).copy()
    new["sector"] = new["sector"].astype(str)
    new.loc[new.index[[1, 4]], "sector"] = "Charter"
    with pytest.raises(
        ValueError, match=r"2 row\(s\) of newdata have level\(s\) 'Charter' of 'sector'"
    ):
        m.predict(new)
    with pytest.warns(UserWarning, match="'Charter' of 'sector'.*NaN"):
        pred = m.predict(new, new_levels="nan")
    assert pred.isna().to_numpy().tolist() == [False, True, False, False, True, False]
    np.testing.assert_allclose(pred.dropna(), m.predict(hsb.head(6)).iloc[[0, 2, 3, 5]])


def test_unseen_numeric_level_is_named_as_the_user_wrote_it(pop):
    m = quiet(hp.fit_lmm, "popular ~ C(gender) + (1 | class)", pop)
    with pytest.raises(ValueError, match=r"level\(s\) 7 of 'C\(gender\)'.*knows 0, 1"):
        m.predict(pop.head(2).assign(gender=7))


def test_predict_for_unseen_groups_notes_a_label_type_mismatch(pop):
    m = quiet(hp.fit_lmm, "popular ~ extrav + (1 | class)", pop)
    new = pop.head(4).assign(**{"class": pop["class"].head(4).astype(str)})
    with pytest.warns(UserWarning, match="4 row.*groups not in the fit.*numbers.*strings"):
        m.predict(new)
    # Today's behaviour for a truly new group: the fixed part, with a warning.
    with pytest.warns(UserWarning, match="groups not in the fit") as caught:
        pred = m.predict(pop.head(2).assign(**{"class": 999}))
    assert "Note" not in str(caught[0].message)
    np.testing.assert_allclose(pred, m.predict(pop.head(2), include_random=False))


# ------------------------------------------------------------------- wrong types


def test_options_are_keyword_only(pop):
    with pytest.raises(TypeError):
        hp.fit_lmm("popular ~ extrav + (1 | class)", pop, False)
    with pytest.raises(TypeError):
        hp.fit_ols("popular ~ extrav", pop, "class")
    with pytest.raises(TypeError):
        hp.fit_by_group("popular ~ extrav", pop, "class")
    with pytest.raises(TypeError):
        hp.load_dataset("popularity", False)
    with pytest.raises(TypeError):
        hp.simulate_popularity(1)


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (
            lambda pop: hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml="yes"),
            TypeError,
            "reml must be True or False",
        ),
        (
            lambda pop: hp.fit_lmm("popular ~ extrav + (1 | class)", pop, missing=0),
            TypeError,
            "missing must be one of",
        ),
        (
            lambda pop: hp.fit_ols("popular ~ extrav", pop, missing="skip"),
            ValueError,
            "missing must be one of",
        ),
        (lambda pop: hp.fit_ols(42, pop), hp.FormulaError, "must be a string"),
        (
            lambda pop: hp.fit_ols("popular ~ extrav + (1 | class)", pop),
            hp.FormulaError,
            "hp.fit_lmm",
        ),
        (
            lambda pop: hp.fit_ols("popular ~ extrav", pop, cluster=3),
            TypeError,
            "cluster must be a column name",
        ),
        (
            lambda pop: hp.fit_by_group("popular ~ extrav", pop, group=1),
            TypeError,
            "group must be a column name",
        ),
        (
            lambda pop: hp.compare(hp.fit_ols("popular ~ extrav", pop), None),
            TypeError,
            "Model 'M0' of compare is of type OlsFit, not a fit from hp.fit_lmm",
        ),
        (
            lambda pop: hp.shrinkage_table("m"),
            TypeError,
            "The argument of shrinkage_table is of type str",
        ),
        (lambda pop: hp.load_dataset(3), TypeError, "name must be a string"),
        (
            lambda pop: hp.load_dataset("popularity", verify="no"),
            TypeError,
            "verify must be True or False",
        ),
        (lambda pop: hp.simulate_popularity(p_girl="half"), TypeError, "p_girl must be a number"),
        (lambda pop: hp.simulate_popularity(sigma2=-1.0), ValueError, "sigma2 must be a positive"),
        (
            lambda pop: hp.fit_lmm("popular ~ extrav + (1 | class)", pop).predict(
                pop, new_levels="zero"
            ),
            ValueError,
            "new_levels must be one of",
        ),
    ],
)
def test_wrong_types_and_values_are_named(pop, call, exc, message):
    with pytest.raises(exc, match=message):
        call(pop)


# ---------------------------------------------------------------- no mutation


def _snapshot(df):
    return df.copy(deep=True), list(df.columns), df.index.copy(), df.dtypes.copy()


def _unchanged(df, snap):
    copy, columns, index, dtypes = snap
    pd.testing.assert_frame_equal(df, copy)
    assert list(df.columns) == columns and df.index.equals(index) and df.dtypes.equals(dtypes)


@pytest.mark.parametrize(
    "name, call",
    [
        (
            "fit_lmm",
            lambda df: hp.fit_lmm(
                "np.log(popular + 1) ~ extrav + I(texp^2) + (1 + extrav | class)",
                df,
                missing="drop",
            ),
        ),
        (
            "fit_ols",
            lambda df: hp.fit_ols("popular ~ extrav + texp", df, cluster="class", missing="drop"),
        ),
        (
            "fit_by_group",
            lambda df: hp.fit_by_group("popular ~ extrav", df, group="class", missing="drop"),
        ),
        (
            "predict",
            lambda df: hp.fit_lmm("popular ~ extrav + (1 | class)", df, missing="drop").predict(
                df.dropna()
            ),
        ),
    ],
)
def test_fitting_functions_never_mutate_their_data(pop, name, call):
    df = pop.copy()
    df.loc[[0, 9], "extrav"] = np.nan  # missing='drop' must not drop from the caller's frame
    snap = _snapshot(df)
    quiet(call, df)
    _unchanged(df, snap)


def test_consumers_never_mutate_the_fit_or_its_data(pop):
    df = pop.copy()
    snap = _snapshot(df)
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", df, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", df, reml=False)
    before = (m0.fixed.copy(), m0.tau.copy(), m0.ranef().copy())
    hp.compare(m0, m1)
    hp.shrinkage_table(m0)
    hp.shrinkage_weights(m0)
    hp.own_estimates(m0)
    hp.model_table([m0, m1])
    hp.icc(m0)
    _unchanged(df, snap)
    pd.testing.assert_frame_equal(m0.fixed, before[0])
    pd.testing.assert_frame_equal(m0.tau, before[1])
    pd.testing.assert_frame_equal(m0.ranef(), before[2])


def test_data_functions_return_fresh_frames():
    a = hp.load_dataset("popularity")
    a.loc[0, "popular"] = -99.0
    assert hp.load_dataset("popularity").loc[0, "popular"] != -99.0
    s = hp.simulate_popularity(seed=3)
    s.data.loc[0, "popular"] = -99.0
    assert hp.simulate_popularity(seed=3).data.loc[0, "popular"] != -99.0
