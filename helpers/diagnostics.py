"""Leave-one-group-out influence of each group on a fitted linear mixed model.

Leaving group j out of a two-level model removes its rows, and with them exactly
its contribution to the sufficient statistics the estimation uses
(:mod:`helpers._pls`): the per-group blocks Z_j'Z_j, Z_j'X_j, Z_j'y_j, and its
share X_j'X_j, X_j'y_j, y_j'y_j of the totals. So the model without group j is
fitted from the downdated statistics -- with no new design and no pass over the
data -- starting from the full fit's theta, which is close to the new optimum.
There, the model's own optimiser (a trust-region Newton method with the exact
Hessian of the profiled deviance) converges in a few deviance evaluations of cost
O(J q^3) each. The
result equals a refit on the data without the group (to the optimiser's
precision), at a fraction of the cost.

Cook's distance for a group follows the mixed-model version of Christensen,
Pearson & Johnson (1992, *Technometrics* 34(1)), as in R's
``cooks.distance`` for ``influence.merMod``:

    D_j = (beta_(-j) - beta)' Var(beta)^-1 (beta_(-j) - beta) / p,

with Var(beta) the full fit's covariance matrix of the fixed effects.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._pls import Stats, optimize, solve_pls
from .lmm import LmmFit

__all__ = ["influence"]


def _per_group_cross(A: np.ndarray, B: np.ndarray, codes: np.ndarray, J: int) -> np.ndarray:
    """A_j'B_j for every group j (J x a x b), by weighted bincounts."""
    out = np.empty((J, A.shape[1], B.shape[1]))
    for a in range(A.shape[1]):
        for b in range(B.shape[1]):
            out[:, a, b] = np.bincount(codes, weights=A[:, a] * B[:, b], minlength=J)
    return out


def _without(stats: Stats, j: int, XtX_j, Xty_j, yty_j) -> Stats:
    """The sufficient statistics of the data with group j removed."""
    keep = np.arange(stats.n_j.size) != j
    return Stats(
        ZtZ=stats.ZtZ[..., keep],
        ZtX=stats.ZtX[..., keep],
        Zty=stats.Zty[..., keep],
        XtX=stats.XtX - XtX_j,
        Xty=stats.Xty - Xty_j,
        yty=stats.yty - yty_j,
        n=int(stats.n - stats.n_j[j]),
        n_j=stats.n_j[keep],
    )


def influence(fit: LmmFit, *, refit: bool = True) -> pd.DataFrame:
    """How much each group moves the estimates: the model fitted without it.

    Parameters
    ----------
    fit
        A fit from :func:`helpers.fit_lmm` (ML or REML; the same criterion is used
        without each group).
    refit
        ``True`` (default): the variance components are re-estimated without the
        group (equal to refitting the model on the data without it). ``False``:
        theta -- the covariance of the random effects relative to sigma^2 -- is
        held at the full fit's value, and only the fixed effects and sigma^2 (and
        with it tau, in proportion) are re-estimated: the one-step approximation,
        faster. The fixed effects are then the GLS estimate without the group.

    Returns
    -------
    pandas.DataFrame
        One row per group (index as ``fit.groups``) with

        - ``n``: rows in the group;
        - ``cooks_distance``: D_j as in the module docstring;
        - ``dfbeta_<term>`` for each fixed term: the estimate without the group
          minus the estimate with it;
        - ``sigma2_e``: the residual variance without the group;
        - ``tau_<term>`` for each random term: its variance without the group;
        - ``converged``: whether the fit without the group confirmed its optimum
          (always ``True`` with ``refit=False``).

        A group whose removal leaves the fixed effects inestimable (e.g. the only
        group at one level of a group-level factor) gets NaN, with a warning that
        names it.
    """
    if not isinstance(fit, LmmFit):
        raise TypeError(
            f"influence needs a linear mixed model from hp.fit_lmm, not {type(fit).__name__}."
        )
    if not isinstance(refit, bool | np.bool_):
        raise TypeError(f"refit must be True or False, not {refit!r}.")
    if fit.residual_params.size:
        raise NotImplementedError(
            f"influence is not implemented for a model with a residual structure "
            f"({fit._residual_label}) yet: each refit would ignore the residual "
            "correlation."
        )
    J = fit.n_groups
    if J < 3:
        raise ValueError(
            f"The model has {J} groups; leaving one out would leave fewer than 2, too few for "
            "a multilevel model."
        )
    # The engine's own statistics, in the internal (centred and scaled) units the fit
    # was computed in; results are mapped back to the data's units.
    internal, stats, tmap, units = fit._internal, fit._stats, fit._tmap, fit._design.units
    X, y, Z, codes = internal.X, internal.y, internal.Z, internal.codes
    XtX = _per_group_cross(X, X, codes, J)
    Xty = _per_group_cross(X, y[:, None], codes, J)[..., 0]
    yty = np.bincount(codes, weights=y * y, minlength=J)

    beta = fit.fixed["estimate"].to_numpy()
    vinv = np.linalg.inv(fit.vcov.to_numpy())
    p, q = len(beta), Z.shape[1]
    fixed_names, random_names = list(fit.fixed.index), list(fit.tau.index)
    theta0 = fit._theta_internal
    rows, failed = [], []
    for j in range(J):
        s = _without(stats, j, XtX[j], Xty[j], yty[j])
        pls = solve_pls(theta0, s, tmap, fit.reml)
        theta, converged = theta0, True
        if pls is not None and refit:
            # The full fit's optimum is a warm start: the trust-region Newton method
            # (exact Hessian) needs a few evaluations of cost O(J q^3) each.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opt = optimize(s, tmap, fit.reml, theta0.copy())
            theta, pls, converged = opt.theta, opt.pls, opt.converged
        if pls is None:
            failed.append(fit.groups[j])
            rows.append([np.nan] * (1 + p + 1 + q) + [False])
            continue
        n_used = s.n - p if fit.reml else s.n
        sigma2_i = pls.r2 / n_used
        T = tmap.T(theta)
        tau = np.diag(units.random_cov(sigma2_i * (T @ T.T)))
        d = units.beta(pls.beta) - beta
        rows.append([float(d @ vinv @ d) / p, *d, units.sigma2(sigma2_i), *tau, bool(converged)])
    columns = (
        ["cooks_distance"]
        + [f"dfbeta_{t}" for t in fixed_names]
        + ["sigma2_e"]
        + [f"tau_{t}" for t in random_names]
        + ["converged"]
    )
    out = pd.DataFrame(rows, index=fit.groups, columns=columns)
    out.insert(0, "n", np.asarray(fit.n_per_group))
    out["converged"] = out["converged"].astype(bool)
    if failed:
        shown = ", ".join(str(g) for g in failed[:5]) + (" ..." if len(failed) > 5 else "")
        warnings.warn(
            f"Without group(s) {shown} the fixed effects cannot be estimated (a column of X "
            "is then zero or aliased); their rows are NaN.",
            UserWarning,
            stacklevel=2,
        )
    return out
