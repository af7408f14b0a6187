"""The lme4-style model formula: a fixed part and ``( ... | group)`` random parts.

Only the random-effects bars are parsed here. The fixed part, and the expression
inside each bar, are handed to `formulaic <https://matthewwardrop.github.io/formulaic/>`_,
an established implementation of Wilkinson formulas, so interactions (``a:b``,
``a*b``), categorical predictors (``C(x)``) and transformations behave as they do
in statsmodels and R.

Two points where formulaic and R differ are settled here, as an lme4 user expects:

* Inside a function call (``I(k^2)``, ``np.log(x^2)``) ``^`` is a power, as in R.
  formulaic evaluates such calls as Python, where ``^`` is a bitwise XOR on
  integers; the formula is rewritten to ``**`` before formulaic sees it, so the
  term is named ``I(k ** 2)``. Outside calls ``(a + b)^2`` keeps its formula
  meaning (all interactions up to order 2).
* Column names that are not Python names are written in backticks (```my var```,
  ```größe```, ```x.1```) or as ``Q("my var")``, for the outcome, the predictors
  and the grouping column alike. A bare ``x.1`` outside a call is looked up as the
  column ``x.1`` (never as ``x``); inside a call it is backticked automatically.

>>> f = parse_formula("popular ~ extrav + texp + (1 + extrav | class)")
>>> f.fixed, f.group, [t.expr for t in f.random]
('popular ~ extrav + texp', 'class', ['1 + extrav'])
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from formulaic import Formula
from formulaic.parser.types import Factor
from formulaic.transforms import TRANSFORMS
from formulaic.utils.code import sanitize_variable_names

__all__ = [
    "FormulaError",
    "LmmFormula",
    "RandomTerm",
    "formula_categoricals",
    "formula_variables",
    "parse_fixed_formula",
    "parse_formula",
    "split_top_level",
]


class FormulaError(ValueError):
    """A model formula that cannot be understood; the message says what was expected."""


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` part: the random-effects expression and its group."""

    expr: str
    group: str  # the grouping factor's name: a column ("class") or lme4's "class:school"
    independent: bool = False  # written with || : no correlations among its effects
    columns: tuple[str, ...] = ()  # the columns whose interaction is the group (default: group)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The data columns that identify a group (one, or several for ``a:b``)."""
        return self.columns or (self.group,)


@dataclass(frozen=True)
class LmmFormula:
    """A parsed two-level formula."""

    text: str
    outcome: str  # the left-hand side as formulaic reads it ("y", "np.log(y)", "`my y`")
    fixed: str  # "y ~ a + b" (the formula without its random parts)
    random: tuple[RandomTerm, ...]
    fixed_rhs: str = "1"  # the right-hand side of the fixed part, "a + b"

    @property
    def group(self) -> str:
        return self.random[0].group

    @property
    def groups(self) -> tuple[str, ...]:
        """The grouping factors, in the order of their first random part."""
        return tuple(dict.fromkeys(t.group for t in self.random))

    @property
    def several_groups(self) -> bool:
        """Several grouping factors (nested or crossed), or one that is an interaction."""
        return len(self.groups) > 1 or any(len(t.group_columns) > 1 for t in self.random)

    def variables(self) -> set[str]:
        """Every data column the formula uses."""
        names = formula_variables(self.fixed)
        for term in self.random:
            names |= formula_variables(term.expr)
            names.update(term.group_columns)
        return names

    @property
    def outcome_column(self) -> str | None:
        """The outcome's column name when the left-hand side is one (`y`, Q("y")); else None."""
        m = _QUOTED.fullmatch(self.outcome)
        if m:
            return m.group(1) or m.group(3)
        return self.outcome if _NAME.fullmatch(self.outcome) else None

    def variables_of_fixed(self) -> set[str]:
        """The data columns the fixed part (outcome and fixed terms) reads."""
        return formula_variables(self.fixed)

    def outcome_variables(self) -> set[str]:
        """The data columns the outcome is computed from (one for a plain outcome)."""
        return formula_variables(f"{self.outcome} ~ 1")

    def predictor_variables(self) -> set[str]:
        """The data columns of the predictors, fixed and random (not the grouping column)."""
        names = formula_variables(self.fixed_rhs)
        for term in self.random:
            names |= formula_variables(term.expr)
        return names

    def categorical_variables(self) -> set[str]:
        """The predictor columns used only as explicit categoricals, ``C(column)``."""
        names, plain = map(set, _variable_uses(self.fixed_rhs))
        for term in self.random:
            more, more_plain = _variable_uses(term.expr)
            names, plain = names | more, plain | more_plain
        return names - plain


_EXPECTED = (
    "Expected an lme4-style formula such as 'y ~ x + (1 | g)' or "
    "'y ~ x + z + (1 + x | g)': an outcome, '~', fixed terms, and one or more "
    "random parts '(terms | group)' (grouping factors may be nested, '(1 | school/class)', "
    "or crossed, '(1 | rater) + (1 | item)')."
)

_QUOTES = "'\"`"
_NAME = re.compile(r"[^\W\d][\w.]*")  # a column name formulaic reads as it is (x, x.1, größe)
_QUOTED = re.compile(r"`([^`]+)`|Q\(\s*(['\"])(.+)\2\s*\)")  # `a name` or Q("a name")


def _unquoted(text: str):
    """Yield (position, character) of every character outside quotes and backticks."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in _QUOTES:
            quote = ch
            continue
        yield i, ch


def _is_call(text: str, pos: int) -> bool:
    """Does the '(' at pos open a function call (a name or a ')' just before it)?"""
    before = text[:pos].rstrip()
    return bool(before) and (before[-1].isalnum() or before[-1] in "_.`")


def _call_mask(text: str) -> list[bool]:
    """For every character: is it outside quotes and inside a function call's parentheses?"""
    mask = [False] * len(text)
    calls: list[bool] = []
    for i, ch in _unquoted(text):
        if ch == "(":
            calls.append(_is_call(text, i) or (bool(calls) and calls[-1]))
        elif ch == ")" and calls:
            calls.pop()
        elif calls and calls[-1]:
            mask[i] = True
    return mask


_DOTTED = re.compile(r"(?<![\w.])[^\W\d]\w*(?:\.\w+)*\.\d\w*(?:\.\w+)*")


def _rewrite(part: str) -> str:
    """Make a formula part mean what it means in R before formulaic reads it.

    Inside function calls: '^' becomes '**' (a power, as in R), and a name such as
    x.1, which is not Python, is put in backticks (the column x.1, never x).
    """
    mask = _call_mask(part)
    out, i = [], 0
    while i < len(part):
        if not mask[i]:
            out.append(part[i])
            i += 1
            continue
        j = i
        while j < len(part) and mask[j]:
            j += 1
        run = _DOTTED.sub(lambda m: f"`{m.group(0)}`", part[i:j])
        out.append(run.replace("^", "**"))
        i = j
    return "".join(out)


def _python_variables(expr: str) -> tuple[set[str], set[str]]:
    """Data columns read by a Python-evaluated factor such as 'np.log(`my y`)'.

    Returns (every column read, the columns read as the first argument of C()).
    """
    aliases: dict = {}
    code = sanitize_variable_names(expr, {}, aliases)
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as err:
        raise FormulaError(
            f"{expr!r} is not a valid expression ({err.msg}); a column name with spaces or "
            "symbols is written in backticks, `my var`."
        ) from None
    skip, names, in_c = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            skip.add(id(node.func))
            if node.func.id == "Q":  # Q("column name")
                names |= {
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
            if node.func.id == "C" and node.args and isinstance(node.args[0], ast.Name):
                in_c.add(id(node.args[0]))
        if isinstance(node, ast.Attribute):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in TRANSFORMS:
                skip.add(id(root))  # np.log, contr.treatment: the library, not data
    categorical = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in skip:
            name = aliases.get(node.id, node.id)
            names.add(name)
            if id(node) in in_c:
                categorical.add(name)
    return names, categorical


@lru_cache(maxsize=256)
def _variable_uses(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(every column a formula reads, the columns it reads other than as C(column))."""
    try:
        parsed = Formula(text)
    except Exception as err:  # formulaic's parser errors are varied; report them plainly
        raise FormulaError(f"Could not parse {text!r}: {err}.") from None
    sides = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed]
    names: set[str] = set()
    in_c: set[str] = set()
    plain: set[str] = set()
    for side in sides:
        for term in side:
            for factor in term.factors:
                if factor.eval_method is Factor.EvalMethod.LOOKUP:
                    names.add(factor.expr)
                    plain.add(factor.expr)
                elif factor.eval_method is Factor.EvalMethod.PYTHON:
                    found, categorical = _python_variables(factor.expr)
                    names |= found
                    in_c |= categorical
                    plain |= found - categorical
    return frozenset(names), frozenset(plain)


def formula_variables(text: str) -> set[str]:
    """Every data column a formula (or a right-hand side alone) reads.

    Unlike formulaic's ``required_variables`` this keeps ``x.1`` as the column
    ``x.1`` (formulaic reports ``x``) and sees through stateful transforms such as
    ``center(x)`` (formulaic reports nothing).
    """
    return set(_variable_uses(text)[0])


def formula_categoricals(text: str) -> set[str]:
    """The columns a formula uses only as explicit categoricals, ``C(column)``."""
    names, plain = _variable_uses(text)
    return set(names - plain)


def _split_bars(rhs: str, text: str) -> tuple[str, list[str]]:
    """Remove every top-level parenthesised group containing '|' from rhs.

    A '|' inside a function call (``I(a | b)``) or inside quotes is not a bar.
    """
    bars, kept, depth, start, last = [], [], 0, None, 0
    bar_at: set[int] = set()
    for i, ch in _unquoted(rhs):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"Unbalanced ')' in formula {text!r}. {_EXPECTED}")
            if depth == 0 and bar_at and not _is_call(rhs, start):
                bars.append(rhs[start + 1 : i])
                kept.append(rhs[last:start])
                last = i + 1
            if depth == 0:
                bar_at = set()
        elif ch == "|":
            if depth == 0:
                raise FormulaError(
                    f"A '|' outside parentheses in {text!r}: write random parts as "
                    "'(terms | group)'."
                )
            bar_at.add(i)
    if depth != 0:
        raise FormulaError(f"Unbalanced '(' in formula {text!r}. {_EXPECTED}")
    kept.append(rhs[last:])
    fixed = "".join(kept)
    # Tidy the '+' left behind where random parts were removed.
    fixed = re.sub(r"\+\s*(\+\s*)+", "+ ", fixed)
    fixed = re.sub(r"^\s*\+\s*|\s*\+\s*$", "", fixed.strip())
    fixed = re.sub(r"\+\s*-", "- ", fixed)
    return fixed.strip(), bars


def _one_column(group: str, bar: str) -> str:
    """One column of a grouping part: a name, `a name` or Q("a name")."""
    m = _QUOTED.fullmatch(group)
    if m:
        return m.group(1) or m.group(3)
    if _NAME.fullmatch(group):
        return group
    raise FormulaError(
        f"The grouping part of '({bar})' must be a column name, or column names joined by "
        f"'/' (nesting: school/class) or ':' (their combinations: school:class), not "
        f"{group!r} (write a name with spaces or symbols in backticks, `my group`, or as "
        'Q("my group")).'
    )


def split_top_level(text: str, sep: str) -> list[str]:
    """Split text at sep outside quotes, backticks, parentheses and brackets."""
    parts, depth, last = [], 0, 0
    for i, ch in _unquoted(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[last:i])
            last = i + 1
    parts.append(text[last:])
    return [p.strip() for p in parts]


def _group_terms(group: str, bar: str) -> list[tuple[str, ...]]:
    """The grouping factors of a grouping part, each as its columns, as lme4 reads it.

    ``g`` -> [(g,)]; ``a:b`` -> [(a, b)]; ``a/b`` -> [(a,), (b, a)] -- lme4's expansion
    of nesting, ``(1 | a/b)`` = ``(1 | a) + (1 | b:a)``; ``a/b/c`` adds (c, b, a).
    """
    nested = split_top_level(group, "/")
    levels = []
    for part in nested:
        cols = tuple(_one_column(c, bar) for c in split_top_level(part, ":"))
        if any(not c for c in cols):
            raise FormulaError(f"The grouping part of '({bar})' has an empty name.")
        levels.append(cols)
    out, inner = [], ()
    for cols in levels:
        inner = cols + inner if inner else cols
        out.append(inner)
    return out


def parse_formula(text: str) -> LmmFormula:
    """Split an lme4-style formula into its fixed part and its random parts.

    Supported random parts: ``(1 | g)``, ``(1 + x | g)``, ``(x | g)`` (with an
    implicit intercept, as in lme4), ``(0 + x | g)``, several parts for the same
    group (independent of each other, e.g. ``(1 | g) + (0 + x | g)``), and
    ``(1 + x || g)`` for uncorrelated effects. One grouping column, or several:
    nested ``(1 | school/class)`` (lme4's
    ``(1 | school) + (1 | class:school)``), interaction groupings
    ``(1 | school:class)`` and crossed factors ``(1 | rater) + (1 | item)``
    (:func:`helpers.fit_lmm` fits these with its engine for several grouping
    factors). The fixed part may be empty of predictors or drop the
    intercept: ``y ~ 0 + (1 | g)``, ``y ~ -1 + x + (1 | g)``. The outcome may be
    transformed: ``np.log(y)``, ``log(y)``, ``I(y / 10)``.
    """
    if isinstance(text, str):
        return _parse_cached(text, True)
    return _parse(text, random=True)


@lru_cache(maxsize=512)
def _parse_cached(text: str, random: bool) -> LmmFormula:
    """A parsed formula depends on its text alone (the result is frozen): parse once."""
    return _parse(text, random=random)


def parse_fixed_formula(text: str) -> LmmFormula:
    """A single-level formula (``y ~ x + z``, as :func:`helpers.fit_ols` takes), read as
    :func:`parse_formula` reads the fixed part of a mixed model; ``random`` is empty."""
    if isinstance(text, str):
        return _parse_cached(text, False)
    return _parse(text, random=False)


_EXPECTED_FIXED = "Expected a formula such as 'y ~ x + z': an outcome, '~' and fixed terms."


def _parse(text: str, *, random: bool) -> LmmFormula:
    expected = _EXPECTED if random else _EXPECTED_FIXED
    if not isinstance(text, str):
        raise FormulaError(f"The formula must be a string, not {type(text).__name__}. {expected}")
    tildes = [i for i, ch in _unquoted(text) if ch == "~"]
    if len(tildes) != 1:
        raise FormulaError(f"The formula {text!r} needs exactly one '~'. {expected}")
    lhs, rhs = text[: tildes[0]].strip(), text[tildes[0] + 1 :].strip()
    if not lhs:
        raise FormulaError(f"The formula {text!r} has no outcome left of '~'. {expected}")
    fixed_rhs, bars = _split_bars(rhs, text)
    if random and not bars:
        raise FormulaError(
            f"The formula {text!r} has no random part. {_EXPECTED} "
            "For a model without random effects use hp.fit_ols."
        )
    if bars and not random:
        raise FormulaError(
            f"{text!r} has a random part '({bars[0]})': single-level regressions take fixed "
            "terms only. Use hp.fit_lmm for a multilevel model."
        )
    terms = []
    for bar in bars:
        independent = "||" in bar
        expr, _, group = bar.replace("||", "|").partition("|")
        expr, group = expr.strip(), group.strip()
        if "|" in group:
            raise FormulaError(f"Too many '|' in '({bar})'. {_EXPECTED}")
        if not group:
            raise FormulaError(f"'({bar})' has no grouping column right of '|'. {_EXPECTED}")
        factors = _group_terms(group, bar)
        if not expr:
            raise FormulaError(
                f"'({bar})' has nothing left of '|'; write (1 | {':'.join(factors[-1])})."
            )
        for cols in factors:
            if len(set(cols)) < len(cols):
                raise FormulaError(f"'({bar})' names a grouping column twice.")
            name = ":".join(cols)
            terms.append(
                RandomTerm(
                    expr=_rewrite(expr),
                    group=name,
                    independent=independent,
                    columns=cols if len(cols) > 1 else (),
                )
            )
    if not fixed_rhs:
        fixed_rhs = "1"
    outcome, fixed_rhs = _rewrite(lhs), _rewrite(fixed_rhs)
    fixed = f"{outcome} ~ {fixed_rhs}"
    try:
        Formula(fixed)
        for t in terms:
            Formula(t.expr)
    except Exception as err:  # formulaic's parser errors are varied; report them plainly
        raise FormulaError(
            f"Could not parse {text!r}: {err}. A column name with spaces or symbols is "
            f"written in backticks, `my var`. {expected}"
        ) from None
    formula_variables(fixed)  # a Python expression formulaic cannot read fails here
    for t in terms:
        formula_variables(t.expr)
    return LmmFormula(
        text=text, outcome=outcome, fixed=fixed, random=tuple(terms), fixed_rhs=fixed_rhs
    )
