"""Linear mixed models with several grouping factors (nested or crossed): the result.

:func:`fit_multi` is what :func:`helpers.fit_lmm` calls for a formula with more
than one grouping factor (``(1 | school/class)``, ``(1 | rater) + (1 | item)``,
``(1 | school:class)``): the design of :mod:`helpers._design_multi`, the blocked
engine of :mod:`helpers._blocked`, and :class:`MultiLmmFit`, whose tables
generalise those of a one-factor fit: ``varcorr`` (lme4's
``as.data.frame(VarCorr(m))``), ``tau`` and ``ranef()`` with one entry per
grouping factor, ``predict`` with unseen levels of one factor and known levels of
another. The fixed effects are tested as for one grouping factor, by the same
methods (``wald``, ``anova``, ``contrast``, ``slopes``, ``johnson_neyman`` of
:class:`helpers._fit.MixedFit`, with :mod:`helpers.ddf`): with Satterthwaite's
degrees of freedom by default (lmerTest's), Kenward-Roger's (pbkrtest's) or
``ddf="z"``; the pieces come from :mod:`helpers._multi_ddf`. ``refit``,
``simulate`` and ``hp.compare`` (also ``method="bootstrap"``) work as for one
factor, ``ranef_sd()`` gives lme4's conditional SDs per factor, ``summary()`` is
the one-factor fit's table, and ``confint`` (profile, Wald, bootstrap) works
through the shared interval machinery (:mod:`helpers._profile`) with the
deviance function of :mod:`helpers._multi_profile`. The consumers of one-factor
fits that need one grouping factor (``icc``, shrinkage tables) are not available
for these fits yet and say so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._blocked import BlockedModel, optimize_blocked
from ._design import check_outcome_varies
from ._design_multi import MultiDesign, build_multi_design
from ._fit import MixedFit
from ._multi_ddf import MultiDdf, richardson
from ._multi_profile import MultiProfile
from ._pls import SINGULAR_TOL
from ._profile import intervals
from ._validate import check_bool, check_count, check_frame, check_seed
from .ddf import DDF_OPTIONS
from .formula import formula_variables

__all__ = ["MultiLmmFit", "fit_multi"]


def fit_multi(formula, data: pd.DataFrame, reml: bool, missing: str):
    """Design, optimum and result of a model with several grouping factors."""
    design = build_multi_design(formula, data, missing)
    model = _blocked_model(design, reml)
    opt = optimize_blocked(model)
    return MultiLmmFit._from_optimum(design, model, opt, reml)


def _blocked_model(design: MultiDesign, reml: bool) -> BlockedModel:
    """The engine's model of a design (internal units)."""
    yi, Xi, Zs = design.internal
    fa = design.factors
    return BlockedModel(
        yi,
        Xi,
        Zs,
        [f.codes for f in fa],
        [f.n_levels for f in fa],
        [f.blocks for f in fa],
        reml,
    )


@dataclass(repr=False)
class MultiLmmFit:
    """A linear mixed model with several grouping factors (from :func:`helpers.fit_lmm`).

    Attributes
    ----------
    fixed : pandas.DataFrame
        ``estimate, std_error, df, statistic, p_value, ci_lower, ci_upper`` per fixed
        term: t tests with Satterthwaite's degrees of freedom (lmerTest's default);
        ``wald(ddf="kenward-roger")`` and ``wald(ddf="z")`` give the other tables.
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
    # What the tests of the fixed effects and refit reuse, set by _from_optimum (plain
    # attributes, not dataclass fields): the engine's model and its optimum theta.
    _model = None
    _theta_internal = None
    _ddf = None  # (MultiDdf, A^-1), when first needed
    _ddf_methods = DDF_OPTIONS  # Satterthwaite is the default; Kenward-Roger refuses
    _cond_cov = None  # per factor, the conditional covariances of the random effects
    _warn = None  # fit_lmm's warnings (set by helpers.lmm), which refit gives too

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
        fit = cls(
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
        fit._model, fit._theta_internal = model, np.array(opt.theta, dtype=float)
        return fit

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

    @property
    def X(self) -> np.ndarray:
        """The fixed-effects design matrix (n_obs x p), columns :attr:`fixed_names`."""
        return _read_only(self._design.X)

    @property
    def y(self) -> np.ndarray:
        """The outcome of the rows used (length n_obs)."""
        return _read_only(self._design.y)

    @property
    def group_codes(self) -> dict:
        """Per grouping factor, the position in its levels of every row's level."""
        return {f.name: _read_only(f.codes) for f in self._design.factors}

    @property
    def Z(self) -> dict:
        """Per grouping factor, its random-effects design (n_obs x q_k, columns
        ``random_names[factor]``; not expanded by level, as a one-factor fit's ``Z``)."""
        return {f.name: _read_only(f.Z) for f in self._design.factors}

    @property
    def random_names(self) -> dict:
        """Per grouping factor, the names of its random terms."""
        return {f.name: list(f.random_names) for f in self._design.factors}

    @property
    def row_index(self) -> pd.Index:
        """Index labels (in the data passed to the fit) of the rows used."""
        return self._design.row_index

    # -- tests of the fixed effects: the one-factor fit's methods (helpers.ddf) -------------
    wald = MixedFit.wald
    anova = MixedFit.anova
    contrast = MixedFit.contrast
    slopes = MixedFit.slopes
    johnson_neyman = MixedFit.johnson_neyman
    _units_vcov = MixedFit._units_vcov

    def _ddf_state(self):
        """Satterthwaite's pieces (helpers._multi_ddf.MultiDdf) and the map A^-1 of
        contrasts of the data's coefficients into internal ones, computed once."""
        if self._ddf is None:
            model = self._model
            self._ddf = (
                MultiDdf(
                    model.modes,
                    self._theta_internal,
                    model.n,
                    model.p,
                    self.reml,
                    kr_system=self._kr_system,
                ),
                np.linalg.inv(self._design.units.A),
            )
        return self._ddf

    def _kr_system(self):
        """(Z'Z, Z'X, X'X, Lambda, E) of the design expanded by level, internal units and
        dense, for Kenward-Roger (helpers._multi_ddf): E holds, per free element of a
        factor's covariance, d(Lambda Lambda')/d(that element) = that element in every
        level's block."""
        d = self._design
        _, Xi, Zs = d.internal
        n = self.n_obs
        Ts = self._model.Ts(self._theta_internal)
        parts, lams, Es, start = [], [], [], 0
        total = sum(fa.n_levels * fa.q for fa in d.factors)
        for fa, Z, T, tmap in zip(d.factors, Zs, Ts, self._model.tmaps, strict=True):
            q, J = fa.q, fa.n_levels
            rows = np.repeat(np.arange(n), q)
            cols = (fa.codes[:, None] * q + np.arange(q)[None, :]).ravel()
            parts.append(sp.csr_matrix((Z.ravel(), (rows, cols)), shape=(n, J * q)))
            lams.append(sp.kron(sp.identity(J), T))
            for r, c in zip(tmap.rows, tmap.cols, strict=True):
                E = np.zeros((total, total))
                idx = start + np.arange(J) * q
                E[idx + r, idx + c] = 1.0
                E[idx + c, idx + r] = 1.0
                Es.append(E)
            start += J * q
        Zx = sp.hstack(parts).tocsc()
        S = (Zx.T @ Zx).toarray()
        ZtX = np.asarray(Zx.T @ Xi)
        Lam = sp.block_diag(lams).toarray()
        return S, ZtX, Xi.T @ Xi, Lam, np.array(Es)

    @cached_property
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

    def ranef_sd(self) -> dict:
        """Conditional standard deviations of the random effects, one table per factor.

        lme4's ``ranef(m, condVar = TRUE)`` (``as.data.frame()``'s ``condsd``): the
        square roots of the diagonal of ``sigma^2 Lambda (Lambda'Z'Z Lambda + I)^-1
        Lambda'`` (the covariance of the random effects given the data, with the
        fixed effects and variance components at their estimates), levels and terms
        as in :meth:`ranef`."""
        cov = self._conditional_cov()
        return {
            fa.name: pd.DataFrame(
                np.sqrt(np.clip(np.diagonal(cov[fa.name], axis1=1, axis2=2), 0, None)),
                index=fa.levels,
                columns=pd.Index(fa.random_names, name="term"),
            )
            for fa in self._design.factors
        }

    def _conditional_cov(self) -> dict:
        """Per factor, (J_k, q_k, q_k): the conditional covariance of each level's
        random effects, in the data's units.

        The diagonal blocks of M^-1, M = Lambda'Z'Z Lambda + I, by blocks as the engine
        factors M: the first factor's block A_11 is block-diagonal by level, and with
        W = A_11^-1 A_12 and G = (A_22 - A_21 W)^-1 (dense, the other factors' size),
        the first factor's blocks are A_11^-1 + W G W' (by level) and the others' those
        of G."""
        if self._cond_cov is not None:
            return self._cond_cov
        d = self._design
        _, _, Zs = d.internal
        model = self._model
        Ts = model.Ts(self._theta_internal)
        n = self.n_obs
        ZL = []  # Z_k Lambda_k, n x J_k q_k
        for fa, Z, T in zip(d.factors, Zs, Ts, strict=True):
            q = fa.q
            vals = Z @ T
            rows = np.repeat(np.arange(n), q)
            cols = (fa.codes[:, None] * q + np.arange(q)[None, :]).ravel()
            ZL.append(sp.csr_matrix((vals.ravel(), (rows, cols)), shape=(n, fa.n_levels * q)))
        f1 = d.factors[0]
        J1, q1 = f1.n_levels, f1.q
        V1 = Zs[0] @ Ts[0]
        A11 = np.zeros((J1, q1, q1))
        for a in range(q1):
            for b in range(q1):
                A11[:, a, b] = np.bincount(f1.codes, weights=V1[:, a] * V1[:, b], minlength=J1)
        A11 += np.eye(q1)
        A11inv = np.linalg.inv(A11)
        blocks = [A11inv]
        if len(d.factors) > 1:
            Zr = sp.hstack(ZL[1:]).tocsr()
            A12 = (ZL[0].T @ Zr).toarray().reshape(J1, q1, -1)
            W = np.einsum("jab,jbm->jam", A11inv, A12)  # A_11^-1 A_12 by level
            A22 = (Zr.T @ Zr).toarray()
            A22[np.diag_indices_from(A22)] += 1.0
            S = A22 - np.einsum("jam,jan->mn", A12, W)
            G = np.linalg.inv(S)
            blocks[0] = A11inv + np.einsum("jam,mn,jbn->jab", W, G, W)
            start = 0
            for fa in d.factors[1:]:
                k = fa.n_levels * fa.q
                Gk = G[start : start + k, start : start + k]
                idx = np.arange(fa.n_levels)[:, None] * fa.q + np.arange(fa.q)[None, :]
                blocks.append(Gk[idx[:, :, None], idx[:, None, :]])
                start += k
        units = d.units
        sigma2_i = self.sigma2 / units.y_scale**2
        Binv = np.linalg.inv(units.B)
        out, start = {}, 0
        for fa, T, blk in zip(d.factors, Ts, blocks, strict=True):
            sl = slice(start, start + fa.q)
            C = sigma2_i * (T @ blk @ T.T)  # internal units, (J, q, q)
            Bk = Binv[sl, sl]
            out[fa.name] = units.y_scale**2 * (Bk @ C @ Bk.T)
            start += fa.q
        self._cond_cov = out
        return out

    # -- new outcomes for the same design ------------------------------------------------
    _new_outcome = MixedFit._new_outcome

    def refit(self, y) -> MultiLmmFit:
        """The same model fitted to a new outcome (as lme4's ``refit``).

        ``y`` holds one value per row of the fit (``n_obs`` values, in the order of
        ``fitted()``; a Series is aligned on that index). The design is reused; the
        optimiser starts where a fresh fit starts. The result is the fit ``fit_lmm``
        gives on the data with the new outcome, with its warnings (no confirmed
        optimum, a singular fit); this fit is not changed. It is what
        ``hp.compare(..., method="bootstrap")`` calls."""
        y = self._new_outcome(y)
        d = self._design
        smallest = d.factors[-1]
        check_outcome_varies(y, smallest.codes, smallest.n_levels, d.formula.outcome, smallest.name)
        units = d.units.for_outcome(y)
        y.setflags(write=False)
        yi = units.y(y)
        yi.setflags(write=False)
        _, Xi, Zs = d.internal
        design = replace(d, y=y, units=units, internal=(yi, Xi, Zs))
        model = _blocked_model(design, self.reml)
        opt = optimize_blocked(model)
        fit = MultiLmmFit._from_optimum(design, model, opt, self.reml)
        if self._warn is not None:
            self._warn(fit, f"the deviance may still fall by {fit.decrement:.2g}")
        return fit

    def simulate(self, n: int = 1, *, seed=None) -> np.ndarray:
        """Outcomes drawn from the fitted model (as lme4's ``simulate``).

        Each draw is ``X beta + sum over factors of z'b + e`` in the rows of the fit,
        with new random effects ``b ~ N(0, tau_k)`` for every level of every factor
        (nothing is conditioned on) and new residuals ``e ~ N(0, sigma2)``; the design
        stays as it is. Returns an array of shape ``(n, n_obs)``. ``seed``: an
        integer, a numpy Generator or None."""
        n = check_count(n, "n")
        rng = check_seed(seed)
        d = self._design
        roots = []
        for fa in d.factors:
            w, V = np.linalg.eigh(self._tau[fa.name].to_numpy())
            roots.append(V * np.sqrt(np.clip(w, 0.0, None)))  # R R' = tau
        sd = np.sqrt(self.sigma2)
        mean = d.X @ self._beta
        out = np.empty((n, self.n_obs))
        for k in range(n):
            out[k] = mean + sd * rng.standard_normal(self.n_obs)
            for fa, R in zip(d.factors, roots, strict=True):
                b = rng.standard_normal((fa.n_levels, fa.q)) @ R.T
                out[k] += np.einsum("nq,nq->n", fa.Z, b[fa.codes])
        return out

    # -- intervals ------------------------------------------------------------------------
    def confint(self, *, method: str = "profile", level: float = 0.95, n=None, seed=None):
        """Profile, Wald or parametric-bootstrap intervals for every parameter.

        Rows as a one-factor fit's ``confint``: the standard deviation of every random
        term (``"sd(x | school)"``), the correlation of every pair whose covariance is
        estimated (``"cor(Intercept, x | school)"``), ``"sigma"``, then the fixed
        effects; columns ``estimate, ci_lower, ci_upper``.

        ``method="wald"``: estimate +/- z standard error. The fixed effects' standard
        errors are those of ``fixed``; those of the random part come from the
        curvature of the fit's criterion (ML or REML) in (theta, sigma), mapped to
        these parameters (the delta method, which at the optimum is the curvature on
        their own scale). On a boundary (a singular fit) they do not exist and are NaN.

        ``method="bootstrap"``: percentile intervals from ``n`` (default 1000) refits
        to outcomes simulated from the fit (:func:`helpers.bootstrap`, seeded by
        ``seed``), as lme4's ``confint(m, method = "boot")``; a correlation is taken
        over the refits where both variances are positive.

        ``method="profile"`` (the default, as lme4's): where the signed square root of
        the ML deviance's rise, all other parameters re-optimised, crosses the normal
        quantile (:mod:`helpers.confint`), through the engine's deviance function
        (:class:`helpers._multi_profile.MultiProfile`).
        """
        return intervals(self, method=method, level=level, n=n, seed=seed)

    def deviance_profile(self) -> MultiProfile:
        """The deviance as a function of (sd, cor, sigma, beta), for intervals (see
        :class:`helpers._multi_profile.MultiProfile`)."""
        return MultiProfile(self, _blocked_model(self._design, False), optimize_blocked)

    def _replicate_values(self, boot: pd.DataFrame) -> np.ndarray:
        """A bootstrap table's replicates as (sd, cor per factor, sigma, fixed effects)."""
        columns = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for fa in self._design.factors:
                var = [boot[f"{fa.name}: sigma2_u{i}"].to_numpy() for i in range(fa.q)]
                columns += [np.sqrt(np.clip(v, 0, None)) for v in var]
                for i, j in self._correlated(fa):
                    vv = var[i] * var[j]
                    cor = boot[f"{fa.name}: sigma_u{i}{j}"].to_numpy() / np.sqrt(vv)
                    columns.append(np.where(vv > 0, np.clip(cor, -1, 1), np.nan))
        columns.append(np.sqrt(boot["sigma2_e"].to_numpy()))
        columns += [boot[t].to_numpy() for t in self.fixed_names]
        return np.column_stack(columns)

    def _random_params(self, theta_i: np.ndarray, s_i: float) -> np.ndarray:
        """(sd, cor per factor, sigma) in the data's units at internal (theta, sigma)."""
        units, out = self._design.units, []
        Binv = np.linalg.inv(units.B)
        start = 0
        for fa, T in zip(self._design.factors, self._model.Ts(theta_i), strict=True):
            sl = slice(start, start + fa.q)
            tau = units.y_scale**2 * s_i**2 * (Binv[sl, sl] @ T @ T.T @ Binv[sl, sl].T)
            sd = np.sqrt(np.clip(np.diag(tau), 0, None))
            out += list(sd)
            for i, j in self._correlated(fa):
                out.append(tau[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else 0.0)
            start += fa.q
        return np.array([*out, units.y_scale * s_i])

    @staticmethod
    def _correlated(fa) -> list[tuple[int, int]]:
        return [
            (i, j)
            for start, size, independent in fa.blocks
            if not independent
            for i in range(start, start + size)
            for j in range(i + 1, start + size)
        ]

    def _wald_random(self):
        """Names, estimates and Wald standard errors of (sd, cor, sigma)."""
        names = []
        for fa in self._design.factors:
            names += [f"sd({t} | {fa.name})" for t in fa.random_names]
            names += [
                f"cor({fa.random_names[i]}, {fa.random_names[j]} | {fa.name})"
                for i, j in self._correlated(fa)
            ]
        names.append("sigma")
        state = self._ddf_state()[0]
        s_i = np.sqrt(state.sigma2)
        x = np.append(self._theta_internal, s_i)
        est = self._random_params(self._theta_internal, s_i)
        if self.singular:
            return names, est, np.full(len(est), np.nan)
        jac, _ = richardson(lambda v: self._random_params(v[:-1], v[-1]), x, levels=2)
        _, Avp = state.satterthwaite_parts()  # 2 H^-1 in (theta, sigma)
        var = np.einsum("ka,kl,la->a", jac, Avp, jac)
        return names, est, np.where(var > 0, np.sqrt(np.abs(var)), np.nan)

    # -- presentation -----------------------------------------------------------------
    def random_part(self) -> pd.DataFrame:
        """The variance components: ``sigma2_e``, then per factor (``level``) the
        variances ``"<factor>: sigma2_u<i>"`` and estimated covariances
        ``"<factor>: sigma_u<ij>"`` of its random terms (Hox's notation within a factor),
        in the order of :attr:`varcorr`."""
        rows = [("sigma2_e", "Residual", "", self.sigma2)]
        for fa in self._design.factors:
            tau = self._tau[fa.name].to_numpy()
            names = fa.random_names
            for i, a in enumerate(names):
                rows.append((f"{fa.name}: sigma2_u{i}", fa.name, a, tau[i, i]))
            for start, size, independent in fa.blocks:
                if independent:
                    continue
                for i in range(start, start + size):
                    for j in range(i + 1, start + size):
                        rows.append(
                            (
                                f"{fa.name}: sigma_u{i}{j}",
                                fa.name,
                                f"{names[i]}, {names[j]}",
                                tau[i, j],
                            )
                        )
        return pd.DataFrame(rows, columns=["parameter", "level", "term", "estimate"]).set_index(
            "parameter"
        )

    summary = MixedFit.summary

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


def _read_only(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.setflags(write=False)
    return v


def _level_labels(data: pd.DataFrame, columns: tuple[str, ...]):
    """The level label of every row as the fit writes it (a combination: "a:b")."""
    if len(columns) == 1:
        return data[columns[0]]
    return pd.Index(
        [":".join(map(str, vals)) for vals in zip(*(data[c] for c in columns), strict=True)]
    )
