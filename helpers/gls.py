"""Generalized least squares with correlated residuals within groups, as nlme's ``gls``.

The model has fixed effects only and a residual covariance ``sigma^2 Sigma_j`` within
each group (groups independent of each other)::

    y_j = X_j beta + e_j,     e_j ~ N(0, sigma^2 D_j R_j D_j)

``R_j`` is a correlation structure of :mod:`helpers.residuals` (:class:`AR1`,
:class:`CAR1`, :class:`CompoundSymmetry`, :class:`Unstructured`) and ``D_j`` the
diagonal of relative SDs of a variance function (:class:`VarIdent`,
:class:`VarPower`). For given residual parameters the rows of a group are whitened by
``(D_j C_j)^-1`` with ``R_j = C_j C_j'`` (Cholesky), and ``beta`` and ``sigma^2`` are
profiled out by least squares on the whitened rows; the criterion adds
``log|Sigma| = sum_j log|Sigma_j|`` (the Jacobian of the whitening):

    ML:    -2 log L   = n (1 + log(2 pi sigma2_ML)) + log|Sigma|
    REML:  -2 log L_R = (n - p)(1 + log(2 pi sigma2_REML)) + log|Sigma| + log|X' Sigma^-1 X|

exactly nlme's ``logLik.gls`` (and lme4's REML convention). ``R_j`` depends on the
parameters and on the group's occasions only, so the Cholesky factors are computed
once per distinct pattern of occasions in each evaluation (a balanced design has one).
The residual parameters are optimised on an unconstrained scale (phi = tanh(u) for
AR1, a logistic map for CAR1 and compound symmetry; for the unstructured correlation
R = L L' with L the unit-lower-triangular matrix of free entries, its rows normalised
to length 1, which is positive definite for any entries; log SD ratios; the power
itself): a grid over a single correlation parameter, then BFGS with central-difference
gradients. The columns are centred and scaled internally (:mod:`helpers._scale`) and the
results mapped back exactly, so the estimates do not depend on the data's units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.optimize
from formulaic.errors import DataMismatchWarning

from ._coef import coef_table
from ._design import factorize_groups, fixed_part, rows_used, to_float
from ._fit import NO_VALUE
from ._scale import Units
from ._validate import aliased_columns, check_bool, check_frame
from .formula import formula_variables, parse_fixed_formula
from .lmm import ConvergenceWarning
from .residuals import (
    AR1,
    CAR1,
    CompoundSymmetry,
    ResidualStructure,
    Unstructured,
    VarIdent,
    VarPower,
    varident_levels,
)

__all__ = ["GlsFit", "compare_gls", "fit_gls", "gls_in"]

_CORRELATIONS = (AR1, CAR1, CompoundSymmetry, Unstructured)
_VARIANCES = (VarIdent, VarPower)


# ------------------------------------------------------------------ binding to the rows


@dataclass
class _SizeBlock:
    """Groups with k rows: their rows (in occasion order) and distinct occasion patterns."""

    rows: np.ndarray  # (G, k) row positions
    patterns: np.ndarray  # (U, k) the distinct patterns (relative times, or occasion indices)
    which: np.ndarray  # (G,) each group's pattern


@dataclass
class _Structure:
    """A correlation structure and/or a variance function bound to the rows of a fit."""

    corr: object | None
    var: object | None
    blocks: list[_SizeBlock]
    times: np.ndarray | None  # each row's time (AR1, CAR1) or occasion index (UN)
    occasions: list | None = None  # UN: the occasion labels in order
    cs_lower: float = -1.0  # CS: the lower end of rho's range
    var_codes: np.ndarray | None = None  # VarIdent: each row's level (0 = reference)
    var_levels: list | None = None
    var_values: np.ndarray | None = None  # VarPower: |v| of each row
    names: list[str] = field(default_factory=list)
    n_corr: int = 0

    # -- parameters: u (unconstrained) -> natural ---------------------------------------
    def natural(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, float)
        out = []
        if isinstance(self.corr, Unstructured):
            R = self.corr_base(u)
            out.extend(R[np.triu_indices(len(R), 1)])
        elif self.corr is not None:
            out.append(self.corr_base(u))
        v = u[self.n_corr :]
        if isinstance(self.var, VarIdent):
            out.extend(np.exp(v))
        elif isinstance(self.var, VarPower):
            out.extend(v)
        return np.array(out, float)

    def un_matrix(self, c: np.ndarray) -> np.ndarray:
        K = len(self.occasions)
        L = np.eye(K)
        L[np.tril_indices(K, -1)] = c
        L /= np.sqrt((L**2).sum(axis=1))[:, None]
        return L @ L.T

    def scales(self, u: np.ndarray) -> np.ndarray | None:
        v = np.asarray(u, float)[self.n_corr :]
        if isinstance(self.var, VarIdent):
            return np.exp(np.concatenate([[0.0], v]))[self.var_codes]
        if isinstance(self.var, VarPower):
            return self.var_values ** v[0]
        return None

    def corr_base(self, u: np.ndarray):
        """What every pattern's R is built from: phi, rho, or the full K x K matrix (UN)."""
        c = np.asarray(u, float)[: self.n_corr]
        if isinstance(self.corr, AR1):
            return float(np.tanh(c[0]))
        if isinstance(self.corr, CAR1):
            return _expit(c[0])
        if isinstance(self.corr, CompoundSymmetry):
            return self.cs_lower + (1.0 - self.cs_lower) * _expit(c[0])
        return self.un_matrix(c)

    def corr_stack(self, base, patterns: np.ndarray) -> np.ndarray:
        """R for each pattern of a size block, (U, k, k), from :meth:`corr_base`."""
        U, k = patterns.shape
        if isinstance(self.corr, AR1 | CAR1):
            d = np.abs(patterns[:, :, None] - patterns[:, None, :])
            return (d == 0).astype(float) if base == 0.0 else np.power(base, d)
        if isinstance(self.corr, CompoundSymmetry):
            R = np.full((k, k), base)
            np.fill_diagonal(R, 1.0)
            return R[None]
        idx = patterns.astype(int)
        return base[idx[:, :, None], idx[:, None, :]]

    def whiten(self, X: np.ndarray, y: np.ndarray, u: np.ndarray):
        """(X, y whitened by (D C)^-1, log|Sigma / sigma^2|), or None (not positive definite)."""
        logdet = 0.0
        s = self.scales(u)
        if s is not None:
            if not np.all(np.isfinite(s)) or np.any(s <= 0):
                return None
            X, y = X / s[:, None], y / s
            logdet += 2.0 * float(np.sum(np.log(s)))
        if self.corr is None:
            return X, y, logdet
        Xw, yw = np.empty_like(X), np.empty_like(y)
        base = self.corr_base(u)
        for b in self.blocks:
            R = self.corr_stack(base, b.patterns)
            try:
                C = np.linalg.cholesky(R)
            except np.linalg.LinAlgError:
                return None
            ld = 2.0 * np.log(np.diagonal(C, axis1=1, axis2=2)).sum(axis=1)
            if not np.all(np.isfinite(ld)):
                return None
            logdet += float(np.sum(ld[b.which]))
            k = R.shape[1]
            Cinv = np.linalg.solve(C, np.broadcast_to(np.eye(k), C.shape))
            r = b.rows
            if len(Cinv) == 1:
                Xw[r] = np.matmul(Cinv[0], X[r])
                yw[r] = y[r] @ Cinv[0].T
            else:
                M = Cinv[b.which]
                Xw[r] = np.einsum("gab,gbp->gap", M, X[r])
                yw[r] = np.einsum("gab,gb->ga", M, y[r])
        return Xw, yw, logdet

    def group_cov(self, u: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Sigma_j / sigma^2 for the rows of one group (in the order given)."""
        k = len(rows)
        if self.corr is None:
            R = np.eye(k)
        elif isinstance(self.corr, CompoundSymmetry):
            R = self.corr_stack(self.corr_base(u), np.zeros((1, k)))[0]
        else:
            R = self.corr_stack(self.corr_base(u), self.times[rows][None, :])[0]
        s = self.scales(u)
        if s is not None:
            R = R * np.outer(s[rows], s[rows])
        return R


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _bind(corr, var, data: pd.DataFrame, codes: np.ndarray, J: int) -> _Structure:
    n = len(codes)
    n_j = np.bincount(codes, minlength=J)
    names: list[str] = []
    times = None
    occasions = None
    cs_lower = -1.0
    n_corr = 0
    if corr is not None:
        if isinstance(corr, CompoundSymmetry):
            if n_j.max() < 2:
                raise ValueError(
                    "CompoundSymmetry(): every group has one row, so there is no pair of "
                    "residuals to correlate; fit without residuals=."
                )
            cs_lower = -1.0 / (n_j.max() - 1)
            key = np.arange(n, dtype=float)  # exchangeable: any order within a group
            names, n_corr = ["rho"], 1
        else:
            key, occasions = _occasions(corr, data)
            if isinstance(corr, Unstructured):
                K = len(occasions)
                if K < 2:
                    raise ValueError(
                        f"{corr!r}: the column {corr.time!r} has one occasion; an "
                        "unstructured correlation needs at least two."
                    )
                if K > Unstructured.max_occasions:
                    raise ValueError(
                        f"{corr!r}: {K} occasions would need {K * (K - 1) // 2} "
                        f"correlations; the unstructured correlation is fitted for at most "
                        f"{Unstructured.max_occasions} occasions. Use AR1 or CAR1 for "
                        "longer series."
                    )
                names = [
                    f"cor({occasions[a]},{occasions[b]})"
                    for a, b in zip(*np.triu_indices(K, 1), strict=True)
                ]
                n_corr = len(names)
            else:
                names, n_corr = ["phi"], 1
            times = key
        order = np.lexsort((key, codes))
        sc, st = codes[order], key[order]
        same = (sc[1:] == sc[:-1]) & (st[1:] == st[:-1])
        if same.any() and not isinstance(corr, CompoundSymmetry):
            i = int(np.flatnonzero(same)[0])
            value = data[corr.time].iloc[order[i]]
            value = value.item() if hasattr(value, "item") else value
            raise ValueError(
                f"{corr!r}: a group has two rows at the same occasion "
                f"({corr.time} = {value!r}, in row {data.index[order[i]]!r}); occasions "
                "must be distinct within a group (one row per occasion)."
            )
        if isinstance(corr, ResidualStructure):  # AR1, CAR1: the gaps in time
            corr._check_gaps((st[1:] - st[:-1])[sc[1:] == sc[:-1]])
        elif n_j.max() < 2:
            raise ValueError(
                f"{corr!r}: every group has one row, so there is no pair of residuals to "
                "correlate; fit without residuals=."
            )
        start = np.concatenate([[0], np.cumsum(n_j)[:-1]])
        blocks = []
        for k in np.unique(n_j):
            groups = np.flatnonzero(n_j == k)
            rows = order[start[groups][:, None] + np.arange(k)]
            if isinstance(corr, CompoundSymmetry):
                pats = np.zeros((len(groups), k))
            elif isinstance(corr, Unstructured):
                pats = key[rows]
            else:
                pats = key[rows] - key[rows][:, :1]
            uniq, which = np.unique(pats, axis=0, return_inverse=True)
            blocks.append(_SizeBlock(rows, uniq, np.asarray(which).reshape(-1)))
    else:
        blocks = []
    st = _Structure(corr, var, blocks, times, occasions, cs_lower, names=names, n_corr=n_corr)
    if var is not None:
        if isinstance(var, VarIdent):
            levels, vcodes = varident_levels(var, data[var.by].to_numpy())
            st.var_codes, st.var_levels = vcodes, levels
            st.names = names + [f"{var.by}={lev}" for lev in levels[1:]]
        else:
            col = data[var.of]
            if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(
                col.dtype
            ):
                raise TypeError(
                    f"{var!r}: the column {var.of!r} must hold numbers, not {col.dtype} values."
                )
            v = np.abs(col.to_numpy(dtype=float))
            if not np.all(np.isfinite(v)):
                raise ValueError(
                    f"{var!r}: the column {var.of!r} has missing or infinite values in "
                    "the rows the model uses; drop or fill them."
                )
            if np.any(v == 0):
                raise ValueError(
                    f"{var!r}: the column {var.of!r} is 0 in {int(np.sum(v == 0))} row(s), "
                    "where |v|^delta is 0 or infinite; shift it or drop those rows."
                )
            if np.ptp(v) == 0:
                raise ValueError(
                    f"{var!r}: |{var.of}| is the same in every row, so its power cannot "
                    "be estimated (it is one variance)."
                )
            st.var_values = v
            st.names = names + ["power"]
    return st


def _occasions(corr, data: pd.DataFrame):
    """Each row's time (AR1, CAR1: as a number) or occasion index (UN), and UN's labels."""
    col = data[corr.time]
    if isinstance(corr, Unstructured):
        if col.isna().any():
            raise ValueError(
                f"{corr!r}: the column {corr.time!r} has missing values in the rows the "
                "model uses; drop those rows or fill in their occasions."
            )
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [c for c in col.cat.categories if (col == c).any()]
            idx = pd.Index(cats).get_indexer(col)
            return idx.astype(float), list(cats)
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            t = col.to_numpy(dtype=float)
            if not np.all(t == np.round(t)):
                raise ValueError(
                    f"{corr!r}: the occasions in {corr.time!r} must be integer positions "
                    f"or labels; it holds non-integer values (e.g. "
                    f"{t[t != np.round(t)][0]!r}). Round them, or use CAR1 for continuous "
                    "time."
                )
        levels, idx = np.unique(col.to_numpy(), return_inverse=True)
        labels = [x.item() if hasattr(x, "item") else x for x in levels]
        return np.asarray(idx, float).reshape(-1), labels
    dtype = col.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise TypeError(
            f"{corr!r}: the column {corr.time!r} must hold numbers (occasions), not {dtype} "
            f"values; convert it first, e.g. pd.to_numeric(data[{corr.time!r}])."
        )
    t = col.to_numpy(dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError(
            f"{corr!r}: the column {corr.time!r} has missing or infinite values in the rows "
            "the model uses; drop those rows or fill in their occasions."
        )
    corr._check_times(t)
    return t, None


# ------------------------------------------------------------------------ the criterion


@dataclass
class _Eval:
    deviance: float  # internal units
    beta: np.ndarray
    r2: float
    RXinv: np.ndarray


def _evaluate(X, y, st: _Structure, u, reml: bool) -> _Eval | None:
    got = st.whiten(X, y, u)
    if got is None:
        return None
    Xw, yw, logdet = got
    n, p = Xw.shape
    Q, RX = np.linalg.qr(Xw)
    beta = np.linalg.solve(RX, Q.T @ yw)
    r2 = float(np.sum((yw - Xw @ beta) ** 2))
    if not r2 > 0:
        return None
    m = n - p if reml else n
    dev = m * (1.0 + np.log(2.0 * np.pi * r2 / m)) + logdet
    if reml:
        dev += 2.0 * float(np.sum(np.log(np.abs(np.diag(RX)))))
    if not np.isfinite(dev):
        return None
    return _Eval(float(dev), beta, r2, np.linalg.inv(RX))


def _start(st: _Structure, X, y, data_codes, reml) -> np.ndarray:
    """Starting values: residual correlations of OLS by pair of occasions (UN), a grid
    over a single correlation parameter, 0 for the rest (one SD, power 0)."""
    n_var = len(st.names) - st.n_corr
    u = np.zeros(st.n_corr + n_var)
    if isinstance(st.corr, Unstructured):
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        e = y - X @ beta
        K = len(st.occasions)
        W = np.full((int(data_codes.max()) + 1, K), np.nan)
        W[data_codes, st.times.astype(int)] = e
        R0 = pd.DataFrame(W).corr(min_periods=3).to_numpy()
        R0 = np.where(np.isfinite(R0), R0, 0.0)
        np.fill_diagonal(R0, 1.0)
        w, V = np.linalg.eigh(R0)
        R0 = (V * np.maximum(w, 0.05)) @ V.T
        d = np.sqrt(np.diag(R0))
        R0 = R0 / np.outer(d, d)
        L = np.linalg.cholesky(R0)
        u[: st.n_corr] = (L / np.diag(L)[:, None])[np.tril_indices(K, -1)]
    elif st.n_corr == 1:
        if isinstance(st.corr, AR1):
            grid = [np.arctanh(x) for x in np.linspace(-0.9, 0.9, 7)]
        elif isinstance(st.corr, CAR1):
            grid = [_logit(x) for x in np.linspace(0.05, 0.95, 7)]
        else:
            lo = st.cs_lower
            grid = [_logit((x - lo) / (1 - lo)) for x in np.linspace(lo + 0.05 * (1 - lo), 0.9, 7)]
        best, u0 = np.inf, grid[len(grid) // 2]
        for g in grid:
            u_try = u.copy()
            u_try[0] = g
            e = _evaluate(X, y, st, u_try, reml)
            if e is not None and e.deviance < best:
                best, u0 = e.deviance, g
        u[0] = u0
    return u


def _optimise(X, y, st: _Structure, reml: bool, codes):
    u0 = _start(st, X, y, codes, reml)
    cache: dict[tuple, _Eval | None] = {}

    def f(u):
        key = tuple(float(v) for v in u)
        if key not in cache:
            cache[key] = _evaluate(X, y, st, np.array(key), reml)
        e = cache[key]
        return np.inf if e is None else e.deviance

    def grad(u, h=1e-6):
        g = np.empty_like(u)
        for k in range(len(u)):
            step = np.zeros_like(u)
            step[k] = h
            g[k] = (f(u + step) - f(u - step)) / (2 * h)
        return g

    res = scipy.optimize.minimize(
        f, u0, jac=grad, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000}
    )
    u = res.x
    # BFGS may stop on "precision loss" at the optimum (the criterion is flat to rounding
    # there): judge by the gradient itself, in deviance units.
    g_max = float(np.abs(grad(u)).max()) if len(u) else 0.0
    converged = bool(np.isfinite(f(u))) and g_max < 1e-4
    return u, converged, f"largest gradient {g_max:.2g} ({res.message})"


# ---------------------------------------------------------------------------- fitting


def fit_gls(
    formula: str,
    data: pd.DataFrame,
    *,
    group: str | None = None,
    residuals=None,
    variance=None,
    reml: bool = True,
    missing: str = "raise",
) -> GlsFit:
    """Generalized least squares with residuals correlated within groups (nlme's ``gls``).

    Parameters
    ----------
    formula
        Fixed terms only, e.g. ``"Reaction ~ Days"`` (no random part: the dependence
        within a group is in the residual covariance instead).
    data
        A DataFrame holding the formula's columns, ``group`` and the structures' columns.
    group
        The column whose groups (persons, schools) have correlated residuals; groups are
        independent of each other. Needed with ``residuals=``.
    residuals
        The correlation within a group: :class:`~helpers.CompoundSymmetry` (one ``rho``
        for every pair), :class:`~helpers.Unstructured` ``(time=)`` (a correlation per
        pair of occasions), :class:`~helpers.AR1` ``(time=)`` or
        :class:`~helpers.CAR1` ``(time=)`` (``phi`` to the power of the distance in
        time); ``None``: independent residuals.
    variance
        :class:`~helpers.VarIdent` ``(by=)`` (a residual SD per level, reported as
        ratios to the first level) or :class:`~helpers.VarPower` ``(of=)`` (SD
        proportional to ``|v|^power``); ``None``: one residual variance.
    reml
        REML (default, as ``gls``) or, with ``False``, maximum likelihood (to compare
        fixed parts).
    missing
        ``"raise"`` (default) or ``"drop"``, as in :func:`helpers.fit_lmm`.

    Returns
    -------
    GlsFit
        ``fixed`` (t tests with nlme's df = n - p; standard errors with the residual
        sum of squares over n - p, as nlme's, for ML fits too), ``sigma2``, ``residual_params``,
        ``residual_cov(group)``, ``loglik``, ``deviance``, ``aic``, ``bic``,
        ``predict``, ``fitted``, ``residuals``, ``summary()``; :func:`helpers.compare`
        tests nested fits.

    A :class:`CompoundSymmetry` fit with ``rho >= 0`` is the random-intercept model
    ``fit_lmm("y ~ ... + (1 | group)")`` written as a marginal covariance: the same
    likelihood, with ``rho = tau / (tau + sigma^2)``; ``gls`` also allows a negative
    ``rho``, which no random intercept gives.
    """
    reml = check_bool(reml, "reml")
    if residuals is not None and not isinstance(residuals, _CORRELATIONS):
        raise TypeError(
            "residuals= takes a correlation structure: hp.CompoundSymmetry(), "
            'hp.Unstructured(time="wave"), hp.AR1(time="Days") or hp.CAR1(time="t"); '
            f"got {type(residuals).__name__}."
        )
    if variance is not None and not isinstance(variance, _VARIANCES):
        raise TypeError(
            'variance= takes hp.VarIdent(by="Sex") or hp.VarPower(of="dose"); got '
            f"{type(variance).__name__}."
        )
    if group is not None and (not isinstance(group, str) or not group):
        raise TypeError(f"group must be the name of the grouping column, not {group!r}.")
    if residuals is not None and group is None:
        raise ValueError(
            f"residuals={residuals!r} correlates the residuals within groups: name the "
            'grouping column, e.g. fit_gls(..., group="Subject").'
        )
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x', not {type(formula).__name__}.")
    if "|" in formula:
        raise ValueError(
            f"{formula!r} has a random part; fit_gls fits fixed effects only, with the "
            "dependence within groups in residuals=. Use hp.fit_lmm for random effects."
        )
    f = parse_fixed_formula(formula)
    extra = set()
    if group is not None:
        extra.add(group)
    named = {} if group is None else {group: f"group={group!r}"}
    for obj, attr in ((residuals, "time"), (variance, "by"), (variance, "of")):
        if obj is not None and hasattr(obj, attr):
            extra.add(getattr(obj, attr))
            named.setdefault(getattr(obj, attr), repr(obj))
    absent = [c for c in named if c not in getattr(data, "columns", named)]
    if absent:  # name the argument, not "the formula"
        raise KeyError(
            f"{named[absent[0]]}: the data have no column {absent[0]!r}. Available "
            f"columns: {', '.join(map(str, data.columns))}."
        )
    check_frame(data, f.variables() | extra)
    used, n_dropped = rows_used(f, data, missing, extra=extra, group=group)
    y, X, rhs, _ = fixed_part(f, used)
    names = list(rhs.columns)
    aliased = aliased_columns(X, names)
    if aliased:
        raise ValueError(f"The design is rank deficient: {aliased} are aliased with other terms.")
    n, p = X.shape
    if n <= p:
        raise ValueError(f"{n} rows cannot estimate {p} fixed effects and a residual variance.")
    if group is not None:
        codes, groups = factorize_groups(used[group])
    else:
        codes, groups = np.arange(n), pd.RangeIndex(n)
    J = len(groups)
    st = _bind(residuals, variance, used, codes, J)
    n_res = len(st.names)
    if n - p <= n_res:
        raise ValueError(
            f"{n} rows cannot estimate {p} fixed effects, a residual variance and "
            f"{n_res} residual parameters."
        )
    ols = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    if not np.sum(ols**2) > 1e-24 * max(1.0, float(np.sum((y - y.mean()) ** 2))):
        raise ValueError(
            f"The fixed part of {formula!r} fits the outcome exactly (or the outcome is "
            "constant): there are no residuals whose covariance could be estimated."
        )
    within = y - (np.bincount(codes, y, J) / np.bincount(codes, minlength=J))[codes]
    if residuals is not None and np.sum(within**2) <= 1e-20 * np.sum((y - y.mean()) ** 2):
        raise ValueError(
            f"The outcome {f.outcome!r} is constant within every group of {group!r}: the "
            f"correlation of {residuals!r} would be 1 and the likelihood unbounded. Analyse "
            "it at the group level (one row per group), or fit without residuals=."
        )
    units = Units.choose(y, X, np.zeros((n, 0)), [])
    Xi, yi = units.X(X), units.y(y)
    if n_res:
        u, converged, message = _optimise(Xi, yi, st, reml, codes)
    else:
        u, converged, message = np.zeros(0), True, ""
    e = _evaluate(Xi, yi, st, u, reml)
    if e is None:
        raise ValueError(
            f"The residual covariance of {formula!r} is not positive definite at the "
            "optimum; simplify residuals= or variance=."
        )
    m = n - p if reml else n
    sigma2 = units.sigma2(e.r2 / m)
    # nlme's gls scales (X' Sigma^-1 X)^-1 by the residual sum of squares over n - p for
    # ML fits too (gls: varBeta <- sigma * sqrt((N - REML * p) / (N - p)) * ...)
    vcov = units.vcov((e.r2 / (n - p)) * (e.RXinv @ e.RXinv.T))
    beta = units.beta(e.beta)
    deviance = units.deviance(e.deviance, n, p, reml)
    df = float(n - p)
    fixed = coef_table(beta, np.sqrt(np.diag(vcov)), names, df=df)
    fit = GlsFit(
        formula=formula,
        group=group,
        reml=reml,
        fixed=fixed,
        sigma2=float(sigma2),
        deviance=float(deviance),
        n_obs=n,
        n_groups=J if group is not None else None,
        n_dropped=n_dropped,
        converged=converged,
        residual_structure=residuals,
        variance_function=variance,
        _beta=beta,
        _vcov=vcov,
        _u=np.asarray(u, float),
        _X=X,
        _y=y,
        _codes=codes,
        _groups=groups,
        _row_index=used.index,
        _spec=rhs.model_spec,
        _structure=st,
        _needed=formula_variables(f.fixed_rhs),
    )
    if not converged:
        warnings.warn(
            f"The optimiser did not confirm an optimum for {formula!r} ({message}). The "
            "estimates may be inaccurate: simplify residuals= or variance=.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return fit


# ---------------------------------------------------------------------------- results


@dataclass(repr=False)
class GlsFit:
    """A generalized least-squares fit (the result of :func:`fit_gls`), as nlme's ``gls``.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per coefficient with ``estimate, std_error, df, statistic, p_value,
        ci_lower, ci_upper``: standard errors ``sigma^2 (X' Sigma^-1 X)^-1`` at the
        estimated residual parameters, t tests and 95% intervals with nlme's
        ``df = n - p`` (the ``df`` column).
    sigma2 : float
        The residual variance (of the reference level with ``VarIdent``; at ``|v| = 1``
        with ``VarPower``).
    residual_params : pandas.Series
        ``rho`` (compound symmetry), ``cor(a,b)`` (unstructured, nlme's order), ``phi``
        (AR1, CAR1), the SD ratio of each level to the first (VarIdent, ``"by=level"``),
        ``power`` (VarPower).
    loglik, deviance, aic, bic : float
        As nlme reports them: the REML log-likelihood of a REML fit; ``deviance`` is
        ``-2 loglik``; BIC uses ``log(n - p)`` for REML, ``log(n)`` for ML (nlme's).

    Not available for these fits (each says so): random effects (there are none),
    intervals for the residual parameters, ``predict(interval=)``, refit, simulate and
    the bootstrap.
    """

    formula: str
    group: str | None
    reml: bool
    fixed: pd.DataFrame
    sigma2: float
    deviance: float
    n_obs: int
    n_groups: int | None
    n_dropped: int
    converged: bool
    residual_structure: object | None
    variance_function: object | None
    _beta: np.ndarray
    _vcov: np.ndarray
    _u: np.ndarray
    _X: np.ndarray
    _y: np.ndarray
    _codes: np.ndarray
    _groups: pd.Index
    _row_index: pd.Index
    _spec: object
    _structure: _Structure
    _needed: set = field(default_factory=set)  # the predictors' columns (for predict)

    kind = "Generalized least squares"

    _NOT_AVAILABLE = {
        "tau": "there are no random effects; the dependence is in residual_cov(group)",
        "ranef": "there are no random effects; the dependence is in residual_cov(group)",
        "random_part": "there are no random effects; see residual_params and sigma2",
        "confint": "intervals are not implemented for fit_gls fits; fixed has Wald intervals",
        "refit": "refitting a new outcome is not implemented for fit_gls fits",
        "simulate": "simulating outcomes is not implemented for fit_gls fits",
        "r2": "R-squared is not implemented for fit_gls fits",
        "wald": "fixed holds the t tests (nlme's df = n - p); other tables are not implemented",
    }

    def __getattr__(self, name: str):
        reason = type(self)._NOT_AVAILABLE.get(name)
        if reason is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(f"GlsFit.{name} is not available: {reason}.")

    @property
    def residual_params(self) -> pd.Series:
        return pd.Series(
            self._structure.natural(self._u), index=self._structure.names, name="residual_params"
        )

    @property
    def n_params(self) -> int:
        """Fixed effects, sigma^2 and the residual parameters (nlme's ``df`` of logLik)."""
        return len(self._beta) + 1 + len(self._u)

    @property
    def fixed_names(self) -> list[str]:
        return list(self.fixed.index)

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        return self.deviance + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        n = self.n_obs - (len(self._beta) if self.reml else 0)
        return self.deviance + np.log(n) * self.n_params

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect estimates."""
        return pd.DataFrame(self._vcov, index=self.fixed.index, columns=self.fixed.index)

    @property
    def row_index(self) -> pd.Index:
        return self._row_index

    @property
    def y(self) -> np.ndarray:
        return self._y

    def residual_cov(self, group) -> pd.DataFrame:
        """The implied covariance of one group's residuals, ``sigma^2 Sigma_j``.

        Rows and columns are the group's occasions (values of the structure's time
        column) in order with AR1, CAR1 and Unstructured; otherwise the data's row
        labels."""
        if self.group is None:
            raise ValueError("This fit has no groups (fit_gls without group=).")
        pos = self._groups.get_indexer([group])[0]
        if pos < 0:
            raise ValueError(
                f"{group!r} is not a group of this fit (grouping column {self.group!r}; "
                f"e.g. {self._groups[0]!r})."
            )
        rows = np.flatnonzero(self._codes == pos)
        st = self._structure
        if st.times is not None:
            rows = rows[np.argsort(st.times[rows], kind="stable")]
            col = self.residual_structure.time
            if st.occasions is not None:
                index = pd.Index([st.occasions[int(t)] for t in st.times[rows]], name=col)
            else:
                index = pd.Index(st.times[rows], name=col)
        else:
            index = self._row_index[rows]
        S = self.sigma2 * st.group_cov(self._u, rows)
        return pd.DataFrame(S, index=index, columns=index)

    def fitted(self) -> pd.Series:
        """Fitted values X beta, in the rows of the data that were used."""
        return pd.Series(self._X @ self._beta, index=self._row_index, name="fitted")

    def residuals(self) -> pd.Series:
        """Response residuals y - X beta (as nlme's ``resid(type = "response")``)."""
        return pd.Series(self._y - self._X @ self._beta, index=self._row_index, name="residuals")

    def predict(self, newdata: pd.DataFrame | None = None, *, interval=None) -> pd.Series:
        """Predicted means X beta for newdata (default: the fitted rows).

        GLS has no random effects, so a prediction is the population mean at the row's
        predictors (as nlme's ``predict.gls``); ``interval=`` is not available."""
        if interval is not None:
            raise NotImplementedError(
                "predict(interval=...) is not implemented for fit_gls fits; the fixed-effect "
                "table's std_error and vcov give the uncertainty of X beta."
            )
        if newdata is None:
            return self.fitted().rename("predicted")
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError(f"newdata must be a DataFrame, not {type(newdata).__name__}.")
        needed = self._needed
        check_frame(newdata, needed, "the model (for prediction)")
        if needed and newdata[sorted(needed)].isna().any().any():
            raise ValueError("newdata has missing values in a predictor; predictions need them.")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataMismatchWarning)
                mm = self._spec.get_model_matrix(newdata)
        except Exception as err:  # formulaic: a wrong type
            raise ValueError(f"Could not build newdata's fixed design: {err}") from None
        for w in caught:
            if issubclass(w.category, DataMismatchWarning):
                raise ValueError(
                    f"newdata has a level of a categorical predictor that the model never "
                    f"saw ({w.message}); the model has no effect for it."
                )
        Xn = to_float(mm, "newdata's fixed design")
        return pd.Series(Xn @ self._beta, index=newdata.index, name="predicted")

    def summary(self) -> pd.DataFrame:
        """A compact table: fixed part (estimate, SE, df), residual part, model fit
        (rows without a standard error or df show "—" there, as MixedFit.summary)."""
        rows = []
        for term, r in self.fixed.iterrows():
            rows.append(("Fixed part", term, r["estimate"], r["std_error"], r["df"]))
        rows.append(("Residual part", "sigma2", self.sigma2, NO_VALUE, NO_VALUE))
        for name, v in self.residual_params.items():
            rows.append(("Residual part", name, v, NO_VALUE, NO_VALUE))
        crit = "REML criterion" if self.reml else "Deviance (-2 log L)"
        rows.append(("Model fit", crit, self.deviance, NO_VALUE, NO_VALUE))
        rows.append(("Model fit", "AIC", self.aic, NO_VALUE, NO_VALUE))
        rows.append(("Model fit", "BIC", self.bic, NO_VALUE, NO_VALUE))
        table = pd.DataFrame(rows, columns=["part", "term", "estimate", "std_error", "df"])
        return table.set_index(["part", "term"])

    def __repr__(self) -> str:
        parts = [repr(x) for x in (self.residual_structure, self.variance_function) if x]
        label = " and ".join(parts) if parts else "independent, one variance"
        method = "REML" if self.reml else "ML"
        flags = "" if self.converged else "; NOT CONVERGED"
        grp = f", {self.n_groups} groups ({self.group})" if self.group else ""
        with pd.option_context("display.float_format", "{:.4f}".format):
            return (
                f"{self.kind} ({method}): {self.formula}\n{self.n_obs} observations{grp}; "
                f"residuals: {label}{flags}; fixed-effect df: n - p = "
                f"{self.n_obs - len(self._beta)} (nlme's gls)\nsigma2 = {self.sigma2:.4f}, "
                f"log-likelihood = {self.loglik:.4f}\n\n{self.fixed.to_string()}"
                + (f"\n\n{self.residual_params.to_string()}" if len(self._u) else "")
            )


# ---------------------------------------------------------------------------- compare


def gls_in(args: tuple) -> dict | None:
    """``{label: fit}`` when a fit given to compare is a :class:`GlsFit`, else None."""
    if len(args) == 1 and isinstance(args[0], dict):
        named = {str(k): v for k, v in args[0].items()}
    else:
        items = tuple(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else args
        named = {f"M{k}": f for k, f in enumerate(items)}
    return named if any(isinstance(f, GlsFit) for f in named.values()) else None


def _corr_nested(small, big) -> bool:
    if small is None or small == big:
        return True
    if isinstance(big, Unstructured):  # a free correlation per pair of occasions
        return isinstance(small, CompoundSymmetry) or (
            isinstance(small, AR1 | CAR1) and small.time == big.time
        )
    return False


def _in_span(A: np.ndarray, B: np.ndarray) -> bool:
    """Every column of A lies in the column space of B."""
    if A.shape[1] == 0:
        return True
    coef = np.linalg.lstsq(B, A, rcond=None)[0]
    resid = A - B @ coef
    size = np.sqrt((A**2).sum(axis=0))
    return bool(np.all(np.sqrt((resid**2).sum(axis=0)) <= 1e-8 * size + 1e-12))


def compare_gls(named: dict, method: str) -> pd.DataFrame:
    """Likelihood-ratio tests between nested :func:`fit_gls` fits (see helpers.compare)."""
    import scipy.stats

    labels, fits = list(named), list(named.values())
    for label, f in named.items():
        if not isinstance(f, GlsFit):
            raise ValueError(
                f"compare tests fit_gls fits against fit_gls fits; {label!r} is a "
                f"{type(f).__name__}. A random-intercept model and fit_gls with "
                "CompoundSymmetry() are the same model when rho >= 0 (the same likelihood, "
                "rho = tau / (tau + sigma^2)): neither is nested in the other as a "
                "smaller model, so there is nothing to test between them. Test the "
                "within-group correlation with fit_gls fits, without residuals= against "
                "residuals=hp.CompoundSymmetry(), on the same data."
            )
    if method != "chi2":
        raise ValueError(
            "method='bootstrap' is not available for fit_gls fits (they cannot be "
            "simulated and refitted yet); use method='chi2'."
        )
    if len(fits) < 2:
        raise ValueError("compare needs at least two fitted models: hp.compare(m0, m1).")
    first = fits[0]
    for k, f in enumerate(fits[1:], start=1):
        if f.reml != first.reml:
            raise ValueError(
                f"{labels[0]} was fitted by {'REML' if first.reml else 'ML'} and {labels[k]} "
                f"by {'REML' if f.reml else 'ML'}; fit all with the same method."
            )
        oa, ob = np.argsort(first._y, kind="stable"), np.argsort(f._y, kind="stable")
        if f.n_obs != first.n_obs or not np.allclose(first._y[oa], f._y[ob], rtol=1e-12, atol=0.0):
            raise ValueError(
                f"{labels[k]} was fitted to different rows or a different outcome than "
                f"{labels[0]}; likelihoods are comparable only on the same data."
            )
        if f.group is not None and first.group is not None and f.group != first.group:
            raise ValueError(
                f"{labels[0]} groups the rows by {first.group!r} and {labels[k]} by "
                f"{f.group!r}: their residual structures are not nested."
            )
    order = sorted(range(len(fits)), key=lambda k: (fits[k].n_params, k))
    rows = []
    prev = prev_k = None
    for k in order:
        f = fits[k]
        row = {
            "model": f.formula,
            "residuals": " and ".join(
                repr(x) for x in (f.residual_structure, f.variance_function) if x
            )
            or "independent",
            "npar": f.n_params,
            "deviance": f.deviance,
            "aic": f.aic,
            "bic": f.bic,
            "chisq": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "test": "",
        }
        if prev is not None:
            a, b = labels[prev_k], labels[k]
            df = f.n_params - prev.n_params
            nested_corr = _corr_nested(prev.residual_structure, f.residual_structure)
            nested_var = prev.variance_function is None or (
                prev.variance_function == f.variance_function
            )
            if df <= 0 or not (nested_corr and nested_var):
                raise ValueError(
                    f"{a} ({_label(prev)}) is not nested in {b} ({_label(f)}): a likelihood-"
                    "ratio test needs the smaller residual structure to be a special case of "
                    "the larger (independence in any correlation; compound symmetry, AR1 or "
                    "CAR1 in Unstructured of the same time; one variance in VarIdent or "
                    "VarPower). Compare non-nested fits by their aic and bic instead."
                )
            ia = np.argsort(prev._y, kind="stable")
            ib = np.argsort(f._y, kind="stable")
            if prev.reml:
                same = prev.fixed_names == f.fixed_names and np.allclose(
                    prev._X[ia], f._X[ib], rtol=1e-12, atol=0.0
                )
                if not same:
                    raise ValueError(
                        f"{a} and {b} are REML fits with different fixed parts: their REML "
                        "criteria cannot be compared. Refit both with reml=False."
                    )
            elif not _in_span(prev._X[ia], f._X[ib]):
                raise ValueError(
                    f"The fixed part of {a} is not nested in that of {b}; a likelihood-ratio "
                    "test needs nested fixed parts."
                )
            chisq = prev.deviance - f.deviance
            stat = max(chisq, 0.0)
            adds_car1 = (
                prev.residual_structure is None
                and isinstance(f.residual_structure, CAR1)
                and prev.variance_function == f.variance_function
                and prev.fixed_names == f.fixed_names
            )
            if adds_car1:  # phi = 0 on the boundary of [0, 1)
                p = 0.5 * scipy.stats.chi2.sf(stat, df) + 0.5 * (
                    scipy.stats.chi2.sf(stat, df - 1) if df > 1 else float(stat <= 0)
                )
                test = f"mixture chi2({df - 1}):chi2({df}) 50:50 (CAR1's phi = 0 on the boundary)"
            else:
                p = scipy.stats.chi2.sf(stat, df)
                test = f"chi2({df})"
            row.update(chisq=chisq, df=df, p_value=p, test=test)
        rows.append(row)
        prev, prev_k = f, k
    table = pd.DataFrame(rows)
    table.index = pd.Index([labels[k] for k in order], name="fit")
    return table


def _label(f: GlsFit) -> str:
    return (
        " and ".join(repr(x) for x in (f.residual_structure, f.variance_function) if x)
        or "independent residuals"
    )
