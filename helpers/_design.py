"""The design of a two-level mixed model: formula + data -> X, Z, y and the groups.

This is the first step of lme4's pipeline (``lFormula``): it knows nothing of the
model family or of how the model is estimated, so every mixed model (linear or
generalised) builds its design here. The arrays of a :class:`Design` are read-only.

The design also says in which units the model is estimated (:class:`helpers._scale.Units`:
centred and scaled columns, mapped back exactly), and it refuses, by name, the
designs whose answer would be meaningless: an outcome constant overall or within
every group, groups too small to tell the variance components apart, a random
slope of a variable that does not vary within groups, aliased fixed effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from formulaic import model_matrix

from ._scale import Units
from ._validate import (
    aliased_columns,
    check_finite_matrix,
    check_frame,
    check_option,
    check_outcome,
    check_predictor_columns,
    count_missing,
    handle_missing,
)
from .formula import LmmFormula, formula_variables, parse_formula

__all__ = [
    "Design",
    "build_design",
    "check_identifiable",
    "check_one_group",
    "checked_model_matrix",
    "check_outcome_varies",
    "check_random_slopes",
    "check_rank",
    "factorize_groups",
    "fixed_part",
    "rows_used",
    "to_float",
]


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
    outcome_frame: pd.DataFrame | None = None  # raw_outcome: the outcome column as given
    n_dropped: int = 0
    offset: np.ndarray | None = None
    weights: np.ndarray | None = None
    units: Units | None = None  # the centring and scaling the estimation works in
    internal_XZ: tuple | None = field(default=None, repr=False)  # X, Z in internal units

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def internal(self) -> Design:
        """The same design in the internal units of :attr:`units` (what the engine fits)."""
        u = self.units
        y = None if self.y is None else u.y(self.y)
        X, Z = self.internal_XZ or (u.X(self.X), u.Z(self.Z))
        _freeze(X, Z, *([] if y is None else [y]))
        return replace(self, y=y, X=X, Z=Z, units=None, internal_XZ=None)


def _freeze(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


def to_float(frame, what: str) -> np.ndarray:
    try:
        return np.asarray(frame, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Could not turn {what} into numbers: {err}") from None


def checked_model_matrix(expr: str, data: pd.DataFrame, what: str):
    """formulaic's model matrix, with its errors reported as ValueError naming the part."""
    try:
        with np.errstate(all="ignore"):  # inf/NaN from a transformation are named later
            return model_matrix(expr, data, na_action="raise")
    except Exception as err:  # formulaic raises many types; say plainly what failed
        raise ValueError(f"Could not build {what}: {err}") from None


# ------------------------------------------------------------------ the design cache
#
# Building a small design with formulaic costs milliseconds, most of a small fit.
# Most of the book's formulas are sums and products of numeric columns, whose
# columns formulaic computes without any state learnt from the data (no levels,
# no means). For those, the first build records a plan -- the column names and,
# per column, the data columns it multiplies -- keyed by the formula part and the
# dtypes of the columns it reads, and later builds compute the matrix from the
# plan. Anything else (a categorical or boolean column, a Python expression such
# as np.log(x) or center(x), whose result or state depends on the data) has no
# plan and is built by formulaic every time, so a cached plan can never carry a
# level set or a learnt state over to other data.


@dataclass(frozen=True)
class _Plan:
    """How to build one formula side from numeric columns: one product per column."""

    names: tuple[str, ...]  # column names, as formulaic names them
    factors: tuple[tuple[str, ...], ...]  # per column: the data columns multiplied
    spec: object  # formulaic's ModelSpec (stateless here: reusable on any such data)

    def build(self, data: pd.DataFrame) -> np.ndarray:
        M = np.empty((len(data), len(self.names)), order="F")  # as formulaic's
        for k, cols in enumerate(self.factors):
            if not cols:
                M[:, k] = 1.0
                continue
            M[:, k] = _numeric(data, cols[0])
            for c in cols[1:]:
                M[:, k] *= _numeric(data, c)
        return M


_PLANS: dict = {}
_MAX_PLANS = 256


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(data[col], dtype=float)


def _is_plain_number(col) -> bool:
    if isinstance(col, pd.Series) and isinstance(col.dtype, np.dtype):
        return col.dtype.kind in "iuf"  # numpy's numbers; not bool, complex or objects
    return (
        isinstance(col, pd.Series)
        and pd.api.types.is_numeric_dtype(col)
        and not pd.api.types.is_bool_dtype(col)
        and not isinstance(col.dtype, pd.CategoricalDtype)
    )


def _plan_key(part: str, data: pd.DataFrame, variables) -> tuple | None:
    """The cache key of a formula part on this data, or None when it cannot have a plan."""
    if not data.columns.is_unique:
        return None
    key = []
    for v in sorted(variables):
        col = data[v] if v in data.columns else None
        if col is None or not _is_plain_number(col):
            return None
        key.append((v, str(col.dtype)))
    return (part, tuple(key))


def _plan_of(spec, data: pd.DataFrame) -> _Plan | None:
    """The plan of a formulaic model spec, if it is sums and products of numeric columns."""
    if any(kind.value != "numerical" or state for kind, state in spec.encoder_state.values()):
        return None
    factors = []
    for st in spec.structure:
        if len(st.columns) != 1:
            return None
        cols = []
        for f in st.term.factors:
            method = f.eval_method.value
            if method == "literal" and f.expr == "1":
                continue
            if method != "lookup" or f.expr not in data.columns:
                return None
            if not _is_plain_number(data[f.expr]):
                return None
            cols.append(f.expr)
        factors.append(tuple(cols))
    names = tuple(spec.column_names)
    if len(names) != len(factors):
        return None
    return _Plan(names, tuple(factors), spec)


def _remember(key, plans) -> None:
    if key is None or plans is None:
        return
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = plans


def _side(expr: str, data: pd.DataFrame, what: str, variables):
    """One-sided formula part -> (matrix as floats, column names, model spec)."""
    key = _plan_key(expr, data, variables)
    plan = _PLANS.get(key) if key is not None else None
    if plan is not None:
        return plan.build(data), list(plan.names), plan.spec
    mm = checked_model_matrix(expr, data, what)
    M = to_float(mm, what)
    if key is not None:
        _remember(key, _plan_of(mm.model_spec, data))
    return M, list(mm.columns), mm.model_spec


def rows_used(
    f: LmmFormula, data: pd.DataFrame, missing: str, *, extra=frozenset(), group=None
) -> tuple[pd.DataFrame, int]:
    """The rows a model uses, after checking every column it reads.

    The columns must exist; missing values raise or drop rows as ``missing`` says
    (a missing group label is named as such); predictor columns must hold finite
    numbers or genuine categories (not numbers stored as text).
    """
    check_option(missing, "missing", ("raise", "drop"))
    needed = f.variables() | set(extra)
    check_frame(data, needed)
    if group is not None:
        n_na_group = count_missing(data[group])
        if n_na_group and missing == "raise":
            raise ValueError(
                f"The grouping column {group!r} has {n_na_group} missing label(s). Every row "
                "must belong to a group: fill them in, or pass missing='drop' to leave those "
                "rows out."
            )
    used = [c for c in data.columns if c in needed]
    data, n_dropped = handle_missing(data, used, missing)
    check_predictor_columns(data, f.predictor_variables(), f.categorical_variables())
    return data, n_dropped


def fixed_part(f: LmmFormula, data: pd.DataFrame):
    """The outcome (floats) and the fixed-effects design, both checked finite.

    Returns ``(y, X, the formulaic model matrix of X, that of the outcome)``.
    """
    check_outcome(data, f.outcome, f.outcome_variables())
    mm = checked_model_matrix(f.fixed, data, f"the fixed-effects design of {f.fixed!r}")
    y = to_float(mm.lhs, f"the outcome {f.outcome!r}").ravel()
    check_finite_matrix(y, [f.outcome], data.index, "The outcome")
    X = to_float(mm.rhs, "the fixed-effects design")
    check_finite_matrix(X, list(mm.rhs.columns), data.index, "The fixed-effects term")
    return y, X, mm.rhs, mm.lhs


def _fixed_arrays(f: LmmFormula, data: pd.DataFrame):
    """As :func:`fixed_part`, through the design cache: ``(y, X, column names, spec)``."""
    key = _plan_key(f.fixed, data, f.variables_of_fixed())
    plans = _PLANS.get(key) if key is not None else None
    if plans is None:
        y, X, rhs, lhs = fixed_part(f, data)
        if key is not None:
            lhs_plan, rhs_plan = _plan_of(lhs.model_spec, data), _plan_of(rhs.model_spec, data)
            if lhs_plan is not None and rhs_plan is not None and len(lhs_plan.names) == 1:
                _remember(key, (lhs_plan, rhs_plan))
        return y, X, list(rhs.columns), rhs.model_spec
    lhs_plan, rhs_plan = plans
    check_outcome(data, f.outcome, f.outcome_variables())
    y = lhs_plan.build(data).ravel()
    check_finite_matrix(y, [f.outcome], data.index, "The outcome")
    X = rhs_plan.build(data)
    check_finite_matrix(X, list(rhs_plan.names), data.index, "The fixed-effects term")
    return y, X, list(rhs_plan.names), rhs_plan.spec


def build_design(
    formula: str,
    data: pd.DataFrame,
    missing: str = "raise",
    *,
    raw_outcome: bool = False,
    gaussian: bool = True,
    extra=frozenset(),
) -> Design:
    """lme4's ``lFormula``: parse the formula, check the data, build X, Z, y and the groups.

    Rows with missing values are handled as ``missing`` says (``"raise"`` or ``"drop"``).
    By default the outcome must be numeric: ``y`` holds it as floats (and
    ``outcome_frame`` is ``None``). With ``raw_outcome=True`` (for a model
    family that reads its outcome itself, e.g. "yes"/"no" labels) the left-hand side
    must be a column name; ``outcome_frame`` is that column as it is in the data
    (rows used), unchecked, and ``y`` is ``None``. With ``gaussian=False`` (a
    generalized model: binomial counts, Poisson) the checks that belong to a model
    with a residual variance are skipped: one row per group (``cbind`` counts) and
    an outcome constant within groups are legitimate data there. ``extra``: other
    columns the model reads (a residual structure's time or variance column), checked
    and handled as ``missing`` says like the formula's.
    """
    f = parse_formula(formula)
    check_one_group(f)
    group = f.group
    data, n_dropped = rows_used(f, data, missing, extra=extra, group=group)
    what = f"the fixed-effects design of {f.fixed!r}"
    if raw_outcome:
        if f.outcome_column is None:
            raise ValueError(
                f"The outcome {f.outcome!r} must be a column name of the data for this model "
                "(no expression on the left of '~'): compute it as a column first."
            )
        rhs = checked_model_matrix(f.fixed_rhs, data, what)
        y, outcome_frame = None, data[[f.outcome_column]]
        X = to_float(rhs, "the fixed-effects design")
        check_finite_matrix(X, list(rhs.columns), data.index, "The fixed-effects term")
        fixed_names, fixed_spec = list(rhs.columns), rhs.model_spec
    else:
        y, X, fixed_names, fixed_spec = _fixed_arrays(f, data)
        outcome_frame = None

    Zs, random_names, blocks, specs = [], [], [], []
    for term in f.random:
        what = f"the random part '({term.expr} | {group})'"
        z, names, spec = _side(term.expr, data, what, formula_variables(term.expr))
        if z.shape[1] == 0:
            raise ValueError(f"The random part '({term.expr} | {group})' has no terms.")
        check_finite_matrix(z, names, data.index, "The random-effects term")
        blocks.append((sum(b[1] for b in blocks), z.shape[1], term.independent))
        Zs.append(z)
        random_names += names
        specs.append(spec)
    dup = {n for n in random_names if random_names.count(n) > 1}
    if dup:
        raise ValueError(f"The random parts name {sorted(dup)} more than once.")
    Z = np.hstack(Zs)

    codes, groups = factorize_groups(data[group])
    n, p = X.shape
    if len(groups) < 2:
        raise ValueError(
            f"The grouping column {group!r} has {len(groups)} group; a multilevel model needs "
            "at least 2 (and many more to estimate a variance well)."
        )
    if n <= p:
        raise ValueError(f"{n} rows cannot estimate {p} fixed effects and a residual variance.")
    units = Units.choose(y, X, Z, blocks)
    Xi, Zi = units.X(X), units.Z(Z)
    check_rank(Xi, fixed_names)
    check_random_slopes(Zi, codes, len(groups), random_names, group)
    if gaussian:
        check_identifiable(codes, len(groups), Z.shape[1], group)
        if y is not None:
            check_outcome_varies(y, codes, len(groups), f.outcome, group)
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
        fixed_spec=fixed_spec,
        outcome_frame=outcome_frame,
        random_specs=specs,
        row_index=data.index,
        n_dropped=n_dropped,
        units=units,
        internal_XZ=(Xi, Zi),
    )


def check_one_group(f: LmmFormula) -> None:
    """The design of this module has one grouping column; name what else was written."""
    if f.several_groups:
        raise ValueError(
            f"The random parts of {f.text!r} use several grouping factors "
            f"({', '.join(f.groups)}): this function handles models with one grouping "
            "column. hp.fit_lmm fits linear mixed models with several (nested or crossed) "
            "grouping factors; generalized mixed models (hp.fit_glmm), simulation and "
            "the other tools take one grouping column for now."
        )


def factorize_groups(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(col, sort=True)``: each row's group position and the group labels
    (an index named after the column), in lme4's order -- a factor's level order,
    otherwise sorted. Categorical and integer columns, the usual grouping columns,
    take a shortcut with the same result; no label may be missing."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.array.codes
        if len(codes) and codes.min() >= 0:
            present = np.bincount(codes, minlength=len(col.dtype.categories)) > 0
            position = np.cumsum(present, dtype=np.intp) - 1
            labels = pd.Categorical.from_codes(np.flatnonzero(present), dtype=col.dtype)
            return position[codes], pd.CategoricalIndex(labels, name=col.name)
    elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        codes, labels = pd.factorize(col.to_numpy(), sort=True)  # no Series overhead
        return codes, pd.Index(labels, name=col.name)
    codes, labels = pd.factorize(col, sort=True)
    return codes, pd.Index(labels, name=col.name)


def check_rank(X: np.ndarray, names: list[str]) -> None:
    """The fixed-effects columns must be linearly independent (X in internal units)."""
    if X.shape[1] == 0:
        return
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


def _within_group_ss(v: np.ndarray, codes: np.ndarray, J: int) -> float:
    counts = np.bincount(codes, minlength=J)
    means = np.bincount(codes, weights=v, minlength=J) / np.maximum(counts, 1)
    return float(np.sum((v - means[codes]) ** 2))


def check_random_slopes(Z, codes, J, names, group) -> None:
    """A random slope needs its variable to vary within groups (Z in internal units)."""
    for k, name in enumerate(names):
        z = Z[:, k]
        if np.all(z == z[0]):
            continue  # the intercept (a constant column)
        if _within_group_ss(z, codes, J) <= 1e-20 * float(np.sum(z**2)):
            raise ValueError(
                f"The random slope of {name!r} cannot be estimated: {name!r} is constant within "
                f"every group of {group!r}, so it has no slope inside any group. Use it as a "
                f"fixed (group-level) predictor instead, or remove it from the random part."
            )


def check_identifiable(codes: np.ndarray, J: int, q: int, group: str) -> None:
    """lme4's check.nobs.vs.nRE: more rows than random effects, or sigma2 is not identified."""
    n = len(codes)
    if n > J * q:
        return
    if q == 1:
        raise ValueError(
            f"Every group of {group!r} has a single row ({J} groups for {n} rows): the "
            "between-group variance and the residual variance cannot be told apart (the model "
            "is not identified; lme4 refuses it too). Group by a column with several rows per "
            "group, or fit a single-level model with hp.fit_ols."
        )
    raise ValueError(
        f"{n} rows cannot identify {J} groups x {q} random effects = {J * q} random effects "
        f"and a residual variance (lme4 refuses this too): the groups of {group!r} are too "
        "small for this random part. Simplify the random part, e.g. (1 | group)."
    )


def check_outcome_varies(y: np.ndarray, codes: np.ndarray, J: int, outcome: str, group: str):
    """An outcome without variation, or without variation within groups, cannot be modelled."""
    total = float(np.sum((y - np.mean(y)) ** 2))
    if np.all(y == y[0]) or total <= 1e-28 * float(np.sum(y**2)):
        raise ValueError(
            f"The outcome {outcome!r} has the same value ({y[0]:g}) in every row: there is no "
            "variation to model. Check that you chose the intended column."
        )
    if _within_group_ss(y, codes, J) <= 1e-20 * total:
        raise ValueError(
            f"The outcome {outcome!r} is constant within every group of {group!r}: it is a "
            f"group-level variable (one value per group), so there is no within-group variation "
            f"from which to estimate the residual variance, and a two-level model of it is "
            f"meaningless. Analyse it at the group level (one row per group, e.g. "
            f"df.groupby({group!r}).first(), with hp.fit_ols), or use it as a predictor."
        )
