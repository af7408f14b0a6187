"""Regenerate the simulated growth data files bit for bit.

Run from the repository root: ``python data/make_growth.py``. It writes

* ``growth.csv``: reading scores of 160 children, measured on up to six planned
  occasions (0, 0.5, 1, 2, 3 and 4 years after the start of the study), each
  measured a little early or late, with missed occasions and dropout, and the
  hours of home reading a week the child reported at each assessment (``reading``,
  a time-varying covariate);
* ``growth_truth.csv``: each child's true intercept and growth rate, and the mean
  around which their reported reading varies;

and prints their SHA-256, which ``data/datasets.toml`` records. The generating
values are ``helpers.data.GROWTH_TRUTH``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers.data import GROWTH_TRUTH, sha256_of  # noqa: E402

SEED = 20260712
N_CHILDREN = 160
PLANNED = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)  # years after the start: unequally spaced
P_DROPOUT = 0.10  # after each occasion, the chance of leaving the study for good
P_MISSED = 0.10  # the chance of missing one occasion (not the first) and coming back
JITTER = 0.15  # an assessment is up to this many years early or late
READING_SD_CHILD = 0.8  # SD of the children's mean weekly hours of home reading
READING_SD_OCCASION = 1.2  # SD of an occasion's report around the child's mean


def simulate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The occasions (one row per child and occasion) and the children's true values."""
    rng = np.random.default_rng(seed)
    # The time-varying covariate has its own stream, so the draws of the occasions,
    # random effects and residuals are those of the data before it was added.
    rng_reading = np.random.default_rng([seed, 1])
    delta, centre = GROWTH_TRUTH["reading"], GROWTH_TRUTH["reading_centre"]
    g = GROWTH_TRUTH["gamma"]
    tau = np.array(GROWTH_TRUTH["tau"])
    sigma = np.sqrt(GROWTH_TRUTH["sigma2"])
    support = rng.permutation(np.repeat([0, 1], N_CHILDREN // 2))
    u = rng.multivariate_normal(np.zeros(2), tau, size=N_CHILDREN)
    rows, truth = [], []
    for i in range(N_CHILDREN):
        beta0 = g["Intercept"] + g["support"] * support[i] + u[i, 0]
        beta1 = g["years"] + g["years:support"] * support[i] + u[i, 1]
        reading_mean = centre + rng_reading.normal(0, READING_SD_CHILD)
        n = 0
        for wave, planned in enumerate(PLANNED, start=1):
            if wave > 1 and rng.random() < P_MISSED:
                missed = True
            else:
                missed = False
            shift = rng.uniform(0, JITTER) if wave == 1 else rng.uniform(-JITTER, JITTER)
            e = rng.normal(0, sigma)
            hours = reading_mean + rng_reading.normal(0, READING_SD_OCCASION)
            reading = max(0.0, round(2 * hours) / 2)  # reported to the half hour
            if not missed:
                years = round(planned + shift, 2)
                score = round(beta0 + beta1 * years + delta * (reading - centre) + e, 1)
                rows.append((i + 1, wave, years, int(support[i]), reading, score))
                n += 1
            if rng.random() < P_DROPOUT:
                break
        truth.append((i + 1, int(support[i]), n, u[i, 0], u[i, 1], beta0, beta1, reading_mean))
    data = pd.DataFrame(rows, columns=["child", "wave", "years", "support", "reading", "score"])
    truth = pd.DataFrame(
        truth,
        columns=[
            "child",
            "support",
            "n_occasions",
            "u0",
            "u1",
            "beta0",
            "beta1",
            "reading_mean",
        ],
    )
    return data, truth


def write(folder: Path = HERE) -> list[Path]:
    data, truth = simulate()
    data["years"] = data["years"].map("{:.2f}".format)
    data["reading"] = data["reading"].map("{:.1f}".format)
    data["score"] = data["score"].map("{:.1f}".format)
    for col in ("u0", "u1", "beta0", "beta1", "reading_mean"):
        truth[col] = truth[col].map("{:.6f}".format)
    paths = [folder / "growth.csv", folder / "growth_truth.csv"]
    data.to_csv(paths[0], index=False, lineterminator="\n")
    truth.to_csv(paths[1], index=False, lineterminator="\n")
    return paths


def main() -> int:
    for path in write():
        print(f"{path.name}: sha256 {sha256_of(path)}")
    data, truth = simulate()
    print(
        f"  {len(data)} occasions of {len(truth)} children; occasions per child "
        f"{truth['n_occasions'].min()}-{truth['n_occasions'].max()}; "
        f"years {data['years'].min():.2f}-{data['years'].max():.2f}; "
        f"scores {data['score'].min():.1f}-{data['score'].max():.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
