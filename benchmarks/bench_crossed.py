"""Time helpers.fit_lmm with several grouping factors against lme4, mixedlm and statsmodels.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_crossed.py
    .venv/bin/python benchmarks/bench_crossed.py --models crossed --statsmodels-cap 300

Two simulated data sets, written to CSV so that every implementation fits identical
numbers, each fitted by REML in its own process:

- ``crossed``: InstEval's shape (lme4's ratings of lecturers by students): 70,000
  ratings, ~3,000 students (s) and ~1,100 lecturers (d) crossed, and the lecturer's
  department (dept, 14 levels): ``y ~ x + (1 | s) + (1 | d) + (1 | dept)``;
- ``nested``: 100,000 pupils in 5,000 classes in 500 schools, classes numbered
  within their school: ``y ~ x + (1 | school/class)``.

The time is the wall time of the fit alone (model matrices included, reading the CSV
not), with its CPU time beside it (on a busy machine the wall time of every
implementation grows with the load); the memory is the peak resident set size of
the fitting process. Every worker runs with ``OPENBLAS_NUM_THREADS=1`` (R's lme4
uses its own BLAS, single-threaded; ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``RAYON_NUM_THREADS`` are 1 too): on a shared 2-core machine threads wait for busy
cores. The load average is printed at the start and the end.

mixedlm (``mixedlm.lmer``, a Rust backend; the ``bench`` extra of pyproject.toml,
``pip install -e '.[bench]'``; said and skipped when not installed) fits both models
from the same formula by REML. statsmodels' ``MixedLM`` fits the nested model
(groups = schools, classes as a variance component) and is stopped after
``--statsmodels-cap`` seconds; crossed factors need one group holding every row,
whose dense design of 70,000 x 4,100 columns (2.3 GB) it is not given. The last
column compares the criterion (REML) and the variance components with helpers'.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _rscript import have_lme4, run_child, run_lme4

THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",  # mixedlm's Rust backend
)

FORMULAS = {
    "crossed": "y ~ x + (1 | s) + (1 | d) + (1 | dept)",
    "nested": "y ~ x + (1 | school/class)",
}


def simulate(model: str, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if model == "crossed":
        n, S, D, K = 70_000, 3_000, 1_100, 14
        s = rng.integers(0, S, n)
        d = (rng.zipf(1.3, n) + rng.integers(0, D, n)) % D  # some lecturers rated often
        dept = d % K
        x = rng.normal(size=n)
        y = (
            3.0
            + 0.1 * x
            + 0.3 * rng.normal(size=S)[s]
            + 0.5 * rng.normal(size=D)[d]
            + 0.1 * rng.normal(size=K)[dept]
            + rng.normal(size=n)
        )
        return pd.DataFrame({"s": s, "d": d, "dept": dept, "x": x, "y": y})
    n, schools = 100_000, 500
    school = rng.integers(0, schools, n)
    klass = rng.integers(1, 11, n)  # numbered within the school
    x = rng.normal(size=n)
    y = (
        10.0
        + 0.5 * x
        + rng.normal(size=schools)[school]
        + 0.7 * rng.normal(size=(schools, 11))[school, klass]
        + 2.0 * rng.normal(size=n)
    )
    return pd.DataFrame({"school": school, "class": klass, "x": x, "y": y})


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ----------------------------------------------------------------------------- workers


def worker_helpers(model: str, csv: str) -> dict:
    import warnings

    import helpers as hp

    df = pd.read_csv(csv)
    start, cpu = time.perf_counter(), _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hp.SingularFitWarning)
        m = hp.fit_lmm(FORMULAS[model], df)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    vc = m.varcorr
    return {
        "seconds": seconds,
        "cpu": cpu,
        "deviance": m.deviance,
        "vcov": dict(zip(vc.grp, vc.vcov, strict=True)),
        "converged": m.converged,
        "evals": m.n_evals,
    }


def mixedlm_missing() -> str | None:
    """Why the mixedlm worker cannot run (None if it can)."""
    from importlib.util import find_spec

    if find_spec("mixedlm") is None:
        return "mixedlm not installed: pip install -e '.[bench]' (pyproject.toml pins the version)"
    return None


def worker_mixedlm(model: str, csv: str) -> dict:
    """mixedlm's lmer (Rust backend): the same formula, REML, the same CSV."""
    from importlib.metadata import version

    import mixedlm

    df = pd.read_csv(csv)
    start, cpu = time.perf_counter(), _cpu()
    r = mixedlm.lmer(FORMULAS[model], df, REML=True)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    vc = r.VarCorr()
    vcov = {name: float(next(iter(g.variance.values()))) for name, g in vc.groups.items()}
    vcov["Residual"] = float(vc.residual)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "deviance": float(r.REMLcrit()),
        "vcov": vcov,
        "converged": bool(r.converged),
        "evals": int(r.function_evals),
        "version": version("mixedlm"),
    }


def worker_statsmodels(model: str, csv: str) -> dict:
    import warnings

    import statsmodels.formula.api as smf

    df = pd.read_csv(csv).rename(columns={"class": "klass"})  # "class" is a Python keyword
    start, cpu = time.perf_counter(), _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = smf.mixedlm(
            "y ~ x", df, groups=df["school"], re_formula="1", vc_formula={"class": "0 + C(klass)"}
        ).fit(reml=True)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "deviance": -2 * float(r.llf),
        "vcov": {
            "school": float(np.asarray(r.cov_re)[0, 0]),
            "class:school": float(np.asarray(r.vcomp)[0]),
            "Residual": float(r.scale),
        },
        "converged": bool(r.converged),
    }


R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
for (v in intersect(c("s", "d", "dept", "school", "class"), names(d))) d[[v]] <- factor(d[[v]])
t0 <- proc.time()
m <- lmer(as.formula(args[2]), data = d, REML = TRUE)
t <- proc.time() - t0
vc <- as.data.frame(VarCorr(m))
cat(toJSON(list(seconds = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]],
                deviance = REMLcrit(m), vcov = as.list(setNames(vc$vcov, vc$grp)),
                converged = length(m@optinfo$conv$lme4$messages) == 0,
                evals = m@optinfo$feval),
           auto_unbox = TRUE, digits = NA))
"""


def agree(a: dict, b: dict) -> str:
    # "school:class" (mixedlm) and "class:school" (lme4, helpers) are one factor
    va, vb = ({":".join(sorted(k.split(":"))): v for k, v in r["vcov"].items()} for r in (a, b))
    keys = sorted(set(va) & set(vb))
    rel = max(abs(va[k] - vb[k]) / abs(vb[k]) for k in keys)
    return f"criterion {a['deviance'] - b['deviance']:+.1e}, variances {rel:.1e}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark fit_lmm with several factors.")
    parser.add_argument("--models", nargs="+", choices=list(FORMULAS), default=list(FORMULAS))
    parser.add_argument("--statsmodels-cap", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--worker", choices=["helpers", "statsmodels", "mixedlm"], help=argparse.SUPPRESS
    )
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        work = {"helpers": worker_helpers, "statsmodels": worker_statsmodels}.get(
            args.worker, worker_mixedlm
        )
        print(json.dumps(work(args.model, args.csv)))
        return 0

    for var in THREAD_VARS:  # inherited by every worker: one thread each
        os.environ[var] = "1"
    have_r = have_lme4()
    no_mixedlm = mixedlm_missing()
    print(f"lme4: {'Rscript found' if have_r else 'Rscript with lme4 not found: skipped'}")
    print(f"mixedlm: {no_mixedlm or 'installed'}")
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rscript = Path(tmp) / "fit.R"
        rscript.write_text(R_SCRIPT)
        for model in args.models:
            df = simulate(model)
            csv = str(Path(tmp) / f"{model}.csv")
            df.to_csv(csv, index=False)
            me = [sys.executable, str(Path(__file__).resolve()), "--model", model]
            me += ["--csv", csv, "--worker"]
            res = {"helpers": run_child(me + ["helpers"], None)}
            res["lme4"] = run_lme4(rscript, csv, FORMULAS[model], have_r=have_r)
            if no_mixedlm:
                res["mixedlm"] = {"skipped": no_mixedlm}
            else:
                res["mixedlm"] = run_child(me + ["mixedlm"], None)
            if model == "nested":
                res["statsmodels"] = run_child(me + ["statsmodels"], args.statsmodels_cap)
            else:
                res["statsmodels"] = {"skipped": "crossed factors: one dense 70,000 x 4,100 design"}
            base = res["helpers"]
            for tool, r in res.items():
                label = f"{model} ({len(df):,} rows)"
                if "skipped" in r:
                    rows.append(f"| {label} | {tool} | - | - | - | - | - | {r['skipped']} |")
                    continue
                note = "" if tool == "helpers" else agree(r, base)
                if "version" in r:
                    note = f"{tool} {r['version']}; {note}"
                if not r["converged"]:
                    note = "NOT CONVERGED; " + note
                rows.append(
                    f"| {label} | {tool} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
                    f"{r.get('evals', '-')} | {r['peak_mb']:.0f} | "
                    f"{r['seconds'] / base['seconds']:.1f}x / {r['cpu'] / base['cpu']:.1f}x / "
                    f"{r['peak_mb'] / base['peak_mb']:.2f}x | {note} |"
                )
    print(
        "| model | implementation | wall (s) | CPU (s) | evaluations | peak memory (MB) "
        "| wall / CPU / memory vs helpers | agreement with helpers |"
    )
    print("|" + "---|" * 8)
    print("\n".join(rows))
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
