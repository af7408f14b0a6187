"""Linear mixed models with several grouping factors (nested or crossed): the result.

:func:`fit_multi` is what :func:`helpers.fit_lmm` calls for a formula with more
than one grouping factor (``(1 | school/class)``, ``(1 | rater) + (1 | item)``,
``(1 | school:class)``): the design of :mod:`helpers._design_multi`, the blocked
engine of :mod:`helpers._blocked`, and :class:`MultiLmmFit`, whose tables
generalise those of a one-factor fit: ``varcorr`` (lme4's
``as.data.frame(VarCorr(m))``), ``tau`` and ``ranef()`` with one entry per
grouping factor, ``predict`` with unseen levels of one factor and known levels of
another. The fixed effects are tested with the normal distribution (``df``
infinite, ``ddf="z"``); Satterthwaite and Kenward-Roger degrees of freedom,
profile intervals, the bootstrap and the consumers of one-factor fits (``compare``,
``icc``, shrinkage tables) are not available for these fits yet and say so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._blocked import BlockedModel, optimize_blocked
from ._coef import coef_table
from ._design_multi import MultiDesign, build_multi_design
from ._pls import SINGULAR_TOL
from ._validate import check_bool, check_frame, check_level
from .formula import formula_variables

__all__ = ["MultiLmmFit", "fit_multi"]


def fit_multi(formula, data: pd.DataFrame, reml: bool, missing: str):
    """Design, optimum and result of a model with several grouping factors."""
    design = build_multi_design(formula, data, missing)
    yi, Xi, Zs = design.internal
    fa = design.factors
    model = BlockedModel(
        yi,
        Xi,
        Zs,
        [f.codes for f in fa],
        [f.n_levels for f in fa],
        [f.blocks for f in fa],
        reml,
    )
    opt = optimize_blocked(model)
    return MultiLmmFit._from_optimum(design, model, opt, reml)


@dataclass(repr=False)
class MultiLmmFit:
    """A linear mixed model with several grouping factors (from :func:`helpers.fit_lmm`).

    Attributes
    ----------
    fixed : pandas.DataFrame
        ``estimate, std_error, df, statistic, p_value, ci_lower, ci_upper`` per fixed
        term; the tests use the normal distribution (``df`` infinite: ``ddf="z"``).
    varcorr : pandas.DataFrame
        lme4's ``as.data.frame(VarCorr(m))``: ``grp, var1, var2, vcov, sdcor``, one
        row per variance and covariance of every factor, then ``Residual``.
    tau : dict
        Per grouping factor (lme4's name, e.g. ``"class:school"``), the covariance
        matrix of its random effects.
    sigma2, deviance, loglik, aic, bic, theta, converged, singular, boundary_reason
        As for a one-factor fit; ``groups`` names the grouping factors (lme4's order:
        most levels first) and ``n_levels`` their numbers of levels.
    """

    kind = "Linear mixed model"
    formula: str
    reml: bool
    _beta: np.ndarray
    _vcov: np.ndarray
    _tau: dict
    sigma2: float
    theta: np.ndarray
    deviance: float
    n_obs: int
    n_dropped: int
    converged: bool
    singular: bool
    boundary_reason: str
    n_evals: int
    decrement: float
    _design: MultiDesign = field(repr=False)
    _b: dict = field(repr=False)

    @classmethod
    def _from_optimum(cls, design: MultiDesign, model: BlockedModel, opt, reml: bool):
        units = design.units
        pls = opt.pls
        n, p = model.n, model.p
        sigma2_i = pls.r2 / (n - p if reml else n)
        Ts = model.Ts(opt.theta)
        q_all = sum(model.qs)
        T_all = np.zeros((q_all, q_all))
        start = 0
        for T in Ts:
            k = T.shape[0]
            T_all[start : start + k, start : start + k] = T
            start += k
        tau_all = units.random_cov(sigma2_i * (T_all @ T_all.T))
        Binv = np.linalg.inv(units.B)
        tau, b = {}, {}
        start = 0
        for fa, T, u in zip(design.factors, Ts, pls.u, strict=True):
            sl = slice(start, start + fa.q)
            names = pd.Index(fa.random_names, name="term")
            tau[fa.name] = pd.DataFrame(tau_all[sl, sl], index=names, columns=names)
            b_i = u @ T.T  # b_j = T u_j, internal units
            b[fa.name] = units.y_scale * b_i @ Binv[sl, sl].T
            start += fa.q
        singular, reasons = False, []
        for fa, th, tmap in zip(design.factors, model.split(opt.theta), model.tmaps, strict=True):
            diag = tmap.rows == tmap.cols
            for k in np.flatnonzero(diag & (np.abs(th) < SINGULAR_TOL)):
                singular = True
                term = fa.random_names[tmap.cols[k]]
                var = tau[fa.name].to_numpy()[tmap.cols[k], tmap.cols[k]]
                if var < 1e-10 * max(1.0, float(np.max(np.diag(tau[fa.name].to_numpy())))):
                    reasons.append(f"variance of {term!r} of {fa.name!r} is zero")
                else:
                    reasons.append(
                        f"the random effect of {term!r} of {fa.name!r} is a linear combination "
                        "of its other random effects (correlations at +/-1)"
                    )
        theta_data = np.concatenate(
            [
                units.relative_factor(T_all)[np.ix_(range(s, s + fa.q), range(s, s + fa.q))][
                    tm.rows, tm.cols
                ]
                for fa, tm, s in zip(
                    design.factors,
                    model.tmaps,
                    np.cumsum([0] + [f.q for f in design.factors])[:-1],
                    strict=True,
                )
            ]
        )
        RXinv = np.linalg.inv(pls.RX) if p else np.zeros((0, 0))
        return cls(
            formula=design.formula.text,
            reml=reml,
            _beta=units.beta(pls.beta),
            _vcov=units.vcov(sigma2_i * (RXinv.T @ RXinv)),
            _tau=tau,
            sigma2=units.sigma2(sigma2_i),
            theta=theta_data,
            deviance=units.deviance(pls.deviance, n, p, reml),
            n_obs=n,
            n_dropped=design.n_dropped,
            converged=opt.converged,
            singular=singular,
            boundary_reason="; ".join(reasons),
            n_evals=opt.n_evals,
            decrement=opt.decrement,
            _design=design,
            _b=b,
        )

    # -- estimates ----------------------------------------------------------------------
    @property
    def fixed_names(self) -> list[str]:
        return list(self._design.fixed_names)

    @property
    def beta(self) -> np.ndarray:
        v = self._beta.view()
        v.setflags(write=False)
        return v

    @property
    def vcov(self) -> pd.DataFrame:
        index = pd.Index(self._design.fixed_names, name="term")
        return pd.DataFrame(self._vcov, index=index, columns=index)

    def wald(self, *, ddf: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Wald tests of the fixed effects with the normal distribution (``ddf="z"``)."""
        if ddf not in (None, "z"):
            raise ValueError(
                f"ddf={ddf!r} is not available for models with several grouping factors yet: "
                "their tests use the normal distribution (ddf='z'). Satterthwaite and "
                "Kenward-Roger degrees of freedom are computed for one grouping factor."
            )
        level = check_level(level)
        se = np.sqrt(np.diag(self._vcov))
        return coef_table(self._beta, se, self._design.fixed_names, level=level)

    @property
    def fixed(self) -> pd.DataFrame:
        return self.wald()

    @property
    def tau(self) -> dict:
        """Per grouping factor, the covariance matrix of its random effects."""
        return {k: v.copy() for k, v in self._tau.items()}

    @property
    def groups(self) -> list[str]:
        """The grouping factors (lme4's names and order: most levels first)."""
        return [f.name for f in self._design.factors]

    @property
    def n_levels(self) -> dict:
        return {f.name: f.n_levels for f in self._design.factors}

    @property
    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor."""
        rows = []
        for fa in self._design.factors:
            tau = self._tau[fa.name].to_numpy()
            names = fa.random_names
            for i, a in enumerate(names):
                rows.append((fa.name, a, None, tau[i, i], np.sqrt(max(tau[i, i], 0.0))))
            for start, size, independent in fa.blocks:
                if independent:
                    continue
                for i in range(start, start + size):
                    for j in range(i + 1, start + size):
                        sd = np.sqrt(max(tau[i, i], 0.0) * max(tau[j, j], 0.0))
                        cor = tau[i, j] / sd if sd > 0 else np.nan
                        rows.append((fa.name, names[i], names[j], tau[i, j], cor))
        rows.append(("Residual", None, None, self.sigma2, np.sqrt(self.sigma2)))
        cols = list(zip(*rows, strict=True))
        return pd.DataFrame(
            {
                "grp": pd.Series(cols[0], dtype=object),
                "var1": pd.Series(cols[1], dtype=object),  # None where lme4 has NA
                "var2": pd.Series(cols[2], dtype=object),
                "vcov": np.array(cols[3], dtype=float),
                "sdcor": np.array(cols[4], dtype=float),
            }
        )

    def ranef(self) -> dict:
        """Conditional modes of the random effects: one table per grouping factor."""
        return {
            fa.name: pd.DataFrame(
                self._b[fa.name].copy(),
                index=fa.levels,
                columns=pd.Index(fa.random_names, name="term"),
            )
            for fa in self._design.factors
        }

    # -- likelihood -------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return len(self._beta) + len(self.theta) + 1

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        return self.deviance + 2 * self.n_params

    @property
    def bic(self) -> float:
        return self.deviance + np.log(self.n_obs) * self.n_params

    # -- rows ---------------------------------------------------------------------------
    def _random_part(self) -> np.ndarray:
        d = self._design
        out = np.zeros(self.n_obs)
        for fa in d.factors:
            out += np.einsum("nq,nq->n", fa.Z, self._b[fa.name][fa.codes])
        return out

    def fitted(self) -> pd.Series:
        d = self._design
        eta = d.X @ self._beta + self._random_part()
        return pd.Series(eta, index=d.row_index, name="fitted")

    def residuals(self) -> pd.Series:
        d = self._design
        return pd.Series(d.y, index=d.row_index) - self.fitted()

    def predict(self, newdata: pd.DataFrame | None = None, *, include_random=True) -> pd.Series:
        """Predictions X beta + sum over factors of z'b for newdata (default: fitted rows).

        Each grouping factor is looked up on its own: a row whose level of one factor
        was in the fit gets that level's random effects, and a level not in the fit
        gets none for that factor (the population average), with a warning naming the
        factor and how many rows.
        """
        check_bool(include_random, "include_random")
        d = self._design
        if newdata is None:
            eta = d.X @ self._beta + (self._random_part() if include_random else 0.0)
            return pd.Series(eta, index=d.row_index, name="predicted")
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError(f"newdata must be a pandas DataFrame, not {type(newdata).__name__}.")
        needed = formula_variables(d.formula.fixed_rhs)
        if include_random:
            for t in d.formula.random:
                needed |= formula_variables(t.expr) | set(t.group_columns)
        check_frame(newdata, needed, "the model (for prediction)")
        nas = newdata[sorted(needed)].isna().sum()
        if nas.any():
            listing = ", ".join(f"{c!r} ({k} missing)" for c, k in nas[nas > 0].items())
            raise ValueError(f"Missing values in newdata: {listing}; predictions need them.")
        try:
            X = np.asarray(d.fixed_spec.get_model_matrix(newdata), dtype=float)
        except Exception as err:  # formulaic's errors (e.g. an unseen category) vary
            raise ValueError(f"Could not build the fixed design of newdata: {err}") from None
        pred = X @ self._beta
        if include_random:
            for fa in d.factors:
                Z = np.hstack(
                    [np.asarray(s.get_model_matrix(newdata), dtype=float) for s in fa.random_specs]
                )
                labels = _level_labels(newdata, fa.columns)
                pos = fa.levels.get_indexer(labels)
                if (pos < 0).any():
                    warnings.warn(
                        f"{int((pos < 0).sum())} row(s) of newdata have levels of {fa.name!r} "
                        "not in the fit; their random effects of that factor are set to 0 "
                        "(the population average).",
                        UserWarning,
                        stacklevel=2,
                    )
                b = np.zeros((len(newdata), fa.q))
                b[pos >= 0] = self._b[fa.name][pos[pos >= 0]]
                pred = pred + np.einsum("nq,nq->n", Z, b)
        return pd.Series(pred, index=newdata.index, name="predicted")

    # -- what is not available yet -------------------------------------------------------
    def _not_yet(self, what: str):
        raise NotImplementedError(
            f"{what} is not available for models with several grouping factors yet "
            f"({self.formula!r}); it is for models with one grouping factor."
        )

    def confint(self, *args, **kwargs):
        self._not_yet("confint (profile, Wald and bootstrap intervals)")

    def refit(self, *args, **kwargs):
        self._not_yet("refit (and so the parametric bootstrap)")

    def simulate(self, *args, **kwargs):
        self._not_yet("simulate")

    # -- presentation -----------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        rows = [("Fixed part", t, r["estimate"], r["std_error"]) for t, r in self.fixed.iterrows()]
        for _, r in self.varcorr.iterrows():
            label = r["grp"] if r["var1"] is None else f"{r['grp']}: {r['var1']}"
            if r["var2"] is not None:
                label += f", {r['var2']} (covariance)"
            else:
                label += " (variance)"
            rows.append(("Random part", label, r["vcov"], np.nan))
        crit = "REML criterion" if self.reml else "Deviance (-2 log L)"
        rows.append(("Model fit", crit, self.deviance, np.nan))
        rows.append(("Model fit", "AIC", self.aic, np.nan))
        rows.append(("Model fit", "BIC", self.bic, np.nan))
        table = pd.DataFrame(rows, columns=["part", "term", "estimate", "std_error"])
        return table.set_index(["part", "term"])

    def __repr__(self) -> str:
        method = "REML" if self.reml else "ML"
        flags = []
        if self.singular:
            flags.append(f"singular fit: {self.boundary_reason}")
        if not self.converged:
            flags.append("NOT CONVERGED")
        levels = ", ".join(f"{k} ({v})" for k, v in self.n_levels.items())
        head = (
            f"{self.kind} fit by {method}: {self.formula}\n{self.n_obs} observations; "
            f"grouping factors {levels}" + (f" [{'; '.join(flags)}]" if flags else "")
        )
        with pd.option_context("display.float_format", "{:.4f}".format):
            return f"{head}\n\n{self.summary().to_string(na_rep='')}"


def _level_labels(data: pd.DataFrame, columns: tuple[str, ...]):
    """The level label of every row as the fit writes it (a combination: "a:b")."""
    if len(columns) == 1:
        return data[columns[0]]
    return pd.Index(
        [":".join(map(str, vals)) for vals in zip(*(data[c] for c in columns), strict=True)]
    )
