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
import scipy.stats

from ._design import build_design, check_outcome_varies
from ._fit import MixedFit
from ._lmm_multi import MultiLmmFit, fit_multi
from ._lmm_profile import LmmProfile
from ._pls import (
    SINGULAR_TOL,
    ThetaMap,
    boundary,
    moment_parts,
    moment_start,
    optimize,
    sufficient_stats,
    with_outcome,
)
from ._validate import check_bool, check_count, check_level, check_option, check_seed
from .ddf import DDF_OPTIONS, LmmDdf, ResidualDdf
from .formula import parse_formula
from .residuals import bind, containment_df, fit_residuals

__all__ = ["LmmFit", "MultiLmmFit", "ConvergenceWarning", "SingularFitWarning", "fit_lmm"]


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before it could confirm an optimum."""


class SingularFitWarning(UserWarning):
    """The estimate lies on the boundary: a variance of zero or a correlation of +/-1."""


# ---------------------------------------------------------------------------- fitting


def fit_lmm(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    missing: str = "raise",
    residuals=None,
    variance=None,
) -> LmmFit | MultiLmmFit:
    """Fit a linear mixed model written in lme4's formula syntax.

    Parameters
    ----------
    formula
        E.g. ``"popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"``.
        Random parts: ``(1 | g)``, ``(1 + x | g)``, ``(0 + x | g)``, several parts
        for the same group (independent of each other), ``(1 + x || g)``.
        Several grouping factors: nested ``(1 | school/class)`` (=
        ``(1 | school) + (1 | class:school)``), combinations ``(1 | school:class)``,
        crossed ``(1 | rater) + (1 | item)``, random slopes at any level; these are
        fitted by the engine for several factors and give a
        :class:`~helpers.MultiLmmFit` (``varcorr``, ``ranef()`` and
        ``tau`` per factor; the tests of the fixed effects, ``summary()``,
        ``refit``, ``simulate`` and ``hp.compare`` of a one-factor fit).
    data
        A DataFrame holding every column the formula uses.
    reml
        Restricted maximum likelihood (default, as lme4) or, with ``False``,
        maximum likelihood (needed to compare models with different fixed parts).
    missing
        ``"raise"`` (default): missing values in a used column are an error that
        names the column. ``"drop"``: fit the complete rows and warn how many were
        dropped (also in ``fit.n_dropped``).
    residuals
        ``None`` (default): independent residuals with one variance. A residual
        correlation structure within groups, as nlme's ``correlation=``:
        ``hp.AR1(time="Days")`` (integer occasions) or ``hp.CAR1(time="t")``
        (continuous time); see :mod:`helpers.residuals`. The fit then reports
        ``residual_params`` and ``residual_cov(group)``; its fixed-effect table uses
        Satterthwaite's df, with the residual parameters among the variance
        parameters (``wald(ddf="containment")`` gives nlme's containment df).
        ``hp.CompoundSymmetry()`` and ``hp.Unstructured(time=)`` are refused here (a
        positive compound-symmetry correlation is a random intercept, so they are not
        identified beside one): :func:`helpers.fit_gls` fits them without random
        effects.
    variance
        ``None`` (default): one residual variance. ``hp.VarIdent(by="Sex")``: a
        residual SD per level of a column, as nlme's ``weights = varIdent(form = ~ 1 |
        Sex)``; ``residual_params`` holds the SD ratio of each level to the first
        (sorted) level. Combines with ``residuals=``.

    The model is estimated on internally centred and scaled columns and every
    result is mapped back exactly (:mod:`helpers._scale`), so the answer does not
    depend on the units of the outcome or of the predictors. Designs whose answer
    would be meaningless are refused with a message that names the problem: an
    outcome constant overall or within every group (a group-level variable), groups
    too small to tell the variance components apart, a random slope of a variable
    constant within groups, aliased fixed effects, numbers stored as text.

    Returns
    -------
    LmmFit
        Estimates, standard errors, variance components, conditional modes.
        A fit on the boundary of the parameter space (a variance of zero, a
        correlation of +/-1) is returned with ``singular=True`` and a
        :class:`SingularFitWarning`; a fit whose optimum could not be confirmed
        with ``converged=False`` and a :class:`ConvergenceWarning`.
    """
    reml = check_bool(reml, "reml")
    _refuse_gls_structures(residuals, variance)
    if residuals is not None or variance is not None:
        _check_one_factor(formula)  # before the dispatch: never drop the structure
    if isinstance(formula, str) and parse_formula(formula).several_groups:
        fit = fit_multi(formula, data, reml, missing)
        detail = f"the deviance may still fall by {fit.decrement:.2g}"
        warn_fit_problems(fit, detail, converged=fit.converged, stacklevel=3)
        return fit
    extra = {
        getattr(obj, attr)
        for obj, attr in ((residuals, "time"), (variance, "by"))
        if isinstance(getattr(obj, attr, None), str)
        and getattr(obj, attr) in getattr(data, "columns", ())
    }  # the structures' columns: missing values in them are handled as `missing` says
    design = build_design(formula, data, missing, extra=extra)
    bound = None
    if residuals is not None or variance is not None:
        bound = bind(residuals, design, data, variance)
    internal = design.internal()  # centred and scaled columns; results are mapped back
    if bound is not None:
        return _fit_residuals(design, internal, reml, bound)
    return _fit(design, internal, sufficient_stats(internal), reml)


def _refuse_gls_structures(residuals, variance) -> None:
    """CompoundSymmetry and Unstructured are not identified beside random effects, and
    VarPower is fitted by fit_gls only: refuse them here with the reason."""
    from .residuals import CompoundSymmetry, Unstructured, VarPower

    if isinstance(residuals, CompoundSymmetry | Unstructured):
        raise ValueError(
            f"residuals={residuals!r} is not identified beside random effects: a "
            "positive compound-symmetry correlation rho is a random intercept (rho = tau / "
            "(tau + sigma^2)), and an unstructured correlation contains it, so the data "
            "cannot tell the two apart. Fit the structure without random effects with "
            'hp.fit_gls(formula without the random part, data, group="...", '
            f"residuals={residuals!r}), or keep the random effects with hp.AR1 or hp.CAR1."
        )
    if isinstance(variance, VarPower):
        raise ValueError(
            f"variance={variance!r} is fitted by hp.fit_gls (no random effects); fit_lmm "
            'takes variance=hp.VarIdent(by="...").'
        )


def _check_one_factor(formula) -> None:
    """Residual structures are fitted for one grouping factor (this check must come
    before any dispatch of several factors to another engine)."""
    f = parse_formula(formula) if isinstance(formula, str) else None
    if f is not None and f.several_groups:
        raise ValueError(
            f"residuals= and variance= are fitted for one grouping factor; {formula!r} has "
            "several. Fit the residual structure with one grouping factor, or the several "
            "factors without it."
        )


def _fit_residuals(design, internal, reml: bool, bound) -> LmmFit:
    """A fit with a residual correlation structure (helpers.residuals): phi chosen by the
    profiled deviance, theta by the engine on the whitened design at that phi."""
    tmap = ThetaMap(design.blocks, design.Z.shape[1])
    res = fit_residuals(internal, tmap, reml, bound)
    opt = res.opt
    fit = LmmFit._from_optimum(design, internal, res.stats, tmap, opt, reml)
    fit.deviance = fit.deviance + res.logdet  # the density of the un-whitened rows
    fit._residual = (bound, res.params)
    fit._ddf_methods = ("satterthwaite", "containment", "z")
    fit._containment_df = containment_df(design.X, design.codes, len(design.groups))
    detail = f"the deviance may still fall by {opt.decrement:.2g}; {opt.message}"
    if not res.converged:
        fit.converged = False
        detail = f"the search over the residual parameters: {res.message}"
    warn_fit_problems(fit, detail, converged=fit.converged, stacklevel=4)
    return fit


def _fit(design, internal, stats, reml: bool, theta0=None) -> LmmFit:
    """Optimise theta in internal units (from moment estimates, or from theta0),
    build the result in the data's units, warn."""
    tmap = ThetaMap(design.blocks, design.Z.shape[1])
    if theta0 is None:
        theta0 = moment_start(stats, tmap)
    opt = optimize(stats, tmap, reml, theta0)
    fit = LmmFit._from_optimum(design, internal, stats, tmap, opt, reml)
    detail = f"the deviance may still fall by {opt.decrement:.2g}; {opt.message}"
    warn_fit_problems(fit, detail, converged=opt.converged, stacklevel=4)
    return fit


def warn_fit_problems(fit, detail: str, *, converged: bool, stacklevel: int) -> None:
    """The warnings every mixed-model fit gives: no confirmed optimum, a singular fit."""
    if not converged:
        warnings.warn(
            f"The optimiser did not confirm an optimum for {fit.formula!r} ({detail}). "
            "The estimates may be inaccurate: simplify the random part (a covariance or a "
            "variance that the data barely inform is the usual cause).",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    if fit.singular:
        warnings.warn(
            f"Singular fit for {fit.formula!r}: {fit.boundary_reason}. The estimate lies on "
            "the boundary of the parameter space; consider removing that random term "
            "(and test it with hp.compare).",
            SingularFitWarning,
            stacklevel=stacklevel,
        )


# refit() of a fit with several grouping factors warns as fit_lmm does (the warnings
# are defined here, above that module's result class).
MultiLmmFit._warn = staticmethod(
    lambda fit, detail: warn_fit_problems(fit, detail, converged=fit.converged, stacklevel=4)
)


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
        with ``estimate, std_error, df, statistic, p_value, ci_lower, ci_upper``.
        Standard errors are those of lme4: ``sigma^2 (X' V^-1 X)^-1``, conditional
        on the estimated variance components. ``statistic`` is estimate / std_error;
        p-values and 95% intervals use the t distribution with Satterthwaite's
        degrees of freedom ``df`` (lmerTest's default), computed when the table is
        first read. ``wald(ddf="kenward-roger")`` and ``wald(ddf="z")`` give the
        other tables (:meth:`~helpers._fit.MixedFit.wald`).
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
    _internal = None  # the design in internal units (centred and scaled columns)
    _theta_internal = None  # the optimum's theta in internal units
    _moment = None  # (moment_parts,) of the design, computed at the first refit
    _pls = None  # the PLS solution at the optimum (internal units)
    _ddf = None  # the LmmDdf (Satterthwaite and Kenward-Roger pieces), when first needed
    _ddf_methods: ClassVar[tuple[str, ...]] = DDF_OPTIONS  # Satterthwaite is the default
    _residual = None  # (helpers.residuals.Residual, params) of a fit with residuals=/variance=
    _containment_df = None  # nlme's df per coefficient (fits with residuals=)

    # -- the residual structure ----------------------------------------------------------
    @property
    def residual_structure(self):
        """The residual correlation structure (``residuals=`` of :func:`fit_lmm`), or None."""
        if self._residual is None or self._residual[0].corr is None:
            return None
        return self._residual[0].corr.structure

    @property
    def variance_function(self):
        """The residual variance function (``variance=`` of :func:`fit_lmm`), or None."""
        if self._residual is None or self._residual[0].var is None:
            return None
        return self._residual[0].var.variance

    @property
    def _residual_label(self) -> str:
        parts = [repr(x) for x in (self.residual_structure, self.variance_function) if x]
        return " and ".join(parts)

    @property
    def residual_params(self) -> pd.Series:
        """The residual structure's parameters: ``phi`` for AR1 and CAR1; for VarIdent the
        SD ratio of each level to the reference level, named ``"by=level"`` (empty
        without a structure)."""
        if self._residual is None:
            return pd.Series(dtype=float, name="residual_params")
        resid, params = self._residual
        return pd.Series(np.asarray(params, float), index=resid.names, name="residual_params")

    def residual_cov(self, group) -> pd.DataFrame:
        """The implied covariance of the residuals of one group, sigma^2 R_j(phi).

        Rows and columns are the group's occasions (values of the structure's time
        column) in time order. Without a residual structure: sigma^2 I over the
        group's rows (labelled by the data's row index)."""
        pos = np.flatnonzero(self.groups == group)
        if pos.size == 0:
            raise ValueError(
                f"{group!r} is not a group of this fit (grouping column {self.group!r}; "
                f"e.g. {self.groups[0]!r})."
            )
        j = int(pos[0])
        if self._residual is None:
            rows = np.flatnonzero(self._design.codes == j)
            index = self._design.row_index[rows]
            return pd.DataFrame(self.sigma2 * np.eye(len(rows)), index=index, columns=index)
        resid, params = self._residual
        rows, R = resid.group_cov(j, self._design.codes, params)
        if resid.corr is not None:
            index = pd.Index(resid.corr.times[rows], name=resid.corr.structure.time)
        else:
            index = self._design.row_index[rows]
        return pd.DataFrame(self.sigma2 * R, index=index, columns=index)

    def random_part(self) -> pd.DataFrame:
        """The variance components (:meth:`MixedFit.random_part`) and, with a residual
        structure, its parameters (``phi``; level ``"residual"``)."""
        out = super().random_part()
        if self._residual is not None:
            s, v = self.residual_structure, self.variance_function
            for name, value in self.residual_params.items():
                what = f"{s.name} in {s.time}" if name == "phi" else f"SD ratio, {v!r}"
                out.loc[name] = ["residual", what, value]
        return out

    def _header(self) -> str:
        text = super()._header()
        if self._residual is not None:
            text += (
                f"\nResiduals: {self._residual_label}; fixed-effect df: Satterthwaite's "
                "(in theta, sigma and the residual parameters; ddf='containment' gives nlme's)"
            )
        return text

    # -- construction -----------------------------------------------------------------
    @classmethod
    def _from_optimum(cls, design, internal, stats, tmap, opt, reml):
        """The result in the data's units, from the optimum in internal units."""
        units = design.units
        theta, pls = opt.theta, opt.pls
        n, p = stats.n, len(pls.beta)
        sigma2_i = pls.r2 / (n - p if reml else n)
        T_i = tmap.T(theta)
        vcov = units.vcov(sigma2_i * (pls.RXinv.T @ pls.RXinv))
        beta = units.beta(pls.beta)
        tau = units.random_cov(sigma2_i * (T_i @ T_i.T))
        L = np.moveaxis(pls.L, -1, 0)  # J x q x q
        b = units.ranef(pls.u.T @ T_i.T)  # b_j = T u_j, in the data's units
        # Conditional covariance of b_j given y (beta fixed), as lme4's condVar:
        Linv = np.linalg.inv(L)
        b_cov = units.random_cov(sigma2_i * (T_i @ np.swapaxes(Linv, 1, 2) @ Linv @ T_i.T))
        # Singular or not is judged in internal units (whatever the data's units); the
        # reason from tau with each random term in standard units.
        singular, reason = False, ""
        if np.any(np.abs(theta[tmap.rows == tmap.cols]) < SINGULAR_TOL):
            sd = units.z_scale * units.y_scale
            singular, reason = boundary(theta, tmap, tau / np.outer(sd, sd), design.random_names)
        theta = units.relative_factor(T_i)[tmap.rows, tmap.cols]  # lme4's, in data units
        sigma2 = units.sigma2(sigma2_i)
        deviance = units.deviance(pls.deviance, n, p, reml)
        ZtZ = np.einsum("ab,bcj,dc->jad", units.B.T, stats.ZtZ, units.B.T)
        fit = cls(
            formula=design.formula.text,
            reml=reml,
            _beta=beta,
            _vcov=vcov,
            _tau=tau,
            sigma2=float(sigma2),
            theta=theta,
            deviance=deviance,
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
            _ZtZ=ZtZ,
        )
        # What refit and simulate reuse: the design and its statistics in internal
        # units, the theta-map and the optimum (internal theta) as a warm start.
        fit._internal, fit._stats, fit._tmap = internal, stats, tmap
        fit._theta_internal = opt.theta.copy()
        fit._pls = opt.pls  # the optimum's PLS pieces, which the df reuse
        return fit

    def _ddf_state(self):
        """The degrees-of-freedom pieces (helpers.ddf.LmmDdf) and the map A^-1 of
        contrasts of the data's coefficients into internal ones, computed once."""
        if self._ddf is None and self._residual is not None:
            resid, params = self._residual
            internal = self._internal

            def whitened(psi):
                got = resid.whiten(internal, psi)
                return None if got is None else (sufficient_stats(got[0]), got[1])

            self._ddf = (
                ResidualDdf(
                    self._stats,
                    self._tmap,
                    self._theta_internal,
                    self.reml,
                    np.asarray(params, dtype=float),
                    whitened,
                    pls=self._pls,
                ),
                np.linalg.inv(self._design.units.A),
            )
        if self._ddf is None:
            self._ddf = (
                LmmDdf(self._stats, self._tmap, self._theta_internal, self.reml, pls=self._pls),
                np.linalg.inv(self._design.units.A),
            )
        return self._ddf

    # -- new outcomes for the same design -----------------------------------------------
    def refit(self, y) -> LmmFit:
        """The same model fitted to a new outcome (as lme4's ``refit``).

        ``y`` holds one value per row of the fit (``n_obs`` values, in the order
        of ``fitted()``; a Series is aligned on that index). The formula, the
        design matrices and their per-group cross-products are reused: only
        Z'y, X'y and y'y are computed anew, and the optimiser starts, as a fresh
        fit does, from moment estimates for the new outcome (whose parts that do
        not involve the outcome are computed once). The result is the fit
        ``fit_lmm`` gives on the data with the new outcome; this fit's estimates
        are not changed. It is what simulation studies and
        :func:`~helpers.bootstrap` call many times.

        With a residual structure (``residuals=``, ``variance=``) its parameters are
        estimated again too, exactly as :func:`fit_lmm` does.
        """
        y = self._new_outcome(y)
        design, internal, stats = self._with_outcome(y)
        if self._residual is not None:
            # The residual parameters are estimated anew (their search starts from its
            # grid, as a fresh fit's does); the occasion patterns are reused.
            return _fit_residuals(design, internal, self.reml, self._residual[0])
        return _fit(design, internal, stats, self.reml, theta0=self._refit_start(stats))

    def _refit_start(self, stats) -> np.ndarray:
        """Moment estimates for the new outcome (as a fresh fit starts), with the parts
        that depend only on the design computed once per fit. They start the optimiser
        closer to the new optimum than this fit's theta does (on five of the book's
        models, 2.7-7.2 evaluations per refit on average instead of 3.9-7.4)."""
        if self._moment is None:
            self._moment = (moment_parts(stats, self._tmap),)
        return moment_start(stats, self._tmap, parts=self._moment[0])

    def _with_outcome(self, y: np.ndarray):
        """(design, internal design, statistics) of this fit with the checked outcome y."""
        d = self._design
        check_outcome_varies(y, d.codes, self.n_groups, d.formula.outcome, self.group)
        # The same centring and scaling of X and Z; the outcome's own centre and scale.
        units = d.units.for_outcome(y)
        y.setflags(write=False)
        design = replace(d, y=y, units=units)
        y_i = units.y(y)
        y_i.setflags(write=False)
        internal = replace(self._internal, y=y_i)
        return design, internal, with_outcome(self._stats, internal)

    def _refit_estimates(self, y: np.ndarray) -> tuple:
        """What :func:`helpers.bootstrap` keeps of ``refit(y)``, without the result object.

        Returns ``(fixed effects, random_part() estimates, deviance, converged,
        singular)`` as arrays and numbers, computed from the optimum exactly as
        :meth:`_from_optimum` computes them (a test checks they are equal). ``y`` is
        a float array of length ``n_obs`` (not checked further here).
        """
        if self._residual is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # counted in the converged/singular columns
                r = self.refit(y)
            random = r.random_part()["estimate"].to_numpy(dtype=float)
            return r._beta, random, r.deviance, r.converged, r.singular
        design, internal, stats = self._with_outcome(y)
        tmap = self._tmap
        opt = optimize(stats, tmap, self.reml, self._refit_start(stats))
        units, pls, n = design.units, opt.pls, stats.n
        p = len(pls.beta)
        sigma2_i = pls.r2 / (n - p if self.reml else n)
        T_i = tmap.T(opt.theta)
        tau = units.random_cov(sigma2_i * (T_i @ T_i.T))
        rows, cols = self._random_part_cells()
        random = np.concatenate([[units.sigma2(sigma2_i)], tau[rows, cols]])
        diag = tmap.rows == tmap.cols
        singular = bool(np.any(np.abs(opt.theta[diag]) < SINGULAR_TOL))
        deviance = units.deviance(pls.deviance, n, p, self.reml)
        return units.beta(pls.beta), random, deviance, opt.converged, singular

    def _random_part_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of tau behind random_part()'s rows after sigma2_e."""
        q = len(self.tau)
        cells = [(i, i) for i in range(q)]
        cells += [(i, j) for i in range(q) for j in range(i + 1, q) if self.theta_is_free(i, j)]
        return np.array([c[0] for c in cells]), np.array([c[1] for c in cells])

    def simulate(self, n: int = 1, *, seed=None) -> np.ndarray:
        """Outcomes drawn from the fitted model (as lme4's ``simulate``).

        Each draw is ``X beta + Z_j b_j + e`` in the rows of the fit, with new
        random effects ``b_j ~ N(0, tau)`` for every group and new residuals
        ``e ~ N(0, sigma2)``; the design stays as it is. Returns an array of
        shape ``(n, n_obs)``. ``seed``: an integer, a numpy Generator or None.

        With a residual structure the residuals of group j are drawn from the fitted
        ``N(0, sigma2 R_j(phi))`` (times the SD ratios of ``variance=``), i.e. with
        the covariance ``residual_cov(group)``: the model as fitted.
        """
        n = check_count(n, "n")
        rng = check_seed(seed)
        d = self._design
        sd = np.sqrt(self.sigma2)
        ST = sd * self._tmap.T(self.theta)  # b_j = sigma T u_j with u_j ~ N(0, I)
        mean = d.X @ self._beta
        out = np.empty((n, self.n_obs))
        e = np.empty((n, self.n_obs))
        for k in range(n):
            b = rng.standard_normal((self.n_groups, ST.shape[0])) @ ST.T
            out[k] = mean + np.einsum("nq,nq->n", d.Z, b[d.codes])
            e[k] = rng.standard_normal(self.n_obs)
        if self._residual is not None:  # one Cholesky factor per occasion pattern
            e = self._residual[0].colour(e, self._residual[1])
        return out + sd * e

    def deviance_profile(self) -> LmmProfile:
        """The deviance as a function of (sd, cor, sigma, beta), for intervals (see
        :class:`helpers._lmm_profile.LmmProfile`); with a residual structure its
        parameters (``residual_params``, in natural units) follow sigma, and the
        profile re-estimates them at every point."""
        return LmmProfile(self)

    def whitened_rows(self, params):
        """The fit's rows (X, Z, y in the data's units) whitened by the residual structure
        at the parameters ``params`` (as ``residual_params``), and log|Sigma / sigma^2|;
        None where params lie outside the structure's range. What a deviance function
        of all the parameters needs (:mod:`helpers._lmm_profile`)."""
        if self._residual is None:
            raise ValueError("This fit has no residual structure (residuals=, variance=).")
        got = self._residual[0].whiten(self._design, np.asarray(params, dtype=float))
        if got is None:
            return None
        d, logdet = got
        return d.X, d.Z, d.y, logdet

    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects, theta, sigma^2 and the residual
        structure's parameters."""
        return len(self._beta) + len(self.theta) + 1 + len(self.residual_params)

    # -- explained variance ------------------------------------------------------------
    def r2(self, *, null: LmmFit | None = None, n: float | None = None) -> pd.Series:
        """R-squared: Nakagawa & Schielzeth's, and Snijders & Bosker's for random intercepts.

        ``marginal`` and ``conditional``: see :meth:`MixedFit.r2` (level-1 variance
        sigma^2; as ``performance::r2_nakagawa``). They never go negative.

        For a model whose only random part is a random intercept, also ``level1`` and
        ``level2``, the proportional reductions of the prediction error of an
        individual outcome and of a group mean (Snijders & Bosker 1994; 2012, sec. 7.1):

            level1 = 1 - (sigma2_M + tau_M) / (sigma2_0 + tau_0)
            level2 = 1 - (sigma2_M / n + tau_M) / (sigma2_0 / n + tau_0)

        where _0 is the empty model ``y ~ 1 + (1 | group)``. ``null``: that model, fitted
        to the same rows by the same method (by default it is fitted here); ``n``: a
        representative group size (default: the harmonic mean of the group sizes, which
        the result reports as ``n``).

        With an AR(1) or CAR(1) residual structure (``residuals=``) every residual still
        has variance sigma^2, so ``marginal`` and ``conditional`` are defined as above;
        Snijders and Bosker's ``level1`` and ``level2`` are not given (the variance of
        a group mean, sigma^2 / n, assumes independent residuals). With ``variance=``
        the residual variance differs by level (sigma^2 delta_l^2) and which one
        enters is a choice: r2 refuses it.
        """
        if self._residual is not None:
            return self._r2_residuals(null, n)
        out = super().r2()
        if n is not None and (
            isinstance(n, bool) or not isinstance(n, int | float | np.number) or not n > 0
        ):
            raise ValueError(f"n must be a positive group size (e.g. 20), not {n!r}.")
        if self.random_names != ["Intercept"]:
            if null is not None or n is not None:
                raise ValueError(
                    "Snijders and Bosker's level-1 and level-2 R-squared are defined for "
                    "random-intercept models; this model's random part is "
                    f"{self.random_names}. Call r2() without null= and n= for Nakagawa's "
                    "marginal and conditional R-squared."
                )
            return out
        if null is None:
            frame = pd.DataFrame({"y": self._design.y, "g": self.groups[self.group_codes]})
            null = fit_lmm("y ~ 1 + (1 | g)", frame, reml=self.reml)
        else:
            if not isinstance(null, LmmFit):
                raise TypeError(f"null must be a fit from hp.fit_lmm, not {type(null).__name__}.")
            if null.fixed_names != ["Intercept"] or null.random_names != ["Intercept"]:
                raise ValueError(
                    f"null must be the empty model y ~ 1 + (1 | {self.group}), not "
                    f"{null.formula!r}."
                )
            if (
                null.reml != self.reml
                or null.n_obs != self.n_obs
                or not np.allclose(np.sort(null.y), np.sort(self.y), rtol=1e-12, atol=0.0)
            ):
                raise ValueError(
                    "null must be fitted to the same rows (the same outcome values) and by "
                    f"the same method ({'REML' if self.reml else 'ML'}) as this model."
                )
        if n is None:
            n = float(len(self._n_j) / np.sum(1.0 / self._n_j))
        s2m, taum = self.sigma2, float(self._tau[0, 0])
        s20, tau0 = null.sigma2, float(null._tau[0, 0])
        out["level1"] = 1 - (s2m + taum) / (s20 + tau0)
        out["level2"] = 1 - (s2m / n + taum) / (s20 / n + tau0)
        out["n"] = float(n)
        return out

    def _r2_residual_variance(self) -> float:
        return float(self.sigma2)

    def _r2_residuals(self, null, n) -> pd.Series:
        """r2 of a fit with a residual structure (see :meth:`r2`)."""
        if self._residual[0].var is not None:
            raise ValueError(
                f"r2 is not defined for a model with {self.variance_function!r}: the residual "
                "variance differs by level (sigma^2 times each squared SD ratio), and "
                "Nakagawa's R-squared needs one level-1 variance. Fit without variance= for "
                "it, or compute var_f / (var_f + var_r + var_e) with the level you mean."
            )
        if null is not None or n is not None:
            raise ValueError(
                "Snijders and Bosker's level-1 and level-2 R-squared assume independent "
                f"residuals within groups (a group mean's variance sigma^2 / n); this model "
                f"has {self._residual_label}. Call r2() without null= and n= for Nakagawa's "
                "marginal and conditional R-squared."
            )
        return super().r2()

    # -- row-level quantities ---------------------------------------------------------
    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        include_random: bool = True,
        new_levels: str = "raise",
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.Series | pd.DataFrame:
        """Predictions for newdata (default: the fitted rows), with intervals if asked.

        Without ``interval`` it returns the predicted means as a Series (see
        :meth:`MixedFit.predict` for ``include_random`` and ``new_levels``). With
        ``interval="confidence"`` or ``"prediction"`` it returns a DataFrame with
        ``predicted, std_error, lower, upper`` (normal quantiles at ``level``):

        * a row of a group seen in the fit (``include_random=True``): the interval
          for that group's mean at the row's predictors, x'beta + z'b_j, from the joint
          error covariance of (beta-hat, b-hat_j - b_j) given by Henderson's mixed-model
          equations, so that the uncertainty of the fixed effects, that of the group's
          random effects and their covariance all count; ``"prediction"`` adds sigma^2
          for a new observation of that group;
        * a row of a group not in the fit, or any row with ``include_random=False``: the
          interval for the population mean x'beta (``"confidence"``), or for a new
          observation in a new group (``"prediction"``: adds z' tau z + sigma^2).

        The variance components are taken as known (as lme4's ``vcov`` and ``condVar``
        take them): with few groups the intervals are somewhat too narrow.

        With a residual structure (``residuals=``, ``variance=``) the fixed effects and
        the group's random effects are the GLS and BLUP estimates under it, and the
        error covariance above comes from the whitened rows, so the confidence
        intervals account for the residual correlation. The ``"prediction"`` interval
        adds the residual variance of the new row, sigma^2 (times its squared SD ratio
        with ``variance=``: newdata must then hold that column): it is the interval for
        a new observation around the group's mean whose residual is *not* correlated
        with the group's observed residuals (as at an occasion far from the observed
        ones). The AR(1) correlation of a new occasion with the group's observed
        residuals is not used: neither to move the prediction towards them nor to
        narrow its interval, which is therefore somewhat wide for an occasion next to
        observed ones.
        """
        if interval is None:
            return super().predict(newdata, include_random=include_random, new_levels=new_levels)
        check_option(interval, "interval", ("confidence", "prediction"))
        check_level(level)
        check_bool(include_random, "include_random")
        check_option(new_levels, "new_levels", ("raise", "nan"))
        d = self._design
        if newdata is None:
            index = d.row_index
            X, Z = d.X, d.Z
            pos = d.codes if include_random else np.full(self.n_obs, -1)
            unseen = np.zeros(self.n_obs, dtype=bool)
        else:
            index = newdata.index
            rows = self._prediction_rows(newdata, True, new_levels, warn=include_random)
            X, Z, unseen = rows.X, rows.Z, rows.unseen
            pos = rows.pos if include_random else np.full(len(newdata), -1)
        known = pos >= 0
        b = np.zeros(Z.shape)
        b[known] = self._b[pos[known]]
        predicted = X @ self._beta + np.einsum("nq,nq->n", Z, b)
        var = prediction_error_variance(self, X, Z, pos)
        if interval == "prediction":
            var = var + self.sigma2 * self._residual_scales(newdata) ** 2
            new_group = ~known
            var[new_group] += np.einsum("nq,qr,nr->n", Z[new_group], self._tau, Z[new_group])
        se = np.sqrt(np.clip(var, 0.0, None))
        half = scipy.stats.norm.ppf(0.5 + level / 2) * se
        out = pd.DataFrame(
            {
                "predicted": predicted,
                "std_error": se,
                "lower": predicted - half,
                "upper": predicted + half,
            },
            index=index,
        )
        out.loc[unseen] = np.nan
        return out

    def _residual_scales(self, newdata) -> np.ndarray | float:
        """Each row's residual SD relative to sigma (1 without ``variance=``): the fitted
        rows' (newdata None) or those of newdata's level of the variance column."""
        if self._residual is None or self._residual[0].var is None:
            return 1.0
        resid, params = self._residual
        if newdata is None:
            return resid.scales(params)
        strata = resid.var
        col = strata.variance.by
        if col not in newdata.columns:
            raise ValueError(
                f"A prediction interval for a new observation needs its residual SD, which "
                f"depends on {col!r} ({strata.variance!r}): newdata has no column {col!r}."
            )
        delta = np.concatenate([[1.0], np.asarray(params, float)[1 if resid.corr else 0 :]])
        lookup = {lev: delta[k] for k, lev in enumerate(strata.levels)}
        values = newdata[col].to_numpy()
        values = values.astype(str) if values.dtype == object else values
        out = np.array([lookup.get(v, np.nan) for v in values], dtype=float)
        if np.isnan(out).any():
            bad = values[np.flatnonzero(np.isnan(out))[0]]
            raise ValueError(
                f"newdata's {col!r} has the value {bad!r}, not a level of the fit "
                f"({', '.join(map(repr, strata.levels))}): its residual SD is unknown."
            )
        return out

    def fitted(self) -> pd.Series:
        """Fitted values X beta + Z b_j, in the rows of the data that were used."""
        return pd.Series(self._linear_predictor(), index=self.row_index, name="fitted")

    def residuals(self) -> pd.Series:
        """Level-1 residuals y - fitted."""
        return pd.Series(self._design.y, index=self._design.row_index) - self.fitted()


def prediction_error_variance(
    fit: LmmFit, X: np.ndarray, Z: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """Variance of the prediction error of x'beta-hat + z'b-hat_j for each row.

    From the inverse of Henderson's mixed-model equations in lme4's form (u = Lambda^-1 b,
    coefficient matrix [[X'X, X'Z Lambda], [Lambda'Z'X, Lambda'Z'Z Lambda + I]] / sigma^2):
    with K_j = Lambda (Lambda'Z_j'Z_j Lambda + I)^-1 Lambda' (so that sigma^2 K_j is lme4's
    conditional variance of b_j) and V = cov(beta-hat), the error variance of a row with
    predictors (x, z) in group j is

        (x - X_j'Z_j K_j z)' V (x - X_j'Z_j K_j z) + sigma^2 z'K_j z,

    which is x'Vx + 2 x' cov(beta-hat, b-hat_j - b_j) z + z' var(b-hat_j - b_j) z written
    in one piece (with a residual structure, X_j and Z_j whitened by Sigma_j^-1/2, as
    the fit's K_j are). A row with pos = -1 (no group, or a group the fit has not seen) has
    no random-effect prediction: its error variance is x'Vx.
    """
    V = fit._vcov
    known = pos >= 0
    x_adj = np.array(X, dtype=float, copy=True)
    var = np.zeros(len(X))
    if known.any():
        d = fit._design
        if fit._residual is not None:  # X_j' Sigma_j^-1 Z_j: the rows whitened (data units)
            d = fit._residual[0].whiten(d, fit._residual[1])[0]
        J, p, q = fit.n_groups, X.shape[1], Z.shape[1]
        # X_j'Z_j for every group of the fit, in the data's units.
        XtZ = np.empty((J, p, q))
        for a in range(p):
            for c in range(q):
                XtZ[:, a, c] = np.bincount(d.codes, weights=d.X[:, a] * d.Z[:, c], minlength=J)
        K = fit._b_cov / fit.sigma2  # Lambda M_j^-1 Lambda', (J, q, q)
        g = pos[known]
        Kz = np.einsum("nqr,nr->nq", K[g], Z[known])
        x_adj[known] -= np.einsum("npq,nq->np", XtZ[g], Kz)
        var[known] = fit.sigma2 * np.einsum("nq,nq->n", Z[known], Kz)
    return var + np.einsum("np,pr,nr->n", x_adj, V, x_adj)
