"""The optimiser reaches lme4's optimum: never worse than its tight-tolerance fit.

Expected values: tests/reference/lme4_reference.json, written by the committed
script tests/reference/make_reference.R. Its ``deviance`` is lme4's criterion (the
REML criterion or -2 log-likelihood) at the optimum found with tolerances of
1e-14 on theta and 1e-16 on the criterion; helpers' criterion may be lower (a
better optimum), never higher by more than 1e-8.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp

MODELS = json.loads((Path(__file__).parent / "reference" / "lme4_reference.json").read_text())[
    "models"
]


@pytest.mark.parametrize("key", sorted(MODELS))
def test_criterion_is_no_worse_than_lme4_tight_optimum(key):
    ref = MODELS[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hp.fit_lmm(ref["formula"], hp.load_dataset(ref["data"]), reml=ref["reml"])
    assert fit.converged
    assert fit.deviance <= ref["deviance"] + 1e-8


def test_an_outcome_the_fixed_part_fits_exactly_is_refused_with_a_reason():
    df = pd.DataFrame({"g": np.repeat(np.arange(5), 4), "x": np.arange(20.0)})
    df["y"] = 2 * df["x"] + 1
    with pytest.raises(ValueError, match="fits the outcome exactly"):
        hp.fit_lmm("y ~ x + (1 | g)", df)
