"""Confidence intervals for all parameters of a mixed model: Wald, profile, bootstrap.

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

Generalised linear mixed models (a :class:`helpers.GlmmFit`) follow glmer's
``confint``. There is no residual scale, so the parameters are the standard
deviations and correlations of the random part (on the link scale) and the fixed
effects. ``method="profile"`` profiles the deviance the fit minimised (the
Laplace approximation, or adaptive Gauss-Hermite quadrature with the fit's
``nagq``): as lme4's ``profile()`` of a glmer fit, every parameter, fixed effects
included, is held in turn while all the others, fixed effects included, are
re-optimised, with the conditional modes found by penalised IRLS at every point
(glmer's second stage). ``method="wald"`` gives the fixed effects glmer's Wald
intervals (``fit.fixed``'s standard errors); glmer gives NA for the random part,
where here, as for a linear mixed model, the standard errors come from the
curvature of the deviance on the standard-deviation scale (NaN on a boundary).
``method="bootstrap"`` is not available for a GLMM (a ValueError says so).

The computations use only the public face of the fit (``X``, ``y``, ``Z``,
``group_codes``, ``blocks``, ``theta``, ...) and the engines of :mod:`helpers._pls`
and :mod:`helpers._pirls`.
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
        T = _cov_factor(par[:-1], self.pairs, self.kinds, self.q) / par[-1]
        return T[self.tmap.rows, self.tmap.cols]

    def from_theta(self, theta, sigma):
        T = self.tmap.T(theta)
        return np.array([*_sd_cor(sigma**2 * (T @ T.T), self.pairs, self.kinds), sigma])

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


def _cov_factor(values, pairs, kinds, q):
    """Standard deviations and correlations -> a lower-triangular T with T T' = tau.

    ``pairs[k]`` is (i, i) for the sd of term i and (i, j) for the correlation of
    terms i and j; ``kinds[k]`` says which (extra trailing kinds are ignored). A
    boundary value (an sd of 0, a correlation of +/-1) gives a singular T.
    """
    sd = np.zeros(q)
    R = np.eye(q)
    for (i, j), kind, v in zip(pairs, kinds[: len(pairs)], values, strict=True):
        if kind == "sd":
            sd[i] = v
        else:
            R[i, j] = R[j, i] = v
    return sd[:, None] * _chol_psd(R)


def _sd_cor(tau, pairs, kinds) -> list[float]:
    """A covariance matrix -> the standard deviations and correlations named by pairs."""
    sd = np.sqrt(np.clip(np.diag(tau), 0, None))
    out = []
    for (i, j), kind in zip(pairs, kinds[: len(pairs)], strict=True):
        if kind == "sd":
            out.append(float(sd[i]))
        elif kind == "cor":
            denom = sd[i] * sd[j]
            out.append(float(np.clip(tau[i, j] / denom, -1, 1)) if denom > 0 else 0.0)
    return out


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


def _random_params(fit) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Names, kinds ("sd"/"cor") and term pairs of the random part's parameters."""
    terms = fit.random_terms
    q = len(terms)
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
    return names, kinds, pairs


def _problem(fit) -> _Problem:
    design = SimpleNamespace(groups=fit.groups, Z=fit.Z, X=fit.X, y=fit.y, codes=fit.group_codes)
    stats = sufficient_stats(design)
    q = fit.Z.shape[1]
    tmap = ThetaMap(fit.blocks, q)
    names, kinds, pairs = _random_params(fit)
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


# ---------------------------------------------------------------- profile driver


def _profile_ends(est, steps, lo, hi, crit, dev_min, minimise):
    """Both profile ends of every parameter.

    ``minimise(k, x, start)`` returns the minimum deviance with parameter k held at
    x and the optimum it found (or None); ``start`` is the optimum of the previous
    point on the same side of the estimate (None for the first: start from the
    fit). zeta(x) = sign(x - est) sqrt(d(x) - dev_min) is inverted by :func:`_invert`.
    """
    lower, upper = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(len(est)):
            starts: dict[bool, np.ndarray | None] = {}

            def zeta(x, k=k, starts=starts):
                side = bool(x > est[k])
                d, opt = minimise(k, x, starts.get(side))
                starts[side] = opt
                return np.sign(x - est[k]) * np.sqrt(max(d - dev_min, 0.0))

            low, up = _invert(zeta, est[k], steps[k], lo[k], hi[k], crit)
            lower.append(low)
            upper.append(up)
    return np.array(lower), np.array(upper)


# ------------------------------------------------------------------------ public API


def confint(
    fit, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
) -> pd.DataFrame:
    """Confidence intervals for every parameter of a linear or generalised linear mixed model.

    Parameters
    ----------
    fit
        A fitted :class:`helpers.LmmFit` (from :func:`helpers.fit_lmm`) or
        :class:`helpers.GlmmFit` (from :func:`helpers.fit_glmm`).
    method
        ``"profile"`` (default, as lme4): invert the profiled ML deviance (for a
        GLMM the fit's own deviance, Laplace or quadrature), one parameter at a
        time. ``"wald"``: estimate +/- z standard errors. ``"bootstrap"`` (linear
        mixed models only): parametric-bootstrap *percentile* intervals (lme4's
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
        every estimated correlation, ``sigma`` (residual standard deviation; not for
        a GLMM, which has none), then the fixed effects by term. Columns
        ``estimate, ci_lower, ci_upper``. The estimates are the fit's (REML or ML).
        A profile end that the deviance never reaches is NaN; one at a boundary is
        the boundary (0 for a standard deviation, +/-1 for a correlation). A
        bootstrap correlation is taken over the refits in which both variances are
        positive (it is undefined in the others).
    """
    from .glmm import GlmmFit
    from .lmm import LmmFit

    if not isinstance(fit, LmmFit | GlmmFit):
        raise TypeError(
            f"confint needs a mixed model from hp.fit_lmm or hp.fit_glmm, not {type(fit).__name__}."
        )
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, not {method!r}.")
    method = method.lower()
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating):
        raise TypeError(f"level must be a number between 0 and 1, not {level!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95), not {level!r}.")
    if isinstance(fit, GlmmFit) and method == "bootstrap":
        raise ValueError(
            "method='bootstrap' is available for linear mixed models (hp.fit_lmm) only: "
            "a GLMM fit cannot yet be simulated from and refitted. Use method='profile' "
            "(the default; likelihood-profile intervals) or method='wald'."
        )
    if method != "bootstrap" and (n is not None or seed is not None):
        raise ValueError(
            f"n and seed set the bootstrap's replicates; method={method!r} does not use "
            "them. Pass method='bootstrap', or leave n and seed out."
        )
    crit = scipy.stats.norm.ppf(0.5 + level / 2)
    if isinstance(fit, GlmmFit):
        names, est, lower, upper = _glmm_intervals(fit, method, crit)
        return _table(names, est, lower, upper)
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
    names = [*prob.names, *fit.fixed.index]
    return _table(names, np.concatenate([est_random, est_fixed]), lower, upper)


def _table(names, est, lower, upper) -> pd.DataFrame:
    return pd.DataFrame(
        {"estimate": est, "ci_lower": lower, "ci_upper": upper},
        index=pd.Index(names, name="parameter"),
    )


def _profile(prob, fit, crit, se_random, se_fixed):
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
        return _profile_fixed(prob, k - n_random, x, theta_ml), None

    est = np.concatenate([par_ml, beta_ml])
    lo = np.concatenate([prob.lower(), np.full(len(beta_ml), -np.inf)])
    hi = np.concatenate([prob.upper(), np.full(len(beta_ml), np.inf)])
    return _profile_ends(est, [*steps, *se_fixed], lo, hi, crit, dev_ml, minimise)


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


# --------------------------------------------------- generalised linear mixed models


class _GlmmProblem:
    """A GLMM fit's deviance as a function of its parameters, for profiling.

    The parameters are those lme4 profiles a GLMM on, ``par = (sd, cor, beta)``:
    the standard deviation of every random term, the estimated correlations, and
    the fixed effects (no residual scale). The deviance is the fit's own
    (:class:`helpers._pirls.Objective`: the Laplace approximation, or adaptive
    Gauss-Hermite quadrature with the fit's ``nagq``), with the conditional modes
    found by penalised IRLS for each (theta, beta), as glmer's second stage.

    The searches work on internal coordinates ``w`` in which the engine's columns
    are centred and scaled (:func:`helpers.glmm.engine_problem`): ``par = A @ w``
    with ``A`` diagonal in the random part (``1 / zscale`` for a standard
    deviation, 1 for a correlation) and ``Minv`` for the fixed effects. There the
    deviance's curvature is of the same order in every direction, whatever the
    units of the data.
    """

    def __init__(self, fit):
        from . import _pirls
        from .glmm import engine_problem

        pb, _, Minv, zscale = engine_problem(
            _pirls.Family(fit.family, fit.link),
            fit.y,
            fit.weights,
            fit.offset,
            fit.X,
            fit.Z,
            fit.group_codes,
            fit.n_groups,
            fit.blocks,
            fit.fixed_names,
        )
        self.obj = _pirls.Objective(pb, fit.nagq)
        self.engine_lower = np.concatenate([pb.theta_lower(), np.full(pb.p, -np.inf)])
        self.rows, self.cols = pb.lower_idx
        self.q = pb.q
        names, kinds, pairs = _random_params(fit)
        self.n_random = len(names)
        self.names = [*names, *fit.fixed.index]
        self.kinds = [*kinds, *["beta"] * pb.p]
        self.pairs = pairs
        k = self.n_random + pb.p
        self.A = np.zeros((k, k))
        for r, ((i, _), kind) in enumerate(zip(pairs, kinds, strict=True)):
            self.A[r, r] = 1.0 / zscale[i] if kind == "sd" else 1.0
        self.A[self.n_random :, self.n_random :] = Minv
        tau = fit.tau.to_numpy()
        self.par_hat = np.concatenate(
            [_sd_cor(tau, pairs, kinds), fit.fixed["estimate"].to_numpy()]
        )
        self.w_hat = np.linalg.solve(self.A, self.par_hat)
        self.dev_hat = self.deviance(self.w_hat)
        self.lowest = self.dev_hat

    def lower(self):
        return np.array([{"sd": 0.0, "cor": -1.0}.get(k, -np.inf) for k in self.kinds])

    def upper(self):
        return np.array([1.0 if k == "cor" else np.inf for k in self.kinds])

    def _engine_x(self, w):
        nr = self.n_random
        T = _cov_factor(w[:nr], self.pairs, self.kinds, self.q)
        return np.concatenate([T[self.rows, self.cols], w[nr:]])

    def deviance(self, w) -> float:
        return float(self.obj(self._engine_x(w)))

    def gradient(self, w) -> np.ndarray:
        """d dev / d w: the engine's gradient in (theta, beta) by the chain rule.

        theta is linear in each standard deviation; its derivative in a correlation
        (through a Cholesky factor) is taken by central differences of that cheap
        map (one-sided at +/-1).
        """
        x = self._engine_x(w)
        g = self.obj.gradient(x, self.engine_lower)
        nr, nt = self.n_random, len(self.rows)
        out = np.empty(len(w))
        out[nr:] = g[nt:]
        lo, hi = self.lower(), self.upper()
        for j in range(nr):
            h = 1e-7 * max(1.0, abs(w[j]))
            wp, wm = w.copy(), w.copy()
            wp[j] = min(w[j] + h, hi[j])
            wm[j] = max(w[j] - h, lo[j])
            dtheta = (self._engine_x(wp)[:nt] - self._engine_x(wm)[:nt]) / (wp[j] - wm[j])
            out[j] = dtheta @ g[:nt]
        return out

    def hessian(self) -> np.ndarray | None:
        """Hessian of the deviance in w at the estimates (central differences of the
        gradient); None when a random-part parameter is on, or within two difference
        steps of, its boundary (where the deviance is not smooth on both sides)."""
        if not hasattr(self, "_H"):
            w = self.w_hat
            h = 1e-4 * np.maximum(1.0, np.abs(w))
            self._H = None
            if np.all(w - 2 * h > self.lower()) and np.all(w + 2 * h < self.upper()):
                H = np.empty((len(w), len(w)))
                for i in range(len(w)):
                    e = np.zeros(len(w))
                    e[i] = h[i]
                    H[:, i] = (self.gradient(w + e) - self.gradient(w - e)) / (2 * h[i])
                H = 0.5 * (H + H.T)
                if np.all(np.isfinite(H)) and np.linalg.eigvalsh(H).min() > 0:
                    self._H = H
        return self._H

    def wald_se(self) -> np.ndarray:
        """Standard errors of par from the deviance's curvature (the covariance of par
        is A (2 H^-1) A'); NaN where :meth:`hessian` is None."""
        H = self.hessian()
        if H is None:
            return np.full(len(self.w_hat), np.nan)
        d = np.diag(self.A @ (2.0 * np.linalg.inv(H)) @ self.A.T)
        return np.sqrt(d)

    def minimise(self, k: int, x: float, start):
        """Minimum deviance with parameter k held at x (public scale); (deviance, w).

        Near the estimates the deviance is nearly quadratic, so the search starts
        where the quadratic model (the Hessian at the estimates) puts the minimum,
        moved from the previous point of the profile (``start``), and takes
        quasi-Newton steps from that Hessian. If a step would leave the parameter
        space, or there is no Hessian (a boundary fit), the fit's own bounded
        quasi-Newton search (L-BFGS-B) takes over. ``lowest`` keeps the lowest
        deviance seen (a check that the fit was at its optimum).
        """
        dev, w = self._minimise(k, x, start)
        self.lowest = min(self.lowest, dev)
        return dev, w

    def _minimise(self, k: int, x: float, start):
        from .glmm import _lbfgs, _leave_edge

        held = _Held(self, k, x)
        lo, hi = self.lower()[held.free], self.upper()[held.free]
        w0 = self.w_hat if start is None else start
        H = self.hessian()
        if H is not None:
            a = held.a
            v = np.linalg.solve(H, a)
            w0 = w0 + (x - a @ w0) * v / (a @ v)  # the quadratic model's minimiser
        z0 = np.clip(w0[held.free], lo, hi)
        if H is not None:
            P = held.basis()
            found = _bfgs(held, z0, P.T @ H @ P, lo, hi)
            if found is not None:
                return found[1], held.full(found[0])
        bounds = [
            (lo_i if np.isfinite(lo_i) else None, hi_i if np.isfinite(hi_i) else None)
            for lo_i, hi_i in zip(lo, hi, strict=True)
        ]
        res = _lbfgs(held, z0, lo, bounds)
        z = _leave_edge(held, res.x.copy(), lo, bounds)
        return held(z), held.full(z)


def _bfgs(f, z, B, lo, hi, steps: int = 50):
    """Minimise f from z by quasi-Newton steps from the Hessian approximation B.

    Each step solves B d = -g, halves it until the deviance falls enough (Armijo),
    and updates B by BFGS. Converged when the Newton decrement g' B^-1 g (twice the
    predicted decrease) is below 1e-9, as the fit's own Newton steps. Returns
    (z, f(z)), or None if a step would leave [lo, hi] or makes no progress.
    """
    fz = f(z)
    g = f.gradient(z)
    for _ in range(steps):
        try:
            d = -np.linalg.solve(B, g)
        except np.linalg.LinAlgError:
            return None
        decrement = -g @ d
        if not np.isfinite(decrement) or decrement < 0:
            return None
        if decrement < 1e-9:
            return z, fz
        if np.any(z + d < lo) or np.any(z + d > hi):
            return None
        t = 1.0
        while True:
            zn = z + t * d
            fn = f(zn)
            if fn <= fz - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-3:
                return None
        gn = f.gradient(zn)
        s, y = zn - z, gn - g
        if s @ y > 1e-12 * np.sqrt((s @ s) * (y @ y)):
            Bs = B @ s
            B = B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (s @ y)
        z, fz, g = zn, fn, gn
    return None


class _Held:
    """The deviance of a :class:`_GlmmProblem` with parameter k held at x.

    par_k = a . w (a = row k of A), so the held coordinate is w_k = (x - sum_{j != k}
    a_j w_j) / a_k and the others are free; the interface (a call and
    ``gradient(z, lower)``) is that of the engine's objective, so the fit's own
    bounded quasi-Newton search minimises it.
    """

    def __init__(self, gp: _GlmmProblem, k: int, x: float):
        self.gp, self.k, self.x = gp, k, x
        self.a = gp.A[k]
        self.free = np.flatnonzero(np.arange(len(self.a)) != k)

    def basis(self) -> np.ndarray:
        """P with w = full(0) + P z: the free coordinates and the held one they move."""
        P = np.zeros((len(self.a), len(self.free)))
        P[self.free, np.arange(len(self.free))] = 1.0
        P[self.k] = -self.a[self.free] / self.a[self.k]
        return P

    def full(self, z):
        w = np.empty(len(self.a))
        w[self.free] = z
        w[self.k] = (self.x - self.a[self.free] @ z) / self.a[self.k]
        return w

    def __call__(self, z) -> float:
        return self.gp.deviance(self.full(z))

    def gradient(self, z, lower=None) -> np.ndarray:
        g = self.gp.gradient(self.full(z))
        return g[self.free] - g[self.k] * self.a[self.free] / self.a[self.k]


def _glmm_intervals(fit, method, crit):
    """Wald or profile intervals of a GlmmFit: (names, estimates, lower, upper)."""
    gp = _GlmmProblem(fit)
    nr = gp.n_random
    est = gp.par_hat
    se = gp.wald_se()
    se[nr:] = fit.fixed["std_error"].to_numpy()  # glmer's Wald standard errors
    if method == "wald":
        return gp.names, est, est - crit * se, est + crit * se
    steps = se.copy()
    for k in np.flatnonzero(~(np.isfinite(se) & (se > 0))):
        # A random-part parameter on (or near) its boundary: a step of a quarter of
        # the estimate, at least 0.05 on the internal (unit-free) scale.
        if gp.kinds[k] == "cor":
            steps[k] = 0.2
        else:
            steps[k] = 0.25 * max(abs(gp.w_hat[k]), 0.05) * gp.A[k, k]
    lower, upper = _profile_ends(est, steps, gp.lower(), gp.upper(), crit, gp.dev_hat, gp.minimise)
    if gp.lowest < gp.dev_hat - 1e-6:
        from .lmm import ConvergenceWarning

        warnings.warn(
            f"Profiling found a deviance {gp.dev_hat - gp.lowest:.2g} below the fit's "
            f"({gp.dev_hat:.10g}): the fit had not reached its optimum, so the profile "
            "(measured from the fit's deviance) is off. Check fit.converged and the "
            "warnings of the fit.",
            ConvergenceWarning,
            stacklevel=4,
        )
    return gp.names, est, lower, upper
