"""Seeded random-slope GLMM data sets for the boundary test of fit_glmm (issue 26).

Run from the repository root:   .venv/bin/python tests/reference/make_glmm_boundary_data.py
Writes tests/reference/glmm_boundary_data.csv.gz, which
tests/reference/make_glmm_boundary.R fits with lme4::glmer and
tests/test_glmm_boundary.py with hp.fit_glmm, so both sides read identical numbers
(x is rounded to 4 decimals before anything is computed from it).

With ``--estimates`` it also writes tests/reference/glmm_boundary_helpers.csv:
hp.fit_glmm's theta and beta for every data set, which the R script evaluates with
its independent Laplace evaluator to confirm, where glmer ends lower, that it is
glmer that stopped short (the test never reads this file: it fits afresh).

Every data set is ``y ~ x + (1 + x | g)`` with a correlated random intercept and
slope, data set ``i`` drawn from ``numpy.random.default_rng(SEED0 + i)``. Five
outcome kinds (Bernoulli logit and probit, cbind() logit and probit with 1-20
trials per row, Poisson log) in turn, and three regimes of the truth in turn:

* ``small_j``: 6-12 groups of 5-12 rows;
* ``large_j``: 40-50 groups of 4-5 rows;
* ``near_singular``: 8-30 groups of 5-14 rows, a slope SD of 0.01-0.08 or a
  correlation of +/-(0.95-0.99).

Set number ``N_SETS`` (regime ``issue_26``) is the reproducer of issue 26 (cbind
probit data on which fit_glmm once stopped on a false boundary).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

SEED0 = 26_000
N_SETS = 210
KINDS = [
    ("bernoulli", "logit"),
    ("bernoulli", "probit"),
    ("cbind", "logit"),
    ("cbind", "probit"),
    ("poisson", "log"),
]
REGIMES = ["small_j", "large_j", "near_singular"]
OUT = Path(__file__).parent / "glmm_boundary_data.csv.gz"


def one(i: int) -> pd.DataFrame:
    rng = np.random.default_rng(SEED0 + i)
    kind, link = KINDS[i % len(KINDS)]
    regime = REGIMES[(i // len(KINDS)) % len(REGIMES)]
    if regime == "small_j":
        J, m = int(rng.integers(6, 13)), int(rng.integers(5, 13))
    elif regime == "large_j":
        J, m = int(rng.integers(40, 51)), int(rng.integers(4, 6))
    else:
        J, m = int(rng.integers(8, 31)), int(rng.integers(5, 15))
    sd0, sd1, rho = rng.uniform(0.2, 1.0), rng.uniform(0.05, 0.6), rng.uniform(-0.8, 0.8)
    if regime == "near_singular":
        if rng.uniform() < 0.5:
            sd1 = rng.uniform(0.01, 0.08)
        else:
            rho = rng.choice([-1.0, 1.0]) * rng.uniform(0.95, 0.99)
    g = np.repeat(np.arange(1, J + 1), m)
    x = np.round(rng.normal(size=J * m), 4)
    L = np.linalg.cholesky([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    b = rng.normal(size=(J, 2)) @ L.T
    eta = 0.1 + 0.5 * x + b[g - 1, 0] + b[g - 1, 1] * x
    if kind == "poisson":
        n = np.ones(J * m, dtype=int)
        y = rng.poisson(np.exp(0.5 + eta))
    else:
        p = scipy.special.expit(eta) if link == "logit" else scipy.stats.norm.cdf(0.6 * eta)
        n = rng.integers(1, 21, J * m) if kind == "cbind" else np.ones(J * m, dtype=int)
        y = rng.binomial(n, p)
    return pd.DataFrame(
        {"set": i, "kind": kind, "link": link, "regime": regime, "g": g, "x": x, "n": n, "y": y}
    )


def issue_26() -> pd.DataFrame:
    """The reproducer of issue 26, drawn exactly as the issue draws it (x not rounded)."""
    rng = np.random.default_rng(1012)
    J, m = int(rng.integers(8, 30)), int(rng.integers(5, 15))
    g = np.repeat(np.arange(1, J + 1), m)
    x = rng.normal(size=J * m)
    n = rng.integers(1, 21, J * m)
    sd0, sd1, rho = rng.uniform(0.2, 1.0), rng.uniform(0.05, 0.6), rng.uniform(-0.8, 0.8)
    L = np.linalg.cholesky([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    b = rng.normal(size=(J, 2)) @ L.T
    eta = 0.6 * (0.1 + 0.5 * x + b[g - 1, 0] + b[g - 1, 1] * x)
    y = rng.binomial(n, scipy.stats.norm.cdf(eta))
    return pd.DataFrame(
        {"set": N_SETS, "kind": "cbind", "link": "probit", "regime": "issue_26", "g": g, "x": x,
         "n": n, "y": y}
    )  # fmt: skip


def formula(kind: str) -> str:
    lhs = "cbind(y, n - y)" if kind == "cbind" else "y"
    return f"{lhs} ~ x + (1 + x | g)"


def fit(d: pd.DataFrame):
    """hp.fit_glmm of one data set (warnings about singular fits silenced)."""
    import warnings

    import helpers as hp

    kind, link = d["kind"].iat[0], d["link"].iat[0]
    family = "poisson" if kind == "poisson" else "binomial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        return hp.fit_glmm(formula(kind), d, family=family, link=link)


def main(estimates: bool) -> None:
    data = pd.concat([*(one(i) for i in range(N_SETS)), issue_26()], ignore_index=True)
    data.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"{OUT}: {N_SETS} data sets and the reproducer of issue 26, {len(data)} rows")
    if estimates:
        rows = []
        for i, d in data.groupby("set"):
            m = fit(d)
            beta = m.fixed["estimate"].to_numpy()
            rows.append([int(i), *m.theta, *beta, m.loglik])
        est = pd.DataFrame(rows, columns=["set", "t1", "t2", "t3", "b0", "b1", "loglik"])
        path = OUT.with_name("glmm_boundary_helpers.csv")
        est.to_csv(path, index=False, float_format="%.17g")
        print(f"{path}: estimates of {len(est)} fits")


if __name__ == "__main__":
    import sys

    main("--estimates" in sys.argv[1:])
