"""Assignment 1's per-student data (helpers.course.a1): clinics of unequal size with a
known intraclass correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

import helpers as hp
from helpers.course import a1


def test_each_student_gets_clinics_of_unequal_size_and_their_own_data():
    one = hp.student_data("a1", "s1234567")
    other = hp.student_data("a1", "s7654321")
    assert list(one.columns) == ["clinic", "sbp"]
    for d in (one, other):
        sizes = d.groupby("clinic").size()
        assert 40 <= len(sizes) <= 55 and sizes.min() >= 3 and sizes.max() <= 90
        assert sizes.std() > 0.5 * sizes.mean()  # unequal sizes: n_w well above n_bar
    assert len(one) != len(other) or not np.allclose(one["sbp"], other["sbp"])
    pd.testing.assert_frame_equal(one, hp.student_data("a1", "S1234567 "))


def test_the_truth_is_recovered_on_average():
    """Over 40 seeds the REML intraclass correlations average to the mean of the true
    ones within 3 standard errors (the truth is drawn per seed in a1.RHO_RANGE)."""
    est, true = [], []
    for seed in range(40):
        t = a1.truth(np.random.default_rng(seed))
        d = a1.data(np.random.default_rng(seed))
        assert np.array_equal(d.groupby("clinic").size().to_numpy(), t["sizes"])
        est.append(hp.icc(hp.fit_lmm("sbp ~ 1 + (1 | clinic)", d)))
        true.append(t["rho"])
    diff = np.array(est) - np.array(true)
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert abs(np.mean(hp.student_data("a1", "shared")["sbp"]) - a1.GRAND_MEAN) < 10
