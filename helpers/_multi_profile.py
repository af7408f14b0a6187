"""The deviance of a model with several grouping factors as a function of its
parameters, for intervals: the :class:`helpers._profile.DevianceProfile` of a
:class:`helpers.MultiLmmFit`.

The parameters are those of a one-factor fit's intervals, per factor: the standard
deviation of every random term (``"sd(x | school)"``), the correlation of every pair
whose covariance is estimated, ``"sigma"``, then the fixed effects. The ML deviance
at (sd, cor, sigma) comes from the engine's solution at the corresponding theta
(``modes(theta)``: ``log|L|^2`` and the penalised residual sum of squares ``r^2``,
the fixed effects profiled out), as lme4's ``devfun2``:

    D = log|L|^2 + n log(2 pi sigma^2) + r^2 / sigma^2.

Holding a fixed effect (a linear combination ``l'beta`` of the internal
coefficients) at x adds ``(x - l'beta(theta))^2 / (l' C0 l)`` to r^2 (the penalised
sum of squares is quadratic in beta, with Hessian ``C0^-1 = X'V^-1X``), and sigma is
then profiled out, so that its profile is a minimisation over theta alone. The
profile is that of the ML deviance (also for a REML fit, as lme4's), centred on the
ML optimum; Wald standard errors and bootstrap replicates are the fit's own
(``_wald_random``, ``_replicate_values``). Everything is computed in the engine's
internal units and mapped back exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from ._profile import DevianceProfile, cov_factor

__all__ = ["MultiProfile"]


class MultiProfile(DevianceProfile):
    """The :class:`~helpers._profile.DevianceProfile` of a fit with several factors.

    ``fit`` is the :class:`helpers.MultiLmmFit`; ``ml_model`` the engine's model of its
    design by ML and ``optimize(model, theta0)`` the engine's optimiser.
    """

    def __init__(self, fit, ml_model, optimize):
        self.fit, self.model, self._optimize = fit, ml_model, optimize
        names, est_random, self.se_random = fit._wald_random()
        self.n_random = len(est_random)
        self.names = [*names, *fit.fixed_names]
        self.kinds, self.pairs = [], []
        for fa in fit._design.factors:
            self.kinds += ["sd"] * fa.q
            self.pairs.append(
                [(i, i) for i in range(fa.q)] + [(i, j) for i, j in fit._correlated(fa)]
            )
            self.kinds += ["cor"] * (len(self.pairs[-1]) - fa.q)
        self.kinds.append("sigma")
        self.kinds += ["beta"] * len(fit.fixed_names)
        self.estimate = np.concatenate([est_random, fit.beta])
        units = fit._design.units
        self.units = units
        self.Ainv = np.linalg.inv(units.A)
        e0 = np.zeros(len(fit.fixed_names))  # the outcome's centre enters the intercept
        if units.x_intercept is not None:
            e0[units.x_intercept] = units.y_centre
        self.e0 = self.Ainv @ e0

    def lower(self) -> np.ndarray:
        return np.array([{"cor": -1.0, "beta": -np.inf}.get(k, 0.0) for k in self.kinds])

    def upper(self) -> np.ndarray:
        return np.array([1.0 if k == "cor" else np.inf for k in self.kinds])

    def standard_errors(self) -> np.ndarray:
        return np.concatenate([self.se_random, np.sqrt(np.diag(self.fit._vcov))])

    def replicate_values(self, boot) -> np.ndarray:
        return self.fit._replicate_values(boot)

    # -- the deviance ------------------------------------------------------------------
    def to_theta(self, par) -> np.ndarray:
        """(sd, cor per factor, sigma) in the data's units -> internal theta."""
        units, fa_all = self.units, self.fit._design.factors
        s_i = par[self.n_random - 1] / units.y_scale
        out, pos, start = [], 0, 0
        for fa, pairs, tmap in zip(fa_all, self.pairs, self.model.tmaps, strict=True):
            k = len(pairs)
            kinds = ["sd" if i == j else "cor" for i, j in pairs]
            T = cov_factor(par[pos : pos + k], pairs, kinds, fa.q)  # data units
            sl = slice(start, start + fa.q)
            M = units.B[sl, sl] @ T / units.y_scale  # M M' = tau in internal units
            R = np.linalg.qr(M.T, mode="r")
            L = R.T * np.where(np.diag(R) < 0, -1.0, 1.0)  # lower, non-negative diagonal
            out.append((L / s_i)[tmap.rows, tmap.cols])
            pos += k
            start += fa.q
        return np.concatenate(out)

    def deviance(self, par) -> float:
        """ML deviance (data units) at (sd, cor, sigma), the fixed effects profiled out."""
        sigma = par[self.n_random - 1]
        if not sigma > 0:
            return np.inf
        pls = self._solve(self.to_theta(par))
        if pls is None:
            return np.inf
        s_i = sigma / self.units.y_scale
        n = self.model.n
        dev = pls.logdet_L + n * np.log(2 * np.pi * s_i**2) + pls.r2 / s_i**2
        return float(dev + 2.0 * n * np.log(self.units.y_scale))

    def _solve(self, theta):
        try:
            return self.model.modes(theta)
        except (TypeError, ValueError, np.linalg.LinAlgError):
            return None

    def _fixed_deviance(self, theta, k: int, x: float) -> float:
        """ML deviance with fixed effect k held at x, sigma profiled out, at theta."""
        pls = self._solve(theta)
        if pls is None:
            return np.inf
        y_scale = self.units.y_scale
        ell = y_scale * self.Ainv[k]
        c = x - self.e0[k]
        RXinv = np.linalg.inv(pls.RX)
        C0 = RXinv.T @ RXinv
        pen = (c - ell @ pls.beta) ** 2 / (ell @ C0 @ ell)
        n = self.model.n
        dev = pls.logdet_L + n * (1.0 + np.log(2 * np.pi * (pls.r2 + pen) / n))
        return float(dev + 2.0 * n * np.log(y_scale))

    # -- the profile -------------------------------------------------------------------
    def profile_search(self):
        fit = self.fit
        theta0 = np.array(fit._theta_internal, dtype=float)
        if fit.reml:
            theta_ml = np.array(self._optimize(self.model, theta0).theta, dtype=float)
        else:
            theta_ml = theta0
        pls = self.model.modes(theta_ml)
        s_ml = np.sqrt(pls.r2 / self.model.n)
        par_ml = fit._random_params(theta_ml, s_ml)
        beta_ml = self.units.beta(pls.beta)
        dev_ml = self.deviance(par_ml)
        bounds = [(0.0, None) if d else (None, None) for d in self.model.diagonal]
        steps = []
        for k in range(self.n_random):
            step = self.se_random[k]
            if not np.isfinite(step) or step <= 0:
                step = 0.25 * max(abs(par_ml[k]), 0.05) if self.kinds[k] != "cor" else 0.2
            steps.append(step)

        def minimise(k, x, start):
            if k < self.n_random:
                return self._profile_random(k, x, par_ml if start is None else start)
            j = k - self.n_random
            res = scipy.optimize.minimize(
                lambda th: self._fixed_deviance(th, j, x),
                theta_ml,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 1000, "ftol": 1e-13},
            )
            return float(res.fun), None

        est = np.concatenate([par_ml, beta_ml])
        se_fixed = np.sqrt(np.diag(fit._vcov))
        return est, [*steps, *se_fixed], dev_ml, minimise

    def _profile_random(self, k: int, x: float, start: np.ndarray):
        """Minimum ML deviance with random parameter k held at x (the others: sds and
        sigma on the log scale, correlations in [-1, 1])."""
        kinds = self.kinds[: self.n_random]
        free = np.flatnonzero(np.arange(len(start)) != k)
        is_cor = np.array([kinds[i] == "cor" for i in free], dtype=bool)

        def to_par(z):
            par = np.array(start, dtype=float)
            par[k] = x
            par[free] = np.where(is_cor, z, np.exp(np.where(is_cor, 0.0, z)))
            return par

        z0 = np.where(
            is_cor, start[free], np.log(np.maximum(np.where(is_cor, 1.0, start[free]), 1e-8))
        )
        bounds = [(-1.0, 1.0) if c else (None, None) for c in is_cor]
        best = None
        for _ in range(3):  # restart from the optimum: L-BFGS-B's first steps can stall
            res = scipy.optimize.minimize(
                lambda z: self.deviance(to_par(z)),
                z0,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-12},
            )
            if best is not None and res.fun > best.fun - 1e-9:
                best = res if res.fun < best.fun else best
                break
            best, z0 = res, res.x
        return float(best.fun), to_par(best.x)
