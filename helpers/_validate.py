"""Input checks shared by the public functions: clear messages, nothing silently changed.

Every check raises the exception a user expects (``TypeError`` for a wrong type,
``ValueError`` for a wrong value, ``KeyError`` for a column that is not there) with
a message that names the column, the count and an example, and says what to do.
None of them modifies its input. They take plain values (data frames, numbers,
strings); the checks of fitted models are in :mod:`helpers._fit`. Imports nothing of
``helpers``, so every module may use it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.linalg

__all__ = [
    "aliased_columns",
    "check_bool",
    "check_count",
    "check_finite_matrix",
    "check_frame",
    "check_option",
    "check_outcome",
    "check_predictor_columns",
    "check_seed",
    "check_unique_columns",
    "count_missing",
    "handle_missing",
    "row_label",
]


def row_label(label) -> str:
    """A row's index label as a user wrote it (5, 'a'), not numpy's repr (np.int64(5))."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def check_frame(data, needed: set[str], what: str = "the formula") -> None:
    """data must be a non-empty DataFrame holding every column in needed."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"data must be a pandas DataFrame, not {type(data).__name__}; "
            "e.g. data = hp.load_dataset('popularity')."
        )
    if len(data) == 0:
        raise ValueError("data has no rows.")
    check_unique_columns(data, needed)
    missing = sorted(needed - set(map(str, data.columns)))
    if missing:
        raise KeyError(
            f"Column(s) {', '.join(repr(m) for m in missing)} used in {what} are not in the data. "
            f"Available columns: {', '.join(map(str, data.columns))}. A name with spaces, "
            "dots or other symbols is written in backticks (`my var`) or as Q('my var')."
        )


def check_unique_columns(data: pd.DataFrame, names) -> None:
    """Each of ``names`` must be the label of one column of data, not of several."""
    if data.columns.is_unique:
        return
    counts = data.columns.value_counts()
    dup = [str(c) for c in counts.index if counts[c] > 1 and str(c) in set(map(str, names))]
    if dup:
        listing = ", ".join(f"{c!r} ({int(counts[c])} columns)" for c in sorted(dup))
        raise ValueError(
            f"data has several columns named {listing}, used in the model: which one is "
            "meant is ambiguous. Rename or drop the duplicates, e.g. "
            "data.loc[:, ~data.columns.duplicated()]."
        )


def check_bool(value, name: str) -> bool:
    """A True/False option (numpy booleans accepted); anything else is a TypeError."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, not {value!r}.")
    return bool(value)


def check_option(value, name: str, allowed: tuple[str, ...]) -> str:
    """A string option with a fixed set of values."""
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {', '.join(map(repr, allowed))}, not a {type(value).__name__}."
        )
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}.")
    return value


def check_level(level) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating):
        raise TypeError(f"level must be a number between 0 and 1, not {level!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95), not {level!r}.")
    return float(level)


def handle_missing(
    data: pd.DataFrame, columns: list[str], missing: str
) -> tuple[pd.DataFrame, int]:
    """Raise on missing values in the used columns, or drop those rows and say so."""
    check_option(missing, "missing", ("raise", "drop"))
    if data.columns.is_unique:  # column by column: data[columns] would copy the frame
        counts = {c: k for c in columns if (k := count_missing(data[c]))}
        if not counts:
            return data, 0
        counts = pd.Series(counts, dtype=int)
    else:
        counts = data[columns].isna().sum()
        counts = counts[counts > 0]
    if counts.empty:
        return data, 0
    listing = ", ".join(f"{col!r} ({n} missing)" for col, n in counts.items())
    if missing == "raise":
        raise ValueError(
            f"Missing values in the columns the model uses: {listing}. Remove or impute them, "
            "or pass missing='drop' to fit the complete rows (the number dropped is reported)."
        )
    keep = data[columns].notna().all(axis=1)
    n_dropped = int((~keep).sum())
    warnings.warn(
        f"{n_dropped} of {len(data)} rows dropped for missing values in: {listing}.",
        UserWarning,
        stacklevel=3,
    )
    return data.loc[keep], n_dropped


def count_missing(col: pd.Series) -> int:
    """Missing values in a column (NaN, None, NaT, pd.NA), as ``col.isna().sum()``."""
    if isinstance(col.dtype, np.dtype):  # not an extension type (nullable Int64, category)
        if col.dtype.kind == "f":
            return int(np.count_nonzero(np.isnan(col.to_numpy())))
        if col.dtype.kind in "iub":  # numpy integers and booleans cannot be missing
            return 0
    elif isinstance(col.dtype, pd.CategoricalDtype):  # a missing category has code -1
        return int(np.count_nonzero(col.array.codes < 0))
    return int(col.isna().sum())


def _is_number_column(col: pd.Series) -> bool:
    if isinstance(col.dtype, np.dtype):  # numpy's own types: decided by the kind
        return col.dtype.kind in "iufc"
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def check_outcome(data: pd.DataFrame, outcome: str, columns: set[str] | None = None) -> None:
    """The outcome, or every column it is computed from (np.log(y)), must be numeric."""
    if columns is None:
        columns = {outcome}
    for name in sorted(columns):
        col = data[name]
        if not _is_number_column(col):
            what = (
                f"The outcome {outcome!r}"
                if name == outcome
                else (f"The column {name!r} of the outcome {outcome!r}")
            )
            raise TypeError(
                f"{what} must be numeric, but its type is {col.dtype}. "
                "Convert it (e.g. pd.to_numeric) or choose a numeric outcome."
            )
    check_finite_columns(data, columns)


def check_finite_columns(data: pd.DataFrame, columns) -> None:
    """No inf or -inf in a numeric column the model uses (NaN is handled as missing)."""
    for name in sorted(columns):
        col = data[name]
        if not _is_number_column(col) or col.dtype.kind in "iu":  # integers are finite
            continue
        values = np.asarray(col, dtype=float)
        bad = np.isinf(values)
        if bad.any():
            first = data.index[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"Column {name!r} holds {int(bad.sum())} infinite value(s) (inf or -inf; "
                f"the first in row {row_label(first)}). Replace them, or set them to NaN and pass "
                "missing='drop' to leave those rows out."
            )


def _text_rows(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For a column of text: which non-missing entries read as numbers, which do not."""
    present = col.dropna()
    as_number = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return present[as_number.notna()], present[as_number.isna()]


def check_predictor_columns(data: pd.DataFrame, columns, categorical=frozenset()) -> None:
    """Predictor columns must be what they seem: no inf, no numbers stored as text.

    A column of text in which most entries are numbers is a number column with a
    typo (``"seven"``, ``"n/a"``, ``"5,2"``) or read with the wrong type; used as a
    predictor, the formula library would silently make one dummy column per
    distinct value. It is refused, naming the column, the count and an example,
    unless the formula asks for a categorical predictor explicitly (``C(x)``: the
    names in ``categorical``).
    """
    check_finite_columns(data, columns)
    for name in sorted(set(columns) - set(categorical)):
        col = data[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            continue  # declared categorical (e.g. levels "0", "1", "2", "3+"): a choice, not a typo
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        numbers, text = _text_rows(col)
        if len(numbers) == 0 or len(numbers) < len(text):
            continue  # a genuine text (categorical) column
        n_levels = col.nunique()
        if len(text):
            first = text.index[0]
            raise ValueError(
                f"Column {name!r} holds numbers in {len(numbers)} rows but text in {len(text)} "
                f"row(s) (e.g. {text.iloc[0]!r} in row {row_label(first)}); used as a predictor it "
                f"would become {n_levels - 1} dummy columns, one per distinct value. Fix those "
                f"entries, or turn them into missing values with "
                f"df[{name!r}] = pd.to_numeric(df[{name!r}], errors='coerce') and pass "
                f"missing='drop'; write C({name}) if the column really is categorical."
            )
        raise TypeError(
            f"Column {name!r} holds numbers stored as text (type {col.dtype}); used as a "
            f"predictor it would become {n_levels - 1} dummy columns, one per distinct "
            f"value. Convert it with df[{name!r}] = pd.to_numeric(df[{name!r}]), or write "
            f"C({name}) if it really is categorical."
        )


def check_finite_matrix(M: np.ndarray, names: list[str], rows: pd.Index, what: str) -> None:
    """A design built from finite data can still hold inf/NaN (np.log(0)): name the term."""
    bad = ~np.isfinite(M)
    if M.ndim == 1:
        bad = bad[:, None]
    if not bad.any():
        return
    k = int(np.flatnonzero(bad.any(axis=0))[0])
    count = int(bad[:, k].sum())
    first = rows[np.flatnonzero(bad[:, k])[0]]
    raise ValueError(
        f"{what} {names[k]!r} is not a finite number (inf, -inf or NaN) in {count} row(s), "
        f"the first being row {row_label(first)}: the transformation is undefined there (e.g. the log "
        "of zero or of a negative number). Remove those rows or change the transformation."
    )


def aliased_columns(X: np.ndarray, names: list[str], tol: float = 1e-9) -> list[str]:
    """Columns of X that are linear combinations of earlier ones (pivoted QR)."""
    if X.shape[1] == 0:
        return []
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    _, R, piv = scipy.linalg.qr(X / scale, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int((diag > tol * max(diag.max(), 1.0)).sum()) if diag.size else 0
    # Keep earlier columns where possible: re-check greedily in the original order.
    if rank == X.shape[1]:
        return []
    kept, aliased = [], []
    for j in range(X.shape[1]):
        trial = kept + [j]
        sub = X[:, trial] / scale[trial]
        s = np.linalg.svd(sub, compute_uv=False)
        if s.min() > tol * max(s.max(), 1.0) * 1e3:
            kept.append(j)
        else:
            aliased.append(names[j])
    return aliased


def check_count(n, what: str) -> int:
    """n must be a whole number of at least 1 (e.g. of replicates or draws)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be a whole number, not {n!r}.")
    if n < 1:
        raise ValueError(f"{what} must be at least 1 (got {n}).")
    return int(n)


def check_seed(seed) -> np.random.Generator:
    """A numpy Generator from an integer seed, a Generator (used as is) or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {seed}.")
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an integer, a numpy Generator or None, not {seed!r}.")
