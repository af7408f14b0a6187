"""Assignment 8 (sample size and power): a pilot study of 14 classes.

Every student gets a pilot of 14 classes of unequal size (5 to 40 pupils) with one
outcome ``y`` (in standard deviations: between-class plus within-class variance 1),
drawn from a random-intercept model whose intraclass correlation is the student's
own, between 0.08 and 0.20. A pilot whose one-way analysis of variance gives
F <= 1.5 is drawn again (at most a few percent of draws), so that no student plans
with an intraclass correlation estimated at 0. The planning constants of the assignment (the cost of a
class in pupils, the budget and the effect to detect) are the same for everyone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..simulate import simulate_lmm

N_CLASSES = 14
ICC_RANGE = (0.08, 0.20)  # the true intraclass correlation is drawn from this range
COST_RATIO = 20  # recruiting a class costs as much as testing 20 pupils (c2 / c1)
BUDGET = 2400  # in units of the cost of one pupil (c1)
EFFECT = 0.3  # the programme effect to detect, in standard deviations of y


def _anova_f(d: pd.DataFrame) -> float:
    """MS_between / MS_within of y between classes (chapter 1)."""
    g = d.groupby("class")["y"]
    n, means = g.size(), g.mean()
    ms_b = (n * (means - d["y"].mean()) ** 2).sum() / (len(n) - 1)
    ms_w = ((d["y"] - g.transform("mean")) ** 2).sum() / (len(d) - len(n))
    return ms_b / ms_w


def data(rng: np.random.Generator) -> pd.DataFrame:
    while True:
        d = _draw(rng)
        if _anova_f(d) > 1.5:
            return d


def _draw(rng: np.random.Generator) -> pd.DataFrame:
    icc = rng.uniform(*ICC_RANGE)
    sizes = rng.integers(5, 41, N_CLASSES)
    d = simulate_lmm(
        "y ~ 1 + (1 | class)",
        gamma={"Intercept": 0.0},
        tau=icc,
        sigma2=1 - icc,
        n_groups=N_CLASSES,
        group_size=sizes,
        seed=rng,
    )
    d["y"] = d["y"].round(3)
    return d[["class", "y"]]
