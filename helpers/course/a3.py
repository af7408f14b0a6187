"""Assignment 3: a random sample of whole schools of High School and Beyond.

Each student gets 20 to 30 of the 160 schools (drawn without replacement, every
student of a drawn school kept): few enough schools for ML and REML to differ
visibly, as they do in a study of that size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import load_dataset

#: How many schools a student gets (inclusive range).
N_SCHOOLS = (20, 30)


def data(rng: np.random.Generator) -> pd.DataFrame:
    """``school``, ``mAch`` (mathematics achievement), ``ses`` and ``sector`` of the
    students of the drawn schools, in the order of the data set."""
    hsb = load_dataset("hsb")
    schools = hsb["school"].unique()
    k = int(rng.integers(N_SCHOOLS[0], N_SCHOOLS[1] + 1))
    drawn = set(rng.choice(np.asarray(schools), size=k, replace=False).tolist())
    out = hsb.loc[hsb["school"].isin(drawn), ["school", "mAch", "ses", "sector"]]
    out = out.reset_index(drop=True)
    out["school"] = out["school"].astype(str)
    out["sector"] = out["sector"].astype(str)
    return out
