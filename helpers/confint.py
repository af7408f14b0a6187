"""Confidence intervals for all parameters of a linear mixed model: Wald, profile, bootstrap.

``confint(fit, method="profile")`` follows lme4's ``confint(fit, method = "profile")``
(Bates, Maechler, Bolker & Walker 2015, *Journal of Statistical Software* 67(1),
section 5.1). The random part is written on the scale lme4 profiles on: the
standard deviation of every random term, the correlation of every pair of terms
whose covariance is estimated, and the residual standard deviation ``sigma``. For a
parameter fixed at a value x, the deviance is minimised over all the others; the
signed square root of its increase over the minimum,

    zeta(x) = sign(x - x_hat) sqrt(d(x) - d(x_hat)),

is approximately standard normal, and the interval is where |zeta| <= z_(1+level)/2.
It is not symmetric, and it stops at a boundary (a standard deviation of 0, a
correlation of +/-1) when the deviance does not rise enough before it. As in lme4
the profile is that of the ML deviance, also for a REML fit.

``method="wald"`` gives estimate +/- z SE. For the fixed effects the standard errors
are those of ``fit.fixed``; for the random part they come from the curvature of the
deviance (the fit's criterion: ML or REML) on the same standard-deviation scale,
``SE = sqrt(diag(2 H^-1))``. Such intervals are symmetric and can cross zero; near
a boundary (a singular fit) they do not exist and are reported as NaN.

``method="bootstrap"`` gives parametric-bootstrap percentile intervals, as lme4's
``confint(fit, method = "boot")`` with its default ``boot.type = "perc"``: ``n``
outcomes are simulated from the fitted model and the model refitted to each
(:func:`helpers.bootstrap`); each end is a quantile of the refitted values of the
parameter, on the same scale as above (standard deviations, correlations,
``sigma``, fixed effects). They need no normality of the estimate and respect the
boundaries, but they are random: seed them, and use enough replicates for the
tails (lme4's default is 500).

The computations use only the public face of the fit (``X``, ``y``, ``Z``,
``group_codes``, ``blocks``, ``theta``, ...) and the engine of :mod:`helpers._pls`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats

from ._pls import Stats, ThetaMap, optimize, solve_pls, sufficient_stats

__all__ = ["confint"]

_METHODS = ("profile", "wald", "bootstrap")
# Relative step of the numerical Hessian: the deviance is accurate to about 1e-9,
# so smaller steps drown the curvature in rounding error.
_STEP = 1e-3


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

    def lower(self):
        return np.array([-1.0 if k == "cor" else 0.0 for k in self.kinds])

    def upper(self):
        return np.array([1.0 if k == "cor" else np.inf for k in self.kinds])

    def to_theta(self, par):
        """(sd, cor, sigma) -> theta; a boundary value gives a singular T, not an error."""
        sigma = par[-1]
        sd = np.zeros(self.q)
        R = np.eye(self.q)
        for (i, j), kind, v in zip(self.pairs, self.kinds[:-1], par[:-1], strict=True):
            if kind == "sd":
                sd[i] = v
            else:
                R[i, j] = R[j, i] = v
        C = _chol_psd(R)
        T = (sd[:, None] * C) / sigma
        return T[self.tmap.rows, self.tmap.cols]

    def from_theta(self, theta, sigma):
        T = self.tmap.T(theta)
        tau = sigma**2 * (T @ T.T)
        sd = np.sqrt(np.clip(np.diag(tau), 0, None))
        out = []
        for (i, j), kind in zip(self.pairs, self.kinds[:-1], strict=True):
            if kind == "sd":
                out.append(sd[i])
            else:
                denom = sd[i] * sd[j]
                out.append(float(np.clip(tau[i, j] / denom, -1, 1)) if denom > 0 else 0.0)
        return np.array([*out, sigma])

    def deviance(self, par, reml=None, stats=None):
        """Deviance at (sd, cor, sigma), fixed effects profiled out; inf if impossible."""
        reml = self.reml if reml is None else reml
        stats = self.stats if stats is None else stats
        sigma = par[-1]
        if not sigma > 0:
            return np.inf
        pls = solve_pls(self.to_theta(par), stats, self.tmap, reml)
        if pls is None:
            return np.inf
        logdet = 2.0 * float(sum(np.sum(np.log(pls.L[c, c])) for c in range(self.q)))
        n, p = stats.n, len(pls.beta)
        nu = n
        if reml:
            logdet += 2.0 * float(np.sum(np.log(np.diag(pls.RX))))
            nu = n - p
        return logdet + nu * np.log(2 * np.pi * sigma**2) + pls.r2 / sigma**2


def _chol_psd(R):
    """Lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed)."""
    k = R.shape[0]
    L = np.zeros_like(R)
    for c in range(k):
        d = R[c, c] - np.sum(L[c, :c] ** 2)
        L[c, c] = np.sqrt(max(d, 0.0))
        for r in range(c + 1, k):
            if L[c, c] > 1e-12:
                L[r, c] = (R[r, c] - np.sum(L[r, :c] * L[c, :c])) / L[c, c]
    return L


def _problem(fit) -> _Problem:
    design = SimpleNamespace(groups=fit.groups, Z=fit.Z, X=fit.X, y=fit.y, codes=fit.group_codes)
    stats = sufficient_stats(design)
    q = fit.Z.shape[1]
    tmap = ThetaMap(fit.blocks, q)
    terms = fit.random_terms
    names, kinds, pairs = [], [], []
    for i, a in enumerate(terms):
        names.append(f"sd({a})")
        kinds.append("sd")
        pairs.append((i, i))
    for i in range(q):
        for j in range(i + 1, q):
            if fit.theta_is_free(i, j):
                names.append(f"cor({terms[i]}, {terms[j]})")
                kinds.append("cor")
                pairs.append((i, j))
    return _Problem(stats, tmap, q, [*names, "sigma"], [*kinds, "sigma"], pairs, fit.reml)


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


def _ml_optimum(prob: _Problem, fit):
    """ML estimates of (sd, cor, sigma) and the minimum ML deviance."""
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


def _profile_random(prob: _Problem, k: int, x: float, start: np.ndarray):
    """Minimum ML deviance with parameter k fixed at x; returns (deviance, optimum).

    The other standard deviations and sigma are optimised on the log scale (any
    real value is a valid point, and a step of one is a factor e), correlations on
    their own scale within [-1, 1].
    """
    free = np.flatnonzero(np.arange(len(start)) != k)
    is_cor = np.array([prob.kinds[i] == "cor" for i in free], dtype=bool)

    def to_par(z):
        par = start.copy()
        par[k] = x
        par[free] = np.where(is_cor, z, np.exp(np.where(is_cor, 0.0, z)))
        return par

    def f(z):
        return prob.deviance(to_par(z), reml=False)

    z0 = np.where(is_cor, start[free], np.log(np.maximum(np.where(is_cor, 1.0, start[free]), 1e-8)))
    bounds = [(-1.0, 1.0) if c else (None, None) for c in is_cor]
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


def _invert(zeta, est, step, lo, hi, crit):
    """Lower and upper ends where zeta(x) = -crit and +crit.

    zeta is nearly linear in x (exactly so when the likelihood is normal), so a
    secant search that starts from the Wald end ``est +/- crit step`` needs few
    profile evaluations; once the root is bracketed it stays inside the bracket
    (bisecting when a secant step would leave it). A boundary is the end when zeta
    has not reached the cut-off there.
    """
    return [_invert_side(zeta, est, step, bound, s * crit) for s, bound in ((-1, lo), (1, hi))]


def _invert_side(zeta, est, step, bound, target):
    sign = np.sign(target)
    x_prev, z_prev = est, 0.0
    inside, outside = est, None
    x = est + target * step
    if (x - bound) * sign >= 0:
        x = bound
    for _ in range(40):
        z = zeta(x)
        if abs(z - target) < 1e-5:
            return x
        if (z - target) * sign > 0:
            outside = x
        elif x == bound:
            return bound  # the deviance does not rise enough before the boundary
        else:
            inside = x
        slope = (z - z_prev) / (x - x_prev) if x != x_prev else np.nan
        x_new = x + (target - z) / slope if np.isfinite(slope) and slope > 0 else np.nan
        if outside is not None:
            a, b = sorted((inside, outside))
            if not (np.isfinite(x_new) and a < x_new < b):
                x_new = 0.5 * (inside + outside)
        elif not np.isfinite(x_new) or (x_new - x) * sign <= 0:
            x_new = x + (x - est)
        if (x_new - bound) * sign >= 0:
            x_new = bound
        if abs(x_new - x) < 1e-8 * max(1.0, abs(x)):
            return x_new
        x_prev, z_prev, x = x, z, x_new
    return np.nan


# ------------------------------------------------------------------------ public API


def confint(
    fit, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
) -> pd.DataFrame:
    """Confidence intervals for every parameter of a linear mixed model.

    Parameters
    ----------
    fit
        A fitted :class:`helpers.LmmFit` (from :func:`helpers.fit_lmm`).
    method
        ``"profile"`` (default, as lme4): invert the profiled ML deviance, one
        parameter at a time. ``"wald"``: estimate +/- z standard errors.
        ``"bootstrap"``: parametric-bootstrap *percentile* intervals (lme4's
        ``method = "boot"``): the (1 - level)/2 and (1 + level)/2 quantiles of the
        parameter over ``n`` refits to outcomes simulated from the fit.
    level
        Confidence level, between 0 and 1 (default 0.95).
    n
        Bootstrap replicates (``method="bootstrap"`` only; default 1000).
    seed
        An integer, a numpy Generator or None: the bootstrap's randomness
        (``method="bootstrap"`` only). The same integer gives the same intervals.

    Returns
    -------
    pandas.DataFrame
        Index ``parameter``: ``sd(term)`` for every random term, ``cor(a, b)`` for
        every estimated correlation, ``sigma`` (residual standard deviation), then the
        fixed effects by term. Columns ``estimate, ci_lower, ci_upper``. The estimates
        are the fit's (REML or ML). A profile end that the deviance never reaches is
        NaN; one at a boundary is the boundary (0 for a standard deviation, +/-1 for
        a correlation). A bootstrap correlation is taken over the refits in which
        both variances are positive (it is undefined in the others).
    """
    from .lmm import LmmFit

    if not isinstance(fit, LmmFit):
        raise TypeError(
            f"confint needs a linear mixed model from hp.fit_lmm, not {type(fit).__name__}."
        )
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, not {method!r}.")
    method = method.lower()
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating):
        raise TypeError(f"level must be a number between 0 and 1, not {level!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95), not {level!r}.")
    if method != "bootstrap" and (n is not None or seed is not None):
        raise ValueError(
            f"n and seed set the bootstrap's replicates; method={method!r} does not use "
            "them. Pass method='bootstrap', or leave n and seed out."
        )
    crit = scipy.stats.norm.ppf(0.5 + level / 2)
    prob = _problem(fit)
    est_random = prob.from_theta(np.asarray(fit.theta, dtype=float), np.sqrt(fit.sigma2))
    est_fixed = fit.fixed["estimate"].to_numpy()
    se_fixed = fit.fixed["std_error"].to_numpy()
    if method == "bootstrap":
        lower, upper = _bootstrap(prob, fit, level, 1000 if n is None else n, seed)
    elif method == "wald":
        se_random = _wald_random(prob, est_random)
        lower = np.concatenate([est_random - crit * se_random, est_fixed - crit * se_fixed])
        upper = np.concatenate([est_random + crit * se_random, est_fixed + crit * se_fixed])
    else:
        lower, upper = _profile(prob, fit, crit, _wald_random(prob, est_random), se_fixed)
    index = pd.Index([*prob.names, *fit.fixed.index], name="parameter")
    return pd.DataFrame(
        {
            "estimate": np.concatenate([est_random, est_fixed]),
            "ci_lower": lower,
            "ci_upper": upper,
        },
        index=index,
    )


def _profile(prob, fit, crit, se_random, se_fixed):
    par_ml, dev_ml, beta_ml = _ml_optimum(prob, fit)
    theta_ml = prob.to_theta(par_ml)
    lo, hi = prob.lower(), prob.upper()
    lower, upper = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(len(par_ml)):
            start = [par_ml]

            def zeta(x, k=k, start=start):
                d, par = _profile_random(prob, k, x, start[0])
                start[0] = par
                return np.sign(x - par_ml[k]) * np.sqrt(max(d - dev_ml, 0.0))

            step = se_random[k]
            if not np.isfinite(step) or step <= 0:
                step = 0.25 * max(abs(par_ml[k]), 0.05) if prob.kinds[k] != "cor" else 0.2
            low, up = _invert(zeta, par_ml[k], step, lo[k], hi[k], crit)
            lower.append(low)
            upper.append(up)
        for k in range(len(beta_ml)):

            def zeta_b(x, k=k):
                d = _profile_fixed(prob, k, x, theta_ml)
                return np.sign(x - beta_ml[k]) * np.sqrt(max(d - dev_ml, 0.0))

            low, up = _invert(zeta_b, beta_ml[k], se_fixed[k], -np.inf, np.inf, crit)
            lower.append(low)
            upper.append(up)
    return np.array(lower), np.array(upper)


def _bootstrap(prob: _Problem, fit, level: float, n, seed):
    """Percentile intervals from the parametric bootstrap, on the scale of ``prob.names``."""
    from .resample import bootstrap

    boot = bootstrap(fit, n=n, seed=seed)
    columns = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for (i, j), kind in zip(prob.pairs, prob.kinds[:-1], strict=True):
            if kind == "sd":
                columns.append(np.sqrt(np.clip(boot[f"sigma2_u{i}"].to_numpy(), 0, None)))
            else:
                var = boot[f"sigma2_u{i}"].to_numpy() * boot[f"sigma2_u{j}"].to_numpy()
                cor = boot[f"sigma_u{i}{j}"].to_numpy() / np.sqrt(var)
                columns.append(np.where(var > 0, np.clip(cor, -1, 1), np.nan))
    columns.append(np.sqrt(boot["sigma2_e"].to_numpy()))
    columns += [boot[term].to_numpy() for term in fit.fixed.index]
    values = np.column_stack(columns)
    probs = [(1 - level) / 2, (1 + level) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN: its ends are NaN
        lower, upper = np.nanquantile(values, probs, axis=0)
    return lower, upper
