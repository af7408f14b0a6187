"""helpers.course.a6: each student's data for assignment 6 (within and between)."""

import helpers as hp
from helpers.course import a6


def test_whole_schools_without_the_shipped_school_means():
    d = hp.student_data("a6", "s1234567")
    hsb = hp.load_dataset("hsb")
    assert list(d.columns) == a6.COLUMNS
    assert not {"meanses", "meanses_rb", "cses"} & set(d.columns)
    assert d["school"].nunique() == a6.N_SCHOOLS
    assert list(d["school"].cat.categories) == sorted(d["school"].unique())
    # every student of every chosen school, unchanged
    full = hsb.loc[hsb["school"].isin(d["school"].unique()), a6.COLUMNS]
    assert d.astype({"school": str}).equals(full.reset_index(drop=True).astype({"school": str}))
    assert d.equals(hp.student_data("a6", "s1234567 "))
    assert not d.equals(hp.student_data("a6", "s7654321"))
