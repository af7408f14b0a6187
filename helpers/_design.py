"""The design of a two-level mixed model: formula + data -> X, Z, y and the groups.

This is the first step of lme4's pipeline (``lFormula``): it knows nothing of the
model family or of how the model is estimated, so every mixed model (linear or
generalised) builds its design here. The arrays of a :class:`Design` are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import model_matrix

from ._validate import aliased_columns, check_frame, check_outcome, handle_missing
from .formula import LmmFormula, parse_formula

__all__ = ["Design", "build_design", "check_random_slopes", "check_rank", "to_float"]


@dataclass
class Design:
    """Everything the estimation needs from the formula and the data, rows as used.

    ``blocks`` holds one ``(first column of Z, number of columns, independent)`` per
    random part. ``offset`` and ``weights`` are per-row arrays a model family may
    set (``None``: no offset, unit weights); the linear mixed model uses neither.
    """

    formula: LmmFormula
    y: np.ndarray | None  # the outcome as floats (None: the family reads outcome_frame)
    X: np.ndarray  # n x p fixed-effects design
    Z: np.ndarray  # n x q random-effects design (all random parts side by side)
    codes: np.ndarray  # group index 0..J-1 of every row
    groups: pd.Index  # group labels, in lme4's (sorted) order
    fixed_names: list[str]
    random_names: list[str]
    blocks: list[tuple[int, int, bool]]  # (first column, size, independent) per random term
    fixed_spec: object  # formulaic model spec of X (to rebuild it on new data)
    random_specs: list  # formulaic model specs of the random parts
    row_index: pd.Index  # index labels of the rows used
    outcome_frame: pd.DataFrame | None = None  # the outcome before conversion to y
    n_dropped: int = 0
    offset: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.groups)


def _freeze(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


def to_float(frame, what: str) -> np.ndarray:
    try:
        return np.asarray(frame, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Could not turn {what} into numbers: {err}") from None


def _model_matrix(expr: str, data: pd.DataFrame, what: str):
    """formulaic's model matrix, with its errors reported as ValueError naming the part."""
    try:
        return model_matrix(expr, data, na_action="raise")
    except Exception as err:  # formulaic raises many types; say plainly what failed
        raise ValueError(f"Could not build {what}: {err}") from None


def build_design(
    formula: str, data: pd.DataFrame, missing: str = "raise", *, raw_outcome: bool = False
) -> Design:
    """lme4's ``lFormula``: parse the formula, check the data, build X, Z, y and the groups.

    Rows with missing values are handled as ``missing`` says (``"raise"`` or ``"drop"``).
    By default the outcome must be numeric: ``y`` holds it as floats and
    ``outcome_frame`` as formulaic built it. With ``raw_outcome=True`` (for a model
    family that reads its outcome itself, e.g. "yes"/"no" labels) the left-hand side
    must be a column name; ``outcome_frame`` is that column as it is in the data
    (rows used), unchecked, and ``y`` is ``None``.
    """
    f = parse_formula(formula)
    needed = f.variables()
    check_frame(data, needed)
    group = f.group
    n_na_group = int(data[group].isna().sum())
    if n_na_group and missing == "raise":
        raise ValueError(
            f"The grouping column {group!r} has {n_na_group} missing label(s). Every row must "
            "belong to a group: fill them in, or pass missing='drop' to leave those rows out."
        )
    used = [c for c in data.columns if c in needed]
    data, n_dropped = handle_missing(data, used, missing)
    what = f"the fixed-effects design of {f.fixed!r}"
    if raw_outcome:
        if f.outcome not in data.columns:
            raise ValueError(
                f"The outcome {f.outcome!r} must be a column name of the data for this model "
                "(no expression on the left of '~'): compute it as a column first."
            )
        rhs = _model_matrix(f.fixed.partition("~")[2], data, what)
        y, outcome_frame = None, data[[f.outcome]]
    else:
        check_outcome(data, f.outcome)
        mm = _model_matrix(f.fixed, data, what)
        rhs, outcome_frame = mm.rhs, mm.lhs
        y = to_float(mm.lhs, f"the outcome {f.outcome!r}").ravel()
    X = to_float(rhs, "the fixed-effects design")
    fixed_names = list(rhs.columns)

    Zs, random_names, blocks, specs = [], [], [], []
    for term in f.random:
        zm = _model_matrix(term.expr, data, f"the random part '({term.expr} | {group})'")
        z = to_float(zm, f"the random part '({term.expr} | {group})'")
        if z.shape[1] == 0:
            raise ValueError(f"The random part '({term.expr} | {group})' has no terms.")
        blocks.append((sum(b[1] for b in blocks), z.shape[1], term.independent))
        Zs.append(z)
        random_names += list(zm.columns)
        specs.append(zm.model_spec)
    dup = {n for n in random_names if random_names.count(n) > 1}
    if dup:
        raise ValueError(f"The random parts name {sorted(dup)} more than once.")
    Z = np.hstack(Zs)

    codes, groups = pd.factorize(data[group], sort=True)
    groups = pd.Index(groups, name=group)
    n, p = X.shape
    if len(groups) < 2:
        raise ValueError(
            f"The grouping column {group!r} has {len(groups)} group; a multilevel model needs "
            "at least 2 (and many more to estimate a variance well)."
        )
    if n <= p:
        raise ValueError(f"{n} rows cannot estimate {p} fixed effects and a residual variance.")
    check_rank(X, fixed_names)
    check_random_slopes(Z, codes, len(groups), random_names, group)
    _freeze(X, Z, codes, *([] if y is None else [y]))
    return Design(
        formula=f,
        y=y,
        X=X,
        Z=Z,
        codes=codes,
        groups=groups,
        fixed_names=fixed_names,
        random_names=random_names,
        blocks=blocks,
        fixed_spec=rhs.model_spec,
        outcome_frame=outcome_frame,
        random_specs=specs,
        row_index=data.index,
        n_dropped=n_dropped,
    )


def check_rank(X: np.ndarray, names: list[str]) -> None:
    XtX = X.T @ X
    d = np.sqrt(np.diag(XtX))
    zero = [names[i] for i in np.flatnonzero(d == 0)]
    if zero:
        raise ValueError(f"The fixed-effects column(s) {zero} are zero in every row: drop them.")
    C = XtX / np.outer(d, d)
    if np.linalg.eigvalsh(C).min() > 1e-10:
        return
    aliased = aliased_columns(X, names)
    raise ValueError(
        "The fixed-effects design is rank deficient: "
        f"{', '.join(repr(a) for a in aliased) or 'some columns'} "
        "can be written as combinations of the other terms (aliased). Remove them from the "
        "formula (for a class-level predictor, check that it is not a copy or sum of others)."
    )


def check_random_slopes(Z, codes, J, names, group) -> None:
    counts = np.bincount(codes, minlength=J)
    for k, name in enumerate(names):
        z = Z[:, k]
        if np.all(z == 1.0):
            continue
        sums = np.bincount(codes, weights=z, minlength=J)
        means = sums / counts
        within = np.bincount(codes, weights=(z - means[codes]) ** 2, minlength=J)
        if np.all(within <= 1e-12 * max(1.0, float(np.max(z**2)))):
            raise ValueError(
                f"The random slope of {name!r} cannot be estimated: {name!r} is constant within "
                f"every group of {group!r}, so it has no slope inside any group. Use it as a "
                f"fixed (group-level) predictor instead, or remove it from the random part."
            )
