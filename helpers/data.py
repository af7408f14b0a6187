"""Data sets of the book: loading with checked integrity, codebooks, and the simulator.

Every data file in ``data/`` is described in ``data/datasets.toml`` (the single
source of the codebooks; ``data/README.md`` is generated from it). Loading a data
set verifies the file's SHA-256, gives every column the type the codebook
declares, and makes the grouping column categorical.

The running example of the book, pupils' popularity in school classes, is
simulated by :func:`simulate_popularity` from a two-level model whose true values
are known, so that estimates can be compared with the truth.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd

from ._validate import check_bool

__all__ = [
    "DataIntegrityError",
    "PopularitySample",
    "GROWTH_TRUTH",
    "SCHOOLS_TRUTH",
    "POPULARITY_TRUTH",
    "codebook",
    "data_dir",
    "list_datasets",
    "load_dataset",
    "simulate_popularity",
]

_TYPES = {"integer", "float", "category", "string"}


class DataIntegrityError(RuntimeError):
    """A data file differs from the one its codebook describes."""


def data_dir() -> Path:
    """The folder holding the data files.

    In order: ``HELPERS_DATA_DIR`` if set; the copy shipped inside the installed
    package (``helpers/_data``, put there when the wheel is built); the ``data/``
    folder of the repository this package is installed from (``pip install -e .``).
    Wherever the files come from, loading verifies each against its SHA-256.
    """
    env = os.environ.get("HELPERS_DATA_DIR")
    if env:
        candidates = [Path(env)]
    else:
        here = Path(__file__).resolve().parent
        candidates = [here / "_data", here.parent / "data"]
    for folder in candidates:
        if (folder / "datasets.toml").is_file():
            return folder
    raise FileNotFoundError(
        f"No data folder with a datasets.toml at {' or '.join(map(str, candidates))}. "
        f"Install the book's package with its data: `{install_line()}`; or, in a clone "
        "of the book's repository, `make setup` (or `pip install -e .`); or set "
        "HELPERS_DATA_DIR to a copy of the repository's data/ folder."
    )


def install_line() -> str:
    """The pip command that installs helpers with its data, from the book's repository."""
    try:
        urls = importlib.metadata.metadata("multilevel-book-helpers").get_all("Project-URL")
    except importlib.metadata.PackageNotFoundError:
        urls = None
    repo = next(
        (u.split(",", 1)[1].strip() for u in urls or [] if u.lower().startswith("repository")),
        "<the book's repository>",
    )
    return f'pip install "multilevel-book-helpers[student] @ git+{repo}@main"'


@lru_cache(maxsize=4)
def _registry(folder: Path) -> dict:
    with open(folder / "datasets.toml", "rb") as fh:
        return tomllib.load(fh)


def _entry(name: str) -> tuple[Path, dict]:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'popularity', not {type(name).__name__}")
    folder = data_dir()
    registry = _registry(folder)
    if name not in registry:
        raise KeyError(
            f"No data set named {name!r}. Available: {', '.join(sorted(registry))}. "
            "See hp.list_datasets() for what each holds."
        )
    return folder, registry[name]


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def list_datasets() -> pd.DataFrame:
    """Table of the data sets: name, title, rows, groups, grouping column and file."""
    registry = _registry(data_dir())
    rows = [
        {
            "name": name,
            "title": e["title"],
            "rows": e["rows"],
            "groups": e.get("groups"),
            "group": e.get("group"),
            "file": e["file"],
        }
        for name, e in registry.items()
    ]
    table = pd.DataFrame(rows).set_index("name")
    table["groups"] = table["groups"].astype("Int64")
    table["group"] = table["group"].fillna("")
    return table


def codebook(name: str) -> pd.DataFrame:
    """The variables of data set ``name``: type, unit, coding, range and description."""
    _, entry = _entry(name)
    table = pd.DataFrame(entry["variables"]).set_index("name")
    for col in ("unit", "coding", "min", "max", "levels"):
        if col not in table:
            table[col] = None
    table = table[["type", "unit", "coding", "min", "max", "levels", "description"]]
    text = ["unit", "coding", "levels"]
    table[text] = table[text].astype(object).where(table[text].notna(), "")
    return table


def load_dataset(name: str, *, verify: bool = True) -> pd.DataFrame:
    """Load data set ``name`` as a typed DataFrame.

    Parameters
    ----------
    name
        One of the names in :func:`list_datasets`, e.g. ``"popularity"``.
    verify
        Check the file's SHA-256 against the codebook (default). A changed file
        raises :class:`DataIntegrityError` that says how to restore it.

    Returns
    -------
    pandas.DataFrame
        Columns typed as the codebook declares (integers, floats, categoricals
        with the documented level order); the grouping column is categorical.
    """
    verify = check_bool(verify, "verify")
    folder, entry = _entry(name)
    path = folder / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. Restore it with `git checkout -- data/{entry['file']}`."
        )
    if verify:
        actual = sha256_of(path)
        if actual != entry["sha256"]:
            raise DataIntegrityError(
                f"data/{entry['file']} has been changed: its SHA-256 is {actual}, but the "
                f"codebook records {entry['sha256']}. Restore the original with "
                f"`git checkout -- data/{entry['file']}`"
                + (
                    f" or regenerate it with `{entry['regenerate']}`"
                    if "regenerate" in entry
                    else ""
                )
                + "."
            )
    variables = entry["variables"]
    dtypes = {}
    for var in variables:
        if var["type"] not in _TYPES:
            raise ValueError(f"codebook of {name}: unknown type {var['type']!r} for {var['name']}")
        dtypes[var["name"]] = {"integer": "int64", "float": "float64"}.get(var["type"], "string")
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    expected = [v["name"] for v in variables]
    if list(df.columns) != expected:
        raise DataIntegrityError(
            f"data/{entry['file']} has columns {list(df.columns)}; the codebook lists {expected}."
        )
    for var in variables:
        col = var["name"]
        if var["type"] == "category" or col == entry.get("group"):
            levels = var.get("levels")
            if levels is None:
                values = df[col].dropna().unique()
                levels = sorted(values, key=lambda v: (len(str(v)), str(v)))
                if var["type"] == "integer":
                    levels = sorted(values)
            df[col] = pd.Categorical(df[col], categories=levels)
        elif var["type"] == "string":
            df[col] = df[col].astype(object)
    return df


# --------------------------------------------------------------------------- simulator

#: Generating values of the running example: the final model for the popularity
#: data in Hox (2010, ch. 2) and Hox, Moerbeek & van de Schoot (2018, ch. 2),
#: estimated by ML with raw (uncentred) predictors.
POPULARITY_TRUTH = {
    "gamma": {
        "Intercept": -1.21,
        "gender": 1.24,
        "extrav": 0.80,
        "texp": 0.23,
        "extrav:texp": -0.025,
    },
    "sigma2": 0.55,
    "tau": ((0.45, -0.03), (-0.03, 0.005)),  # (intercept, extrav slope)
}


#: Generating values of the simulated growth data (``data/make_growth.py``):
#: reading score of child i at occasion t, time in years since the first planned
#: assessment, ``support`` = 1 for children in a home-reading programme:
#: score = g00 + g01 support + (g10 + g11 support) years
#:         + gamma20 (reading - 3) + u0 + u1 years + e,
#: with ``reading`` the hours of home reading a week reported at the assessment (a
#: time-varying covariate, independent of the other terms).
GROWTH_TRUTH = {
    "gamma": {"Intercept": 30.0, "support": 3.0, "years": 6.0, "years:support": 2.0},
    "sigma2": 16.0,
    "tau": ((25.0, 1.8), (1.8, 1.44)),  # (intercept, years slope)
    "reading": 1.5,  # gamma20: points per weekly hour of home reading
    "reading_centre": 3.0,  # the mean of the children's mean weekly hours
}


#: Generating values of the three-level popularity data (``data/make_schools.py``):
#: pupil i in class j of school k,
#: popular = g000 + g100 extrav + g200 gender + g010 texp + g001 program
#: + v0k + u0jk + e_ijk, with var(v0k) = sigma2_v0 (schools), var(u0jk) = sigma2_u0
#: (classes within schools) and var(e_ijk) = sigma2_e (pupils within classes).
SCHOOLS_TRUTH = {
    "gamma": {"Intercept": -1.0, "extrav": 0.8, "gender": 1.24, "texp": 0.09, "program": 0.4},
    "sigma2_e": 0.55,
    "sigma2_u0": 0.30,
    "sigma2_v0": 0.20,
}


@dataclass(frozen=True)
class PopularitySample:
    """A simulated popularity data set with the truth that generated it.

    Attributes
    ----------
    data
        One row per pupil: ``pupil, class, extrav, gender, texp, popular``.
    truth
        One row per class: ``class, n_pupils, texp, u0, u1, beta0, beta1``, where
        ``u0, u1`` are the class's true intercept and extraversion-slope deviations
        and ``beta0 = gamma_00 + gamma_01 texp + u0``, ``beta1 = gamma_10 + gamma_11
        texp + u1`` are its true intercept and extraversion slope.
    params
        The generating values (fixed effects ``gamma``, ``tau``, ``sigma2``).
    """

    data: pd.DataFrame
    truth: pd.DataFrame
    params: dict


def _check_int(name, value, low=None):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return int(value)


def _check_range(name, value, low_bound):
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (low, high) of integers, not {value!r}") from None
    lo, hi = _check_int(f"{name}[0]", lo, low_bound), _check_int(f"{name}[1]", hi, low_bound)
    if lo > hi:
        raise ValueError(f"{name} must satisfy low <= high, not {value!r}")
    return lo, hi


def simulate_popularity(
    *,
    seed: int = 20100529,
    n_classes: int = 100,
    class_size: tuple[int, int] = (16, 25),
    sizes=None,
    gamma: dict | None = None,
    tau=None,
    sigma2: float | None = None,
    texp: tuple[int, int] = (2, 25),
    extrav_mean: float = 5.2,
    extrav_sd: float = 1.3,
    p_girl: float = 0.5,
) -> PopularitySample:
    """Simulate pupils' popularity in school classes from a known two-level model.

    The model (Hox's notation) is, for pupil *i* in class *j*,

    ``popular_ij = g00 + g10 extrav_ij + g20 gender_ij + g01 texp_j + g11 extrav_ij texp_j
    + u0j + u1j extrav_ij + e_ij``

    with ``(u0j, u1j) ~ N(0, tau)`` and ``e_ij ~ N(0, sigma2)``. Defaults are the
    estimates of Hox's final model (:data:`POPULARITY_TRUTH`). Extraversion is an
    integer 1-10 (a rounded normal), gender 0 (boy) or 1 (girl), teacher
    experience a whole number of years drawn uniformly from ``texp``. Popularity is
    rounded to one decimal, like a rating, and kept on its 0-10 scale: values
    beyond are set to the bound, and their number is reported as
    ``params["n_clipped"]`` (rare with the default values).

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``: the same seed gives the same data.
    n_classes
        Number of classes (at least 2). Ignored when ``sizes`` is given.
    class_size
        Range (low, high) of class sizes, drawn uniformly.
    sizes
        Explicit class sizes (sequence of positive integers), one per class.
    gamma, tau, sigma2
        Fixed effects (keys as in :data:`POPULARITY_TRUTH`), the 2 x 2 covariance
        matrix of (intercept, extraversion slope) deviations, and the pupil-level
        residual variance.
    texp, extrav_mean, extrav_sd, p_girl
        Design of the predictors.

    Returns
    -------
    PopularitySample
        ``data`` (one row per pupil), ``truth`` (one row per class), ``params``.
    """
    seed = _check_int("seed", seed, 0)
    if sizes is None:
        n_classes = _check_int("n_classes", n_classes, 2)
        lo, hi = _check_range("class_size", class_size, 1)
    else:
        sizes = [_check_int("each class size", s, 1) for s in np.asarray(sizes).tolist()]
        if len(sizes) < 2:
            raise ValueError("sizes must list at least 2 classes")
    t_lo, t_hi = _check_range("texp", texp, 0)
    gamma = dict(POPULARITY_TRUTH["gamma"] if gamma is None else gamma)
    missing = set(POPULARITY_TRUTH["gamma"]) - set(gamma)
    extra = set(gamma) - set(POPULARITY_TRUTH["gamma"])
    if missing or extra:
        raise ValueError(
            f"gamma must have exactly the keys {sorted(POPULARITY_TRUTH['gamma'])}; "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    tau = np.asarray(POPULARITY_TRUTH["tau"] if tau is None else tau, dtype=float)
    if tau.shape != (2, 2) or not np.allclose(tau, tau.T):
        raise ValueError(f"tau must be a symmetric 2 x 2 matrix, not {tau.tolist()}")
    if np.linalg.eigvalsh(tau).min() < -1e-12:
        raise ValueError(f"tau must be positive semi-definite; {tau.tolist()} is not")
    sigma2 = POPULARITY_TRUTH["sigma2"] if sigma2 is None else sigma2
    for name, value in (
        ("sigma2", sigma2),
        ("p_girl", p_girl),
        ("extrav_mean", extrav_mean),
        ("extrav_sd", extrav_sd),
    ):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name} must be a number, not {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be a positive number, not {sigma2!r}")
    if not 0 <= p_girl <= 1:
        raise ValueError(f"p_girl must be a probability, not {p_girl!r}")
    if not extrav_sd > 0:
        raise ValueError(f"extrav_sd must be positive, not {extrav_sd!r}")

    rng = np.random.default_rng(seed)
    if sizes is None:
        sizes = rng.integers(lo, hi + 1, size=n_classes)
    sizes = np.asarray(sizes, dtype=int)
    J = len(sizes)
    texp_j = rng.integers(t_lo, t_hi + 1, size=J)
    # Random effects through the (semi-definite safe) symmetric square root of tau.
    w, v = np.linalg.eigh(tau)
    root = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    u = rng.standard_normal((J, 2)) @ root
    cls = np.repeat(np.arange(1, J + 1), sizes)
    N = int(sizes.sum())
    extrav = np.clip(np.rint(rng.normal(extrav_mean, extrav_sd, N)), 1, 10).astype(int)
    gender = (rng.random(N) < p_girl).astype(int)
    e = rng.normal(0.0, np.sqrt(sigma2), N)
    t = texp_j[cls - 1]
    g = gamma
    beta0 = g["Intercept"] + g["texp"] * texp_j + u[:, 0]
    beta1 = g["extrav"] + g["extrav:texp"] * texp_j + u[:, 1]
    y = beta0[cls - 1] + beta1[cls - 1] * extrav + g["gender"] * gender + e
    popular = np.round(y, 1)
    n_clipped = int(((popular < 0) | (popular > 10)).sum())
    popular = np.clip(popular, 0.0, 10.0)
    data = pd.DataFrame(
        {
            "pupil": np.arange(1, N + 1),
            "class": cls,
            "extrav": extrav,
            "gender": gender,
            "texp": t,
            "popular": popular,
        }
    )
    truth = pd.DataFrame(
        {
            "class": np.arange(1, J + 1),
            "n_pupils": sizes,
            "texp": texp_j,
            "u0": u[:, 0],
            "u1": u[:, 1],
            "beta0": beta0,
            "beta1": beta1,
        }
    )
    params = {
        "gamma": g,
        "tau": tau.tolist(),
        "sigma2": float(sigma2),
        "seed": seed,
        "n_clipped": n_clipped,  # pupils whose score fell outside 0-10 and was set to the bound
    }
    return PopularitySample(data=data, truth=truth, params=params)
