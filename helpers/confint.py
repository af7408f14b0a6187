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

A linear mixed model with a residual structure (``fit_lmm(..., residuals=,
variance=)``) has further parameters after ``sigma``: ``phi`` (on its own scale,
within its range) and the SD ratio of each level of ``variance=`` (``sd ratio(Sex=M)``
for the entry ``Sex=M`` of ``residual_params``). Every method covers them: the deviance is that of all the
variance parameters (the rows whitened at each value of the residual parameters),
the profile re-estimates them with the others at every point (the fixed effects'
profile too), and the bootstrap refits them. A profile then costs seconds rather than
a fraction of one (no exact inner optimiser over phi).

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

How the work is divided (as lme4's ``confint.merMod`` works through the model's
deviance function, ``devfun2``, and the family supplies what differs): every fit
declares ``fit.deviance_profile()`` (:class:`helpers._profile.DevianceProfile`: the
deviance as a function of these parameters, its bounds, the Wald standard errors,
the profile's search, how to read a bootstrap replicate), and the refit of a
bootstrap through ``fit.simulate`` and ``fit.refit``; each family implements them
(:mod:`helpers._lmm_profile`, :mod:`helpers.glmm`). The intervals are computed from
that interface alone by :func:`helpers._profile.intervals`, which ``fit.confint()``
calls; :func:`confint` here checks that it is given a fit and calls that method.
"""

from __future__ import annotations

import pandas as pd

from ._fit import MixedFit

__all__ = ["confint"]


def confint(
    fit, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
) -> pd.DataFrame:
    """Confidence intervals for every parameter of a linear or generalised linear mixed model.

    Parameters
    ----------
    fit
        A fitted :class:`helpers.LmmFit` (from :func:`helpers.fit_lmm`) or
        :class:`helpers.GlmmFit` (from :func:`helpers.fit_glmm`). A
        :class:`helpers.MultiLmmFit` (several grouping factors): all three methods,
        its random parameters named ``"sd(term | factor)"``.
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
    # a fit with several grouping factors (helpers.MultiLmmFit) has its own confint
    if not (isinstance(fit, MixedFit) or type(fit).__name__ == "MultiLmmFit"):
        raise TypeError(
            f"confint needs a mixed model from hp.fit_lmm or hp.fit_glmm, not {type(fit).__name__}."
        )
    return fit.confint(method=method, level=level, n=n, seed=seed)
