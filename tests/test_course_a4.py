"""helpers.course.a4: each student's data for assignment 4 (random slopes)."""

import numpy as np

import helpers as hp
from helpers.course import a4


def test_columns_design_and_repeatability():
    d = hp.student_data("a4", "s1234567")
    assert list(d.columns) == ["pupil", "class", "extrav", "gender", "texp", "popular"]
    assert d["class"].nunique() == a4.N_CLASSES
    # texp is a class-level variable; extraversion varies within classes
    assert (d.groupby("class", observed=True)["texp"].nunique() == 1).all()
    assert d.equals(hp.student_data("a4", " S1234567 "))
    assert not d.equals(hp.student_data("a4", "s7654321"))


def test_both_signs_of_the_interaction_occur_and_are_recovered():
    # The sign is drawn per student; the fitted interaction has the drawn sign for
    # these IDs (|gamma11| = 0.03 against a standard error of about 0.005).
    formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"
    signs = set()
    for sid in ("s0000000", "s1", "s2", "s3"):
        rng = np.random.default_rng(hp.student_seed("a4", sid))
        sign = int(rng.choice([-1, 1]))
        g11 = hp.fit_lmm(formula, hp.student_data("a4", sid)).fixed.loc["extrav:texp", "estimate"]
        assert np.sign(g11) == sign and abs(g11 - 0.03 * sign) < 0.015
        signs.add(sign)
    assert signs == {-1, 1}
