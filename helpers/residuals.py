"""Residual correlation within groups, as nlme's ``correlation=`` (``corAR1``, ``corCAR1``).

The model is lme4's linear mixed model with a within-group residual covariance
``sigma^2 R_j(phi)`` instead of ``sigma^2 I``::

    y_j = X_j beta + Z_j b_j + e_j,     b_j ~ N(0, tau),     e_j ~ N(0, sigma^2 R_j(phi))

With ``R_j = C_j C_j'`` (Cholesky), the whitened rows ``C_j^-1 X_j``, ``C_j^-1 Z_j``,
``C_j^-1 y_j`` follow the ordinary model with independent residuals, so for a fixed
``phi`` the profiled deviance of :mod:`helpers._pls` (sufficient statistics of the
whitened design, the same theta map, optimiser and certificate) applies unchanged;
the density of the original rows adds ``log|R| = sum_j log|R_j|`` (the Jacobian of
the whitening) to the deviance, ML or REML. ``phi`` is then chosen to minimise that
profiled deviance: a grid over its range, then Brent's method in the best bracket.

``R_j`` depends on ``phi`` and on the group's occasions only through their
differences, so the Cholesky factors are computed once per distinct pattern of
occasions (a balanced design has one) and each evaluation costs O(n p) for the
whitening plus the engine's O(J q^3).

Structures (the public names, re-exported by :mod:`helpers`):

* :class:`AR1` ``(time=)``: occasions at integer positions ``t`` within each group,
  ``corr(e_ij, e_ik) = phi^|t_ij - t_ik|``, ``-1 < phi < 1`` (``corAR1(form = ~ t | g)``);
* :class:`CAR1` ``(time=)``: continuous time, the same correlation with any real
  times and ``0 <= phi < 1`` (``corCAR1``); ``phi = 0`` (independence) is on the
  boundary of its range;
* :class:`CompoundSymmetry` ``()`` and :class:`Unstructured` ``(time=)`` (``corCompSymm``,
  ``corSymm``) and :class:`VarPower` ``(of=)`` (``varPower``): fitted by
  :func:`helpers.fit_gls` (:mod:`helpers.gls`) without random effects; ``fit_lmm``
  refuses the first two beside a random intercept, where they are not identified;
* :class:`VarIdent` ``(by=)`` (``variance=``): a residual SD per level of a column,
  ``sigma delta_l`` with ``delta = 1`` for the first level in sorted order
  (``varIdent``); the rows are divided by their ``delta`` before the correlation's
  whitening, and ``2 sum log delta`` joins the deviance. With ratios the parameters
  are found by BFGS on (phi's transform, log delta).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.optimize

from ._design import Design
from ._pls import Optimum, ThetaMap, moment_start, optimize, sufficient_stats

__all__ = [
    "AR1",
    "CAR1",
    "CompoundSymmetry",
    "Unstructured",
    "VarPower",
    "Residual",
    "ResidualStructure",
    "VarIdent",
    "bind",
    "containment_df",
    "fit_residuals",
]


class ResidualStructure:
    """A within-group residual correlation structure (the base of :class:`AR1`, ...)."""

    name = ""
    param_names: tuple[str, ...] = ()
    lower, upper = -1.0, 1.0
    boundary_note = ""  # where the absence of the structure (phi = 0) lies in the range

    def __init__(self, *, time: str):
        if not isinstance(time, str) or not time:
            raise TypeError(
                f"{type(self).__name__}(time=...) takes the name of the column that holds "
                f'each row\'s occasion, e.g. {type(self).__name__}(time="Days"); got {time!r}.'
            )
        self.time = time

    def __repr__(self) -> str:
        return f"{type(self).__name__}(time={self.time!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.time))

    def _check_times(self, t: np.ndarray) -> None:
        """Values of the time column this structure accepts (subclasses)."""

    def _check_gaps(self, gaps: np.ndarray) -> None:
        """The gaps between consecutive occasions within the groups (subclasses)."""

    def correlation(self, phi: float, diffs: np.ndarray) -> np.ndarray:
        """R for arrays of occasion differences |t_i - t_k| (any leading shape)."""
        if phi == 0.0:
            return (diffs == 0).astype(float)
        return np.power(phi, diffs)


class AR1(ResidualStructure):
    """First-order autoregressive residuals at integer occasions (nlme's ``corAR1``).

    ``time``: the column holding each row's occasion as an integer position within
    its group (e.g. ``"Days"``; gaps are allowed, repeats within a group are not).
    The correlation of two residuals of a group ``|t_i - t_k|`` occasions apart is
    ``phi^|t_i - t_k|``, ``-1 < phi < 1``. ``phi = 0`` (independent residuals) lies
    inside the range, so a likelihood-ratio test of it uses chi-square(1).
    """

    name = "AR(1)"
    param_names = ("phi",)
    lower, upper = -1.0, 1.0
    boundary_note = "phi = 0 lies inside (-1, 1)"

    def _check_times(self, t: np.ndarray) -> None:
        if not np.all(t == np.round(t)):
            raise ValueError(
                f"AR1(time={self.time!r}) needs integer occasions; {self.time!r} holds "
                f"non-integer values (e.g. {t[t != np.round(t)][0]!r}). Use "
                f"CAR1(time={self.time!r}) for continuous time."
            )

    def _check_gaps(self, gaps: np.ndarray) -> None:
        if gaps.size == 0:
            raise ValueError(
                f"{self!r}: every group has one row, so there is no pair of residuals to "
                "correlate and phi cannot be estimated; fit without residuals=."
            )
        step = int(np.gcd.reduce(np.round(gaps).astype(np.int64)))
        if step > 1:
            raise ValueError(
                f"{self!r}: every gap between occasions within a group is a multiple of "
                f"{step}, so phi^{step} is all the data see (phi and -phi fit alike when "
                f"{step} is even, and phi is not identified): number the occasions 0, 1, "
                f"2, ... e.g. data[{self.time!r}] // {step}, or use CAR1(time="
                f"{self.time!r}) for the correlation per unit of time."
            )


class CAR1(ResidualStructure):
    """Continuous-time first-order autoregressive residuals (nlme's ``corCAR1``).

    ``time``: a numeric column of each row's time within its group (any real values,
    distinct within a group). ``corr(e_i, e_k) = phi^|t_i - t_k|``, ``0 <= phi < 1``.
    Rescaling time by ``c`` turns ``phi`` into ``phi^(1/c)`` with the same fit.
    ``phi = 0`` (independent residuals) is on the boundary of the range, so a
    likelihood-ratio test of it uses the 50:50 mixture of chi-square(0) and (1).
    """

    name = "CAR(1)"
    param_names = ("phi",)
    lower, upper = 0.0, 1.0
    boundary_note = "phi = 0 is on the boundary of [0, 1)"
    # the median gap between occasions the search for phi resolves (phi is the
    # correlation one unit of time apart: far outside this range it is within
    # double-precision reach of 0 or 1 and the estimate is not reliable)
    gap_range = (0.05, 100.0)

    def _check_gaps(self, gaps: np.ndarray) -> None:
        if gaps.size == 0:
            raise ValueError(
                f"{self!r}: every group has one row, so there is no pair of residuals to "
                "correlate and phi cannot be estimated; fit without residuals=."
            )
        med = float(np.median(gaps))
        lo, hi = self.gap_range
        if not lo <= med <= hi:
            raise ValueError(
                f"{self!r}: the median gap between occasions within a group is {med:.3g} "
                f"units of {self.time!r}; phi is the correlation one unit apart, which at "
                f"this scale lies too close to 0 or 1 to be estimated reliably. Express "
                f"time in units where the typical gap is between {lo:g} and {hi:g} (e.g. "
                f"data[{self.time!r}] / {med:.3g}); phi then changes as phi^(1/c) and the "
                "fit is the same."
            )


class VarIdent:
    """A residual standard deviation per level of a column (nlme's ``varIdent``).

    ``by``: the column whose levels have their own residual SD, e.g. ``"Sex"``. The
    first level (in sorted order, as R's factor levels) is the reference with SD
    ``sigma``; each other level ``l`` has SD ``delta_l * sigma``, and the fit reports
    the ratios ``delta_l`` (as nlme's ``coef(varIdent, unconstrained = FALSE)``).
    """

    def __init__(self, *, by: str):
        if not isinstance(by, str) or not by:
            raise TypeError(
                "VarIdent(by=...) takes the name of a column whose levels get their own "
                f'residual SD, e.g. VarIdent(by="Sex"); got {by!r}.'
            )
        self.by = by

    def __repr__(self) -> str:
        return f"VarIdent(by={self.by!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.by == other.by

    def __hash__(self) -> int:
        return hash(("VarIdent", self.by))


class CompoundSymmetry:
    """Exchangeable residuals within a group (nlme's ``corCompSymm``): for :func:`fit_gls`.

    Every two residuals of a group have the same correlation ``rho``, whatever their
    occasions (no time column is needed). ``rho`` lies in ``(-1/(k - 1), 1)`` with
    ``k`` the largest group size, which keeps every R_j positive definite. A positive
    ``rho`` is exactly a random intercept (``rho = tau / (tau + sigma^2)``), so this
    structure is fitted by :func:`helpers.fit_gls` (no random effects), never beside a
    random intercept in :func:`helpers.fit_lmm`, where it would not be identified.
    """

    name = "compound symmetry"

    def __repr__(self) -> str:
        return "CompoundSymmetry()"

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash("CompoundSymmetry")


class Unstructured:
    """A free correlation for every pair of occasions (nlme's ``corSymm``): for :func:`fit_gls`.

    ``time``: the column naming each row's occasion, as integer positions (``1, 2, 3``)
    or labels (``"pre"``, ``"post"``; a categorical column keeps its category order,
    other labels are sorted). Occasions may be missing in some groups (unbalanced
    designs): a group's correlation matrix is the submatrix of its occasions, as
    nlme's ``corSymm(form = ~ occ | g)`` with a position covariate. With K occasions
    the structure has K(K - 1)/2 correlations, reported as ``cor(a,b)`` for occasions
    ``a < b`` in nlme's order (row by row of the upper triangle). Meant for small K
    (at most 10 occasions). Not identified beside a random intercept: fitted by
    :func:`helpers.fit_gls`.
    """

    name = "unstructured"
    max_occasions = 10

    def __init__(self, *, time: str):
        if not isinstance(time, str) or not time:
            raise TypeError(
                "Unstructured(time=...) takes the name of the column that holds each row's "
                f'occasion, e.g. Unstructured(time="wave"); got {time!r}.'
            )
        self.time = time

    def __repr__(self) -> str:
        return f"Unstructured(time={self.time!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.time == other.time

    def __hash__(self) -> int:
        return hash(("Unstructured", self.time))


class VarPower:
    """Residual SD as a power of a covariate (nlme's ``varPower(form = ~ v)``): for :func:`fit_gls`.

    ``of``: a numeric column ``v`` without zeros; each row's residual SD is
    ``sigma |v|^delta`` and the fit reports the power ``delta`` (any real number;
    ``delta = 0`` is one variance). Rescaling ``v`` by ``c`` leaves ``delta`` as it is
    and multiplies ``sigma`` by ``c^-delta``.
    """

    def __init__(self, *, of: str):
        if not isinstance(of, str) or not of:
            raise TypeError(
                "VarPower(of=...) takes the name of a numeric column whose power scales the "
                f'residual SD, e.g. VarPower(of="dose"); got {of!r}.'
            )
        self.of = of

    def __repr__(self) -> str:
        return f"VarPower(of={self.of!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.of == other.of

    def __hash__(self) -> int:
        return hash(("VarPower", self.of))


# ------------------------------------------------------------------ the bound structure


@dataclass
class Pattern:
    """Groups with the same number of rows (k): their rows in time order and occasions."""

    groups: np.ndarray  # (G,) group codes
    rows: np.ndarray  # (G, k) row positions, in time order
    diffs: np.ndarray  # (U, k, k) |t_i - t_k| of each distinct pattern of occasions
    which: np.ndarray  # (G,) index of each group's pattern in diffs


@dataclass
class Bound:
    """A structure bound to the rows of a design: the occasion patterns."""

    structure: ResidualStructure
    times: np.ndarray  # (n,) each row's time
    patterns: list[Pattern]

    def factors(self, phi: float):
        """Per pattern, the inverse Cholesky factors of its distinct R (U, k, k), and
        log|R| summed over all groups; None where R is not positive definite."""
        out, logdet = [], 0.0
        for pat in self.patterns:
            R = self.structure.correlation(phi, pat.diffs)
            try:
                C = np.linalg.cholesky(R)
            except np.linalg.LinAlgError:
                return None
            d = np.log(np.diagonal(C, axis1=1, axis2=2)).sum(axis=1)
            logdet += 2.0 * float(np.sum(d[pat.which]))
            k = R.shape[1]
            out.append(np.linalg.solve(C, np.broadcast_to(np.eye(k), C.shape)))
        return out, logdet

    def whiten(self, d: Design, phi: float):
        """(the design with whitened X, Z, y; log|R|), or None."""
        got = self.factors(phi)
        if got is None:
            return None
        Cinv, logdet = got
        X, Z, y = np.empty_like(d.X), np.empty_like(d.Z), np.empty_like(d.y)
        for pat, Ci in zip(self.patterns, Cinv, strict=True):
            if len(Ci) <= 8:  # few distinct patterns: one matrix product per pattern
                for u in range(len(Ci)):
                    r = pat.rows if len(Ci) == 1 else pat.rows[pat.which == u]
                    X[r] = np.matmul(Ci[u], d.X[r])
                    Z[r] = np.matmul(Ci[u], d.Z[r])
                    y[r] = d.y[r] @ Ci[u].T
                continue
            M = Ci[pat.which]  # (G, k, k): irregular occasions, every group its own
            r = pat.rows
            X[r] = np.einsum("gab,gbp->gap", M, d.X[r])
            Z[r] = np.einsum("gab,gbq->gaq", M, d.Z[r])
            y[r] = np.einsum("gab,gb->ga", M, d.y[r])
        return replace(d, X=X, Z=Z, y=y), logdet

    def colour(self, phi: float, e: np.ndarray) -> np.ndarray:
        """Independent standard normal rows e (..., n) turned into draws with covariance
        R_j(phi) within each group: e_j -> C_j e_j, C_j the Cholesky factor of R_j."""
        out = np.array(e, dtype=float, copy=True)
        for pat in self.patterns:
            C = np.linalg.cholesky(self.structure.correlation(phi, pat.diffs))  # (U, k, k)
            r = pat.rows  # (G, k)
            out[..., r] = (C[pat.which] @ e[..., r][..., None])[..., 0]
        return out

    def group_cov(self, j: int, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """(row positions of group j in time order, R_j)."""
        for pat in self.patterns:
            hit = np.flatnonzero(pat.groups == j)
            if hit.size:
                g = hit[0]
                return pat.rows[g], self.structure.correlation(phi, pat.diffs[pat.which[g]])
        raise IndexError(j)


def _column(design: Design, data: pd.DataFrame, col: str, what: str) -> np.ndarray:
    """The values of a column in the rows the design uses."""
    if col not in data.columns:
        raise ValueError(f"{what}: the data have no column {col!r}.")
    if design.n_dropped == 0:
        return data[col].to_numpy()
    if not data.index.is_unique:
        raise ValueError(
            "With missing='drop' and a residual structure, the data's index must label rows "
            "uniquely (it has repeated labels): call data.reset_index(drop=True) first."
        )
    return data.loc[design.row_index, col].to_numpy()


@dataclass
class Strata:
    """VarIdent bound to the rows: each row's level and the level labels."""

    variance: VarIdent
    codes: np.ndarray  # (n,) level of each row, 0 = reference
    levels: list


def varident_levels(variance: VarIdent, values: np.ndarray) -> tuple[list, np.ndarray]:
    """The levels of ``variance.by`` among the rows a model uses, and each row's level
    (0 = the reference), after checking that every level can carry its own SD."""
    if pd.isna(values).any():
        raise ValueError(
            f"{variance!r}: the column {variance.by!r} has missing values in the rows the "
            "model uses; drop those rows or fill them in."
        )
    levels, codes = np.unique(
        values.astype(str) if values.dtype == object else values, return_inverse=True
    )
    if len(levels) < 2:
        raise ValueError(
            f"{variance!r}: the column {variance.by!r} has one level ({levels[0]!r}) in the "
            "rows the model uses; a residual SD per level needs at least two."
        )
    counts = np.bincount(codes)
    if counts.min() < 2:
        raise ValueError(
            f"{variance!r}: level {levels[int(np.argmin(counts))]!r} of {variance.by!r} has "
            f"{counts.min()} row; its residual SD cannot be estimated. Merge it with another "
            "level or drop it."
        )
    return list(levels), np.asarray(codes).reshape(-1)


def bind_variance(variance, design: Design, data: pd.DataFrame) -> Strata:
    if not isinstance(variance, VarIdent):
        raise TypeError(
            'variance= takes a variance structure such as hp.VarIdent(by="Sex"), not '
            f"{type(variance).__name__}."
        )
    values = _column(design, data, variance.by, repr(variance))
    levels, codes = varident_levels(variance, values)
    return Strata(variance, codes, levels)


@dataclass
class Residual:
    """The residual covariance of a fit: a correlation structure (Bound) and/or a
    variance function (Strata). Parameters, in natural units: [phi] + [delta_l]."""

    corr: Bound | None
    var: Strata | None

    @property
    def names(self) -> list[str]:
        out = ["phi"] if self.corr is not None else []
        if self.var is not None:
            out += [f"{self.var.variance.by}={lev}" for lev in self.var.levels[1:]]
        return out

    def scales(self, params) -> np.ndarray | None:
        """Each row's residual SD relative to sigma (None without a variance function)."""
        if self.var is None:
            return None
        delta = np.concatenate([[1.0], np.asarray(params)[1 if self.corr else 0 :]])
        return delta[self.var.codes]

    def whiten(self, d: Design, params):
        """(the design with rows whitened by (D_j C_j)^-1; log|Sigma / sigma^2|), or None."""
        logdet = 0.0
        s = self.scales(params)
        if s is not None:
            d = replace(d, X=d.X / s[:, None], Z=d.Z / s[:, None], y=d.y / s)
            logdet += 2.0 * float(np.sum(np.log(s)))
        if self.corr is not None:
            got = self.corr.whiten(d, float(params[0]))
            if got is None:
                return None
            d, ld = got
            logdet += ld
        return d, logdet

    def colour(self, e: np.ndarray, params) -> np.ndarray:
        """Independent standard normal rows e (..., n) turned into residuals with
        covariance Sigma_j / sigma^2 = D_j R_j D_j within each group (the inverse of
        :meth:`whiten`)."""
        out = np.asarray(e, dtype=float)
        if self.corr is not None:
            out = self.corr.colour(float(params[0]), out)
        s = self.scales(params)
        return out if s is None else out * s

    def group_cov(self, j: int, codes: np.ndarray, params):
        """(row positions of group j, Sigma_j / sigma^2): in time order with a correlation
        structure, else in the data's order."""
        if self.corr is not None:
            rows, R = self.corr.group_cov(j, float(params[0]))
        else:
            rows = np.flatnonzero(codes == j)
            R = np.eye(len(rows))
        s = self.scales(params)
        if s is not None:
            R = R * np.outer(s[rows], s[rows])
        return rows, R


def bind(structure, design: Design, data: pd.DataFrame, variance=None) -> Residual:
    """The residual structure (``residuals=``, ``variance=``) bound to the design's rows."""
    corr = None if structure is None else bind_correlation(structure, design, data)
    var = None if variance is None else bind_variance(variance, design, data)
    return Residual(corr, var)


def bind_correlation(structure, design: Design, data: pd.DataFrame) -> Bound:
    """Check the structure's column in the rows the design uses and find the patterns."""
    if not isinstance(structure, ResidualStructure):
        raise TypeError(
            'residuals= takes a residual structure such as hp.AR1(time="Days") or '
            f'hp.CAR1(time="t"), not {type(structure).__name__}.'
        )
    col = structure.time
    if col not in data.columns:
        raise ValueError(
            f"{structure!r}: the data have no column {col!r}; name the column that holds "
            "each row's occasion."
        )
    if design.n_dropped == 0:
        values = data[col].to_numpy()
    else:
        if not data.index.is_unique:
            raise ValueError(
                "With missing='drop' and residuals=, the data's index must label rows "
                "uniquely (it has repeated labels): call data.reset_index(drop=True) first."
            )
        values = data.loc[design.row_index, col].to_numpy()
    dtype = data[col].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise TypeError(
            f"{structure!r}: the column {col!r} must hold numbers (occasions), not "
            f"{dtype} values; convert it first, e.g. pd.to_numeric(data[{col!r}])."
        )
    t = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError(
            f"{structure!r}: the column {col!r} has missing or infinite values in the rows "
            "the model uses; drop those rows or fill in their occasions."
        )
    structure._check_times(t)
    codes = design.codes
    order = np.lexsort((t, codes))
    sc, st = codes[order], t[order]
    same = (sc[1:] == sc[:-1]) & (st[1:] == st[:-1])
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise ValueError(
            f"{structure!r}: group {design.groups[sc[i]]!r} has two rows at {col} = "
            f"{st[i]:g}; occasions must be distinct within a group (one row per occasion)."
        )
    structure._check_gaps((st[1:] - st[:-1])[sc[1:] == sc[:-1]])
    n_j = np.bincount(codes, minlength=len(design.groups))
    start = np.concatenate([[0], np.cumsum(n_j)[:-1]])
    patterns = []
    for k in np.unique(n_j):
        groups = np.flatnonzero(n_j == k)
        rows = order[start[groups][:, None] + np.arange(k)]  # (G, k)
        tt = t[rows]
        rel = tt - tt[:, :1]
        uniq, which = np.unique(rel, axis=0, return_inverse=True)
        diffs = np.abs(uniq[:, :, None] - uniq[:, None, :])
        patterns.append(Pattern(groups, rows, diffs, np.asarray(which).reshape(-1)))
    return Bound(structure, t, patterns)


# ------------------------------------------------------------------------ optimisation


@dataclass
class ResidualOptimum:
    params: np.ndarray  # [phi] + [delta_l], natural units
    opt: Optimum  # the engine's optimum over theta at params (whitened statistics)
    stats: object  # the whitened sufficient statistics at params
    logdet: float  # log|Sigma / sigma^2| at params
    deviance: float  # the profiled deviance (internal units) including logdet
    n_evals: int  # inner optimisations
    converged: bool = True  # the search over the residual parameters confirmed its optimum
    message: str = ""


def fit_residuals(internal: Design, tmap: ThetaMap, reml: bool, resid: Residual):
    """Minimise the profiled deviance over the residual parameters (theta profiled by
    the engine, warm-started from the theta of the previous evaluation).

    phi alone: a grid of 7 values from -0.9 (0 for CAR1) to 0.9, then Brent's method
    in the bracket around the best, to about 1e-7 in phi (below that the profile is
    flat to within the inner optimum's tolerance of 1e-10); bounded Brent up to the
    end of the range when the best is an end of the grid. With SD ratios: BFGS on
    (atanh or logit phi, log delta) with central-difference gradients, from the best
    phi of the grid and delta = 1."""
    state = {"theta": None, "n": 0}
    cache: dict[tuple, ResidualOptimum | None] = {}

    def profile(params) -> float:
        key = tuple(float(v) for v in np.atleast_1d(params))
        if key in cache:
            r = cache[key]
            return np.inf if r is None else r.deviance
        got = resid.whiten(internal, np.array(key))
        if got is None:
            cache[key] = None
            return np.inf
        w, logdet = got
        stats = sufficient_stats(w)
        theta0 = state["theta"] if state["theta"] is not None else moment_start(stats, tmap)
        try:
            opt = optimize(stats, tmap, reml, theta0)
        except ValueError:
            cache[key] = None
            return np.inf
        state["theta"], state["n"] = opt.theta.copy(), state["n"] + 1
        r = ResidualOptimum(np.array(key), opt, stats, logdet, opt.pls.deviance + logdet, 0)
        cache[key] = r
        return r.deviance

    n_var = 0 if resid.var is None else len(resid.var.levels) - 1
    phi0 = None
    converged, message = True, ""
    if resid.corr is not None:
        s = resid.corr.structure
        lo, hi = s.lower + (0.0 if s.lower == 0.0 else 1e-8), s.upper - 1e-6
        # The grid stays off the ends (near phi = 1 the residuals of a group become
        # one shared value, which the random intercept also is: theta is then slow to
        # find); the bracket of an end point reaches the end of the range.
        grid = np.linspace(max(s.lower, -0.9), 0.9, 7)
        ones = [1.0] * n_var
        vals = [profile([x, *ones]) for x in grid]
        i = int(np.argmin(vals))
        phi0 = grid[i]
        if n_var == 0 and 0 < i < len(grid) - 1:
            # grid[i] is lower than both neighbours: Brent's method inside that bracket
            # (parabolic steps from the start)
            r1 = scipy.optimize.minimize_scalar(
                profile,
                bracket=(grid[i - 1], grid[i], grid[i + 1]),
                method="brent",
                options={"xtol": 1e-7, "maxiter": 200},
            )
        elif n_var == 0:  # the best grid point is an end: search up to the end of the range
            a, b = (lo, grid[1]) if i == 0 else (grid[-2], hi)
            r1 = scipy.optimize.minimize_scalar(
                profile, bounds=(a, b), method="bounded", options={"xatol": 1e-7, "maxiter": 200}
            )
        if n_var == 0:
            converged, message = bool(r1.success), f"Brent's method: {r1.message}"
    if n_var:
        corr = resid.corr.structure if resid.corr is not None else None

        def to_params(u):
            head = []
            if corr is not None:
                head = [np.tanh(u[0]) if corr.lower < 0 else 1.0 / (1.0 + np.exp(-u[0]))]
            return np.array([*head, *np.exp(u[len(head) :])])

        u0 = []
        if corr is not None:
            p0 = min(max(phi0, 1e-3), 1 - 1e-3)
            u0 = [np.arctanh(p0) if corr.lower < 0 else np.log(p0 / (1 - p0))]
        u0 = np.array([*u0, *np.zeros(n_var)])

        def f(u):
            return profile(to_params(u))

        def grad(u, h=1e-5):
            g = np.empty_like(u)
            for k in range(len(u)):
                e = np.zeros_like(u)
                e[k] = h
                g[k] = (f(u + e) - f(u - e)) / (2 * h)
            return g

        res = scipy.optimize.minimize(f, u0, jac=grad, method="BFGS", options={"gtol": 1e-6})
        profile(to_params(res.x))
        # BFGS often ends on "precision loss" at the optimum (the profile is flat to
        # 1e-10 there): judge by the gradient itself, in deviance units.
        g_max = float(np.abs(grad(res.x)).max())
        converged, message = g_max < 1e-3, f"largest gradient {g_max:.2g} ({res.message})"
    best = min((r for r in cache.values() if r is not None), key=lambda r: r.deviance)
    return replace(best, n_evals=state["n"], converged=converged, message=message)


def containment_df(X: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """nlme's denominator df for a two-level model, one per column of X.

    A column constant within every group (a group-level term) gets
    ``J - (number of group-level terms) - 1`` (the intercept is counted there); every
    other column, and the intercept, ``n - J - (number of within-group terms)``
    (Pinheiro & Bates 2000, sec. 2.4.2)."""
    n, p = X.shape
    lo = np.full((n_groups, p), np.inf)
    hi = np.full((n_groups, p), -np.inf)
    np.minimum.at(lo, codes, X)
    np.maximum.at(hi, codes, X)
    between = np.all(hi - lo <= 1e-12 * np.maximum(1.0, np.abs(hi)), axis=0)
    intercept = np.all(X == X[:1], axis=0) & (X[0] != 0)
    between_terms = between & ~intercept
    within_terms = ~between
    df = np.where(
        between_terms,
        n_groups - int(between_terms.sum()) - int(intercept.any()),
        n - n_groups - int(within_terms.sum()),
    )
    return df.astype(float)
