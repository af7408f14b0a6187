"""Regenerate the simulated popularity data files bit for bit.

Run from the repository root: ``python data/make_popularity.py``. It writes

* ``popularity.csv`` and ``popularity_truth.csv``: 100 classes of 16-25 pupils;
* ``popularity_small.csv`` and ``popularity_small_truth.csv``: 50 classes of
  very unequal size (15 of them with 2-5 pupils), for the shrinkage chapter;

and prints their SHA-256, which ``data/datasets.toml`` records.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers.data import sha256_of, simulate_popularity  # noqa: E402

SEED_MAIN = 20100529
SEED_SMALL = 20100530


def small_class_sizes(seed: int = SEED_SMALL) -> np.ndarray:
    """Fifteen classes of 2-5 pupils, twenty of 6-15, fifteen of 16-30."""
    rng = np.random.default_rng(seed + 1000)
    return np.concatenate(
        [rng.integers(2, 6, 15), rng.integers(6, 16, 20), rng.integers(16, 31, 15)]
    )


def write(sample, stem: str, folder: Path = HERE) -> list[Path]:
    data = sample.data.copy()
    data["popular"] = data["popular"].map("{:.1f}".format)
    truth = sample.truth.copy()
    for col in ("u0", "u1", "beta0", "beta1"):
        truth[col] = truth[col].map("{:.6f}".format)
    paths = [folder / f"{stem}.csv", folder / f"{stem}_truth.csv"]
    data.to_csv(paths[0], index=False, lineterminator="\n")
    truth.to_csv(paths[1], index=False, lineterminator="\n")
    return paths


def main() -> int:
    main_sample = simulate_popularity(seed=SEED_MAIN)
    small_sample = simulate_popularity(seed=SEED_SMALL, sizes=small_class_sizes())
    for sample, stem in ((main_sample, "popularity"), (small_sample, "popularity_small")):
        for path in write(sample, stem):
            print(f"{path.name}: sha256 {sha256_of(path)}")
        print(
            f"  {len(sample.data)} pupils in {len(sample.truth)} classes; "
            f"scores set to the 0-10 bound: {sample.params['n_clipped']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
