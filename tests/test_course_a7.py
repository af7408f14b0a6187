"""Assignment 7's per-student data (helpers.course.a7): whole children of `growth`."""

from __future__ import annotations

import pandas as pd

import helpers as hp
from helpers.course import a7


def test_each_student_gets_whole_children_of_their_own():
    growth = hp.load_dataset("growth")
    full = growth.groupby("child", observed=True).size()
    full.index = full.index.astype(str)
    one = hp.student_data("a7", "s1234567")
    other = hp.student_data("a7", "s7654321")
    for d in (one, other):
        assert list(d.columns) == list(growth.columns)
        sizes = d.groupby("child").size()
        assert len(sizes) == a7.N_CHILDREN
        # every assessment of a drawn child is kept
        pd.testing.assert_series_equal(sizes, full[sizes.index], check_names=False)
    assert set(one["child"]) != set(other["child"])
    pd.testing.assert_frame_equal(one, hp.student_data("a7", "S1234567"))
