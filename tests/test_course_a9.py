"""Assignment 9's per-student data (helpers.course.a9): whole districts of the
contraception survey."""

from __future__ import annotations

import pandas as pd

import helpers as hp
from helpers.course import a9


def test_each_student_gets_40_whole_districts():
    con = hp.load_dataset("contraception")
    full_sizes = con.groupby("district", observed=True).size()
    users = (con["use"] == "Y").groupby(con["district"], observed=True).sum()
    seen = []
    for sid in ("s1234567", "s7654321", "shared"):
        d = hp.student_data("a9", sid)
        assert list(d.columns) == ["district", "use", "urban", "livch", "age"]
        assert set(d["use"].unique()) <= {0, 1}
        sizes = d.groupby("district", observed=True).size()
        assert len(sizes) == a9.N_DISTRICTS == len(d["district"].cat.categories)
        # whole districts: every woman of a chosen district, her answer unchanged
        chosen = list(sizes.index)
        assert (sizes.to_numpy() == full_sizes.loc[chosen].to_numpy()).all()
        mine = d.groupby("district", observed=True)["use"].sum().loc[chosen]
        assert (mine.to_numpy() == users.loc[chosen].to_numpy()).all()
        seen.append(frozenset(chosen))
    assert len(set(seen)) == 3
    pd.testing.assert_frame_equal(
        hp.student_data("a9", "s1234567"), hp.student_data("a9", "s1234567 ")
    )
