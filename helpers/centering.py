"""Centring a level-1 predictor: group means and within-group deviations.

Raudenbush & Bryk (2002, ch. 5) and Snijders & Bosker (2012, ch. 4) split a
pupil-level predictor X_ij into two parts that carry different effects:

    X_ij = mean_j(X) + (X_ij - mean_j(X))
           between      within

Entered together in a model (the group-mean or Mundlak model), the within part's
coefficient is the within-group effect and the group mean's the between-group
effect; with the raw X and its group mean instead, the group mean's coefficient is
the contextual effect (between minus within).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validate import check_frame

__all__ = ["group_mean_center"]


def _as_list(columns) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, list | tuple | pd.Index) and len(columns) > 0:
        if not all(isinstance(c, str) for c in columns):
            raise TypeError("columns must be column names (strings), e.g. ['ses'].")
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns names a column more than once: {list(columns)}.")
        return list(columns)
    raise TypeError(
        f"columns must be a column name or a non-empty list of names, not {columns!r}; "
        "e.g. columns='ses' or columns=['ses', 'extrav']."
    )


def group_mean_center(
    data: pd.DataFrame,
    columns: str | list[str],
    group: str,
    *,
    grand: bool = False,
    mean_suffix: str = "_mean",
    within_suffix: str = "_within",
    grand_suffix: str = "_grand",
) -> pd.DataFrame:
    """A copy of data with the group mean and the within-group deviation of each column.

    For each name ``x`` in columns the result has two new columns:

    - ``x_mean``: the mean of ``x`` in the row's group (a level-2 variable);
    - ``x_within``: ``x - x_mean``, the group-mean-centred predictor (its mean is 0
      in every group);

    and, with ``grand=True``, ``x_grand``: ``x`` minus its mean over all rows (the
    grand-mean-centred predictor). The suffixes can be changed (keyword options).

    Parameters
    ----------
    data
        The level-1 data (one row per pupil). It is not changed.
    columns
        A numeric column, or a list of them, without missing values.
    group
        The grouping column (e.g. ``"school"``), without missing labels.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame: all columns of data, in the same rows and order, plus the
        new ones. An existing column of the same name is never overwritten: that
        is an error (choose other suffixes).
    """
    cols = _as_list(columns)
    if not isinstance(group, str):
        raise TypeError(f"group must be the name of the grouping column, not {group!r}.")
    check_frame(data, {*cols, group}, "group_mean_center")
    if group in cols:
        raise ValueError(f"{group!r} is the grouping column; it cannot also be centred.")
    for name, value in [
        ("mean_suffix", mean_suffix),
        ("within_suffix", within_suffix),
        ("grand_suffix", grand_suffix),
    ]:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, not {value!r}.")
    if len({mean_suffix, within_suffix} | ({grand_suffix} if grand else set())) < 2 + grand:
        raise ValueError("The suffixes must differ from each other.")
    n_na = int(data[group].isna().sum())
    if n_na:
        raise ValueError(
            f"The grouping column {group!r} has {n_na} missing label(s); every row needs a "
            "group. Fill them in or drop those rows first."
        )
    for c in cols:
        col = data[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise TypeError(
                f"Column {c!r} must be numeric to be centred, but its type is {col.dtype}. "
                "Convert it first (a categorical predictor is centred through its dummies)."
            )
        k = int(col.isna().sum())
        if k:
            raise ValueError(
                f"Column {c!r} has {k} missing value(s); group means would silently ignore "
                "them. Drop or impute those rows first (e.g. data.dropna(subset=[...]))."
            )
        if not np.all(np.isfinite(col.to_numpy(dtype=float))):
            raise ValueError(f"Column {c!r} has infinite values.")
    new = []
    for c in cols:
        new += [c + mean_suffix, c + within_suffix] + ([c + grand_suffix] if grand else [])
    clash = [n for n in new if n in data.columns]
    if clash:
        raise ValueError(
            f"The data already have column(s) {', '.join(map(repr, clash))}; they would be "
            "overwritten. Drop them first or choose other suffixes "
            "(mean_suffix=..., within_suffix=..., grand_suffix=...)."
        )

    codes, _ = pd.factorize(data[group], sort=False)
    counts = np.bincount(codes)
    out = data.copy()
    for c in cols:
        x = data[c].to_numpy(dtype=float)
        means = (np.bincount(codes, weights=x) / counts)[codes]
        out[c + mean_suffix] = means
        out[c + within_suffix] = x - means
        if grand:
            out[c + grand_suffix] = x - x.mean()
    return out
