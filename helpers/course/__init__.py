"""Per-student data for the course assignments.

Each assignment draws its data from a seed derived from the student's ID, so every
student answers the same questions on data of their own, and the hidden tests
recompute each expected answer from that student's data. One module per assignment
(``helpers.course.a4`` and so on) defines ``data(rng)``: a function of a
:class:`numpy.random.Generator` that simulates data with a known truth or resamples
a data set the book ships, and returns a :class:`pandas.DataFrame`.

In a notebook::

    STUDENT_ID = "s1234567"
    df = hp.student_data("a4", STUDENT_ID)

The ID ``"shared"`` is the one an instructor fills in when the whole class should
work on one data set. Imports ``data`` and ``simulate`` of helpers at most (a
consumer, like ``interactive``).
"""

from __future__ import annotations

import hashlib
import importlib
import numbers
import pkgutil
import re

import numpy as np
import pandas as pd

__all__ = ["SHARED", "assignments_with_data", "student_data", "student_seed"]

#: The ID that gives everybody the same data (an instructor's switch).
SHARED = "shared"

_NAME = re.compile(r"a\d+")


def assignments_with_data() -> list[str]:
    """The assignments that have per-student data: ``['a1', 'a2', ...]``."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if _NAME.fullmatch(m.name)]
    return sorted(names, key=lambda n: int(n[1:]))


def _check_assignment(assignment) -> str:
    if not isinstance(assignment, str):
        raise TypeError(
            f"assignment must be a string such as 'a4', not {type(assignment).__name__}."
        )
    short = assignment.strip().split("-", 1)[0].lower()
    known = assignments_with_data()
    if not _NAME.fullmatch(short) or short not in known:
        raise ValueError(
            f"No per-student data for assignment {assignment!r}. "
            f"Assignments with per-student data: {', '.join(known) or 'none'}."
        )
    return short


def _normalize_id(student_id) -> str:
    if student_id is Ellipsis:  # the student version's blank: STUDENT_ID = ...
        student_id = ""
    if isinstance(student_id, bool) or not isinstance(student_id, str | numbers.Integral):
        raise TypeError(
            'STUDENT_ID must be your student ID as text, e.g. STUDENT_ID = "s1234567", '
            f"not {type(student_id).__name__}."
        )
    text = " ".join(str(student_id).split()).casefold()
    if not text or text in {"...", "…", "your id here"}:
        raise ValueError(
            "STUDENT_ID is empty: write your student ID in the first code cell, e.g. "
            'STUDENT_ID = "s1234567" (your instructor may ask for "shared" instead), '
            "and run the notebook again from the top."
        )
    return text


def student_seed(assignment: str, student_id) -> int:
    """The seed of a student's data for one assignment: a 64-bit integer from SHA-256.

    The ID is read as text with surrounding and repeated spaces removed and letter case
    ignored, so ``" S123 "`` and ``"s123"`` are one student; different assignments give
    one student unrelated seeds.
    """
    short = _check_assignment(assignment)
    key = f"{short}:{_normalize_id(student_id)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def student_data(assignment: str, student_id) -> pd.DataFrame:
    """The data set of one student for one assignment (the same on every call)."""
    short = _check_assignment(assignment)
    rng = np.random.default_rng(student_seed(short, student_id))
    module = importlib.import_module(f"{__name__}.{short}")
    out = module.data(rng)
    if not isinstance(out, pd.DataFrame):  # a course module's own defect, said plainly
        raise TypeError(f"helpers.course.{short}.data must return a DataFrame.")
    return out
