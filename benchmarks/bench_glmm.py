"""Time helpers.fit_glmm against lme4's glmer and statsmodels in one run.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_glmm.py                  # the table in README.md
    .venv/bin/python benchmarks/bench_glmm.py --rows 10000     # a quicker run

Simulated binary data in groups of 10 rows (a level-1 predictor ``x``, a 0/1
group-level predictor ``w``, a random intercept of variance 1 and, for the
random-slope model, a slope variance of 0.25), written to CSV so that every
implementation reads identical numbers. Models, by the Laplace approximation:

    y ~ x + w + (1 | g)          at each size in --rows
    y ~ x + w + (1 + x | g)      at 100,000 rows (--slope-rows)

Each implementation runs in its own process: helpers (``fit_glmm``, standard
errors included), lme4 (``glmer`` with its default settings, timed inside R with
``proc.time()``; it also computes its Hessian for the standard errors by default)
and statsmodels' ``BinomialBayesMixedGLM.fit_vb`` (variational Bayes: it has no
likelihood, so only its fixed effects are compared), stopped after --cap seconds.
The time is the wall time of the fit alone (reading the CSV not included); the
memory is the peak resident set size of the process. At --memory-rows (10^6) only
helpers runs, for its peak memory. Agreement is reported as the log-likelihood
difference to lme4 (helpers minus lme4; positive: helpers found a higher
likelihood) and the largest relative difference of the fixed effects.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _rscript import have_lme4, run_child, run_lme4

GROUP_SIZE = 10
RI = "y ~ x + w + (1 | g)"
RS = "y ~ x + w + (1 + x | g)"


def simulate(n_rows: int, slope: bool, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    J = n_rows // GROUP_SIZE
    g = np.repeat(np.arange(J), GROUP_SIZE)
    x = rng.normal(size=n_rows)
    w = rng.integers(0, 2, J)
    u0 = rng.normal(0.0, 1.0, J)
    u1 = rng.normal(0.0, 0.5, J) if slope else np.zeros(J)
    eta = -0.5 + 0.7 * x + 0.5 * w[g] + u0[g] + u1[g] * x
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"g": g, "x": x, "w": w[g], "y": y})


# ----------------------------------------------------------------------------- workers


def worker_helpers(csv: str, formula: str) -> dict:
    import helpers as hp

    df = pd.read_csv(csv)
    start = time.perf_counter()
    m = hp.fit_glmm(formula, df, family="binomial")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "fixed": m.fixed["estimate"].tolist(),
        "loglik": m.loglik,
        "converged": m.converged,
    }


def worker_statsmodels(csv: str, formula: str) -> dict:
    import warnings

    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    df = pd.read_csv(csv)
    vc = {"g": "0 + C(g)"}
    if "1 + x" in formula:
        vc["gx"] = "0 + C(g):x"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = BinomialBayesMixedGLM.from_formula("y ~ x + w", vc, df).fit_vb()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "fixed": np.asarray(r.fe_mean).tolist(), "converged": True}


R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$g <- factor(d$g)
t0 <- proc.time()[["elapsed"]]
m <- glmer(as.formula(args[2]), data = d, family = binomial)
secs <- proc.time()[["elapsed"]] - t0
cat(toJSON(list(seconds = secs, fixed = unname(fixef(m)), loglik = as.numeric(logLik(m)),
                converged = length(m@optinfo$conv$lme4$messages) == 0),
           auto_unbox = TRUE, digits = NA))
"""


def agree(r: dict, base: dict) -> str:
    fx = np.max(
        np.abs(np.subtract(r["fixed"], base["fixed"])) / np.maximum(np.abs(base["fixed"]), 1e-8)
    )
    text = f"fixed {fx:.1e}"
    if "loglik" in r:
        text += f", loglik helpers - this {base['loglik'] - r['loglik']:+.1e}"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark fit_glmm against glmer and statsmodels."
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--slope-rows", type=int, nargs="*", default=[100_000])
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--cap", type=float, default=600.0, help="seconds for statsmodels")
    parser.add_argument("--worker", choices=["helpers", "statsmodels"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--formula", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        fn = worker_helpers if args.worker == "helpers" else worker_statsmodels
        print(json.dumps(fn(args.csv, args.formula)))
        return 0

    have_r = have_lme4()
    print(f"lme4: {'Rscript found' if have_r else 'Rscript with lme4 not found: skipped'}\n")
    jobs = [(n, RI, True) for n in args.rows] + [(n, RS, True) for n in args.slope_rows]
    jobs += [(n, RI, False) for n in args.memory_rows]
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        rscript = Path(tmp) / "fit.R"
        rscript.write_text(R_SCRIPT)
        for n, formula, others in jobs:
            csv = str(Path(tmp) / f"sim_{n}_{formula == RS}.csv")
            simulate(n, slope=formula == RS).to_csv(csv, index=False)
            me = [sys.executable, __file__, "--csv", csv, "--formula", formula, "--worker"]
            res = {"helpers": run_child(me + ["helpers"], None)}
            if others:
                res["lme4"] = run_lme4(rscript, csv, formula, have_r=have_r)
                res["statsmodels VB"] = run_child(me + ["statsmodels"], args.cap)
            else:
                res["lme4"] = {"skipped": "not run at this size (memory row: helpers only)"}
            base = res["helpers"]
            for tool, r in res.items():
                label = (n, n // GROUP_SIZE, formula, tool)
                if "skipped" in r:
                    rows_out.append((*label, None, None, None, None, r["skipped"]))
                    continue
                note = "" if tool == "helpers" else agree(r, base)
                if not r["converged"]:
                    note = "NOT CONVERGED; " + note
                rows_out.append(
                    (
                        *label,
                        r["seconds"],
                        r["peak_mb"],
                        r["seconds"] / base["seconds"],
                        r["peak_mb"] / base["peak_mb"],
                        note,
                    )
                )
            print(f"done: {n:,} rows, {formula}", file=sys.stderr, flush=True)
    print(
        "| rows | groups | model | implementation | fit time (s) | peak memory (MB) "
        "| time / helpers | memory / helpers | agreement with helpers |"
    )
    print("|" + "---|" * 9)
    for n, J, formula, tool, t, mb, rt, rm, note in rows_out:
        formula = formula.replace("|", "\\|")  # a literal bar inside a Markdown table
        if t is None:
            print(f"| {n:,} | {J:,} | `{formula}` | {tool} | - | - | - | - | {note} |")
        else:
            print(
                f"| {n:,} | {J:,} | `{formula}` | {tool} | {t:.2f} | {mb:.0f} | {rt:.1f}x "
                f"| {rm:.2f}x | {note} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
