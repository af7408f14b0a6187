"""Time helpers.fit_lmm with AR(1) residuals against nlme::lme in one run.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_residuals.py                  # 10,000 persons x 6
    .venv/bin/python benchmarks/bench_residuals.py --persons 2000 10000

For each size it simulates a growth model -- occasions 0..5 for every person, a
random intercept and slope, AR(1) residuals with phi = 0.5 -- writes it to CSV so
that both implementations fit identical numbers, and fits

    y ~ time + x + (time | id)   with AR(1) residuals over time within id

by REML with each implementation in its own process: helpers
(``hp.fit_lmm(..., residuals=hp.AR1(time="time"))``) and nlme
(``lme(y ~ time + x, random = ~ time | id, correlation = corAR1(form = ~ time | id))``).
The time is the wall time of the fit alone (reading the CSV not); the memory is the
peak resident set size of the fitting process. It prints the times, their ratio to
helpers, and the log-likelihoods and phi of both, so that the speed is shown at the
same optimum.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _rscript import run_child

OCCASIONS = 6
PHI = 0.5


def simulate(persons: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(OCCASIONS), persons)
    g = np.repeat(np.arange(persons), OCCASIONS)
    x = rng.normal(size=t.size)
    u = rng.multivariate_normal([0, 0], [[1.0, 0.1], [0.1, 0.2]], size=persons)
    e = np.empty((persons, OCCASIONS))
    e[:, 0] = rng.normal(size=persons)
    for k in range(1, OCCASIONS):  # stationary AR(1) with unit variance
        e[:, k] = PHI * e[:, k - 1] + np.sqrt(1 - PHI**2) * rng.normal(size=persons)
    y = 2.0 + 0.5 * t + 0.3 * x + u[g, 0] + u[g, 1] * t + e.reshape(-1)
    return pd.DataFrame({"id": g, "time": t, "x": x.round(6), "y": y.round(6)})


def worker_helpers(csv: str) -> dict:
    import helpers as hp

    data = pd.read_csv(csv)
    start = time.perf_counter()
    m = hp.fit_lmm("y ~ time + x + (time | id)", data, residuals=hp.AR1(time="time"))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "loglik": m.loglik,
        "phi": float(m.residual_params["phi"]),
        "fixed": m.beta.tolist(),
    }


NLME = r"""
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
d <- read.csv(commandArgs(TRUE)[1])
start <- proc.time()[["elapsed"]]
m <- lme(y ~ time + x, random = ~ time | id, data = d, method = "REML",
         correlation = corAR1(form = ~ time | id))
seconds <- proc.time()[["elapsed"]] - start
cat(toJSON(list(seconds = seconds, loglik = as.numeric(logLik(m)),
                phi = unname(coef(m$modelStruct$corStruct, unconstrained = FALSE)),
                fixed = unname(fixef(m))), digits = NA, auto_unbox = TRUE), "\n")
"""


def have_nlme() -> bool:
    return (
        shutil.which("Rscript") is not None
        and subprocess.run(["Rscript", "-e", "library(nlme)"], capture_output=True).returncode == 0
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000])
    parser.add_argument("--worker", choices=["helpers"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker_helpers(args.csv)))
        return 0
    have_r = have_nlme()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rscript = Path(tmp) / "fit_nlme.R"
        rscript.write_text(NLME)
        for persons in args.persons:
            csv = str(Path(tmp) / f"growth_{persons}.csv")
            simulate(persons).to_csv(csv, index=False)
            me = [sys.executable, str(Path(__file__).resolve()), "--csv", csv, "--worker"]
            res = {"helpers": run_child(me + ["helpers"], None)}
            res["nlme"] = (
                run_child(["Rscript", str(rscript), csv], None)
                if have_r
                else {"skipped": "Rscript with nlme not installed"}
            )
            base = res["helpers"]
            for name, r in res.items():
                if "skipped" in r:
                    rows.append({"persons": persons, "implementation": name, "note": r["skipped"]})
                    continue
                rows.append(
                    {
                        "persons": persons,
                        "rows": persons * OCCASIONS,
                        "implementation": name,
                        "fit time (s)": round(r["seconds"], 2),
                        "peak memory (MB)": round(r["peak_mb"]),
                        "time / helpers": f"{r['seconds'] / base['seconds']:.1f}x",
                        "REML log-likelihood": f"{r['loglik']:.6f}",
                        "phi": f"{r['phi']:.6f}",
                        "loglik - helpers'": f"{r['loglik'] - base['loglik']:+.2e}",
                        "max fixed rel. diff.": f"{np.max(np.abs(np.subtract(r['fixed'], base['fixed'])) / np.abs(base['fixed'])):.1e}",
                    }
                )
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, disable_numparse=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
