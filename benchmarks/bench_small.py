"""Time helpers at the book's own scale against lme4 and statsmodels, in one run.

Usage (from the repository root, in the book's environment)::

    .venv/bin/python benchmarks/bench_small.py                  # all models, 1,000 refits
    .venv/bin/python benchmarks/bench_small.py --reps 31 --refits 200

It benchmarks whatever ``helpers`` Python imports, so the same script measures an
older version too (``PYTHONPATH=/path/to/old/checkout .venv/bin/python
benchmarks/bench_small.py``).

For each of the book's models (the running example's final and empty models,
sleepstudy, the High School and Beyond slopes-as-outcomes and null models, radon),
fitted by REML, it prints

- latency: the median wall time of one fit from the DataFrame (model matrices
  included) over ``--reps`` fits, for helpers, for lme4 (``lmer`` timed inside R
  over the same number of fits, so R's start-up is not counted) and for
  statsmodels ``MixedLM`` (over ``--sm-reps`` fits, default optimiser);
- deviance evaluations per fit: helpers (counted) and lme4 (``optinfo$feval``);
- the criterion: helpers' REML criterion minus lme4's optimum with tight
  tolerances (tests/reference/lme4_reference.json), and minus lme4's default fit
  of this run;
- throughput: the time of 1,000 fits to new outcomes simulated from the model
  (a parametric bootstrap), ``m.refit(y)`` in helpers (a fresh ``fit_lmm`` if the
  installed helpers has no ``refit``) and ``refit(m, y)`` in lme4, measured over
  ``--refits`` fits and scaled to 1,000. statsmodels has no refit: its column is
  1,000 times its latency;
- the wall and CPU time of ``hp.bootstrap`` (1,000 replicates of the running
  example's final model), if the installed helpers has it.
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

import helpers as hp

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "lme4_reference.json"

# (label, data set, formula, grouping column, statsmodels re_formula, reference key)
MODELS = [
    (
        "popularity final",
        "popularity",
        "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)",
        "class",
        "~extrav",
        "pop_final_reml",
    ),
    (
        "popularity empty",
        "popularity",
        "popular ~ 1 + (1 | class)",
        "class",
        None,
        "pop_null_reml",
    ),
    (
        "sleepstudy",
        "sleepstudy",
        "Reaction ~ Days + (Days | Subject)",
        "Subject",
        "~Days",
        "sleep_corr_reml",
    ),
    (
        "HSB slopes as outcomes",
        "hsb",
        "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + (1 + cses | school)",
        "school",
        "~cses",
        "hsb_rb_reml",
    ),
    ("HSB null", "hsb", "mAch ~ 1 + (1 | school)", "school", None, "hsb_null_reml"),
    (
        "radon",
        "radon",
        "log_radon ~ floor + (1 | county)",
        "county",
        None,
        "radon_floor_reml",
    ),
]

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(args[2])
group <- args[3]
reps <- as.integer(args[4]); refits <- as.integer(args[5])
d[[group]] <- factor(d[[group]])
if ("sector" %in% names(d)) d$sector <- factor(d$sector, levels = c("Public", "Catholic"))
ctrl <- lmerControl(check.conv.singular = "ignore")
m <- lmer(f, data = d, control = ctrl)  # warm-up
t <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  m <- lmer(f, data = d, control = ctrl)
  t[i] <- proc.time()[["elapsed"]] - t0
}
set.seed(1)
ys <- simulate(m, nsim = refits)
t0 <- proc.time()[["elapsed"]]
for (k in seq_len(refits)) r <- refit(m, ys[[k]])
t_refit <- proc.time()[["elapsed"]] - t0
cat(toJSON(list(seconds = median(t), feval = m@optinfo$feval, criterion = REMLcrit(m),
                refit_seconds = t_refit), auto_unbox = TRUE, digits = NA))
"""


class EvaluationCounter:
    """Counts calls of the engine's deviance evaluation (whichever version is installed)."""

    def __init__(self):
        self.count = 0
        self.target = None
        for module_name, attr in (("helpers._pls", "solve_pls"), ("helpers.lmm", "_pls")):
            try:
                module = __import__(module_name, fromlist=[attr])
            except ImportError:
                continue
            if hasattr(module, attr):
                self.target = (module, attr, getattr(module, attr))
                break

    def __enter__(self):
        if self.target:
            module, attr, real = self.target

            def counted(*args, **kwargs):
                self.count += 1
                return real(*args, **kwargs)

            setattr(module, attr, counted)
        return self

    def __exit__(self, *exc):
        if self.target:
            module, attr, real = self.target
            setattr(module, attr, real)


def simulate_outcomes(m, df, n: int, seed: int) -> np.ndarray:
    """n outcome vectors drawn from the fitted model (fixed part + random effects + noise)."""
    rng = np.random.default_rng(seed)
    xb = m.predict(df, include_random=False).to_numpy()
    tau = m.tau.to_numpy()
    codes = df[m.group].cat.codes.to_numpy() if hasattr(df[m.group], "cat") else None
    if codes is None:
        codes = np.unique(df[m.group].to_numpy(), return_inverse=True)[1]
    J = codes.max() + 1
    Z = np.column_stack(
        [np.ones(len(df)) if t == "Intercept" else df[t].to_numpy(float) for t in m.tau.index]
    )
    out = np.empty((n, len(df)))
    for k in range(n):
        b = rng.multivariate_normal(np.zeros(len(tau)), tau, size=J)
        out[k] = (
            xb
            + np.einsum("nq,nq->n", Z, b[codes])
            + rng.normal(scale=np.sqrt(m.sigma2), size=len(df))
        )
    return out


def time_helpers(df, formula, outcome, reps, refits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = hp.fit_lmm(formula, df)
        times = []
        with EvaluationCounter() as counter:
            for _ in range(reps):
                start = time.perf_counter()
                m = hp.fit_lmm(formula, df)
                times.append(time.perf_counter() - start)
        evals = counter.count / reps if counter.target else float("nan")
        ys = simulate_outcomes(m, df, refits, seed=1)
        has_refit = hasattr(m, "refit")
        start = time.perf_counter()
        for y in ys:
            if has_refit:
                m.refit(y)
            else:
                hp.fit_lmm(formula, df.assign(**{outcome: y}))
        refit_seconds = time.perf_counter() - start
    return {
        "seconds": float(np.median(times)),
        "evals": evals,
        "criterion": m.deviance,
        "refit_seconds": refit_seconds,
        "refit_kind": "refit" if has_refit else "fit_lmm",
    }


def time_statsmodels(df, formula, group, re_formula, reps):
    import statsmodels.formula.api as smf

    fixed = formula.split("(")[0].rstrip(" +")
    times, crit = [], np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            start = time.perf_counter()
            r = smf.mixedlm(fixed, df, groups=df[group], re_formula=re_formula).fit(reml=True)
            times.append(time.perf_counter() - start)
            crit = -2 * float(r.llf)
    return {"seconds": float(np.median(times)), "criterion": crit}


def time_lme4(csv, formula, group, reps, refits, script):
    cmd = ["Rscript", str(script), csv, formula, group, str(reps), str(refits)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"skipped": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def row(label, df, group, h, r, s, tight, refits) -> str:
    """One table row: latencies, their ratio, evaluations, criteria, throughput."""
    scale = 1000 / refits
    r_ok, s_ok = "skipped" not in r, "skipped" not in s
    cells = [
        label,
        f"{len(df):,} / {df[group].nunique():,}",
        ms(h["seconds"]),
        ms(r["seconds"]) if r_ok else "—",
        ms(s["seconds"]) if s_ok else "—",
        f"{r['seconds'] / h['seconds']:.1f}×" if r_ok else "—",
        f"{h['evals']:.0f} / {r['feval'] if r_ok else '—'}",
        f"{h['criterion'] - tight:+.1e}",
        f"{h['criterion'] - r['criterion']:+.1e}" if r_ok else "—",
        f"{h['refit_seconds'] * scale:.1f} s ({h['refit_kind']})",
        f"{r['refit_seconds'] * scale:.1f} s" if r_ok else "—",
        f"{s['seconds'] * 1000:.0f} s" if s_ok else "—",
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="fits per latency (median)")
    parser.add_argument("--sm-reps", type=int, default=5, help="statsmodels fits per latency")
    parser.add_argument("--refits", type=int, default=1000, help="refits for the throughput")
    parser.add_argument("--only", nargs="*", help="labels of the models to run (default all)")
    parser.add_argument("--no-statsmodels", action="store_true")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="replicates of hp.bootstrap (0: skip)"
    )
    args = parser.parse_args(argv)

    have_r = have_lme4()
    reference = json.loads(REFERENCE.read_text())["models"]
    print(f"helpers from {Path(hp.__file__).parent}")
    print(f"lme4: {'Rscript found' if have_r else 'not found, skipped'}")
    print(
        f"latency: median of {args.reps} fits (statsmodels {args.sm_reps}); throughput "
        f"measured on {args.refits} refits, scaled to 1,000\n"
    )
    print(
        "| model | rows / groups | helpers | lme4 | statsmodels | lme4 / helpers "
        "| evaluations helpers / lme4 | criterion − lme4 tight | criterion − lme4 default "
        "| 1,000 refits helpers | 1,000 refits lme4 | 1,000 fits statsmodels (est.) |"
    )
    print("|" + "---|" * 12, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        for label, data, formula, group, re_formula, key in MODELS:
            if args.only and label not in args.only:
                continue
            df = hp.load_dataset(data)
            csv = str(Path(tmp) / f"{data}.csv")
            df.to_csv(csv, index=False)
            outcome = formula.split("~")[0].strip()
            h = time_helpers(df, formula, outcome, args.reps, args.refits)
            r = (
                time_lme4(csv, formula, group, args.reps, args.refits, script)
                if have_r
                else {"skipped": "no R"}
            )
            s = (
                {"skipped": "not run"}
                if args.no_statsmodels
                else time_statsmodels(df, formula, group, re_formula, args.sm_reps)
            )
            print(row(label, df, group, h, r, s, reference[key]["deviance"], args.refits))
            sys.stdout.flush()
    if args.bootstrap and hasattr(hp, "bootstrap"):
        label, data, formula = MODELS[0][:3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = hp.fit_lmm(formula, hp.load_dataset(data))
        wall, cpu = time.perf_counter(), time.process_time()
        boot = hp.bootstrap(m, n=args.bootstrap, seed=1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"\nhp.bootstrap({label}, n={args.bootstrap}): {wall:.1f} s wall, {cpu:.1f} s CPU; "
            f"{int(boot['singular'].sum())} singular refits, "
            f"{int((~boot['converged']).sum())} not converged"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
