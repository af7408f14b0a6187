"""The lme4-style formula: parsing, malformed formulas, and the features fits accept."""

from __future__ import annotations

import pytest

import helpers as hp


@pytest.mark.parametrize(
    "formula, exc, message",
    [
        ("popular ~ extrav", hp.FormulaError, "no random part"),
        ("popular extrav + (1 | class)", hp.FormulaError, "exactly one '~'"),
        ("~ extrav + (1 | class)", hp.FormulaError, "no outcome"),
        ("popular ~ extrav + (1 | class", hp.FormulaError, "Unbalanced"),
        ("popular ~ extrav + (1 | class) + (1 | texp)", hp.FormulaError, "several grouping"),
        ("popular ~ extrav + ( | class)", hp.FormulaError, "nothing left of"),
        ("popular ~ extrav + (1 | class/texp)", hp.FormulaError, "single column name"),
        ("popular ~ extraversion + (1 | class)", KeyError, "'extraversion'.*Available columns"),
        ("popular ~ extrav + (1 | klass)", KeyError, "'klass'"),
    ],
)
def test_malformed_formulas_and_unknown_columns(pop, formula, exc, message):
    with pytest.raises(exc, match=message):
        hp.fit_lmm(formula, pop)


def test_independent_terms_three_ways_agree(sleep):
    a = hp.fit_lmm("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep)
    b = hp.fit_lmm("Reaction ~ Days + (1 + Days || Subject)", sleep)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    assert a.tau.iloc[0, 1] == 0 and b.tau.iloc[0, 1] == 0
    assert not a.theta_is_free(0, 1)


def test_implicit_intercept_in_random_part(sleep):
    a = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep)
    b = hp.fit_lmm("Reaction ~ Days + (1 + Days | Subject)", sleep)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)


def test_categorical_and_star_terms():
    hsb = hp.load_dataset("hsb")
    m = hp.fit_lmm("mAch ~ meanses*cses + sector*cses + (1 + cses | school)", hsb)
    assert "sector[T.Catholic]" in m.fixed.index
    assert "meanses:cses" in m.fixed.index
    m2 = hp.fit_lmm("mAch ~ C(minrty) + (1 | school)", hsb)
    assert "C(minrty)[T.Yes]" in m2.fixed.index


def test_parse_formula():
    f = hp.parse_formula("y ~ a*b + (1 + a | g) + c")
    assert f.fixed == "y ~ a*b + c"
    assert f.group == "g" and f.random[0].expr == "1 + a"
    assert f.variables() == {"y", "a", "b", "c", "g"}
