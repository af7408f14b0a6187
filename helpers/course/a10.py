"""Assignment 10 (three levels and cross-classification): pupils in classes in
secondary schools, who came from primary schools.

Every student gets one simulated cohort with a known truth, one row per pupil:

- ``school`` (``"S01"``, ...), the secondary school; ``class`` (1, 2, ...), the
  class, **numbered within its school** (class 1 of S01 and class 1 of S02 are two
  classes); ``texp``, the years of experience of the class's teacher;
- ``primary`` (``"P01"``, ...), the primary school the pupil came from. Primary
  schools are crossed with secondary schools, but not at random: most pupils of a
  secondary school come from its two feeder primary schools (``P_FEEDER``), the
  others from any primary school;
- ``score``, a test score drawn from

  score = gamma_0 + gamma_texp * texp + u_school + u_class + v_primary + e

  with independent normal effects whose variances (``S2_SCHOOL``, ``S2_CLASS``,
  ``S2_PRIMARY``, ``S2_E``) are drawn for the student from the ranges below.

So a model of pupils in classes in schools alone (chapter 10's three levels) fits,
and the cross-classified model shows what that model attributes to the secondary
school that belongs to the primary school.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Secondary schools in every student's data; each has 2 to 5 classes of 12 to 24
#: pupils, and two feeder primary schools of its own.
N_SCHOOLS = 30
CLASSES_PER_SCHOOL = (2, 5)
CLASS_SIZE = (12, 24)
N_PRIMARY = 2 * N_SCHOOLS

#: Probability that a pupil comes from one of the two feeder primary schools of the
#: pupil's secondary school (otherwise from any of the primary schools, uniformly).
P_FEEDER = 0.8

#: The fixed effects: mean score (at texp = 0) and the effect of a year of teacher
#: experience; texp is drawn uniformly from 1 to 30 years.
GAMMA_0 = 50.0
GAMMA_TEXP = 0.2
TEXP_RANGE = (1, 30)

#: Ranges (inclusive) from which each student's variance components are drawn, in
#: squared score points; the pupil-level variance is the same for everyone.
S2_SCHOOL = (8.0, 16.0)
S2_CLASS = (8.0, 16.0)
S2_PRIMARY = (8.0, 16.0)
S2_E = 64.0


def truth(rng: np.random.Generator) -> dict:
    """The student's variance components (the first draws of ``data``)."""
    return {
        "school": float(rng.uniform(*S2_SCHOOL)),
        "class": float(rng.uniform(*S2_CLASS)),
        "primary": float(rng.uniform(*S2_PRIMARY)),
        "residual": S2_E,
    }


def data(rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``pupil, school, class, primary, texp, score`` (one row per pupil)."""
    s2 = truth(rng)
    n_classes = rng.integers(CLASSES_PER_SCHOOL[0], CLASSES_PER_SCHOOL[1] + 1, N_SCHOOLS)
    school = np.repeat(np.arange(N_SCHOOLS), n_classes)  # one entry per class
    klass = np.concatenate([np.arange(1, k + 1) for k in n_classes])
    texp = rng.integers(TEXP_RANGE[0], TEXP_RANGE[1] + 1, len(school))
    size = rng.integers(CLASS_SIZE[0], CLASS_SIZE[1] + 1, len(school))
    u_school = rng.normal(0.0, np.sqrt(s2["school"]), N_SCHOOLS)
    u_class = rng.normal(0.0, np.sqrt(s2["class"]), len(school))
    v_primary = rng.normal(0.0, np.sqrt(s2["primary"]), N_PRIMARY)
    # pupils: their class, school, and primary school (feeders 2s and 2s + 1)
    c = np.repeat(np.arange(len(school)), size)
    s = school[c]
    n = len(c)
    feeder = 2 * s + rng.integers(0, 2, n)
    anywhere = rng.integers(0, N_PRIMARY, n)
    p = np.where(rng.random(n) < P_FEEDER, feeder, anywhere)
    e = rng.normal(0.0, np.sqrt(s2["residual"]), n)
    label = rng.permutation(N_PRIMARY)  # the feeders' labels say nothing of their school
    score = GAMMA_0 + GAMMA_TEXP * texp[c] + u_school[s] + u_class[c] + v_primary[p] + e
    return pd.DataFrame(
        {
            "pupil": np.arange(1, n + 1),
            "school": [f"S{k + 1:02d}" for k in s],
            "class": klass[c],
            "primary": [f"P{k + 1:02d}" for k in label[p]],
            "texp": texp[c],
            "score": np.round(score, 1),
        }
    )
