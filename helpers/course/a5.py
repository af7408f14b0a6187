"""Assignment 5 (shrinkage): homes in a random half of Minnesota's counties.

Each student gets the homes of ``N_COUNTIES`` of the 85 counties of the radon data
(chosen at random, whole counties, all their homes), so the county sizes range from
one home to dozens, as in the full data. The county-level predictor ``uranium`` (the
log uranium of the county's soil) stays with its county.

About a quarter of such samples (257 of 1000 draws) give the model
``log_radon ~ uranium + (1 | county)`` a REML county variance of 0 (a singular fit):
every reliability is then 0 and the assignment's questions lose their premise. So a
sample is drawn again while its score ratio (:func:`score_ratio`) is at most ``S_MIN``.
The ratio is the REML score of the county variance at 0 over its expectation; the
derivative of the REML log-likelihood at a county variance of 0 is positive exactly
when it exceeds 1 (in those 1000 draws, all 257 singular fits had a ratio <= 1, and
every draw with a ratio above 1.35 fitted a variance above 0.005). The one-way
analysis-of-variance F of the residuals by county is a poorer guide here: it weights a
county by its size, not by its square, and singular fits occur up to F = 1.49, so an F
threshold would keep only about 8% of the draws; ``S_MIN = 1.75`` keeps 43%. Over the
200 student IDs ``s1000`` to ``s1199`` the smallest REML county variance is then
0.0075 (median 0.020); ``tests/test_course_a5.py`` checks a few IDs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import load_dataset

#: Number of counties in every student's data.
N_COUNTIES = 45

#: A sample is drawn again while its score ratio (see :func:`score_ratio`) is <= this.
S_MIN = 1.75


def score_ratio(d: pd.DataFrame) -> float:
    """REML score of the county variance at 0 over its expectation (1 at the boundary).

    ``sum_j (sum_i r_ij)^2 / (s2 * trace(Z'PZ))`` with ``r`` the OLS residuals of
    ``log_radon ~ uranium``, ``s2 = r'r / (N - 2)``, ``Z`` the county indicators and
    ``P = I - X (X'X)^-1 X'``.
    """
    x = np.column_stack([np.ones(len(d)), d["uranium"].to_numpy(float)])
    y = d["log_radon"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta
    codes = d["county"].cat.codes.to_numpy()
    n_groups = codes.max() + 1
    sums = np.bincount(codes, weights=r, minlength=n_groups)
    zx = np.stack([np.bincount(codes, weights=x[:, k], minlength=n_groups) for k in (0, 1)], 1)
    trace = len(d) - np.einsum("jk,kl,jl->", zx, np.linalg.inv(x.T @ x), zx)
    s2 = r @ r / (len(d) - 2)
    return float((sums**2).sum() / (s2 * trace))


def data(rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``home, county, county_name, floor, log_radon, uranium``."""
    while True:
        d = _draw(rng)
        if score_ratio(d) > S_MIN:
            return d


def _draw(rng: np.random.Generator) -> pd.DataFrame:
    radon = load_dataset("radon")
    counties = radon["county"].cat.categories
    chosen = rng.choice(np.asarray(counties), size=N_COUNTIES, replace=False)
    out = radon[radon["county"].isin(chosen)].copy()
    out["county"] = out["county"].cat.remove_unused_categories()
    return out.reset_index(drop=True)
