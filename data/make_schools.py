"""Regenerate the three-level popularity data (pupils in classes in schools) bit for bit.

Run from the repository root: ``python data/make_schools.py``. It writes

* ``schools.csv``: pupils in 2-4 classes in each of 50 schools, with the
  predictors of the running example (extraversion, gender, teacher experience)
  and a school-level one (a school-wide social-skills programme);
* ``schools_truth.csv``: each class's true class and school effects;

and prints their SHA-256, which ``data/datasets.toml`` records. The generating
values are ``helpers.data.SCHOOLS_TRUTH``. Classes are numbered within their
school (1, 2, ...), as school records number them: class 1 of school 3 and class
1 of school 4 are different classes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers.data import SCHOOLS_TRUTH, sha256_of  # noqa: E402

SEED = 20261208
N_SCHOOLS = 50
CLASSES = (2, 4)  # classes per school, uniform
PUPILS = (16, 25)  # pupils per class, uniform


def simulate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pupils (one row each) and the classes' true effects (one row per class)."""
    rng = np.random.default_rng(seed)
    g = SCHOOLS_TRUTH["gamma"]
    program = rng.permutation(np.repeat([0, 1], N_SCHOOLS // 2))
    v = rng.normal(0.0, np.sqrt(SCHOOLS_TRUTH["sigma2_v0"]), N_SCHOOLS)
    rows, truth = [], []
    pupil = 0
    for k in range(N_SCHOOLS):
        for j in range(1, rng.integers(CLASSES[0], CLASSES[1] + 1) + 1):
            u = rng.normal(0.0, np.sqrt(SCHOOLS_TRUTH["sigma2_u0"]))
            texp = int(rng.integers(2, 26))
            n = int(rng.integers(PUPILS[0], PUPILS[1] + 1))
            extrav = np.clip(np.rint(rng.normal(5.2, 1.3, n)), 1, 10).astype(int)
            gender = (rng.random(n) < 0.5).astype(int)
            e = rng.normal(0.0, np.sqrt(SCHOOLS_TRUTH["sigma2_e"]), n)
            mean = g["Intercept"] + g["texp"] * texp + g["program"] * program[k] + v[k] + u
            y = mean + g["extrav"] * extrav + g["gender"] * gender + e
            for i in range(n):
                pupil += 1
                rows.append(
                    (pupil, k + 1, j, int(extrav[i]), int(gender[i]), texp, int(program[k]), y[i])
                )
            truth.append((k + 1, j, n, texp, int(program[k]), v[k], u))
    data = pd.DataFrame(
        rows,
        columns=["pupil", "school", "class", "extrav", "gender", "texp", "program", "popular"],
    )
    data["popular"] = np.clip(np.round(data["popular"], 1), 0.0, 10.0)
    truth = pd.DataFrame(
        truth, columns=["school", "class", "n_pupils", "texp", "program", "v0", "u0"]
    )
    return data, truth


def write(folder: Path = HERE) -> list[Path]:
    data, truth = simulate()
    data["popular"] = data["popular"].map("{:.1f}".format)
    for col in ("v0", "u0"):
        truth[col] = truth[col].map("{:.6f}".format)
    paths = [folder / "schools.csv", folder / "schools_truth.csv"]
    data.to_csv(paths[0], index=False, lineterminator="\n")
    truth.to_csv(paths[1], index=False, lineterminator="\n")
    return paths


def main() -> int:
    for path in write():
        print(f"{path.name}: sha256 {sha256_of(path)}")
    data, truth = simulate()
    raw = data["popular"]
    print(
        f"  {len(data)} pupils in {len(truth)} classes of {truth['school'].nunique()} "
        f"schools; popularity {raw.min():.1f}-{raw.max():.1f}; extraversion "
        f"{data['extrav'].min()}-{data['extrav'].max()}; u0 {truth['u0'].min():.3f} to "
        f"{truth['u0'].max():.3f}; v0 {truth['v0'].min():.3f} to {truth['v0'].max():.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
