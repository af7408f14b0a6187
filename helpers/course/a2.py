"""Assignment 2 (no pooling): mathematics scores of pupils in 30 schools.

Every student gets 30 schools of very different sizes — ten small ones (one of
2 pupils, one of 3, the rest 3 to 10) and twenty large ones (20 to 45 pupils) — drawn
from a random-intercept, random-slope model with a school-level predictor:

    score_ij = 50 + 3 ses_ij + 4 private_j + u0j + u1j ses_ij + e_ij,
    u0j ~ N(0, 16), u1j ~ N(0, 1), e_ij ~ N(0, 64),

``ses`` standard normal, ``private`` 1 for exactly half of the schools. The school
of 2 pupils cannot be fitted on its own (two coefficients and a residual variance
need at least 3 pupils); the school of 3 has one residual degree of freedom.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..simulate import simulate_lmm

FORMULA = "score ~ ses + private + (1 + ses | school)"
GAMMA = {"Intercept": 50.0, "ses": 3.0, "private": 4.0}
TAU = [[16.0, 0.0], [0.0, 1.0]]  # variances of the school intercepts and SES slopes
SIGMA2 = 64.0  # residual variance
N_SCHOOLS = 30
SMALL_MAX = 10  # a "small" school has at most this many pupils
LARGE_MIN = 20  # a "large" school has at least this many


def sizes(rng: np.random.Generator) -> np.ndarray:
    """School sizes: 2, 3, eight of 3-10 and twenty of 20-45 pupils, shuffled."""
    small = np.concatenate([[2, 3], rng.integers(3, SMALL_MAX + 1, 8)])
    large = rng.integers(LARGE_MIN, 46, N_SCHOOLS - len(small))
    return rng.permutation(np.concatenate([small, large]))


def data(rng: np.random.Generator) -> pd.DataFrame:
    n_j = sizes(rng)
    d = simulate_lmm(
        FORMULA,
        gamma=GAMMA,
        tau=TAU,
        sigma2=SIGMA2,
        n_groups=N_SCHOOLS,
        group_size=n_j,
        level1={"ses": "normal"},
        level2={"private": "balanced"},
        seed=rng,
    )
    d["score"] = d["score"].round(2)
    d["ses"] = d["ses"].round(3)
    d["private"] = d["private"].astype(int)
    return d[["school", "private", "ses", "score"]]
