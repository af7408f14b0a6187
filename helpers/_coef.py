"""The coefficient table every fit reports: estimate, standard error, df, test and interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.special

__all__ = ["COEF_COLUMNS", "coef_table"]

COEF_COLUMNS = ["estimate", "std_error", "df", "statistic", "p_value", "ci_lower", "ci_upper"]


def coef_table(estimate, std_error, names, *, df=None, level: float = 0.95) -> pd.DataFrame:
    """Wald table of coefficients, index = term (named ``"term"``).

    ``statistic`` is estimate / std_error; the two-sided p-value and the ``level``
    interval use the normal distribution when ``df`` is ``None`` (the ``df`` column is
    then infinite), otherwise a t distribution with ``df`` degrees of freedom (one
    number, or one per row).
    """
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    stat = est / se
    if df is None:
        # scipy.stats.norm.ppf and .sf without their per-call overhead (the same functions)
        crit = scipy.special.ndtri(0.5 + level / 2)
        p_value = 2 * scipy.special.ndtr(-np.abs(stat))
        df = np.inf
    else:
        # scipy.stats.t.ppf and .sf without their per-call overhead (the same functions;
        # infinite df give the normal distribution)
        crit = scipy.special.stdtrit(df, 0.5 + level / 2)
        p_value = 2 * scipy.special.stdtr(df, -np.abs(stat))
    df = np.broadcast_to(np.asarray(df, dtype=float), est.shape)
    table = np.column_stack([est, se, df, stat, p_value, est - crit * se, est + crit * se])
    return pd.DataFrame(table, index=pd.Index(names, name="term"), columns=COEF_COLUMNS)
