"""Input checks shared by the fitting functions: clear messages, nothing silently changed."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.linalg

__all__ = [
    "aliased_columns",
    "check_count",
    "check_frame",
    "check_outcome",
    "check_seed",
    "handle_missing",
]


def check_frame(data, needed: set[str], what: str = "the formula") -> None:
    """data must be a non-empty DataFrame holding every column in needed."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"data must be a pandas DataFrame, not {type(data).__name__}; "
            "e.g. data = hp.load_dataset('popularity')."
        )
    if len(data) == 0:
        raise ValueError("data has no rows.")
    missing = sorted(needed - set(map(str, data.columns)))
    if missing:
        raise KeyError(
            f"Column(s) {', '.join(repr(m) for m in missing)} used in {what} are not in the data. "
            f"Available columns: {', '.join(map(str, data.columns))}."
        )


def handle_missing(
    data: pd.DataFrame, columns: list[str], missing: str
) -> tuple[pd.DataFrame, int]:
    """Raise on missing values in the used columns, or drop those rows and say so."""
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', not {missing!r}.")
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


def check_outcome(data: pd.DataFrame, outcome: str) -> None:
    col = data[outcome]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise TypeError(
            f"The outcome {outcome!r} must be numeric, but its type is {col.dtype}. "
            "Convert it (e.g. pd.to_numeric) or choose a numeric outcome."
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
