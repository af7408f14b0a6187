"""What every fitted mixed model has: the shared base class of the result objects.

:class:`MixedFit` holds the estimates every two-level mixed model reports (fixed
effects and their covariance, the covariance of the random effects, the
conditional modes, likelihood and information criteria) and a public, read-only
view of the design the model was fitted to, in the spirit of lme4's ``getME``:
``X``, ``y``, ``Z``, ``groups``, ``group_codes``, ``ZtZ``, ... The functions that
consume fits (``compare``, ``icc``, ``model_table``, the shrinkage tables) use only
this public face, so a new model family (a subclass) needs no change there.
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

from ._coef import coef_table
from ._design import Design, to_float
from ._validate import check_bool, check_frame, check_option, row_label
from .formula import formula_variables

__all__ = ["MixedFit", "invertible"]

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
        One row per fixed term with ``estimate, std_error, statistic, p_value,
        ci_lower, ci_upper``.
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
        return coef_table(self._beta, np.sqrt(np.diag(self._vcov)), self._design.fixed_names)

    @cached_property
    def vcov(self) -> pd.DataFrame:
        index = self.fixed.index
        return pd.DataFrame(self._vcov, index=index, columns=index)

    @cached_property
    def tau(self) -> pd.DataFrame:
        names = pd.Index(self._design.random_names, name="term")
        return pd.DataFrame(self._tau, index=names, columns=names)

    # -- summary numbers --------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects and theta (a subclass adds a scale)."""
        return len(self.fixed) + len(self.theta)

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
            np.tile(self.fixed["estimate"].to_numpy(), (self.n_groups, 1)),
            index=self._design.groups,
            columns=self.fixed.index,
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
        return d.X @ self.fixed["estimate"].to_numpy() + np.einsum(
            "nq,nq->n", d.Z, self._b[d.codes]
        )

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
            return pd.Series(
                d.X @ self.fixed["estimate"].to_numpy(), index=d.row_index, name="predicted"
            )
        specs = [d.fixed_spec] + (list(d.random_specs) if include_random else [])
        needed = formula_variables(d.formula.fixed_rhs)
        if include_random:
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
                for s in (d.random_specs if include_random else [])
            ]
        pred = X @ self.fixed["estimate"].to_numpy()
        if include_random:
            Z = np.hstack(Zs)
            pos = d.groups.get_indexer(newdata[self.group])
            known = pos >= 0
            if (~known).any():
                warnings.warn(
                    f"{int((~known).sum())} row(s) of newdata belong to groups not in the fit; "
                    "their random effects are set to 0 (the population average)."
                    + _label_type_note(d.groups, newdata[self.group]),
                    UserWarning,
                    stacklevel=2,
                )
            b = np.zeros((len(newdata), Z.shape[1]))
            b[known] = self._b[pos[known]]
            pred = pred + np.einsum("nq,nq->n", Z, b)
        pred[unseen] = np.nan
        return pd.Series(pred, index=newdata.index, name="predicted")

    def confint(
        self, *, method: str = "profile", level: float = 0.95, n: int | None = None, seed=None
    ) -> pd.DataFrame:
        """Confidence intervals for every parameter (see :func:`helpers.confint.confint`).

        ``method``: ``"profile"`` (default), ``"wald"`` or ``"bootstrap"`` (parametric
        bootstrap, percentile intervals from ``n`` refits, seeded by ``seed``).
        """
        from .confint import confint

        return confint(self, method=method, level=level, n=n, seed=seed)

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

        Rows without a standard error (variance components, deviance, AIC, BIC)
        show "—" in the std_error column, not NaN; the fixed effects' standard
        errors are numbers (and in ``fixed``).
        """
        rows = []
        for term, r in self.fixed.iterrows():
            rows.append(("Fixed part", term, r["estimate"], r["std_error"]))
        for par, r in self.random_part().iterrows():
            label = par if not r["term"] else f"{par} ({r['term']})"
            rows.append(("Random part", label, r["estimate"], NO_VALUE))
        crit = "REML criterion" if self.reml else "Deviance (-2 log L)"
        rows.append(("Model fit", crit, self.deviance, NO_VALUE))
        rows.append(("Model fit", "AIC", self.aic, NO_VALUE))
        rows.append(("Model fit", "BIC", self.bic, NO_VALUE))
        table = pd.DataFrame(rows, columns=["part", "term", "estimate", "std_error"])
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
