"""Empirical Bayes shrinkage: group estimates as weighted averages, and what they buy.

For a fitted model, a group's *own* estimate of its random effects is the OLS
regression of its residuals from the fixed part on its random-effects design,

    b_own_j = (Z_j'Z_j)^-1 Z_j' (y_j - X_j beta),

and the conditional mode (empirical Bayes estimate, :meth:`LmmFit.ranef`) is a
matrix-weighted average of it and the overall value 0:

    b_eb_j = W_j b_own_j,   W_j = tau (tau + sigma^2 (Z_j'Z_j)^-1)^-1.

With a random intercept only, W_j is the reliability
lambda_j = tau_00 / (tau_00 + sigma^2 / n_j) of the group's mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from ._fit import MixedFit, check_fit, invertible

__all__ = [
    "PoolingSimulation",
    "own_estimates",
    "pooling_simulation",
    "shrinkage_table",
    "shrinkage_weights",
]


def _group_residual_stats(fit: MixedFit):
    Z, codes = fit.Z, fit.group_codes
    J, q = fit.n_groups, Z.shape[1]
    r = fit.y - fit.X @ fit.beta
    Ztr = np.stack([np.bincount(codes, weights=Z[:, a] * r, minlength=J) for a in range(q)], axis=1)
    return fit.ZtZ, Ztr


def own_estimates(fit: MixedFit) -> pd.DataFrame:
    """Each group's own OLS estimate of its random effects, given the fixed part.

    NaN for a group whose Z_j'Z_j is singular (e.g. a random slope in a group
    where the predictor does not vary).
    """
    check_fit(fit, "The argument of own_estimates")
    ZtZ, Ztr = _group_residual_stats(fit)
    out = np.full(Ztr.shape, np.nan)
    ok = invertible(ZtZ)
    out[ok] = np.linalg.solve(ZtZ[ok], Ztr[ok][..., None])[..., 0]
    return pd.DataFrame(out, index=fit.groups, columns=fit.tau.index)


def shrinkage_weights(fit: MixedFit) -> np.ndarray:
    """The weight matrices W_j (J x q x q) with ranef = W_j @ own estimate.

    Raises for a singular fit, where tau is not invertible and a random effect is
    shrunk to the fixed part entirely.
    """
    check_fit(fit, "The argument of shrinkage_weights")
    tau = fit.tau.to_numpy()
    if fit.singular or np.linalg.matrix_rank(tau) < tau.shape[0]:
        raise ValueError(
            "The fit is singular (a variance at zero or a correlation at +/-1): the "
            "weights are not defined. Simplify the random part first."
        )
    ZtZ = fit.ZtZ
    W = np.full(ZtZ.shape, np.nan)
    ok = invertible(ZtZ)
    inv = np.linalg.inv(ZtZ[ok])
    W[ok] = tau @ np.linalg.inv(tau + fit.sigma2 * inv)
    return W


def shrinkage_table(fit: MixedFit) -> pd.DataFrame:
    """The weighted-average decomposition for a random-intercept model, one row per group.

    Columns: ``n``; ``own`` (the group's own estimate of its deviation u_0j:
    mean residual from the fixed part); ``reliability`` (lambda_j);
    ``weighted`` (lambda_j * own); ``eb`` (the conditional mode from
    :meth:`LmmFit.ranef`, equal to ``weighted``); ``shrinkage`` (own - eb, the
    amount pulled toward the overall value) and ``share_shrunk`` (1 - lambda_j,
    the proportion pulled).
    """
    check_fit(fit, "The argument of shrinkage_table")
    if list(fit.tau.index) != ["Intercept"]:
        raise ValueError(
            "shrinkage_table is for random-intercept models (1 | group); for random slopes "
            "use own_estimates and shrinkage_weights, where the weights are matrices."
        )
    own = own_estimates(fit)["Intercept"]
    lam = fit.reliability()["Intercept"]
    eb = fit.ranef()["Intercept"]
    table = pd.DataFrame(
        {
            "n": fit.group_sizes(),
            "own": own,
            "reliability": lam,
            "weighted": lam * own,
            "eb": eb,
        }
    )
    table["shrinkage"] = table["own"] - table["eb"]
    table["share_shrunk"] = 1 - table["reliability"]
    return table


# ------------------------------------------------------------- replicate simulation


@dataclass
class PoolingSimulation:
    """Bias, variance and MSE of three estimators of every group's true mean.

    ``per_group`` has one row per group and columns ``(method, statistic)`` with
    methods ``no pooling`` (the group mean), ``complete pooling`` (the grand mean)
    and ``partial pooling`` (the empirical Bayes estimate from a random-intercept
    model fitted to each replicate), and statistics ``bias``, ``variance``,
    ``mse``; plus ``n`` and ``truth``. ``totals`` sums bias^2, variance and MSE
    over the groups.
    """

    per_group: pd.DataFrame
    totals: pd.DataFrame
    n_rep: int


def pooling_simulation(
    true_means, sizes, *, sigma2: float, n_rep: int = 200, seed: int = 1
) -> PoolingSimulation:
    """Redraw the individuals of fixed groups many times and score three estimators.

    The groups keep their true means ``true_means`` and sizes ``sizes``; in every
    replicate each individual is ``true_mean_j + e_ij`` with ``e_ij ~ N(0, sigma2)``.
    """
    mu = np.asarray(true_means, dtype=float)
    n = np.asarray(sizes)
    if mu.ndim != 1 or n.shape != mu.shape or len(mu) < 2:
        raise ValueError("true_means and sizes must be 1-d of the same length (at least 2 groups).")
    if not np.all(np.isfinite(mu)):
        raise ValueError("true_means must be finite numbers.")
    if not (np.issubdtype(n.dtype, np.integer) and np.all(n >= 1)):
        raise ValueError("sizes must be positive integers.")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be positive, not {sigma2!r}.")
    if isinstance(n_rep, bool) or not isinstance(n_rep, Integral) or n_rep < 2:
        raise ValueError(f"n_rep must be an integer of at least 2, not {n_rep!r}.")
    import warnings

    from .lmm import fit_lmm

    rng = np.random.default_rng(seed)
    J = len(mu)
    g = np.repeat(np.arange(J), n)
    est = {m: np.empty((n_rep, J)) for m in ("no pooling", "complete pooling", "partial pooling")}
    for r in range(n_rep):
        y = mu[g] + rng.normal(0.0, np.sqrt(sigma2), len(g))
        frame = pd.DataFrame({"y": y, "g": g})
        means = np.bincount(g, weights=y, minlength=J) / n
        est["no pooling"][r] = means
        est["complete pooling"][r] = y.mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_lmm("y ~ 1 + (1 | g)", frame)
        est["partial pooling"][r] = fit.coef()["Intercept"].to_numpy()
    cols = {}
    for m, e in est.items():
        cols[(m, "bias")] = e.mean(axis=0) - mu
        cols[(m, "variance")] = e.var(axis=0, ddof=1)
        cols[(m, "mse")] = ((e - mu) ** 2).mean(axis=0)
    per_group = pd.DataFrame(cols)
    per_group.insert(0, ("group", "truth"), mu)
    per_group.insert(0, ("group", "n"), n)
    totals = pd.DataFrame(
        {
            m: {
                "sum of bias^2": float((per_group[(m, "bias")] ** 2).sum()),
                "sum of variances": float(per_group[(m, "variance")].sum()),
                "sum of MSE": float(per_group[(m, "mse")].sum()),
            }
            for m in est
        }
    ).T
    return PoolingSimulation(per_group=per_group, totals=totals, n_rep=n_rep)
