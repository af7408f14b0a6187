"""Assignment 2 (no pooling): mathematics scores of pupils in 26 to 34 schools.

Every student gets their own number of schools (26 to 34) of very different sizes —
ten small ones (one or two of 2 pupils, one of 3, the rest 3 to 10) and the others
large (20 to 45 pupils) — drawn
from a random-intercept, random-slope model with a school-level predictor:

    score_ij = 50 + 3 ses_ij + 4 private_j + u0j + u1j ses_ij + e_ij,
    u0j ~ N(0, 16), u1j ~ N(0, 1), e_ij ~ N(0, 64),

``ses`` standard normal, ``private`` 1 for exactly half of the schools. A school of
2 pupils cannot be fitted on its own (two coefficients and a residual variance need
at least 3 pupils); a school of 3 has one residual degree of freedom.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..simulate import simulate_lmm

FORMULA = "score ~ ses + private + (1 + ses | school)"
GAMMA = {"Intercept": 50.0, "ses": 3.0, "private": 4.0}
TAU = [[16.0, 0.0], [0.0, 1.0]]  # variances of the school intercepts and SES slopes
SIGMA2 = 64.0  # residual variance
N_SCHOOLS = (26, 34)  # the smallest and largest number of schools
N_SMALL = 10  # small schools per data set
SMALL_MAX = 10  # a "small" school has at most this many pupils
LARGE_MIN = 20  # a "large" school has at least this many


def sizes(rng: np.random.Generator) -> np.ndarray:
    """School sizes, shuffled: ten small (one or two of 2 pupils, one of 3, the rest
    3-10) and 16 to 24 large ones (20-45 pupils)."""
    n_schools = int(rng.integers(N_SCHOOLS[0], N_SCHOOLS[1] + 1))
    n_two = int(rng.integers(1, 3))
    rest = rng.integers(3, SMALL_MAX + 1, N_SMALL - n_two - 1)
    small = np.concatenate([np.full(n_two, 2), [3], rest])
    large = rng.integers(LARGE_MIN, 46, n_schools - N_SMALL)
    return rng.permutation(np.concatenate([small, large]))


def data(rng: np.random.Generator) -> pd.DataFrame:
    n_j = sizes(rng)
    d = simulate_lmm(
        FORMULA,
        gamma=GAMMA,
        tau=TAU,
        sigma2=SIGMA2,
        n_groups=len(n_j),
        group_size=n_j,
        level1={"ses": "normal"},
        level2={"private": "balanced"},
        seed=rng,
    )
    d["score"] = d["score"].round(2)
    d["ses"] = d["ses"].round(3)
    d["private"] = d["private"].astype(int)
    return d[["school", "private", "ses", "score"]]
