"""helpers._fit: the MixedFit base, its read-only view of the design, and its consumers.

Expected values are built here directly from the data (formulaic's model matrices,
numpy cross-products, pandas group sizes), independently of the fitting code.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

import helpers as hp

FORMULA = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"


@pytest.fixture(scope="module")
def final(pop):
    return hp.fit_lmm(FORMULA, pop)


# ------------------------------------------------------------ the read-only design view


def test_the_design_view_equals_the_model_matrices_built_directly(final, pop):
    fixed = model_matrix("popular ~ extrav + gender + texp + extrav:texp", pop)
    random = model_matrix("1 + extrav", pop)
    n = len(pop)
    assert final.X.shape == (n, 5) and final.Z.shape == (n, 2) and final.y.shape == (n,)
    np.testing.assert_array_equal(final.X, np.asarray(fixed.rhs, dtype=float))
    np.testing.assert_array_equal(final.Z, np.asarray(random, dtype=float))
    np.testing.assert_array_equal(final.y, pop["popular"].to_numpy(float))
    assert final.fixed_names == list(fixed.rhs.columns) == list(final.fixed.index)
    assert final.random_names == ["Intercept", "extrav"] == final.random_terms
    assert final.blocks == ((0, 2, False),)
    assert final.row_index.equals(pop.index)


def test_the_design_view_of_groups(final, pop):
    labels = np.sort(pop["class"].unique())
    np.testing.assert_array_equal(final.groups, labels)
    assert final.groups.name == "class"
    assert final.group_codes.shape == (len(pop),)
    np.testing.assert_array_equal(final.groups[final.group_codes], pop["class"])
    sizes = pop.groupby("class").size()
    np.testing.assert_array_equal(final.n_per_group, sizes.loc[labels])
    assert final.ZtZ.shape == (len(labels), 2, 2)
    for label in (1, 7, 100):
        g = pop[pop["class"] == label]
        Zj = np.column_stack([np.ones(len(g)), g["extrav"]])
        j = final.groups.get_loc(label)
        np.testing.assert_allclose(final.ZtZ[j], Zj.T @ Zj)


def test_the_design_view_is_read_only(final):
    before = final.fixed.copy()
    for name in ("X", "y", "Z", "group_codes", "n_per_group", "ZtZ"):
        arr = getattr(final, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0
    names = final.fixed_names
    names.append("extra")
    assert "extra" not in final.fixed_names
    assert isinstance(final.blocks, tuple)
    pd.testing.assert_frame_equal(final.fixed, before)
    # The fit still predicts from an intact design.
    np.testing.assert_allclose(final.residuals() + final.fitted(), final.y)


def test_the_design_view_after_dropped_rows_and_with_independent_terms(pop):
    df = pop.copy()
    df.loc[[3, 10, 11], "extrav"] = np.nan
    with pytest.warns(UserWarning, match="rows dropped"):
        m = hp.fit_lmm("popular ~ extrav + (1 | class)", df, missing="drop")
    kept = df.index.drop([3, 10, 11])
    assert m.row_index.equals(kept)
    assert len(m.y) == len(kept) == m.n_obs
    np.testing.assert_array_equal(m.y, df.loc[kept, "popular"].to_numpy(float))
    assert m.blocks == ((0, 1, False),)
    sleep = hp.load_dataset("sleepstudy")
    b = hp.fit_lmm("Reaction ~ Days + (1 + Days || Subject)", sleep)
    assert b.blocks == ((0, 2, True),)
    a = hp.fit_lmm("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep)
    assert a.blocks == ((0, 1, False), (1, 1, False))
    assert a.random_names == ["Intercept", "Days"]


# ------------------------------------------------------- consumers take any MixedFit


@dataclasses.dataclass(repr=False)
class OtherFit(hp.MixedFit):
    """A stand-in for another model family: a MixedFit that is not an LmmFit."""

    kind: ClassVar[str] = "Other mixed model"


def as_other(fit: hp.LmmFit) -> OtherFit:
    return OtherFit(**{f.name: getattr(fit, f.name) for f in dataclasses.fields(fit)})


@pytest.fixture(scope="module")
def nested_ml(pop):
    m0 = hp.fit_lmm("popular ~ extrav + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + gender + (1 | class)", pop, reml=False)
    return m0, m1


def test_lmm_fit_is_a_mixed_fit(final):
    assert isinstance(final, hp.MixedFit)
    assert issubclass(hp.LmmFit, hp.MixedFit)


def test_compare_takes_any_mixed_fit(nested_ml):
    m0, m1 = nested_ml
    o0, o1 = as_other(m0), as_other(m1)
    assert not isinstance(o0, hp.LmmFit)
    table = hp.compare(o0, o1)
    # Without a residual variance of its own, the base counts fixed effects and theta.
    assert list(table["npar"]) == [2 + 1, 3 + 1]
    assert table.iloc[1]["chisq"] == pytest.approx(m0.deviance - m1.deviance)
    assert table.iloc[1]["df"] == 1
    with pytest.raises(TypeError, match="not a fit from hp.fit_lmm"):
        hp.compare(m0, m1.fixed)


def test_icc_model_table_and_shrinkage_take_any_mixed_fit(nested_ml):
    m0, _ = nested_ml
    o0 = as_other(m0)
    assert hp.icc(o0) == hp.icc(m0)
    pd.testing.assert_frame_equal(hp.shrinkage_table(o0), hp.shrinkage_table(m0))
    pd.testing.assert_frame_equal(hp.own_estimates(o0), hp.own_estimates(m0))
    table = hp.model_table({"lmm": m0, "other": o0})
    fixed_and_random = table.loc[["Fixed part", "Random part"]]
    assert (fixed_and_random["lmm"] == fixed_and_random["other"]).all()
    aic = m0.deviance + 2 * (len(m0.fixed) + len(m0.theta))
    assert table.loc[("Model fit", "AIC"), "other"] == f"{aic:.1f}"
    assert repr(o0).startswith("Other mixed model fit by ML")


def test_consumers_refuse_objects_that_only_look_like_a_fit(nested_ml):
    m0, _ = nested_ml
    lookalike = type("Lookalike", (), dict(vars(m0)))()
    with pytest.raises(
        TypeError, match="The argument of icc is of type Lookalike, not a fit from hp.fit_lmm"
    ):
        hp.icc(lookalike)
    with pytest.raises(TypeError, match="not a fit from hp.fit_lmm"):
        hp.model_table([m0, lookalike])
    with pytest.raises(
        TypeError,
        match="The argument of shrinkage_table is of type Lookalike, not a fit from hp.fit_lmm",
    ):
        hp.shrinkage_table(lookalike)
