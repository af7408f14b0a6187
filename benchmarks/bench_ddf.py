"""Time Satterthwaite and Kenward-Roger degrees of freedom against lmerTest and pbkrtest.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_ddf.py                  # book's model and 1e5 rows
    .venv/bin/python benchmarks/bench_ddf.py --rows 20000 --repeat 20

Two models, each fitted by REML on identical data (written to CSV for R):

* the running example's final model, ``popular ~ extrav + gender + texp + extrav:texp +
  (1 + extrav | class)`` (2000 pupils in 100 classes);
* a simulated random-slope model ``y ~ x * z + (1 + x | g)`` with ``--rows`` rows in
  groups of 50.

For helpers it times a fit alone, the Satterthwaite table of a fresh fit
(``m.fixed``: everything the df need, computed from the fit) and the Kenward-Roger
table (``m.wald(ddf="kenward-roger")``), each the median of ``--repeat`` runs. In R,
in the same run: ``lmer`` alone, lmerTest's Satterthwaite pieces
(``as_lmerModLmerTest``, numerical Hessian and Jacobian) with its summary table, and
pbkrtest's ``vcovAdj`` with ``get_Lb_ddf`` for each coefficient (lmerTest's
``summary(ddf = "Kenward-Roger")``). pbkrtest builds the dense n x n covariance of the
data, so it is run only where n is at most ``--kr-max-rows`` (default 5000). The df of
both are printed side by side (their largest relative difference) with the ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import helpers as hp

POP = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"
SIM = "y ~ x * z + (1 + x | g)"

R_CODE = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest);
                                library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); form <- as.formula(args[2]); repeats <- as.integer(args[3])
kr <- as.logical(args[4])
med <- function(f) { t <- numeric(repeats); for (i in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]; r <- f(); t[i] <- proc.time()[["elapsed"]] - t0 }
  list(time = median(t), value = r) }
fit <- med(function() lme4::lmer(form, data = d, REML = TRUE))
m <- fit$value
satt <- med(function() coef(summary(lmerTest::as_lmerModLmerTest(m))))
out <- list(fit = fit$time, satt = satt$time, satt_df = unname(satt$value[, "df"]))
if (kr) {
  lt <- lmerTest::as_lmerModLmerTest(m)
  krt <- med(function() coef(summary(lt, ddf = "Kenward-Roger")))
  out$kr <- krt$time; out$kr_df <- unname(krt$value[, "df"])
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def simulate(n_rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    J = n_rows // 50
    g = np.repeat(np.arange(J), 50)
    x = rng.normal(size=n_rows)
    z = rng.normal(size=J)
    u = rng.multivariate_normal([0, 0], [[1.0, 0.2], [0.2, 0.3]], size=J)
    y = 1 + 0.5 * x + 0.3 * z[g] - 0.2 * x * z[g] + u[g, 0] + u[g, 1] * x + rng.normal(size=n_rows)
    return pd.DataFrame({"y": y, "x": x, "z": z[g], "g": g})


def median_time(f, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), value


def bench_helpers(formula: str, data: pd.DataFrame, repeat: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.fit_lmm(formula, data)  # warm-up (imports, formula caches)
        fit_t, _ = median_time(lambda: hp.fit_lmm(formula, data), repeat)
        fits = [hp.fit_lmm(formula, data) for _ in range(repeat)]
        it = iter(fits)
        satt_t, satt = median_time(lambda: next(it).fixed, repeat)
        fits = [hp.fit_lmm(formula, data) for _ in range(repeat)]
        it = iter(fits)
        kr_t, kr = median_time(lambda: next(it).wald(ddf="kenward-roger"), repeat)
    return {
        "fit": fit_t,
        "satt": satt_t,
        "satt_df": satt["df"].to_numpy(),
        "kr": kr_t,
        "kr_df": kr["df"].to_numpy(),
    }


def bench_r(formula: str, data: pd.DataFrame, repeat: int, kr: bool) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "data.csv", Path(tmp) / "bench.R"
        data.to_csv(csv, index=False)
        script.write_text(R_CODE)
        res = subprocess.run(
            ["Rscript", str(script), str(csv), formula, str(repeat), "TRUE" if kr else "FALSE"],
            capture_output=True,
            text=True,
            check=False,
        )
    if res.returncode != 0:
        print(f"R failed: {res.stderr[-500:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout)


def report(name: str, ours: dict, r: dict | None) -> None:
    ms = 1e3
    print(f"\n{name}")
    print(
        f"  helpers: fit {ours['fit'] * ms:8.2f} ms   Satterthwaite {ours['satt'] * ms:8.2f} ms "
        f"({ours['satt'] / ours['fit']:.0%} of a fit)   Kenward-Roger {ours['kr'] * ms:8.2f} ms"
    )
    if r is None:
        print("  R: not available")
        return
    print(
        f"  R:       lmer {r['fit'] * ms:8.1f} ms   lmerTest {r['satt'] * ms:8.1f} ms "
        f"(x{r['satt'] / ours['satt']:.0f} of helpers' Satterthwaite)",
        end="",
    )
    if "kr" in r:
        print(f"   pbkrtest {r['kr'] * ms:8.1f} ms (x{r['kr'] / ours['kr']:.0f} of helpers' KR)")
    else:
        print("   pbkrtest: not run (dense n x n covariance; see --kr-max-rows)")
    d = np.max(np.abs(ours["satt_df"] / np.asarray(r["satt_df"]) - 1))
    print(f"  Satterthwaite df, largest relative difference to lmerTest: {d:.1e}")
    if "kr" in r:
        d = np.max(np.abs(ours["kr_df"] / np.asarray(r["kr_df"]) - 1))
        print(f"  Kenward-Roger df, largest relative difference to pbkrtest: {d:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--kr-max-rows", type=int, default=5000)
    args = ap.parse_args()
    cases = [
        ("popularity, final model (2000 rows, 100 classes)", POP, hp.load_dataset("popularity")),
        (f"simulated, {SIM} ({args.rows} rows, groups of 50)", SIM, simulate(args.rows)),
    ]
    for name, formula, data in cases:
        ours = bench_helpers(formula, data, args.repeat)
        r = bench_r(formula, data, max(1, min(args.repeat, 3)), len(data) <= args.kr_max_rows)
        report(name, ours, r)


if __name__ == "__main__":
    main()
