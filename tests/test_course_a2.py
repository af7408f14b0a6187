"""Assignment 2's per-student data (helpers.course.a2): schools of very unequal size,
some too small to fit alone, from a random-intercept, random-slope model."""

from __future__ import annotations

import numpy as np
import pandas as pd

import helpers as hp
from helpers.course import a2


def test_each_student_gets_small_unfittable_and_large_schools():
    for sid in ("s1234567", "s7654321", "shared"):
        d = hp.student_data("a2", sid)
        assert list(d.columns) == ["school", "private", "ses", "score"]
        sizes = d.groupby("school").size()
        assert a2.N_SCHOOLS[0] <= len(sizes) <= a2.N_SCHOOLS[1]
        assert (sizes <= a2.SMALL_MAX).sum() == a2.N_SMALL
        assert (sizes >= a2.LARGE_MIN).sum() == len(sizes) - a2.N_SMALL
        assert 1 <= (sizes == 2).sum() <= 2 and (sizes == 3).sum() >= 1
        # private is a school-level variable, given to half of the schools
        per_school = d.groupby("school")["private"]
        assert (per_school.nunique() == 1).all()
        assert abs(per_school.first().sum() - len(sizes) / 2) <= 0.5
        # what the assignment relies on: the schools of 2 cannot be fitted alone, a
        # school of 3 has one residual df
        fits = hp.fit_by_group("score ~ ses", d, group="school")
        assert (fits["status"] != "ok").sum() == (sizes == 2).sum()
        assert fits.loc[fits["status"] == "ok", "df_resid"].min() == 1
    pd.testing.assert_frame_equal(
        hp.student_data("a2", "s1234567"), hp.student_data("a2", " S1234567")
    )
    assert not hp.student_data("a2", "s1").equals(hp.student_data("a2", "s2"))


def test_the_fixed_effects_are_recovered_on_average():
    """Over 40 seeds the pooled OLS slopes of ses and private (unbiased for the fixed
    effects: the random effects have mean 0 and are independent of the predictors)
    average to the truth within 3 standard errors of the mean."""
    est = []
    for seed in range(40):
        d = a2.data(np.random.default_rng(seed))
        fixed = hp.fit_ols("score ~ ses + private", d).fixed["estimate"]
        est.append([fixed["ses"], fixed["private"]])
    est = np.array(est)
    truth = np.array([a2.GAMMA["ses"], a2.GAMMA["private"]])
    se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert (np.abs(est.mean(axis=0) - truth) < 3 * se).all(), (est.mean(axis=0), se)
