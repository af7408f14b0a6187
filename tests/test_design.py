"""helpers._design: formula + data -> the design every mixed model is estimated from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers._design import build_design


def test_the_design_holds_read_only_arrays_of_the_rows_used(pop):
    d = build_design("popular ~ extrav + texp + (1 + extrav | class)", pop)
    assert d.X.shape == (len(pop), 3) and d.Z.shape == (len(pop), 2)
    np.testing.assert_array_equal(d.y, pop["popular"].to_numpy(float))
    assert d.outcome_frame is None  # only a raw outcome is kept as a frame
    for a in (d.y, d.X, d.Z, d.codes):
        assert not a.flags.writeable
    assert d.offset is None and d.weights is None  # no model family sets them yet
    assert d.n_groups == pop["class"].nunique()


def test_raw_outcome_is_returned_as_it_is_in_the_data(pop):
    df = pop.assign(high=np.where(pop["popular"] > 5, "yes", "no"))
    before = df.copy()
    with pytest.raises(TypeError, match="outcome 'high' must be numeric"):
        build_design("high ~ extrav + (1 | class)", df)
    raw = build_design("high ~ extrav + (1 | class)", df, raw_outcome=True)
    numeric = build_design("popular ~ extrav + (1 | class)", df)
    assert raw.y is None
    assert list(raw.outcome_frame["high"]) == list(df["high"])
    np.testing.assert_array_equal(raw.X, numeric.X)
    assert raw.fixed_names == numeric.fixed_names == ["Intercept", "extrav"]
    pd.testing.assert_frame_equal(df, before)  # the input is untouched
    with pytest.raises(ValueError, match="must be a column name"):
        build_design("np.log(popular) ~ extrav + (1 | class)", df, raw_outcome=True)


# -- the design cache: a formula seen before must never reuse what belongs to other data


def _formulaic(expr, df):
    """The design formulaic builds from scratch (the independent reference)."""
    from formulaic import model_matrix

    mm = model_matrix(expr, df)
    return np.asarray(mm, dtype=float), list(mm.columns)


def _frame(seed, **columns):
    rng = np.random.default_rng(seed)
    n = 60
    df = pd.DataFrame(
        {"g": np.repeat(np.arange(12), 5), "x": rng.normal(size=n), "w": rng.normal(size=n)}
    )
    df["y"] = df["x"] + rng.normal(size=n) + rng.normal(size=12)[df["g"]]
    return df.assign(**columns)


CACHED = "y ~ x + w + x:w + (1 + x | g)"


def test_a_cached_design_equals_formulaic_built_from_scratch_on_new_data():
    for seed in range(3):  # the first build records the plan, the next ones use it
        df = _frame(seed)
        d = build_design(CACHED, df)
        X, names = _formulaic("x + w + x:w", df)
        np.testing.assert_array_equal(d.X, X)
        assert d.fixed_names == names == ["Intercept", "x", "w", "x:w"]
        np.testing.assert_array_equal(d.Z, _formulaic("1 + x", df)[0])
        np.testing.assert_array_equal(d.y, df["y"].to_numpy())


def test_the_same_formula_on_a_text_or_categorical_column_is_not_served_from_the_cache():
    build_design(CACHED, _frame(0))  # a plan for numeric x and w now exists
    labels = np.array(["lo", "mid", "hi"])[np.arange(60) % 3]
    for w in (labels, pd.Categorical(labels), pd.Categorical(labels, ["mid", "lo", "hi"])):
        df = _frame(1, w=w)
        d = build_design(CACHED, df)
        X, names = _formulaic("x + w + x:w", df)
        assert d.fixed_names == names and len(names) == 6  # dummies, not one numeric column
        np.testing.assert_array_equal(d.X, X)


def test_categorical_levels_are_read_from_each_data_set():
    f = "y ~ x + h + (1 | g)"
    a_df = _frame(0, h=np.array(["a", "b"])[np.arange(60) % 2])
    b_df = _frame(0, h=np.array(["a", "c", "d"])[np.arange(60) % 3])
    a, b = build_design(f, a_df), build_design(f, b_df)
    assert "h[T.b]" in a.fixed_names and "h[T.b]" not in b.fixed_names
    assert "h[T.c]" in b.fixed_names and "h[T.d]" in b.fixed_names
    for d, df in ((a, a_df), (b, b_df), (build_design(f, a_df), a_df)):
        X, names = _formulaic("x + h", df)
        assert d.fixed_names == names
        np.testing.assert_array_equal(d.X, X)


def test_a_column_changing_from_integer_to_boolean_or_float_is_rebuilt():
    f = "y ~ k + (1 | g)"
    ints = _frame(0, k=np.arange(60) % 2)
    assert build_design(f, ints).fixed_names == ["Intercept", "k"]
    bools = _frame(0, k=(np.arange(60) % 2).astype(bool))
    d = build_design(f, bools)
    X, names = _formulaic("k", bools)
    assert d.fixed_names == names
    np.testing.assert_array_equal(d.X, X)
    floats = _frame(0, k=np.linspace(0, 1, 60))
    np.testing.assert_array_equal(build_design(f, floats).X[:, 1], floats["k"].to_numpy())


def test_a_stateful_transform_is_recomputed_for_every_data_set():
    """center(x) learns the mean of x from the data: it must never come from a cache."""
    f = "y ~ center(x) + (1 | g)"
    for shift in (0.0, 5.0, -3.0):
        df = _frame(0, x=_frame(0)["x"] + shift)
        d = build_design(f, df)
        assert d.X[:, 1].mean() == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(d.X[:, 1], df["x"] - df["x"].mean(), atol=1e-12)


def test_prediction_from_a_fit_whose_design_came_from_the_cache(pop):
    import helpers as hp

    f = "popular ~ extrav + texp + extrav:texp + (1 + extrav | class)"
    first, second = hp.fit_lmm(f, pop), hp.fit_lmm(f, pop)  # the second uses the plan
    assert second.deviance == first.deviance
    new = pop.head(7)
    pd.testing.assert_series_equal(second.predict(new), first.predict(new))
    np.testing.assert_allclose(second.predict(new), second.fitted().head(7), atol=1e-10)


@pytest.mark.parametrize(
    "values",
    [
        pd.array([1, None, 3, 4] * 15, dtype="Int64"),  # nullable integers: pd.NA
        pd.array([1.0, np.nan, 3.0, 4.0] * 15, dtype="Float64"),
        np.array([1.0, np.nan, 3.0, 4.0] * 15),
        pd.Categorical(["a", None, "b", "a"] * 15),
        np.array(["a", None, "b", "a"] * 15, dtype=object),
    ],
)
def test_missing_values_of_every_column_type_are_counted(values):
    """The missing-value scan goes column by column; pd.NA, None and NaN all count."""
    df = _frame(0, k=values)
    with pytest.raises(ValueError, match=r"'k' \(15 missing\)"):
        build_design("y ~ k + (1 | g)", df)
    with pytest.warns(UserWarning, match="15 of 60 rows dropped"):
        d = build_design("y ~ k + (1 | g)", df, missing="drop")
    assert d.n_dropped == 15 and len(d.y) == 45


@pytest.mark.parametrize(
    "col",
    [
        pd.Series(pd.Categorical([3, 1, 3, 2], categories=[3, 2, 1, 9]), name="g"),
        pd.Series(pd.Categorical(["b", "a", "b"], categories=["b", "a", "z"], ordered=True)),
        pd.Series([5, 3, 5, -1], name="g"),
        pd.Series(np.array([5, 3, 5, 1], dtype="uint8"), name="g"),
        pd.Series([5, 3, 5, 1], dtype="Int64", name="g"),
        pd.Series(["x", "a", "x"], name="g"),
        pd.Series([2.5, 1.0, 2.5], name="g"),
    ],
    ids=["category", "ordered", "int", "uint8", "Int64", "text", "float"],
)
def test_groups_are_factorised_as_pandas_does(col):
    """The shortcut for categorical and integer group columns gives pandas' answer:
    the same codes, and labels of the same type, order, dtype and name."""
    from helpers._design import factorize_groups

    codes, labels = factorize_groups(col)
    expected_codes, expected = pd.factorize(col, sort=True)
    expected = pd.Index(expected, name=col.name)
    np.testing.assert_array_equal(codes, expected_codes)
    assert codes.dtype == expected_codes.dtype
    assert type(labels) is type(expected) and labels.dtype == expected.dtype
    assert labels.equals(expected) and labels.name == expected.name
