"""helpers.course.a5: each student's data for assignment 5 (shrinkage)."""

import warnings

import numpy as np
import pytest

import helpers as hp
from helpers.course import a5, student_seed

MODEL = "log_radon ~ uranium + (1 | county)"


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


# An outside reading of the assignment found a REML county variance of 0 for these IDs
# (of s1000..s1024) before samples were redrawn on the score ratio.
SINGULAR_BEFORE = ["s1000", "s1001", "s1009", "s1015", "s1022"]


@pytest.mark.parametrize("student", SINGULAR_BEFORE)
def test_a_singular_first_draw_is_drawn_again(student):
    rng = np.random.default_rng(student_seed("a5", student))
    first = a5._draw(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the singular fit's warning is the point
        tau_first = hp.fit_lmm(MODEL, first).tau.iloc[0, 0]
    assert tau_first < 1e-8
    assert a5.score_ratio(first) <= 1  # a REML score <= 0 at the boundary
    d = hp.student_data("a5", student)
    assert a5.score_ratio(d) > a5.S_MIN
    assert hp.fit_lmm(MODEL, d).tau.iloc[0, 0] > 0.005


@pytest.mark.parametrize("student", ["s0000000", "shared", "z9876543", "s1102", "s1023"])
def test_the_county_variance_is_clearly_positive(student):
    # s1102 and s1023 had the smallest REML variances of s1000..s1199 (0.0075, 0.0080)
    assert hp.fit_lmm(MODEL, hp.student_data("a5", student)).tau.iloc[0, 0] > 0.005


def test_score_ratio_is_the_reml_slope_at_zero():
    # The ratio exceeds 1 exactly when the REML log-likelihood rises from a county
    # variance of 0: checked against a finite difference of the profiled REML
    # log-likelihood computed here from its closed form (V = s2 (I + t ZZ')).
    d = hp.student_data("a5", "s1234567")
    x = np.column_stack([np.ones(len(d)), d["uranium"].to_numpy(float)])
    y = d["log_radon"].to_numpy(float)
    z = np.eye(a5.N_COUNTIES)[d["county"].cat.codes.to_numpy()]

    def reml(t, s2):
        v = s2 * (np.eye(len(d)) + t * z @ z.T)
        vi = np.linalg.inv(v)
        b = np.linalg.solve(x.T @ vi @ x, x.T @ vi @ y)
        r = y - x @ b
        return -0.5 * (np.linalg.slogdet(v)[1] + np.linalg.slogdet(x.T @ vi @ x)[1] + r @ vi @ r)

    b = np.linalg.lstsq(x, y, rcond=None)[0]
    s2 = (y - x @ b) @ (y - x @ b) / (len(d) - 2)
    h = 1e-5  # a central difference (V stays positive definite at t = -h)
    slope = (reml(h, s2) - reml(-h, s2)) / (2 * h)  # per unit of tau / s2
    p = np.eye(len(d)) - x @ np.linalg.solve(x.T @ x, x.T)
    tr = np.trace(z.T @ p @ z)
    # d/dt at 0 = (r'ZZ'r / s2 - tr(Z'PZ)) / 2 = tr(Z'PZ) (S - 1) / 2
    assert slope == pytest.approx(tr * (a5.score_ratio(d) - 1) / 2, rel=1e-4)
