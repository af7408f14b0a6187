"""Assignment 10's per-student data (helpers.course.a10): pupils in classes numbered
within secondary schools, crossed with the primary schools they came from."""

from __future__ import annotations

import numpy as np
import pandas as pd

import helpers as hp
from helpers.course import a10


def test_the_design_is_three_nested_levels_crossed_with_primary_schools():
    seen = []
    for sid in ("s1234567", "s7654321", "shared"):
        d = hp.student_data("a10", sid)
        assert list(d.columns) == ["pupil", "school", "class", "primary", "texp", "score"]
        assert d["school"].nunique() == a10.N_SCHOOLS
        assert d["primary"].nunique() <= a10.N_PRIMARY
        # classes numbered 1, 2, ..., k within every school, 2 to 5 of them
        numbers = d.groupby("school")["class"].agg(lambda c: sorted(set(c)))
        assert all(n == list(range(1, len(n) + 1)) for n in numbers)
        lo, hi = a10.CLASSES_PER_SCHOOL
        assert numbers.map(len).between(lo, hi).all()
        assert d["class"].nunique() < d.groupby(["school", "class"]).ngroups
        sizes = d.groupby(["school", "class"]).size()
        assert sizes.between(*a10.CLASS_SIZE).all()
        # the teacher's experience is a property of the class
        assert (d.groupby(["school", "class"])["texp"].nunique() == 1).all()
        assert d["texp"].between(*a10.TEXP_RANGE).all()
        # crossed, not nested: primary schools send pupils to several secondary schools
        assert (d.groupby("primary")["school"].nunique() > 1).mean() > 0.9
        seen.append(d)
    assert not seen[0].equals(seen[1]) and not seen[0].equals(seen[2])
    pd.testing.assert_frame_equal(seen[0], hp.student_data("a10", " S1234567"))


def test_most_pupils_come_from_the_two_feeder_primary_schools():
    """P_FEEDER = 0.8 of the pupils come from one of their school's two feeders; the
    others from any of 60 primary schools (1 in 30 of them a feeder): 0.8 + 0.2 / 30."""
    d = hp.student_data("a10", "s1234567")
    top2 = d.groupby("school")["primary"].agg(lambda p: p.value_counts().iloc[:2].sum())
    share = top2.sum() / len(d)
    expected = a10.P_FEEDER + (1 - a10.P_FEEDER) * 2 / a10.N_PRIMARY
    # binomial standard error over about 1900 pupils: 0.009; the two largest primary
    # schools of a school are its feeders, or slightly more by chance
    assert expected - 0.03 < share < expected + 0.05


def test_the_truth_of_each_student_is_in_range():
    rng = np.random.default_rng(hp.student_seed("a10", "s1234567"))
    truth = a10.truth(rng)
    for name, bounds in (
        ("school", a10.S2_SCHOOL),
        ("class", a10.S2_CLASS),
        ("primary", a10.S2_PRIMARY),
    ):
        assert bounds[0] <= truth[name] <= bounds[1]
    assert truth["residual"] == a10.S2_E


def test_scores_follow_the_truth_within_classes():
    """Within a class only the primary effects and the pupil errors vary: the pooled
    within-class variance estimates S2_E plus the primary variance that is left within
    a class (at most S2_PRIMARY's upper bound)."""
    d = hp.student_data("a10", "s1234567")
    g = d.groupby(["school", "class"])["score"]
    within = ((d["score"] - g.transform("mean")) ** 2).sum() / (len(d) - g.ngroups)
    assert a10.S2_E * 0.9 < within < (a10.S2_E + a10.S2_PRIMARY[1]) * 1.1
