"""What every fitted mixed model has: the shared base class of the result objects.

:class:`MixedFit` holds the estimates every two-level mixed model reports (fixed
effects and their covariance, the covariance of the random effects, the
conditional modes, likelihood and information criteria) and a public, read-only
view of the design the model was fitted to, in the spirit of lme4's ``getME``:
``X``, ``y``, ``Z``, ``groups``, ``group_codes``, ``ZtZ``, ... The functions that
consume fits (``compare``, ``icc``, ``model_table``, the shrinkage tables) use only
this public face, so a new model family (a subclass) needs no change there.

It also declares what intervals and the bootstrap need, and each family implements:
``deviance_profile()`` (the deviance as a function of the parameters, lme4's
``devfun2``: see :class:`helpers._profile.DevianceProfile`), ``simulate()`` and
``refit()``. ``confint()`` computes from that interface (:func:`helpers._profile.intervals`),
so this module imports no family and no consumer. ``check_fit`` and ``named_fits`` (the
checks of the fits a consumer is given) are here too.

Imports: ``_coef``, ``_design``, ``_validate``, ``formula``, ``_profile``.
"""

from __future__ import annotations

import html
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd
from formulaic.errors import DataMismatchWarning

from . import ddf as _ddf
from ._coef import coef_table
from ._design import Design, to_float
from ._profile import DevianceProfile, intervals
from ._validate import check_bool, check_frame, check_level, check_option, row_label
from .formula import formula_variables

__all__ = ["MixedFit", "check_fit", "invertible", "named_fits"]

# What summary() shows where a row has no standard error (a variance, AIC, ...).
NO_VALUE = "\u2014"


def _read_only(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.setflags(write=False)
    return v


@dataclass(repr=False)
class MixedFit:
    """A fitted two-level mixed model (base of :class:`helpers.LmmFit`).

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed term with ``estimate, std_error, df, statistic, p_value,
        ci_lower, ci_upper`` (:meth:`wald` with the family's default ``ddf``).
    vcov : pandas.DataFrame
        Covariance matrix of the fixed-effect estimates.
    tau : pandas.DataFrame
        Covariance matrix of the random effects, labelled by random term.
    sigma2 : float
        Residual (level-1) variance.
    theta : numpy.ndarray
        The relative covariance factor's parameters at the optimum (lme4's order).
    deviance : float
        As lme4 reports it (the subclass says which criterion).
    n_obs, n_groups, n_dropped : int
        Rows used, groups, rows dropped for missing values.
    converged, singular : bool
        Whether the optimum was confirmed; whether it lies on the boundary
        (``boundary_reason`` says why).
    group : str
        Name of the grouping column.
    """

    kind: ClassVar[str] = "Mixed model"
    # The tables fixed, vcov and tau are built from the arrays above when first read
    # (a simulation that refits thousands of times reads few of them).

    formula: str
    reml: bool
    _beta: np.ndarray = field(repr=False)  # fixed-effect estimates (fixed_names' order)
    _vcov: np.ndarray = field(repr=False)  # their covariance matrix
    _tau: np.ndarray = field(repr=False)  # covariance of the random effects
    sigma2: float
    theta: np.ndarray
    deviance: float
    n_obs: int
    n_groups: int
    n_dropped: int
    converged: bool
    singular: bool
    boundary_reason: str
    group: str
    n_iter: int
    _design: Design = field(repr=False)
    _b: np.ndarray = field(repr=False)
    _b_cov: np.ndarray = field(repr=False)
    _n_j: np.ndarray = field(repr=False)
    _ZtZ: np.ndarray = field(repr=False)

    # -- the estimates as labelled tables ---------------------------------------------
    @cached_property
    def fixed(self) -> pd.DataFrame:
        return self.wald()

    @cached_property
    def vcov(self) -> pd.DataFrame:
        index = pd.Index(self._design.fixed_names, name="term")
        return pd.DataFrame(self._vcov, index=index, columns=index)

    @property
    def beta(self) -> np.ndarray:
        """The fixed-effect estimates as a read-only array (order of :attr:`fixed_names`).

        What code that needs only the estimates reads (``fixed`` also computes the
        degrees of freedom of its tests)."""
        return _read_only(self._beta)

    @cached_property
    def tau(self) -> pd.DataFrame:
        names = pd.Index(self._design.random_names, name="term")
        return pd.DataFrame(self._tau, index=names, columns=names)

    # -- summary numbers --------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects and theta (a subclass adds a scale)."""
        return len(self._beta) + len(self.theta)

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.n_obs) * self.n_params

    @property
    def fixed_formula(self) -> str:
        return self._design.formula.fixed

    @property
    def random_terms(self) -> list[str]:
        return list(self.tau.index)

    def correlations(self) -> pd.DataFrame:
        """Correlation matrix of the random effects (NaN where a variance is zero)."""
        sd = np.sqrt(np.diag(self.tau.to_numpy()))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.tau.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.tau.index, columns=self.tau.columns)

    # -- the design, read-only (lme4's getME) -----------------------------------------
    @property
    def groups(self) -> pd.Index:
        """Group labels in the model's (sorted) order; named after the grouping column."""
        return self._design.groups

    @property
    def group_codes(self) -> np.ndarray:
        """Position in :attr:`groups` of the group of every row used (length n_obs)."""
        return _read_only(self._design.codes)

    @property
    def y(self) -> np.ndarray:
        """The outcome of the rows used (length n_obs)."""
        return _read_only(self._design.y)

    @property
    def X(self) -> np.ndarray:
        """The fixed-effects design matrix (n_obs x p), columns :attr:`fixed_names`."""
        return _read_only(self._design.X)

    @property
    def Z(self) -> np.ndarray:
        """The random-effects design (n_obs x q, one column per random term, rows as X).

        Not expanded by group: row i's random effects are ``ranef()`` of group
        ``group_codes[i]``, so the fitted random part of row i is ``Z[i] @ b[codes[i]]``.
        """
        return _read_only(self._design.Z)

    @property
    def fixed_names(self) -> list[str]:
        return list(self._design.fixed_names)

    @property
    def random_names(self) -> list[str]:
        return list(self._design.random_names)

    @property
    def blocks(self) -> tuple[tuple[int, int, bool], ...]:
        """One ``(first column of Z, number of columns, independent)`` per random part."""
        return tuple(tuple(b) for b in self._design.blocks)

    @property
    def row_index(self) -> pd.Index:
        """Index labels (in the data passed to the fit) of the rows used."""
        return self._design.row_index

    @property
    def n_per_group(self) -> np.ndarray:
        """Rows per group, in the order of :attr:`groups`."""
        return _read_only(self._n_j)

    @property
    def ZtZ(self) -> np.ndarray:
        """Per-group cross-products Z_j'Z_j (n_groups x q x q)."""
        return _read_only(self._ZtZ)

    # -- group-level quantities -------------------------------------------------------
    def ranef(self) -> pd.DataFrame:
        """Conditional modes of the random effects (empirical Bayes estimates) per group."""
        return pd.DataFrame(self._b.copy(), index=self._design.groups, columns=self.tau.index)

    def ranef_sd(self) -> pd.DataFrame:
        """Conditional standard deviations of the random effects (lme4's condVar)."""
        sd = np.sqrt(np.clip(np.diagonal(self._b_cov, axis1=1, axis2=2), 0, None))
        return pd.DataFrame(sd, index=self._design.groups, columns=self.tau.index)

    def coef(self) -> pd.DataFrame:
        """Group-specific coefficients: the fixed effects plus each group's random effects."""
        out = pd.DataFrame(
            np.tile(self._beta, (self.n_groups, 1)),
            index=self._design.groups,
            columns=pd.Index(self._design.fixed_names, name="term"),
        )
        ranef = self.ranef()
        for term in ranef.columns:
            if term in out.columns:
                out[term] += ranef[term]
            else:
                out[term] = ranef[term]
        return out

    def group_sizes(self) -> pd.Series:
        return pd.Series(self._n_j, index=self._design.groups, name="n")

    def reliability(self) -> pd.DataFrame:
        """Reliability of each group's own OLS estimate of each random coefficient.

        For a random intercept alone: ``tau_00 / (tau_00 + sigma^2 / n_j)``. In
        general, per random term k: ``tau_kk / (tau_kk + sigma^2 [(Z_j'Z_j)^-1]_kk)``.
        NaN where the group's own estimate does not exist (Z_j'Z_j singular, e.g.
        a random slope in a group of one).
        """
        q = self._ZtZ.shape[1]
        diag_inv = np.full((self.n_groups, q), np.nan)
        ok = invertible(self._ZtZ)
        if ok.any():
            diag_inv[ok] = np.diagonal(np.linalg.inv(self._ZtZ[ok]), axis1=1, axis2=2)
        tau = np.diag(self.tau.to_numpy())
        rel = tau / (tau + self.sigma2 * diag_inv)
        return pd.DataFrame(rel, index=self._design.groups, columns=self.tau.index)

    # -- row-level quantities ---------------------------------------------------------
    def _linear_predictor(self) -> np.ndarray:
        """X beta + Z b_j in the rows used."""
        d = self._design
        return d.X @ self._beta + np.einsum("nq,nq->n", d.Z, self._b[d.codes])

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        include_random: bool = True,
        new_levels: str = "raise",
    ) -> pd.Series:
        """Predictions of the linear predictor for newdata (default: the fitted data).

        With ``include_random=True`` a row of a group seen in the fit gets that
        group's random effects; a group not seen in the fit gets none (its
        prediction is the fixed part), with a warning that names how many rows
        (and says so when the labels' type differs from the fit's, e.g. strings
        against integers).

        A level of a categorical predictor that the fit never saw has no estimated
        effect: by default (``new_levels="raise"``) that is an error naming the
        column and the level; with ``new_levels="nan"`` those rows are predicted as
        NaN, with a warning naming them.
        """
        check_bool(include_random, "include_random")
        check_option(new_levels, "new_levels", ("raise", "nan"))
        d = self._design
        if newdata is None:
            if include_random:
                return pd.Series(self._linear_predictor(), index=d.row_index, name="predicted")
            return pd.Series(d.X @ self._beta, index=d.row_index, name="predicted")
        rows = self._prediction_rows(newdata, include_random, new_levels, warn=True)
        pred = rows.X @ self._beta
        if include_random:
            b = np.zeros((len(newdata), rows.Z.shape[1]))
            b[rows.known] = self._b[rows.pos[rows.known]]
            pred = pred + np.einsum("nq,nq->n", rows.Z, b)
        pred[rows.unseen] = np.nan
        return pd.Series(pred, index=newdata.index, name="predicted")

    def _prediction_rows(
        self, newdata: pd.DataFrame, with_z: bool, new_levels: str, *, warn: bool
    ) -> PredictionRows:
        """The fixed and random design of newdata's rows, their groups' positions in the
        fit (-1: a group the fit has not seen) and the rows with unseen factor levels."""
        d = self._design
        specs = [d.fixed_spec] + (list(d.random_specs) if with_z else [])
        needed = formula_variables(d.formula.fixed_rhs)
        if with_z:
            needed.add(self.group)
            for term in d.formula.random:
                needed |= formula_variables(term.expr)
        check_frame(newdata, needed, "the model (for prediction)")
        nas = newdata[sorted(needed)].isna().sum()
        if nas.any():
            listing = ", ".join(f"{c!r} ({k} missing)" for c, k in nas[nas > 0].items())
            raise ValueError(f"Missing values in newdata: {listing}; predictions need them.")
        unseen = np.zeros(len(newdata), dtype=bool)
        for spec in specs:
            unseen |= _unseen_levels(spec, newdata, new_levels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataMismatchWarning)  # handled just above
            X = to_float(d.fixed_spec.get_model_matrix(newdata), "newdata's fixed design")
            Zs = [
                to_float(s.get_model_matrix(newdata), "newdata's random design")
                for s in (d.random_specs if with_z else [])
            ]
        if not with_z:
            return PredictionRows(X, None, np.full(len(newdata), -1), unseen)
        pos = d.groups.get_indexer(newdata[self.group])
        if warn and (pos < 0).any():
            warnings.warn(
                f"{int((pos < 0).sum())} row(s) of newdata belong to groups not in the fit; "
                "their random effects are set to 0 (the population average)."
                + _label_type_note(d.groups, newdata[self.group]),
                UserWarning,
                stacklevel=3,
            )
        return PredictionRows(X, np.hstack(Zs), pos, unseen)

    def _new_outcome(self, y) -> np.ndarray:
        """A new outcome for ``refit``: one finite number per row of the fit, as a new
        float array (a Series is aligned on the fit's row labels)."""
        if isinstance(y, pd.Series):
            y = y.reindex(self.row_index)
        try:
            y = np.array(y, dtype=float)  # a copy: the caller's array is not frozen
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
        return y

    def r2(self) -> pd.Series:
        """Marginal and conditional R-squared of Nakagawa & Schielzeth (2013).

        ``marginal`` is the share of the total variance that the fixed part
        explains, ``conditional`` the share of fixed and random parts together:
        var_f / (var_f + var_r + var_e) and (var_f + var_r) / (var_f + var_r + var_e),
        with var_f the variance of the fitted fixed part X beta-hat over the rows used,
        var_r the random-effect variance averaged over those rows, mean(z_i' tau z_i)
        (Johnson's 2014 extension, which reduces to tau_00 for a random intercept), and
        var_e the residual variance on the model's scale (see the subclasses). As
        ``performance::r2_nakagawa`` in R.
        """
        var_f, var_r, var_e = self._r2_parts()
        total = var_f + var_r + var_e
        return pd.Series(
            {"marginal": var_f / total, "conditional": (var_f + var_r) / total}, name="r2"
        )

    def _r2_parts(self) -> tuple[float, float, float]:
        """(variance of the fixed part, mean random-effect variance, residual variance)."""
        d = self._design
        var_f = float(np.var(d.X @ self._beta, ddof=1))
        var_r = float(np.mean(np.einsum("nq,qr,nr->n", d.Z, self._tau, d.Z)))
        return var_f, var_r, self._r2_residual_variance()

    def _r2_residual_variance(self) -> float:
        """The level-1 variance on the scale R-squared is computed on (subclasses)."""
        raise NotImplementedError

    def confint(
        self, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
    ) -> pd.DataFrame:
        """Confidence intervals for every parameter (see :func:`helpers.confint.confint`).

        ``method``: ``"profile"`` (default), ``"wald"`` or ``"bootstrap"`` (parametric
        bootstrap, percentile intervals from ``n`` refits, seeded by ``seed``).
        """
        return intervals(self, method=method, level=level, n=n, seed=seed)

    # -- what intervals and the bootstrap need: each family implements it -------------
    def deviance_profile(self) -> DevianceProfile:
        """The deviance as a function of the parameters (sd, cor, [sigma], beta): what
        :meth:`confint` computes every interval from (lme4's ``devfun2``); see
        :class:`helpers._profile.DevianceProfile`."""
        raise NotImplementedError(f"{type(self).__name__} does not define deviance_profile().")

    def simulate(self, n: int = 1, *, seed=None) -> np.ndarray:
        """Outcomes drawn from the fitted model, shape ``(n, n_obs)`` (lme4's ``simulate``)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot yet be simulated from: the parametric bootstrap "
            "needs a linear mixed model (hp.fit_lmm)."
        )

    def refit(self, y) -> MixedFit:
        """The same model fitted to a new outcome of ``n_obs`` values (lme4's ``refit``)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot yet be refitted: the parametric bootstrap "
            "needs a linear mixed model (hp.fit_lmm)."
        )

    # -- tests of the fixed effects (helpers.ddf) ---------------------------------------
    # Which ddf a family accepts (the first is its default); a linear mixed model adds
    # Satterthwaite and Kenward-Roger and provides _ddf_state().
    _ddf_methods: ClassVar[tuple[str, ...]] = ("z",)

    def _ddf_state(self):
        raise NotImplementedError  # only families with ddf other than "z" need it

    def _units_vcov(self, vcov: np.ndarray) -> np.ndarray:
        """A covariance of the internal coefficients in the data's units."""
        return self._design.units.vcov(vcov)

    def wald(self, *, ddf: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Wald tests and intervals of the fixed effects: the table :attr:`fixed` shows.

        Columns ``estimate, std_error, df, statistic, p_value, ci_lower, ci_upper``
        (``level`` intervals), one row per coefficient. ``ddf``:

        - ``"satterthwaite"`` (linear mixed models' default, as lmerTest): t tests
          with Satterthwaite's degrees of freedom (with a residual structure,
          ``fit_lmm(..., residuals=, variance=)``, its parameters count among the
          variance parameters: :class:`helpers.ddf.ResidualDdf`);
        - ``"kenward-roger"`` (REML fits of linear mixed models without a residual
          structure, as pbkrtest and lmerTest): standard errors from Kenward and
          Roger's adjusted covariance and their degrees of freedom;
        - ``"z"`` (generalized mixed models' only option): the normal
          distribution, ``df`` infinite;
        - ``"containment"`` (a linear mixed model with a residual structure only):
          nlme's df, ``n - J - (within-group terms)`` for within-group terms and
          the intercept, ``J - 1 - (group-level terms)`` for group-level terms.
        """
        ddf = _ddf.check_ddf(self, ddf)
        level = check_level(level)
        L = np.eye(len(self._beta))
        est, se, df = _ddf.contrast_rows(self, L, ddf)
        return coef_table(est, se, self._design.fixed_names, df=df, level=level)

    def anova(self, *, ddf: str | None = None) -> pd.DataFrame:
        """F test of each term of the fixed part (lmerTest's ``anova(m, type = 3)``).

        One row per term of the formula except the intercept (``"extrav:texp"``),
        with ``num_df`` (the term's columns), ``den_df``, ``statistic`` (F) and
        ``p_value``. Type III hypotheses as lmerTest builds them for treatment-coded
        factors: a term's effect is zero where the numeric variables it interacts
        with are 0, averaged with equal weights over the levels of the factors it
        interacts with (without interactions: its coefficients are zero).
        ``ddf`` as in :meth:`wald`.
        """
        ddf = _ddf.check_ddf(self, ddf)
        rows, names = [], []
        for term, cols in self._design.fixed_spec.term_indices.items():
            if str(term) == "1" or not cols:
                continue
            L = _ddf.type3_rows(self, list(cols))
            rows.append(_ddf.joint_test(self, L, ddf))
            names.append(str(term))
        return pd.DataFrame(
            rows,
            index=pd.Index(names, name="term"),
            columns=["num_df", "den_df", "statistic", "p_value"],
        ).astype({"num_df": int})

    def contrast(
        self, L, *, ddf: str | None = None, joint: bool = False, level: float = 0.95
    ) -> pd.DataFrame:
        """Tests of linear combinations of the fixed effects (lmerTest's ``contest``).

        ``L``: a dict of named coefficients (``{"extrav": 1, "extrav:texp": 15}``:
        one contrast), a list of such dicts, a DataFrame whose columns are
        coefficient names (one contrast per row, index kept), or an array with one
        column per coefficient (order of :attr:`fixed_names`). With ``joint=False``
        one row per contrast with the columns of :attr:`fixed`; with
        ``joint=True`` one F test of all contrasts being zero together (the
        columns of :meth:`anova`). ``ddf`` as in :meth:`wald`.
        """
        ddf = _ddf.check_ddf(self, ddf)
        level = check_level(level)
        check_bool(joint, "joint")
        L, index = _ddf.contrast_matrix(L, self._design.fixed_names)
        if joint:
            row = _ddf.joint_test(self, L, ddf)
            return pd.DataFrame(
                [row], index=["joint"], columns=["num_df", "den_df", "statistic", "p_value"]
            ).astype({"num_df": int})
        est, se, df = _ddf.contrast_rows(self, L, ddf)
        table = coef_table(est, se, index, df=df, level=level)
        table.index.name = "contrast"
        return table

    def slopes(
        self, var: str, *, at: dict, ddf: str | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Simple slopes: the effect of ``var`` at given values of its moderators.

        ``at={"texp": [5, 15, 25]}`` gives one row per value, with the columns of
        :attr:`fixed` (``estimate`` is d(linear predictor)/d var there), as emmeans'
        ``emtrends``. Several moderators give a row per combination. Other numeric
        variables that multiply ``var`` are held at their mean (as emmeans).
        ``var`` must enter the fixed part linearly (``x``, ``x:z``), not inside a
        transformation. ``ddf`` as in :meth:`wald`.
        """
        ddf = _ddf.check_ddf(self, ddf)
        level = check_level(level)
        L, index = _ddf.slope_rows(self, var, at)
        est, se, df = _ddf.contrast_rows(self, L, ddf)
        table = coef_table(est, se, index, df=df, level=level)
        table.index = index
        return table

    def johnson_neyman(
        self, var: str, moderator: str, *, ddf: str | None = None, alpha: float = 0.05
    ) -> _ddf.JohnsonNeyman:
        """Where the simple slope of ``var`` differs from 0 (the Johnson-Neyman region).

        The slope of ``var`` is linear in ``moderator``; its two-sided test at level
        ``alpha`` (with the df of ``ddf``, as :meth:`slopes`, computed at each
        boundary) is significant on one side of, between or outside the two values
        where |t| equals the critical value. Returns the boundaries and which
        region is significant.
        """
        ddf = _ddf.check_ddf(self, ddf)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
            raise ValueError(f"alpha must be a number between 0 and 1, not {alpha!r}.")
        return _ddf.johnson_neyman(self, var, moderator, ddf, float(alpha))

    # -- presentation -----------------------------------------------------------------
    def random_part(self) -> pd.DataFrame:
        """Variance components in Hox's notation: sigma2_e, sigma2_u0, sigma_u01, ..."""
        tau = self.tau.to_numpy()
        names = list(self.tau.index)
        rows = [("sigma2_e", "Residual", "", self.sigma2)]
        for i, a in enumerate(names):
            rows.append((f"sigma2_u{i}", self.group, a, tau[i, i]))
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if self.theta_is_free(i, j):
                    rows.append(
                        (f"sigma_u{i}{j}", self.group, f"{names[i]}, {names[j]}", tau[i, j])
                    )
        return pd.DataFrame(rows, columns=["parameter", "level", "term", "estimate"]).set_index(
            "parameter"
        )

    def theta_is_free(self, i: int, j: int) -> bool:
        """Whether the covariance of random terms i and j is estimated (not fixed at 0)."""
        for start, size, independent in self._design.blocks:
            if start <= i < start + size and start <= j < start + size:
                return not independent
        return False

    def summary(self) -> pd.DataFrame:
        """A compact table in Hox's layout: fixed part, random part, deviance.

        The fixed effects carry their standard errors and the degrees of freedom of
        their tests (those of ``fixed``: Satterthwaite's for a linear mixed model,
        infinite -- the z test -- for a generalized one). Rows without a standard
        error or df (variance components, deviance, AIC, BIC) show "—" there, not
        NaN.
        """
        rows = []
        for term, r in self.fixed.iterrows():
            rows.append(("Fixed part", term, r["estimate"], r["std_error"], r["df"]))
        for par, r in self.random_part().iterrows():
            label = par if not r["term"] else f"{par} ({r['term']})"
            rows.append(("Random part", label, r["estimate"], NO_VALUE, NO_VALUE))
        crit = "REML criterion" if self.reml else "Deviance (-2 log L)"
        rows.append(("Model fit", crit, self.deviance, NO_VALUE, NO_VALUE))
        rows.append(("Model fit", "AIC", self.aic, NO_VALUE, NO_VALUE))
        rows.append(("Model fit", "BIC", self.bic, NO_VALUE, NO_VALUE))
        table = pd.DataFrame(rows, columns=["part", "term", "estimate", "std_error", "df"])
        return table.set_index(["part", "term"])

    def _header(self) -> str:
        method = "REML" if self.reml else "ML"
        flags = []
        if self.singular:
            flags.append(f"singular fit: {self.boundary_reason}")
        if not self.converged:
            flags.append("NOT CONVERGED")
        if self.n_dropped:
            flags.append(f"{self.n_dropped} rows dropped for missing values")
        extra = f" [{'; '.join(flags)}]" if flags else ""
        return (
            f"{self.kind} fit by {method}: {self.formula}\n"
            f"{self.n_obs} observations in {self.n_groups} groups of {self.group!r}{extra}"
        )

    def __repr__(self) -> str:
        with pd.option_context("display.float_format", "{:.4f}".format):
            return f"{self._header()}\n\n{self.summary().to_string(na_rep='')}"

    def _repr_html_(self) -> str:
        table = self.summary().to_html(na_rep="", float_format="{:.4f}".format)
        return f"<p><b>{html.escape(self._header()).replace(chr(10), '<br>')}</b></p>{table}"


@dataclass(frozen=True)
class PredictionRows:
    """New rows as the fitted model sees them (see :meth:`MixedFit._prediction_rows`)."""

    X: np.ndarray  # fixed-effects design, n x p
    Z: np.ndarray | None  # random-effects design, n x q (None: not asked for)
    pos: np.ndarray  # position of each row's group in the fit's groups; -1 if unseen
    unseen: np.ndarray  # rows with a level of a categorical predictor the fit never saw

    @property
    def known(self) -> np.ndarray:
        return self.pos >= 0


def _categorical_values(factor: str, newdata: pd.DataFrame) -> pd.Series | None:
    """The data column behind a categorical factor: 'h', '`my h`' or 'C(h, ...)'."""
    if factor in newdata.columns:
        return newdata[factor]
    m = re.fullmatch(r"C\(\s*`?([^,`]+?)`?\s*(,.*)?\)", factor)
    if m and m.group(1) in newdata.columns:
        return newdata[m.group(1)]
    return None


def _unseen_levels(spec, newdata: pd.DataFrame, new_levels: str) -> np.ndarray:
    """Rows of newdata with a level of a categorical factor the model never saw."""
    unseen = np.zeros(len(newdata), dtype=bool)
    for factor, (kind, state) in spec.encoder_state.items():
        if kind.value != "categorical":
            continue
        levels = pd.Index(state["categories"])
        values = _categorical_values(factor, newdata)
        if values is None:  # an expression: let formulaic say which values are new
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataMismatchWarning)
                spec.get_model_matrix(newdata)
            for w in caught:
                if issubclass(w.category, DataMismatchWarning):
                    raise ValueError(
                        f"newdata has values of {factor!r} that the model never saw "
                        f"({w.message}); the model has no effect for them."
                    )
            continue
        new = ~values.isin(levels).to_numpy()
        if not new.any():
            continue
        rows = newdata.index[new]
        names = ", ".join(map(repr, pd.unique(values[new])[:5].tolist()))
        what = (
            f"{int(new.sum())} row(s) of newdata have level(s) {names} of {factor!r} that the "
            f"model never saw (it knows {', '.join(map(repr, levels[:10]))}"
            f"{', ...' if len(levels) > 10 else ''})"
        )
        if new_levels == "raise":
            raise ValueError(
                f"{what}: the model has no estimated effect for them. Use levels seen in the "
                "fit, or pass new_levels='nan' to predict NaN for those rows."
            )
        warnings.warn(
            f"{what}; their predictions are NaN (rows {', '.join(map(row_label, rows[:10]))}"
            f"{', ...' if len(rows) > 10 else ''}).",
            UserWarning,
            stacklevel=3,
        )
        unseen |= new
    return unseen


def _label_kind(values) -> str:
    index = pd.Index(values)
    if isinstance(index, pd.CategoricalIndex):
        index = pd.Index(index.categories)
    first = next((v for v in index if not pd.isna(v)), None)
    if isinstance(first, str):
        return "strings"
    if isinstance(first, Real) and not isinstance(first, bool):
        return "numbers"
    return type(first).__name__


def _label_type_note(groups: pd.Index, labels: pd.Series) -> str:
    """A note for the unseen-group warning when the labels' types differ (strings vs numbers)."""
    fit_kind, new_kind = _label_kind(groups), _label_kind(labels.dropna().unique())
    if fit_kind == new_kind:
        return ""
    example_fit = groups[0]
    example_new = labels.dropna().iloc[0] if labels.notna().any() else None
    return (
        f" Note: the fit's group labels are {fit_kind} (e.g. {row_label(example_fit)}) but "
        f"newdata's are {new_kind} (e.g. {row_label(example_new)}), so none can match: convert "
        f"newdata's "
        f"{groups.name!r} column to the fit's type."
    )


def invertible(M: np.ndarray) -> np.ndarray:
    """Which of the stacked square matrices M[j] are (numerically) invertible."""
    d = np.linalg.det(M)
    scale = np.prod(np.diagonal(M, axis1=1, axis2=2), axis=1)
    return np.abs(d) > 1e-10 * np.maximum(scale, 1e-300)


# ------------------------------------------------------- checks of fits given to consumers


def check_fit(fit, what: str = "the argument") -> None:
    """fit must be a fitted mixed model; the message names the argument and its type."""
    if not isinstance(fit, MixedFit):
        if type(fit).__name__ == "MultiLmmFit":
            raise TypeError(
                f"{what} is a model with several grouping factors ({fit.formula!r}): this "
                "function takes fits with one grouping factor for now. Such a fit reports "
                "its own varcorr, tau, ranef(), fixed and deviance."
            )
        hint = (
            " A single-level fit from hp.fit_ols has no random part to test or shrink."
            if type(fit).__name__ == "OlsFit"
            else ""
        )
        raise TypeError(
            f"{what} is of type {type(fit).__name__}, not a fit from hp.fit_lmm or "
            "hp.fit_glmm (a fitted mixed model): pass e.g. "
            f"m = hp.fit_lmm('popular ~ extrav + (1 | class)', df).{hint}"
        )


def named_fits(args: tuple, caller: str, *, several_factors: bool = False) -> dict:
    """The fits given to ``compare`` or ``model_table``, with their labels: one rule for both.

    Accepted: the fits as separate arguments (``f(m0, m1)``), one list or tuple of
    fits (``f([m0, m1])``), or one dict ``{label: fit}`` (``f({"empty": m0,
    "slope": m1})``). The labels are the dict's keys (as strings); otherwise
    ``"M0"``, ``"M1"``, ... by position, the first fit being M0.
    """
    if len(args) == 1 and isinstance(args[0], dict):
        named = {str(k): v for k, v in args[0].items()}
        if len(named) != len(args[0]):
            raise ValueError(
                f"The labels of the fits given to {caller} must differ as text; "
                f"{list(args[0])} do not."
            )
    else:
        if len(args) == 1 and isinstance(args[0], list | tuple):
            args = tuple(args[0])
        for k, f in enumerate(args):
            if isinstance(f, dict | list | tuple):
                raise TypeError(
                    f"Argument {k + 1} of {caller} is a {type(f).__name__}: pass the fits "
                    f"either one by one, {caller}(m0, m1), or as one list or one dict "
                    f"{{label: fit}}, not both."
                )
        named = {f"M{k}": f for k, f in enumerate(args)}
    for label, f in named.items():
        if several_factors and type(f).__name__ == "MultiLmmFit":
            continue  # the caller handles fits with several grouping factors
        check_fit(f, f"Model {label!r} of {caller}")
    return named
