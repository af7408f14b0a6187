"""Assignment 1: blood pressure of patients in clinics of very unequal size.

Simulated with a known truth: ``J`` clinics (40 to 55) whose sizes follow a skewed
(log-normal) distribution between 3 and 90 patients, a random intercept per clinic
and independent patients within clinics. The intraclass correlation is drawn per
student between 0.10 and 0.30; the total variance is ``TOTAL_SD**2``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The population mean of systolic blood pressure (mmHg) and its total standard deviation.
GRAND_MEAN = 128.0
TOTAL_SD = 15.0
#: The range of the true intraclass correlation.
RHO_RANGE = (0.10, 0.30)


def truth(rng: np.random.Generator) -> dict:
    """The true clinic sizes, intraclass correlation and variances of one data set."""
    n_clinics = int(rng.integers(40, 56))
    sizes = np.clip(np.round(rng.lognormal(np.log(14), 0.9, n_clinics)), 3, 90)
    rho = float(rng.uniform(*RHO_RANGE))
    tau2 = rho * TOTAL_SD**2
    return {"sizes": sizes.astype(int), "rho": rho, "tau2": tau2, "sigma2": TOTAL_SD**2 - tau2}


def data(rng: np.random.Generator) -> pd.DataFrame:
    """One student's patients: ``clinic`` (C01, C02, ...) and ``sbp`` (mmHg)."""
    t = truth(rng)
    sizes = t["sizes"]
    u = rng.normal(0.0, np.sqrt(t["tau2"]), len(sizes))
    clinic = np.repeat(np.arange(len(sizes)), sizes)
    e = rng.normal(0.0, np.sqrt(t["sigma2"]), len(clinic))
    names = np.array([f"C{j + 1:02d}" for j in range(len(sizes))])
    return pd.DataFrame({"clinic": names[clinic], "sbp": np.round(GRAND_MEAN + u[clinic] + e, 1)})
