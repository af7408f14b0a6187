"""Time helpers.fit_lmm against lme4 and statsmodels' MixedLM in one run.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_lmm.py                 # 1e4, 1e5, 1e6 rows
    .venv/bin/python benchmarks/bench_lmm.py --rows 10000 100000 --statsmodels-cap 600
    .venv/bin/python benchmarks/bench_lmm.py --baseline /path/to/older/checkout --repeat 5

For each size it simulates a random-slope data set with three correlated random
effects (intercept and two slopes) in groups of 50 rows, writes it to CSV so that
every implementation fits identical numbers, and fits

    y ~ x1 + x2 + z + (1 + x1 + x2 | g)

by REML with each implementation in its own process: helpers, lme4 (if ``Rscript``
with lme4 is installed) and statsmodels MixedLM (killed after ``--statsmodels-cap``
seconds, and not started at sizes where it would take many minutes). The time is
the wall time of the fit alone (model matrices included, reading the CSV not); the
memory is the peak resident set size of the fitting process. It checks that the
estimates agree and prints the times and memory with their ratios to helpers.

``--baseline DIR`` adds the ``helpers`` package of another checkout (an older
version, say) as a fourth implementation, fitted on the same files in the same run,
so that a change can be shown not to slow the large fits down. ``--repeat N`` fits N
times in each helpers process and reports the median time (the first fit included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _rscript import have_lme4, run_child, run_lme4

FORMULA = "y ~ x1 + x2 + z + (1 + x1 + x2 | g)"
GROUP_SIZE = 50
TAU = np.array([[1.0, 0.3, -0.2], [0.3, 0.5, 0.1], [-0.2, 0.1, 0.25]])
STATSMODELS_MAX_ROWS = 100_000  # beyond this MixedLM runs for many minutes


def simulate(n_rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    J = n_rows // GROUP_SIZE
    g = np.repeat(np.arange(J), GROUP_SIZE)
    x1, x2 = rng.normal(size=n_rows), rng.normal(size=n_rows)
    z = rng.normal(size=J)
    u = rng.multivariate_normal(np.zeros(3), TAU, size=J)
    y = (
        1.0
        + 0.5 * x1
        - 0.3 * x2
        + 0.4 * z[g]
        + u[g, 0]
        + u[g, 1] * x1
        + u[g, 2] * x2
        + rng.normal(size=n_rows)
    )
    return pd.DataFrame({"g": g, "x1": x1, "x2": x2, "z": z[g], "y": y})


# ----------------------------------------------------------------------------- workers


def worker_helpers(csv: str, repeat: int = 1) -> dict:
    import helpers as hp

    df = pd.read_csv(csv)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        m = hp.fit_lmm(FORMULA, df)
        times.append(time.perf_counter() - start)
    return {
        "seconds": float(np.median(times)),
        "fixed": m.fixed["estimate"].tolist(),
        "tau": m.tau.to_numpy().ravel().tolist(),
        "sigma2": m.sigma2,
        "deviance": m.deviance,
        "converged": m.converged,
    }


def worker_statsmodels(csv: str) -> dict:
    import warnings

    import statsmodels.formula.api as smf

    df = pd.read_csv(csv)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = smf.mixedlm("y ~ x1 + x2 + z", df, groups=df["g"], re_formula="~x1 + x2").fit(reml=True)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "fixed": np.asarray(r.fe_params).tolist(),
        "tau": np.asarray(r.cov_re).ravel().tolist(),
        "sigma2": float(r.scale),
        "deviance": -2 * float(r.llf),
        "converged": bool(r.converged),
    }


R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$g <- factor(d$g)
t0 <- proc.time()[["elapsed"]]
m <- lmer(y ~ x1 + x2 + z + (1 + x1 + x2 | g), data = d, REML = TRUE)
secs <- proc.time()[["elapsed"]] - t0
vc <- as.matrix(VarCorr(m)$g)
cat(toJSON(list(seconds = secs, fixed = unname(fixef(m)), tau = as.vector(vc),
                sigma2 = sigma(m)^2, deviance = REMLcrit(m),
                converged = length(m@optinfo$conv$lme4$messages) == 0),
           auto_unbox = TRUE, digits = NA))
"""


def agree(a: dict, b: dict) -> str:
    fx = np.max(np.abs(np.subtract(a["fixed"], b["fixed"])) / np.maximum(np.abs(b["fixed"]), 1e-8))
    tau = np.max(np.abs(np.subtract(a["tau"], b["tau"]))) / np.max(np.abs(b["tau"]))
    return f"fixed {fx:.1e}, tau {tau:.1e}, deviance {a['deviance'] - b['deviance']:+.1e}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark fit_lmm against lme4 and MixedLM.")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--statsmodels-cap", type=float, default=900.0, help="seconds")
    parser.add_argument(
        "--baseline", metavar="DIR", help="a checkout whose helpers package is timed as well"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="fits per helpers process (median reported)"
    )
    parser.add_argument("--worker", choices=["helpers", "statsmodels"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.baseline and not (Path(args.baseline) / "helpers" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: no helpers package there")
    if args.worker:
        if args.worker == "helpers":
            print(json.dumps(worker_helpers(args.csv, args.repeat)))
        else:
            print(json.dumps(worker_statsmodels(args.csv)))
        return 0

    have_r = have_lme4()
    print(f"Model: {FORMULA} (REML), groups of {GROUP_SIZE} rows")
    print(f"lme4: {'Rscript found' if have_r else 'Rscript with lme4 not found: skipped'}\n")
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        rscript = Path(tmp) / "fit.R"
        rscript.write_text(R_SCRIPT)
        for n in args.rows:
            csv = str(Path(tmp) / f"sim_{n}.csv")
            simulate(n).to_csv(csv, index=False)
            me = [sys.executable, str(Path(__file__).resolve()), "--csv", csv]
            me += ["--repeat", str(args.repeat), "--worker"]
            res = {"helpers": run_child(me + ["helpers"], None)}
            if args.baseline:
                # The baseline's package comes first on the path; the worker runs
                # from "/" so that the current directory's package is not found.
                env = dict(os.environ, PYTHONPATH=str(Path(args.baseline).resolve()))
                res["helpers (baseline)"] = run_child(me + ["helpers"], None, env=env)
            res["lme4"] = run_lme4(rscript, csv, have_r=have_r)
            if n > STATSMODELS_MAX_ROWS:
                res["statsmodels"] = {
                    "skipped": f"not run above {STATSMODELS_MAX_ROWS:,} rows (many minutes)"
                }
            else:
                res["statsmodels"] = run_child(me + ["statsmodels"], args.statsmodels_cap)
            base = res["helpers"]
            for tool, r in res.items():
                if "skipped" in r:
                    rows_out.append(
                        (n, n // GROUP_SIZE, tool, None, None, None, None, r["skipped"])
                    )
                    continue
                ratio_t = r["seconds"] / base["seconds"]
                ratio_m = r["peak_mb"] / base["peak_mb"]
                note = "" if tool == "helpers" else agree(r, base)
                if not r["converged"]:
                    note = "NOT CONVERGED; " + note
                rows_out.append(
                    (n, n // GROUP_SIZE, tool, r["seconds"], r["peak_mb"], ratio_t, ratio_m, note)
                )
    header = "| rows | groups | implementation | fit time (s) | peak memory (MB) | time / helpers | memory / helpers | agreement with helpers (max rel. diff.) |"
    print(header)
    print("|" + "---|" * 8)
    for n, J, tool, t, mb, rt, rm, note in rows_out:
        if t is None:
            print(f"| {n:,} | {J:,} | {tool} | - | - | - | - | {note} |")
        else:
            print(
                f"| {n:,} | {J:,} | {tool} | {t:.2f} | {mb:.0f} | {rt:.1f}x | {rm:.2f}x | {note} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
