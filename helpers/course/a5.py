"""Assignment 5 (shrinkage): homes in a random half of Minnesota's counties.

Each student gets the homes of ``N_COUNTIES`` of the 85 counties of the radon data
(chosen at random, whole counties, all their homes), so the county sizes range from
one home to dozens, as in the full data. The county-level predictor ``uranium`` (the
log uranium of the county's soil) stays with its county.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import load_dataset

#: Number of counties in every student's data.
N_COUNTIES = 45


def data(rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``home, county, county_name, floor, log_radon, uranium``."""
    radon = load_dataset("radon")
    counties = radon["county"].cat.categories
    chosen = rng.choice(np.asarray(counties), size=N_COUNTIES, replace=False)
    out = radon[radon["county"].isin(chosen)].copy()
    out["county"] = out["county"].cat.remove_unused_categories()
    return out.reset_index(drop=True)
