"""Formulas and designs with several grouping factors (nested, crossed, ``a:b``).

Expected values: the expansion of nesting is lme4's (``findbars(y ~ (1 | a/b))`` gives
``1 | b:a`` and ``1 | a``); level labels of a combination are those of R's ``s:c``
for factors s and c (``levels(droplevels(s:c))``, checked in R); the other
expectations are closed forms (the same model written two ways).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import helpers as hp
from helpers._design_multi import NumberedWithinWarning, build_multi_design, factor_levels


def _nested(seed=1, n=600, schools=30):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"school": rng.integers(0, schools, n), "x": rng.normal(size=n)})
    d["class"] = rng.integers(1, 4, n)  # numbered within its school
    a = rng.normal(size=schools)
    c = rng.normal(size=(schools, 4)) * 0.5
    d["y"] = 1 + 0.5 * d.x + a[d.school] + c[d.school, d["class"]] + rng.normal(size=n)
    return d


# ------------------------------------------------------------------------ parsing


def test_nesting_expands_as_lme4_does():
    f = hp.parse_formula("y ~ x + (1 + x | school/class)")
    assert [t.group for t in f.random] == ["school", "class:school"]
    assert [t.group_columns for t in f.random] == [("school",), ("class", "school")]
    assert all(t.expr == "1 + x" for t in f.random)
    assert f.several_groups and f.groups == ("school", "class:school")
    three = hp.parse_formula("y ~ (1 | a/b/c)")
    assert [t.group for t in three.random] == ["a", "b:a", "c:b:a"]


def test_combinations_crossing_and_independent_parts():
    f = hp.parse_formula("y ~ (1 | school:class) + (1 + x || rater)")
    assert [t.group for t in f.random] == ["school:class", "rater"]
    assert f.random[0].group_columns == ("school", "class")
    assert f.random[1].independent
    assert f.variables() == {"y", "x", "school", "class", "rater"}
    one = hp.parse_formula("y ~ x + (1 | g) + (0 + x | g)")
    assert not one.several_groups and one.groups == ("g",)


def test_tools_for_one_grouping_factor_refuse_several_by_name(binary):
    d = _nested()
    d["hit"] = (d.y > 1).astype(int)
    with pytest.raises(ValueError, match="several grouping factors.*hp.fit_lmm fits"):
        hp.fit_glmm("hit ~ x + (1 | school/class)", d, family="binomial")
    with pytest.raises(ValueError, match="several grouping factors"):
        hp.fit_glmm("hit ~ x + (1 | school) + (1 | class)", d, family="binomial")


# ------------------------------------------------------------------------ the design


def test_levels_of_a_combination_are_rs_interaction_labels():
    d = pd.DataFrame({"s": [2, 1, 2, 1, 3], "c": ["b", "a", "a", "a", "b"]})
    codes, levels = factor_levels(d, ("s", "c"))
    # R: f <- droplevels(factor(s):factor(c)); levels(f) and as.character(f)
    assert list(levels) == ["1:a", "2:a", "2:b", "3:b"]
    assert [levels[k] for k in codes] == ["2:b", "1:a", "2:a", "1:a", "3:b"]


def test_factors_are_ordered_by_their_number_of_levels():
    d = _nested()
    design = build_multi_design("y ~ x + (1 | school/class)", d)
    assert [f.name for f in design.factors] == ["class:school", "school"]
    assert design.factors[0].n_levels == d.groupby(["school", "class"]).ngroups
    assert design.factors[1].n_levels == d.school.nunique()


def test_a_class_numbered_within_its_school_is_named_when_written_crossed():
    d = _nested()
    d = d[~((d["class"] == 3) & (d.school % 2 == 0))]  # unequal numbers of classes
    with pytest.warns(NumberedWithinWarning, match=r"\(1 \| school/class\)"):
        build_multi_design("y ~ x + (1 | school) + (1 | class)", d)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumberedWithinWarning)
        build_multi_design("y ~ x + (1 | school/class)", d)
        build_multi_design("y ~ x + (1 | school) + (1 | school:class)", d)


def test_nesting_written_two_ways_is_the_same_model():
    d = _nested()
    a = hp.fit_lmm("y ~ x + (1 | school/class)", d)
    b = hp.fit_lmm("y ~ x + (1 | school) + (1 | class:school)", d)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    np.testing.assert_allclose(a.varcorr.vcov, b.varcorr.vcov, rtol=1e-6)


def test_a_grouping_factor_with_a_level_per_row_is_refused():
    d = _nested()
    d["row"] = np.arange(len(d))
    with pytest.raises(ValueError, match="a level for every row"):
        hp.fit_lmm("y ~ x + (1 | school) + (1 | row)", d)


# ------------------------------------------------------------------------ invariance
#
# Exact maps of a change of units (closed forms): y -> a + c y multiplies the fixed
# slopes, the standard errors and the random effects by c and the variances by c^2, and
# adds 2 n log c to the ML deviance; x -> x / k multiplies x's coefficient (fixed and
# random) by k. The engine works in internal units, so the fits must agree.


def _reference_data(name):
    from pathlib import Path

    return pd.read_csv(Path(__file__).parent / "reference" / "crossed" / f"{name}.csv")


@pytest.mark.parametrize(
    "name, formula",
    [
        ("nested3", "y ~ x + (1 + x | school) + (1 | school:class)"),
        ("pupils", "y ~ x + (1 | primary) + (1 | secondary)"),
    ],
)
def test_estimates_do_not_depend_on_units(name, formula):
    d = _reference_data(name)
    c, a, k = 1e3, 1e6, 1e-6
    e = d.assign(y=a + c * d.y, x=d.x * k)
    m, u = hp.fit_lmm(formula, d, reml=False), hp.fit_lmm(formula, e, reml=False)
    assert u.converged and m.converged
    assert u.deviance == pytest.approx(m.deviance + 2 * m.n_obs * np.log(c), abs=1e-6)
    assert u.fixed.loc["x", "estimate"] == pytest.approx(m.fixed.loc["x", "estimate"] * c / k)
    assert u.fixed.loc["x", "std_error"] == pytest.approx(m.fixed.loc["x", "std_error"] * c / k)
    assert u.sigma2 == pytest.approx(m.sigma2 * c**2, rel=1e-6)
    for g in m.tau:
        scale = np.array([c if t == "Intercept" else c / k for t in m.tau[g].index])
        np.testing.assert_allclose(
            u.tau[g].to_numpy(), m.tau[g].to_numpy() * np.outer(scale, scale), rtol=1e-5
        )
        b, expected = u.ranef()[g].to_numpy(), m.ranef()[g].to_numpy() * scale
        assert np.all(np.abs(b - expected) <= 1e-6 * np.abs(expected).max(axis=0))


def test_predict_with_an_unseen_level_of_one_factor_and_a_known_one_of_another():
    d = _reference_data("pupils")
    m = hp.fit_lmm("y ~ x + (1 | primary) + (1 | secondary)", d)
    new = pd.DataFrame({"x": [0.5, 0.5], "primary": [1, 999], "secondary": [3, 3]})
    with pytest.warns(UserWarning, match="1 row.*'primary'"):
        got = m.predict(new)
    fixed = m.fixed.estimate["Intercept"] + 0.5 * m.fixed.estimate["x"]
    re_p, re_s = m.ranef()["primary"], m.ranef()["secondary"]
    assert got.iloc[0] == pytest.approx(fixed + re_p.loc[1, "Intercept"] + re_s.loc[3, "Intercept"])
    assert got.iloc[1] == pytest.approx(fixed + re_s.loc[3, "Intercept"])
    np.testing.assert_allclose(m.predict(d), m.fitted(), rtol=1e-12)


def test_what_is_not_available_for_several_factors_says_so():
    m = hp.fit_lmm("y ~ x + (1 | primary) + (1 | secondary)", _reference_data("pupils"))
    with pytest.raises(ValueError, match="method must be one of"):
        m.confint(method="boot")
    assert np.isinf(m.wald(ddf="z")["df"]).all()
    assert np.isfinite(m.fixed["df"]).all()  # Satterthwaite's, the default


def test_tools_for_one_factor_fits_name_a_fit_with_several():
    m = hp.fit_lmm("y ~ x + (1 | primary) + (1 | secondary)", _reference_data("pupils"))
    assert isinstance(m, hp.MultiLmmFit)
    with pytest.raises(TypeError, match="several grouping factors"):
        hp.icc(m)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(
    "name, formula",
    [
        ("pupils", "y ~ x + (1 | primary) + (1 | secondary)"),
        ("singular", "score ~ 1 + (1 | rater) + (1 | item) + (1 | session)"),
        ("nested3", "y ~ x + (1 | school/class)"),
    ],
)
def test_exact_gradient_matches_central_differences(name, formula, reml):
    from helpers._blocked import BlockedModel

    design = build_multi_design(formula, _reference_data(name))
    y, X, Zs = design.internal
    fa = design.factors
    model = BlockedModel(
        y, X, Zs, [f.codes for f in fa], [f.n_levels for f in fa], [f.blocks for f in fa], reml
    )
    theta = np.array([0.7, 0.4, 0.3][: len(fa)])
    dev, grad = model.deviance_and_gradient(theta)
    assert dev == model.deviance(theta)
    h = 1e-5
    fd = [
        (model.deviance(theta + e) - model.deviance(theta - e)) / (2 * h)
        for e in np.eye(len(theta)) * h
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "name, key, formula",
    [
        ("penicillin", "penicillin_crossed_reml", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
        ("pastes", "pastes_nested_reml", "strength ~ 1 + (1 | batch/cask)"),
    ],
)
def test_moment_start_is_the_reml_estimate_of_a_balanced_design(name, key, formula):
    # For balanced data the ANOVA (Henderson I) estimates are the REML estimates when
    # positive (Searle, Casella & McCulloch, Variance Components, 1992): the start is then
    # lme4's tight REML optimum (tests/reference/crossed_reference.json).
    import json
    from pathlib import Path

    from helpers._blocked import BlockedModel

    ref = json.loads((Path(__file__).parent / "reference" / "crossed_reference.json").read_text())
    vc = ref["models"][key]["varcorr"]
    var = dict(zip(vc["grp"], vc["vcov"], strict=True))
    design = build_multi_design(formula, _reference_data(name))
    y, X, Zs = design.internal
    fa = design.factors
    model = BlockedModel(
        y, X, Zs, [f.codes for f in fa], [f.n_levels for f in fa], [f.blocks for f in fa], True
    )
    expected = [np.sqrt(var[f.name] / var["Residual"]) for f in fa]
    np.testing.assert_allclose(model.moment_start(), expected, rtol=1e-6)
