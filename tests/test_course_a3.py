"""Assignment 3's per-student data (helpers.course.a3): whole schools of HSB."""

from __future__ import annotations

import pandas as pd

import helpers as hp
from helpers.course import a3


def test_each_student_gets_whole_schools_of_their_own():
    hsb = hp.load_dataset("hsb")
    full_size = hsb.groupby("school", observed=True).size()
    full_size.index = full_size.index.astype(str)
    one = hp.student_data("a3", "s1234567")
    other = hp.student_data("a3", "s7654321")
    for d in (one, other):
        assert list(d.columns) == ["school", "mAch", "ses", "sector"]
        sizes = d.groupby("school").size()
        assert a3.N_SCHOOLS[0] <= len(sizes) <= a3.N_SCHOOLS[1]
        # every student of a drawn school is kept
        pd.testing.assert_series_equal(sizes, full_size[sizes.index], check_names=False)
    assert set(one["school"]) != set(other["school"])
    pd.testing.assert_frame_equal(one, hp.student_data("a3", " S1234567"))
