"""Deviance (likelihood-ratio) tests, the intraclass correlation and the design effect."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import scipy.stats

from ._fit import MixedFit

__all__ = ["compare", "design_effect", "icc"]


def _same_fixed_design(a: MixedFit, b: MixedFit) -> bool:
    Xa, Xb = a.X, b.X
    return (
        list(a.fixed.index) == list(b.fixed.index)
        and Xa.shape == Xb.shape
        and np.array_equal(Xa, Xb)
    )


def _adds_one_variance(small: MixedFit, big: MixedFit) -> bool:
    """big has the random terms of small plus exactly one more (with its covariances)."""
    s, b = set(small.random_terms), set(big.random_terms)
    return s < b and len(b - s) == 1


def compare(*fits: MixedFit) -> pd.DataFrame:
    """Deviance tests between nested models, from the smallest to the largest.

    Each model is tested against the one before it (sorted by number of
    parameters): chi-square = difference in deviance, df = difference in the number
    of parameters. Models fitted by REML may be compared only when their fixed
    parts are identical (the REML criterion of models with different fixed parts
    is not comparable): refit them with ``reml=False``.

    When the larger model adds one random term (its variance and its covariances
    with the terms already there), the variance is tested on the boundary of its
    parameter space (zero), where the chi-square reference is wrong; the p-value
    then comes from the 50:50 mixture of chi-square(df - 1) and chi-square(df)
    (Self & Liang 1987; Snijders & Bosker 2012, sec. 6.2), which halves it for df = 1.
    Column ``test`` says which reference distribution was used.
    """
    if len(fits) < 2:
        raise ValueError("compare needs at least two fitted models: hp.compare(m0, m1).")
    for k, f in enumerate(fits):
        if not isinstance(f, MixedFit):
            raise TypeError(
                f"Argument {k + 1} is a {type(f).__name__}, not a fit from hp.fit_lmm or "
                "hp.fit_glmm."
            )
    first = fits[0]
    # GLMMs: deviances are comparable only for the same family, link and weights.
    model = [(getattr(f, "family", "gaussian"), getattr(f, "link", "identity")) for f in fits]
    if len(set(model)) > 1:
        raise ValueError(
            f"The models have different families or links ({sorted(set(model))}): their "
            "likelihoods are not comparable. Fit them with the same family and link."
        )
    for k, f in enumerate(fits[1:], start=2):
        w_f, w_1 = getattr(f, "weights", None), getattr(first, "weights", None)
        if (
            f.n_obs != first.n_obs
            or not np.array_equal(f.y, first.y)
            or not np.array_equal(w_f, w_1)
        ):
            raise ValueError(
                f"Model {k} was fitted to different data (or a different outcome) than model 1 "
                f"({f.n_obs} vs {first.n_obs} rows): deviances are comparable only on the same rows."
            )
        if f.reml != first.reml:
            raise ValueError(
                "Some models were fitted by REML and others by ML; fit all with the same method."
            )
    if first.reml:
        for k, f in enumerate(fits[1:], start=2):
            if not _same_fixed_design(first, f):
                raise ValueError(
                    f"Models 1 and {k} are REML fits with different fixed parts: their REML "
                    "criteria cannot be compared. Refit both with reml=False (ML) to test fixed "
                    "effects; use REML only to compare random parts under the same fixed part."
                )
    order = sorted(range(len(fits)), key=lambda k: (fits[k].n_params, k))
    rows = []
    prev = None
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
            if df <= 0:
                row["test"] = "not nested (same number of parameters)"
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
        prev = f
    table = pd.DataFrame(rows)
    table.index = pd.Index([f"m{k}" for k in order], name="fit")
    return table


def icc(fit: MixedFit) -> float:
    """Intraclass correlation: sigma2_u0 / (sigma2_u0 + sigma2_e).

    For a fit with its own ``icc()`` (a GLMM: on the latent scale) that is used.

    The share of the variance that lies between groups, and the expected
    correlation between two members of the same group. Defined for models with a
    random intercept; with random slopes it is the value where the predictors with
    random slopes are 0, which is why it is usually reported for the empty model.
    """
    if not isinstance(fit, MixedFit):
        raise TypeError(f"icc needs a fit from hp.fit_lmm, not {type(fit).__name__}.")
    if callable(getattr(fit, "icc", None)):
        return fit.icc()
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
