"""The linear mixed model with several grouping factors: a blocked penalised system.

The criterion is lme4's profiled deviance (Bates, Maechler, Bolker & Walker 2015,
*Journal of Statistical Software* 67(1), sections 3-4), as in :mod:`helpers._pls`;
what changes is how the penalised system is factored. The random effects of all
factors are ``b = Lambda u``, ``Lambda`` block-diagonal with one copy of the
factor's relative factor ``T_k`` per level, and for each theta

    L L' = Lambda' Z'Z Lambda + I

is factored by blocks, as MixedModels.jl does (Bates et al., the ``BlockedSparse``
L of MixedModels.jl). The random effects are ordered by factor, the factor with
the most random effects first (lme4's order: most levels first). Because every
row belongs to one level of a factor, that factor's own block ``Z_1'Z_1`` is
block-diagonal with one q_1 x q_1 block per level, so its Cholesky factor ``L_11``
is too and costs O(J_1 q_1^3). The remaining factors (nested ones, which have
fewer levels, or crossed ones) form the second block::

    L_21 = Lambda_2' Z_2'Z_1 Lambda_1 L_11^-T           (sparse, m x J_1 q_1)
    L_22 L_22' = Lambda_2' Z_2'Z_2 Lambda_2 + I - L_21 L_21'     (dense, m x m)

where m is the number of random effects of the other factors: in a nested model
L_21 L_21' has the nesting's block structure, in a crossed one it fills in, and
putting the largest factor first keeps m, the size of the dense part, small.
The fixed effects and the outcome are the last block, ``[X y]``::

    R_1 = L_11^-1 Lambda_1' Z_1'[X y],   R_2 = L_22^-1 (Lambda_2' Z_2'[X y] - L_21 R_1)
    [X y]'[X y] - R_1'R_1 - R_2'R_2 = L_X L_X',   L_X = [[R_X, 0], [c_b', r]]

so that ``R_X`` is the Cholesky factor of X'V^-1 X, ``beta = R_X^-T c_b`` and r^2
the penalised residual sum of squares; the deviance is that of :mod:`helpers._pls`
with ``log|L|^2 = 2 sum log diag L_11 + 2 sum log diag L_22``.

When the first factor is scalar (q_1 = 1), L_11 = diag(l_j) depends on theta only
through the weights t^2 / l_j^2, and Z_2'Z_1 W Z_1'Z_2 (lower triangle) is one sparse
matrix-vector product K w, K holding the products of every pair of rows of Z_2'Z_1
that share a level of the first factor (its structure found once); when the other
factors are nested in it that product and L_22 are diagonal. The dense L_22 is
LAPACK's potrf on the lower triangle, in place; the gradient's inverse is its
potri, also in place.

theta (each factor's T_k, lme4's order) minimises the deviance subject to
``theta_ii >= 0``. When every factor is scalar (random intercepts, nested or
crossed) the deviance comes with its exact gradient
(:meth:`BlockedModel.deviance_and_gradient`); the search starts from moment
estimates (:meth:`BlockedModel.moment_start`, Henderson's method I) with BFGS whose
first Hessian is the forward difference of that gradient, and ends with Newton
steps whose Hessian is recomputed the same way at the point reached. Otherwise
L-BFGS-B from lme4's start (T_k = I) with differences of deviances, polished with
central differences of the deviance. The last gradient and Hessian are the
convergence certificate: the decrease the quadratic model still promises (below
1e-7 deviance units), positive curvature, and a deviance that rises off any
parameter at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize
import scipy.sparse as sp

from ._pls import SINGULAR_TOL, ThetaMap

__all__ = ["BlockedModel", "BlockedPLS", "BlockedOptimum", "optimize_blocked"]


_SMALL = 400  # below this size dense steps go through numpy (no threaded BLAS waits)


def _cholesky(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor (raises numpy's LinAlgError if S is not positive definite)."""
    if S.shape[0] <= _SMALL:
        return np.linalg.cholesky(S)
    return scipy.linalg.cholesky(S, lower=True, check_finite=False)


def _lower_solve(L: np.ndarray, B: np.ndarray, *, transpose: bool = False) -> np.ndarray:
    """L^-1 B (or L'^-1 B). Small systems through numpy: on a busy machine
    scipy's triangular solves with a matrix right-hand side wait for BLAS threads."""
    if L.ndim == 1:  # a diagonal factor, stored as its diagonal
        return B / (L[:, None] if B.ndim == 2 else L)
    A = L.T if transpose else L
    if L.shape[0] <= _SMALL:
        return np.linalg.solve(A, B)
    return scipy.linalg.solve_triangular(A, B, lower=not transpose, check_finite=False)


def _cholesky_lower(S: np.ndarray) -> np.ndarray | None:
    """The lower Cholesky factor of S from its lower triangle, S overwritten (None if S
    is not positive definite). S (C order) is passed to LAPACK as its transpose, which
    is in Fortran order: no copy."""
    if S.shape[0] <= _SMALL:
        try:
            return np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return None
    U, info = scipy.linalg.lapack.dpotrf(S.T, lower=0, clean=1, overwrite_a=1)
    return U.T if info == 0 else None


def _inverse_from_cholesky(L: np.ndarray) -> np.ndarray | None:
    """(L L')^-1 in the lower triangle (upper: 0) from the lower factor L, which is
    overwritten (LAPACK's potri on the Fortran-order transpose)."""
    G, info = scipy.linalg.lapack.dpotri(L.T, lower=0, overwrite_c=1)
    return G.T if info == 0 else None


def _block_diag_sparse(blocks: np.ndarray) -> sp.csr_matrix:
    """J stacked q x q blocks (J, q, q) as one sparse block-diagonal matrix."""
    J, q, _ = blocks.shape
    rows = (np.arange(J)[:, None, None] * q + np.arange(q)[None, :, None]).repeat(q, axis=2)
    cols = (np.arange(J)[:, None, None] * q + np.arange(q)[None, None, :]).repeat(q, axis=1)
    return sp.csr_matrix((blocks.ravel(), (rows.ravel(), cols.ravel())), shape=(J * q, J * q))


def _z_sparse(Z: np.ndarray, codes: np.ndarray, J: int) -> sp.csr_matrix:
    """A factor's n x (J q) indicator-expanded random-effects design (level-major columns)."""
    n, q = Z.shape
    rows = np.repeat(np.arange(n), q)
    cols = (codes[:, None] * q + np.arange(q)[None, :]).ravel()
    return sp.csr_matrix((Z.ravel(), (rows, cols)), shape=(n, J * q))


@dataclass
class BlockedPLS:
    deviance: float
    beta: np.ndarray
    u: list  # per factor: J_k x q_k spherical random effects
    RX: np.ndarray  # p x p lower Cholesky factor of X'V^-1 X
    r2: float
    logdet_L: float


class BlockedModel:
    """The cross-products of a design with several factors, and the deviance in theta.

    ``Zs``, ``codes``, ``n_levels``, ``blocks``: per factor, its n x q_k design (internal
    units), its rows' levels, its number of levels and its blocks; the first factor
    is the one whose block is kept block-diagonal.
    """

    def __init__(self, y, X, Zs, codes, n_levels, blocks, reml: bool):
        self.reml = reml
        self.n, self.p = X.shape
        self.qs = [Z.shape[1] for Z in Zs]
        self.Js = list(n_levels)
        self.tmaps = [ThetaMap(b, q) for b, q in zip(blocks, self.qs, strict=True)]
        sizes = [len(t.rows) for t in self.tmaps]
        self.theta_slices = np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])
        self.n_theta = sum(sizes)
        diag = [t.rows == t.cols for t in self.tmaps]
        self.diagonal = np.concatenate(diag)
        Xt = np.column_stack([X, y])
        q1, J1 = self.qs[0], self.Js[0]
        Z1 = _z_sparse(Zs[0], codes[0], J1)
        # Z_1'Z_1 per level, (J1, q1, q1)
        S11 = np.empty((J1, q1, q1))
        for a in range(q1):
            for b in range(a, q1):
                S11[:, a, b] = S11[:, b, a] = np.bincount(
                    codes[0], weights=Zs[0][:, a] * Zs[0][:, b], minlength=J1
                )
        self.S11 = S11
        self.C1X = np.asarray(Z1.T @ Xt).reshape(J1, q1, self.p + 1)
        self.CXX = Xt.T @ Xt
        if len(Zs) > 1:
            Zr = sp.hstack(
                [_z_sparse(Z, c, J) for Z, c, J in zip(Zs[1:], codes[1:], self.Js[1:], strict=True)]
            ).tocsr()
            self.m = Zr.shape[1]
            self.C21 = (Zr.T @ Z1).tocsr()
            self.C22 = (Zr.T @ Zr).toarray()
            self.C2X = np.asarray(Zr.T @ Xt)
            self.scalar_rest = all(q == 1 for q in self.qs[1:])
            if q1 == 1:
                flat, vals, ptr = _column_pairs(self.C21.tocsc())
                m = self.m
                # Nested factors: L21 L21' and Z2'Z2 are diagonal, and so is L22.
                off = np.count_nonzero(self.C22) - np.count_nonzero(np.diag(self.C22))
                self.rest_diagonal = (
                    self.scalar_rest and off == 0 and bool(np.all(flat // m == flat % m))
                )
                # K maps the first factor's diagonal weights w to the lower triangle of
                # C_21 diag(w) C_21' (row a*m + b, a >= b; or row a when it is diagonal):
                # one sparse product per evaluation, its structure found once.
                rows = flat // m if self.rest_diagonal else flat
                shape = (m if self.rest_diagonal else m * m, J1)
                self._K = sp.csc_matrix((vals, rows, ptr), shape=shape).tocsr()
                del flat, vals, ptr, rows
        else:
            self.m = 0

    def canonical(self, theta) -> np.ndarray:
        """The same T T' with a non-negative diagonal: flip the columns of T whose
        diagonal is negative (the deviance depends on T only through T T')."""
        out = np.array(theta, dtype=float)
        for t, s in zip(self.tmaps, self.theta_slices, strict=True):
            th = out[s]
            diag = t.rows == t.cols
            neg = set(t.cols[diag][th[diag] < 0])
            flip = np.array([c in neg for c in t.cols], dtype=bool)
            th[flip] = -th[flip]
            out[s] = th
        return out

    def split(self, theta):
        return [theta[s] for s in self.theta_slices]

    def Ts(self, theta):
        return [t.T(th) for t, th in zip(self.tmaps, self.split(theta), strict=True)]

    def _lam2(self, Ts):
        """Lambda_2: the relative factors of the other factors, one copy per level."""
        return sp.block_diag(
            [sp.kron(sp.identity(J), T) for J, T in zip(self.Js[1:], Ts[1:], strict=True)],
            format="csr",
        )

    def _lam2_vector(self, Ts) -> np.ndarray:
        """diag(Lambda_2) when every other factor is scalar."""
        return np.concatenate(
            [np.full(J, T[0, 0]) for J, T in zip(self.Js[1:], Ts[1:], strict=True)]
        )

    def _solve_scalar_first(self, Ts):
        """solve() when the first factor has one random effect per level (q_1 = 1).

        Then L_11 = diag(l_j), l_j^2 = 1 + t^2 Z_j'Z_j, and L_21 L_21' =
        Lambda_2' C_21 W C_21' Lambda_2 with W = diag(t^2 / l_j^2): the lower triangle
        of C_21 W C_21' is K w (K: the products of the pairs of rows that share a
        column of C_21 = Z_2'Z_1, found once), one sparse matrix-vector product."""
        t1 = Ts[0][0, 0]
        m = self.m
        s11 = self.S11[:, 0, 0]
        l2 = 1.0 + t1 * t1 * s11
        lj = np.sqrt(l2)
        R1f = (t1 / lj)[:, None] * self.C1X[:, 0, :]  # (J1, p+1)
        logdet = float(np.sum(np.log(l2)))
        SXX = self.CXX - R1f.T @ R1f
        CR = self.C21 @ ((t1 / lj)[:, None] * R1f)  # C_21 Lambda_1 L_11^-T R_1
        P = self._K @ (t1 * t1 / l2)  # C_21 W C_21', W = diag(t^2 / l_j^2): lower triangle
        if self.rest_diagonal:
            lam = self._lam2_vector(Ts)
            s22 = (np.diag(self.C22) - P) * lam * lam + 1.0
            if not np.all(s22 > 0):
                return None
            L22 = np.sqrt(s22)
            R2 = (lam[:, None] * (self.C2X - CR)) / L22[:, None]
            SXX -= R2.T @ R2
            logdet += float(np.sum(np.log(s22)))
            return self._finish(SXX, logdet), (lj, R1f, R2, L22)
        P = P.reshape(m, m)
        if self.scalar_rest:
            # Only the lower triangle of S22 is read by the Cholesky factorisation.
            lam = self._lam2_vector(Ts)
            S22 = np.subtract(self.C22, P, out=P)
            S22 *= lam[:, None]
            S22 *= lam
            B = lam[:, None] * (self.C2X - CR)
        else:
            P = P + P.T
            P[np.diag_indices(m)] *= 0.5
            D = self.C22 - P
            Lam2 = self._lam2(Ts)
            S22 = np.asarray(Lam2.T @ np.asarray(Lam2.T @ D).T)
            B = np.asarray(Lam2.T @ (self.C2X - CR))
        S22[np.diag_indices(m)] += 1.0
        L22 = _cholesky_lower(S22)
        if L22 is None:
            return None
        R2 = _lower_solve(L22, B)
        SXX -= R2.T @ R2
        logdet += 2.0 * float(np.sum(np.log(np.diag(L22))))
        return self._finish(SXX, logdet), (lj, R1f, R2, L22)

    def _finish(self, SXX, logdet):
        p, n = self.p, self.n
        try:
            LX = np.linalg.cholesky(SXX)
        except np.linalg.LinAlgError:
            return None
        RX, cb, r = LX[:p, :p], LX[p, :p], LX[p, p]
        r2 = float(r * r)
        if not (r2 > 0 and np.isfinite(logdet)):
            return None
        beta = scipy.linalg.solve_triangular(RX.T, cb, lower=False) if p else np.zeros(0)
        if self.reml:
            nu = n - p
            logdet_RX = 2.0 * float(np.sum(np.log(np.diag(RX)))) if p else 0.0
            dev = logdet + logdet_RX + nu * (1.0 + np.log(2.0 * np.pi * r2 / nu))
        else:
            dev = logdet + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
        return BlockedPLS(float(dev), beta, [], RX, r2, logdet)

    def solve(self, theta) -> BlockedPLS | None:
        """The PLS solution and the profiled deviance at theta (None if not finite)."""
        theta = np.asarray(theta, dtype=float)
        Ts = self.Ts(theta)
        if self.m and self.qs[0] == 1:
            out = self._solve_scalar_first(Ts)
            return None if out is None or out[0] is None else out
        T1 = Ts[0]
        q1, J1, p = self.qs[0], self.Js[0], self.p
        A11 = np.einsum("ba,jbc,cd->jad", T1, self.S11, T1)
        A11 += np.eye(q1)
        try:
            L11 = np.linalg.cholesky(A11)
        except np.linalg.LinAlgError:
            return None
        L11inv = np.linalg.inv(L11)
        R1 = L11inv @ np.einsum("ba,jbc->jac", T1, self.C1X)  # (J1, q1, p+1)
        R1f = R1.reshape(J1 * q1, p + 1)
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(L11, axis1=1, axis2=2))))
        SXX = self.CXX - R1f.T @ R1f
        L22 = L21 = None
        if self.m:
            Lam2 = sp.block_diag(
                [sp.kron(sp.identity(J), T) for J, T in zip(self.Js[1:], Ts[1:], strict=True)],
                format="csr",
            )
            Lam1 = _block_diag_sparse(np.broadcast_to(T1, (J1, q1, q1)))
            L11invT = _block_diag_sparse(np.swapaxes(L11inv, 1, 2))
            L21 = (Lam2.T @ self.C21 @ (Lam1 @ L11invT)).tocsr()
            S22 = np.asarray(Lam2.T @ np.asarray(Lam2.T @ self.C22).T)
            S22 -= (L21 @ L21.T).toarray()
            S22[np.diag_indices_from(S22)] += 1.0
            try:
                L22 = _cholesky(S22)
            except np.linalg.LinAlgError:
                return None
            R2 = _lower_solve(L22, np.asarray(Lam2.T @ self.C2X) - L21 @ R1f)
            SXX -= R2.T @ R2
            logdet += 2.0 * float(np.sum(np.log(np.diag(L22))))
        pls = self._finish(SXX, logdet)
        if pls is None:
            return None
        return pls, (L11, L11inv, R1f, L21, L22)

    def _modes_scalar_first(self, theta):
        Ts = self.Ts(theta)
        pls, (lj, R1f, R2, L22) = self._solve_scalar_first(Ts)
        w = np.append(-pls.beta, 1.0)
        u2 = _lower_solve(L22, R2 @ w, transpose=True)
        lam_u2 = self._lam2_vector(Ts) * u2 if self.scalar_rest else self._lam2(Ts) @ u2
        t1 = Ts[0][0, 0]
        rhs1 = R1f @ w - (t1 / lj) * (self.C21.T @ lam_u2)
        u = [(rhs1 / lj)[:, None]]
        start = 0
        for J, q in zip(self.Js[1:], self.qs[1:], strict=True):
            u.append(u2[start : start + J * q].reshape(J, q))
            start += J * q
        pls.u = u
        return pls

    @property
    def scalar(self) -> bool:
        """Every factor has one random effect per level (the exact gradient's case)."""
        return bool(self.m) and all(q == 1 for q in self.qs)

    def deviance_and_gradient(self, theta):
        """The deviance and its exact gradient when every factor is scalar.

        With Lambda = sum_k theta_k E_k (E_k selects factor k), M = Lambda Z'Z Lambda + I
        and Lambda Z'Z E_k = (M - I) E_k / theta_k, the derivatives of the three terms
        of the profiled deviance are, for theta_k > 0,

            d log|M|           = 2 (J_k - tr(M^-1 E_k)) / theta_k
            d r^2              = -2 |u_k|^2 / theta_k         (Lambda Z' res = u)
            d log|X'V^-1 X|    = -2 tr(C Y_k'Y_k) / theta_k    (REML)

        with C = (X'V^-1 X)^-1 and Y = M^-1 Lambda Z'X = L'^-1 R_ZX. The diagonal of
        M^-1 comes from G = L_22'^-1 L_22^-1: (M^-1)_jj = (1 + l_j' G l_j) / l_11j^2 for a
        level j of the first factor (l_j: column j of L_21; summed over j, the sum of
        G's entries weighted by the K product the deviance uses, with weights 1 / l^4)
        and G's diagonal for the others. A parameter at 0
        gets a one-sided difference instead.
        """
        Ts = self.Ts(theta)
        out = self._solve_scalar_first(Ts)
        if out is None or out[0] is None:
            return np.inf, np.zeros_like(theta)
        pls, (lj, R1f, R2, L22) = out
        p, n = self.p, self.n
        t1 = Ts[0][0, 0]
        l2 = lj * lj
        lam = self._lam2_vector(Ts)
        w = np.append(-pls.beta, 1.0)
        u2 = _lower_solve(L22, R2 @ w, transpose=True)
        L21t = lambda v: (t1 / lj) * (self.C21.T @ (lam * v))  # noqa: E731  L_21' v
        u1 = (R1f @ w - L21t(u2)) / lj
        # sum_j (M^-1)_jj over the first factor = sum_j (1 + t^2 c_j' Lam G Lam c_j / l_j^2) / l_j^2
        # with G = (L22 L22')^-1 and c_j column j of C_21: the quadratic forms summed are
        # t^2 sum_ab Lam_a Lam_b G_ab Q_ab with Q = C_21 diag(1 / l^4) C_21' (K again).
        Q = self._K @ (1.0 / (l2 * l2))
        if L22.ndim == 1:  # nested: G is diagonal
            dG = 1.0 / L22**2
            quad = float((dG * lam * lam) @ Q)
        else:
            if self.reml and p:
                Y2 = _lower_solve(L22, R2[:, :p], transpose=True)
            G = _inverse_from_cholesky(L22)  # overwrites L22; lower triangle of G
            if G is None:
                return np.inf, np.zeros_like(theta)
            dG = np.diag(G).copy()
            GQ = np.multiply(G, Q.reshape(G.shape), out=G)  # Q's upper triangle is 0
            quad = 2.0 * float(lam @ GQ @ lam) - float(np.sum(np.diag(GQ) * lam * lam))
        diag_inv = [float(np.sum(1.0 / l2)) + t1 * t1 * quad]
        sizes = self.Js[1:]
        bounds = np.cumsum([0, *sizes])
        diag_inv += [float(dG[bounds[i] : bounds[i + 1]].sum()) for i in range(len(sizes))]
        usq = [float(u1 @ u1)] + [
            float(u2[bounds[i] : bounds[i + 1]] @ u2[bounds[i] : bounds[i + 1]])
            for i in range(len(sizes))
        ]
        nu = n - p if self.reml else n
        term = [0.0] * len(self.Js)
        if self.reml and p:
            RXinv = np.linalg.inv(pls.RX)
            if L22.ndim == 1:
                Y2 = _lower_solve(L22, R2[:, :p], transpose=True)
            Y1 = (R1f[:, :p] - (t1 / lj)[:, None] * (self.C21.T @ (lam[:, None] * Y2))) / lj[
                :, None
            ]
            W1, W2 = Y1 @ RXinv.T, Y2 @ RXinv.T
            term[0] = float(np.sum(W1 * W1))
            for i in range(len(sizes)):
                blk = W2[bounds[i] : bounds[i + 1]]
                term[i + 1] = float(np.sum(blk * blk))
        theta = np.asarray(theta, dtype=float)
        grad = np.empty(len(theta))
        for k, th in enumerate(theta):
            if abs(th) < 1e-6:
                h = 1e-6
                e = np.zeros_like(theta)
                e[k] = h
                grad[k] = (self.deviance(theta + e) - pls.deviance) / h
                continue
            J = self.Js[k]
            grad[k] = (2.0 * (J - diag_inv[k]) - 2.0 * term[k] - 2.0 * nu * usq[k] / pls.r2) / th
        return pls.deviance, grad

    def moment_start(self) -> np.ndarray | None:
        """Starting theta for scalar factors from moment estimates (None if they fail).

        Henderson's method I on the residuals e of the OLS fit: for each factor k the
        between-level sum of squares SSB_k = sum_j (Z_kj'e)^2 / Z_kj'Z_kj has, to first
        order, the expectation (J_k - 1) sigma^2 + sum_l a_kl sigma_l^2 with
        a_kk = N_k - sum_j n_kj^2 / N_k and, for another factor l,
        a_kl = sum_jm n_kj,lm^2 / n_kj - sum_m n_lm^2 / N_l (n: the cross-products
        Z'Z, counts for random intercepts; N: their sums), and e'e has
        (n - p) sigma^2 + sum_l a_ll sigma_l^2. Equating the sums of squares to their
        expectations gives sigma^2 and every sigma_k^2 (exact REML for a balanced
        crossed or nested design); theta_k = sigma_k / sigma, at least 0.05 (not on
        the boundary). Costs O(n + nnz(Z_2'Z_1) + m^2), once.
        """
        if not self.scalar:
            return None
        p, n, K = self.p, self.n, len(self.Js)
        try:
            CXX = self.CXX
            beta = np.linalg.solve(CXX[:p, :p], CXX[:p, p]) if p else np.zeros(0)
            w = np.append(-beta, 1.0)
            ee = float(w @ CXX @ w)
            bounds = np.cumsum([0, *self.Js[1:]])
            d22, r2 = np.diag(self.C22), self.C2X @ w
            nj = [self.S11[:, 0, 0]] + [d22[bounds[i] : bounds[i + 1]] for i in range(K - 1)]
            rj = [self.C1X[:, 0, :] @ w] + [r2[bounds[i] : bounds[i + 1]] for i in range(K - 1)]
            tot = [float(v.sum()) for v in nj]
            own = [float(np.sum(v * v)) / t for v, t in zip(nj, tot, strict=True)]
            A, rhs = np.zeros((K + 1, K + 1)), np.zeros(K + 1)
            for k in range(K):
                ok = nj[k] > 0
                rhs[k] = float(np.sum(rj[k][ok] ** 2 / nj[k][ok]))
                A[k, 0] = ok.sum() - 1
                A[k, 1:] = -np.array(own)
                A[k, k + 1] = tot[k] - own[k]
            C21 = self.C21.tocoo()
            which = np.searchsorted(bounds, C21.row, side="right") - 1
            safe = [np.where(v > 0, v, 1.0) for v in nj]
            for o in range(1, K):
                sel = which == o - 1
                d2 = C21.data[sel] ** 2
                A[0, o + 1] += float(np.sum(d2 / safe[0][C21.col[sel]]))
                A[o, 1] += float(np.sum(d2 / safe[o][C21.row[sel] - bounds[o - 1]]))
                for k in range(1, K):
                    if k != o:
                        Ckl = self.C22[bounds[k - 1] : bounds[k], bounds[o - 1] : bounds[o]]
                        A[k, o + 1] += float(np.sum(Ckl**2 / safe[k][:, None]))
            rhs[K], A[K, 0] = ee, n - p
            A[K, 1:] = np.array(tot) - np.array(own)
            sol = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            return None
        s2 = ee / (n - p)
        sigma2 = max(sol[0], 0.05 * s2)
        theta = np.maximum(np.sqrt(np.maximum(sol[1:], 0.0) / sigma2), 0.05)
        return theta if np.all(np.isfinite(theta)) and s2 > 0 else None

    def deviance(self, theta) -> float:
        out = self.solve(theta)
        return np.inf if out is None else out[0].deviance

    def modes(self, theta):
        """The PLS solution at theta with the spherical random effects u of every factor."""
        if self.m and self.qs[0] == 1:
            return self._modes_scalar_first(theta)
        pls, (_L11, L11inv, R1f, L21, L22) = self.solve(theta)
        q1, J1 = self.qs[0], self.Js[0]
        w = np.append(-pls.beta, 1.0)  # c_u - R_ZX beta = R [-beta; 1]
        rhs1 = R1f @ w
        u_parts = []
        if self.m:
            R2 = None
            Ts = self.Ts(theta)
            Lam2 = sp.block_diag(
                [sp.kron(sp.identity(J), T) for J, T in zip(self.Js[1:], Ts[1:], strict=True)],
                format="csr",
            )
            R2 = _lower_solve(L22, np.asarray(Lam2.T @ self.C2X) - L21 @ R1f)
            u2 = _lower_solve(L22, R2 @ w, transpose=True)
            rhs1 = rhs1 - L21.T @ u2
        u1 = np.einsum("jba,jb->ja", L11inv, rhs1.reshape(J1, q1))  # L11^-T per level
        u_parts.append(u1)
        if self.m:
            start = 0
            for J, q in zip(self.Js[1:], self.qs[1:], strict=True):
                u_parts.append(u2[start : start + J * q].reshape(J, q))
                start += J * q
        pls.u = u_parts
        return pls


def _column_pairs(C: sp.csc_matrix):
    """Every pair of rows (a >= b) that share a column j of C, column by column:
    flat index a*m + b, C[a, j] C[b, j], and the column pointer (the pairs of
    column j are entries ptr[j]:ptr[j+1]) -- what the products C W C' need for any
    diagonal W. Columns with the same number k of entries are done together."""
    m = C.shape[0]
    C = C.sorted_indices()
    ptr, idx, val = C.indptr, C.indices, C.data
    k = np.diff(ptr)
    tri = k * (k + 1) // 2  # pairs (i >= j) of a column's k entries
    out_ptr = np.concatenate([[0], np.cumsum(tri)])
    dtype = np.int32 if m * m < 2**31 else np.int64
    flat = np.empty(int(out_ptr[-1]), dtype=dtype)
    prod = np.empty(len(flat))
    for kk in np.unique(k[k > 0]):
        cols = np.flatnonzero(k == kk)
        i, j = np.tril_indices(kk)  # idx is sorted within a column: idx[a] >= idx[b]
        a, b = ptr[cols][:, None] + i, ptr[cols][:, None] + j
        pos = out_ptr[cols][:, None] + np.arange(len(i))
        flat[pos] = idx[a].astype(np.int64) * m + idx[b]
        prod[pos] = val[a] * val[b]
    return flat, prod, out_ptr


# ------------------------------------------------------------------------ the optimiser


@dataclass
class BlockedOptimum:
    theta: np.ndarray
    pls: BlockedPLS
    converged: bool
    n_evals: int
    decrement: float  # the decrease the final quadratic model still promises
    message: str


def _fd_derivatives(f, x, free, f0, h):
    """Central-difference gradient and Hessian of f on the free coordinates."""
    k = len(free)
    g, H = np.zeros(k), np.zeros((k, k))
    fp, fm = np.zeros(k), np.zeros(k)
    for a, i in enumerate(free):
        e = np.zeros_like(x)
        e[i] = h[i]
        fp[a], fm[a] = f(x + e), f(x - e)
        g[a] = (fp[a] - fm[a]) / (2 * h[i])
        H[a, a] = (fp[a] - 2 * f0 + fm[a]) / h[i] ** 2
    for a in range(k):
        for b in range(a + 1, k):
            i, j = free[a], free[b]
            e, d = np.zeros_like(x), np.zeros_like(x)
            e[i], d[j] = h[i], h[j]
            val = (f(x + e + d) - f(x + e - d) - f(x - e + d) + f(x - e - d)) / (4 * h[i] * h[j])
            H[a, b] = H[b, a] = val
    return g, H


_NOT_FINITE = (
    "The profiled deviance is not finite at the starting values: the fixed part "
    "fits the outcome exactly (no residual variation is left to estimate)."
)


def optimize_blocked(model: BlockedModel, theta0=None) -> BlockedOptimum:
    """Minimise the profiled deviance over theta (theta_ii >= 0), then certify the optimum."""
    n_evals = [0]

    def f(x):
        n_evals[0] += 1
        return model.deviance(x)

    if theta0 is None:
        x0 = np.concatenate([t.start for t in model.tmaps])
    else:
        x0 = np.asarray(theta0, dtype=float)
    bounds = [(0.0, None) if d else (None, None) for d in model.diagonal]
    if model.scalar:
        return _optimize_with_gradient(model, x0, bounds, n_evals, theta0 is None)
    if not np.isfinite(f(x0)):
        raise ValueError(_NOT_FINITE)
    res = scipy.optimize.minimize(
        f,
        x0,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 500, "eps": 1e-7},
    )
    x = np.array(res.x, dtype=float)
    # Polish and certify: Newton on the parameters off the bounds, with central
    # differences (a diagonal at 0 is a boundary optimum when moving off it raises
    # the deviance: the deviance is even in it, so it is a minimum there).
    converged, decrement, message = False, np.inf, "no convergence"
    for _ in range(8):
        x = model.canonical(x)
        at_zero = model.diagonal & (x < SINGULAR_TOL)
        x[at_zero] = 0.0
        f0 = f(x)
        h = 1e-4 * np.maximum(np.abs(x), 0.1)
        # A zero diagonal must not be a saddle: the deviance must rise off it.
        rises = all(
            f(np.where(np.arange(len(x)) == i, h[i], x)) >= f0 - 1e-9
            for i in np.flatnonzero(at_zero)
        )
        if len(free := np.flatnonzero(~at_zero)) == 0:
            converged, decrement, message = rises, 0.0, "converged (all at the boundary)"
            break
        g, H = _fd_derivatives(f, x, free, f0, h)
        lam = np.linalg.eigvalsh(H)
        if lam[0] <= 0:
            break
        step = np.linalg.solve(H, g)
        decrement = 0.5 * float(g @ step)
        if decrement < 1e-7 and rises:
            converged, message = True, "converged"
            break
        trial = x.copy()
        trial[free] -= step
        if f(trial) < f0:
            x = trial
        else:
            message = "the Newton polish stalled"
            converged = decrement < 1e-5 and rises
            break
    x = model.canonical(x)
    pls = model.modes(x)
    return BlockedOptimum(x, pls, converged, n_evals[0], float(decrement), message)


def _optimize_with_gradient(model: BlockedModel, x0, bounds, n_evals, moments) -> BlockedOptimum:
    """Scalar factors: quasi-Newton with the exact gradient, then the certificate.

    From the moment estimates (:meth:`BlockedModel.moment_start`; ``x0`` when not
    ``moments`` or when they fail), BFGS whose first Hessian is the forward difference
    of the exact gradient (:func:`_quasi_newton`); then Newton steps on the free
    parameters with that Hessian recomputed at the point reached
    (:func:`_certify`). Every point is evaluated once (deviance and gradient
    together, cached). Should that not converge, L-BFGS-B from ``x0`` (lme4's
    start) and the certificate again; the lower optimum is kept."""
    cache: dict = {}

    def fg(x):
        x = np.ascontiguousarray(x, dtype=float)
        key = x.tobytes()
        if key not in cache:
            n_evals[0] += 1
            cache[key] = model.deviance_and_gradient(x)
        f, g = cache[key]
        return f, g.copy()

    start = model.moment_start() if moments else None
    if start is None or not np.isfinite(fg(start)[0]):
        start = np.asarray(x0, dtype=float)
        if not np.isfinite(fg(start)[0]):
            raise ValueError(_NOT_FINITE)
    x = _quasi_newton(fg, start)
    x, converged, decrement, message = _certify(fg, x)
    if not converged:
        res = scipy.optimize.minimize(
            fg,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-14, "gtol": 1e-7, "maxiter": 500},
        )
        other = _certify(fg, np.array(res.x, dtype=float))
        if other[1] or fg(other[0])[0] < fg(x)[0]:
            x, converged, decrement, message = other
    pls = model.modes(x)
    return BlockedOptimum(x, pls, converged, n_evals[0], float(decrement), message)


def _fd_hessian(fg, x, g, free):
    """Forward differences of the exact gradient on the free coordinates (symmetrised)."""
    H = np.empty((len(free), len(free)))
    for a, i in enumerate(free):
        h = 1e-6 * max(abs(x[i]), 1e-2)
        e = np.zeros_like(x)
        e[i] = h
        H[a] = (fg(x + e)[1][free] - g[free]) / h
    return 0.5 * (H + H.T)


def _quasi_newton(fg, x, tol=1e-9, max_iter=200):
    """BFGS from the forward-difference Hessian at x, with backtracking (Armijo).

    The deviance depends on each scalar theta_k only through theta_k^2, so theta is
    left unconstrained (a minimum at theta_k = 0 is an interior point of an even
    function; signs are dropped afterwards). Stops when the quadratic model promises
    less than ``tol`` deviance units, or when no step lowers the deviance."""
    f, g = fg(x)
    B = _fd_hessian(fg, x, g, np.arange(len(x)))
    for _ in range(max_iter):
        lam, V = np.linalg.eigh(B)
        lam = np.maximum(np.abs(lam), 1e-8 * max(float(np.abs(lam).max()), 1.0))
        d = -V @ ((V.T @ g) / lam)
        slope = float(g @ d)
        if -0.5 * slope < tol:
            break
        a = 1.0
        while True:
            ft, gt = fg(x + a * d)
            if np.isfinite(ft) and ft <= f + 1e-4 * a * slope:
                break
            a *= 0.25
            if a < 1e-8:
                return x
        s, y = a * d, gt - g
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            Bs = B @ s
            B = B - np.outer(Bs, Bs) / float(s @ Bs) + np.outer(y, y) / sy
        x, f, g = x + a * d, ft, gt
    return x


def _certify(fg, x, max_iter=10):
    """Newton steps on the free parameters (those not at zero), with the Hessian from
    forward differences of the exact gradient; the certificate of the optimum: the
    decrease the quadratic model still promises below 1e-7 deviance units, positive
    curvature, and a one-sided derivative off any parameter at zero that is not
    negative. A converged point whose decrement is above 1e-10 takes one more
    Newton step (the last digits of the criterion), certified by the same Hessian,
    now one small step away, without recomputing it.
    Returns ``(theta, converged, decrement, message)``."""
    H, free_H, fresh, polished = None, None, False, False
    converged, decrement, message = False, np.inf, "no convergence"
    for _ in range(max_iter):
        x = np.abs(x)
        x[x < SINGULAR_TOL] = 0.0
        f0, g = fg(x)
        at_zero = x == 0.0
        rises = bool(np.all(g[at_zero] >= -1e-6))
        free = np.flatnonzero(~at_zero)
        if len(free) == 0:
            converged, decrement, message = rises, 0.0, "converged (all at the boundary)"
            break
        if H is None or not np.array_equal(free, free_H):
            H, free_H, fresh = _fd_hessian(fg, x, g, free), free, True
        if np.linalg.eigvalsh(H)[0] <= 0:
            if not fresh:
                H = None
                continue
            converged, message = False, "the Hessian is not positive definite"
            break
        step = np.linalg.solve(H, g[free])
        decrement = 0.5 * float(g[free] @ step)
        converged = decrement < 1e-7 and rises
        if converged:
            message = "converged"
            if decrement < 1e-10 or polished:
                break
        elif not fresh:  # the reused Hessian does not certify: recompute it here
            H = None
            continue
        trial = x.copy()
        trial[free] -= step
        if fg(np.abs(trial))[0] < f0:
            x, fresh, polished = np.abs(trial), False, converged
        else:
            if not converged:
                message = "the Newton polish stalled"
                converged = decrement < 1e-5 and rises
            break
    return x, converged, float(decrement), message
