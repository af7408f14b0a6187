# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# name: a1-complete-pooling
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 1: one regression for everyone
#
# A health survey measured the systolic blood pressure (`sbp`, mmHg) of patients in
# clinics of very different size: a few have a handful of patients, a few have many
# dozens. Chapter 1 showed that patients of one group are not independent. Here you
# find out which *average group size* belongs in which formula when the groups differ
# in size, how much information the survey really holds, what a naive interval is
# worth, and how the next survey should spend its patients.
#
# Every student gets a data set of their own, simulated from your student ID. Write
# your ID in the first code cell, then run the cells in order; after each question run
# `grader.check("q…")` (it checks the form of your answer; the grader checks the
# values on your own data).

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a1-complete-pooling.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a1", STUDENT_ID)
sizes = df.groupby("clinic").size()
N, J = len(df), len(sizes)
print(f"{N} patients in {J} clinics of {sizes.min()} to {sizes.max()} patients")
sizes.describe()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: interpret
# manual: true
# points: 4

# %% [markdown]
# **Question 1** (*interpret*, 4 points). Three averages of the clinic size appear in
# chapter 1's formulas: the plain mean $\bar n = N/J$, the adjusted size
# $n_0 = \big(N - \sum_j n_j^2/N\big)/(J - 1)$ and the size-weighted mean
# $\bar n_w = \sum_j n_j^2 / N$. Say which one belongs **(a)** in the analysis-of-variance
# estimate of the between-clinic variance and **(b)** in the design effect of the
# overall mean of `sbp`, and **(c)** why $\bar n_w$ is larger than $\bar n$ whenever
# the clinics differ in size.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) $n_0$: with unequal sizes the mean square between clinics estimates
# $\sigma^2_e + n_0\sigma^2_{u0}$, so $n_0$ converts it into a between-clinic variance.
# (b) $\bar n_w$: the variance of the mean of all $N$ patients is
# $\sum_j (n_j\sigma^2_e + n_j^2\sigma^2_{u0})/N^2$, so each clinic counts with the
# square of its size, and the design effect is $1 + (\bar n_w - 1)\rho$ (Kish).
# (c) $\bar n_w$ is the size of the clinic of a patient drawn at random, and a random
# patient is more likely to sit in a large clinic; indeed
# $\bar n_w = \bar n + \operatorname{var}(n_j)/\bar n$ (variance with divisor $J$),
# larger than $\bar n$ unless all sizes are equal.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) n0 in the ANOVA estimate, because the mean square between estimates sigma2_e + n0 sigma2_u0"]
#   - [1, "(b) the size-weighted mean n_w in the design effect of the mean"]
#   - [2, "(c) a large clinic counts with the square of its size (or: n_w is the clinic size a random patient sees; n_w = n_bar + var(n)/n_bar)"]
# wrong:
#   - "n_bar in both formulas ('the average group size'): loses (a) and (b)"
#   - "n0 in the design effect: loses (b)"
#   - "'n_w is larger because large clinics have a larger variance': loses (c); the variance within clinics does not depend on their size"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: compute
# points: 5

# %% [markdown]
# **Question 2** (*compute*, 5 points). Estimate the intraclass correlation of `sbp`
# by the one-way analysis of variance: the mean squares within and between clinics
# (with their degrees of freedom, $N - J$ and $J - 1$) and the adjusted size $n_0$.
# Store $n_0$ in `n0` and the estimate in `icc_anova`.

# %% [raw]
# # BEGIN SOLUTION

# %%
y, g = df["sbp"], df["clinic"]
# BEGIN SOLUTION
ms_within = ((y - y.groupby(g).transform("mean")) ** 2).sum() / (N - J)
ms_between = (sizes * (y.groupby(g).mean() - y.mean()) ** 2).sum() / (J - 1)
n0 = (N - (sizes**2).sum() / N) / (J - 1)
var_between = (ms_between - ms_within) / n0
icc_anova = var_between / (var_between + ms_within)
# END SOLUTION
n0, icc_anova

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < icc_anova < 1, "an intraclass correlation lies between 0 and 1"
assert n0 > 1, "n0 is a clinic size"

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "n0 = (N - sum(n_j^2) / N) / (J - 1), not the plain mean N / J: with unequal sizes the mean square between estimates sigma2_e + n0 * sigma2_u0."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size()
_N, _J = len(_d), len(_n)
assert abs(n0 - (_N - (_n**2).sum() / _N) / (_J - 1)) < 1e-8

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The mean square within divides by N - J, the one between by J - 1; the between-clinic variance is (MS between - MS within) / n0."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_y, _g = _d["sbp"], _d["clinic"]
_n = _g.value_counts()
_N, _J = len(_y), len(_n)
_msw = ((_y - _y.groupby(_g).transform("mean")) ** 2).sum() / (_N - _J)
_msb = (_n * (_y.groupby(_g).mean() - _y.mean()) ** 2).sum() / (_J - 1)
_vb = (_msb - _msw) / ((_N - (_n**2).sum() / _N) / (_J - 1))
assert abs(icc_anova - _vb / (_vb + _msw)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 3** (*predict*, 3 points). **Before you compute anything more**: the
# design effect of the overall mean can be computed with $\bar n$ (as if all clinics
# had the average size) or with $\bar n_w$. Look at `sizes.describe()` above and
# predict which of the two design effects is larger and roughly by what factor the
# part above 1, $(n - 1)\rho$, differs between them. Give your reasoning; you are graded on the
# reasoning, not on being right.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The one with $\bar n_w$ is larger: the sizes are skewed (a few large clinics), so
# $\bar n_w = \bar n + \operatorname{var}(n_j)/\bar n$ is well above $\bar n$. The part
# above 1 scales with $n - 1$, so it grows by about $(\bar n_w - 1)/(\bar n - 1)$; with a
# standard deviation of the sizes close to their mean, $\bar n_w \approx 2\bar n$ and
# the excess roughly doubles.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "a definite prediction of which design effect is larger"]
#   - [2, "reasoning from the spread of the sizes: the excess (n - 1) rho scales with n - 1, and n_w exceeds n_bar by var(n)/n_bar (any correct form of this argument)"]
# wrong:
#   - "'they are about equal because the mean size is what matters': no credit for the reasoning (2 points)"
#   - "a prediction without any reason: 1 point"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: compute
# points: 5

# %% [markdown]
# **Question 4** (*compute*, 5 points). Fit the empty model `sbp ~ 1 + (1 | clinic)`
# by REML (the default), store the fit in `m` and its intraclass correlation in `rho`.
# With that
# `rho`, store the design effect of the overall mean with the plain mean size in
# `deff_bar`, the exact one (Kish, with $\bar n_w$) in `deff_w`, and the effective
# sample size $N/\text{deff}$ of the exact one in `n_eff`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m = hp.fit_lmm("sbp ~ 1 + (1 | clinic)", df)
rho = hp.icc(m)
n_w = (sizes**2).sum() / N
deff_bar = hp.design_effect(rho, N / J)
deff_w = hp.design_effect(rho, n_w)
n_eff = N / deff_w
# END SOLUTION
rho, deff_bar, deff_w, n_eff

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < rho < 1 and deff_bar >= 1 and deff_w >= 1 and 0 < n_eff <= N

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "rho is the intraclass correlation of the empty model fitted by REML (the default of hp.fit_lmm)."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
# 1e-4: room for another REML optimiser (statsmodels agrees to about 1e-5 here)
_r = hp.icc(hp.fit_lmm("sbp ~ 1 + (1 | clinic)", _d))
assert abs(rho - _r) < 1e-4 * max(1.0, abs(_r))

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The exact design effect of a mean with unequal sizes uses the size-weighted mean n_w = sum(n_j^2) / N (Kish): 1 + (n_w - 1) * rho; n_eff = N / deff_w."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size()
_nw = (_n**2).sum() / len(_d)
assert abs(deff_w - (1 + (_nw - 1) * rho)) < 1e-8
assert abs(n_eff - len(_d) / deff_w) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "deff_bar uses the plain mean size N / J: 1 + (N / J - 1) * rho."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_nbar = len(_d) / _d["clinic"].nunique()
assert abs(deff_bar - (1 + (_nbar - 1) * rho)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: interpret
# manual: true
# points: 3

# %% [markdown]
# **Question 5** (*interpret*, 3 points). Compare `deff_w` and `deff_bar` with your
# prediction in Question 3. Then say in one sentence what `n_eff` means for this
# survey, and which of the two design effects a report on the mean blood pressure
# should use.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# `deff_w` is well above `deff_bar` (ratio of the excesses $(\bar n_w - 1)/(\bar n - 1)$).
# The mean of the $N$ patients is as precise as the mean of only `n_eff` independent
# patients. A report uses `deff_w`, the exact variance ratio of the mean under the
# random-intercept model; `deff_bar` understates the loss whenever the sizes differ.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares the two values with the prediction (says whether and why it held)"]
#   - [1, "n_eff: the mean is as precise as that of n_eff independent patients"]
#   - [1, "deff_w for the report, because it is the exact variance ratio with unequal sizes"]
# wrong:
#   - "'n_eff patients were really independent' or 'only n_eff patients count': loses the n_eff point"
#   - "deff_bar because it is 'the standard formula': loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: simulate
# points: 6

# %% [markdown]
# **Question 6** (*simulate*, 6 points). How often does the naive 95% interval for
# the mean, $\bar y \pm 1.96\,s/\sqrt N$ (with $s$ the standard deviation of all
# patients), cover the true mean? Simulate **1000** surveys with **your** clinic
# sizes, a true mean of 0, and the clinic and patient variances of the REML fit of
# Question 4 (`m.tau.iloc[0, 0]` and `m.sigma2`); store the share of intervals that
# cover 0 in `coverage_sim`. Store in `coverage_theory` what the exact design effect
# predicts: $2\Phi(1.96/\sqrt{\text{deff}}) - 1$ (use `scipy.stats.norm.cdf`).

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
tau2, sigma2 = m.tau.iloc[0, 0], m.sigma2
rng = np.random.default_rng(1)
which = np.repeat(np.arange(J), sizes.to_numpy())
ysim = rng.normal(0, np.sqrt(tau2), (1000, J))[:, which]
ysim += rng.normal(0, np.sqrt(sigma2), (1000, N))
half = 1.96 * ysim.std(axis=1, ddof=1) / np.sqrt(N)
coverage_sim = np.mean(np.abs(ysim.mean(axis=1)) <= half)
coverage_theory = 2 * scipy.stats.norm.cdf(1.96 / np.sqrt(deff_w)) - 1
# END SOLUTION
coverage_sim, coverage_theory

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= coverage_sim <= 1 and 0 < coverage_theory < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The coverage the design effect predicts is 2 * Phi(1.96 / sqrt(deff)) - 1 with the exact (size-weighted) design effect of Question 4."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size()
_r = hp.icc(hp.fit_lmm("sbp ~ 1 + (1 | clinic)", _d))
_deff = 1 + ((_n**2).sum() / len(_d) - 1) * _r
_c = 2 * scipy.stats.norm.cdf(1.96 / np.sqrt(_deff)) - 1
assert abs(coverage_theory - _c) < 1e-4 * max(1.0, abs(_c))  # room for another optimiser

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 3
failure_message: "Simulate a clinic effect for every clinic (variance tau00, shared by its patients) plus a patient error (variance sigma2), with your clinic sizes; 1000 surveys. Independent patients would cover about 95% of the time."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size()
_N = len(_d)
_m = hp.fit_lmm("sbp ~ 1 + (1 | clinic)", _d)
_t, _s = _m.tau.iloc[0, 0], _m.sigma2
# The exact coverage of |ybar| <= 1.96 s / sqrt(N), with E(s^2) in place of s^2.
_var_mean = (_t * (_n**2).sum() + _s * _N) / _N**2
_es2 = _s + _t * (1 - (_n**2).sum() / _N**2) * _N / (_N - 1)
_p = 2 * scipy.stats.norm.cdf(1.96 * np.sqrt(_es2 / _N / _var_mean)) - 1
# Within 4 Monte Carlo standard errors of 1000 surveys, plus 0.01 for s varying.
assert abs(coverage_sim - _p) < 4 * np.sqrt(_p * (1 - _p) / 1000) + 0.01

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: decide
# points: 4

# %% [markdown]
# **Question 7** (*decide*, 4 points). The next survey can afford 600 more patients.
# Design **A** adds them to the existing clinics in proportion to their sizes (every
# clinic grows by the factor $(N + 600)/N$; fractions of patients are fine here).
# Design **B** adds 20 new clinics of 30 patients each. Under the random-intercept
# model the variance of the overall mean is
# $\big(\sigma^2_{u0}\sum_j n_j^2 + \sigma^2_e N\big)/N^2$. With the REML estimates of
# Question 4 (`m.tau.iloc[0, 0]` and `m.sigma2`), store the variance of the mean under each design in
# `var_A` and `var_B`, and the better design (`"A"` or `"B"`) in `choice`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
def var_mean(n_j):
    n_j = np.asarray(n_j, dtype=float)
    tau00, sigma2_e = m.tau.iloc[0, 0], m.sigma2
    return (tau00 * (n_j**2).sum() + sigma2_e * n_j.sum()) / n_j.sum() ** 2


var_A = var_mean(sizes.to_numpy() * (N + 600) / N)
var_B = var_mean(np.r_[sizes.to_numpy(), np.full(20, 30)])
choice = "A" if var_A < var_B else "B"
# END SOLUTION
var_A, var_B, choice

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert var_A > 0 and var_B > 0 and choice in ("A", "B")

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Patients of one clinic are not independent: the variance of the mean is (tau00 * sum(n_j^2) + sigma2 * N) / N^2 with the new sizes of each design."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size().to_numpy(dtype=float)
_m = hp.fit_lmm("sbp ~ 1 + (1 | clinic)", _d)
_t, _s = _m.tau.iloc[0, 0], _m.sigma2


def _v(n):
    return (_t * (n**2).sum() + _s * n.sum()) / n.sum() ** 2


_a, _b = _v(_n * (_n.sum() + 600) / _n.sum()), _v(np.r_[_n, np.full(20, 30.0)])
# relative 1e-4: room for another REML optimiser
assert abs(var_A - _a) < 1e-4 * _a and abs(var_B - _b) < 1e-4 * _b

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The better design is the one with the smaller variance of the mean."
""" # END TEST CONFIG
_d = hp.student_data("a1", STUDENT_ID)
_n = _d.groupby("clinic").size().to_numpy(dtype=float)
_m = hp.fit_lmm("sbp ~ 1 + (1 | clinic)", _d)
_t, _s = _m.tau.iloc[0, 0], _m.sigma2
_va = _t * ((_n * 1.0) ** 2).sum() / _n.sum() ** 2 + _s / (_n.sum() + 600)
_nb = np.r_[_n, np.full(20, 30.0)]
_vb = (_t * (_nb**2).sum() + _s * _nb.sum()) / _nb.sum() ** 2
assert choice == ("A" if _va < _vb else "B")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# kind: decide
# manual: true
# points: 4

# %% [markdown]
# **Question 8** (*decide*, 4 points). Explain why the better design wins, using the
# two terms of the variance of the mean. What happens to the variance under design A
# if the existing clinics grow without limit? For which intraclass correlation would
# the two designs be about equally good?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Design B wins: the clinic term $\sigma^2_{u0}\sum_j n_j^2/N^2$ does not shrink when
# every clinic grows by the same factor (numerator and denominator both scale with
# the square of the factor), only the patient term $\sigma^2_e/N$ does. New clinics add
# new, independent clinic effects, which shrinks the clinic term. Under A the variance
# falls towards the floor $\sigma^2_{u0}\sum_j n_j^2/N^2$ however many patients are added.
# With $\rho$ close to 0 (no clinic variance) only $N$ matters and the designs are
# about equally good.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "the clinic term does not shrink when all clinics grow by one factor; new clinics bring new independent clinic effects"]
#   - [1, "under A the variance approaches the floor tau00 * sum(n_j^2) / N^2 (of the current sizes)"]
#   - [1, "about equal when rho is near 0 (only N matters then)"]
# wrong:
#   - "'B wins because it has more patients': both designs add 600; loses the 2 points"
#   - "'under A the variance goes to 0 as N grows': loses the floor point"
#   - "'equal when rho = 1': loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION
