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

``theta`` minimises the deviance (lme4 keeps ``theta_ii >= 0``; see
:func:`trust_region` for why the optimiser need not): Newton's method with a
trust region, the exact gradient and Hessian (:func:`derivatives`), from moment
estimates (:func:`moment_start`). A handful of evaluations reach the optimum to
1e-10 in deviance units, and the last Hessian certifies it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._design import Design

__all__ = [
    "PLS",
    "SINGULAR_TOL",
    "Optimum",
    "Stats",
    "ThetaMap",
    "boundary",
    "derivatives",
    "group_pieces",
    "moment_parts",
    "moment_start",
    "optimize",
    "solve_pls",
    "sufficient_stats",
    "trust_region",
    "with_outcome",
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
    Zty, Xty, yty = _outcome_stats(d)
    return Stats(
        ZtZ=ZtZ,
        ZtX=ZtX,
        Zty=Zty,
        XtX=d.X.T @ d.X,
        Xty=Xty,
        yty=yty,
        n=len(d.y),
        n_j=np.bincount(codes, minlength=J),
    )


def _outcome_stats(d: Design) -> tuple[np.ndarray, np.ndarray, float]:
    """The cross-products that involve y: Z_j'y_j (q x J), X'y and y'y."""
    J = len(d.groups)
    Zty = np.stack(
        [np.bincount(d.codes, weights=d.Z[:, a] * d.y, minlength=J) for a in range(d.Z.shape[1])]
    )
    return Zty, d.X.T @ d.y, float(d.y @ d.y)


def with_outcome(stats: Stats, d: Design) -> Stats:
    """The statistics of a design whose outcome changed: only Z'y, X'y and y'y are new."""
    Zty, Xty, yty = _outcome_stats(d)
    return replace(stats, Zty=Zty, Xty=Xty, yty=yty)


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
        self.start = (self.rows == self.cols).astype(float)  # lme4's start: T = I

    def T(self, theta):
        T = np.zeros((self.q, self.q))
        T[self.rows, self.cols] = theta
        return T


# ------------------------------------------------------------------------ the PLS step


@dataclass
class PLS:
    deviance: float
    beta: np.ndarray
    u: np.ndarray  # q x J spherical random effects
    L: np.ndarray  # q x q x J lower Cholesky factors of T'Z_j'Z_jT + I
    RX: np.ndarray  # p x p lower Cholesky factor of X'V^{-1}X
    r2: float
    # pieces the derivatives reuse
    T: np.ndarray
    TtS: np.ndarray  # T' Z_j'Z_j, q x q x J
    cu: np.ndarray  # L_j^-1 T' Z_j'y_j, q x J
    RZX: np.ndarray  # L_j^-1 T' Z_j'X_j, q x p x J
    RXinv: np.ndarray


def solve_pls(theta, stats: Stats, tmap: ThetaMap, reml: bool) -> PLS | None:
    """One evaluation of the profiled deviance: the formulas of the module docstring.

    The per-group steps are vector operations over the J groups (``_chol``,
    ``_forward``); the only LAPACK calls are on the p x p matrix R_X. Small dense
    solves go through numpy rather than ``scipy.linalg``, whose input checks and
    (on a busy machine) threaded BLAS calls cost more than the arithmetic.
    Returns None where the deviance is not finite.
    """
    T = tmap.T(theta)
    q = T.shape[0]
    diag = np.arange(q)
    TtS = np.einsum("ba,bcj->acj", T, stats.ZtZ)
    A = np.einsum("abj,bc->acj", TtS, T)
    A[diag, diag] += 1.0
    L = _chol(A)
    if L is None:
        return None
    cu = _forward(L, np.einsum("ba,bj->aj", T, stats.Zty))
    RZX = _forward(L, np.einsum("ba,bpj->apj", T, stats.ZtX))
    XtVX = stats.XtX - np.einsum("apj,aqj->pq", RZX, RZX)
    try:
        RX = np.linalg.cholesky(XtVX)
    except np.linalg.LinAlgError:
        return None
    RXinv = np.linalg.inv(RX)
    cb = RXinv @ (stats.Xty - np.einsum("apj,aj->p", RZX, cu))
    beta = RXinv.T @ cb
    r2 = stats.yty - float(np.sum(cu**2)) - float(cb @ cb)
    if not r2 > 0:
        return None
    u = _backward(L, cu - np.einsum("p,apj->aj", beta, RZX))
    logdet_L = 2.0 * float(np.sum(np.log(L[diag, diag])))
    n, p = stats.n, len(beta)
    if reml:
        nu = n - p
        logdet_RX = 2.0 * float(np.sum(np.log(np.diag(RX))))
        dev = logdet_L + logdet_RX + nu * (1.0 + np.log(2.0 * np.pi * r2 / nu))
    else:
        dev = logdet_L + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
    return PLS(dev, beta, u, L, RX, r2, T, TtS, cu, RZX, RXinv)


def group_pieces(pls: PLS, stats: Stats):
    """Per group, at the PLS solution: A_j = Z_j'V_j^-1 Z_j (q x q x J), B_j = Z_j'V_j^-1 X_j
    (q x p x J) and a_j = Z_j'V_j^-1 (y_j - X_j beta) (q x J), V_j = I + Z_j T T' Z_j'.

    By Woodbury from the sufficient statistics, with W_j = L_j^-1 T' Z_j'Z_j:
    A_j = Z_j'Z_j - W_j'W_j, B_j = Z_j'X_j - W_j'R_ZXj, a_j = (Z_j'y_j - Z_j'X_j beta)
    - W_j'(c_uj - R_ZXj beta)."""
    W = _forward(pls.L, pls.TtS)
    A = stats.ZtZ - np.einsum("kaj,kbj->abj", W, W)
    B = stats.ZtX - np.einsum("kaj,kpj->apj", W, pls.RZX)
    a = (stats.Zty - np.einsum("p,apj->aj", pls.beta, stats.ZtX)) - np.einsum(
        "kaj,kj->aj", W, pls.cu - np.einsum("p,apj->aj", pls.beta, pls.RZX)
    )
    return A, B, a


def derivatives(pls: PLS, stats: Stats, tmap: ThetaMap, reml: bool):
    """Exact gradient and Hessian of the profiled deviance with respect to theta.

    Write Delta = T T', V_j = I + Z_j Delta Z_j' and, per group,

        A_j = Z_j'V_j^-1 Z_j,   B_j = Z_j'V_j^-1 X_j,   a_j = Z_j'V_j^-1 (y_j - X_j beta),

    C = (X'V^-1 X)^-1, nu = n (ML) or n - p (REML). All three come from the
    sufficient statistics by Woodbury, with W_j = L_j^-1 T' Z_j'Z_j:
    A_j = Z_j'Z_j - W_j'W_j, B_j = Z_j'X_j - W_j'R_ZXj, a_j = (Z_j'y_j - Z_j'X_j beta)
    - W_j'(c_uj - R_ZXj beta). For a change D of Delta (beta and sigma^2 are at
    their profiled optimum, so their own derivatives drop out of the gradient)::

        d'(D) = tr(G D),  G = sum_j A_j - (nu / r^2) sum_j a_j a_j' [- sum_j B_j C B_j']

    and the second derivative along D_s, D_t is

        - sum_j tr(A_j D_s A_j D_t)
        - nu (rho_st / r^2 + rho_s rho_t / r^4)        rho_t = sum_j a_j' D_t a_j
        [ - tr(C K_s C K_t) + 2 sum_j tr(C B_j' D_s A_j D_t B_j) ]   (REML)

    with K_t = sum_j B_j' D_t B_j, rho_st = 2 sum_j (da_j/ds)' D_t a_j,
    da_j/ds = -A_j D_s a_j - B_j dbeta_s, dbeta_s = -C sum_j B_j' D_s a_j.
    theta enters through Delta = T T': dDelta/dtheta_k = E_k T' + T E_k' (E_k the
    unit matrix at theta_k's place in T) and d2Delta/dtheta_k dtheta_l =
    E_k E_l' + E_l E_k', which adds 2 G[r_k, r_l] where theta_k and theta_l sit in
    the same column of T.
    """
    T = pls.T
    n, p = stats.n, len(pls.beta)
    nu = n - p if reml else n
    A, B, a = group_pieces(pls, stats)
    C = pls.RXinv.T @ pls.RXinv
    G = A.sum(axis=2) - (nu / pls.r2) * (a @ a.T)
    if reml:
        Q = np.einsum("apj,pr,brj->abj", B, C, B)  # B_j C B_j'
        G -= Q.sum(axis=2)
    rows, cols = tmap.rows, tmap.cols
    grad = 2.0 * (G @ T)[rows, cols]

    m, q = len(rows), T.shape[0]
    D = np.zeros((m, q, q))  # dDelta / dtheta_k
    D[np.arange(m), rows, :] += T[:, cols].T
    D[np.arange(m), :, rows] += T[:, cols].T
    AD = np.einsum("abj,kbc->kacj", A, D)
    Da = np.einsum("kab,bj->kaj", D, a)
    rho = np.einsum("kaj,aj->k", Da, a)
    dbeta = -np.einsum("arj,kaj->kr", B, Da) @ C
    da = -np.einsum("abj,kbj->kaj", A, Da) - np.einsum("apj,kp->kaj", B, dbeta)
    H = -nu * (2.0 * np.einsum("saj,taj->st", da, Da) / pls.r2 + np.outer(rho, rho) / pls.r2**2)
    if reml:
        # - tr(C K_s C K_t) and + 2 sum_j tr(C B_j' D_s A_j D_t B_j) = 2 sum_j tr(Q_j D_s A_j D_t)
        CK = C @ np.einsum("arj,kasj->krs", B, np.einsum("kab,bpj->kapj", D, B))
        H -= np.einsum("kps,lsp->kl", CK, CK)
        A = A - 2.0 * Q
    H -= np.einsum("kabj,lbaj->kl", np.einsum("abj,kbc->kacj", A, D), AD)
    H += 2.0 * np.where(cols[:, None] == cols[None, :], G[rows[:, None], rows[None, :]], 0.0)
    return grad, 0.5 * (H + H.T)


# ------------------------------------------------------------------------ the optimiser


@dataclass
class Optimum:
    theta: np.ndarray
    pls: PLS
    converged: bool
    n_evals: int  # PLS evaluations (deviance, gradient and Hessian at one theta)
    n_iter: int
    decrement: float  # how much the local quadratic model says the deviance can still fall
    message: str


def _trust_step(g, H, radius):
    """Minimise g'd + d'Hd/2 over |d| <= radius (More & Sorensen; H is only m x m).

    With H positive definite and the Newton step inside the region, that is the
    Newton step. Otherwise d = -(H + mu I)^-1 g with mu >= max(0, -lambda_min)
    chosen so that |d| = radius (bisection on mu in H's eigenbasis); when g has no
    component along the most negative curvature (the "hard case", e.g. at a
    saddle point of a symmetric deviance), that direction is added to reach the
    boundary of the region. Returns the step and H's eigenvalues (ascending).
    """
    lam, V = np.linalg.eigh(H)
    c = V.T @ g
    if lam[0] > 0:
        d = -V @ (c / lam)
        if d @ d <= radius**2:
            return d, lam
    eps = 1e-12 * max(1.0, float(np.abs(lam).max()))
    lo = max(0.0, -lam[0]) + eps
    if np.linalg.norm(c / (lam + lo)) <= radius:  # hard case
        d = -V @ (c / (lam + lo))
        return d + np.sqrt(max(radius**2 - d @ d, 0.0)) * V[:, 0], lam
    hi = lo + np.linalg.norm(g) / radius
    for _ in range(200):
        mu = 0.5 * (lo + hi)
        if np.linalg.norm(c / (lam + mu)) > radius:
            lo = mu
        else:
            hi = mu
        if hi - lo <= 1e-10 * hi:
            break
    return -V @ (c / (lam + hi)), lam


def trust_region(theta0, stats, tmap, reml, tol=1e-10, max_iter=200) -> Optimum:
    """Newton's method with a trust region and the exact Hessian, theta unconstrained.

    The deviance depends on theta only through T T', which does not change when a
    column of T changes sign; the bounds theta_ii >= 0 therefore need not be
    imposed while optimising: any minimum found is one with non-negative
    diagonal after flipping the signs of columns (done at the end). A minimum
    with a diagonal element at zero (a singular fit) is then an ordinary
    interior point of a function symmetric about it, and Newton's method
    converges to it as fast as to any other.

    Stops when the quadratic model promises a decrease below ``tol`` (deviance
    units: 1e-10 of -2 log-likelihood) and the Hessian has no negative curvature:
    the certificate of the optimum, computed from the same Hessian.
    """
    x = np.array(theta0, dtype=float)
    pls = solve_pls(x, stats, tmap, reml)
    n_evals = 1
    if pls is None:
        raise ValueError(
            "The profiled deviance is not finite at the starting values: the fixed part "
            "fits the outcome exactly (no residual variation is left to estimate)."
        )
    g, H = derivatives(pls, stats, tmap, reml)
    radius = 1.0
    decrement = np.inf
    for it in range(max_iter):
        d, lam = _trust_step(g, H, radius)
        decrement = -(g @ d + 0.5 * d @ H @ d)
        if decrement < tol and lam[0] > -1e-8 * max(1.0, lam[-1]):
            return _finish(x, pls, stats, tmap, reml, True, n_evals, it, decrement, "converged")
        trial = solve_pls(x + d, stats, tmap, reml)
        n_evals += 1
        step = np.linalg.norm(d)
        actual = -np.inf if trial is None else pls.deviance - trial.deviance
        noise = 1e-13 * abs(pls.deviance)  # rounding in the deviance itself
        ratio = actual / decrement
        if ratio < 0.25:
            radius = 0.25 * step
        elif ratio > 0.75 and step > 0.99 * radius:
            radius *= 2.0
        if ratio > 1e-4 or (trial is not None and actual > -noise and decrement < 1e-6):
            x, pls = x + d, trial
            g, H = derivatives(pls, stats, tmap, reml)
        elif radius < 1e-12:
            break
    converged = decrement < 1e-6  # stalled, but close: as the old check's tolerance
    msg = "converged (step too small)" if converged else "no convergence"
    return _finish(x, pls, stats, tmap, reml, converged, n_evals, it, decrement, msg)


def _finish(x, pls, stats, tmap, reml, converged, n_evals, n_iter, decrement, message):
    """Flip columns of T with a negative diagonal (the same T T') and recompute the PLS."""
    flip = np.zeros(tmap.q, dtype=bool)
    diag = tmap.rows == tmap.cols
    flip[tmap.cols[diag]] = x[diag] < 0
    if flip.any():
        x = np.where(flip[tmap.cols], -x, x)
        pls = solve_pls(x, stats, tmap, reml)
    return Optimum(x, pls, converged, n_evals, n_iter, float(decrement), message)


def optimize(stats, tmap, reml, theta0) -> Optimum:
    """Minimise the profiled deviance over theta, then rule out a false boundary optimum.

    A diagonal element of T at zero (a singular fit) may be a genuine boundary
    optimum, or a local one: the same covariance can sometimes be reached with
    the zero moved to another column. Only then, probe: re-open the zero diagonal
    at a few distances, and re-open its whole column as in the identity start;
    a probe with a lower deviance than the optimum starts a new run, and the
    best optimum is kept. An interior optimum costs no extra evaluation.
    """
    best = trust_region(theta0, stats, tmap, reml)
    n_evals = best.n_evals
    diag = np.flatnonzero(tmap.rows == tmap.cols)
    for _ in range(5):
        zero = [k for k in diag if best.theta[k] <= SINGULAR_TOL]
        probes = []
        for k in zero:
            for step in (0.1, 0.3, 1.0):
                x = best.theta.copy()
                x[k] = step
                probes.append(x)
            x = np.where(tmap.cols == tmap.cols[k], 0.0, best.theta)
            x[k] = 1.0
            probes.append(x)
        improved = False
        for x in probes:
            trial = solve_pls(x, stats, tmap, reml)
            n_evals += 1
            if trial is None or trial.deviance >= best.pls.deviance - 1e-10:
                continue
            res = trust_region(x, stats, tmap, reml)
            n_evals += res.n_evals
            if res.pls.deviance < best.pls.deviance - 1e-8:
                best, improved = res, True
                break
        if not improved:
            break
    return replace(best, n_evals=n_evals)


def moment_parts(stats: Stats, tmap: ThetaMap):
    """What :func:`moment_start` needs that does not depend on the outcome.

    ``(groups with Z_j'Z_j invertible, their inverses, degrees of freedom of the
    pooled residual variance)``, or None when the moment estimates do not exist
    (then the start is lme4's). Computed once, it serves every refit.
    """
    q, p = tmap.q, stats.XtX.shape[0]
    try:
        S = np.moveaxis(stats.ZtZ, -1, 0)  # J x q x q
        ev = np.linalg.eigvalsh(S)
        ok = ev[:, 0] > 1e-8 * np.maximum(ev[:, -1], 1e-300)
        n_ok = int(ok.sum())
        dof = stats.n - p - q * n_ok
        if n_ok < 2 or dof <= 0:
            return None
        return ok, np.linalg.inv(S[ok]), dof
    except np.linalg.LinAlgError:
        return None


def moment_start(stats: Stats, tmap: ThetaMap, parts=None) -> np.ndarray:
    """Starting theta from moment estimates (falls back to lme4's identity start).

    Regress y on X by OLS; regress each group's residuals on its own Z_j (the
    groups where Z_j'Z_j is invertible); the spread of those per-group
    coefficients, less their average sampling covariance sigma^2 (Z_j'Z_j)^-1,
    estimates tau (Swamy's estimator); the pooled within-group residual variance
    estimates sigma^2. theta0 holds the Cholesky factor of tau / sigma^2 (with
    its eigenvalues kept away from zero, so that the start is not on a boundary).
    """
    q = tmap.q
    try:
        if parts is None:
            parts = moment_parts(stats, tmap)
        if parts is None:
            return tmap.start.copy()
        ok, Sinv, dof = parts
        beta = np.linalg.solve(stats.XtX, stats.Xty)
        Zte = (stats.Zty - np.einsum("apj,p->aj", stats.ZtX, beta)).T  # J x q
        b = np.einsum("jab,jb->ja", Sinv, Zte[ok])
        sigma2 = (stats.yty - beta @ stats.Xty - np.sum(b * Zte[ok])) / dof
        b_c = b - b.mean(axis=0)  # the sample covariance of b (np.cov, without its overhead)
        tau = b_c.T @ b_c / (len(b) - 1) - sigma2 * Sinv.mean(axis=0)
        keep = np.zeros((q, q), dtype=bool)
        keep[tmap.rows, tmap.cols] = keep[tmap.cols, tmap.rows] = True
        lam, V = np.linalg.eigh(np.where(keep, tau, 0.0) / sigma2)
        lam = np.maximum(lam, 1e-2 * max(lam[-1], 1.0))
        T0 = np.linalg.cholesky((V * lam) @ V.T)
    except np.linalg.LinAlgError:
        return tmap.start.copy()
    theta0 = T0[tmap.rows, tmap.cols]
    return theta0 if np.all(np.isfinite(theta0)) and sigma2 > 0 else tmap.start.copy()


def boundary(theta, tmap: ThetaMap, tau: np.ndarray, names) -> tuple[bool, str]:
    """lme4's isSingular: a diagonal element of theta within SINGULAR_TOL of zero.

    ``tau`` is the covariance matrix of the random effects, ``names`` its terms."""
    reasons = []
    diag = tmap.rows == tmap.cols
    for k in np.flatnonzero(diag & (np.abs(theta) < SINGULAR_TOL)):
        col = tmap.cols[k]
        # A zero diagonal of T means the variance of that term is zero, or, for a
        # later term, that it is perfectly correlated with earlier ones.
        var = tau[col, col]
        if var < 1e-10 * max(1.0, float(np.max(np.diag(tau)))):
            reasons.append(f"variance of {names[col]!r} is zero")
        else:
            reasons.append(
                f"the random effect of {names[col]!r} is a linear combination of the other "
                "random effects (correlations at +/-1; a singular covariance matrix)"
            )
    return bool(reasons), "; ".join(reasons)
