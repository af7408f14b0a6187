"""Assignment 7: a random sample of whole children of the simulated ``growth`` study.

Each student gets 100 of the 160 children (drawn without replacement, every
assessment of a drawn child kept), with their unequally spaced occasions, missed
assessments and drop-out as in the book's data set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import load_dataset

#: How many children a student gets.
N_CHILDREN = 100


def data(rng: np.random.Generator) -> pd.DataFrame:
    """``child``, ``wave``, ``years``, ``support``, ``reading`` and ``score`` of the drawn children."""
    growth = load_dataset("growth")
    children = np.asarray(growth["child"].unique())
    drawn = set(rng.choice(children, size=N_CHILDREN, replace=False).tolist())
    out = growth.loc[growth["child"].isin(drawn)].reset_index(drop=True)
    out["child"] = out["child"].astype(str)
    return out
