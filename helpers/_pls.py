"""The numerical engine of the linear mixed model (lme4's ``mkLmerDevfun`` + ``optimizeLmer``).

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

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.optimize

from ._design import Design

__all__ = [
    "PLS",
    "SINGULAR_TOL",
    "Stats",
    "ThetaMap",
    "boundary",
    "check_optimum",
    "gradient",
    "objective",
    "optimize",
    "solve_pls",
    "sufficient_stats",
]

SINGULAR_TOL = 1e-4  # lme4's isSingular() default


# -------------------------------------------------------------------- sufficient stats
#
# Per-group arrays keep the group axis last ("structure of arrays"): element (a, b)
# of every group's q x q matrix is one contiguous vector of length J. The small
# factorisations below then loop over the q (and p) indices in Python and do each
# step for all J groups in one vector operation, which is much faster than numpy's
# stacked linear algebra on thousands of 2 x 2 or 3 x 3 matrices.


@dataclass
class Stats:
    ZtZ: np.ndarray  # q x q x J
    ZtX: np.ndarray  # q x p x J
    Zty: np.ndarray  # q x J
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    n: int
    n_j: np.ndarray


def sufficient_stats(d: Design) -> Stats:
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
    return Stats(
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


class ThetaMap:
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
class PLS:
    deviance: float
    beta: np.ndarray
    u: np.ndarray  # q x J spherical random effects
    L: np.ndarray  # q x q x J lower Cholesky factors of T'Z_j'Z_jT + I
    RX: np.ndarray  # p x p lower Cholesky factor of X'V^{-1}X
    r2: float


def solve_pls(theta, stats: Stats, tmap: ThetaMap, reml: bool) -> PLS | None:
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
    return PLS(dev, beta, u, L, RX, r2)


def _batched(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A_j @ B_j for per-group matrices A (q x r x J) and B (r x m x J)."""
    return np.einsum("arj,rmj->amj", A, B)


def gradient(theta, pls: PLS, stats: Stats, tmap: ThetaMap, reml: bool) -> np.ndarray:
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


def objective(stats, tmap, reml):
    """Deviance, and deviance with its gradient, as functions of theta."""

    def fun(theta):
        res = solve_pls(theta, stats, tmap, reml)
        return np.inf if res is None else res.deviance

    def fun_grad(theta):
        res = solve_pls(theta, stats, tmap, reml)
        if res is None:
            return np.inf, np.zeros_like(theta)
        return res.deviance, gradient(theta, res, stats, tmap, reml)

    return fun, fun_grad


def optimize(fun, fun_grad, theta0, tmap):
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
    converged, pg = check_optimum(fun_grad, best.x, tmap)
    return best, converged and bool(np.isfinite(best.fun)), pg


def check_optimum(fun_grad, x, tmap, tol=1e-6):
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


def _reopened(theta, tmap: ThetaMap, k: int, col: int):
    """Starting points with column col of T (zero on its diagonal) opened again."""
    same_col = tmap.cols == col
    unit = theta.copy()
    unit[same_col] = 0.0
    unit[k] = 1.0  # the column as in the identity start
    nudged = theta.copy()
    nudged[k] = 0.5  # the diagonal alone, the rest of the column kept
    return [unit, nudged]


def boundary(theta, tmap: ThetaMap, tau: pd.DataFrame) -> tuple[bool, str]:
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
