"""Deviance (likelihood-ratio) tests, the intraclass correlation and the design effect."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
import pandas as pd
import scipy.stats

from ._fit import MixedFit, check_fit, named_fits
from ._validate import check_count, check_option, check_seed
from .gls import compare_gls, gls_in
from .lmm import MultiLmmFit

__all__ = ["compare", "design_effect", "icc"]


def _name(label: str, f: MixedFit) -> str:
    return f"model {label!r} ({f.formula!r})"


def _canonical(f: MixedFit) -> np.ndarray:
    """Row positions of f sorted by (group, outcome): the same sequence for the same data."""
    return np.lexsort((f.y, f.group_codes))


def _several(*fits) -> bool:
    """Is any of the fits one with several grouping factors?"""
    return any(isinstance(f, MultiLmmFit) for f in fits)


def _factors(f) -> list[tuple[str, np.ndarray, np.ndarray, list[str]]]:
    """(name, level codes, Z, random term names) of every grouping factor of a fit."""
    if isinstance(f, MultiLmmFit):
        return [(g, f.group_codes[g], f.Z[g], f.random_names[g]) for g in f.groups]
    return [(f.group, f.group_codes, f.Z, f.random_names)]


def _random_labels(f) -> set[str]:
    """Every random term as "term | factor"."""
    return {f"{t} | {g}" for g, _, _, names in _factors(f) for t in names}


def _check_same_rows(fa, fb, ka: str, kb: str) -> None:
    """Fits of which one has several grouping factors: the same rows (matched by the
    data's index labels, or by sorting the outcome) with the same outcome."""
    reason = None
    if fa.n_obs != fb.n_obs:
        reason = f"{fa.n_obs} vs {fb.n_obs} rows"
    else:
        ia, ib = _aligned(fa, fb)
        if not np.allclose(fa.y[ia], fb.y[ib], rtol=1e-12, atol=0.0):
            reason = "the outcome values differ"
    if reason:
        raise ValueError(
            f"{_name(kb, fb)} was fitted to different data (or a different outcome) than "
            f"{_name(ka, fa)}: {reason}. Deviances are comparable only on the same rows (in "
            "any order); fit both models to the same data."
        )


def _check_nested_factors(fs, fb, ks: str, kb: str) -> None:
    """Every grouping factor of the smaller model must be one of the larger model's
    (the same partition of the rows, whatever it is called), with random terms in the
    span of that factor's."""
    i_s, i_b = _aligned(fs, fb)
    big = _factors(fb)
    for name, codes, Z, names in _factors(fs):
        cs = codes[i_s]
        match = None
        for bname, bcodes, bZ, _ in big:
            cb = bcodes[i_b]
            pairs = len(np.unique(cs.astype(np.int64) * (int(cb.max()) + 1) + cb))
            if pairs == len(np.unique(cs)) == len(np.unique(cb)):
                match = (bname, bZ[i_b])
                break
        if match is None:
            raise ValueError(
                f"{_name(ks, fs)} is not nested in {_name(kb, fb)}: its grouping factor "
                f"{name!r} is not a grouping factor of the larger model (compared by how "
                "they group the rows). A deviance test needs the larger model to contain "
                "the smaller one; compare such models by AIC or BIC instead."
            )
        col = _outside_span(Z[i_s], match[1])
        if col is not None:
            raise ValueError(
                f"{_name(ks, fs)} is not nested in {_name(kb, fb)}: its random term "
                f"{names[col]!r} of {name!r} is not a combination of the random terms of "
                f"{match[0]!r} in the larger model. A deviance test needs the larger model "
                "to contain the smaller one; compare such models by AIC or BIC instead."
            )


def _check_same_data(fa: MixedFit, fb: MixedFit, ka: str, kb: str) -> None:
    """Same grouping column, same rows (as a set: order does not matter), same outcome."""
    if _several(fa, fb):
        _check_same_rows(fa, fb, ka, kb)
        return
    if fa.group != fb.group:
        raise ValueError(
            f"{_name(ka, fa)} groups the rows by {fa.group!r} and {_name(kb, fb)} by "
            f"{fb.group!r}: different grouping factors make different models of the "
            "dependence, not nested ones, so their deviances cannot be tested against "
            "each other. Fit both with the same grouping column."
        )
    reason = None
    if fa.n_obs != fb.n_obs:
        reason = f"{fa.n_obs} vs {fb.n_obs} rows"
    elif not fa.groups.equals(fb.groups):
        reason = f"the groups of {fa.group!r} differ ({fa.n_groups} vs {fb.n_groups} groups)"
    else:
        oa, ob = _canonical(fa), _canonical(fb)
        if not np.array_equal(fa.group_codes[oa], fb.group_codes[ob]):
            reason = f"the rows are spread differently over the groups of {fa.group!r}"
        elif not np.allclose(fa.y[oa], fb.y[ob], rtol=1e-12, atol=0.0):
            reason = "the outcome values differ"
    if reason:
        raise ValueError(
            f"{_name(kb, fb)} was fitted to different data (or a different outcome) than "
            f"{_name(ka, fa)}: {reason}. Deviances are comparable only on the same rows (in "
            "any order); fit both models to the same data."
        )


def _aligned(fa: MixedFit, fb: MixedFit) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (ia, ib) holding the same observations in two fits of the same data.

    By the index labels when they identify the rows (the same data frame, rows in any
    order); otherwise by (group, outcome), using the rows where that pair is unique.
    """
    if _several(fa, fb):
        ia = np.arange(fa.n_obs)
        if fa.row_index.is_unique and fb.row_index.is_unique:
            ib = fb.row_index.get_indexer(fa.row_index)
            if (ib >= 0).all() and np.array_equal(fa.y[ia], fb.y[ib]):
                return ia, ib
        return np.argsort(fa.y, kind="stable"), np.argsort(fb.y, kind="stable")
    same = lambda ia, ib: (  # noqa: E731
        np.array_equal(fa.group_codes[ia], fb.group_codes[ib])
        and np.array_equal(fa.y[ia], fb.y[ib])
    )
    ia = np.arange(fa.n_obs)
    if fa.row_index.is_unique and fb.row_index.is_unique:
        ib = fb.row_index.get_indexer(fa.row_index)
        if (ib >= 0).all() and same(ia, ib):
            return ia, ib
    oa, ob = _canonical(fa), _canonical(fb)
    codes, y = fa.group_codes[oa], fa.y[oa]
    tie = np.r_[False, (np.diff(codes) == 0) & (np.diff(y) == 0)]
    unique = ~(tie | np.r_[tie[1:], False])
    width = max(fa.X.shape[1] + fa.Z.shape[1], fb.X.shape[1] + fb.Z.shape[1])
    if unique.sum() >= max(20, 4 * width):
        return oa[unique], ob[unique]
    return oa, ob


def _outside_span(small: np.ndarray, big: np.ndarray) -> int | None:
    """Index of the first column of small that is not a combination of big's columns."""
    if small.shape[1] == 0:
        return None
    if big.shape[1] == 0:
        return 0

    def unit(M):
        s = np.linalg.norm(M, axis=0)
        return M / np.where(s > 0, s, 1.0)

    S, B = unit(small), unit(big)
    coef, *_ = np.linalg.lstsq(B, S, rcond=None)
    resid = np.linalg.norm(S - B @ coef, axis=0)
    bad = np.flatnonzero(resid > 1e-7)
    return int(bad[0]) if bad.size else None


def _residual_structure(f: MixedFit):
    """A fit's residual correlation structure (``fit_lmm(..., residuals=)``), or None."""
    return getattr(f, "residual_structure", None)


def _check_nested(fs: MixedFit, fb: MixedFit, ks: str, kb: str) -> None:
    """The smaller model's fixed and random designs must lie in the larger model's, and
    its residual structure must be the larger's or none (independent residuals)."""
    for what in ("residual_structure", "variance_function"):
        rs, rb = getattr(fs, what, None), getattr(fb, what, None)
        if rs is not None and rs != rb:
            raise ValueError(
                f"{_name(ks, fs)} is not nested in {_name(kb, fb)}: its residual structure "
                f"{rs!r} is not contained in the larger model's ({rb!r}). Independent "
                "residuals with one variance are nested in AR1, CAR1 (phi = 0) and VarIdent "
                "(ratios 1), a structure in itself; compare other structures by AIC or BIC."
            )
    i_s, i_b = _aligned(fs, fb)
    parts = [("fixed", fs.fixed_names, fs.X[i_s], fb.X[i_b])]
    if _several(fs, fb):
        _check_nested_factors(fs, fb, ks, kb)
    else:
        parts.append(("random", fs.random_names, fs.Z[i_s], fb.Z[i_b]))
    for part, names, S, B in parts:
        col = _outside_span(S, B)
        if col is not None:
            raise ValueError(
                f"{_name(ks, fs)} is not nested in {_name(kb, fb)}: its {part} term "
                f"{names[col]!r} is not a combination of the {part} terms of the larger "
                "model (compared by the columns of the designs, not by their names). A "
                "deviance test needs the larger model to contain the smaller one; compare "
                "such models by AIC or BIC instead."
            )


def _same_fixed_design(fa: MixedFit, fb: MixedFit) -> bool:
    if fa.fixed_names != fb.fixed_names:
        return False
    ia, ib = _aligned(fa, fb)
    return np.allclose(fa.X[ia], fb.X[ib], rtol=1e-12, atol=0.0)


def _adds_one_variance(small: MixedFit, big: MixedFit) -> bool:
    """big has the random terms of small plus exactly one more (with its covariances)."""
    if _several(small, big):
        s, b = _random_labels(small), _random_labels(big)
        return s < b and len(b - s) == 1
    s, b = set(small.random_terms), set(big.random_terms)
    return s < b and len(b - s) == 1


def _is_glm(obj) -> bool:
    """A fitted statsmodels GLM (``smf.glm(...).fit()``): the null of a random-intercept test."""
    model = getattr(obj, "model", None)
    return type(model).__name__ == "GLM" and hasattr(obj, "llf") and hasattr(model, "family")


def _glm_rows(args: tuple) -> dict | None:
    """``{label: fit}`` when one of the fits given to compare is a statsmodels GLM, else None."""
    if len(args) == 1 and isinstance(args[0], dict):
        named = {str(k): v for k, v in args[0].items()}
    else:
        items = tuple(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else args
        named = {f"M{k}": f for k, f in enumerate(items)}
    return named if any(_is_glm(f) for f in named.values()) else None


_SM_LINKS = {"Logit": "logit", "Probit": "probit", "Log": "log", "CLogLog": "cloglog"}


def _compare_glm(named: dict) -> pd.DataFrame:
    """Deviance test of a GLMM's single random intercept against the same GLM without it."""
    if len(named) != 2:
        raise ValueError(
            "compare with a statsmodels GLM takes exactly two models, the GLM and one fit "
            f"from hp.fit_glmm with the same fixed part plus (1 | group); got {len(named)}."
        )
    (kg, glm), (km, fit) = sorted(named.items(), key=lambda kv: not _is_glm(kv[1]))
    if _is_glm(fit):
        raise ValueError(
            "compare got two statsmodels GLMs: one of the models must be a fit_glmm fit."
        )
    check_fit(fit, f"Model {km!r} of compare")
    if not hasattr(fit, "family"):
        raise ValueError(
            f"{_name(km, fit)} is a linear mixed model: a statsmodels GLM can be tested only "
            "against a fit from hp.fit_glmm (for a linear model use hp.fit_lmm for both)."
        )
    family = type(glm.model.family).__name__.lower()
    link = _SM_LINKS.get(type(glm.model.family.link).__name__, type(glm.model.family.link).__name__)
    if (family, link) != (fit.family, fit.link):
        raise ValueError(
            f"Model {kg!r} is a {family} GLM with link {link} and {_name(km, fit)} a {fit.family} "
            f"GLMM with link {fit.link}: their likelihoods are not comparable. Fit both with "
            "the same family and link."
        )
    y = np.asarray(glm.model.endog, dtype=float)
    trials = np.asarray(getattr(glm.model, "n_trials", 1.0))
    if y.ndim != 1 or not np.all(trials == 1):
        raise ValueError(
            f"Model {kg!r} has a two-column (successes, failures) outcome: compare with a GLM "
            "supports 0/1 and count outcomes, one per row. Fit both models to one row per trial."
        )
    ones = [np.asarray(getattr(glm.model, w, 1.0)) for w in ("freq_weights", "var_weights")]
    if not all(np.all(w == 1) for w in ones) or not np.all(fit.weights == 1):
        raise ValueError(
            "compare with a GLM needs models without prior weights (the GLM's freq_weights and "
            "var_weights, the GLMM's weights, all 1)."
        )
    offset = np.zeros(len(y))
    if getattr(glm.model, "offset", None) is not None:
        offset = offset + np.asarray(glm.model.offset, dtype=float)
    if getattr(glm.model, "exposure", None) is not None:
        offset = offset + np.asarray(glm.model.exposure, dtype=float)  # statsmodels keeps log
    # rows: by index labels when the GLM has them (the same data frame), else in order
    labels = getattr(glm.model.data, "row_labels", None)
    if len(y) != fit.n_obs:
        raise ValueError(
            f"Model {kg!r} uses {len(y)} rows and {_name(km, fit)} {fit.n_obs}: deviances are "
            "comparable only on the same rows; fit both models to the same data."
        )
    order = np.arange(len(y))
    if labels is not None and pd.Index(labels).is_unique and fit.row_index.is_unique:
        order = pd.Index(labels).get_indexer(fit.row_index)
        if (order < 0).any():
            order = np.arange(len(y))
    X = np.asarray(glm.model.exog, dtype=float)[order]
    problem = None
    if not np.allclose(y[order], fit.y, rtol=1e-12, atol=0.0):
        problem = "the outcome values differ"
    elif not np.allclose(offset[order], fit.offset, rtol=1e-10, atol=1e-12):
        problem = "the offsets (or exposures) differ"
    elif (
        X.shape[1] != fit.X.shape[1]
        or _outside_span(X, fit.X) is not None
        or _outside_span(fit.X, X) is not None
    ):
        problem = "the fixed parts differ (compared by the columns of the designs)"
    if problem:
        raise ValueError(
            f"Model {kg!r} and {_name(km, fit)} are not the same model with and without a random "
            f"intercept: {problem}. Fit the GLM to the same rows with the GLMM's fixed part."
        )
    if fit.random_names != ["Intercept"] or len(fit.theta) != 1:
        raise ValueError(
            f"{_name(km, fit)} has the random terms {fit.random_names}: against a GLM, compare "
            "tests a single random intercept (1 | group), whose null distribution is the 50:50 "
            "mixture of chi2(0) and chi2(1). Test further random terms between two fit_glmm fits."
        )
    k = X.shape[1]
    dev_glm = -2.0 * float(glm.llf)
    chisq = dev_glm - fit.deviance
    n = fit.n_obs
    rows = [
        {
            "model": getattr(glm.model, "formula", None) or "GLM (statsmodels)",
            "npar": k,
            "deviance": dev_glm,
            "aic": dev_glm + 2 * k,
            "bic": dev_glm + np.log(n) * k,
            "chisq": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "test": "",
        },
        {
            "model": fit.formula,
            "npar": fit.n_params,
            "deviance": fit.deviance,
            "aic": fit.aic,
            "bic": fit.bic,
            "chisq": chisq,
            "df": 1,
            # chi2(0) is a point mass at 0: P(chi2(0) >= x) = 1 only for x <= 0
            "p_value": 0.5 * float(chisq <= 0) + 0.5 * scipy.stats.chi2.sf(max(chisq, 0.0), 1),
            "test": "mixture chi2(0):chi2(1) 50:50",
        },
    ]
    table = pd.DataFrame(rows)
    table.index = pd.Index([kg, km], name="fit")
    return table


def compare(*fits, method: str = "chi2", n: int = 1000, seed=None) -> pd.DataFrame:
    """Deviance tests between nested models, from the smallest to the largest.

    ``hp.compare(m0, m1)``, ``hp.compare([m0, m1])`` or ``hp.compare({"empty": m0,
    "slope": m1})``: the fits (from ``fit_lmm`` or ``fit_glmm``) are taken and
    labelled as :func:`helpers.model_table` takes and labels them: a dict's keys,
    otherwise M0, M1, ... in the order given. The labels index the rows (in the
    order of the tests); column ``model`` holds each formula.

    Each model is tested against the one before it (sorted by number of
    parameters): chi-square = difference in deviance, df = difference in the number
    of parameters. The models must be fitted to the same data (the same rows, in
    any order) with the same grouping column and the same method, and each must
    be nested in the next: its fixed and random designs must lie in the column
    spaces of the larger model's (whatever the terms are called). Models fitted by
    REML may be compared only when their fixed parts are identical (the REML
    criterion of models with different fixed parts is not comparable): refit them
    with ``reml=False``. Each refusal says which condition failed. Fits with several
    grouping factors (``(1 | school/class)``, ``(1 | rater) + (1 | item)``) are
    compared with each other and with one-factor fits: their rows are matched by the
    data's index, and every grouping factor of the smaller model must be one of the
    larger model's (the same grouping of the rows) with random terms in its span.

    Fits with a residual structure (``fit_lmm(..., residuals=)``) are nested in the
    same structure or contain the same model with independent residuals. When only the
    structure is added, ``phi = 0`` is tested: for AR1 it lies inside (-1, 1) and the
    reference is chi-square(1); for CAR1 it is on the boundary of [0, 1) and the
    reference is the 50:50 mixture of chi-square(0) and chi-square(1). Column ``test``
    names which.

    When the larger model adds one random term (its variance and its covariances
    with the terms already there), the variance is tested on the boundary of its
    parameter space (zero), where the chi-square reference is wrong; the p-value
    then comes from the 50:50 mixture of chi-square(df - 1) and chi-square(df)
    (Self & Liang 1987; Snijders & Bosker 2012, sec. 6.2), which halves it for df = 1.
    Column ``test`` says which reference distribution was used.

    Fits of :func:`helpers.fit_gls` are compared with each other: the same rows, the
    same method, nested residual structures (independence in any correlation;
    compound symmetry, AR1 or CAR1 in an Unstructured correlation of the same time;
    one variance in VarIdent or VarPower), identical fixed parts for REML; non-nested
    structures are refused (compare them by AIC and BIC). A gls fit is not compared
    with a mixed model: fit_gls with CompoundSymmetry is the random-intercept model
    when rho >= 0 (the same likelihood), so there is no test between them.

    ``method="bootstrap"``: the p-value of each test comes instead from a parametric
    bootstrap of the likelihood-ratio statistic (as ``pbkrtest::PBmodcomp`` in R):
    ``n`` outcomes are simulated from the smaller model's estimates, both models are
    refitted to each, and p = (1 + #{chi-square* >= chi-square}) / (1 + n). It needs
    no boundary correction and no large-sample argument, which makes it the test to
    use with few groups. ``seed`` (an integer or a numpy Generator) makes it
    repeatable. Linear mixed models only (``fit_lmm``), fitted to the same data frame.

    A random intercept against no random effect at all: ``hp.compare(glm, m)`` with
    ``glm`` a fitted statsmodels GLM (``smf.glm(..., family=...).fit()``) and ``m``
    a ``fit_glmm`` fit of the same fixed part, family, link, offset and rows plus
    ``(1 | group)``. Both log-likelihoods are full densities (the Bernoulli or Poisson
    log-probabilities), so chi-square = difference in deviance, df = 1, and the
    p-value comes from the 50:50 mixture of chi-square(0) and chi-square(1).
    """
    check_option(method, "method", ("chi2", "bootstrap"))
    if method == "bootstrap":
        n = check_count(n, "n")
        rng = check_seed(seed)
    with_gls = gls_in(fits)
    if with_gls is not None:
        return compare_gls(with_gls, method)
    with_glm = _glm_rows(fits)
    if with_glm is not None:
        if method == "bootstrap":
            raise ValueError(
                "method='bootstrap' compares two mixed models fitted with hp.fit_lmm; a "
                "statsmodels GLM against a GLMM is tested with method='chi2'."
            )
        return _compare_glm(with_glm)
    named = named_fits(fits, "compare", several_factors=True)
    if len(named) < 2:
        raise ValueError("compare needs at least two fitted models: hp.compare(m0, m1).")
    labels, fits = list(named), list(named.values())
    first = fits[0]
    # GLMMs: deviances are comparable only for the same family, link and weights.
    model = [(getattr(f, "family", "gaussian"), getattr(f, "link", "identity")) for f in fits]
    if len(set(model)) > 1:
        raise ValueError(
            f"The models have different families or links ({sorted(set(model))}): their "
            "likelihoods are not comparable. Fit them with the same family and link."
        )
    # GLMMs: the Laplace and each quadrature rule approximate the likelihood
    # differently (on the same models the chi-square can be 33.1 by one, 13.5 by
    # another), so only fits with the same nagq are comparable.
    nagq = [getattr(f, "nagq", None) for f in fits]
    if len(set(nagq)) > 1:
        listing = ", ".join(
            f"{label}: {'Laplace (nagq=1)' if q == 1 else f'nagq={q}'}"
            for label, q in zip(labels, nagq, strict=True)
        )
        raise ValueError(
            f"The models approximate the likelihood differently ({listing}): their "
            "log-likelihoods are not comparable. Refit them with the same nagq."
        )
    for k, f in enumerate(fits[1:], start=1):
        # The rows first: with different rows the weights differ too, but the rows
        # are the reason.
        _check_same_data(first, f, labels[0], labels[k])
        w_f, w_1 = getattr(f, "weights", None), getattr(first, "weights", None)
        if (w_f is None) != (w_1 is None) or (
            w_f is not None
            and not np.array_equal(
                np.asarray(w_f)[_canonical(f)], np.asarray(w_1)[_canonical(first)]
            )
        ):
            raise ValueError(
                f"{_name(labels[k], f)} was fitted with other prior weights than {_name(labels[0], first)}: "
                "deviances are comparable only with the same weights."
            )
        if f.reml != first.reml:
            raise ValueError(
                f"{_name(labels[0], first)} was fitted by {'REML' if first.reml else 'ML'} and "
                f"{_name(labels[k], f)} by {'REML' if f.reml else 'ML'}; fit all with the same method."
            )
    if first.reml:
        for k in range(1, len(fits)):
            if not _same_fixed_design(first, fits[k]):
                raise ValueError(
                    f"{_name(labels[0], first)} and {_name(labels[k], fits[k])} are REML fits with different "
                    "fixed parts: their REML criteria cannot be compared. Refit both with "
                    "reml=False (ML) to test fixed effects; use REML only to compare random "
                    "parts under the same fixed part."
                )
    order = sorted(range(len(fits)), key=lambda k: (fits[k].n_params, k))
    rows = []
    prev = prev_k = None
    for k in order:
        f = fits[k]
        row = {
            "model": f.formula,
            "npar": f.n_params,
            "deviance": f.deviance,
            "aic": f.aic,
            "bic": f.bic,
            "chisq": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "test": "",
        }
        if prev is not None:
            df = f.n_params - prev.n_params
            chisq = prev.deviance - f.deviance
            row.update(chisq=chisq, df=df)
            if df > 0:
                _check_nested(prev, f, labels[prev_k], labels[k])
            if df <= 0:
                row["test"] = "not nested (same number of parameters)"
            elif (
                df == 1
                and _residual_structure(prev) is None
                and _residual_structure(f) is not None
                and not _several(prev, f)
                and set(prev.random_terms) == set(f.random_terms)
                and getattr(prev, "variance_function", None)
                == getattr(f, "variance_function", None)
            ):
                # Only the residual correlation is added: its phi = 0 is independence.
                s = _residual_structure(f)
                stat = max(chisq, 0.0)
                if s.lower == 0.0:  # phi = 0 on the boundary of the range (CAR1)
                    p = 0.5 * scipy.stats.chi2.sf(stat, 1) + 0.5 * float(stat <= 0)
                    test = f"mixture chi2(0):chi2(1) 50:50 ({s.boundary_note})"
                else:
                    p = scipy.stats.chi2.sf(stat, 1)
                    test = f"chi2(1) ({s.boundary_note})"
                row.update(p_value=p, test=test)
            elif _same_fixed_design(prev, f) and _adds_one_variance(prev, f):
                stat = max(chisq, 0.0)
                p_hi = scipy.stats.chi2.sf(stat, df)
                p_lo = scipy.stats.chi2.sf(stat, df - 1) if df > 1 else float(stat <= 0)
                row.update(
                    p_value=0.5 * p_lo + 0.5 * p_hi, test=f"mixture chi2({df - 1}):chi2({df}) 50:50"
                )
            else:
                row.update(p_value=scipy.stats.chi2.sf(max(chisq, 0.0), df), test=f"chi2({df})")
        rows.append(row)
        prev, prev_k = f, k
    table = pd.DataFrame(rows)
    table.index = pd.Index([labels[k] for k in order], name="fit")
    if method == "bootstrap":
        for i in range(1, len(order)):
            small, big = fits[order[i - 1]], fits[order[i]]
            if table["df"].iloc[i] > 0:
                ks, kb = labels[order[i - 1]], labels[order[i]]
                p, used = _bootstrap_p(small, big, ks, kb, table["chisq"].iloc[i], n, rng)
                table.iloc[i, table.columns.get_loc("p_value")] = p
                table.iloc[i, table.columns.get_loc("test")] = (
                    f"parametric bootstrap ({used} samples)"
                )
    return table


def _bootstrap_p(small, big, ks: str, kb: str, chisq: float, n: int, rng) -> tuple[float, int]:
    """Parametric-bootstrap p-value of the deviance difference between two nested LMMs."""
    for key, f in ((ks, small), (kb, big)):
        if not (callable(getattr(f, "simulate", None)) and callable(getattr(f, "refit", None))):
            raise ValueError(
                f"method='bootstrap' simulates from and refits the models; {_name(key, f)} "
                f"({type(f).__name__}) cannot be. Use fits from hp.fit_lmm, or method='chi2'."
            )
        if getattr(f, "family", "gaussian") != "gaussian":
            raise ValueError(
                "method='bootstrap' is available for linear mixed models (hp.fit_lmm); "
                f"{_name(key, f)} is a {f.family} model. Use method='chi2'."
            )
    if not (small.row_index.is_unique and big.row_index.is_unique):
        raise ValueError(
            "method='bootstrap' matches the rows of the two fits by the index of the data: "
            "fit both models to the same data frame, with a unique index."
        )
    pos = big.row_index.get_indexer(small.row_index)  # row k of small is row pos[k] of big
    if (pos < 0).any():
        raise ValueError(
            f"{_name(ks, small)} and {_name(kb, big)} were not fitted to the same data frame "
            "(their row labels differ): method='bootstrap' needs the same rows."
        )
    ys = small.simulate(n, seed=rng)
    stats = np.empty(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular refits are expected under the null
        for i, y in enumerate(ys):
            y_big = np.empty_like(y)
            y_big[pos] = y
            stats[i] = small.refit(y).deviance - big.refit(y_big).deviance
    ok = np.isfinite(stats)
    # Refits that reach a deviance a hair above the smaller model's count as 0.
    k = int(np.sum(stats[ok] >= chisq - 1e-8 * max(1.0, abs(chisq))))
    return (1 + k) / (1 + int(ok.sum())), int(ok.sum())


def icc(fit: MixedFit) -> float:
    """Intraclass correlation: sigma2_u0 / (sigma2_u0 + sigma2_e).

    For a fit with its own ``icc()`` (a GLMM: on the latent scale) that is used.

    The share of the variance that lies between groups, and the expected
    correlation between two members of the same group. Defined for models with a
    random intercept; with random slopes it is the value where the predictors with
    random slopes are 0, which is why it is usually reported for the empty model.
    """
    check_fit(fit, "The argument of icc")
    if callable(getattr(fit, "icc", None)):
        return fit.icc()
    if getattr(fit, "residual_params", pd.Series(dtype=float)).size:
        raise ValueError(
            "icc is sigma2_u0 / (sigma2_u0 + sigma2_e) for independent residuals with one "
            "variance; with a residual structure the correlation of two rows of a group "
            "depends on them (see fit.residual_cov(group) and fit.tau). Fit without "
            "residuals= and variance= for the ICC."
        )
    if "Intercept" not in fit.tau.index:
        raise ValueError("icc needs a model with a random intercept, e.g. 'y ~ 1 + (1 | g)'.")
    t00 = float(fit.tau.loc["Intercept", "Intercept"])
    return t00 / (t00 + fit.sigma2)


def design_effect(icc: float, n: float) -> float:
    """Design effect 1 + (n - 1) * icc of a cluster sample with groups of size n.

    The factor by which the variance of a mean is inflated relative to a simple
    random sample of the same size; the effective sample size is N / design effect.
    """
    for name, value in (("icc", icc), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            raise TypeError(f"{name} must be a finite number, not {value!r}.")
    if not -1 <= icc <= 1:
        raise ValueError(f"icc is a correlation and must lie in [-1, 1], not {icc}.")
    if n < 1:
        raise ValueError(f"n is an (average) group size and must be at least 1, not {n}.")
    return 1.0 + (n - 1.0) * icc
