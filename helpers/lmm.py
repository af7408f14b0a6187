"""Linear mixed models for two-level data, estimated as lme4 does.

The method is the profiled deviance of Bates, Maechler, Bolker & Walker (2015,
*Journal of Statistical Software* 67(1), sections 3-4). The random effects of
group *j* are written ``b_j = T u_j`` with ``u_j ~ N(0, sigma^2 I)``, where ``T``
is a lower-triangular q x q matrix (the *relative covariance factor*) holding the
parameter vector ``theta``; the covariance matrix of the random effects is
``tau = sigma^2 T T'``.

For a given ``theta`` the fixed effects, the conditional modes and ``sigma^2``
follow from a penalised least-squares problem. With one grouping factor that
problem is block-diagonal by group, so everything it needs is in per-group
sufficient statistics computed once from the data::

    Z_j'Z_j (q x q),   Z_j'X_j (q x p),   Z_j'y_j (q),   X'X,   X'y,   y'y

and one evaluation of the deviance costs O(J q^3 + J q p^2) whatever the number
of rows: J small Cholesky factorisations, done for all groups at once.

Per group, with ``L_j L_j' = T' Z_j'Z_j T + I``::

    c_uj  = L_j^{-1} T' Z_j'y_j          R_ZXj = L_j^{-1} T' Z_j'X_j
    R_X' R_X = X'X - sum_j R_ZXj' R_ZXj   (= X' V^{-1} X with V = Z T T' Z' + I)
    c_b   = R_X'^{-1} (X'y - sum_j R_ZXj' c_uj),   beta = R_X^{-1} c_b
    r^2   = y'y - sum_j |c_uj|^2 - |c_b|^2          (penalised residual sum of squares)

and the profiled deviances (sigma^2 profiled out) are::

    ML:   d(theta)   = log|L|^2 + n (1 + log(2 pi r^2 / n))
    REML: d_R(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p)))

``theta`` is found by minimising the deviance under the bounds ``theta_ii >= 0``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.optimize
import scipy.stats
from formulaic import model_matrix

from ._validate import aliased_columns, check_frame, check_outcome, handle_missing
from .formula import LmmFormula, parse_formula

__all__ = ["LmmFit", "ConvergenceWarning", "SingularFitWarning", "fit_lmm"]

SINGULAR_TOL = 1e-4  # lme4's isSingular() default


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before it could confirm an optimum."""


class SingularFitWarning(UserWarning):
    """The estimate lies on the boundary: a variance of zero or a correlation of +/-1."""


# ----------------------------------------------------------------------------- design


@dataclass
class _Design:
    formula: LmmFormula
    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    codes: np.ndarray  # group index 0..J-1 of every row
    groups: pd.Index  # group labels, in lme4's (sorted) order
    fixed_names: list[str]
    random_names: list[str]
    blocks: list[tuple[int, int, bool]]  # (first column, size, independent) per random term
    fixed_spec: object
    random_specs: list
    row_index: pd.Index
    n_dropped: int = 0


def _to_float(frame, what: str) -> np.ndarray:
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


def _build_design(formula: str, data: pd.DataFrame, missing: str) -> _Design:
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
    check_outcome(data, f.outcome)

    mm = _model_matrix(f.fixed, data, f"the fixed-effects design of {f.fixed!r}")
    y = _to_float(mm.lhs, f"the outcome {f.outcome!r}").ravel()
    X = _to_float(mm.rhs, "the fixed-effects design")
    fixed_names = list(mm.rhs.columns)

    Zs, random_names, blocks, specs = [], [], [], []
    for term in f.random:
        zm = _model_matrix(term.expr, data, f"the random part '({term.expr} | {group})'")
        z = _to_float(zm, f"the random part '({term.expr} | {group})'")
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
    _check_rank(X, fixed_names)
    _check_random_slopes(Z, codes, len(groups), random_names, group)
    return _Design(
        formula=f,
        y=y,
        X=X,
        Z=Z,
        codes=codes,
        groups=groups,
        fixed_names=fixed_names,
        random_names=random_names,
        blocks=blocks,
        fixed_spec=mm.rhs.model_spec,
        random_specs=specs,
        row_index=data.index,
        n_dropped=n_dropped,
    )


def _check_rank(X: np.ndarray, names: list[str]) -> None:
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


def _check_random_slopes(Z, codes, J, names, group) -> None:
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


# -------------------------------------------------------------------- sufficient stats
#
# Per-group arrays keep the group axis last ("structure of arrays"): element (a, b)
# of every group's q x q matrix is one contiguous vector of length J. The small
# factorisations below then loop over the q (and p) indices in Python and do each
# step for all J groups in one vector operation, which is much faster than numpy's
# stacked linear algebra on thousands of 2 x 2 or 3 x 3 matrices.


@dataclass
class _Stats:
    ZtZ: np.ndarray  # q x q x J
    ZtX: np.ndarray  # q x p x J
    Zty: np.ndarray  # q x J
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    n: int
    n_j: np.ndarray


def _sufficient_stats(d: _Design) -> _Stats:
    """One pass over the rows: per-group cross-products by weighted bincounts."""
    J, q, p = len(d.groups), d.Z.shape[1], d.X.shape[1]
    codes = d.codes

    def gsum(w):
        return np.bincount(codes, weights=w, minlength=J)

    ZtZ = np.empty((q, q, J))
    for a in range(q):
        for b in range(a, q):
            ZtZ[a, b] = ZtZ[b, a] = gsum(d.Z[:, a] * d.Z[:, b])
    ZtX = np.empty((q, p, J))
    for a in range(q):
        for c in range(p):
            ZtX[a, c] = gsum(d.Z[:, a] * d.X[:, c])
    Zty = np.stack([gsum(d.Z[:, a] * d.y) for a in range(q)])
    return _Stats(
        ZtZ=ZtZ,
        ZtX=ZtX,
        Zty=Zty,
        XtX=d.X.T @ d.X,
        Xty=d.X.T @ d.y,
        yty=float(d.y @ d.y),
        n=len(d.y),
        n_j=np.bincount(codes, minlength=J),
    )


def _chol(A: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factors of J symmetric q x q matrices stored as A[a, b, j]."""
    q = A.shape[0]
    L = np.zeros_like(A)
    for c in range(q):
        d = A[c, c] - np.sum(L[c, :c] ** 2, axis=0)
        if not np.all(d > 0):
            return None
        L[c, c] = np.sqrt(d)
        for r in range(c + 1, q):
            L[r, c] = (A[r, c] - np.sum(L[r, :c] * L[c, :c], axis=0)) / L[c, c]
    return L


def _forward(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L X = B per group; B is q x J or q x m x J (L[r, k] broadcasts over m)."""
    X = np.empty_like(B)
    for r in range(L.shape[0]):
        acc = B[r].copy()
        for k in range(r):
            acc -= L[r, k] * X[k]
        X[r] = acc / L[r, r]
    return X


def _backward(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L' X = B per group; B is q x J."""
    q = L.shape[0]
    X = np.empty_like(B)
    for r in range(q - 1, -1, -1):
        acc = B[r].copy()
        for k in range(r + 1, q):
            acc -= L[k, r] * X[k]
        X[r] = acc / L[r, r]
    return X


def _left(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    """M @ B_j for a fixed matrix M and per-group B (group axis last)."""
    return np.tensordot(M, B, axes=([1], [0]))


# --------------------------------------------------------------------- theta and T


class _ThetaMap:
    """theta <-> the lower-triangular relative covariance factor T (lme4's ordering)."""

    def __init__(self, blocks, q):
        self.q = q
        rows, cols = [], []
        for start, size, independent in blocks:
            for c in range(size):  # column-major lower triangle, as lme4
                for r in range(c, size):
                    if independent and r != c:
                        continue
                    rows.append(start + r)
                    cols.append(start + c)
        self.rows, self.cols = np.array(rows), np.array(cols)
        self.lower = np.where(self.rows == self.cols, 0.0, -np.inf)
        self.start = (self.rows == self.cols).astype(float)

    def T(self, theta):
        T = np.zeros((self.q, self.q))
        T[self.rows, self.cols] = theta
        return T

    @property
    def bounds(self):
        return [(lo if np.isfinite(lo) else None, None) for lo in self.lower]


# ------------------------------------------------------------------------ the PLS step


@dataclass
class _PLS:
    deviance: float
    beta: np.ndarray
    u: np.ndarray  # q x J spherical random effects
    L: np.ndarray  # q x q x J lower Cholesky factors of T'Z_j'Z_jT + I
    RX: np.ndarray  # p x p lower Cholesky factor of X'V^{-1}X
    r2: float


def _pls(theta, stats: _Stats, tmap: _ThetaMap, reml: bool) -> _PLS | None:
    T = tmap.T(theta)
    q = T.shape[0]
    A = _left(T.T, np.tensordot(stats.ZtZ, T, axes=([1], [0])).transpose(0, 2, 1))
    A[np.arange(q), np.arange(q)] += 1.0
    L = _chol(A)
    if L is None:
        return None
    cu = _forward(L, _left(T.T, stats.Zty))  # q x J
    RZX = _forward(L, _left(T.T, stats.ZtX))  # q x p x J
    XtVX = stats.XtX - np.tensordot(RZX, RZX, axes=([0, 2], [0, 2]))
    try:
        RX = np.linalg.cholesky(XtVX)
    except np.linalg.LinAlgError:
        return None
    rhs = stats.Xty - np.tensordot(RZX, cu, axes=([0, 2], [0, 1]))
    cb = scipy.linalg.solve_triangular(RX, rhs, lower=True)
    beta = scipy.linalg.solve_triangular(RX.T, cb, lower=False)
    u = _backward(L, cu - np.tensordot(beta, RZX, axes=([0], [1])))
    r2 = stats.yty - float(np.sum(cu**2)) - float(cb @ cb)
    if not r2 > 0:
        return None
    logdet_L = 2.0 * float(sum(np.sum(np.log(L[c, c])) for c in range(q)))
    logdet_RX = 2.0 * float(np.sum(np.log(np.diag(RX))))
    n, p = stats.n, len(beta)
    if reml:
        nu = n - p
        dev = logdet_L + logdet_RX + nu * (1.0 + np.log(2.0 * np.pi * r2 / nu))
    else:
        dev = logdet_L + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
    return _PLS(dev, beta, u, L, RX, r2)


def _batched(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A_j @ B_j for per-group matrices A (q x r x J) and B (r x m x J)."""
    return np.einsum("arj,rmj->amj", A, B)


def _gradient(theta, pls: _PLS, stats: _Stats, tmap: _ThetaMap, reml: bool) -> np.ndarray:
    """Exact gradient of the profiled deviance with respect to theta.

    Write Delta = T T' and V_j = I + Z_j Delta Z_j'. Then (the fixed effects and
    sigma^2 are at their profiled optimum, so their derivatives drop out)::

        dd/dDelta = sum_j Z_j'V_j^-1 Z_j - (nu / r^2) sum_j a_j a_j'
                    [ - sum_j B_j (X'V^-1X)^-1 B_j'   for REML ]

    with a_j = Z_j'V_j^-1 (y_j - X_j beta), B_j = Z_j'V_j^-1 X_j, nu = n (ML) or
    n - p (REML), and dd/dT = 2 (dd/dDelta) T. Every Z_j'V_j^-1(.) comes from the
    sufficient statistics by Woodbury: Z_j'V_j^-1 = (I - S_j M_j) Z_j' with
    S_j = Z_j'Z_j and M_j = T (L_j L_j')^-1 T' = W_j'W_j, W_j = L_j^-1 T'.
    """
    T = tmap.T(theta)
    q, J = T.shape[0], stats.Zty.shape[1]
    S = stats.ZtZ
    W = _forward(pls.L, np.broadcast_to(T.T[:, :, None], (q, q, J)).copy())
    M = np.einsum("kaj,kbj->abj", W, W)
    SM = _batched(S, M)
    ZVZ = S.sum(axis=2) - np.einsum("abj,bcj->ac", SM, S)
    w = stats.Zty - np.tensordot(pls.beta, stats.ZtX, axes=([0], [1]))
    a = w - np.einsum("abj,bj->aj", SM, w)
    n, p = stats.n, len(pls.beta)
    nu = n - p if reml else n
    G = ZVZ - (nu / pls.r2) * (a @ a.T)
    if reml:
        B = stats.ZtX - _batched(SM, stats.ZtX)  # q x p x J
        RXinv = scipy.linalg.solve_triangular(pls.RX, np.eye(p), lower=True)
        C = RXinv.T @ RXinv
        BC = np.tensordot(B, C, axes=([1], [0])).transpose(0, 2, 1)
        G -= np.tensordot(BC, B, axes=([1, 2], [1, 2]))
    dT = 2.0 * G @ T
    return dT[tmap.rows, tmap.cols]


def _objective(stats, tmap, reml):
    """Deviance, and deviance with its gradient, as functions of theta."""

    def fun(theta):
        res = _pls(theta, stats, tmap, reml)
        return np.inf if res is None else res.deviance

    def fun_grad(theta):
        res = _pls(theta, stats, tmap, reml)
        if res is None:
            return np.inf, np.zeros_like(theta)
        return res.deviance, _gradient(theta, res, stats, tmap, reml)

    return fun, fun_grad


def _optimize(fun, fun_grad, theta0, tmap):
    """Minimise the profiled deviance over theta (bounded L-BFGS-B, exact gradient)."""

    def run(x0):
        return scipy.optimize.minimize(
            fun_grad,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=tmap.bounds,
            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxls": 50},
        )

    best = run(theta0)
    for _ in range(5):
        # A diagonal element of T at zero (a singular fit) may be a genuine boundary
        # optimum, or a local one of this parametrisation: the same covariance can
        # then be reached with the zero moved to another column. Restart from points
        # where that column is re-opened, and keep the best optimum.
        zero = [k for k in np.flatnonzero(tmap.lower == 0.0) if best.x[k] <= SINGULAR_TOL]
        if not zero:
            break
        starts = []
        for k in zero:
            # Probes along the zero diagonal: a descent from a lower point cannot
            # fall back onto the bound (the line search only accepts decreases).
            for step in (1e-3, 1e-2, 0.1, 0.3, 1.0):
                x = best.x.copy()
                x[k] = step
                if fun(x) < best.fun - 1e-10:
                    starts.append(x)
            starts += _reopened(best.x, tmap, k, tmap.cols[k])
        improved = False
        for start in starts:
            res = run(start)
            if res.fun < best.fun - 1e-8:
                best, improved = res, True
        if not improved:
            break
    converged, pg = _check_optimum(fun_grad, best.x, tmap)
    return best, converged and bool(np.isfinite(best.fun)), pg


def _check_optimum(fun_grad, x, tmap, tol=1e-6):
    """Is x a minimum? Judged by the Newton decrement g' H^-1 g on the free parameters.

    The decrement estimates how much the deviance could still fall (in deviance
    units), whatever the scale of the data: a raw gradient of 1e-3 is large for a
    deviance of 5,000 and negligible for one of 3,000,000. The Hessian comes from
    central differences of the exact gradient. Components of the gradient that push
    against an active bound (a variance at zero) do not count.
    """
    _, g = fun_grad(x)
    at_bound = x <= tmap.lower + 1e-12
    pg = np.where(at_bound & (g > 0), 0.0, g)
    free = np.flatnonzero(~at_bound)
    if free.size == 0:
        return True, pg
    H = np.empty((free.size, free.size))
    for col, i in enumerate(free):
        h = 1e-5 * max(abs(x[i]), 0.1)
        e = np.zeros_like(x)
        e[i] = h
        gp, gm = fun_grad(x + e)[1], fun_grad(x - e)[1]
        H[:, col] = (gp[free] - gm[free]) / (2 * h)
    H = 0.5 * (H + H.T)
    try:
        R = np.linalg.cholesky(H)
        step = scipy.linalg.solve_triangular(R, pg[free], lower=True)
        return bool(step @ step < tol), pg
    except np.linalg.LinAlgError:  # not positive definite: fall back on the gradient
        return bool(np.max(np.abs(pg)) < 1e-3), pg


def _reopened(theta, tmap: _ThetaMap, k: int, col: int):
    """Starting points with column col of T (zero on its diagonal) opened again."""
    same_col = tmap.cols == col
    unit = theta.copy()
    unit[same_col] = 0.0
    unit[k] = 1.0  # the column as in the identity start
    nudged = theta.copy()
    nudged[k] = 0.5  # the diagonal alone, the rest of the column kept
    return [unit, nudged]


# ---------------------------------------------------------------------------- fitting


def fit_lmm(formula: str, data: pd.DataFrame, reml: bool = True, missing: str = "raise") -> LmmFit:
    """Fit a two-level linear mixed model written in lme4's formula syntax.

    Parameters
    ----------
    formula
        E.g. ``"popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"``.
        Random parts: ``(1 | g)``, ``(1 + x | g)``, ``(0 + x | g)``, several parts
        for the same group (independent of each other), ``(1 + x || g)``.
    data
        A DataFrame holding every column the formula uses.
    reml
        Restricted maximum likelihood (default, as lme4) or, with ``False``,
        maximum likelihood (needed to compare models with different fixed parts).
    missing
        ``"raise"`` (default): missing values in a used column are an error that
        names the column. ``"drop"``: fit the complete rows and warn how many were
        dropped (also in ``fit.n_dropped``).

    Returns
    -------
    LmmFit
        Estimates, standard errors, variance components, conditional modes.
        A fit on the boundary of the parameter space (a variance of zero, a
        correlation of +/-1) is returned with ``singular=True`` and a
        :class:`SingularFitWarning`; a fit whose optimum could not be confirmed
        with ``converged=False`` and a :class:`ConvergenceWarning`.
    """
    if not isinstance(reml, bool | np.bool_):
        raise TypeError(f"reml must be True or False, not {reml!r}")
    design = _build_design(formula, data, missing)
    stats = _sufficient_stats(design)
    tmap = _ThetaMap(design.blocks, design.Z.shape[1])
    fun, fun_grad = _objective(stats, tmap, reml)
    opt, converged, pg = _optimize(fun, fun_grad, tmap.start.copy(), tmap)
    theta = opt.x
    pls = _pls(theta, stats, tmap, reml)
    if pls is None:  # should not happen at an optimum with finite deviance
        raise RuntimeError("The penalised least-squares step failed at the optimum.")
    fit = LmmFit._from_pls(design, stats, tmap, theta, pls, reml, converged, opt)
    if not converged:
        warnings.warn(
            f"The optimiser did not confirm an optimum for {formula!r} "
            f"(largest projected gradient {np.max(np.abs(pg)):.2g}; {opt.message}). "
            "The estimates may be inaccurate: simplify the random part, or rescale predictors.",
            ConvergenceWarning,
            stacklevel=2,
        )
    if fit.singular:
        warnings.warn(
            f"Singular fit for {formula!r}: {fit.boundary_reason}. The estimate lies on the "
            "boundary of the parameter space; consider removing that random term "
            "(and test it with hp.compare).",
            SingularFitWarning,
            stacklevel=2,
        )
    return fit


# ---------------------------------------------------------------------------- results


@dataclass
class LmmFit:
    """A fitted two-level linear mixed model (the result of :func:`fit_lmm`).

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed term (``"Intercept"``, ``"extrav"``, ``"extrav:texp"``)
        with ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
        Standard errors are those of lme4: ``sigma^2 (X' V^-1 X)^-1``, conditional
        on the estimated variance components. ``statistic`` is estimate / std_error,
        and p-values and 95% intervals use the normal distribution (Wald tests, as
        in Hox's tables); with few groups they are optimistic.
    tau : pandas.DataFrame
        Covariance matrix of the random effects, labelled by random term.
    sigma2 : float
        Residual (level-1) variance.
    loglik, deviance, aic, bic : float
        As lme4 reports them: for a REML fit ``deviance`` is the REML criterion and
        ``loglik`` the REML log-likelihood; for an ML fit, -2 log-likelihood.
    """

    formula: str
    reml: bool
    fixed: pd.DataFrame
    vcov: pd.DataFrame
    tau: pd.DataFrame
    sigma2: float
    theta: np.ndarray
    deviance: float
    n_obs: int
    n_groups: int
    n_dropped: int
    converged: bool
    singular: bool
    boundary_reason: str
    group: str
    n_iter: int
    _design: _Design = field(repr=False)
    _b: np.ndarray = field(repr=False)
    _b_cov: np.ndarray = field(repr=False)
    _n_j: np.ndarray = field(repr=False)
    _ZtZ: np.ndarray = field(repr=False)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def _from_pls(cls, design, stats, tmap, theta, pls, reml, converged, opt):
        n, p = stats.n, len(pls.beta)
        sigma2 = pls.r2 / (n - p if reml else n)
        T = tmap.T(theta)
        RXinv = scipy.linalg.solve_triangular(pls.RX, np.eye(p), lower=True)
        vcov = sigma2 * (RXinv.T @ RXinv)
        se = np.sqrt(np.diag(vcov))
        z = pls.beta / se
        crit = scipy.stats.norm.ppf(0.975)
        fixed = pd.DataFrame(
            {
                "estimate": pls.beta,
                "std_error": se,
                "statistic": z,
                "p_value": 2 * scipy.stats.norm.sf(np.abs(z)),
                "ci_lower": pls.beta - crit * se,
                "ci_upper": pls.beta + crit * se,
            },
            index=pd.Index(design.fixed_names, name="term"),
        )
        names = pd.Index(design.random_names, name="term")
        tau = pd.DataFrame(sigma2 * (T @ T.T), index=names, columns=names)
        u = pls.u.T  # J x q
        L = np.moveaxis(pls.L, -1, 0)  # J x q x q
        b = u @ T.T  # b_j = T u_j
        # Conditional covariance of b_j given y (beta fixed), as lme4's condVar:
        Linv = np.linalg.inv(L)
        b_cov = sigma2 * (T @ np.swapaxes(Linv, 1, 2) @ Linv @ T.T)
        singular, reason = _boundary(theta, tmap, tau)
        return cls(
            formula=design.formula.text,
            reml=reml,
            fixed=fixed,
            vcov=pd.DataFrame(vcov, index=fixed.index, columns=fixed.index),
            tau=tau,
            sigma2=float(sigma2),
            theta=theta.copy(),
            deviance=float(pls.deviance),
            n_obs=n,
            n_groups=len(design.groups),
            n_dropped=design.n_dropped,
            converged=converged,
            singular=singular,
            boundary_reason=reason,
            group=design.formula.group,
            n_iter=int(getattr(opt, "nit", -1)),
            _design=design,
            _b=b,
            _b_cov=b_cov,
            _n_j=stats.n_j,
            _ZtZ=np.moveaxis(stats.ZtZ, -1, 0),
        )

    # -- summary numbers --------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects, theta, and sigma^2."""
        return len(self.fixed) + len(self.theta) + 1

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        return self.deviance + 2 * self.n_params

    @property
    def bic(self) -> float:
        return self.deviance + np.log(self.n_obs) * self.n_params

    @property
    def fixed_formula(self) -> str:
        return self._design.formula.fixed

    @property
    def random_terms(self) -> list[str]:
        return list(self.tau.index)

    def correlations(self) -> pd.DataFrame:
        """Correlation matrix of the random effects (NaN where a variance is zero)."""
        sd = np.sqrt(np.diag(self.tau.to_numpy()))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.tau.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.tau.index, columns=self.tau.columns)

    # -- group-level quantities -------------------------------------------------------
    def ranef(self) -> pd.DataFrame:
        """Conditional modes of the random effects (empirical Bayes estimates) per group."""
        return pd.DataFrame(self._b.copy(), index=self._design.groups, columns=self.tau.index)

    def ranef_sd(self) -> pd.DataFrame:
        """Conditional standard deviations of the random effects (lme4's condVar)."""
        sd = np.sqrt(np.clip(np.diagonal(self._b_cov, axis1=1, axis2=2), 0, None))
        return pd.DataFrame(sd, index=self._design.groups, columns=self.tau.index)

    def coef(self) -> pd.DataFrame:
        """Group-specific coefficients: the fixed effects plus each group's random effects."""
        out = pd.DataFrame(
            np.tile(self.fixed["estimate"].to_numpy(), (self.n_groups, 1)),
            index=self._design.groups,
            columns=self.fixed.index,
        )
        ranef = self.ranef()
        for term in ranef.columns:
            if term in out.columns:
                out[term] += ranef[term]
            else:
                out[term] = ranef[term]
        return out

    def group_sizes(self) -> pd.Series:
        return pd.Series(self._n_j, index=self._design.groups, name="n")

    def reliability(self) -> pd.DataFrame:
        """Reliability of each group's own OLS estimate of each random coefficient.

        For a random intercept alone: ``tau_00 / (tau_00 + sigma^2 / n_j)``. In
        general, per random term k: ``tau_kk / (tau_kk + sigma^2 [(Z_j'Z_j)^-1]_kk)``.
        NaN where the group's own estimate does not exist (Z_j'Z_j singular, e.g.
        a random slope in a group of one).
        """
        q = self._ZtZ.shape[1]
        diag_inv = np.full((self.n_groups, q), np.nan)
        ok = invertible(self._ZtZ)
        if ok.any():
            diag_inv[ok] = np.diagonal(np.linalg.inv(self._ZtZ[ok]), axis1=1, axis2=2)
        tau = np.diag(self.tau.to_numpy())
        rel = tau / (tau + self.sigma2 * diag_inv)
        return pd.DataFrame(rel, index=self._design.groups, columns=self.tau.index)

    # -- row-level quantities ---------------------------------------------------------
    def fitted(self) -> pd.Series:
        """Fitted values X beta + Z b_j, in the rows of the data that were used."""
        d = self._design
        values = d.X @ self.fixed["estimate"].to_numpy() + np.einsum(
            "nq,nq->n", d.Z, self._b[d.codes]
        )
        return pd.Series(values, index=d.row_index, name="fitted")

    def residuals(self) -> pd.Series:
        """Level-1 residuals y - fitted."""
        return pd.Series(self._design.y, index=self._design.row_index) - self.fitted()

    def predict(
        self, newdata: pd.DataFrame | None = None, include_random: bool = True
    ) -> pd.Series:
        """Predictions for newdata (default: the fitted data).

        With ``include_random=True`` a row of a group seen in the fit gets that
        group's random effects; a group not seen in the fit gets none (its
        prediction is the fixed part), with a warning that names how many rows.
        """
        d = self._design
        if newdata is None:
            if include_random:
                return self.fitted().rename("predicted")
            return pd.Series(
                d.X @ self.fixed["estimate"].to_numpy(), index=d.row_index, name="predicted"
            )
        needed = set()
        rhs = d.fixed_spec.formula
        needed |= set(rhs.required_variables)
        if include_random:
            needed.add(self.group)
            for spec in d.random_specs:
                needed |= set(spec.formula.required_variables)
        check_frame(newdata, needed, "the model (for prediction)")
        nas = newdata[sorted(needed)].isna().sum()
        if nas.any():
            listing = ", ".join(f"{c!r} ({k} missing)" for c, k in nas[nas > 0].items())
            raise ValueError(f"Missing values in newdata: {listing}; predictions need them.")
        X = _to_float(d.fixed_spec.get_model_matrix(newdata), "newdata's fixed design")
        pred = X @ self.fixed["estimate"].to_numpy()
        if include_random:
            Z = np.hstack(
                [
                    _to_float(s.get_model_matrix(newdata), "newdata's random design")
                    for s in d.random_specs
                ]
            )
            pos = d.groups.get_indexer(newdata[self.group])
            known = pos >= 0
            if (~known).any():
                warnings.warn(
                    f"{int((~known).sum())} row(s) of newdata belong to groups not in the fit; "
                    "their random effects are set to 0 (the population average).",
                    UserWarning,
                    stacklevel=2,
                )
            b = np.zeros((len(newdata), Z.shape[1]))
            b[known] = self._b[pos[known]]
            pred = pred + np.einsum("nq,nq->n", Z, b)
        return pd.Series(pred, index=newdata.index, name="predicted")

    # -- presentation -----------------------------------------------------------------
    def random_part(self) -> pd.DataFrame:
        """Variance components in Hox's notation: sigma2_e, sigma2_u0, sigma_u01, ..."""
        tau = self.tau.to_numpy()
        names = list(self.tau.index)
        rows = [("sigma2_e", "Residual", "", self.sigma2)]
        for i, a in enumerate(names):
            rows.append((f"sigma2_u{i}", self.group, a, tau[i, i]))
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if self.theta_is_free(i, j):
                    rows.append(
                        (f"sigma_u{i}{j}", self.group, f"{names[i]}, {names[j]}", tau[i, j])
                    )
        return pd.DataFrame(rows, columns=["parameter", "level", "term", "estimate"]).set_index(
            "parameter"
        )

    def theta_is_free(self, i: int, j: int) -> bool:
        """Whether the covariance of random terms i and j is estimated (not fixed at 0)."""
        for start, size, independent in self._design.blocks:
            if start <= i < start + size and start <= j < start + size:
                return not independent
        return False

    def summary(self) -> pd.DataFrame:
        """A compact table in Hox's layout: fixed part, random part, deviance."""
        rows = []
        for term, r in self.fixed.iterrows():
            rows.append(("Fixed part", term, r["estimate"], r["std_error"]))
        for par, r in self.random_part().iterrows():
            label = par if not r["term"] else f"{par} ({r['term']})"
            rows.append(("Random part", label, r["estimate"], np.nan))
        crit = "REML criterion" if self.reml else "Deviance (-2 log L)"
        rows.append(("Model fit", crit, self.deviance, np.nan))
        rows.append(("Model fit", "AIC", self.aic, np.nan))
        rows.append(("Model fit", "BIC", self.bic, np.nan))
        table = pd.DataFrame(rows, columns=["part", "term", "estimate", "std_error"])
        return table.set_index(["part", "term"])

    def _header(self) -> str:
        method = "REML" if self.reml else "ML"
        flags = []
        if self.singular:
            flags.append(f"singular fit: {self.boundary_reason}")
        if not self.converged:
            flags.append("NOT CONVERGED")
        if self.n_dropped:
            flags.append(f"{self.n_dropped} rows dropped for missing values")
        extra = f" [{'; '.join(flags)}]" if flags else ""
        return (
            f"Linear mixed model fit by {method}: {self.formula}\n"
            f"{self.n_obs} observations in {self.n_groups} groups of {self.group!r}{extra}"
        )

    def __repr__(self) -> str:
        with pd.option_context("display.float_format", "{:.4f}".format):
            return f"{self._header()}\n\n{self.summary().to_string(na_rep='')}"

    def _repr_html_(self) -> str:
        import html

        table = self.summary().to_html(na_rep="", float_format="{:.4f}".format)
        return f"<p><b>{html.escape(self._header()).replace(chr(10), '<br>')}</b></p>{table}"


def invertible(M: np.ndarray) -> np.ndarray:
    """Which of the stacked square matrices M[j] are (numerically) invertible."""
    d = np.linalg.det(M)
    scale = np.prod(np.diagonal(M, axis1=1, axis2=2), axis=1)
    return np.abs(d) > 1e-10 * np.maximum(scale, 1e-300)


def _boundary(theta, tmap: _ThetaMap, tau: pd.DataFrame) -> tuple[bool, str]:
    """lme4's isSingular: a diagonal element of theta within SINGULAR_TOL of zero."""
    reasons = []
    diag = tmap.rows == tmap.cols
    names = list(tau.index)
    for k in np.flatnonzero(diag & (np.abs(theta) < SINGULAR_TOL)):
        col = tmap.cols[k]
        # A zero diagonal of T means the variance of that term is zero, or, for a
        # later term, that it is perfectly correlated with earlier ones.
        var = tau.iloc[col, col]
        if var < 1e-10 * max(1.0, float(np.max(np.diag(tau.to_numpy())))):
            reasons.append(f"variance of {names[col]!r} is zero")
        else:
            reasons.append(
                f"the random effect of {names[col]!r} is a linear combination of the other "
                "random effects (correlations at +/-1; a singular covariance matrix)"
            )
    return bool(reasons), "; ".join(reasons)
