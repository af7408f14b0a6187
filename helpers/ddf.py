"""Denominator degrees of freedom for tests of the fixed effects of a linear mixed model.

Two methods, as R users know them:

**Satterthwaite** (lmerTest's default; Kuznetsova, Brockhoff & Christensen 2017,
*Journal of Statistical Software* 82(13)). For a contrast ``l'beta`` with variance
``v = l' C l``, where ``C = sigma^2 (X'V^-1 X)^-1`` is the covariance of beta-hat as a
function of the variance parameters ``phi = (theta, sigma)``::

    df = 2 v^2 / (g' A g),      g = dv/dphi,      A = 2 H^-1,

with H the Hessian of the deviance (REML criterion for REML fits, -2 log L for ML
fits) in ``phi``, beta at its optimum for the given theta (lmerTest's
``devfun_vp``). lmerTest differentiates numerically; here both g and H are exact:
with the profiled deviance ``d(theta)`` and its exact Hessian from the engine
(:func:`helpers._pls.derivatives`), the deviance in ``(theta, sigma)`` is
``d(theta) + k(r^2(theta), sigma)``, ``k(u, s) = u/s^2 + nu log s^2 - nu log u +
const``, and at the optimum (``s^2 = u / nu``, where ``dk/du = 0``)::

    H_tt = d_tt + (nu / u^2) u_t u_t',   H_ts = -2 u_t / s^3,   H_ss = 4 nu / s^2,

    u_t = d r^2 / d theta_t = - sum_j a_j' D_t a_j,
    dC/dtheta_t = s^2 C0 K_t C0,  K_t = sum_j B_j' D_t B_j,   dC/ds = 2 s C0,

with ``C0 = (X'V^-1X)^-1``, ``a_j = Z_j'V_j^-1 (y_j - X_j beta)``, ``B_j = Z_j'V_j^-1 X_j``
and ``D_t = dDelta/dtheta_t`` (``Delta = T T'``). Every piece is a per-group q x q or
q x p array computed from the sufficient statistics. Several contrasts at once (an F
test, lmerTest's ``contestMD``): the eigenvectors of ``L C L'`` give independent
t-statistics with their own df ``nu_m``, combined into the F statistic's df as
``2E / (E - q)`` with ``E = sum nu_m / (nu_m - 2)``.

**Kenward-Roger** (Kenward & Roger 1997, *Biometrics* 53; pbkrtest's ``vcovAdj`` and
``Lb_ddf``; Halekoh & Hojsgaard 2014, *Journal of Statistical Software* 59(9)). The
covariance of the data is ``Sigma = sum_i gamma_i G_i`` with the variance components
``gamma`` = the free elements of tau and sigma^2 (``G = Z E Z'`` for an element of tau,
``G = I`` for sigma^2). With ``Phi = (X'Sigma^-1 X)^-1``, ``P_i = -X'Sigma^-1 G_i
Sigma^-1 X``, ``Q_ij = X'Sigma^-1 G_i Sigma^-1 G_j Sigma^-1 X`` and ``W = 2 I_E^-1`` (the
REML expected information ``I_E,ij = tr(Sigma^-1 G_i Sigma^-1 G_j) - 2 tr(Phi Q_ij) +
tr(Phi P_i Phi P_j)``), the adjusted covariance is ``Phi_A = Phi + 2 Phi (sum_ij W_ij
(Q_ij - P_i Phi P_j)) Phi``, and the F statistic is scaled and given the df of
pbkrtest's ``.KR_adjust``. Sigma is block-diagonal by group, so every trace and
product above is a sum over groups of q x q and q x p pieces (Woodbury:
``V_j^-1 = I - Z_j M_j Z_j'`` with ``M_j = T (T'Z_j'Z_jT + I)^-1 T'``).

**With a residual structure** (``fit_lmm(..., residuals=, variance=)``) the variance
parameters are ``(theta, sigma, psi)`` with ``psi`` = phi and the SD ratios:
:class:`ResidualDdf` takes the exact (theta, sigma) block above on the whitened rows and
central differences in ``psi``. Kenward-Roger is not offered there (Sigma is not linear
in psi); nlme's containment df are ``ddf="containment"``.

Both are computed on the model in internal (centred and scaled) units, where the
engine works; a contrast ``L`` of the coefficients in the data's units is the
contrast ``L A^-1`` of the internal ones (``X = X~ A``, :mod:`helpers._scale`). The df
do not change under that reparametrisation (a smooth, one-to-one change of the
variance parameters at an interior optimum and a linear one of the coefficients),
so they do not depend on the units of the data; the adjusted covariance maps back
as any covariance of beta does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from ._pls import PLS, Stats, ThetaMap, derivatives, group_pieces, solve_pls
from .formula import formula_variables

__all__ = [
    "DDF_OPTIONS",
    "JohnsonNeyman",
    "LmmDdf",
    "ResidualDdf",
    "fstat_ddf",
    "kr_adjust",
]

DDF_OPTIONS = ("satterthwaite", "kenward-roger", "z")


def fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: df of an F statistic that averages q squared t's."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


class LmmDdf:
    """Satterthwaite and Kenward-Roger pieces of one fit, in internal units.

    Built from the engine's statistics at the optimum; the Satterthwaite pieces and
    the Kenward-Roger adjustment are each computed when first needed.
    """

    def __init__(self, stats: Stats, tmap: ThetaMap, theta, reml: bool, pls: PLS | None = None):
        self.stats, self.tmap, self.reml = stats, tmap, reml
        self.theta = np.asarray(theta, dtype=float)
        if pls is None:  # the solution at theta (a fit passes the one it has)
            pls = solve_pls(self.theta, stats, tmap, reml)
        if pls is None:  # the optimum had a finite deviance; this cannot happen there
            raise ValueError("The deviance is not finite at the fit's estimates.")
        self.pls: PLS = pls
        n, p = stats.n, len(pls.beta)
        self.nu = n - p if reml else n
        self.sigma2 = pls.r2 / self.nu  # internal sigma^2
        self.C0 = pls.RXinv.T @ pls.RXinv  # (X'V^-1 X)^-1
        self._group = None
        self._satt = None
        self._kr = None

    # -- per-group pieces -----------------------------------------------------------
    def group_parts(self):
        """Per group (J x ...): S = Z'Z, M, N = I - S M, A = Z'V^-1Z, B = Z'V^-1X, a."""
        if self._group is None:
            st, T = self.stats, self.pls.T
            q = T.shape[0]
            S = np.moveaxis(st.ZtZ, -1, 0)  # J x q x q
            ZtX = np.moveaxis(st.ZtX, -1, 0)  # J x q x p
            K = T.T @ S @ T + np.eye(q)
            M = T @ np.linalg.solve(K, np.broadcast_to(T.T, K.shape))  # T K^-1 T'
            M = 0.5 * (M + np.swapaxes(M, 1, 2))
            N = np.eye(q) - S @ M
            A = N @ S
            A = 0.5 * (A + np.swapaxes(A, 1, 2))
            B = N @ ZtX
            r = st.Zty.T - ZtX @ self.pls.beta  # Z_j'(y_j - X_j beta), J x q
            a = np.einsum("jab,jb->ja", N, r)
            self._group = (S, ZtX, M, N, A, B, a)
        return self._group

    def _dDelta(self) -> np.ndarray:
        """dDelta/dtheta_k (m x q x q), Delta = T T'."""
        T, rows, cols = self.pls.T, self.tmap.rows, self.tmap.cols
        m, q = len(rows), T.shape[0]
        D = np.zeros((m, q, q))
        D[np.arange(m), rows, :] += T[:, cols].T
        D[np.arange(m), :, rows] += T[:, cols].T
        return D

    # -- Satterthwaite ----------------------------------------------------------------
    def satterthwaite_parts(self):
        """(dC/dphi as an (m+1) x p x p array, A = 2 H^-1) in phi = (theta, sigma)."""
        if self._satt is None:
            jac, H = self._jacobian_hessian()
            self._satt = (jac, _pseudo_inverse_2(H))
        return self._satt

    def _jacobian_hessian(self):
        """(dC/dphi, H) in phi = (theta, sigma), exact (the module docstring)."""
        # per-group pieces with the group axis last (the engine's layout: fast)
        _, B, a = group_pieces(self.pls, self.stats)
        D = self._dDelta()
        s = np.sqrt(self.sigma2)
        u = self.pls.r2
        u_t = -np.einsum("kaj,aj->k", np.einsum("kab,bj->kaj", D, a), a)
        _, H_tt = derivatives(self.pls, self.stats, self.tmap, self.reml)
        m = len(u_t)
        H = np.empty((m + 1, m + 1))
        H[:m, :m] = H_tt + (self.nu / u**2) * np.outer(u_t, u_t)
        H[:m, m] = H[m, :m] = -2.0 * u_t / s**3
        H[m, m] = 4.0 * self.nu / s**2
        Kt = np.einsum("apj,karj->kpr", B, np.einsum("kab,brj->karj", D, B))
        C0 = self.C0
        jac = np.empty((m + 1, *C0.shape))
        jac[:m] = self.sigma2 * (C0 @ Kt @ C0)
        jac[m] = 2.0 * s * C0
        return jac, H

    def satterthwaite_df(self, L: np.ndarray) -> np.ndarray:
        """Satterthwaite df of each row of L (contrasts of the internal coefficients)."""
        jac, Avp = self.satterthwaite_parts()
        L = np.atleast_2d(L)
        v = self.sigma2 * np.einsum("rp,pq,rq->r", L, self.C0, L)
        g = np.einsum("rp,kpq,rq->rk", L, jac, L)
        return 2.0 * v**2 / np.einsum("rk,kl,rl->r", g, Avp, g)

    # -- Kenward-Roger ----------------------------------------------------------------
    def kenward_roger(self):
        """(Phi_A, P as n_g x p x p, W) in internal units (pbkrtest's vcovAdj)."""
        if self._kr is None:
            self._kr = self._compute_kr()
        return self._kr

    def _compute_kr(self):
        S, ZtX, M, N, A, B, _ = self.group_parts()
        rows, cols = self.tmap.rows, self.tmap.cols
        m, q = len(rows), S.shape[1]
        E = np.zeros((m, q, q))  # dSigma/dtau_k = Z E_k Z'
        E[np.arange(m), rows, cols] = 1.0
        E[np.arange(m), cols, rows] = 1.0
        return kr_from_parts(
            S, ZtX, M, N, A, B, E, self.stats.XtX, self.stats.n, self.sigma2, self.C0
        )


def kr_from_parts(S, ZtX, M, N, A, B, E, XtX, n: int, s2: float, C0):
    """Kenward-Roger's (Phi_A, P, W, Phi) from the pieces of :meth:`LmmDdf.group_parts`
    (per group: S = Z'Z, Z'X, M, N = I - S M, A, B; J x ...), E (dSigma/dtau_k = Z E_k Z',
    m x q x q), X'X, n, sigma^2 and C0 = (X'V^-1X)^-1. A model whose random effects do
    not split by group passes them as one group (J = 1)."""
    m = E.shape[0]
    XtVX = XtX - np.einsum("jap,jab,jbr->pr", ZtX, M, ZtX)  # X'V^-1X
    XtV2X = XtVX - np.einsum("jap,jab,jbr->pr", ZtX, M, B)  # X'V^-2X
    XtV3X = XtV2X - np.einsum("jap,jab,jbr->pr", B, M, B)  # X'V^-3X
    NB = N @ B  # Z'V^-2X per group
    NA = N @ A  # Z'V^-2Z per group
    ng = m + 1
    p = XtVX.shape[0]
    # P_i = -X'Sigma^-1 G_i Sigma^-1 X
    P = np.empty((ng, p, p))
    P[:m] = -np.einsum("jap,kab,jbr->kpr", B, E, B) / s2**2
    P[m] = -XtV2X / s2**2
    # Q_ij = X'Sigma^-1 G_i Sigma^-1 G_j Sigma^-1 X
    Q = np.empty((ng, ng, p, p))
    EB = np.einsum("kab,jbp->kjap", E, B)
    Q[:m, :m] = np.einsum("kjap,jab,ljbr->klpr", EB, A, EB) / s2**3
    Q[:m, m] = np.einsum("kjap,jar->kpr", EB, NB) / s2**3
    Q[m, :m] = np.swapaxes(Q[:m, m], 1, 2)
    Q[m, m] = XtV3X / s2**3
    # tr(Sigma^-1 G_i Sigma^-1 G_j)
    Kt = np.empty((ng, ng))
    AE = np.einsum("jab,kbc->kjac", A, E)
    Kt[:m, :m] = np.einsum("kjab,ljba->kl", AE, AE) / s2**2
    Kt[:m, m] = Kt[m, :m] = np.einsum("kab,jba->k", E, NA) / s2**2
    MS = M @ S
    tr_V2 = n - 2.0 * np.trace(MS, axis1=1, axis2=2).sum() + np.einsum("jab,jba->", MS, MS)
    Kt[m, m] = tr_V2 / s2**2
    Phi = s2 * C0
    PhiP = Phi @ P  # ng x p x p
    IE2 = Kt - 2.0 * np.einsum("pr,klpr->kl", Phi, Q) + np.einsum("kpr,lrp->kl", PhiP, PhiP)
    IE2 = 0.5 * (IE2 + IE2.T)
    if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10:
        W = 2.0 * np.linalg.inv(IE2)
    else:
        W = 2.0 * np.linalg.pinv(IE2)
    W = 0.5 * (W + W.T)
    PPhiP = np.einsum("kpr,rs,lst->klpt", P, Phi, P)
    UU = np.einsum("kl,klpr->pr", W, Q - PPhiP)
    PhiA = Phi + 2.0 * Phi @ UU @ Phi
    return 0.5 * (PhiA + PhiA.T), P, W, Phi


def kr_adjust(L: np.ndarray, Phi: np.ndarray, P: np.ndarray, W: np.ndarray):
    """pbkrtest's ``.KR_adjust`` (and ``Lb_ddf``): (ddf, F scaling, q) for contrasts L.

    All arguments in the same (internal) units; the result does not depend on them.
    """
    L = np.atleast_2d(L)
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    TP = Theta @ Phi
    U = np.einsum("pr,krs,st->kpt", TP, P, Phi)  # u_i = Theta Phi P_i Phi
    tr = np.trace(U, axis1=1, axis2=2)
    A1 = float(np.einsum("kl,k,l->", W, tr, tr))
    A2 = float(np.einsum("kl,kpr,lrp->", W, U, U))
    q = int(np.linalg.matrix_rank(L))
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1 = g / (3 * q + 2 * (1 - g))
    c2 = (q - g) / (3 * q + 2 * (1 - g))
    c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
    V0 = 1 + c1 * B
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    x = 1 - A2 / q
    ratio = 1.0 if (abs(x) < 1e-14 and abs(V1) < 1e-14) else x / V1  # pbkrtest's .divZero
    rho = ratio**2 * V0 / V2 / q
    df2 = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - A2 / q) / (df2 - 2)
    return float(df2), float(scaling), q


def _pseudo_inverse_2(H: np.ndarray) -> np.ndarray:
    """2 H^-1, as lmerTest: a pseudo-inverse over the eigenvalues above 1e-8 of the largest."""
    lam, V = np.linalg.eigh(H)
    pos = lam > 1e-8 * max(float(lam[-1]), 1e-300)
    return 2.0 * (V[:, pos] / lam[pos]) @ V[:, pos].T


# Relative step of the central differences in the residual parameters: the deviance is
# accurate to about 1e-10 of its size, so the second differences keep about 6 digits.
_RESID_STEP = 1e-3


class ResidualDdf(LmmDdf):
    """Satterthwaite's df for a model with a residual structure (``fit_lmm(...,
    residuals=, variance=)``).

    The variance parameters are ``(theta, sigma, psi)`` with ``psi`` the residual
    structure's parameters in natural units (``phi``, then the SD ratios). For a fixed
    ``psi`` the model on the whitened rows is the ordinary one, so the (theta, sigma)
    block of the deviance's Hessian and of the Jacobian of ``C = sigma^2
    (X'Sigma^-1X)^-1`` are the exact ones of :class:`LmmDdf` on the whitened
    statistics. The rows in ``psi`` are central differences (step 1e-3 of the value,
    at least 1e-4) of the deviance

        D(theta, sigma, psi) = d(theta; psi) + log|Sigma/sigma^2| + r^2/s^2
                               + nu log s^2 - nu log r^2 + nu log nu - nu

    (``d`` the profiled deviance of the whitened model, which the last terms turn into
    the deviance at any ``sigma``; beta at its optimum, as lmerTest's ``devfun_vp``)
    and of ``C``, each point whitened anew. ``whitened(psi)`` returns ``(Stats,
    log|Sigma/sigma^2|)`` or None outside the range. Kenward-Roger's adjustment is not
    defined here (its ``G_i`` would be the derivatives of Sigma in psi, which enter
    nonlinearly): :meth:`kenward_roger` refuses.
    """

    def __init__(self, stats, tmap, theta, reml, psi, whitened, pls=None):
        super().__init__(stats, tmap, theta, reml, pls=pls)
        self.psi = np.asarray(psi, dtype=float)
        self.whitened = whitened
        self._cache: dict = {}

    def _at(self, psi):
        key = tuple(float(v) for v in psi)
        if key not in self._cache:
            got = self.whitened(np.array(key))
            if got is None:
                raise ValueError(
                    "Satterthwaite's df need the deviance on both sides of the residual "
                    f"parameters' estimates {self.psi.tolist()}, which lie at the edge of "
                    "their range: use ddf='containment' or 'z'."
                )
            self._cache[key] = got
        return self._cache[key]

    def _deviance(self, theta, s, psi) -> float:
        stats, logdet = self._at(psi)
        pls = solve_pls(theta, stats, self.tmap, self.reml)
        if pls is None:
            return np.inf
        nu, u = self.nu, pls.r2
        k = u / s**2 + nu * np.log(s**2) - nu * np.log(u) + nu * np.log(nu) - nu
        return pls.deviance + logdet + k

    def _C(self, psi) -> np.ndarray:
        stats, _ = self._at(psi)
        pls = solve_pls(self.theta, stats, self.tmap, self.reml)
        return self.sigma2 * (pls.RXinv.T @ pls.RXinv)

    def _jacobian_hessian(self):
        jac0, H0 = super()._jacobian_hessian()
        m1, k = len(H0), len(self.psi)
        x0 = np.concatenate([self.theta, [np.sqrt(self.sigma2)], self.psi])
        h = _RESID_STEP * np.maximum(np.abs(x0), 0.1)

        def f(x):
            return self._deviance(x[: m1 - 1], x[m1 - 1], x[m1:])

        def shifted(*moves):
            x = x0.copy()
            for i, sign in moves:
                x[i] += sign * h[i]
            return x

        H = np.zeros((m1 + k, m1 + k))
        H[:m1, :m1] = H0
        f0 = f(x0)
        for a in range(m1, m1 + k):
            H[a, a] = (f(shifted((a, 1))) - 2 * f0 + f(shifted((a, -1)))) / h[a] ** 2
            for b in range(a):
                H[a, b] = H[b, a] = (
                    f(shifted((a, 1), (b, 1)))
                    - f(shifted((a, 1), (b, -1)))
                    - f(shifted((a, -1), (b, 1)))
                    + f(shifted((a, -1), (b, -1)))
                ) / (4 * h[a] * h[b])
        jac = np.empty((m1 + k, *self.C0.shape))
        jac[:m1] = jac0
        for a in range(k):
            up, down = self.psi.copy(), self.psi.copy()
            up[a] += h[m1 + a]
            down[a] -= h[m1 + a]
            jac[m1 + a] = (self._C(up) - self._C(down)) / (2 * h[m1 + a])
        return jac, H

    def kenward_roger(self):
        raise ValueError(
            "Kenward-Roger's adjustment is not available for a model with a residual "
            "structure (its covariance is not linear in the residual parameters, which "
            "the adjustment assumes): use ddf='satterthwaite' (the default), "
            "'containment' (nlme's) or 'z'."
        )


def t_quantile(df, level: float) -> np.ndarray:
    """The two-sided critical value of t (normal where df is infinite)."""
    return scipy.stats.t.ppf(0.5 + level / 2, df)


# ------------------------------------------------------------------ tests of a fit
#
# What the fits' methods (wald, anova, contrast, slopes, johnson_neyman) share. A fit
# provides its estimates ``_beta``, their covariance ``_vcov`` (both in the data's
# units), ``fixed_names``, the ddf it accepts (``_ddf_methods``, the first is its
# default) and, for a linear mixed model, ``_ddf_state()``: the :class:`LmmDdf` and
# the map ``A^-1`` of contrasts into internal units.


def check_ddf(fit, ddf) -> str:
    """The ddf option, lower case, or an error that says which ones this fit has."""
    allowed = fit._ddf_methods
    if ddf is None:
        return allowed[0]
    if "containment" in allowed:  # a model with a residual correlation structure
        if isinstance(ddf, str) and ddf.lower() in allowed:
            return ddf.lower()
        raise ValueError(
            f"ddf={ddf!r} is not available for a model with a residual structure "
            f"({fit._residual_label}): Kenward-Roger's adjustment assumes a covariance "
            "linear in its parameters, which the residual correlation is not. Use "
            "ddf='satterthwaite' (the default here), 'containment' (nlme's df) or 'z'."
        )
    if not isinstance(ddf, str) or ddf.lower() not in DDF_OPTIONS:
        raise ValueError(f"ddf must be one of {', '.join(map(repr, DDF_OPTIONS))}, not {ddf!r}.")
    ddf = ddf.lower()
    if ddf not in allowed:
        raise ValueError(
            f"ddf={ddf!r} is defined for linear mixed models only; the Wald tests of a "
            f"{fit.kind.lower()} use the normal distribution: use ddf='z'."
        )
    if ddf == "kenward-roger" and not fit.reml:
        raise ValueError(
            "Kenward-Roger's method needs a REML fit (its adjustment uses the REML "
            "information matrix, as pbkrtest and lmerTest), and this model was fitted by "
            "maximum likelihood: refit it with reml=True, or use ddf='satterthwaite' or 'z'."
        )
    return ddf


def contrast_rows(fit, L: np.ndarray, ddf: str) -> tuple[np.ndarray, ...]:
    """(estimate, standard error, df) of each row of L (contrasts in the data's units)."""
    est = L @ fit._beta
    if ddf == "z":
        return est, np.sqrt(np.einsum("rp,pq,rq->r", L, fit._vcov, L)), np.full(len(L), np.inf)
    if ddf == "containment":
        se = np.sqrt(np.einsum("rp,pq,rq->r", L, fit._vcov, L))
        return est, se, containment_rows(fit, L)
    state, Ainv = fit._ddf_state()
    Li = L @ Ainv
    if ddf == "satterthwaite":
        se = np.sqrt(np.einsum("rp,pq,rq->r", L, fit._vcov, L))
        return est, se, state.satterthwaite_df(Li)
    PhiA, P, W, Phi = state.kenward_roger()
    PhiA_data = fit._units_vcov(PhiA)
    se = np.sqrt(np.einsum("rp,pq,rq->r", L, PhiA_data, L))
    df = np.array([kr_adjust(row, Phi, P, W)[0] for row in Li])
    return est, se, df


def containment_rows(fit, L: np.ndarray) -> np.ndarray:
    """nlme's containment df of each contrast row: the smallest df of the coefficients it
    involves (``fit._containment_df``, one per coefficient)."""
    per = fit._containment_df
    used = np.abs(L) > 0
    return np.array([float(per[row].min()) if row.any() else np.inf for row in used])


def joint_test(fit, L: np.ndarray, ddf: str) -> tuple[int, float, float, float]:
    """(num_df, den_df, F, p) for the hypothesis L beta = 0 (lmerTest's contestMD)."""
    beta, V = fit._beta, fit._vcov
    if ddf == "kenward-roger":
        state, Ainv = fit._ddf_state()
        PhiA, P, W, Phi = state.kenward_roger()
        df2, scaling, q = kr_adjust(L @ Ainv, Phi, P, W)
        Lb = L @ beta
        wald = float(Lb @ np.linalg.lstsq(L @ fit._units_vcov(PhiA) @ L.T, Lb, rcond=None)[0])
        F = scaling * wald / q
        return q, df2, F, float(scipy.stats.f.sf(F, q, df2))
    d, Pv = np.linalg.eigh(L @ V @ L.T)
    d, Pv = d[::-1], Pv[:, ::-1]  # descending, as R's eigen
    pos = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    if not pos.any():
        raise ValueError("The contrast has no estimable part (L vcov L' is zero).")
    PtL, d = Pv[:, pos].T @ L, d[pos]
    q = len(d)
    t2 = (PtL @ beta) ** 2 / d
    F = float(t2.sum() / q)
    if ddf == "z":
        return q, np.inf, F, float(scipy.stats.chi2.sf(F * q, q))
    if ddf == "containment":
        den = float(np.min(containment_rows(fit, L)))
        return q, den, F, float(scipy.stats.f.sf(F, q, den))
    state, Ainv = fit._ddf_state()
    nu = state.satterthwaite_df(PtL @ Ainv)
    den = fstat_ddf(nu)
    return q, den, F, float(scipy.stats.f.sf(F, q, den))


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, not {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{what} must be finite, not {value!r}.")
    return float(value)


def _named_row(d: dict, names: list[str], what: str) -> np.ndarray:
    unknown = [k for k in d if k not in names]
    if unknown:
        raise ValueError(
            f"{what} names {', '.join(map(repr, unknown))}, which the model does not have; "
            f"its coefficients are {', '.join(map(repr, names))}."
        )
    row = np.zeros(len(names))
    for k, v in d.items():
        row[names.index(k)] = _number(v, f"The weight of {k!r} in {what}")
    return row


def contrast_matrix(L, names: list[str]) -> tuple[np.ndarray, pd.Index]:
    """A contrast given as a dict, a list of dicts, a DataFrame or an array -> (matrix, index)."""
    p = len(names)
    if isinstance(L, dict):
        M, index = _named_row(L, names, "the contrast")[None, :], pd.Index([0])
    elif isinstance(L, pd.DataFrame):
        if L.isna().any().any():
            raise ValueError(
                "The contrast DataFrame has missing weights (a frame built from dicts has "
                "NaN where a row leaves a coefficient out): give every weight, e.g. "
                "L.fillna(0)."
            )
        rows = [
            _named_row(r.to_dict(), names, f"row {i!r} of the contrast") for i, r in L.iterrows()
        ]
        M, index = np.array(rows).reshape(len(L), p), L.index
    elif isinstance(L, (list, tuple)) and L and all(isinstance(r, dict) for r in L):
        M = np.array([_named_row(r, names, f"contrast {i}") for i, r in enumerate(L)])
        index = pd.RangeIndex(len(L))
    else:
        try:
            M = np.array(L, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                "L must be a dict of named coefficients, a list of them, a DataFrame with "
                f"coefficient names as columns or an array with {p} columns; got {type(L).__name__}."
            ) from None
        if M.ndim == 1:
            M = M[None, :]
        if M.ndim != 2 or M.shape[1] != p:
            raise ValueError(
                f"An array contrast needs {p} columns, one per coefficient "
                f"({', '.join(names)}); got shape {np.shape(L)}."
            )
        if not np.all(np.isfinite(M)):
            raise ValueError("The contrast has missing or infinite weights.")
        index = pd.RangeIndex(len(M))
    if len(M) == 0:
        raise ValueError("The contrast has no rows.")
    zero = np.flatnonzero(~np.any(M != 0, axis=1))
    if zero.size:
        raise ValueError(
            f"Contrast {index[zero[0]]!r} has all weights zero: it tests nothing. Give at "
            "least one coefficient a non-zero weight."
        )
    return M, pd.Index(index, name="contrast")


_LEVEL = re.compile(r"^(?P<factor>.+)\[(?:T\.)?(?P<level>.+)\]$")


def _factor_column(factor: str) -> str:
    m = re.fullmatch(r"C\(\s*`?([^,`]+?)`?\s*(,.*)?\)", factor)
    return m.group(1) if m else factor


def slope_rows(fit, var: str, at) -> tuple[np.ndarray, pd.Index]:
    """Rows of d(X beta)/d var at every combination of the values in ``at``."""
    names = list(fit.fixed_names)
    if not isinstance(var, str):
        raise TypeError(f"var must be the name of a predictor, not {var!r}.")
    if at is None:
        at = {}
    if not isinstance(at, dict):
        raise TypeError(
            "at must be a dict of moderator values, e.g. at={'texp': [5, 15, 25]}; "
            f"got {type(at).__name__}."
        )
    parts = [n.split(":") for n in names]
    if not any(var in comps for comps in parts):
        raise ValueError(
            f"{var!r} is not a predictor of the fixed part (its columns are "
            f"{', '.join(map(repr, names))}); slopes are of a numeric predictor that "
            "enters linearly."
        )
    for name, comps in zip(names, parts, strict=True):
        for c in comps:
            if c != var and var in formula_variables(c):
                raise ValueError(
                    f"{var!r} enters the column {name!r} through a transformation ({c!r}); "
                    "slopes are defined here for a predictor that enters linearly (x and "
                    "products x:z). Compute a derivative yourself with contrast()."
                )
    grid = {}
    for key, values in at.items():
        if key == var:
            raise ValueError(f"at gives values of {var!r} itself; give those of its moderators.")
        if not any(key in comps or _is_level_of(c, key) for comps in parts for c in comps):
            raise ValueError(
                f"at names {key!r}, which is not a variable of the fixed part "
                f"({', '.join(map(repr, names))})."
            )
        vals = list(np.atleast_1d(np.asarray(values, dtype=object)))
        if not vals:
            raise ValueError(f"at[{key!r}] has no values.")
        if any(key in comps for comps in parts):
            vals = [_number(v, f"A value of {key!r} in at") for v in vals]
        grid[key] = vals
    X = fit.X
    keys = list(grid)
    combos = list(itertools.product(*grid.values())) if keys else [()]
    rows = []
    for combo in combos:
        values = dict(zip(keys, combo, strict=True))
        row = np.zeros(len(names))
        for k, comps in enumerate(parts):
            if var not in comps:
                continue
            w = 1.0
            for c in comps:
                if c == var:
                    continue
                w *= _component_value(fit, c, values, names, X, var)
            row[k] = w
        rows.append(row)
    if len(keys) == 1:
        index = pd.Index(grid[keys[0]], name=keys[0])
    elif keys:
        index = pd.MultiIndex.from_tuples(combos, names=keys)
    else:
        index = pd.Index([var], name="slope of")
    return np.array(rows), index


def _is_level_of(component: str, factor: str) -> bool:
    m = _LEVEL.match(component)
    return bool(m) and _factor_column(m.group("factor")) == factor


def _component_value(fit, c: str, values: dict, names, X, var) -> float:
    """The value of one factor of a product column where the slope is taken."""
    if c in values:
        return float(values[c])
    m = _LEVEL.match(c)
    if m:
        factor, level = _factor_column(m.group("factor")), m.group("level")
        if factor in values:
            return float(str(values[factor]) == level)
        state = fit._design.fixed_spec.encoder_state.get(m.group("factor"))
        if state is None or "categories" not in state[1]:
            raise ValueError(
                f"The slope of {var!r} depends on {c!r}: give the level of {factor!r} in at."
            )
        return 1.0 / len(state[1]["categories"])  # emmeans: levels weighted equally
    if c in names:
        return float(np.mean(X[:, names.index(c)]))  # emmeans: a covariate at its mean
    raise ValueError(
        f"The slope of {var!r} depends on {c!r}, which is not a column of the model: give "
        f"its value in at=."
    )


@dataclass(frozen=True)
class JohnsonNeyman:
    """The Johnson-Neyman region of a simple slope (see ``MixedFit.johnson_neyman``).

    ``bounds``: the moderator values where the slope's test is exactly at ``alpha``
    (none, or two); ``significant``: ``"outside"``, ``"inside"`` (of the bounds),
    ``"everywhere"`` or ``"nowhere"``; ``df``: the test's df at each bound.
    """

    var: str
    moderator: str
    bounds: tuple[float, ...]
    significant: str
    alpha: float
    ddf: str
    df: tuple[float, ...]

    def __repr__(self) -> str:
        where = {
            "everywhere": "for every value",
            "nowhere": "for no value",
            "inside": "between {0:.6g} and {1:.6g}",
            "outside": "below {0:.6g} and above {1:.6g}",
        }[self.significant].format(*self.bounds)
        return (
            f"The slope of {self.var!r} differs from 0 at level {self.alpha:g} ({self.ddf}) "
            f"{where} of {self.moderator!r}."
        )


def johnson_neyman(fit, var: str, moderator: str, ddf: str, alpha: float) -> JohnsonNeyman:
    if not isinstance(moderator, str):
        raise TypeError(f"moderator must be the name of a predictor, not {moderator!r}.")
    rows, _ = slope_rows(fit, var, {moderator: [0.0, 1.0, 2.0]})
    L0, L1 = rows[0], rows[1] - rows[0]
    if not np.any(L1 != 0):
        raise ValueError(
            f"The slope of {var!r} does not depend on {moderator!r} (no {var}:{moderator} "
            "term in the fixed part): there is no Johnson-Neyman region."
        )
    if not np.allclose(rows[2], L0 + 2 * L1, rtol=1e-12, atol=0):
        raise ValueError(f"The slope of {var!r} is not linear in {moderator!r}.")
    beta = fit._beta
    V = fit._vcov
    if ddf == "kenward-roger":
        V = fit._units_vcov(fit._ddf_state()[0].kenward_roger()[0])
    e0, e1 = L0 @ beta, L1 @ beta
    v00, v01, v11 = L0 @ V @ L0, L0 @ V @ L1, L1 @ V @ L1

    def roots(crit):
        c2 = crit**2
        a, b, c = e1**2 - c2 * v11, 2 * (e0 * e1 - c2 * v01), e0**2 - c2 * v00
        disc = b * b - 4 * a * c
        if disc < 0 or a == 0:
            return a, []
        r = np.sqrt(disc)
        return a, sorted([(-b - r) / (2 * a), (-b + r) / (2 * a)])

    def crit_at(m):
        if ddf == "z":
            return scipy.stats.norm.ppf(1 - alpha / 2), np.inf
        df = contrast_rows(fit, (L0 + m * L1)[None, :], ddf)[2][0]
        return float(t_quantile(df, 1 - alpha)), float(df)

    crit0 = crit_at(-e0 / e1 if e1 != 0 else 0.0)[0]
    a, bounds = roots(crit0)
    dfs = []
    if bounds:
        out = []
        for k in range(2):
            m = bounds[k]
            for _ in range(100):
                crit, df = crit_at(m)
                _, new = roots(crit)
                if not new:
                    break
                m_new = new[k]
                if abs(m_new - m) <= 1e-12 * (1 + abs(m)):
                    m = m_new
                    break
                m = m_new
            crit, df = crit_at(m)
            out.append(m)
            dfs.append(df)
        bounds = sorted(out)
        a = e1**2 - crit**2 * v11
        significant = "outside" if a > 0 else "inside"
    else:
        significant = "everywhere" if a > 0 else "nowhere"
    return JohnsonNeyman(
        var, moderator, tuple(float(b) for b in bounds), significant, alpha, ddf, tuple(dfs)
    )


def type3_rows(fit, cols: list[int]) -> np.ndarray:
    """The hypothesis matrix of lmerTest's type III test of the term with columns ``cols``.

    One row per column of the term: weight 1 on it and, on every column that is the
    same product times levels of further factors (``x:f[T.b]`` for the term ``x``),
    the product of 1 / (number of levels) of those factors, so that the term's
    effect is averaged over their levels with equal weights; a column that adds a
    numeric variable gets weight 0 (the term is tested where that variable is 0).
    With treatment coding, these are the contrasts lmerTest builds.
    """
    names = fit.fixed_names
    parts = [set(n.split(":")) for n in names]
    states = fit._design.fixed_spec.encoder_state
    L = np.zeros((len(cols), len(names)))
    for r, k in enumerate(cols):
        for c, comps in enumerate(parts):
            if not parts[k] <= comps:
                continue
            w = 1.0
            for extra in comps - parts[k]:
                m = _LEVEL.match(extra)
                state = states.get(m.group("factor")) if m else None
                if state is None or "categories" not in state[1]:
                    w = 0.0
                    break
                w /= len(state[1]["categories"])
            L[r, c] = w
    return L
