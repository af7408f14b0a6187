"""Single-level regressions: one for everyone (complete pooling), one per group (no pooling)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats
import statsmodels.api as sm

from ._coef import coef_table
from ._design import fixed_part, rows_used
from ._validate import aliased_columns
from .formula import parse_fixed_formula

__all__ = ["OlsFit", "fit_by_group", "fit_ols"]


def _design(formula: str, data: pd.DataFrame, extra: set[str], missing: str):
    """Rows used, outcome and design of a single-level formula (read as fit_lmm reads it)."""
    f = parse_fixed_formula(formula)
    data, n_dropped = rows_used(f, data, missing, extra=extra)
    y, X, rhs, _ = fixed_part(f, data)
    return data, y, X, list(rhs.columns), n_dropped


@dataclass
class OlsFit:
    """An ordinary least-squares fit (complete pooling).

    ``fixed`` has the columns of :attr:`helpers.LmmFit.fixed`; with ``cluster``
    the standard errors are cluster-robust (CR1, as statsmodels and Stata), and
    tests and intervals use a t distribution with (clusters - 1) degrees of freedom,
    otherwise the usual ones with n - k degrees of freedom.
    """

    formula: str
    fixed: pd.DataFrame
    sigma2: float
    n_obs: int
    n_dropped: int
    cluster: str | None
    n_clusters: int | None
    result: object  # the statsmodels results object, for everything else

    @property
    def n_params(self) -> int:
        """Estimated parameters: the coefficients (intercept and slopes) and the error variance."""
        return len(self.fixed) + 1

    def __repr__(self) -> str:
        se = (
            f"cluster-robust by {self.cluster!r} ({self.n_clusters} clusters)"
            if self.cluster
            else "classical"
        )
        with pd.option_context("display.float_format", "{:.4f}".format):
            return (
                f"OLS: {self.formula}\n{self.n_obs} observations; standard errors {se}; "
                f"sigma2 = {self.sigma2:.4f}\n\n{self.fixed.to_string()}"
            )


def fit_ols(
    formula: str, data: pd.DataFrame, *, cluster: str | None = None, missing: str = "raise"
) -> OlsFit:
    """Ordinary regression for all rows at once (complete pooling).

    Parameters
    ----------
    formula
        Fixed terms only, e.g. ``"popular ~ extrav + gender + texp"``.
    data
        DataFrame with the columns the formula uses.
    cluster
        Name of a grouping column: standard errors robust to correlation within its
        groups (cluster-robust). ``None`` gives the classical standard errors, which
        assume independent rows.
    missing
        ``"raise"`` (default) or ``"drop"``, as in :func:`helpers.fit_lmm`.
    """
    if cluster is not None and not isinstance(cluster, str):
        raise TypeError(f"cluster must be a column name or None, not {cluster!r}.")
    extra = {cluster} if cluster is not None else set()
    data, y, X, names, n_dropped = _design(formula, data, extra, missing)
    aliased = aliased_columns(X, names)
    if aliased:
        raise ValueError(f"The design is rank deficient: {aliased} are aliased with other terms.")
    if len(y) <= X.shape[1]:
        raise ValueError(f"{len(y)} rows cannot estimate {X.shape[1]} coefficients and a variance.")
    model = sm.OLS(y, X)
    if cluster is None:
        res = model.fit()
        df = res.df_resid
        n_clusters = None
    else:
        codes, uniques = pd.factorize(data[cluster], sort=True)
        n_clusters = len(uniques)
        if n_clusters < 2:
            raise ValueError(
                f"cluster {cluster!r} has {n_clusters} group; robust SEs need at least 2."
            )
        res = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
        df = n_clusters - 1
    fixed = coef_table(np.asarray(res.params), np.asarray(res.bse), names, df=df)
    return OlsFit(
        formula=formula,
        fixed=fixed,
        sigma2=float(res.ssr / res.df_resid),
        n_obs=len(y),
        n_dropped=n_dropped,
        cluster=cluster,
        n_clusters=n_clusters,
        result=res,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# A group's fit is exact when its residual sum of squares is this small relative to
# the outcome's own sum of squares in the group: rounding error, not a residual.
EXACT_FIT_RTOL = 1e-20


def fit_by_group(
    formula: str,
    data: pd.DataFrame,
    *,
    group: str,
    missing: str = "raise",
    level: float = 0.95,
) -> pd.DataFrame:
    """One OLS regression in every group (no pooling), as a tidy table.

    Returns one row per group with ``n``, ``df_resid``, the coefficient of every
    term (columns named after the terms), their standard errors (``se_<term>``),
    ``level`` confidence intervals (``ci_lower_<term>``, ``ci_upper_<term>``) from
    the t distribution with the group's own ``df_resid`` degrees of freedom, the
    residual variance ``sigma2`` and ``status``:

    - ``"ok"``: estimates, standard errors and intervals;
    - ``"exact fit: ..."``: the coefficients pass through every point of the group
      (residual variance zero up to rounding), so the estimates are reported but
      standard errors and intervals are NaN: the group gives no information about
      their precision and is not usable for inference;
    - otherwise the reason the group could not be fitted (too few rows for the
      coefficients and a residual variance, i.e. no residual degrees of freedom; a
      predictor constant within the group), with NaN estimates, not an error.

    The table's ``attrs["terms"]`` lists the terms.
    """
    if not isinstance(group, str):
        raise TypeError(f"group must be a column name, not {group!r}.")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number between 0 and 1 (e.g. 0.95), not {level!r}.")
    data, y, X, names, n_dropped = _design(formula, data, {group}, missing)
    codes, uniques = pd.factorize(data[group], sort=True)
    if len(uniques) < 1:
        raise ValueError(f"The group column {group!r} has no groups.")
    k = X.shape[1]
    rows = []
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for j, label in enumerate(uniques):
        idx = order[bounds[j] : bounds[j + 1]]
        Xj, yj = X[idx], y[idx]
        n = len(idx)
        row = {group: label, "n": n, "df_resid": n - k}
        est = np.full(k, np.nan)
        se = np.full(k, np.nan)
        half_width = np.full(k, np.nan)
        sigma2 = np.nan
        if n <= k:
            status = (
                f"too small: {_plural(n, 'row')} for {_plural(k, 'coefficient')} "
                f"and a residual variance (need {k + 1})"
            )
        else:
            aliased = aliased_columns(Xj, names)
            if aliased:
                status = (
                    f"{', '.join(aliased)} cannot be separated from the other terms in this group"
                )
            else:
                est, *_ = np.linalg.lstsq(Xj, yj, rcond=None)
                resid = yj - Xj @ est
                rss = float(resid @ resid)
                sigma2 = rss / (n - k)
                if rss <= EXACT_FIT_RTOL * float(yj @ yj):
                    status = (
                        "exact fit: the residual variance is zero, so there are no "
                        "standard errors or intervals"
                    )
                else:
                    cov = sigma2 * np.linalg.inv(Xj.T @ Xj)
                    se = np.sqrt(np.diag(cov))
                    half_width = scipy.stats.t.ppf(0.5 + level / 2, n - k) * se
                    status = "ok"
        row.update({name: e for name, e in zip(names, est, strict=True)})
        row.update({f"se_{name}": s for name, s in zip(names, se, strict=True)})
        row.update(
            {f"ci_lower_{name}": e - h for name, e, h in zip(names, est, half_width, strict=True)}
        )
        row.update(
            {f"ci_upper_{name}": e + h for name, e, h in zip(names, est, half_width, strict=True)}
        )
        row["sigma2"] = sigma2
        row["status"] = status
        rows.append(row)
    table = pd.DataFrame(rows).set_index(group)
    table.attrs["terms"] = names
    table.attrs["n_dropped"] = n_dropped
    return table
