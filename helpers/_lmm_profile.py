"""The deviance of a linear mixed model as a function of its parameters, for intervals.

:class:`LmmProfile` is what :meth:`helpers.LmmFit.deviance_profile` returns: the
:class:`helpers._profile.DevianceProfile` of a linear mixed model, on the scale of
(sd, cor, sigma) and the fixed effects. The deviance comes from the fit's sufficient
statistics and the penalised least squares of :mod:`helpers._pls`, with the fixed
effects profiled out; the profile holds one parameter and re-optimises the others
(the fixed effects by an offset and :func:`helpers._pls.optimize`); the Wald standard
errors of the random part come from the curvature of the deviance. How the intervals
are defined: :mod:`helpers.confint`.

Imports: :mod:`helpers._pls` (the engine) and :mod:`helpers._profile` (the interface).
It reads only the public face of the fit (``X``, ``y``, ``Z``, ``group_codes``,
``blocks``, ``theta``, ``fixed``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import scipy.optimize

from ._pls import Stats, ThetaMap, optimize, solve_pls, sufficient_stats
from ._profile import DevianceProfile, cov_factor, random_params, sd_cor

__all__ = ["LmmProfile"]

# Relative step of the numerical Hessian: the deviance is accurate to about 1e-9,
# so smaller steps drown the curvature in rounding error.
_STEP = 1e-3


class LmmProfile(DevianceProfile):
    """The :class:`~helpers._profile.DevianceProfile` of a linear mixed model.

    Parameters: ``sd(term)``, ``cor(a, b)``, ``sigma``, with a residual structure its
    parameters (``phi``, the SD ratios), then the fixed effects. Wald
    standard errors: the fixed effects' from ``fit.fixed``, the random part's from
    the curvature of the fit's criterion (ML or REML) in (sd, cor, sigma), NaN on a
    boundary. The profile is that of the ML deviance (also for a REML fit, as
    lme4's), centred on the ML optimum. Bootstrap replicates are read from
    :func:`helpers.bootstrap`'s table (``random_part()``'s names).
    """

    def __init__(self, fit):
        self.fit = fit
        self.prob = _problem(fit)
        self.est_random = self.prob.from_theta(
            np.asarray(fit.theta, dtype=float), np.sqrt(fit.sigma2)
        )
        if self.prob.n_psi:  # a residual structure: its parameters follow sigma
            self.est_random = np.concatenate([self.est_random, self.prob.psi_hat])
        self.est_fixed = fit.fixed["estimate"].to_numpy()
        self.se_fixed = fit.fixed["std_error"].to_numpy()
        self.names = [*self.prob.names, *fit.fixed.index]
        self.kinds = [*self.prob.kinds, *["beta"] * len(self.est_fixed)]
        self.estimate = np.concatenate([self.est_random, self.est_fixed])

    def lower(self) -> np.ndarray:
        return np.concatenate([self.prob.lower(), np.full(len(self.est_fixed), -np.inf)])

    def upper(self) -> np.ndarray:
        return np.concatenate([self.prob.upper(), np.full(len(self.est_fixed), np.inf)])

    def standard_errors(self) -> np.ndarray:
        return np.concatenate([_wald_random(self.prob, self.est_random), self.se_fixed])

    def profile_search(self):
        se_random = _wald_random(self.prob, self.est_random)
        return _profile(self.prob, self.fit, se_random, self.se_fixed)

    def replicate_values(self, boot) -> np.ndarray:
        return _replicate_values(self.prob, self.fit, boot)


# ------------------------------------------------------------------------ the set-up


@dataclass
class _Problem:
    """The fit's sufficient statistics and the map between theta and (sd, cor, sigma)."""

    stats: Stats
    tmap: ThetaMap
    q: int
    names: list[str]  # parameter names of the random part, then "sigma"
    kinds: list[str]  # "sd", "cor" or "sigma"
    pairs: list[tuple[int, int]]  # term indices: (i, i) for an sd, (i, j) for a cor
    reml: bool
    # A residual structure (fit_lmm(..., residuals=, variance=)): its parameters follow
    # sigma in par (kinds "phi" and "ratio"), ``whitened(psi)`` gives the fit's rows
    # whitened at psi and log|Sigma / sigma^2|, or None outside the range.
    psi_hat: np.ndarray = None
    psi_bounds: list = None
    whitened: object = None
    psi_names: list = None

    @property
    def n_psi(self) -> int:
        return 0 if self.psi_hat is None else len(self.psi_hat)

    def lower(self):
        out = [-1.0 if k == "cor" else 0.0 for k in self.kinds[: len(self.pairs) + 1]]
        return np.array(out + [b[0] for b in self.psi_bounds or []])

    def upper(self):
        out = [1.0 if k == "cor" else np.inf for k in self.kinds[: len(self.pairs) + 1]]
        return np.array(out + [b[1] for b in self.psi_bounds or []])

    def to_theta(self, par):
        """(sd, cor, sigma) -> theta; a boundary value gives a singular T, not an error."""
        k = len(self.pairs)
        T = cov_factor(par[:k], self.pairs, self.kinds, self.q) / par[k]
        return T[self.tmap.rows, self.tmap.cols]

    def _stats_at(self, psi):
        """(statistics, log|Sigma / sigma^2|) of the rows whitened at psi, or None."""
        key = tuple(float(v) for v in psi)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            if len(cache) > 64:  # a profile visits many points once: keep memory bounded
                cache.clear()
            got = self.whitened(np.array(key))
            cache[key] = None if got is None else (sufficient_stats(got[0]), got[1])
        return cache[key]

    def from_theta(self, theta, sigma):
        T = self.tmap.T(theta)
        return np.array([*sd_cor(sigma**2 * (T @ T.T), self.pairs, self.kinds), sigma])

    def deviance(self, par, reml=None, stats=None, offset=None):
        """Deviance at (sd, cor, sigma), fixed effects profiled out; inf if impossible.
        ``offset=(k, x)``: fixed effect k held at x (with a residual structure, where
        the statistics depend on the residual parameters in par)."""
        reml = self.reml if reml is None else reml
        stats = self.stats if stats is None else stats
        k = len(self.pairs)
        sigma = par[k]
        if not sigma > 0:
            return np.inf
        logdet_resid = 0.0
        if self.n_psi:
            got = self._stats_at(par[k + 1 :])
            if got is None:
                return np.inf
            stats, logdet_resid = got
            if offset is not None:
                stats = _offset_stats(stats, *offset)
        pls = solve_pls(self.to_theta(par), stats, self.tmap, reml)
        if pls is None:
            return np.inf
        logdet = 2.0 * float(sum(np.sum(np.log(pls.L[c, c])) for c in range(self.q)))
        n, p = stats.n, len(pls.beta)
        nu = n
        if reml:
            logdet += 2.0 * float(np.sum(np.log(np.diag(pls.RX))))
            nu = n - p
        return logdet + logdet_resid + nu * np.log(2 * np.pi * sigma**2) + pls.r2 / sigma**2


def _problem(fit) -> _Problem:
    design = SimpleNamespace(groups=fit.groups, Z=fit.Z, X=fit.X, y=fit.y, codes=fit.group_codes)
    stats = sufficient_stats(design)
    q = fit.Z.shape[1]
    tmap = ThetaMap(fit.blocks, q)
    names, kinds, pairs = random_params(fit)
    prob = _Problem(stats, tmap, q, [*names, "sigma"], [*kinds, "sigma"], pairs, fit.reml)
    psi = getattr(fit, "residual_params", None)
    if psi is not None and len(psi):
        structure = fit.residual_structure
        prob.psi_hat = psi.to_numpy(dtype=float)
        prob.psi_bounds = [
            (structure.lower, structure.upper) if name == "phi" else (0.0, np.inf)
            for name in psi.index
        ]
        prob.psi_names = list(psi.index)  # as random_part() and the bootstrap table
        prob.names += [name if name == "phi" else f"sd ratio({name})" for name in psi.index]
        prob.kinds += ["phi" if name == "phi" else "ratio" for name in psi.index]

        def whitened(values):
            got = fit.whitened_rows(values)
            if got is None:
                return None
            X, Z, y, logdet = got
            rows = SimpleNamespace(groups=fit.groups, Z=Z, X=X, y=y, codes=fit.group_codes)
            return rows, logdet

        prob.whitened = whitened
    return prob


# ---------------------------------------------------------------------------- Wald


# ---------------------------------------------------------------------------- Wald


def _hessian(f, x, lo, hi):
    """Central-difference Hessian of f at x (steps kept inside the bounds)."""
    k = len(x)
    h = _STEP * np.maximum(np.abs(x), 0.1)
    H = np.empty((k, k))

    def at(i, si, j, sj):
        y = x.copy()
        y[i] += si * h[i]
        y[j] += sj * h[j]
        return f(y)

    f0 = f(x)
    for i in range(k):
        H[i, i] = (at(i, 1, i, 0) - 2 * f0 + at(i, -1, i, 0)) / h[i] ** 2
        for j in range(i + 1, k):
            H[i, j] = H[j, i] = (
                at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)
            ) / (4 * h[i] * h[j])
    return H


def _wald_random(prob: _Problem, est: np.ndarray) -> np.ndarray:
    """Standard errors of (sd, cor, sigma) from the deviance's curvature; NaN at a boundary."""
    lo, hi = prob.lower(), prob.upper()
    h = _STEP * np.maximum(np.abs(est), 0.1)
    if np.any(est - 2 * h <= lo) or np.any(est + 2 * h >= hi):
        return np.full(len(est), np.nan)
    H = _hessian(prob.deviance, est, lo, hi)
    try:
        cov = 2.0 * np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full(len(est), np.nan)
    d = np.diag(cov)
    return np.where(d > 0, np.sqrt(np.where(d > 0, d, 1.0)), np.nan)


# ------------------------------------------------------------------------- profile


# ------------------------------------------------------------------------- profile


def _ml_optimum(prob: _Problem, fit):
    """ML estimates of (sd, cor, sigma) and the minimum ML deviance."""
    if prob.n_psi:  # all variance parameters at once, from the fit's estimates
        start = np.concatenate(
            [prob.from_theta(np.asarray(fit.theta, float), np.sqrt(fit.sigma2)), prob.psi_hat]
        )
        dev, par = _profile_random(prob, None, None, start)
        stats, _ = prob._stats_at(par[len(prob.pairs) + 1 :])
        pls = solve_pls(prob.to_theta(par), stats, prob.tmap, False)
        return par, dev, pls.beta
    stats = prob.stats
    if fit.reml:
        opt = optimize(stats, prob.tmap, False, np.asarray(fit.theta, dtype=float))
        theta = opt.theta
    else:
        theta = np.asarray(fit.theta, dtype=float)
    pls = solve_pls(theta, stats, prob.tmap, False)
    sigma = np.sqrt(pls.r2 / stats.n)
    par = prob.from_theta(theta, sigma)
    return par, prob.deviance(par, reml=False), pls.beta


def _profile_random(prob: _Problem, k, x, start: np.ndarray, offset=None):
    """Minimum ML deviance with parameter k fixed at x (k None: nothing held); returns
    (deviance, optimum). ``offset=(j, b)``: fixed effect j held at b as well.

    The other standard deviations, sigma and SD ratios are optimised on the log scale
    (any real value is a valid point, and a step of one is a factor e), correlations
    and phi on their own scale within their range.
    """
    free = np.flatnonzero(np.arange(len(start)) != (-1 if k is None else k))
    lo, hi = prob.lower(), prob.upper()
    is_cor = np.array([prob.kinds[i] in ("cor", "phi") for i in free], dtype=bool)

    def to_par(z):
        par = start.copy()
        if k is not None:
            par[k] = x
        par[free] = np.where(is_cor, z, np.exp(np.where(is_cor, 0.0, z)))
        return par

    def f(z):
        return prob.deviance(to_par(z), reml=False, offset=offset)

    z0 = np.where(is_cor, start[free], np.log(np.maximum(np.where(is_cor, 1.0, start[free]), 1e-8)))
    # phi stays a hair inside an open end of its range (R is singular at +/-1)
    bounds = [
        (
            lo[i] + (1e-6 if prob.kinds[i] == "phi" and lo[i] < 0 else 0.0),
            hi[i] - (1e-6 if prob.kinds[i] == "phi" else 0.0),
        )
        if c
        else (None, None)
        for i, c in zip(free, is_cor, strict=True)
    ]
    best = None
    for _ in range(3):  # restart from the optimum: L-BFGS-B's first steps can stall
        res = scipy.optimize.minimize(
            f, z0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000, "ftol": 1e-12}
        )
        if best is not None and res.fun > best.fun - 1e-9:
            best = res if res.fun < best.fun else best
            break
        best, z0 = res, res.x
    return float(best.fun), to_par(best.x)


def _offset_stats(stats: Stats, k: int, value: float) -> Stats:
    """Statistics of the model with fixed effect k held at value (an offset)."""
    keep = np.flatnonzero(np.arange(stats.XtX.shape[0]) != k)
    xk_y = stats.Xty[k]
    return Stats(
        ZtZ=stats.ZtZ,
        ZtX=stats.ZtX[:, keep, :],
        Zty=stats.Zty - value * stats.ZtX[:, k, :],
        XtX=stats.XtX[np.ix_(keep, keep)],
        Xty=stats.Xty[keep] - value * stats.XtX[keep, k],
        yty=stats.yty - 2 * value * xk_y + value**2 * stats.XtX[k, k],
        n=stats.n,
        n_j=stats.n_j,
    )


def _profile_fixed(prob: _Problem, k: int, x: float, theta0: np.ndarray) -> float:
    """Minimum ML deviance with fixed effect k held at x (theta re-optimised)."""
    stats = _offset_stats(prob.stats, k, x)
    return float(optimize(stats, prob.tmap, False, np.asarray(theta0, dtype=float)).pls.deviance)


def _profile(prob, fit, se_random, se_fixed):
    """The profile's search (see DevianceProfile.profile_search): around the ML optimum."""
    par_ml, dev_ml, beta_ml = _ml_optimum(prob, fit)
    theta_ml = prob.to_theta(par_ml)
    n_random = len(par_ml)
    steps = []
    for k in range(n_random):
        step = se_random[k]
        if not np.isfinite(step) or step <= 0:
            step = 0.25 * max(abs(par_ml[k]), 0.05) if prob.kinds[k] != "cor" else 0.2
        steps.append(step)

    def minimise(k, x, start):
        if k < n_random:
            return _profile_random(prob, k, x, par_ml if start is None else start)
        if prob.n_psi:  # the residual parameters are re-estimated with theta and sigma
            return _profile_random(
                prob, None, None, par_ml if start is None else start, offset=(k - n_random, x)
            )
        return _profile_fixed(prob, k - n_random, x, theta_ml), None

    est = np.concatenate([par_ml, beta_ml])
    return est, [*steps, *se_fixed], dev_ml, minimise


# ------------------------------------------------------------------------ bootstrap


def _replicate_values(prob: _Problem, fit, boot) -> np.ndarray:
    """The bootstrap table's replicates on the scale of ``prob.names`` and the fixed effects."""
    columns = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for (i, j), kind in zip(prob.pairs, prob.kinds[: len(prob.pairs)], strict=True):
            if kind == "sd":
                columns.append(np.sqrt(np.clip(boot[f"sigma2_u{i}"].to_numpy(), 0, None)))
            else:
                var = boot[f"sigma2_u{i}"].to_numpy() * boot[f"sigma2_u{j}"].to_numpy()
                cor = boot[f"sigma_u{i}{j}"].to_numpy() / np.sqrt(var)
                columns.append(np.where(var > 0, np.clip(cor, -1, 1), np.nan))
    columns.append(np.sqrt(boot["sigma2_e"].to_numpy()))
    columns += [boot[name].to_numpy() for name in prob.psi_names or []]
    columns += [boot[term].to_numpy() for term in fit.fixed.index]
    return np.column_stack(columns)
