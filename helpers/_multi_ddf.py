"""Satterthwaite's degrees of freedom for a model with several grouping factors.

The method is lmerTest's (Kuznetsova, Brockhoff & Christensen 2017, *Journal of
Statistical Software* 82(13)), as :mod:`helpers.ddf` computes it for one grouping
factor: for a contrast ``l'beta`` with variance ``v = l' C l``, ``C = sigma^2
(X'V^-1 X)^-1`` as a function of the variance parameters ``phi = (theta, sigma)``,

    df = 2 v^2 / (g' A g),      g = dv/dphi,      A = 2 H^-1,

with H the Hessian of the deviance (REML criterion or -2 log L, as fitted) in phi.
The pieces come from the model's own functions of theta (the engine's
``modes(theta)``: the profiled deviance ``d(theta)``, the penalised residual sum of
squares ``r^2(theta)`` and the factor ``R_X`` of ``X'V^-1 X``), differentiated
numerically as lmerTest does (central differences refined by Richardson's
extrapolation, numDeriv's method: a first step of 0.1 |theta_k|, halved three
times). With ``k(u, s) = u/s^2 + nu log s^2 - nu log u``, the deviance in
``(theta, sigma)`` is ``d(theta) + k(r^2(theta), sigma)`` up to a constant, so at the
optimum (``s^2 = r^2 / nu``)::

    H_tt = d_tt + (nu / u^2) u_t u_t',   H_ts = -2 u_t / s^3,   H_ss = 4 nu / s^2,
    dC/dtheta_t = s^2 dC0/dtheta_t,      dC/ds = 2 s C0,       C0 = (X'V^-1 X)^-1.

Only the Hessian of d and the first derivatives of r^2 and C0 are numerical. All
of it is in the engine's internal (centred and scaled) units; the df do not depend
on the units (see :mod:`helpers.ddf`).

**Kenward-Roger** (pbkrtest's ``vcovAdj``, which handles crossed factors): the
formulas of :mod:`helpers.ddf` (:func:`helpers.ddf.kr_from_parts`) with the whole
random-effects system as one "group": ``Z`` the n x (sum_k J_k q_k) design of all
factors expanded by level, ``T`` = Lambda (block-diagonal: each factor's relative
factor once per level) and one ``E`` per free element of a factor's covariance
(that element in every level's block). Every piece is then a dense matrix of the
size of the random effects, so Kenward-Roger is refused for models with more
than :data:`KR_MAX` random effects (Satterthwaite's df work for any size).
"""

from __future__ import annotations

import numpy as np

from .ddf import kr_from_parts

__all__ = ["KR_MAX", "MultiDdf", "richardson"]

KR_MAX = 2000  # random effects (levels x terms, all factors) up to which KR is computed


def richardson(f, x: np.ndarray, levels: int = 4):
    """(Jacobian of f, Hessian of its first component) at x by central differences.

    f maps a vector to a vector; the steps start at 0.1 |x_k| (1e-4 where x_k is 0)
    and are halved ``levels - 1`` times, and the differences are combined by
    Richardson's extrapolation (numDeriv's ``genD`` with its defaults, as lmerTest).
    The Jacobian has one row per coordinate of x."""
    x = np.asarray(x, dtype=float)
    m = len(x)
    f0 = np.asarray(f(x), dtype=float)
    h0 = 0.1 * np.abs(x) + 1e-4 * (np.abs(x) < 1e-4)
    jacs, hessians = [], []
    for lev in range(levels):
        h = h0 / 2**lev
        J = np.empty((m, len(f0)))
        H = np.empty((m, m))
        for i in range(m):
            e = np.zeros(m)
            e[i] = h[i]
            a, b = f(x + e), f(x - e)
            J[i] = (a - b) / (2 * h[i])
            H[i, i] = (a[0] - 2 * f0[0] + b[0]) / h[i] ** 2
        for i in range(m):
            for j in range(i + 1, m):
                ei, ej = np.zeros(m), np.zeros(m)
                ei[i], ej[j] = h[i], h[j]
                val = (
                    f(x + ei + ej)[0] - f(x + ei - ej)[0] - f(x - ei + ej)[0] + f(x - ei - ej)[0]
                ) / (4 * h[i] * h[j])
                H[i, j] = H[j, i] = val
        jacs.append(J)
        hessians.append(H)
    for s in range(1, levels):
        fac = 4.0**s
        jacs = [(fac * jacs[k + 1] - jacs[k]) / (fac - 1) for k in range(len(jacs) - 1)]
        hessians = [
            (fac * hessians[k + 1] - hessians[k]) / (fac - 1) for k in range(len(hessians) - 1)
        ]
    return jacs[0], hessians[0]


class MultiDdf:
    """Satterthwaite pieces of a fit with several grouping factors, in internal units.

    ``solve(theta)`` returns the engine's solution at theta (``deviance``, ``r2``,
    ``RX``); ``theta`` is the optimum; ``n``, ``p`` the numbers of rows and of fixed
    effects; ``kr_system()`` returns ``(Z'Z, Z'X, X'X, Lambda, E)`` of the expanded
    design (dense; see the module's notes). The pieces are computed when first needed.
    """

    def __init__(self, solve, theta, n: int, p: int, reml: bool, kr_system=None):
        self.solve = solve
        self.kr_system = kr_system
        self._kr = None
        self.theta = np.asarray(theta, dtype=float)
        self.reml = reml
        pls = solve(self.theta)
        self.n = n
        self.nu = n - p if reml else n
        self.sigma2 = pls.r2 / self.nu
        self.C0 = self._c0(pls)
        self._satt = None

    @staticmethod
    def _c0(pls) -> np.ndarray:
        RXinv = np.linalg.inv(pls.RX)
        return RXinv.T @ RXinv

    def _values(self, theta) -> np.ndarray:
        try:
            pls = self.solve(theta)
        except (TypeError, np.linalg.LinAlgError):  # not finite there
            pls = None
        if pls is None:
            raise ValueError(
                "The deviance is not finite next to the estimates, so Satterthwaite's df "
                "cannot be computed for this fit; use ddf='z'."
            )
        return np.concatenate([[pls.deviance, pls.r2], self._c0(pls).ravel()])

    def satterthwaite_parts(self):
        """(dC/dphi as an (m+1) x p x p array, A = 2 H^-1) in phi = (theta, sigma)."""
        if self._satt is None:
            jac, d_tt = richardson(self._values, self.theta)
            p = self.C0.shape[0]
            u_t = jac[:, 1]
            dC0 = jac[:, 2:].reshape(-1, p, p)
            u = self.sigma2 * self.nu
            s = np.sqrt(self.sigma2)
            m = len(u_t)
            H = np.empty((m + 1, m + 1))
            H[:m, :m] = d_tt + (self.nu / u**2) * np.outer(u_t, u_t)
            H[:m, m] = H[m, :m] = -2.0 * u_t / s**3
            H[m, m] = 4.0 * self.nu / s**2
            lam, V = np.linalg.eigh(0.5 * (H + H.T))
            pos = lam > 1e-8 * max(float(lam[-1]), 1e-300)  # lmerTest: a pseudo-inverse
            Avp = 2.0 * (V[:, pos] / lam[pos]) @ V[:, pos].T
            jacC = np.empty((m + 1, p, p))
            jacC[:m] = self.sigma2 * dC0
            jacC[m] = 2.0 * s * self.C0
            self._satt = (jacC, Avp)
        return self._satt

    def satterthwaite_df(self, L: np.ndarray) -> np.ndarray:
        """Satterthwaite df of each row of L (contrasts of the internal coefficients)."""
        jac, Avp = self.satterthwaite_parts()
        L = np.atleast_2d(L)
        v = self.sigma2 * np.einsum("rp,pq,rq->r", L, self.C0, L)
        g = np.einsum("rp,kpq,rq->rk", L, jac, L)
        return 2.0 * v**2 / np.einsum("rk,kl,rl->r", g, Avp, g)

    def kenward_roger(self):
        """(Phi_A, P, W, Phi) in internal units (pbkrtest's vcovAdj)."""
        if self._kr is None:
            S, ZtX, XtX, Lam, E = self.kr_system()
            if S.shape[0] > KR_MAX:
                raise ValueError(
                    f"ddf='kenward-roger' is computed here for models with up to {KR_MAX} "
                    f"random effects (levels x terms, over all factors); this one has "
                    f"{S.shape[0]}. Use ddf='satterthwaite' (the default, as lmerTest) or 'z'."
                )
            q = S.shape[0]
            K = Lam.T @ S @ Lam + np.eye(q)
            M = Lam @ np.linalg.solve(K, Lam.T)
            M = 0.5 * (M + M.T)
            N = np.eye(q) - S @ M
            A = N @ S
            A = 0.5 * (A + A.T)
            B = N @ ZtX
            one = lambda a: a[None]  # noqa: E731  the whole system as one group
            self._kr = kr_from_parts(
                one(S),
                one(ZtX),
                one(M),
                one(N),
                one(A),
                one(B),
                E,
                XtX,
                self.n,
                self.sigma2,
                self.C0,
            )
        return self._kr
