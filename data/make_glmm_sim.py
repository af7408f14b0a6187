"""Regenerate the simulated binary and count data sets bit for bit.

Run from the repository root: ``python data/make_glmm_sim.py``. It writes

* ``sim_binary.csv``: 60 groups of 4-60 members, a 0/1 outcome from a logistic
  model with a random intercept and a random slope (generating values below);
* ``sim_counts.csv``: 50 groups of 5-40 members, a Poisson count with an exposure
  time (log link, offset log(exposure)) and, from the same groups, a binomial
  number of successes out of 1-20 trials (logit link);

and prints their SHA-256, which ``data/datasets.toml`` records. Only numpy's
``default_rng`` (PCG64) with fixed seeds is used, and every number is written with
a fixed format, so the files are the same on every machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers.data import sha256_of  # noqa: E402

SEED_BINARY = 20260113
SEED_COUNTS = 20260114

# Generating values (the "truth") of the binary data: logit P(y = 1) =
# b0 + b1 x + b2 z + u0_j + u1_j x, (u0_j, u1_j) ~ N(0, TAU_BINARY).
BETA_BINARY = (-0.5, 0.8, 0.6)  # intercept, x (level 1), z (level 2, 0/1)
TAU_BINARY = ((0.8, 0.1), (0.1, 0.2))

# Counts: log E(count) = log(exposure) + c0 + c1 x + v_j, v_j ~ N(0, SIGMA2_COUNTS).
BETA_COUNTS = (-1.0, 0.5)
SIGMA2_COUNTS = 0.3
# Successes out of trials: logit P = d0 + d1 x + w_j, w_j ~ N(0, SIGMA2_TRIALS).
BETA_TRIALS = (0.3, -0.7)
SIGMA2_TRIALS = 0.5


def simulate_binary(seed: int = SEED_BINARY) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    J = 60
    sizes = rng.integers(4, 61, J)
    z = rng.integers(0, 2, J)
    u = rng.multivariate_normal(np.zeros(2), np.array(TAU_BINARY), size=J, method="cholesky")
    g = np.repeat(np.arange(1, J + 1), sizes)
    x = np.round(rng.normal(0.0, 1.0, g.size), 3)
    b0, b1, b2 = BETA_BINARY
    eta = b0 + b1 * x + b2 * z[g - 1] + u[g - 1, 0] + u[g - 1, 1] * x
    y = (rng.random(g.size) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"id": np.arange(1, g.size + 1), "group": g, "x": x, "z": z[g - 1], "y": y})


def simulate_counts(seed: int = SEED_COUNTS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    J = 50
    sizes = rng.integers(5, 41, J)
    v = rng.normal(0.0, np.sqrt(SIGMA2_COUNTS), J)
    w = rng.normal(0.0, np.sqrt(SIGMA2_TRIALS), J)
    g = np.repeat(np.arange(1, J + 1), sizes)
    x = np.round(rng.normal(0.0, 1.0, g.size), 3)
    exposure = np.round(rng.uniform(0.5, 10.0, g.size), 2)
    c0, c1 = BETA_COUNTS
    count = rng.poisson(exposure * np.exp(c0 + c1 * x + v[g - 1]))
    trials = rng.integers(1, 21, g.size)
    d0, d1 = BETA_TRIALS
    p = 1.0 / (1.0 + np.exp(-(d0 + d1 * x + w[g - 1])))
    successes = rng.binomial(trials, p)
    return pd.DataFrame(
        {
            "id": np.arange(1, g.size + 1),
            "group": g,
            "x": x,
            "exposure": exposure,
            "count": count,
            "trials": trials,
            "successes": successes,
        }
    )


def write(frame: pd.DataFrame, stem: str, folder: Path = HERE) -> Path:
    path = folder / f"{stem}.csv"
    out = frame.copy()
    for col, fmt in (("x", "{:.3f}"), ("exposure", "{:.2f}")):
        if col in out:
            out[col] = out[col].map(fmt.format)
    out.to_csv(path, index=False, lineterminator="\n")
    return path


def main() -> int:
    for frame, stem in ((simulate_binary(), "sim_binary"), (simulate_counts(), "sim_counts")):
        path = write(frame, stem)
        n_groups = frame["group"].nunique()
        print(f"{path.name}: {len(frame)} rows in {n_groups} groups, sha256 {sha256_of(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
