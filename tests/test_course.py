"""Per-student assignment data: one seed per (assignment, student), clear messages."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

import helpers as hp
from helpers import course


@pytest.fixture
def a0(monkeypatch):
    """A stand-in assignment module, a0: ten draws of a standard normal."""
    module = types.ModuleType("helpers.course.a0")
    module.data = lambda rng: pd.DataFrame({"y": rng.standard_normal(10)})
    monkeypatch.setitem(sys.modules, "helpers.course.a0", module)
    monkeypatch.setattr(course, "assignments_with_data", lambda: ["a0"])
    return module


def test_one_student_gets_the_same_data_every_time(a0):
    first = hp.student_data("a0", "s1234567")
    pd.testing.assert_frame_equal(first, hp.student_data("a0", "s1234567"))
    # Spaces and letter case do not make another student; the long name works too.
    pd.testing.assert_frame_equal(first, hp.student_data("a0-example", "  S1234567 "))


def test_two_students_get_different_data(a0):
    a = hp.student_data("a0", "s1234567")["y"].to_numpy()
    b = hp.student_data("a0", "s1234568")["y"].to_numpy()
    assert not np.allclose(a, b)


def test_the_seed_is_sha256_of_assignment_and_id(a0):
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"a0:s1").digest()[:8], "big")
    assert hp.student_seed("a0", "S1") == expected
    assert hp.student_seed("a0", 42) == hp.student_seed("a0", "42")


@pytest.mark.parametrize("bad", ["", "   ", "...", ..., None, 3.5, True])
def test_a_missing_id_says_where_to_write_it(a0, bad):
    error = ValueError if isinstance(bad, str) or bad is ... else TypeError
    with pytest.raises(error, match="STUDENT_ID"):
        hp.student_data("a0", bad)


def test_an_unknown_assignment_lists_the_known_ones(a0):
    with pytest.raises(ValueError, match=r"'a99'.*: a0"):
        hp.student_data("a99", "s1")
    with pytest.raises(TypeError, match="'a4'"):
        hp.student_data(4, "s1")


@pytest.mark.parametrize("assignment", course.assignments_with_data())
def test_every_assignment_module_gives_two_ids_different_data(assignment):
    """Issue 29: each student's own data set; the same ID always gives the same one,
    and the instructor's "shared" ID is one more ID."""
    a = hp.student_data(assignment, "s1234567")
    b = hp.student_data(assignment, "s7654321")
    assert isinstance(a, pd.DataFrame) and len(a) > 0
    assert a.shape != b.shape or not a.equals(b)
    pd.testing.assert_frame_equal(a, hp.student_data(assignment, "s1234567"))
    assert not hp.student_data(assignment, course.SHARED).equals(a)
