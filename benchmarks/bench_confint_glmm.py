"""Time GlmmFit.confint(method="profile") against lme4's confint(glmer fit) in one run.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_confint_glmm.py
    .venv/bin/python benchmarks/bench_confint_glmm.py --models ch9 ri   # a quicker run

Models on the contraception data (data/contraception.csv, 1,934 women in 60
districts; chapter 9's data), by the Laplace approximation unless said:

    ch9:    use ~ age + urban + (1 | district)                 (chapter 9's model)
    ri:     use ~ age + urban + livch + (1 | district)
    agq20:  the same, adaptive Gauss-Hermite quadrature with 20 points
    rs:     use ~ age + urban + livch + (1 + urban | district)  (random slope)

Each side fits the model once (not timed) and then times the 95% profile intervals
of every parameter: helpers in this process (``fit.confint()``), lme4 in an
Rscript process (``confint(fit, method = "profile")`` with glmer's default
settings, timed inside R with ``proc.time()``). Agreement is the largest relative
difference of the interval ends (lme4 reads its ends off a spline through its
profile points; for the random-slope model it warns that the correlation's spline
is bad and interpolates linearly, so that row is reported separately).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _rscript import have_lme4

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "ch9": ("use ~ age + urban + (1 | district)", 1),
    "ri": ("use ~ age + urban + livch + (1 | district)", 1),
    "agq20": ("use ~ age + urban + livch + (1 | district)", 20),
    "rs": ("use ~ age + urban + livch + (1 + urban | district)", 1),
}

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
d$use <- factor(d$use, levels = c("N", "Y")); d$urban <- factor(d$urban, levels = c("N", "Y"))
d$livch <- factor(d$livch, levels = c("0", "1", "2", "3+"))
m <- glmer(as.formula(args[2]), data = d, family = binomial, nAGQ = as.integer(args[3]))
t0 <- proc.time()[["elapsed"]]
ci <- suppressWarnings(suppressMessages(confint(m, method = "profile", oldNames = FALSE)))
secs <- proc.time()[["elapsed"]] - t0
cat(toJSON(list(seconds = secs, parameter = rownames(ci), lower = unname(ci[, 1]),
                upper = unname(ci[, 2])), auto_unbox = TRUE, digits = NA))
"""


def ours(formula: str, nagq: int):
    import helpers as hp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hp.fit_glmm(formula, hp.load_dataset("contraception"), nagq=nagq)
    start = time.perf_counter()
    ci = fit.confint(method="profile")
    return time.perf_counter() - start, ci


def lme4(rscript: Path, formula: str, nagq: int) -> dict:
    csv = str(ROOT / "data" / "contraception.csv")
    out = subprocess.run(
        ["Rscript", str(rscript), csv, formula, str(nagq)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def lme4_order(ci, r: dict) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Our ends in lme4's row order (lme4 lists sd, cor, sd within a block)."""
    fixed = [p for p in ci.index if not p.startswith(("sd(", "cor("))]
    random = [p for p in ci.index if p.startswith(("sd(", "cor("))]
    n_random = len(random)
    # lme4's random-part order for one block of two terms: sd_1, cor_21, sd_2.
    if n_random == 3:
        random = [random[0], random[2], random[1]]
    rows = random + fixed
    assert len(rows) == len(r["parameter"])
    is_cor = [p.startswith("cor(") for p in rows]
    return ci.loc[rows, "ci_lower"].to_numpy(), ci.loc[rows, "ci_upper"].to_numpy(), is_cor


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Profile intervals of a GLMM: helpers vs lme4.")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args(argv)
    have_r = have_lme4()
    print(f"lme4: {'Rscript found' if have_r else 'Rscript with lme4 not found: skipped'}\n")
    print(
        "| model | formula | nAGQ | helpers (s) | lme4 (s) | lme4 / helpers "
        "| max rel. diff. of the ends | correlation's ends |"
    )
    print("|" + "---|" * 8)
    with tempfile.TemporaryDirectory() as tmp:
        rscript = Path(tmp) / "profile.R"
        rscript.write_text(R_SCRIPT)
        for key in args.models:
            formula, nagq = MODELS[key]
            t_ours, ci = ours(formula, nagq)
            if not have_r:
                print(f"| {key} | `{formula}` | {nagq} | {t_ours:.2f} | - | - | - | - |")
                continue
            r = lme4(rscript, formula, nagq)
            lo, hi, is_cor = lme4_order(ci, r)
            ref = np.concatenate([r["lower"], r["upper"]])
            rel = np.abs(np.concatenate([lo, hi]) - ref) / np.abs(ref)
            mask = np.concatenate([is_cor, is_cor])
            cor = f"{rel[mask].max():.1e}" if mask.any() else "-"
            print(
                f"| {key} | `{formula.replace('|', chr(92) + '|')}` | {nagq} | {t_ours:.2f} "
                f"| {r['seconds']:.1f} | {r['seconds'] / t_ours:.0f}x | {rel[~mask].max():.1e} "
                f"| {cor} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
