"""helpers.ols: complete pooling (fit_ols) and no pooling (fit_by_group)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import helpers as hp


def test_fit_ols_matches_numpy_least_squares(pop):
    o = hp.fit_ols("popular ~ extrav + gender + texp", pop)
    X = np.column_stack([np.ones(len(pop)), pop.extrav, pop.gender, pop.texp])
    beta, *_ = np.linalg.lstsq(X, pop["popular"].to_numpy(), rcond=None)
    np.testing.assert_allclose(o.fixed["estimate"], beta)
    resid = pop["popular"].to_numpy() - X @ beta
    assert o.sigma2 == pytest.approx(resid @ resid / (len(pop) - 4))
    assert o.n_params == 5  # intercept, three slopes, one error variance


def test_cluster_robust_standard_errors_are_larger_for_the_class_level_predictor(pop):
    naive = hp.fit_ols("popular ~ extrav + gender + texp", pop)
    robust = hp.fit_ols("popular ~ extrav + gender + texp", pop, cluster="class")
    np.testing.assert_allclose(naive.fixed["estimate"], robust.fixed["estimate"])
    assert robust.fixed.loc["texp", "std_error"] > 2 * naive.fixed.loc["texp", "std_error"]
    assert robust.n_clusters == 100


def test_fit_ols_refuses_random_parts(pop):
    with pytest.raises(ValueError, match="hp.fit_lmm"):
        hp.fit_ols("popular ~ extrav + (1 | class)", pop)


def test_fit_by_group_matches_separate_regressions(pop):
    table = hp.fit_by_group("popular ~ extrav + gender", pop, group="class")
    assert len(table) == 100 and (table["status"] == "ok").all()
    g = pop[pop["class"] == 17]
    X = np.column_stack([np.ones(len(g)), g.extrav, g.gender])
    beta, *_ = np.linalg.lstsq(X, g["popular"].to_numpy(), rcond=None)
    np.testing.assert_allclose(
        table.loc[17, ["Intercept", "extrav", "gender"]].to_numpy(float), beta
    )
    assert table.loc[17, "n"] == len(g)


def test_fit_by_group_explains_groups_it_cannot_fit():
    small = hp.load_dataset("popularity_small")
    table = hp.fit_by_group("popular ~ extrav + gender", small, group="class")
    too_small = table[table["n"] <= 3]
    assert len(too_small) > 0
    assert too_small["status"].str.startswith("too small").all()
    assert too_small["extrav"].isna().all()
    # A predictor constant inside a group (texp) cannot be separated from the intercept.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t2 = hp.fit_by_group("popular ~ texp", small, group="class")
    fittable_size = t2["n"] > 2
    assert t2.loc[fittable_size, "status"].str.contains("texp cannot be separated").all()
    assert t2.loc[~fittable_size, "status"].str.startswith("too small").all()


def test_fit_by_group_lists_its_terms(pop):
    table = hp.fit_by_group("popular ~ extrav * gender", pop, group="class")
    assert table.attrs["terms"] == ["Intercept", "extrav", "gender", "extrav:gender"]
    assert {"se_extrav:gender", "sigma2", "status", "n", "df_resid"} <= set(table.columns)
