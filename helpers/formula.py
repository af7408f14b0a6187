"""The lme4-style model formula: a fixed part and ``( ... | group)`` random parts.

Only the random-effects bars are parsed here. The fixed part, and the expression
inside each bar, are handed to `formulaic <https://matthewwardrop.github.io/formulaic/>`_,
an established implementation of Wilkinson formulas, so interactions (``a:b``,
``a*b``), categorical predictors (``C(x)``) and transformations behave as they do
in statsmodels and R.

>>> f = parse_formula("popular ~ extrav + texp + (1 + extrav | class)")
>>> f.fixed, f.group, [t.expr for t in f.random]
('popular ~ extrav + texp', 'class', ['1 + extrav'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from formulaic import Formula

__all__ = ["FormulaError", "LmmFormula", "RandomTerm", "parse_formula"]


class FormulaError(ValueError):
    """A model formula that cannot be understood; the message says what was expected."""


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` part: the random-effects expression and its group."""

    expr: str
    group: str
    independent: bool = False  # written with || : no correlations among its effects


@dataclass(frozen=True)
class LmmFormula:
    """A parsed two-level formula."""

    text: str
    outcome: str
    fixed: str  # "y ~ a + b" (the formula without its random parts)
    random: tuple[RandomTerm, ...]

    @property
    def group(self) -> str:
        return self.random[0].group

    def variables(self) -> set[str]:
        """Every data column the formula uses."""
        names = set(Formula(self.fixed).required_variables)
        for term in self.random:
            names |= set(Formula(term.expr).required_variables) if term.expr.strip() else set()
            names.add(term.group)
        return names


_EXPECTED = (
    "Expected an lme4-style formula such as 'y ~ x + (1 | g)' or "
    "'y ~ x + z + (1 + x | g)': an outcome, '~', fixed terms, and one or more "
    "random parts '(terms | group)' that all use the same grouping column."
)


def _split_bars(rhs: str, text: str) -> tuple[str, list[str]]:
    """Remove every top-level parenthesised group containing '|' from rhs."""
    bars, kept, depth, start = [], [], 0, None
    i = 0
    last = 0
    while i < len(rhs):
        ch = rhs[i]
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"Unbalanced ')' in formula {text!r}. {_EXPECTED}")
            if depth == 0 and "|" in rhs[start + 1 : i]:
                bars.append(rhs[start + 1 : i])
                kept.append(rhs[last:start])
                last = i + 1
        i += 1
    if depth != 0:
        raise FormulaError(f"Unbalanced '(' in formula {text!r}. {_EXPECTED}")
    kept.append(rhs[last:])
    fixed = "".join(kept)
    if "|" in fixed:
        raise FormulaError(
            f"A '|' outside parentheses in {text!r}: write random parts as '(terms | group)'."
        )
    # Tidy the '+' left behind where random parts were removed.
    fixed = re.sub(r"\+\s*(\+\s*)+", "+ ", fixed)
    fixed = re.sub(r"^\s*\+\s*|\s*\+\s*$", "", fixed.strip())
    return fixed.strip(), bars


def parse_formula(text: str) -> LmmFormula:
    """Split an lme4-style formula into its fixed part and its random parts.

    Supported random parts: ``(1 | g)``, ``(1 + x | g)``, ``(x | g)`` (with an
    implicit intercept, as in lme4), ``(0 + x | g)``, several parts for the same
    group (independent of each other, e.g. ``(1 | g) + (0 + x | g)``), and
    ``(1 + x || g)`` for uncorrelated effects. Only one grouping column
    (two-level models).
    """
    if not isinstance(text, str):
        raise FormulaError(f"The formula must be a string, not {type(text).__name__}. {_EXPECTED}")
    if text.count("~") != 1:
        raise FormulaError(f"The formula {text!r} needs exactly one '~'. {_EXPECTED}")
    lhs, rhs = (s.strip() for s in text.split("~"))
    if not lhs:
        raise FormulaError(f"The formula {text!r} has no outcome left of '~'. {_EXPECTED}")
    fixed_rhs, bars = _split_bars(rhs, text)
    if not bars:
        raise FormulaError(
            f"The formula {text!r} has no random part. {_EXPECTED} "
            "For a model without random effects use hp.fit_ols."
        )
    terms = []
    for bar in bars:
        independent = "||" in bar
        expr, _, group = bar.replace("||", "|").partition("|")
        expr, group = expr.strip(), group.strip()
        if "|" in group:
            raise FormulaError(f"Too many '|' in '({bar})'. {_EXPECTED}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", group):
            raise FormulaError(
                f"The grouping part of '({bar})' must be a single column name, not {group!r} "
                "(nested or crossed groupings are beyond this package's two-level models)."
            )
        if not expr:
            raise FormulaError(f"'({bar})' has nothing left of '|'; write (1 | {group}).")
        terms.append(RandomTerm(expr=expr, group=group, independent=independent))
    groups = {t.group for t in terms}
    if len(groups) > 1:
        raise FormulaError(
            f"The random parts use several grouping columns ({', '.join(sorted(groups))}); "
            "this package fits two-level models with one grouping column."
        )
    if not fixed_rhs:
        fixed_rhs = "1"
    fixed = f"{lhs} ~ {fixed_rhs}"
    try:
        Formula(fixed)
        for t in terms:
            Formula(t.expr)
    except Exception as err:  # formulaic's parser errors are varied; report them plainly
        raise FormulaError(f"Could not parse {text!r}: {err}. {_EXPECTED}") from None
    return LmmFormula(text=text, outcome=lhs, fixed=fixed, random=tuple(terms))
