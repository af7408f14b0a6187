"""Linear mixed models for two-level data, estimated as lme4 does.

The method is the profiled deviance of Bates, Maechler, Bolker & Walker (2015,
*Journal of Statistical Software* 67(1), sections 3-4): for each value of the
relative covariance factor's parameters ``theta`` a penalised least-squares
problem gives the fixed effects, the conditional modes and ``sigma^2``, and
``theta`` minimises the profiled (ML or REML) deviance. :mod:`helpers._pls` holds
the formulas.

The pipeline follows lme4's: :mod:`helpers._design` builds the design
(``lFormula``), :mod:`helpers._pls` holds the deviance and its optimiser
(``mkLmerDevfun``, ``optimizeLmer``), and :class:`LmmFit` (a
:class:`helpers._fit.MixedFit`) is the result (``mkMerMod``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from ._coef import coef_table
from ._design import build_design
from ._fit import MixedFit
from ._pls import (
    ThetaMap,
    boundary,
    moment_start,
    optimize,
    sufficient_stats,
    with_outcome,
)
from ._validate import check_count, check_seed

__all__ = ["LmmFit", "ConvergenceWarning", "SingularFitWarning", "fit_lmm"]


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before it could confirm an optimum."""


class SingularFitWarning(UserWarning):
    """The estimate lies on the boundary: a variance of zero or a correlation of +/-1."""


# ---------------------------------------------------------------------------- fitting


def fit_lmm(formula: str, data: pd.DataFrame, reml: bool = True, missing: str = "raise") -> LmmFit:
    """Fit a two-level linear mixed model written in lme4's formula syntax.

    Parameters
    ----------
    formula
        E.g. ``"popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"``.
        Random parts: ``(1 | g)``, ``(1 + x | g)``, ``(0 + x | g)``, several parts
        for the same group (independent of each other), ``(1 + x || g)``.
    data
        A DataFrame holding every column the formula uses.
    reml
        Restricted maximum likelihood (default, as lme4) or, with ``False``,
        maximum likelihood (needed to compare models with different fixed parts).
    missing
        ``"raise"`` (default): missing values in a used column are an error that
        names the column. ``"drop"``: fit the complete rows and warn how many were
        dropped (also in ``fit.n_dropped``).

    Returns
    -------
    LmmFit
        Estimates, standard errors, variance components, conditional modes.
        A fit on the boundary of the parameter space (a variance of zero, a
        correlation of +/-1) is returned with ``singular=True`` and a
        :class:`SingularFitWarning`; a fit whose optimum could not be confirmed
        with ``converged=False`` and a :class:`ConvergenceWarning`.
    """
    if not isinstance(reml, bool | np.bool_):
        raise TypeError(f"reml must be True or False, not {reml!r}")
    design = build_design(formula, data, missing)
    return _fit(design, sufficient_stats(design), bool(reml))


def _fit(design, stats, reml: bool, theta0=None) -> LmmFit:
    """Optimise theta (from moment estimates, or from theta0), build the result, warn."""
    tmap = ThetaMap(design.blocks, design.Z.shape[1])
    if theta0 is None:
        theta0 = moment_start(stats, tmap)
    opt = optimize(stats, tmap, reml, theta0)
    fit = LmmFit._from_optimum(design, stats, tmap, opt, reml)
    formula = design.formula.text
    if not opt.converged:
        warnings.warn(
            f"The optimiser did not confirm an optimum for {formula!r} "
            f"(the deviance may still fall by {opt.decrement:.2g}; {opt.message}). "
            "The estimates may be inaccurate: simplify the random part, or rescale predictors.",
            ConvergenceWarning,
            stacklevel=3,
        )
    if fit.singular:
        warnings.warn(
            f"Singular fit for {formula!r}: {fit.boundary_reason}. The estimate lies on the "
            "boundary of the parameter space; consider removing that random term "
            "(and test it with hp.compare).",
            SingularFitWarning,
            stacklevel=3,
        )
    return fit


# ---------------------------------------------------------------------------- results


@dataclass(repr=False)
class LmmFit(MixedFit):
    """A fitted two-level linear mixed model (the result of :func:`fit_lmm`).

    Everything of :class:`helpers._fit.MixedFit` (estimates, conditional modes,
    the read-only design view ``X``, ``y``, ``Z``, ``groups``, ...), and:

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed term (``"Intercept"``, ``"extrav"``, ``"extrav:texp"``)
        with ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
        Standard errors are those of lme4: ``sigma^2 (X' V^-1 X)^-1``, conditional
        on the estimated variance components. ``statistic`` is estimate / std_error,
        and p-values and 95% intervals use the normal distribution (Wald tests, as
        in Hox's tables); with few groups they are optimistic.
    tau : pandas.DataFrame
        Covariance matrix of the random effects, labelled by random term.
    sigma2 : float
        Residual (level-1) variance.
    loglik, deviance, aic, bic : float
        As lme4 reports them: for a REML fit ``deviance`` is the REML criterion and
        ``loglik`` the REML log-likelihood; for an ML fit, -2 log-likelihood.
    """

    kind: ClassVar[str] = "Linear mixed model"
    # What refit reuses, set by _from_optimum: plain attributes, not dataclass fields
    # (the state of a fit is MixedFit's fields).
    _stats = None  # the sufficient statistics (Stats)
    _tmap = None  # the ThetaMap

    # -- construction -----------------------------------------------------------------
    @classmethod
    def _from_optimum(cls, design, stats, tmap, opt, reml):
        theta, pls = opt.theta, opt.pls
        n, p = stats.n, len(pls.beta)
        sigma2 = pls.r2 / (n - p if reml else n)
        T = tmap.T(theta)
        vcov = sigma2 * (pls.RXinv.T @ pls.RXinv)
        se = np.sqrt(np.diag(vcov))
        fixed = coef_table(pls.beta, se, design.fixed_names)
        names = pd.Index(design.random_names, name="term")
        tau = pd.DataFrame(sigma2 * (T @ T.T), index=names, columns=names)
        u = pls.u.T  # J x q
        L = np.moveaxis(pls.L, -1, 0)  # J x q x q
        b = u @ T.T  # b_j = T u_j
        # Conditional covariance of b_j given y (beta fixed), as lme4's condVar:
        Linv = np.linalg.inv(L)
        b_cov = sigma2 * (T @ np.swapaxes(Linv, 1, 2) @ Linv @ T.T)
        singular, reason = boundary(theta, tmap, tau)
        fit = cls(
            formula=design.formula.text,
            reml=reml,
            fixed=fixed,
            vcov=pd.DataFrame(vcov, index=fixed.index, columns=fixed.index),
            tau=tau,
            sigma2=float(sigma2),
            theta=theta.copy(),
            deviance=float(pls.deviance),
            n_obs=n,
            n_groups=len(design.groups),
            n_dropped=design.n_dropped,
            converged=opt.converged,
            singular=singular,
            boundary_reason=reason,
            group=design.formula.group,
            n_iter=opt.n_iter,
            _design=design,
            _b=b,
            _b_cov=b_cov,
            _n_j=stats.n_j,
            _ZtZ=np.moveaxis(stats.ZtZ, -1, 0),
        )
        fit._stats, fit._tmap = stats, tmap
        return fit

    # -- new outcomes for the same design -----------------------------------------------
    def refit(self, y) -> LmmFit:
        """The same model fitted to a new outcome (as lme4's ``refit``).

        ``y`` holds one value per row of the fit (``n_obs`` values, in the order
        of ``fitted()``; a Series is aligned on that index). The formula, the
        design matrices and their per-group cross-products are reused: only
        Z'y, X'y and y'y are computed anew, and the optimiser starts from this
        fit's theta. The result is the fit ``fit_lmm`` gives on the data with the
        new outcome; this fit is not changed. It is what simulation studies and
        :func:`~helpers.bootstrap` call many times.
        """
        d = self._design
        if isinstance(y, pd.Series):
            y = y.reindex(d.row_index)
        try:
            y = np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                "refit needs the new outcome as numbers (an array or Series of floats)."
            ) from None
        if y.shape != (self.n_obs,):
            raise ValueError(
                f"refit needs one outcome value per row of the fit ({self.n_obs}); "
                f"got an array of shape {y.shape}."
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(
                f"The new outcome has {int((~np.isfinite(y)).sum())} missing or infinite "
                "value(s); refit needs a value for every row of the fit."
            )
        design = replace(d, y=y)
        return _fit(design, with_outcome(self._stats, design), self.reml, theta0=self.theta)

    def simulate(self, n: int = 1, *, seed=None) -> np.ndarray:
        """Outcomes drawn from the fitted model (as lme4's ``simulate``).

        Each draw is ``X beta + Z_j b_j + e`` in the rows of the fit, with new
        random effects ``b_j ~ N(0, tau)`` for every group and new residuals
        ``e ~ N(0, sigma2)``; the design stays as it is. Returns an array of
        shape ``(n, n_obs)``. ``seed``: an integer, a numpy Generator or None.
        """
        n = check_count(n, "n")
        rng = check_seed(seed)
        d = self._design
        sd = np.sqrt(self.sigma2)
        ST = sd * self._tmap.T(self.theta)  # b_j = sigma T u_j with u_j ~ N(0, I)
        mean = d.X @ self.fixed["estimate"].to_numpy()
        out = np.empty((n, self.n_obs))
        for k in range(n):
            b = rng.standard_normal((self.n_groups, ST.shape[0])) @ ST.T
            out[k] = mean + np.einsum("nq,nq->n", d.Z, b[d.codes])
            out[k] += sd * rng.standard_normal(self.n_obs)
        return out

    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects, theta, and sigma^2."""
        return len(self.fixed) + len(self.theta) + 1

    # -- row-level quantities ---------------------------------------------------------
    def fitted(self) -> pd.Series:
        """Fitted values X beta + Z b_j, in the rows of the data that were used."""
        return pd.Series(self._linear_predictor(), index=self.row_index, name="fitted")

    def residuals(self) -> pd.Series:
        """Level-1 residuals y - fitted."""
        return pd.Series(self._design.y, index=self._design.row_index) - self.fitted()
