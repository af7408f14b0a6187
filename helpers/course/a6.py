"""Assignment 6 (within and between): a random 40 of the 160 schools of High School
and Beyond, every student of each.

The school means and centred scores that ``hsb`` ships (``meanses``, ``meanses_rb``,
``cses``) are left out: the assignment asks the student to compute them from the
students in the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import load_dataset

#: Number of schools in every student's data.
N_SCHOOLS = 40

#: The columns kept.
COLUMNS = ["school", "minrty", "sx", "ses", "mAch", "sector"]


def data(rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``school, minrty, sx, ses, mAch, sector`` (one row per student)."""
    hsb = load_dataset("hsb")
    schools = np.asarray(hsb["school"].cat.categories)
    chosen = rng.choice(schools, size=N_SCHOOLS, replace=False)
    out = hsb.loc[hsb["school"].isin(chosen), COLUMNS].copy()
    out["school"] = out["school"].cat.remove_unused_categories()
    return out.reset_index(drop=True)
