"""Assignment 4 (random slopes): pupils in school classes, from a known model.

Each student gets 40 classes of 16-25 pupils simulated by
:func:`helpers.simulate_popularity` with a cross-level interaction whose sign is
drawn for the student: with ``SIGN = -1`` extraversion matters less in the classes
of experienced teachers (as in Hox's data), with ``SIGN = +1`` it matters more. The
class slopes also vary beyond what teacher experience explains (``TAU``), so a
model without the random slope misstates the interaction's standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import simulate_popularity

#: Number of classes in every student's data.
N_CLASSES = 40

#: The fixed effects for each sign of the cross-level interaction ``extrav:texp``.
#: In both, the extraversion slope is 0 inside the teacher experience range
#: (2-25 years; at 23 and at 4 years), so that a Johnson-Neyman boundary falls in it.
GAMMA = {
    -1: {"Intercept": -1.2, "gender": 1.24, "extrav": 0.69, "texp": 0.23, "extrav:texp": -0.03},
    +1: {"Intercept": 2.0, "gender": 1.24, "extrav": -0.12, "texp": 0.05, "extrav:texp": 0.03},
}

#: Covariance of the class intercept and extraversion-slope deviations, and the
#: pupil-level residual variance.
TAU = ((0.5, -0.04), (-0.04, 0.03))
SIGMA2 = 0.55


def data(rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``pupil, class, extrav, gender, texp, popular`` (one row per pupil)."""
    sign = int(rng.choice([-1, 1]))
    sample = simulate_popularity(
        seed=int(rng.integers(2**31)),
        n_classes=N_CLASSES,
        gamma=GAMMA[sign],
        tau=TAU,
        sigma2=SIGMA2,
    )
    return sample.data
