"""Tables of several fitted models side by side, in the layout of Hox's books."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._fit import MixedFit, named_fits

__all__ = ["model_table"]


def _label_random(fit: MixedFit) -> dict[str, float]:
    tau = fit.tau
    # A GLMM has no residual variance (its random_part() has no sigma2_e row).
    has_residual = "sigma2_e" in fit.random_part().index
    out = {"sigma2_e (residual)": fit.sigma2} if has_residual else {}
    names = list(tau.index)
    for k, a in enumerate(names):
        out[f"var({a})"] = float(tau.iloc[k, k])
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            if fit.theta_is_free(i, j):
                out[f"cov({a}, {names[j]})"] = float(tau.iloc[i, j])
    return out


def _df_text(df: float) -> str:
    """Degrees of freedom of a test as the table shows them: one decimal, or ∞ (a z test)."""
    return "\u221e" if np.isinf(df) else f"{df:.1f}"


def model_table(*fits, digits: int = 3, df: bool = True) -> pd.DataFrame:
    """Fixed part, random part and fit statistics of several models, one column each.

    Parameters
    ----------
    *fits
        Fits from :func:`helpers.fit_lmm` or :func:`helpers.fit_glmm`, taken and
        labelled as :func:`helpers.compare` takes and labels them: one dict
        ``{label: fit}`` (the keys label the columns), or the fits one by one or as
        one list (labelled M0, M1, ... in the order given).
    digits
        Decimals shown (keyword only).
    df
        Show the degrees of freedom of each fixed effect's test (keyword only;
        default True), those of ``fit.fixed``: Satterthwaite's for a linear mixed
        model, ∞ (a z test) for a generalized one.

    Returns
    -------
    pandas.DataFrame
        Rows grouped as in Hox's tables: the fixed part as "estimate (s.e.)", the
        degrees of freedom of their tests ("Fixed-effect df", unless ``df=False``), the
        random part (variances and covariances; the residual variance for linear
        mixed models only), then deviance (the REML criterion for REML fits), AIC
        and BIC. AIC and BIC of REML fits are labelled "(REML)", and left out of a
        table that also holds ML fits: they compare only models with the same
        fixed part. A blank cell means the term is not in that model.
    """
    named = named_fits(fits, "model_table")
    if not named:
        raise ValueError("model_table needs at least one fitted model: hp.model_table(m0, m1).")
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer):
        raise TypeError(f"digits must be a whole number, not {digits!r}.")
    if digits < 0:
        raise ValueError(f"digits must be >= 0, not {digits}.")
    if not isinstance(df, bool):
        raise TypeError(f"df must be True or False, not {df!r}.")
    fmt = f"{{:.{digits}f}}"
    rows: dict[tuple[str, str], dict[str, str]] = {}

    def put(part, term, name, text):
        rows.setdefault((part, term), {})[name] = text

    for name, fit in named.items():
        for term, r in fit.fixed.iterrows():
            put(
                "Fixed part",
                term,
                name,
                f"{fmt.format(r['estimate'])} ({fmt.format(r['std_error'])})",
            )
        if df:
            for term, value in fit.fixed["df"].items():
                put("Fixed-effect df", term, name, _df_text(value))
        for term, value in _label_random(fit).items():
            put("Random part", term, name, fmt.format(value))
        crit = "REML criterion" if fit.reml else "Deviance"
        put("Model fit", crit, name, f"{fit.deviance:.1f}")
        # AIC and BIC of REML fits compare only models with the same fixed part, never
        # ML fits: in a table that mixes the two they are left out, otherwise labelled.
        if not fit.reml:
            put("Model fit", "AIC", name, f"{fit.aic:.1f}")
            put("Model fit", "BIC", name, f"{fit.bic:.1f}")
        elif all(f.reml for f in named.values()):
            put("Model fit", "AIC (REML)", name, f"{fit.aic:.1f}")
            put("Model fit", "BIC (REML)", name, f"{fit.bic:.1f}")
        if fit.singular:
            put("Model fit", "singular fit", name, "yes")
    order = {"Fixed part": 0, "Fixed-effect df": 1, "Random part": 2, "Model fit": 3}
    keys = sorted(rows, key=lambda k: (order[k[0]], list(rows).index(k)))
    table = pd.DataFrame([rows[k] for k in keys], index=pd.MultiIndex.from_tuples(keys))
    table = table.reindex(columns=list(named)).fillna("")
    table.index.names = ["part", "term"]
    return table.replace({np.nan: ""})
