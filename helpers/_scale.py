"""Internal units: the model is fitted on centred and scaled columns and mapped back exactly.

A fit must not depend on the units of the data: adding 1e7 to the outcome or
measuring a predictor in millionths changes nothing but the numbers' units. The
estimation therefore works on

    y~ = (y - m_y) / s_y,     X~ = (X - 1 m_X') D_X^-1,     Z~ = (Z - 1 m_Z') D_Z^-1,

which is an exact reparametrisation ``X = X~ A``, ``Z = Z~ B`` of the same model,
and every result is mapped back with the algebra of that change of variables::

    beta  = A^-1 (s_y beta~ + m_y e_0)      vcov = s_y^2 A^-1 vcov~ A^-T
    b_j   = s_y B^-1 b~_j                   tau  = s_y^2 B^-1 tau~ B^-T
    sigma2 = s_y^2 sigma2~
    ML deviance   = deviance~ + 2 n log s_y
    REML criterion = criterion~ + 2 (n - p) log s_y + 2 log |det A|

Centring is exact only where a constant column can absorb it: the fixed design's
columns are centred only when it has an intercept (and y too: without an
intercept y may be scaled but not centred); a random-effects column is centred
only inside an unstructured block (``(1 + x | g)``) that holds the intercept. With
``(1 + x || g)``, or without an intercept in the block, the columns are only
scaled (centring would change the model: a zero covariance would no longer be zero).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Units"]


def _constant_column(M: np.ndarray, cols) -> int | None:
    """The first of cols that is a non-zero constant in every row (an intercept)."""
    for k in cols:
        c = M[:, k]
        if c.size and c[0] != 0 and np.all(c == c[0]):
            return k
    return None


def _column_units(M: np.ndarray, cols, centre: bool, skip: int | None):
    """Centre (optionally) and scale of each column in cols (not the intercept column)."""
    m = np.zeros(M.shape[1])
    s = np.ones(M.shape[1])
    for k in cols:
        if k == skip:
            s[k] = M[0, k]
            continue
        c = M[:, k]
        mean = float(np.mean(c)) if centre else 0.0
        scale = float(np.sqrt(np.mean((c - mean) ** 2)))
        if not np.isfinite(scale) or scale == 0.0:
            # A constant column: no centring (it is another intercept; the rank
            # checks name it), scaled by its size.
            mean, scale = 0.0, float(np.max(np.abs(c))) or 1.0
        m[k], s[k] = mean, scale
    return m, s


def _map(m: np.ndarray, s: np.ndarray, intercept: dict[int, int]) -> np.ndarray:
    """A with M = M~ A: A[k, k] = s_k, A[i, k] = m_k for the intercept i of k's block."""
    A = np.diag(s)
    for k, i in intercept.items():
        A[i, k] = m[k]
    return A


def _outcome_units(y: np.ndarray | None, centre: bool) -> tuple[float, float]:
    """Centre and scale of the outcome (centred only when the fixed part has an intercept)."""
    if y is None:
        return 0.0, 1.0
    y_centre = float(np.mean(y)) if centre else 0.0
    y_scale = float(np.sqrt(np.mean((y - y_centre) ** 2)))
    if not np.isfinite(y_scale) or y_scale == 0.0:
        y_scale = 1.0  # a constant outcome is refused before the fit; keep this total
    return y_centre, y_scale


@dataclass(frozen=True)
class Units:
    """How the columns were centred and scaled, and the maps back to the data's units."""

    y_centre: float
    y_scale: float
    x_centre: np.ndarray
    x_scale: np.ndarray
    z_centre: np.ndarray
    z_scale: np.ndarray
    A: np.ndarray  # X = X~ A
    B: np.ndarray  # Z = Z~ B
    x_intercept: int | None  # the fixed design's constant column, if any
    z_intercept: dict[int, int]  # centred random column -> its block's intercept column

    # -- construction -----------------------------------------------------------------
    @classmethod
    def choose(cls, y: np.ndarray | None, X: np.ndarray, Z: np.ndarray, blocks) -> Units:
        """Units for a design; blocks: (first column, size, independent) per random term.

        ``y=None`` (a family that reads its outcome itself) leaves the outcome as it is.
        """
        p = X.shape[1]
        x0 = _constant_column(X, range(p))
        xm, xs = _column_units(X, range(p), centre=x0 is not None, skip=x0)
        x_int = {k: x0 for k in range(p) if x0 is not None and k != x0 and xm[k] != 0.0}
        zm, zs = np.zeros(Z.shape[1]), np.ones(Z.shape[1])
        z_int: dict[int, int] = {}
        for start, size, independent in blocks:
            cols = range(start, start + size)
            z0 = _constant_column(Z, cols)
            centre = z0 is not None and not independent
            bm, bs = _column_units(Z, cols, centre=centre, skip=z0)
            zm[start : start + size], zs[start : start + size] = bm[cols], bs[cols]
            if centre:
                z_int.update({k: z0 for k in cols if k != z0 and zm[k] != 0.0})
        y_centre, y_scale = _outcome_units(y, x0 is not None)
        return cls(
            y_centre=y_centre,
            y_scale=y_scale,
            x_centre=xm,
            x_scale=xs,
            z_centre=zm,
            z_scale=zs,
            A=_map(xm, xs, x_int),
            B=_map(zm, zs, z_int),
            x_intercept=x0,
            z_intercept=z_int,
        )

    def for_outcome(self, y: np.ndarray) -> Units:
        """The same units for X and Z, with the centre and scale of a new outcome y."""
        y_centre, y_scale = _outcome_units(y, self.x_intercept is not None)
        return replace(self, y_centre=y_centre, y_scale=y_scale)

    # -- data into internal units -----------------------------------------------------
    def y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_centre) / self.y_scale

    def X(self, X: np.ndarray) -> np.ndarray:
        """The fixed design in internal units (its intercept column becomes 1)."""
        return (X - self.x_centre) / self.x_scale

    def Z(self, Z: np.ndarray) -> np.ndarray:
        """The random-effects design in internal units."""
        return (Z - self.z_centre) / self.z_scale

    # -- results back into the data's units -------------------------------------------
    def _e0(self) -> np.ndarray:
        e0 = np.zeros(len(self.x_scale))
        if self.x_intercept is not None:
            e0[self.x_intercept] = self.y_centre
        return e0

    def beta(self, beta: np.ndarray) -> np.ndarray:
        if beta.size == 0:
            return beta.copy()
        return np.linalg.solve(self.A, self.y_scale * beta + self._e0())

    def vcov(self, vcov: np.ndarray) -> np.ndarray:
        if vcov.size == 0:
            return vcov.copy()
        Ainv = np.linalg.inv(self.A)
        return self.y_scale**2 * (Ainv @ vcov @ Ainv.T)

    def ranef(self, b: np.ndarray) -> np.ndarray:
        """Conditional modes, J x q (rows b~_j) -> rows s_y B^-1 b~_j."""
        return self.y_scale * np.linalg.solve(self.B, b.T).T

    def random_cov(self, C: np.ndarray) -> np.ndarray:
        """A q x q covariance, or a stack J x q x q of them, in the data's units."""
        Binv = np.linalg.inv(self.B)
        return self.y_scale**2 * (Binv @ C @ Binv.T)

    def relative_factor(self, T: np.ndarray) -> np.ndarray:
        """lme4's lower-triangular relative factor for the data's units.

        T T' = B^-1 T~ T~' B^-T; the lower-triangular factor comes from a QR
        decomposition of (B^-1 T~)', which also works where T T' is singular.
        """
        W = np.linalg.solve(self.B, T)
        R = np.linalg.qr(W.T, mode="r")
        L = R.T
        signs = np.where(np.diag(L) < 0, -1.0, 1.0)
        return L * signs  # flip columns so that the diagonal is non-negative

    def sigma2(self, sigma2: float) -> float:
        return float(self.y_scale**2 * sigma2)

    def deviance(self, deviance: float, n: int, p: int, reml: bool) -> float:
        if not reml:
            return float(deviance + 2.0 * n * np.log(self.y_scale))
        logdet_A = float(np.sum(np.log(np.abs(np.diag(self.A))))) if p else 0.0
        return float(deviance + 2.0 * (n - p) * np.log(self.y_scale) + 2.0 * logdet_A)

    def fitted(self, eta: np.ndarray) -> np.ndarray:
        """Linear predictor computed in internal units -> the outcome's units."""
        return self.y_centre + self.y_scale * eta
