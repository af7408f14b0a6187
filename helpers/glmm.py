"""Generalised linear mixed models for two-level data, estimated as lme4's ``glmer``.

>>> m = fit_glmm("use ~ age + urban + (1 | district)", df, family="binomial")      # doctest: +SKIP
>>> m = fit_glmm("cbind(s, f) ~ x + (1 | g)", df, family="binomial", nagq=15)      # doctest: +SKIP
>>> m = fit_glmm("count ~ x + offset(np.log(t)) + (1 | g)", df, family="poisson")  # doctest: +SKIP

The engine (penalised IRLS, Laplace, adaptive Gauss-Hermite) is in ``_pirls.py``.

What the numbers mean (and how they relate to lme4's)
-----------------------------------------------------
``loglik``
    The log-likelihood with every constant of the density included (binomial
    coefficients, ``-log y!``), by the Laplace approximation (``nagq=1``) or by
    adaptive Gauss-Hermite quadrature (``nagq > 1``). With ``nagq=1`` this is
    exactly lme4's ``logLik()``. With ``nagq > 1`` lme4's ``logLik()`` differs by a
    constant: glmer's quadrature code (``glmerAGQ`` in lme4's ``src/external.cpp``)
    sums *deviance residuals* ``2 [log f(y | mu=y) - log f(y | mu)]`` where its
    Laplace code (``glmerLaplace`` -> ``glmResp::Laplace`` = ``ldL2 + sqrL +
    aic()``) sums the full ``-2 log f(y | mu)`` through the family's ``aic()``
    (``dbinom(..., log=TRUE)``, ``dpois(..., log=TRUE)``). So lme4's nAGQ > 1
    log-likelihood is relative to the saturated model: it equals ``loglik -
    saturated_loglik`` (``saturated_loglik = sum log f(y | mu = y)``). For a 0/1
    outcome (and a weight of 1) the saturated model fits each y exactly with
    probability 1, so the constant is 0; for ``cbind()`` counts with more than one
    trial, for proportions with weights and for Poisson counts it is not. Here the
    constant is always included, so Laplace and quadrature values are comparable
    with each other and with a GLM; ``lme4_loglik`` gives the number lme4 prints.
``deviance``
    ``-2 * loglik``, the quantity likelihood-ratio tests (``hp.compare``) difference
    and that ``summary()`` / ``anova()`` of a glmer fit print as "deviance".
    (lme4's ``deviance()`` *function* for a GLMM returns something else: the
    conditional deviance, the sum of squared deviance residuals at the conditional
    modes; that is ``conditional_deviance`` here.)
``fixed["std_error"]``, ``vcov``
    As lme4's default ``vcov()`` for a GLMM (``use.hessian = TRUE``): twice the
    inverse of the Hessian of the deviance with respect to ``(theta, beta)``
    jointly, block of ``beta``. lme4 takes that Hessian by second differences of
    the deviance; here (Laplace) it is central differences of the exact gradient,
    with quadrature second differences of the deviance as in lme4. Unlike the ``RX``-based matrix
    (``vcov_rx`` here, ``use.hessian = FALSE`` in lme4), it accounts for the
    uncertainty of the variance components. Where that Hessian is not positive
    definite (e.g. on a boundary) lme4 and this code fall back to the RX-based one.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats

from . import _pirls
from ._design import Design, build_design
from ._fit import MixedFit
from ._pls import ThetaMap, boundary
from ._profile import DevianceProfile, cov_factor, intervals, random_params, sd_cor
from ._validate import check_count, check_frame, check_seed, check_unique_columns, handle_missing
from .formula import split_top_level
from .lmm import ConvergenceWarning, warn_fit_problems

__all__ = ["GlmmFit", "PerfectSeparationError", "fit_glmm"]

_LINKS = {"binomial": ("logit", "probit"), "poisson": ("log",)}
_MAX_NAGQ = 25  # lme4's limit


class PerfectSeparationError(ValueError):
    """The outcome is perfectly predicted by the fixed part: the estimates would be infinite."""


# ----------------------------------------------------------------------------- design


def _base_design(formula: str, data: pd.DataFrame, missing: str):
    """Formula + data -> design (X, Z, y, group codes and labels, names, blocks).

    The one place that calls the shared design builder (swap here when it moves).
    """
    return build_design(formula, data, missing, gaussian=False)


@dataclass
class _GlmmDesign:
    base: Design  # the shared design: X, Z, codes, groups, names, blocks, specs
    formula: str
    outcome: str
    y: np.ndarray
    wt: np.ndarray
    offset: np.ndarray
    offset_exprs: list[str]
    success_label: str | None
    row_labels: pd.Index  # the data's index labels of the rows used
    coding: str | None = None  # how a two-category or True/False outcome became 0/1


_CBIND = re.compile(r"^\s*cbind\s*\((.*)\)\s*$", re.S)


def _find_offsets(rhs: str) -> tuple[str, list[str]]:
    """Remove top-level ``offset(expr)`` terms from the right-hand side."""
    kept, exprs = [], []
    for term in split_top_level(rhs, "+"):
        m = re.fullmatch(r"offset\s*\((.*)\)", term, re.S)
        if m:
            exprs.append(m.group(1).strip())
        elif term:
            kept.append(term)
    return " + ".join(kept) if kept else "1", exprs


def _evaluate(expr: str, data: pd.DataFrame, what: str) -> np.ndarray:
    """A column name or an expression of columns (as in a formula), as floats."""
    if expr in data.columns:
        col = data[expr]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise TypeError(f"{what} {expr!r} must be numeric, but its type is {col.dtype}.")
        return col.to_numpy(dtype=float)
    from formulaic import model_matrix

    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # non-finite values are reported
            mm = model_matrix(f"0 + I({expr})", data, na_action="ignore")
    except Exception as err:  # formulaic's errors are varied; report them plainly
        raise ValueError(
            f"Could not evaluate {what} {expr!r}: {err}. Use column names and numpy "
            "functions, e.g. offset(np.log(exposure))."
        ) from None
    values = np.asarray(mm, dtype=float)
    if values.shape[1] != 1:
        raise ValueError(f"{what} {expr!r} must give one number per row.")
    return values[:, 0]


def _columns_in(expr: str, data: pd.DataFrame) -> list[str]:
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", expr))
    return [c for c in data.columns if str(c) in names]


def _glmm_design(formula, data, family, weights, missing) -> _GlmmDesign:
    if not isinstance(formula, str):
        from .formula import FormulaError

        raise FormulaError(f"The formula must be a string, not {type(formula).__name__}.")
    check_frame(data, set())
    if formula.count("~") != 1:
        from .formula import FormulaError

        raise FormulaError(f"The formula {formula!r} needs exactly one '~'.")
    check_unique_columns(
        data, _columns_in(formula + (f" {weights}" if isinstance(weights, str) else ""), data)
    )
    lhs, rhs = (s.strip() for s in formula.split("~"))
    rhs, offset_exprs = _find_offsets(rhs)
    # The extra columns (cbind parts, offsets, weights): missing values handled here,
    # with the same rules as the rest of the formula.
    cb = _CBIND.match(lhs)
    extra_cols: list[str] = []
    if cb:
        parts = split_top_level(cb.group(1), ",")
        if len(parts) != 2 or not all(parts):
            raise ValueError(
                f"cbind() on the left of {formula!r} needs two parts: cbind(successes, failures)."
            )
        for part in parts:
            cols = _columns_in(part, data)
            if not cols:
                check_frame(data, {part}, "cbind()")
            extra_cols += cols
    for expr in offset_exprs:
        cols = _columns_in(expr, data)
        if not cols:
            raise ValueError(f"offset({expr}) uses no column of the data.")
        extra_cols += cols
    tmp_w = None
    if weights is not None:
        if isinstance(weights, str):
            check_frame(data, {weights}, "weights=")
            extra_cols.append(weights)
        else:
            if isinstance(weights, pd.Series):
                # Matched on the index, as refit and pandas match rows; a Series whose
                # labels are not those of data (or not unique) is refused.
                if not weights.index.equals(data.index):
                    if not (
                        weights.index.is_unique
                        and data.index.is_unique
                        and len(weights) == len(data)
                        and weights.index.isin(data.index).all()
                    ):
                        raise ValueError(
                            "weights is a Series whose index does not match the rows of data "
                            "(different, missing or repeated labels); its values are matched "
                            "to rows by index label. Pass weights.reindex(data.index), a column "
                            "name, or a plain array in the order of the rows."
                        )
                    weights = weights.reindex(data.index)
                if not pd.api.types.is_numeric_dtype(weights) or pd.api.types.is_bool_dtype(
                    weights
                ):
                    raise TypeError(f"weights must be numeric, not {weights.dtype}.")
            try:
                wt_given = np.asarray(weights, dtype=float) if np.ndim(weights) == 1 else None
            except (TypeError, ValueError):
                raise TypeError(
                    "weights must be numbers (a column name or one number per row of data)."
                ) from None
            if wt_given is None or len(wt_given) != len(data):
                raise ValueError(
                    f"weights must be a column name or one number per row of data "
                    f"({len(data)} rows)."
                )
            tmp_w = "_glmm_weights_"
            data = data.assign(**{tmp_w: wt_given})
            extra_cols.append(tmp_w)
    n_dropped_extra = 0
    if extra_cols:
        data, n_dropped_extra = handle_missing(data, sorted(set(extra_cols)), missing)
    # Positions, not labels, from here on (the index may have duplicates).
    row_labels = data.index
    data = data.reset_index(drop=True)
    frame = data
    tmp_y = "_glmm_outcome_"
    while tmp_y in frame.columns:
        tmp_y += "_"
    success_label = None
    coding = None
    if cb:
        s = _evaluate(parts[0], frame, "the cbind() successes")
        f = _evaluate(parts[1], frame, "the cbind() failures")
        if family != "binomial":
            raise ValueError("cbind(successes, failures) is an outcome for family='binomial'.")
        bad = (s < 0) | (f < 0) | (np.round(s) != s) | (np.round(f) != f)
        if bad.any():
            raise ValueError(
                f"cbind({parts[0]}, {parts[1]}): successes and failures must be whole numbers "
                f">= 0; {int(bad.sum())} row(s) are not (first at row label "
                f"{frame.index[np.flatnonzero(bad)[0]]!r})."
            )
        trials = s + f
        if (trials == 0).any():
            raise ValueError(
                f"{int((trials == 0).sum())} row(s) have 0 trials (successes + failures = 0): "
                "they carry no information; drop them."
            )
        if weights is not None:
            raise ValueError(
                "With cbind(successes, failures) the trials are the weights: "
                "do not pass weights= as well."
            )
        y = s / trials
        wt = trials
        outcome = lhs
        y_col = y
    else:
        outcome = lhs
        if lhs in frame.columns:
            col = frame[lhs]
        else:
            check_frame(frame, {lhs} if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", lhs) else set())
            col = pd.Series(_evaluate(lhs, frame, "the outcome"), index=frame.index)
        if (
            isinstance(col.dtype, pd.CategoricalDtype)
            or col.dtype == object
            or pd.api.types.is_string_dtype(col)
            or pd.api.types.is_bool_dtype(col)
        ):
            if family != "binomial":
                raise TypeError(
                    f"The outcome {lhs!r} is not numeric ({col.dtype}); family='poisson' "
                    "needs counts."
                )
            if pd.api.types.is_bool_dtype(col):
                y_col = col.astype(float).to_numpy()
                success_label = "True"
                coding = f"{lhs!r} coded True = 1, False = 0"
            else:
                levels = (
                    list(col.cat.categories)
                    if isinstance(col.dtype, pd.CategoricalDtype)
                    else sorted(col.dropna().unique(), key=str)
                )
                if len(levels) != 2:
                    raise ValueError(
                        f"The outcome {lhs!r} has {len(levels)} categories "
                        f"({', '.join(map(repr, levels[:6]))}); a binomial outcome has two "
                        "(the first is failure, the second success, as in R) or is 0/1."
                    )
                y_col = np.where(col.isna(), np.nan, (col == levels[1]).astype(float))
                success_label = str(levels[1])
                coding = f"{lhs!r} coded {str(levels[1])!r} = 1, {str(levels[0])!r} = 0"
        else:
            y_col = col.to_numpy(dtype=float)
        wt = None
    fixed_formula = f"{tmp_y} ~ {rhs}"
    frame = frame.assign(**{tmp_y: y_col})
    base = _lmm_design_checked(fixed_formula, frame, missing, formula, lhs, tmp_y)
    rows = np.asarray(base.row_index)
    y = base.y
    if cb:
        wt = np.asarray(wt)[rows]
    elif weights is not None:
        w = frame[weights if tmp_w is None else tmp_w].to_numpy(dtype=float)
        wt = np.asarray(w, dtype=float)[rows]
        if not np.all(np.isfinite(wt)) or (wt < 0).any():
            raise ValueError("weights must be finite and >= 0.")
    else:
        wt = np.ones_like(y)
    offset = np.zeros_like(y)
    for expr in offset_exprs:
        off = _evaluate(expr, frame, "offset")[rows]
        if not np.all(np.isfinite(off)):
            raise ValueError(
                f"offset({expr}) is not finite in {int((~np.isfinite(off)).sum())} row(s) "
                "(e.g. the log of an exposure of 0): exposures must be positive."
            )
        offset += off
    if n_dropped_extra:
        base = dataclasses.replace(base, n_dropped=base.n_dropped + n_dropped_extra)
    return _GlmmDesign(
        base=base,
        formula=formula,
        outcome=outcome,
        y=y,
        wt=wt,
        offset=offset,
        offset_exprs=offset_exprs,
        success_label=success_label,
        row_labels=row_labels[rows],
        coding=coding,
    )


def _lmm_design_checked(fixed_formula, frame, missing, formula, lhs, tmp_y):
    """The shared design builder, with messages that name the user's outcome."""
    try:
        return _base_design(fixed_formula, frame, missing)
    except (ValueError, TypeError, KeyError) as err:
        msg = str(err.args[0]) if err.args else str(err)
        msg = msg.replace(f", {tmp_y}", "").replace(repr(tmp_y), repr(lhs)).replace(tmp_y, lhs)
        raise type(err)(msg) from None


def _check_outcome(gd: _GlmmDesign, family: str) -> None:
    y, wt, name = gd.y, gd.wt, gd.outcome
    if family == "binomial":
        if ((y < 0) | (y > 1)).any():
            bad = y[(y < 0) | (y > 1)]
            raise ValueError(
                f"A binomial outcome must be 0/1 (or a proportion in [0, 1] with weights= "
                f"the number of trials, or cbind(successes, failures)); {name!r} has "
                f"{bad.size} value(s) outside [0, 1], e.g. {bad[0]:g}."
            )
        k = wt * y
        frac = np.abs(k - np.round(k)) > 1e-6
        if frac.any():
            if np.all(wt == 1):
                raise ValueError(
                    f"The binomial outcome {name!r} has {int(frac.sum())} value(s) strictly "
                    "between 0 and 1. For proportions pass weights= (the number of trials), "
                    "or write the outcome as cbind(successes, failures)."
                )
            raise ValueError(
                f"weights x {name!r} must be whole numbers of successes; {int(frac.sum())} "
                "row(s) are not. With proportions, weights= is the number of trials."
            )
    else:
        if (y < 0).any():
            raise ValueError(
                f"A Poisson outcome is a count >= 0; {name!r} has {int((y < 0).sum())} "
                f"negative value(s), e.g. {y[y < 0][0]:g}."
            )
        if (np.round(y) != y).any():
            bad = y[np.round(y) != y]
            raise ValueError(
                f"A Poisson outcome is a whole number; {name!r} has {bad.size} non-integer "
                f"value(s), e.g. {bad[0]:g}. For rates, model the count with "
                "offset(np.log(exposure))."
            )


# --------------------------------------------------------------------------- scaling


def _scaling(X: np.ndarray, names: list[str]) -> np.ndarray:
    """Minv with internal columns X_s = X @ Minv, so that beta = Minv @ beta_s.

    Columns other than the intercept are centred (when there is an intercept) and
    scaled to unit standard deviation, so the answer does not depend on units.
    """
    p = X.shape[1]
    Minv = np.eye(p)
    has_int = "Intercept" in names and np.all(X[:, names.index("Intercept")] == 1.0)
    i0 = names.index("Intercept") if has_int else None
    for k in range(p):
        if k == i0:
            continue
        col = X[:, k]
        c = col.mean() if has_int else 0.0
        s = col.std() if has_int else np.sqrt(np.mean(col**2))
        if not s > 0:
            s = 1.0
        Minv[k, k] = 1.0 / s
        if has_int:
            Minv[i0, k] = -c / s
    return Minv


# ------------------------------------------------------------------------ separation


def _separation(X: np.ndarray, y: np.ndarray, names: list[str]) -> list[str] | None:
    """Terms of a direction beta with sign(x'beta) matching every outcome (LP check)."""
    ones, zeros = y >= 1.0, y <= 0.0
    mid = ~(ones | zeros)
    Xs = X / np.maximum(np.abs(X).max(axis=0), 1e-300)
    A_ub = np.vstack([-Xs[ones], Xs[zeros]])
    c = -(Xs[ones].sum(axis=0) - Xs[zeros].sum(axis=0))
    A_eq = Xs[mid] if mid.any() else None
    res = scipy.optimize.linprog(
        c,
        A_ub=A_ub,
        b_ub=np.zeros(A_ub.shape[0]),
        A_eq=A_eq,
        b_eq=np.zeros(A_eq.shape[0]) if A_eq is not None else None,
        bounds=[(-1, 1)] * X.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun < 1e-7:
        return None
    return [names[k] for k in np.flatnonzero(np.abs(res.x) > 1e-6)]


# ----------------------------------------------------------------------------- fitting


def _check_args(family, link, nagq, missing):
    if not isinstance(family, str) or family not in _LINKS:
        raise ValueError(
            f"family must be 'binomial' or 'poisson', not {family!r}. (A Gaussian outcome is "
            "a linear mixed model: use hp.fit_lmm.)"
        )
    if link is None:
        link = _LINKS[family][0]
    if link not in _LINKS[family]:
        raise ValueError(
            f"link {link!r} is not available for family {family!r}; choose one of "
            f"{', '.join(map(repr, _LINKS[family]))}."
        )
    if isinstance(nagq, bool) or not isinstance(nagq, int | np.integer):
        raise TypeError(f"nagq must be a whole number from 1 to {_MAX_NAGQ}, not {nagq!r}.")
    if not 1 <= nagq <= _MAX_NAGQ:
        raise ValueError(
            f"nagq must be from 1 (Laplace) to {_MAX_NAGQ} quadrature points, not {nagq}."
        )
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', not {missing!r}.")
    return link


def fit_glmm(
    formula: str,
    data: pd.DataFrame,
    *,
    family: str = "binomial",
    link: str | None = None,
    nagq: int = 1,
    weights=None,
    missing: str = "raise",
) -> GlmmFit:
    """Fit a two-level generalised linear mixed model as lme4's ``glmer`` does.

    Parameters
    ----------
    formula
        lme4 syntax with one grouping column: ``"use ~ age + urban + (1 + urban | district)"``.
        Binomial outcomes: a 0/1 (or two-category, first = failure) column,
        ``cbind(successes, failures)``, or a proportion with ``weights=`` the number of
        trials. ``offset(expr)`` terms add a known part to the linear predictor, e.g.
        ``offset(np.log(exposure))`` for Poisson rates.
    data
        A DataFrame with every column the formula uses (never modified).
    family, link
        ``"binomial"`` (links ``"logit"``, the default, or ``"probit"``) or
        ``"poisson"`` (link ``"log"``).
    nagq
        1: the Laplace approximation (any random part). More (up to 25): adaptive
        Gauss-Hermite quadrature with that many points, for a single scalar random
        intercept ``(1 | g)``, as glmer's ``nAGQ``.
    weights
        Prior weights (a column name or one number per row): the number of trials
        when the outcome is a proportion. A Series is matched to the rows by its
        index (a Series whose labels are not those of data is refused).
    missing
        ``"raise"`` (default) or ``"drop"`` (fit the complete rows, with a warning).

    Returns
    -------
    GlmmFit
        See the module docstring for how ``loglik``, ``deviance`` and the standard
        errors are defined relative to lme4.
    """
    link = _check_args(family, link, nagq, missing)
    gd = _glmm_design(formula, data, family, weights, missing)
    d = gd.base
    _check_outcome(gd, family)
    q = d.Z.shape[1]
    if nagq > 1 and (q != 1 or not np.all(d.Z[:, 0] == 1.0)):
        raise ValueError(
            f"nagq={nagq} (adaptive Gauss-Hermite quadrature) needs a single scalar random "
            f"intercept '(1 | {d.formula.group})'; this model has the random effects "
            f"{d.random_names}. Use nagq=1 (the Laplace approximation) for it."
        )
    keep = gd.wt > 0
    if not keep.all():
        raise ValueError(
            f"{int((~keep).sum())} row(s) have weight 0; drop them before fitting "
            "(they would not contribute)."
        )
    fit = _fit_glmm_design(gd, family, link, nagq)
    warn_fit_problems(fit, fit._message, converged=fit.converged, stacklevel=3)
    return fit


def _fit_glmm_design(gd: _GlmmDesign, family: str, link: str, nagq: int) -> GlmmFit:
    """Estimate the model of a checked design (what fit_glmm and GlmmFit.refit share)."""
    d = gd.base
    pb, perm, Minv, zscale = engine_problem(
        _pirls.Family(family, link),
        gd.y,
        gd.wt,
        gd.offset,
        d.X,
        d.Z,
        d.codes,
        len(d.groups),
        d.blocks,
        d.fixed_names,
    )
    return _estimate(pb, perm, nagq, gd, Minv, zscale)


def engine_problem(fam, y, wt, offset, X, Z, codes, J, blocks, fixed_names):
    """The engine's problem on internal columns: ``(pb, perm, Minv, zscale)``.

    Fixed-effect columns are centred and scaled (``X_s = X @ Minv``, so ``beta =
    Minv @ beta_s``); random-effect columns are scaled to unit root mean square (not
    centred: that would change the model), so ``T_s = diag(zscale) T``. ``perm``
    sorts the rows by group (row k of the problem is row perm[k] of the input).
    Also used by :mod:`helpers.confint` to profile a fit's deviance.
    """
    Minv = _scaling(X, fixed_names)
    zscale = np.sqrt(np.mean(Z**2, axis=0))
    zscale[(zscale == 0) | np.all(Z == 1.0, axis=0)] = 1.0
    tmap = ThetaMap(blocks, Z.shape[1])
    pb, perm = _pirls.make_problem(
        fam, y, wt, offset, X @ Minv, Z / zscale, codes, J, (tmap.rows, tmap.cols)
    )
    return pb, perm, Minv, zscale


def _glm_start(pb: _pirls.Problem, names) -> np.ndarray:
    """GLM fit of the fixed part (theta = 0); checks for perfect separation."""
    fam = pb.family
    if fam.name == "binomial":
        z = fam.linkfun((pb.wt * pb.y + 0.5) / (pb.wt + 1.0))
    else:
        z = np.log(pb.y + 0.1)
    beta0 = np.linalg.lstsq(pb.X, z - pb.offset, rcond=None)[0]
    theta0 = np.zeros(pb.n_theta)
    jm = _pirls.pirls_joint(pb, theta0, beta0)
    eta_fixed = jm.mode.eta
    if fam.name == "binomial":
        extreme = np.abs(eta_fixed) > (15.0 if fam.link == "logit" else 7.0)
        if not jm.mode.converged or extreme.any():
            terms = _separation(pb.X, pb.y, names)
            if terms is not None:
                raise PerfectSeparationError(
                    "Perfect separation: the outcome is predicted without error by the fixed "
                    f"part (a combination of {', '.join(map(repr, terms))}), so some "
                    "estimates would be infinite. Remove or merge the term(s) that separate "
                    "(e.g. a category in which every outcome is the same), or collect more data."
                )
    return jm.beta


def _estimate(pb, perm, nagq, gd, Minv, zscale) -> GlmmFit:
    d = gd.base
    names = d.fixed_names
    beta_glm = _glm_start(pb, names)
    lower_t = pb.theta_lower()

    # Stage 1 (glmer's nAGQ = 0): theta alone, beta and u by penalised IRLS together.
    # The objective and its exact gradient come from the same joint modes.
    cache = {"u": None, "beta": beta_glm}

    def stage1(theta):
        jm = _pirls.pirls_joint(pb, theta, cache["beta"], cache["u"])
        cache["u"], cache["beta"] = jm.mode.u, jm.beta
        grad = _pirls.laplace_gradient(pb, theta, jm.beta, jm.mode, profiled=True)
        return _pirls.laplace(pb, jm.mode), grad

    theta0 = np.where(lower_t == 0.0, 1.0, 0.0)
    bounds_t = [(lo if np.isfinite(lo) else None, None) for lo in lower_t]
    r1 = scipy.optimize.minimize(
        stage1,
        theta0,
        method="L-BFGS-B",
        jac=True,
        bounds=bounds_t,
        options={"ftol": 1e-10, "gtol": 1e-5, "maxiter": 200},  # starting values only
    )
    jm = _pirls.pirls_joint(pb, r1.x, cache["beta"], cache["u"])

    # Stage 2: (theta, beta) jointly, u by penalised IRLS (Laplace or quadrature).
    obj = _pirls.Objective(pb, nagq)
    obj.u = jm.mode.u
    x0 = np.concatenate([np.maximum(r1.x, lower_t), jm.beta])
    lower = np.concatenate([lower_t, np.full(pb.p, -np.inf)])
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    # Newton's method (Hessian from differences of the exact gradient) from the
    # first-stage answer (which is close); if it fails, or a variance is near zero,
    # a bounded quasi-Newton search first.
    newton = _newton(obj, x0, lower) if np.all(x0[lower == 0.0] > 1e-3) else None
    if newton is None:
        r2 = _lbfgs(obj, x0, lower, bounds)
        x = _leave_edge(obj, r2.x.copy(), lower, bounds)
        x, f0, grad, H = _polish(obj, x, lower)
        message = str(r2.message)
    else:
        x, f0, grad, H = newton
        message = "Newton steps converged"
    certificate = ""
    if np.any((lower == 0.0) & (x < _NEAR_FACE)):
        # On (or next to) a boundary face: make sure no face, nor a move off it, does better.
        x, certificate = _escape_faces(obj, x, lower, bounds, pb.lower_idx)
        inside = _newton(obj, x, lower) if np.all(x[lower == 0.0] > 1e-3) else None
        x, f0, grad, H = inside if inside is not None else _polish(obj, x, lower)
    theta, beta_s = obj.split(x)
    mode = obj.mode(x)

    # Standard errors: lme4's default for GLMMs (Hessian in (theta, beta)); RX fallback.
    k = pb.n_theta
    Sinv = np.linalg.inv(_pirls.schur(pb, theta, mode))
    vcov_rx_s = Sinv
    vcov_s, vcov_method = vcov_rx_s, "RX (Hessian not positive definite)"
    try:
        Hinv = np.linalg.inv(H)
        V = 2.0 * Hinv[k:, k:]
        V = 0.5 * (V + V.T)
        if np.all(np.isfinite(V)) and np.linalg.eigvalsh(V).min() > 0:
            vcov_s, vcov_method = V, "Hessian"
    except np.linalg.LinAlgError:
        pass
    beta = Minv @ beta_s
    vcov = Minv @ vcov_s @ Minv.T
    vcov_rx = Minv @ vcov_rx_s @ Minv.T

    # Convergence as lme4 checks it: the gradient scaled by the Hessian.
    free = ~((lower == 0.0) & (x <= 1e-8) & (grad >= 0))
    try:
        scaled = np.linalg.solve(H[np.ix_(free, free)], grad[free])
        max_scaled = float(np.max(np.abs(scaled))) if scaled.size else 0.0
    except np.linalg.LinAlgError:
        max_scaled = np.inf
    converged = bool(mode.converged and max_scaled < 1e-3 and obj.pirls_failures == 0) or bool(
        mode.converged and max_scaled < 1e-3
    )
    message = (
        f"largest Hessian-scaled gradient {max_scaled:.2g}"
        if converged
        else f"largest Hessian-scaled gradient {max_scaled:.2g}; {message}"
    )
    if certificate:
        message = f"{message}; {certificate}"
    return GlmmFit._build(
        gd=gd,
        pb=pb,
        perm=perm,
        zscale=zscale,
        nagq=nagq,
        theta=theta,
        beta=beta,
        vcov=vcov,
        vcov_rx=vcov_rx,
        vcov_method=vcov_method,
        mode=mode,
        dev=f0,
        converged=converged,
        message=message,
        n_eval=obj.evaluations,
    )


def _lbfgs(obj, x0, lower, bounds):
    """Bounded quasi-Newton search (exact gradients; central differences for quadrature)."""
    return scipy.optimize.minimize(
        obj,
        x0,
        method="L-BFGS-B",
        jac=lambda x: obj.gradient(x, lower),
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-8, "maxiter": 500, "maxcor": 20},
    )


def _leave_edge(obj, x, lower, bounds):
    """Probe away from a variance at zero: there the gradient in theta is 0 by symmetry.

    The deviance is even in each column of T, so an optimiser can stop at
    theta_ii = 0 even when it is a maximum along that direction. If a probe at
    theta_ii > 0 is lower, restart from it.
    """
    f0 = obj(x)
    best, fbest = None, f0
    for i in np.flatnonzero((lower == 0.0) & (x < 1e-4)):
        for value in (0.05, 0.25, 1.0):
            xp = x.copy()
            xp[i] = value
            fp = obj(xp)
            if fp < fbest - 1e-8:
                best, fbest = xp, fp
    if best is None:
        return x
    r = _lbfgs(obj, best, lower, bounds)
    return r.x if r.fun < f0 else x


_FACE_TOL = 1e-4  # a diagonal of theta (internal scale) below this sits on a face
_NEAR_FACE = 1e-2  # ... and below this, next to one: probed as well
_FACE_STEPS = (1e-3, 0.05, 0.25, 1.0)  # probes off a face: second order, then restarts


def _face_probes(x, lower, lower_idx, tol):
    """Points off every boundary face the fit sits on (or next to), in every direction.

    The diagonals of T (internal scale) below ``tol`` form the set ``Z``; the fit
    sits on the face of every nonempty subset ``S`` of ``Z``: each probe lifts the
    diagonals in ``S`` together to a step ``h``. Where a diagonal T_cc is zero, the
    deviance does not change when the rest of column c changes sign (T and T with
    column c negated give the same T T'), so the sub-diagonal of such a column is
    tried with both signs: from one sign the better side of the face is uphill,
    from the other downhill. The smallest step is a directional second-order test
    (the gradient there is 0 by symmetry); the larger ones are restart points.
    """
    rows, cols = (np.asarray(a) for a in lower_idx)
    k = rows.size
    zeros = [i for i in range(k) if lower[i] == 0.0 and x[i] < tol]
    subsets = [s for r in range(1, len(zeros) + 1) for s in itertools.combinations(zeros, r)]
    flip_of = {
        i: np.flatnonzero((cols == cols[i]) & (rows > cols[i]) & (np.abs(x[:k]) > 0)) for i in zeros
    }
    probes = []
    for S in subsets:
        cols_to_flip = [flip_of[i] for i in S if flip_of[i].size]
        for signs in itertools.product((1.0, -1.0), repeat=len(cols_to_flip)):
            base = x.copy()
            for sg, idx in zip(signs, cols_to_flip, strict=True):
                base[idx] *= sg
            for h in _FACE_STEPS:
                xp = base.copy()
                xp[list(S)] = h
                probes.append(xp)
    return zeros, subsets, probes


def _restarts(x, lower, lower_idx):
    """Fresh starts with the fit's variances: correlated as now, and uncorrelated.

    ``x`` with every diagonal of T raised to at least 0.1 (a small positive theta),
    and the diagonal T = sqrt(diag(T T')) (the same variances, no correlation; as is
    and raised to at least 0.1): a fit that put a slope's variance in the
    sub-diagonal of T, beside a zero diagonal, restarts from where it is spread
    over the diagonal.
    """
    rows, cols = (np.asarray(a) for a in lower_idx)
    k = rows.size
    q = int(rows.max()) + 1
    T = np.zeros((q, q))
    T[rows, cols] = x[:k]
    sd = np.sqrt(np.einsum("ij,ij->i", T, T))
    diag = lower[:k] == 0.0
    small = x.copy()
    small[:k] = np.where(diag, np.maximum(x[:k], 0.1), x[:k])
    out = [small]
    for floor in (0.0, 0.1):
        xp = x.copy()
        xp[:k] = np.where(diag, np.maximum(sd[rows], floor), 0.0)
        out.append(xp)
    return out


def _escape_faces(obj, x, lower, bounds, lower_idx, rounds: int = 6):
    """Leave every boundary face on which the deviance can still decrease.

    A random-slope GLMM can end with several diagonals of T at zero at once;
    there the gradient in each is 0 by symmetry, so neither the quasi-Newton
    search nor a test of one zero diagonal at a time sees the way out (the
    other diagonal holds the fit on its face). Every face (each zero or nearly
    zero diagonal and each combination, with both signs of the column below it)
    is probed at a small step (second order) and at larger ones, and restarts
    from a small positive theta and from uncorrelated random effects with the
    fit's variances are tried; the search restarts from the best point that
    lowers the deviance, until none does. Returns the point and a certificate
    that names the faces tested.
    """
    f0 = obj(x)
    tested, n_probes = 0, 0
    for _ in range(rounds):
        zeros, subsets, probes = _face_probes(x, lower, lower_idx, _NEAR_FACE)
        if not zeros:
            break
        candidates = probes + _restarts(x, lower, lower_idx)
        tested, n_probes = len(subsets), len(candidates)
        values = [obj(c) for c in candidates]
        best = int(np.argmin(values))
        if not values[best] < f0 - 1e-9:
            break
        r = _lbfgs(obj, candidates[best], lower, bounds)
        xn = _leave_edge(obj, r.x.copy(), lower, bounds)
        fn = obj(xn)
        if not fn < f0 - 1e-9:
            break
        x, f0 = xn, fn
    else:
        obj(x)
        return x, "boundary faces: search stopped after several restarts"
    obj(x)  # leave the objective's warm start at the answer
    if not np.any((lower == 0.0) & (x < _FACE_TOL)):
        return x, "interior optimum; the boundary faces near it were tested"
    return x, (
        f"boundary certificate: {tested} face(s) tested ({n_probes} probes incl. "
        "second-order steps and restarts); none lowers the deviance"
    )


def _newton(obj, x, lower, steps: int = 12):
    """Newton iterations on dev(theta, beta): one Hessian, a gradient per step.

    Converged when the Newton decrement grad' H^{-1} grad (twice the predicted
    decrease of the deviance) is below 1e-9 or the step below 1e-9: a further step
    could not change the log-likelihood by more than 1e-9, and a line search
    there would only compare deviances that differ by rounding. Returns None (so
    the caller falls back to a bounded quasi-Newton search) when the Hessian is
    not positive definite, a step leaves the parameter space or fails to decrease
    the deviance, or the steps do not become small.
    """
    f0, grad, H = obj.hessian(x, lower)
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    x_h = x.copy()
    for _ in range(steps):
        step = -np.linalg.solve(H, grad)
        if -grad @ step < 1e-9 or np.max(np.abs(step)) < 1e-9:
            if np.max(np.abs(x - x_h)) > 1e-7:
                # The standard errors need the Hessian at the optimum itself.
                f0, grad, H = obj.hessian(x, lower)
            return x, f0, grad, H
        fac, improved = 1.0, False
        for _ in range(8):
            xn = x + fac * step
            if np.any(xn < lower):
                return None
            fn = obj(xn)
            if fn <= f0:
                improved = True
                break
            fac *= 0.5
        if not improved:
            # No decrease even for a short step: at the optimum to rounding?
            if np.max(np.abs(step)) >= 1e-6:
                return None
            if np.max(np.abs(x - x_h)) > 1e-7:
                f0, grad, H = obj.hessian(x, lower)
            return x, f0, grad, H
        x, f0 = xn, fn
        grad = obj.gradient(x, lower)
    return None


def _polish(obj, x, lower, steps: int = 4):
    """Newton steps with one Hessian, from the quasi-Newton optimum.

    The Hessian (needed for the standard errors anyway) is computed once; each
    step then needs only a gradient. Returns the point, the
    deviance, the gradient and the Hessian there (the Hessian from at most a
    Newton step away, which changes the standard errors by far less than 1e-6).
    """
    f0, grad, H = obj.hessian(x, lower)
    for _ in range(steps):
        free = ~((lower == 0.0) & (x <= 1e-10) & (grad >= 0))
        if not free.any():
            break
        try:
            step = np.zeros_like(x)
            step[free] = -np.linalg.solve(H[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            break
        if np.max(np.abs(step)) < 1e-9:
            break
        fac, improved = 1.0, False
        for _ in range(10):
            xn = np.maximum(x + fac * step, lower)
            fn = obj(xn)
            if fn <= f0:
                improved = True
                break
            fac *= 0.5
        if not improved:
            break
        x, f0 = xn, fn
        grad = obj.gradient(x, lower)
    return x, f0, grad, H


# ---------------------------------------------------------------------------- results


@dataclass(repr=False)
class GlmmFit(MixedFit):
    """A fitted two-level generalised linear mixed model (the result of :func:`fit_glmm`).

    The :class:`~helpers._fit.MixedFit` API (``fixed``, ``vcov``, ``tau``,
    ``loglik``, ``deviance``, ``aic``, ``bic``, ``ranef()``, ``ranef_sd()``,
    ``coef()``, ``summary()``, the read-only design ``X``, ``y``, ``Z``, ...), plus:

    ``family``, ``link``, ``nagq``
        The model and the approximation (1: Laplace; more: adaptive Gauss-Hermite).
    ``fixed``
        ``estimate, std_error, df, statistic, p_value, ci_lower, ci_upper``: Wald z
        tests (``df`` infinite; ``wald(ddf="z")``) and 95% intervals, as glmer's
        summary, with lme4's default standard errors (``vcov_method`` says "Hessian"
        or, as a fallback, "RX").
    ``tau``
        Covariance matrix of the random effects on the link scale; ``sigma2`` is 1
        (no residual variance: lme4's ``sigma()`` of a binomial or Poisson fit).
    ``y``
        The outcome as modelled: 0/1, or the proportion of successes with
        ``weights`` the number of trials (cbind outcomes); ``offset`` per row.
    ``loglik``, ``deviance``, ``lme4_loglik``, ``conditional_deviance``, ``vcov_rx``
        Defined in the docstring of :mod:`helpers.glmm` (full-constant
        log-likelihood; deviance = -2 loglik).
    ``optimizer_message``
        How the optimiser ended; a singular fit's says that every boundary face it
        sits on was tested and none lowers the deviance (a local maximum of the
        likelihood over the whole parameter space).
    ``outcome_coding``
        How a two-category text (or True/False) outcome became 0/1 (also in the
        printed header).
    ``simulate(n, seed=)``, ``refit(y)``
        Outcomes drawn from the fit, and the model fitted to a new outcome: together
        a parametric bootstrap.
    """

    @property
    def kind(self) -> str:  # the first words of the header (MixedFit._header)
        method = "Laplace" if self.nagq == 1 else f"adaptive Gauss-Hermite, {self.nagq} points"
        return f"Generalised linear mixed model ({self.family}, {self.link} link; {method})"

    family: str = "binomial"
    link: str = "logit"
    nagq: int = 1
    vcov_rx: pd.DataFrame | None = None
    vcov_method: str = ""
    saturated_loglik: float = 0.0
    conditional_deviance: float = 0.0
    n_eval: int = 0
    _message: str = field(default="", repr=False)
    _gd: _GlmmDesign | None = field(default=None, repr=False)
    _eta: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def _build(
        cls,
        gd,
        pb,
        perm,
        zscale,
        nagq,
        theta,
        beta,
        vcov,
        vcov_rx,
        vcov_method,
        mode,
        dev,
        converged,
        message,
        n_eval,
    ):
        base = gd.base
        T_s = pb.T(theta)
        T = T_s / zscale[:, None]  # T = D^-1 T_s for Z_s = Z D^-1
        theta_s, theta = theta, T[pb.lower_idx]
        index = pd.Index(base.fixed_names, name="term")
        tau = T @ T.T
        b = mode.u @ T.T
        b_cov = T @ np.linalg.inv(mode.H) @ T.T  # lme4's condVar (sigma = 1)
        _, ll = pb.family.mean_and_kernel(pb.y, mode.eta, pb.wt)
        dres = 2.0 * (pb.family.saturated_kernel(pb.y, pb.wt) - ll)
        eta = np.empty_like(mode.eta)
        eta[perm] = mode.eta  # back to the order of the data
        tmap = ThetaMap(base.blocks, len(base.random_names))
        # Judged on the internal scale (unit-RMS random-effect columns), as fit_lmm
        # does: the verdict must not depend on the units of a random slope.
        singular, reason = boundary(theta_s, tmap, T_s @ T_s.T, base.random_names)
        J = len(base.groups)
        Z = base.Z
        ZtZ = np.empty((J, Z.shape[1], Z.shape[1]))
        for a in range(Z.shape[1]):
            for c in range(Z.shape[1]):
                ZtZ[:, a, c] = np.bincount(base.codes, weights=Z[:, a] * Z[:, c], minlength=J)
        design = dataclasses.replace(
            base, y=gd.y, offset=gd.offset, weights=gd.wt, row_index=gd.row_labels
        )
        return cls(
            formula=gd.formula,
            reml=False,
            _beta=beta,
            _vcov=vcov,
            _tau=tau,
            sigma2=1.0,
            theta=theta.copy(),
            deviance=float(dev),
            n_obs=len(pb.y),
            n_groups=J,
            n_dropped=base.n_dropped,
            converged=converged,
            singular=singular,
            boundary_reason=reason,
            group=base.formula.group,
            n_iter=n_eval,
            _design=design,
            _b=b,
            _b_cov=b_cov,
            _n_j=np.bincount(base.codes, minlength=J),
            _ZtZ=ZtZ,
            family=pb.family.name,
            link=pb.family.link,
            nagq=nagq,
            vcov_rx=pd.DataFrame(vcov_rx, index=index, columns=index),
            vcov_method=vcov_method,
            saturated_loglik=pb.family.saturated_loglik(pb.y, pb.wt),
            conditional_deviance=float(np.sum(dres)),
            n_eval=n_eval,
            _message=message,
            _gd=gd,
            _eta=eta,
        )

    def _header(self) -> str:
        header = super()._header()
        coding = self.outcome_coding
        return (
            f"{header}\nOutcome {coding} (first category = failure, as in R)" if coding else header
        )

    @property
    def optimizer_message(self) -> str:
        """How the optimiser ended: the largest Hessian-scaled gradient and, for a fit
        on (or next to) the boundary, the certificate that every face was tested."""
        return self._message

    @property
    def outcome_coding(self) -> str | None:
        """How a two-category (or True/False) outcome was turned into 0/1, e.g.
        ``"'use' coded 'Y' = 1, 'N' = 0"``; None for a numeric outcome."""
        return self._gd.coding if self._gd is not None else None

    # -- new outcomes for the same design -----------------------------------------------
    def simulate(self, n: int = 1, *, seed=None) -> np.ndarray:
        """Outcomes drawn from the fitted model (as lme4's ``simulate``).

        Each draw takes new random effects ``b_j ~ N(0, tau)`` for every group, the
        linear predictor ``offset + X beta + Z_j b_j`` and the mean through the
        inverse link, then the outcome: binomial counts out of each row's trials
        (returned as the outcome is modelled: 0/1, or the proportion of successes
        with ``weights`` the trials), or Poisson counts. The design stays as it is.
        Returns an array of shape ``(n, n_obs)`` in the order of ``fitted()``, which
        :meth:`refit` takes. ``seed``: an integer, a numpy Generator or None.
        """
        n = check_count(n, "n")
        rng = check_seed(seed)
        d = self._design
        T = self._T_user()
        fixed = d.offset + d.X @ self.fixed["estimate"].to_numpy()
        out = np.empty((n, self.n_obs))
        trials = np.round(d.weights).astype(np.int64)
        for k in range(n):
            b = rng.standard_normal((self.n_groups, T.shape[0])) @ T.T
            mu = self._inverse_link(fixed + np.einsum("nq,nq->n", d.Z, b[d.codes]))
            if self.family == "binomial":
                out[k] = rng.binomial(trials, np.clip(mu, 0.0, 1.0)) / trials
            else:
                out[k] = rng.poisson(mu)
        return out

    def _T_user(self) -> np.ndarray:
        """The relative covariance factor on the data's scale: tau = T T'."""
        q = len(self.tau)
        tmap = ThetaMap(self._gd.base.blocks, q)
        T = np.zeros((q, q))
        T[tmap.rows, tmap.cols] = self.theta
        return T

    def refit(self, y) -> GlmmFit:
        """The same model fitted to a new outcome (as lme4's ``refit``).

        ``y`` holds one value per row of the fit, as the outcome is modelled (0/1,
        or the proportion of successes out of ``weights`` trials; counts for
        Poisson), in the order of ``fitted()`` (a Series is aligned on that index):
        a row of :meth:`simulate`. The family, link, ``nagq``, design, offsets and
        weights are this fit's; the result is what ``fit_glmm`` gives on the data
        with the new outcome. Together with :meth:`simulate` it makes the
        parametric bootstrap of a GLMM.
        """
        y = self._new_outcome(y)
        gd = dataclasses.replace(self._gd, y=y, base=dataclasses.replace(self._gd.base, y=y))
        _check_outcome(gd, self.family)
        fit = _fit_glmm_design(gd, self.family, self.link, self.nagq)
        warn_fit_problems(fit, fit._message, converged=fit.converged, stacklevel=2)
        return fit

    # -- summary numbers --------------------------------------------------------------
    @property
    def lme4_loglik(self) -> float:
        """The value lme4's logLik() reports (relative to the saturated model if nagq > 1)."""
        return self.loglik - (self.saturated_loglik if self.nagq > 1 else 0.0)

    @property
    def offset(self) -> np.ndarray:
        """The offset of every row used (0 without offset() terms)."""
        return self._design.offset.copy()

    @property
    def weights(self) -> np.ndarray:
        """Prior weights of the rows used (number of trials for binomial proportions)."""
        return self._design.weights.copy()

    def icc(self) -> float:
        """Intraclass correlation on the latent scale: tau_00 / (tau_00 + s2).

        ``s2`` is the variance of the latent residual: pi^2 / 3 for the logit link
        (standard logistic), 1 for the probit link (Snijders & Bosker 2012, sec.
        17.3). Not defined for Poisson models (no latent-variable formulation).
        """
        if self.family != "binomial":
            raise ValueError("icc() on the latent scale is defined for binomial models only.")
        if "Intercept" not in self.tau.index:
            raise ValueError("icc() needs a model with a random intercept, e.g. 'y ~ 1 + (1 | g)'.")
        t00 = float(self.tau.loc["Intercept", "Intercept"])
        s2 = np.pi**2 / 3 if self.link == "logit" else 1.0
        return t00 / (t00 + s2)

    def confint(
        self, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
    ) -> pd.DataFrame:
        """Confidence intervals for the random-part SDs (and correlations) and fixed effects.

        ``method="profile"`` (default, as glmer): likelihood-profile intervals on the
        fit's own deviance (Laplace, or quadrature with ``nagq``); a standard
        deviation whose profile does not rise enough before 0 gets the lower end 0.
        ``method="wald"``: estimate +/- z SE (fixed effects as glmer; the random part
        from the deviance's curvature, where glmer gives NA). ``method="bootstrap"``
        is for linear mixed models only. See :func:`helpers.confint.confint`.
        """
        return intervals(self, method=method, level=level, n=n, seed=seed)

    def deviance_profile(self) -> GlmmProfile:
        """The fit's deviance as a function of (sd, cor, beta), for intervals (see
        :class:`GlmmProfile`)."""
        return GlmmProfile(self)

    def reliability(self) -> pd.DataFrame:
        raise TypeError(
            "reliability() (tau / (tau + sigma^2 / n_j)) is defined for linear mixed models; "
            "for a GLMM compare ranef_sd() with the random-effect SD instead."
        )

    def r2(self) -> pd.Series:
        """Marginal and conditional R-squared on the latent scale (Nakagawa & Schielzeth 2013).

        As :meth:`MixedFit.r2`, with the level-1 variance of the latent-variable
        formulation of a binomial model: pi^2/3 for the logit link, 1 for the probit
        link (the "distribution-specific variance" of ``performance::r2_nakagawa``).
        Poisson models are refused: their level-1 variance depends on the mean (the
        lognormal and trigamma approximations need the null model's intercept and
        differ from each other).
        """
        return super().r2()

    def _r2_residual_variance(self) -> float:
        if self.family == "binomial" and self.link in ("logit", "probit"):
            return float(np.pi**2 / 3) if self.link == "logit" else 1.0
        raise ValueError(
            f"r2() is defined here for binomial models with a logit or probit link (a latent "
            f"scale with a known level-1 variance), not for a {self.family} model with a "
            f"{self.link} link: its level-1 variance depends on the mean. Report the "
            "variance components (tau) and a likelihood-ratio test (hp.compare) instead."
        )

    # -- row-level quantities ---------------------------------------------------------
    def _inverse_link(self, eta):
        return _pirls.Family(self.family, self.link).linkinv(eta)

    def fitted(self, type: str = "response") -> pd.Series:
        """Fitted values in the rows used: the mean (``"response"``) or ``"link"`` scale."""
        _check_type(type)
        values = self._eta if type == "link" else self._inverse_link(self._eta)
        return pd.Series(values, index=self.row_index, name="fitted")

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        type: str = "link",
        include_random: bool = True,
    ) -> pd.Series:
        """Predictions on the ``"link"`` (default, as lme4) or ``"response"`` scale.

        ``include_random=False`` gives the fixed part only (offsets included). Rows
        of groups not in the fit get random effects 0, with a warning.
        """
        _check_type(type)
        gd, d = self._gd, self._design
        beta = self.fixed["estimate"].to_numpy()
        if newdata is None:
            eta = self._eta if include_random else d.offset + d.X @ beta
            index = self.row_index
        else:
            offset = np.zeros(len(newdata)) if isinstance(newdata, pd.DataFrame) else None
            for expr in gd.offset_exprs:
                check_frame(newdata, set(_columns_in(expr, newdata)) or {expr}, "offset()")
                offset = offset + _evaluate(expr, newdata, "offset")
            eta = super().predict(newdata, include_random=include_random).to_numpy() + offset
            index = newdata.index
        values = eta if type == "link" else self._inverse_link(eta)
        return pd.Series(values, index=index, name="predicted")

    # -- presentation -----------------------------------------------------------------
    def random_part(self) -> pd.DataFrame:
        """Variance components (link scale); there is no residual variance."""
        return super().random_part().drop(index="sigma2_e")


def _check_type(type_: str) -> None:
    if type_ not in ("link", "response"):
        raise ValueError(f"type must be 'link' or 'response', not {type_!r}.")


# ------------------------------------------------------------- intervals (confint)


class GlmmProfile(DevianceProfile):
    """A GLMM fit's deviance as a function of its parameters, for intervals
    (:meth:`GlmmFit.deviance_profile`; the interface: :class:`helpers._profile.DevianceProfile`).

    The parameters are those lme4 profiles a GLMM on, ``par = (sd, cor, beta)``:
    the standard deviation of every random term, the estimated correlations, and
    the fixed effects (no residual scale). The deviance is the fit's own
    (:class:`helpers._pirls.Objective`: the Laplace approximation, or adaptive
    Gauss-Hermite quadrature with the fit's ``nagq``), with the conditional modes
    found by penalised IRLS for each (theta, beta), as glmer's second stage.

    The searches work on internal coordinates ``w`` in which the engine's columns
    are centred and scaled (:func:`engine_problem`): ``par = A @ w``
    with ``A`` diagonal in the random part (``1 / zscale`` for a standard
    deviation, 1 for a correlation) and ``Minv`` for the fixed effects. There the
    deviance's curvature is of the same order in every direction, whatever the
    units of the data.
    """

    def __init__(self, fit):
        self.fit = fit
        pb, _, Minv, zscale = engine_problem(
            _pirls.Family(fit.family, fit.link),
            fit.y,
            fit.weights,
            fit.offset,
            fit.X,
            fit.Z,
            fit.group_codes,
            fit.n_groups,
            fit.blocks,
            fit.fixed_names,
        )
        self.obj = _pirls.Objective(pb, fit.nagq)
        self.engine_lower = np.concatenate([pb.theta_lower(), np.full(pb.p, -np.inf)])
        self.rows, self.cols = pb.lower_idx
        self.q = pb.q
        names, kinds, pairs = random_params(fit)
        self.n_random = len(names)
        self.names = [*names, *fit.fixed.index]
        self.kinds = [*kinds, *["beta"] * pb.p]
        self.pairs = pairs
        k = self.n_random + pb.p
        self.A = np.zeros((k, k))
        for r, ((i, _), kind) in enumerate(zip(pairs, kinds, strict=True)):
            self.A[r, r] = 1.0 / zscale[i] if kind == "sd" else 1.0
        self.A[self.n_random :, self.n_random :] = Minv
        tau = fit.tau.to_numpy()
        self.par_hat = np.concatenate([sd_cor(tau, pairs, kinds), fit.fixed["estimate"].to_numpy()])
        self.w_hat = np.linalg.solve(self.A, self.par_hat)
        self.dev_hat = self.deviance(self.w_hat)
        self.lowest = self.dev_hat

    # -- the interval interface (DevianceProfile) ---------------------------------------
    bootstrap_refusal = (
        "method='bootstrap' is available for linear mixed models (hp.fit_lmm) only: "
        "a GLMM fit cannot yet be simulated from and refitted. Use method='profile' "
        "(the default; likelihood-profile intervals) or method='wald'."
    )

    @property
    def estimate(self) -> np.ndarray:
        return self.par_hat

    def standard_errors(self) -> np.ndarray:
        """Random part: from the deviance's curvature (:meth:`wald_se`); fixed effects:
        glmer's Wald standard errors (``fit.fixed``)."""
        se = self.wald_se()
        se[self.n_random :] = self.fit.fixed["std_error"].to_numpy()
        return se

    def profile_search(self):
        se = self.standard_errors()
        steps = se.copy()
        for k in np.flatnonzero(~(np.isfinite(se) & (se > 0))):
            # A random-part parameter on (or near) its boundary: a step of a quarter of
            # the estimate, at least 0.05 on the internal (unit-free) scale.
            if self.kinds[k] == "cor":
                steps[k] = 0.2
            else:
                steps[k] = 0.25 * max(abs(self.w_hat[k]), 0.05) * self.A[k, k]
        return self.par_hat, steps, self.dev_hat, self.minimise

    def after_profile(self) -> None:
        if self.lowest < self.dev_hat - 1e-6:
            warnings.warn(
                f"Profiling found a deviance {self.dev_hat - self.lowest:.2g} below the fit's "
                f"({self.dev_hat:.10g}): the fit had not reached its optimum, so the profile "
                "(measured from the fit's deviance) is off. Check fit.converged and the "
                "warnings of the fit.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def lower(self):
        return np.array([{"sd": 0.0, "cor": -1.0}.get(k, -np.inf) for k in self.kinds])

    def upper(self):
        return np.array([1.0 if k == "cor" else np.inf for k in self.kinds])

    def _engine_x(self, w):
        nr = self.n_random
        T = cov_factor(w[:nr], self.pairs, self.kinds, self.q)
        return np.concatenate([T[self.rows, self.cols], w[nr:]])

    def deviance(self, w) -> float:
        return float(self.obj(self._engine_x(w)))

    def gradient(self, w) -> np.ndarray:
        """d dev / d w: the engine's gradient in (theta, beta) by the chain rule.

        theta is linear in each standard deviation; its derivative in a correlation
        (through a Cholesky factor) is taken by central differences of that cheap
        map (one-sided at +/-1).
        """
        x = self._engine_x(w)
        g = self.obj.gradient(x, self.engine_lower)
        nr, nt = self.n_random, len(self.rows)
        out = np.empty(len(w))
        out[nr:] = g[nt:]
        lo, hi = self.lower(), self.upper()
        for j in range(nr):
            h = 1e-7 * max(1.0, abs(w[j]))
            wp, wm = w.copy(), w.copy()
            wp[j] = min(w[j] + h, hi[j])
            wm[j] = max(w[j] - h, lo[j])
            dtheta = (self._engine_x(wp)[:nt] - self._engine_x(wm)[:nt]) / (wp[j] - wm[j])
            out[j] = dtheta @ g[:nt]
        return out

    def hessian(self) -> np.ndarray | None:
        """Hessian of the deviance in w at the estimates (central differences of the
        gradient); None when a random-part parameter is on, or within two difference
        steps of, its boundary (where the deviance is not smooth on both sides)."""
        if not hasattr(self, "_H"):
            w = self.w_hat
            h = 1e-4 * np.maximum(1.0, np.abs(w))
            self._H = None
            if np.all(w - 2 * h > self.lower()) and np.all(w + 2 * h < self.upper()):
                H = np.empty((len(w), len(w)))
                for i in range(len(w)):
                    e = np.zeros(len(w))
                    e[i] = h[i]
                    H[:, i] = (self.gradient(w + e) - self.gradient(w - e)) / (2 * h[i])
                H = 0.5 * (H + H.T)
                if np.all(np.isfinite(H)) and np.linalg.eigvalsh(H).min() > 0:
                    self._H = H
        return self._H

    def wald_se(self) -> np.ndarray:
        """Standard errors of par from the deviance's curvature (the covariance of par
        is A (2 H^-1) A'); NaN where :meth:`hessian` is None."""
        H = self.hessian()
        if H is None:
            return np.full(len(self.w_hat), np.nan)
        d = np.diag(self.A @ (2.0 * np.linalg.inv(H)) @ self.A.T)
        return np.sqrt(d)

    def minimise(self, k: int, x: float, start):
        """Minimum deviance with parameter k held at x (public scale); (deviance, w).

        Near the estimates the deviance is nearly quadratic, so the search starts
        where the quadratic model (the Hessian at the estimates) puts the minimum,
        moved from the previous point of the profile (``start``), and takes
        quasi-Newton steps from that Hessian. If a step would leave the parameter
        space, or there is no Hessian (a boundary fit), the fit's own bounded
        quasi-Newton search (L-BFGS-B) takes over. ``lowest`` keeps the lowest
        deviance seen (a check that the fit was at its optimum).
        """
        dev, w = self._minimise(k, x, start)
        self.lowest = min(self.lowest, dev)
        return dev, w

    def _minimise(self, k: int, x: float, start):
        held = _Held(self, k, x)
        lo, hi = self.lower()[held.free], self.upper()[held.free]
        w0 = self.w_hat if start is None else start
        H = self.hessian()
        if H is not None:
            a = held.a
            v = np.linalg.solve(H, a)
            w0 = w0 + (x - a @ w0) * v / (a @ v)  # the quadratic model's minimiser
        z0 = np.clip(w0[held.free], lo, hi)
        if H is not None:
            P = held.basis()
            found = _bfgs(held, z0, P.T @ H @ P, lo, hi)
            if found is not None:
                return found[1], held.full(found[0])
        bounds = [
            (lo_i if np.isfinite(lo_i) else None, hi_i if np.isfinite(hi_i) else None)
            for lo_i, hi_i in zip(lo, hi, strict=True)
        ]
        res = _lbfgs(held, z0, lo, bounds)
        z = _leave_edge(held, res.x.copy(), lo, bounds)
        return held(z), held.full(z)


def _bfgs(f, z, B, lo, hi, steps: int = 50):
    """Minimise f from z by quasi-Newton steps from the Hessian approximation B.

    Each step solves B d = -g, halves it until the deviance falls enough (Armijo),
    and updates B by BFGS. Converged when the Newton decrement g' B^-1 g (twice the
    predicted decrease) is below 1e-9, as the fit's own Newton steps. Returns
    (z, f(z)), or None if a step would leave [lo, hi] or makes no progress.
    """
    fz = f(z)
    g = f.gradient(z)
    for _ in range(steps):
        try:
            d = -np.linalg.solve(B, g)
        except np.linalg.LinAlgError:
            return None
        decrement = -g @ d
        if not np.isfinite(decrement) or decrement < 0:
            return None
        if decrement < 1e-9:
            return z, fz
        if np.any(z + d < lo) or np.any(z + d > hi):
            return None
        t = 1.0
        while True:
            zn = z + t * d
            fn = f(zn)
            if fn <= fz - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-3:
                return None
        gn = f.gradient(zn)
        s, y = zn - z, gn - g
        if s @ y > 1e-12 * np.sqrt((s @ s) * (y @ y)):
            Bs = B @ s
            B = B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (s @ y)
        z, fz, g = zn, fn, gn
    return None


class _Held:
    """The deviance of a :class:`GlmmProfile` with parameter k held at x.

    par_k = a . w (a = row k of A), so the held coordinate is w_k = (x - sum_{j != k}
    a_j w_j) / a_k and the others are free; the interface (a call and
    ``gradient(z, lower)``) is that of the engine's objective, so the fit's own
    bounded quasi-Newton search minimises it.
    """

    def __init__(self, gp: GlmmProfile, k: int, x: float):
        self.gp, self.k, self.x = gp, k, x
        self.a = gp.A[k]
        self.free = np.flatnonzero(np.arange(len(self.a)) != k)

    def basis(self) -> np.ndarray:
        """P with w = full(0) + P z: the free coordinates and the held one they move."""
        P = np.zeros((len(self.a), len(self.free)))
        P[self.free, np.arange(len(self.free))] = 1.0
        P[self.k] = -self.a[self.free] / self.a[self.k]
        return P

    def full(self, z):
        w = np.empty(len(self.a))
        w[self.free] = z
        w[self.k] = (self.x - self.a[self.free] @ z) / self.a[self.k]
        return w

    def __call__(self, z) -> float:
        return self.gp.deviance(self.full(z))

    def gradient(self, z, lower=None) -> np.ndarray:
        g = self.gp.gradient(self.full(z))
        return g[self.free] - g[self.k] * self.a[self.free] / self.a[self.k]
