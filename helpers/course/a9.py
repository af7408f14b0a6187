"""Assignment 9 (binary outcomes): 40 districts of the Bangladesh contraception survey.

Every student gets the women of a random 40 of the survey's 60 districts (whole
districts, about 1,300 women; ``hp.load_dataset("contraception")``, chapter 9), with
``use`` coded 1 (uses contraception) and 0, and ``urban``, ``livch`` (living
children: 0, 1, 2, 3+) and ``age`` (centred) as in the book's data set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import load_dataset

N_DISTRICTS = 40


def data(rng: np.random.Generator) -> pd.DataFrame:
    con = load_dataset("contraception")
    districts = con["district"].unique()
    chosen = rng.choice(np.sort(np.asarray(districts)), N_DISTRICTS, replace=False)
    d = con[con["district"].isin(chosen)].reset_index(drop=True)
    d["use"] = (d["use"] == "Y").astype(int)
    if isinstance(d["district"].dtype, pd.CategoricalDtype):  # only the 40 drawn
        d["district"] = d["district"].cat.remove_unused_categories()
    return d[["district", "use", "urban", "livch", "age"]]
