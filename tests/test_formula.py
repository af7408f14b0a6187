"""The lme4-style formula: parsing, malformed formulas, and the features fits accept.

Also R's meaning of '^' in I(), transformed outcomes, no intercept, names that are
not Python names, and clear refusals. Expected values are closed forms: a power
computed with numpy, a transformed outcome fitted by hand-transforming the column,
the same model written two ways.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import helpers as hp
from helpers.formula import formula_categoricals, formula_variables


@pytest.mark.parametrize(
    "formula, exc, message",
    [
        ("popular ~ extrav", hp.FormulaError, "no random part"),
        ("popular extrav + (1 | class)", hp.FormulaError, "exactly one '~'"),
        ("~ extrav + (1 | class)", hp.FormulaError, "no outcome"),
        ("popular ~ extrav + (1 | class", hp.FormulaError, "Unbalanced"),
        ("popular ~ extrav + ( | class)", hp.FormulaError, "nothing left of"),
        ("popular ~ extrav + (1 | class/)", hp.FormulaError, "must be a column name"),
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


@pytest.fixture(scope="module")
def small():
    """Integer predictor k (1..6), outcome y, groups g: a small two-level data set."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(8), 6)
    k = np.tile(np.arange(1, 7), 8)
    y = 1.0 + 0.5 * k - 0.1 * k**2 + rng.normal(scale=0.6, size=8)[g] + rng.normal(size=48)
    return pd.DataFrame({"y": y, "k": k, "g": g})


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hp.fit_lmm(*args, **kwargs)


# ------------------------------------------------------------------- parsing alone


@pytest.mark.parametrize(
    "formula, fixed, random, group",
    [
        ("y ~ k + I(k^2) + (1 | g)", "y ~ k + I(k**2)", ["1"], "g"),
        ("y ~ np.log(k^2) + (1 | g)", "y ~ np.log(k**2)", ["1"], "g"),
        ("y ~ (a + b)^2 + (1 | g)", "y ~ (a + b)^2", ["1"], "g"),  # formula power outside calls
        ("y ~ 0 + (1 | g)", "y ~ 0", ["1"], "g"),
        ("y ~ -1 + x + (1 | g)", "y ~ -1 + x", ["1"], "g"),
        ("y ~ (1 | g)", "y ~ 1", ["1"], "g"),
        ("y ~ I(a | b) + (1 | g)", "y ~ I(a | b)", ["1"], "g"),  # '|' inside a call
        ("y ~ x + (1 + x | `my group`)", "y ~ x", ["1 + x"], "my group"),
        ("y ~ x + (1 | Q('my group'))", "y ~ x", ["1"], "my group"),
        ('y ~ x + (1 | Q("Schul klasse"))', "y ~ x", ["1"], "Schul klasse"),
        ("größe ~ maß + (maß | klasse)", "größe ~ maß", ["maß"], "klasse"),
        ("y ~ x.1 + (x.1 | g.2)", "y ~ x.1", ["x.1"], "g.2"),
        ("y ~ np.log(x.1) + (1 | g)", "y ~ np.log(`x.1`)", ["1"], "g"),
    ],
)
def test_parse_formula_lme4_semantics(formula, fixed, random, group):
    f = hp.parse_formula(formula)
    assert f.fixed == fixed
    assert [t.expr for t in f.random] == random
    assert f.group == group


@pytest.mark.parametrize(
    "text, expected",
    [
        ("y ~ x.1", {"y", "x.1"}),  # formulaic's own required_variables says 'x'
        ("y ~ center(k)", {"y", "k"}),  # ... and nothing for a stateful transform
        ("np.log(`my y`) ~ Q('my x') + C(h, contr.treatment)", {"my y", "my x", "h"}),
        ("I(y / 10) ~ np.exp(u) + I(w ** 2)", {"y", "u", "w"}),
    ],
)
def test_formula_variables_are_the_data_columns(text, expected):
    assert formula_variables(text) == expected


def test_explicit_categoricals_are_recognised():
    assert formula_categoricals("y ~ C(a) + b + C(c) + c") == {"a"}


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y ~ x + (1 | a b)", "column name.*backticks"),
        ("y ~ x + (1 | a/)", "must be a column name"),
        ("y ~ x + (1 | a:a)", "grouping column twice"),
        ("y ~ x | g", "outside parentheses"),
        ("y ~ x + (1 | g) ~ z", "exactly one '~'"),
        ("y ~ np.log(x y) + (1 | g)", "Could not parse.*backticks"),
    ],
)
def test_formulas_that_cannot_be_read_raise_formula_error(formula, message):
    with pytest.raises(hp.FormulaError, match=message):
        hp.parse_formula(formula)


# ------------------------------------------------------------------------ in a fit


def test_power_inside_I_is_the_square_not_xor(small):
    """Issue 11: I(k^2) with integer k was bitwise XOR in Python (3^2 = 1)."""
    m = quiet_fit("y ~ k + I(k^2) + (1 | g)", small)
    ref = quiet_fit("y ~ k + ksq + (1 | g)", small.assign(ksq=small["k"] ** 2))
    np.testing.assert_allclose(m.fixed["estimate"].to_numpy(), ref.fixed["estimate"].to_numpy())
    assert m.deviance == pytest.approx(ref.deviance, rel=1e-12)
    assert list(m.fixed.index) == ["Intercept", "k", "I(k ** 2)"]


@pytest.mark.parametrize("lhs", ["np.log(Reaction)", "log(Reaction)"])
def test_log_outcome_is_fitted_like_a_logged_column(sleep, lhs):
    """Issue 11: 'np.log(Reaction) ~ ...' failed with a bare KeyError."""
    m = quiet_fit(f"{lhs} ~ Days + (1 | Subject)", sleep)
    ref = quiet_fit("lr ~ Days + (1 | Subject)", sleep.assign(lr=np.log(sleep["Reaction"])))
    assert m.deviance == pytest.approx(ref.deviance, rel=1e-12)
    np.testing.assert_allclose(m.fixed["estimate"], ref.fixed["estimate"], rtol=1e-10)
    np.testing.assert_allclose(m.fitted(), ref.fitted(), rtol=1e-10)
    # And exactly as fit_ols reads the same outcome.
    o = hp.fit_ols(f"{lhs} ~ Days", sleep)
    np.testing.assert_allclose(
        o.fixed["estimate"],
        hp.fit_ols("lr ~ Days", sleep.assign(lr=np.log(sleep["Reaction"]))).fixed["estimate"],
    )


def test_divided_outcome(sleep):
    m = quiet_fit("I(Reaction / 10) ~ Days + (Days | Subject)", sleep, reml=False)
    ref = quiet_fit("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
    np.testing.assert_allclose(m.fixed["estimate"], ref.fixed["estimate"] / 10, rtol=1e-6)
    # ML deviance of y / 10: shifted by 2 n log(1/10) (the Jacobian of the change of units).
    assert m.deviance == pytest.approx(ref.deviance + 2 * ref.n_obs * np.log(0.1), rel=1e-8)


def test_log_of_zero_names_the_term_and_the_rows(sleep):
    df = sleep.copy()
    df.loc[[4, 9], "Reaction"] = 0.0
    with pytest.raises(ValueError, match=r"'np.log\(Reaction\)'.*2 row\(s\).*row 4"):
        hp.fit_lmm("np.log(Reaction) ~ Days + (1 | Subject)", df)


def test_no_fixed_intercept_and_no_fixed_terms_are_fitted(sleep):
    """Issue 11: 'y ~ 0 + (1 | g)' failed with a numpy reduction error. lme4 fits it."""
    m = quiet_fit("Reaction ~ 0 + (1 | Subject)", sleep, reml=False)
    assert len(m.fixed) == 0 and m.n_params == 2
    # Closed form check: the ML fit of y = b_j + e with b_j ~ N(0, tau): its deviance
    # equals -2 log L of the multivariate normal with that covariance.
    y = sleep["Reaction"].to_numpy()
    g = sleep["Subject"].to_numpy()
    V = m.sigma2 * np.eye(len(y)) + m.tau.iloc[0, 0] * (g[:, None] == g[None, :])
    sign, logdet = np.linalg.slogdet(V)
    dev = logdet + y @ np.linalg.solve(V, y) + len(y) * np.log(2 * np.pi)
    assert m.deviance == pytest.approx(dev, rel=1e-10)
    # -1 drops the intercept as 0 + does.
    a = quiet_fit("Reaction ~ -1 + Days + (1 | Subject)", sleep)
    b = quiet_fit("Reaction ~ 0 + Days + (1 | Subject)", sleep)
    assert list(a.fixed.index) == ["Days"]
    assert a.deviance == pytest.approx(b.deviance, rel=1e-12)


def test_names_that_are_not_python_names(sleep):
    """Spaces, non-ASCII letters and dots in outcome, predictor and grouping column."""
    df = sleep.rename(
        columns={"Reaction": "reaction time", "Days": "Tage.1", "Subject": "Versuchsperson Nr"}
    )
    ref = quiet_fit("Reaction ~ Days + (Days | Subject)", sleep)
    for formula in [
        "`reaction time` ~ Tage.1 + (Tage.1 | `Versuchsperson Nr`)",
        "Q('reaction time') ~ `Tage.1` + (`Tage.1` | Q('Versuchsperson Nr'))",
    ]:
        m = quiet_fit(formula, df)
        assert m.deviance == pytest.approx(ref.deviance, rel=1e-12), formula
        np.testing.assert_allclose(m.ranef().to_numpy(), ref.ranef().to_numpy(), rtol=1e-8)
    umlaut = sleep.rename(
        columns={"Reaction": "Reaktionszeit_ä", "Days": "größe", "Subject": "Prüfling"}
    )
    m = quiet_fit("Reaktionszeit_ä ~ größe + (größe | Prüfling)", umlaut)
    assert m.deviance == pytest.approx(ref.deviance, rel=1e-12)
    assert m.group == "Prüfling"


def test_dotted_name_is_never_read_as_its_prefix(sleep):
    """'x.1' must be the column x.1: with only x present the message names x.1."""
    df = sleep.assign(x=sleep["Days"])
    with pytest.raises(KeyError, match=r"'x\.1'"):
        hp.fit_lmm("Reaction ~ x.1 + (1 | Subject)", df)
    with pytest.raises(KeyError, match=r"'x\.1'"):
        hp.fit_ols("Reaction ~ np.log1p(x.1)", df)
