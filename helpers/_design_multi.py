"""The design of a mixed model with several grouping factors (nested or crossed).

``(1 | school/class)`` is lme4's ``(1 | school) + (1 | class:school)``;
``(1 | school:class)`` groups by the combinations of two columns; ``(1 | rater) +
(1 | item)`` crosses two factors. The random parts are gathered by grouping
factor: a factor with several parts (``(1 | g) + (0 + x | g)``, ``(1 + x || g)``)
has one block per part, as the one-factor design (:mod:`helpers._design`) has.
Factors are ordered as lme4 orders its random terms: by decreasing number of
levels (the first, largest factor is the one whose block of the penalised system
is block-diagonal in :mod:`helpers._blocked`).

Nothing here knows how the model is estimated; the checks of the fixed part and
of the rows are those of the one-factor design.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._design import (
    check_outcome_varies,
    check_random_slopes,
    check_rank,
    checked_model_matrix,
    factorize_groups,
    fixed_part,
    rows_used,
    to_float,
)
from ._scale import Units
from ._validate import check_finite_matrix
from .formula import LmmFormula, parse_formula

__all__ = ["Factor", "MultiDesign", "NumberedWithinWarning", "build_multi_design"]


class NumberedWithinWarning(UserWarning):
    """A grouping column whose labels look numbered within another factor's levels."""


@dataclass
class Factor:
    """One grouping factor: its rows' levels and its part of the random-effects design."""

    name: str  # lme4's name: "class", "class:school"
    columns: tuple[str, ...]  # the data columns whose combinations are the levels
    codes: np.ndarray  # level index 0..J-1 of every row
    levels: pd.Index  # level labels ("3", "3:12" for a combination, as lme4 writes them)
    Z: np.ndarray  # n x q, the random parts of this factor side by side
    random_names: list[str]
    blocks: list[tuple[int, int, bool]]  # (first column, size, independent) per part
    random_specs: list  # formulaic model specs of the parts (prediction)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        return self.Z.shape[1]


@dataclass
class MultiDesign:
    formula: LmmFormula
    y: np.ndarray
    X: np.ndarray
    fixed_names: list[str]
    fixed_spec: object
    factors: list[Factor]
    row_index: pd.Index
    n_dropped: int = 0
    units: Units | None = None  # y, X and the stacked Z of all factors
    internal: tuple | None = field(default=None, repr=False)  # (y, X, [Z_k]) internal

    @property
    def Z(self) -> np.ndarray:
        return np.hstack([f.Z for f in self.factors])

    @property
    def blocks(self) -> list[tuple[int, int, bool]]:
        """The blocks of all factors as columns of :attr:`Z`."""
        out, start = [], 0
        for f in self.factors:
            out += [(start + s, size, ind) for s, size, ind in f.blocks]
            start += f.q
        return out


def factor_levels(data: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, pd.Index]:
    """Level of every row for the combinations of ``columns`` (lme4's ``a:b``), labels
    written as lme4 writes an interaction's levels, ``"a_label:b_label"``; only the
    combinations that occur are levels, in lexicographic order of the columns' own
    (sorted) levels."""
    if len(columns) == 1:
        codes, levels = factorize_groups(data[columns[0]])
        return codes, levels
    parts = [factorize_groups(data[c]) for c in columns]
    key = np.zeros(len(data), dtype=np.int64)
    for codes, levels in parts:
        key = key * len(levels) + codes
    uniq, codes = np.unique(key, return_inverse=True)
    labels, rest = [], uniq.copy()
    pos = []
    for _codes, levels in reversed(parts):
        pos.append(rest % len(levels))
        rest = rest // len(levels)
    pos.reverse()
    for k in range(len(uniq)):
        labels.append(":".join(str(parts[i][1][pos[i][k]]) for i in range(len(parts))))
    return codes.astype(np.intp), pd.Index(labels, name=":".join(columns))


def numbered_within(outer: np.ndarray, inner: np.ndarray, J_outer: int, J_inner: int) -> bool:
    """Do the inner factor's levels look numbered within the outer factor's levels?

    That is: every outer level holds the first k of the inner levels (1, 2, ..., k,
    for its own k), the inner labels recur in several outer levels, and not every
    outer level holds every inner level (then it is fully crossed, and the data
    alone cannot tell the two apart).
    """
    key = outer.astype(np.int64) * J_inner + inner
    if J_outer * J_inner <= 8 * len(key) + 2**20:  # the distinct pairs by a table, not a sort
        seen = np.zeros(J_outer * J_inner, dtype=bool)
        seen[key] = True
        pairs = np.flatnonzero(seen)
    else:
        pairs = np.unique(key)
    o, i = pairs // J_inner, pairs % J_inner
    count = np.bincount(o, minlength=J_outer)
    top = np.full(J_outer, -1)
    np.maximum.at(top, o, i)
    prefix = bool(np.all(top + 1 == count))
    shared = len(pairs) >= 2 * J_inner
    return prefix and shared and bool(np.any(count < J_inner))


def build_multi_design(formula: str | LmmFormula, data: pd.DataFrame, missing="raise"):
    """lme4's ``lFormula`` for several grouping factors: X, y, and per factor Z and levels."""
    f = parse_formula(formula) if isinstance(formula, str) else formula
    data, n_dropped = rows_used(f, data, missing)
    for name in sorted({c for t in f.random for c in t.group_columns}):
        if data[name].isna().any():  # missing="drop" has removed them already
            raise ValueError(
                f"The grouping column {name!r} has missing labels. Every row must belong to "
                "a group: fill them in, or pass missing='drop' to leave those rows out."
            )
    y, X, rhs, _ = fixed_part(f, data)
    fixed_names, fixed_spec = list(rhs.columns), rhs.model_spec
    n, p = X.shape
    factors = []
    for name in f.groups:
        terms = [t for t in f.random if t.group == name]
        cols = terms[0].group_columns
        codes, levels = factor_levels(data, cols)
        Zs, names, blocks, specs = [], [], [], []
        for t in terms:
            what = f"the random part '({t.expr} | {name})'"
            mm = checked_model_matrix(t.expr, data, what)
            z = to_float(mm, what)
            if z.shape[1] == 0:
                raise ValueError(f"The random part '({t.expr} | {name})' has no terms.")
            check_finite_matrix(z, list(mm.columns), data.index, "The random-effects term")
            blocks.append((sum(b[1] for b in blocks), z.shape[1], t.independent))
            Zs.append(z)
            names += list(mm.columns)
            specs.append(mm.model_spec)
        dup = {x for x in names if names.count(x) > 1}
        if dup:
            raise ValueError(f"The random parts of {name!r} name {sorted(dup)} more than once.")
        if len(levels) < 2:
            raise ValueError(
                f"The grouping factor {name!r} has {len(levels)} level; a random effect "
                "needs at least 2 (and many more to estimate a variance well)."
            )
        Z = np.hstack(Zs)
        factors.append(Factor(name, cols, codes, levels, Z, names, blocks, specs))
    # lme4's order: decreasing number of levels (stable).
    factors.sort(key=lambda fa: -fa.n_levels)
    if n <= p:
        raise ValueError(f"{n} rows cannot estimate {p} fixed effects and a residual variance.")
    for fa in factors:
        if fa.n_levels >= n:
            raise ValueError(
                f"The grouping factor {fa.name!r} has a level for every row ({n}): its "
                "variance and the residual variance cannot be told apart (lme4 refuses "
                "this too). Remove that random part."
            )
    for fa in factors:  # lme4's check.nobs.vs.nRE, per random term
        if n <= fa.n_levels * fa.q and fa.q > 1:
            raise ValueError(
                f"{n} rows cannot identify {fa.n_levels} levels of {fa.name!r} x {fa.q} "
                f"random effects = {fa.n_levels * fa.q} random effects and a residual "
                "variance (lme4 refuses this too): simplify that random part."
            )
    Zall = np.hstack([fa.Z for fa in factors])
    blocks_all, start = [], 0
    for fa in factors:
        blocks_all += [(start + s, size, ind) for s, size, ind in fa.blocks]
        start += fa.q
    units = Units.choose(y, X, Zall, blocks_all)
    Xi, Zi = units.X(X), units.Z(Zall)
    check_rank(Xi, fixed_names)
    start = 0
    Zks = []
    for fa in factors:
        Zk = Zi[:, start : start + fa.q]
        start += fa.q
        check_random_slopes(Zk, fa.codes, fa.n_levels, fa.random_names, fa.name)
        Zks.append(np.ascontiguousarray(Zk))
    for fa in factors[::-1]:  # constant within every level of any factor: no residual
        check_outcome_varies(y, fa.codes, fa.n_levels, f.outcome, fa.name)
    _warn_numbered_within(f, data, factors)
    yi = units.y(y)
    for a in (X, y, yi, Xi, *Zks, *(fa.Z for fa in factors), *(fa.codes for fa in factors)):
        a.setflags(write=False)
    return MultiDesign(
        formula=f,
        y=y,
        X=X,
        fixed_names=fixed_names,
        fixed_spec=fixed_spec,
        factors=factors,
        row_index=data.index,
        n_dropped=n_dropped,
        units=units,
        internal=(yi, Xi, Zks),
    )


def _warn_numbered_within(f: LmmFormula, data: pd.DataFrame, factors) -> None:
    """Warn where a plain grouping column looks numbered within another factor.

    lme4 crosses ``(1 | school) + (1 | class)`` whatever the labels mean: class 1 of
    every school is then one class. When the labels of class look like a numbering
    within schools, say how to write nesting.
    """
    plain = [fa for fa in factors if len(fa.columns) == 1]
    combos = {frozenset(fa.columns) for fa in factors if len(fa.columns) > 1}
    for inner in plain:
        for outer in plain:
            if outer is inner or frozenset(outer.columns + inner.columns) in combos:
                continue
            if numbered_within(outer.codes, inner.codes, outer.n_levels, inner.n_levels):
                a, b = outer.name, inner.name
                warnings.warn(
                    f"The labels of {b!r} look numbered within {a!r}: every level of {a!r} "
                    f"holds {b!r} 1, 2, ... up to its own count, and the same labels recur "
                    f"in many levels of {a!r}. '(1 | {b})' treats equal labels as one "
                    f"{b} crossed with {a} (as lme4 does, silently). If each level of {a!r} "
                    f"has its own levels of {b!r}, write the nesting: '(1 | {a}/{b})' or '(1 | {a}) + "
                    f"(1 | {a}:{b})'.",
                    NumberedWithinWarning,
                    stacklevel=4,
                )
                return
