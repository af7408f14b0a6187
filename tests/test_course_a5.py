"""helpers.course.a5: each student's data for assignment 5 (shrinkage)."""

import helpers as hp
from helpers.course import a5


def test_whole_counties_of_the_radon_data():
    d = hp.student_data("a5", "s1234567")
    radon = hp.load_dataset("radon")
    assert list(d.columns) == list(radon.columns)
    assert d["county"].nunique() == a5.N_COUNTIES
    assert list(d["county"].cat.categories) == sorted(d["county"].unique())
    # every home of every chosen county, unchanged
    full = radon[radon["county"].isin(d["county"].unique())].reset_index(drop=True)
    assert d.astype({"county": int}).equals(full.astype({"county": int}))
    assert d.equals(hp.student_data("a5", "S1234567"))
    assert not d.equals(hp.student_data("a5", "s7654321"))
