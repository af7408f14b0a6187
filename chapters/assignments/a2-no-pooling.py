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
# name: a2-no-pooling
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 2: what no pooling costs and gains
#
# Chapter 2 fitted a regression in every class. Here you do it for 26 to 34 schools of very
# different sizes and ask what it buys: how many parameters it spends, how far its
# estimates can be trusted in small schools, and when a dummy for every school is the
# right model and when it is not. Your data are your own: they are drawn from your
# student ID, and every number below is computed from them. Each question says its
# points and its kind (*predict*, *interpret*, *diagnose*, *decide*, *simulate* or
# *compute*). Written answers are graded by hand, on the reasoning: a short,
# precise answer that uses your own numbers earns full points. After each question
# run `grader.check("q…")`.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a2-no-pooling.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a2", STUDENT_ID)
df.head()

# %% [markdown]
# `df` has one row per pupil: the `school` (numbered from 1), whether it is `private` (a
# school-level variable: 1 for half of the schools), the pupil's socio-economic status
# `ses` (standardised) and a mathematics `score`. The no-pooling fit of chapter 2,
# `score ~ ses` in every school:

# %%
by_school = hp.fit_by_group("score ~ ses", df, group="school")
ok = by_school[by_school["status"] == "ok"]
by_school[["n", "df_resid", "Intercept", "ses", "se_ses", "status"]]

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: compute
# points: 5

# %% [markdown]
# **Question 1** (*compute*, 5 points). Count what each model spends. Store
#
# - in `n_ok` the number of schools that `fit_by_group` could fit (status `"ok"`);
# - in `n_par_nopool` the number of parameters the separate regressions estimate in
#   those schools (intercepts, slopes and residual variances);
# - in `n_par_dummy` the number of parameters of the fixed-effects (dummy-variable)
#   model `score ~ ses + C(school)` fitted to all pupils (one intercept per school, one
#   common slope, one residual variance);
# - in `n_par_lmm` the number of parameters of the multilevel model
#   `score ~ ses + (1 + ses | school)` (fixed effects, the variances and the covariance
#   of the school effects, the residual variance).

# %% [raw]
# # BEGIN SOLUTION

# %%
n_ok = len(ok)  # SOLUTION
n_par_nopool = n_ok * (1 + 1 + 1)  # SOLUTION
n_par_dummy = df["school"].nunique() + 1 + 1  # SOLUTION
n_par_lmm = 2 + 3 + 1  # SOLUTION
n_ok, n_par_nopool, n_par_dummy, n_par_lmm

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
_counts = (n_ok, n_par_nopool, n_par_dummy, n_par_lmm)
assert all(isinstance(v, (int, np.integer)) for v in _counts), "whole numbers"

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Count the rows of fit_by_group's table whose status is 'ok'; the school of 2 pupils cannot be fitted."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
assert n_ok == int((_t["status"] == "ok").sum())

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Each fitted school has an intercept, a slope AND its own residual variance: 3 per school."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
assert n_par_nopool == int((_t["status"] == "ok").sum()) * (len(_t.attrs["terms"]) + 1)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The dummy model has J school intercepts, one slope and ONE residual variance (hp.fit_ols(...).n_params)."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
assert n_par_dummy == hp.fit_ols("score ~ ses + C(school)", _d).n_params

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Two fixed effects, two variances and a covariance of the school effects, and the residual variance: the model's n_params."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
assert n_par_lmm == hp.fit_lmm("score ~ ses + (1 + ses | school)", _d).n_params

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: predict
# manual: true
# points: 2

# %% [markdown]
# **Question 2** (*predict*, 2 points). Answer **before** you compute Question 3; you
# are graded on the reasoning, not on being right. Your schools' true SES slopes were
# drawn with a standard deviation of 1 (`hp.course.a2.TAU`). (a) Will the standard
# deviation of the estimated slopes of the fitted schools be larger than 1, about 1,
# or smaller? Why? (b) Will the slopes of the small schools (at most 10 pupils) spread
# more or less than those of the large ones (20 or more), and by roughly what factor?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) Larger: each estimate is its school's true slope plus an estimation error that
# is independent of it, so the variance of the estimates is the true variance (1)
# plus the average squared standard error, and with a residual SD of about 8 and
# schools of a few pupils that error is large. (b) The small schools spread much more:
# a slope's standard error is about $\sigma_e/\sqrt{(n-1)s^2_{ses}}$, so going from
# about 6 pupils to about 30 divides it by $\sqrt{29/5} \approx 2.4$, and schools with
# one or two residual degrees of freedom are noisier still — I expect a factor of 3 or
# more between the two spreads.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) predicts a spread larger than the true one, because an estimate is the truth plus independent noise and the variances add"]
#   - [1, "(b) predicts the small schools spread more, with a reason in the standard error (it shrinks like 1/sqrt(n)) and a rough factor"]
# wrong:
#   - "expects the estimates to spread less than the truth, confusing estimates with shrunken predictions (loses the point of (a))"
#   - "says small schools spread more without a reason or a factor (half of (b)'s point at most)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: predict
# points: 6

# %% [markdown]
# **Question 3** (*predict*, 6 points). Now compute, over the fitted
# schools (`ok`):
#
# - `sd_slopes`: the standard deviation of the estimated SES slopes (n − 1 in the
#   denominator);
# - `var_true`: the moment estimate of the variance of the *true* slopes of chapter 2,
#   the variance of the estimates (n − 1) minus the mean squared standard error;
# - `sd_small` and `sd_large`: the standard deviation of the slopes of the fitted
#   schools with at most 10 pupils, and of those with 20 or more;
# - `tau11`: the variance of the SES slopes estimated by the multilevel model
#   `hp.fit_lmm("score ~ ses + (1 + ses | school)", df)` (REML, the default), from
#   its `.tau` matrix.

# %% [raw]
# # BEGIN SOLUTION

# %%
sd_slopes = ok["ses"].std(ddof=1)  # SOLUTION
var_true = ok["ses"].var(ddof=1) - (ok["se_ses"] ** 2).mean()  # SOLUTION
sd_small = ok.loc[ok["n"] <= 10, "ses"].std()  # SOLUTION
sd_large = ok.loc[ok["n"] >= 20, "ses"].std()  # SOLUTION
m_slopes = hp.fit_lmm("score ~ ses + (1 + ses | school)", df)  # SOLUTION
tau11 = m_slopes.tau.loc["ses", "ses"]  # SOLUTION
sd_slopes, var_true, sd_small, sd_large, tau11

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert sd_slopes > 0 and sd_small > 0 and sd_large > 0 and tau11 >= 0
assert np.isfinite(var_true), "var_true is a number (it may come out negative)"

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The SD of the ses column of the fitted schools, with n - 1 in the denominator (ddof=1)."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
_ok = _t[_t["status"] == "ok"]
assert abs(sd_slopes - _ok["ses"].std(ddof=1)) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Subtract the MEAN of the squared standard errors (not the square of the mean standard error) from the variance of the slopes."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
_ok = _t[_t["status"] == "ok"]
assert abs(var_true - (_ok["ses"].var(ddof=1) - (_ok["se_ses"] ** 2).mean())) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Small: fitted schools with n <= 10; large: n >= 20 (the column n of the table)."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
_ok = _t[_t["status"] == "ok"]
assert abs(sd_small - _ok.loc[_ok["n"] <= 10, "ses"].std()) < 1e-6
assert abs(sd_large - _ok.loc[_ok["n"] >= 20, "ses"].std()) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The slope variance is the ('ses', 'ses') element of .tau of the REML fit of score ~ ses + (1 + ses | school) (not a standard deviation, not the ML fit)."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_m = hp.fit_lmm("score ~ ses + (1 + ses | school)", _d)
assert abs(tau11 - _m.tau.loc["ses", "ses"]) < 1e-4 * max(1.0, _m.tau.loc["ses", "ses"])

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 4** (*predict*, 3 points). Reconcile your prediction: compare your
# numbers with it. Compare the distances of `var_true` and `tau11` from the true 1 in
# your data. Which would you expect to be closer over many data sets, and why? Which
# schools dominate each?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: the slopes spread with SD 4.38 against a true SD of 1, the small
# schools with SD 7.5 and the large ones with 1.7 — a factor of 4.4, more than
# predicted, because the schools of 3 and 4 pupils have one or two residual degrees
# of freedom. Here the moment estimate, 9.3, is 8.3 from 1 and the multilevel model's
# 0.93 is 0.07 from it. Over many data sets I expect `tau11` to be the closer one,
# though not in every data set (in one of them the moment estimate may land near 1 by
# luck, or the model's may come out near 0): the moment estimate gives every school the
# same weight, so both the variance of the slopes and the mean squared standard error
# are dominated by a few tiny schools whose squared errors are in the tens, and the
# difference of two such noisy numbers can land anywhere, also below 0. The multilevel
# model weighs each school by its precision, $1/(\tau_{11} + \text{s.e.}^2_j)$, so
# the large schools, which carry nearly all the information, decide the estimate; the
# tiny schools contribute little.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares the result with the prediction using their own numbers (sd_slopes against 1; sd_small against sd_large)"]
#   - [1, "gives both distances from 1 in their own data; expects tau11 closer over many data sets (not necessarily in theirs) because the moment estimate weighs every school equally, so the tiny schools' huge squared standard errors dominate it and it is very noisy (can be negative)"]
#   - [1, "explains that the multilevel model weighs schools by precision, so the large schools decide tau11"]
# wrong:
#   - "calls var_true the better estimate because it 'uses the data directly' (loses the second point)"
#   - "concludes from their one data set which estimator is better in general (loses the second point)"
#   - "says tau11 is smaller only because REML/ML or shrinkage of the estimates, without the weighting (loses the third point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: diagnose
# points: 5

# %% [markdown]
# **Question 5** (*diagnose*, 5 points). A colleague wants to know which schools'
# SES slopes differ from the average slope 3. For every fitted school she computes
# the interval `ses ± 1.96 se_ses` and flags the schools whose interval excludes 3.
# Store
#
# - in `n_flag_z` the number of fitted schools her rule flags;
# - in `n_flag_t` the number flagged by the 95% intervals `fit_by_group` reports
#   (`ci_lower_ses`, `ci_upper_ses`);
# - in `ratio_df1` how many times wider than hers the correct 95% interval is for a
#   school with one residual degree of freedom.

# %% [raw]
# # BEGIN SOLUTION

# %%
z_lo, z_hi = ok["ses"] - 1.96 * ok["se_ses"], ok["ses"] + 1.96 * ok["se_ses"]  # SOLUTION
n_flag_z = int(((z_lo > 3) | (z_hi < 3)).sum())  # SOLUTION
n_flag_t = int(((ok["ci_lower_ses"] > 3) | (ok["ci_upper_ses"] < 3)).sum())  # SOLUTION
ratio_df1 = scipy.stats.t.ppf(0.975, 1) / 1.96  # SOLUTION
n_flag_z, n_flag_t, ratio_df1

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= n_flag_t <= n_flag_z <= len(ok), "counts of fitted schools"

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Her interval is ses ± 1.96 se_ses; count the fitted schools where it lies wholly above or wholly below 3."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
_ok = _t[_t["status"] == "ok"]
_lo, _hi = _ok["ses"] - 1.96 * _ok["se_ses"], _ok["ses"] + 1.96 * _ok["se_ses"]
assert n_flag_z == int(((_lo > 3) | (_hi < 3)).sum())

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The correct intervals use the t quantile with each school's own df_resid (fit_by_group's ci_lower_ses, ci_upper_ses), not 1.96."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_t = hp.fit_by_group("score ~ ses", _d, group="school")
_ok = _t[_t["status"] == "ok"]
_q = scipy.stats.t.ppf(0.975, _ok["df_resid"])
_lo, _hi = _ok["ses"] - _q * _ok["se_ses"], _ok["ses"] + _q * _ok["se_ses"]
assert n_flag_t == int(((_lo > 3) | (_hi < 3)).sum())

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "With one residual df the 97.5% point of t is 12.71, not 1.96."
""" # END TEST CONFIG
assert abs(ratio_df1 - scipy.stats.t.ppf(0.975, 1) / scipy.stats.norm.ppf(0.975)) < 0.01

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: diagnose
# manual: true
# points: 3

# %% [markdown]
# **Question 6** (*diagnose*, 3 points). Name what is wrong with your colleague's
# rule, and say how to fix it. Which schools does her rule flag that the correct
# intervals do not, and why would her list of "different" schools still mislead even
# with correct intervals (remember every true slope differs a little from 3)?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Her intervals use the normal quantile 1.96, but a school's standard error is
# estimated from its own few residual degrees of freedom, so the right quantile is
# $t_{df,\,0.975}$: 12.7 for one df, 4.3 for two — her intervals are 6.5 and 2.2 times
# too narrow there. She flags 4 schools, the correct intervals 3: the extra one is a
# small school whose noisy slope looks extreme, flagged with a certainty its few pupils
# do not give. The fix is the $t$ interval with the school's `df_resid`
# (`fit_by_group`'s `ci_lower_ses`/`ci_upper_ses`). Even then the list misleads. Had no
# school differed, 29 tests would flag about 1.5 by chance; here all differ slightly,
# so the problem is that a small school's flag rests on a noisy estimate whose sign and
# size are unreliable: the most extreme estimates are those of the smallest schools,
# the least trustworthy. A multilevel model with a random slope, which pulls each
# small school's slope toward the average by how little it tells, answers the
# question better (chapters 3–5).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "names the fault: 1.96 (normal) instead of the t quantile with the school's own residual df, so small schools' intervals are far too narrow"]
#   - [1, "fix: t intervals with df_resid (or fit_by_group's intervals); notes that the schools only her rule flags are small ones, with their own counts"]
#   - [1, "explains why the list still misleads: many tests, and the extreme estimates belong to the noisiest schools (a small school's flag rests on an estimate whose sign and size are unreliable); points to partial pooling"]
# wrong:
#   - "says the standard errors themselves are wrong rather than the reference distribution (loses the first point)"
#   - "recommends dropping the small schools without saying what is lost (loses the third point)"
#   - "calls the extra flags false positives of schools whose true slope is 3 (every true slope differs a little from 3; loses the third point unless the noisiness is explained)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: decide
# points: 4

# %% [markdown]
# **Question 7** (*decide*, 4 points). Two questions from the school district: (i) do
# these schools differ in mean score beyond chance, once SES is accounted for? (ii)
# do private schools score higher than public ones, once SES is accounted for?
# Compute
#
# - `F_schools` and `p_schools`: the $F$ test of chapter 2 of the school dummies,
#   comparing `score ~ ses` with `score ~ ses + C(school)` (both with `hp.fit_ols`,
#   the test with `statsmodels.stats.anova.anova_lm` on their `.result`, or by hand);
# - `p_private`: the $p$-value of `private` in the random-intercept model
#   `hp.fit_lmm("score ~ ses + private + (1 | school)", df)` (REML), with the
#   Satterthwaite degrees of freedom of its `.fixed` table.

# %% [raw]
# # BEGIN SOLUTION

# %%
from statsmodels.stats.anova import anova_lm

f_table = anova_lm(  # SOLUTION
    hp.fit_ols("score ~ ses", df).result,  # SOLUTION
    hp.fit_ols("score ~ ses + C(school)", df).result,  # SOLUTION
)  # SOLUTION
F_schools = f_table["F"].iloc[1]  # SOLUTION
p_schools = f_table["Pr(>F)"].iloc[1]  # SOLUTION
m_private = hp.fit_lmm("score ~ ses + private + (1 | school)", df)  # SOLUTION
p_private = m_private.fixed.loc["private", "p_value"]  # SOLUTION
F_schools, p_schools, m_private.fixed.loc["private"]

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert F_schools > 0 and 0 <= p_schools <= 1 and 0 <= p_private <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "F = [(RSS0 - RSS1) / (J - 1)] / [RSS1 / (N - J - 1)]: the dummy model against score ~ ses, on J - 1 and N - J - 1 df."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_r0 = hp.fit_ols("score ~ ses", _d).result.ssr
_r1 = hp.fit_ols("score ~ ses + C(school)", _d).result.ssr
_J, _N = _d["school"].nunique(), len(_d)
_F = ((_r0 - _r1) / (_J - 1)) / (_r1 / (_N - _J - 1))
assert abs(F_schools - _F) < 1e-6 * _F
assert abs(p_schools - scipy.stats.f.sf(_F, _J - 1, _N - _J - 1)) < 1e-8

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "private is constant within a school: test it in the random-intercept model (REML), whose t test has Satterthwaite df near the number of schools - 2 — not in a regression that treats the pupils as independent."
""" # END TEST CONFIG
_d = hp.student_data("a2", STUDENT_ID)
_m = hp.fit_lmm("score ~ ses + private + (1 | school)", _d)
assert abs(p_private - _m.fixed.loc["private", "p_value"]) < 1e-4

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
# **Question 8** (*decide*, 4 points). For each of the district's two questions,
# which model do you use — a dummy for every school (fixed effects) or a random
# intercept — and why? What does `hp.fit_ols("score ~ ses + private + C(school)", df)`
# do, and why? (Run it in the cell below, which prints the error it raises instead of
# stopping the notebook.) Roughly how many degrees of freedom does the test of
# `private` have, and why not about N?

# %%
try:
    hp.fit_ols("score ~ ses + private + C(school)", df)
except ValueError as e:
    print(e)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (i) is a question about *these* 31 schools: the dummy model answers it directly,
# with no assumption about how school means are distributed — $F$ = 11.9, $p$ far
# below 0.001, so they differ. (ii) is about a school-level variable, which the dummies
# cannot estimate: `private` is constant within each school, so it is a linear
# combination of the school dummies and cannot be separated from them: `fit_ols`
# refuses, saying the design is rank deficient (a school dummy is aliased with other
# terms; software that goes on drops one of them). The random-intercept model
# replaces the 31 intercepts by their mean and variance, so `private` can enter and be
# compared across schools; the schools, not the pupils, are the units of that
# comparison, and its Satterthwaite df (27.5) is close to 31 − 2 = 29, not to the
# number of pupils. Here private schools score 5.7 points higher ($p$ = 0.002). The
# random intercept also generalises to schools outside the sample, which the fixed
# effects do not.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(i): fixed effects (dummies, F test) are valid and answer a question about these schools; reports the result"]
#   - [1, "(ii): private is constant within schools, collinear with the dummies, so the fixed-effects model cannot estimate it"]
#   - [1, "(ii): the random-intercept model, with schools as the units: df near J - 2 (Satterthwaite), not N; reports the estimate and p"]
#   - [1, "notes what each model generalises to (these schools vs a population of schools)"]
# wrong:
#   - "uses the dummy model for (ii) and reads the absent/aliased private coefficient as zero (loses the second point)"
#   - "tests private with N - 3 df or with pupils as independent units (loses the third point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# kind: simulate
# points: 4

# %% [markdown]
# **Question 9** (*simulate*, 4 points). How often does no pooling misjudge a school?
# Simulate `R = 2000` schools of 4 pupils and 2000 schools of 30, each with `ses`
# drawn standard normal and a residual SD of 8 (`hp.course.a2.SIGMA2` = 64), and
# estimate each school's SES slope by least squares (with an intercept). Store in
# `p_small` and `p_large` the share of schools whose estimated slope is off by more
# than 1 (the SD of the true slopes) from its true slope, and their Monte Carlo
# standard errors in `mcse_small` and `mcse_large`. Use the generator
# `rng = np.random.default_rng([hp.student_seed("a2", STUDENT_ID), 9])`.
#
# *Hint:* the true slope does not change the error of a least-squares slope, so you
# can simulate with both true coefficients 0; the slope of one school is
# `np.polyfit(x, y, 1)[0]`, or, for many at once,
# $\sum (x - \bar x)(y - \bar y) / \sum (x - \bar x)^2$ along each row of an
# `R × n` array.

# %% [raw]
# # BEGIN SOLUTION

# %%
R = 2000
rng = np.random.default_rng([hp.student_seed("a2", STUDENT_ID), 9])


def slope_errors(n):  # SOLUTION
    x = rng.standard_normal((R, n))  # SOLUTION
    y = rng.normal(0.0, np.sqrt(hp.course.a2.SIGMA2), (R, n))  # SOLUTION
    xc = x - x.mean(axis=1, keepdims=True)  # SOLUTION
    return (xc * y).sum(axis=1) / (xc**2).sum(axis=1)  # SOLUTION


p_small = np.mean(np.abs(slope_errors(4)) > 1)  # SOLUTION
p_large = np.mean(np.abs(slope_errors(30)) > 1)  # SOLUTION
mcse_small = np.sqrt(p_small * (1 - p_small) / R)  # SOLUTION
mcse_large = np.sqrt(p_large * (1 - p_large) / R)  # SOLUTION
p_small, mcse_small, p_large, mcse_large

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= p_large <= 1 and 0 <= p_small <= 1
assert 0 < mcse_small < 0.05 and 0 < mcse_large < 0.05

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Off by more than 1 means |estimate - truth| > 1. Given the x's the error is N(0, 64 / sum (x - xbar)^2); your share should be within Monte Carlo error of that probability. Did you use 4 and 30 pupils, residual SD 8 (variance 64) and an intercept?"
""" # END TEST CONFIG
import scipy.integrate as _si


def _exact(_n, _s2=hp.course.a2.SIGMA2, _c=1.0):
    # sum (x - xbar)^2 of n standard normal x's is chi-square(n - 1)
    def _f(s):
        return 2 * scipy.stats.norm.sf(_c * np.sqrt(s / _s2)) * scipy.stats.chi2.pdf(s, _n - 1)

    return _si.quad(_f, 0, np.inf, limit=200)[0]


for _p, _n in ((p_small, 4), (p_large, 30)):
    _e = _exact(_n)
    assert abs(_p - _e) < 4 * np.sqrt(_e * (1 - _e) / 2000), (_n, _p, _e)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The Monte Carlo SE of a share p from R replicates is sqrt(p (1 - p) / R) — with the square root."
""" # END TEST CONFIG
assert abs(mcse_small - np.sqrt(p_small * (1 - p_small) / 2000)) < 1e-9
assert abs(mcse_large - np.sqrt(p_large * (1 - p_large) / 2000)) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10
# kind: simulate
# manual: true
# points: 3

# %% [markdown]
# **Question 10** (*simulate*, 3 points). Read your simulation. Is the difference
# between schools of 4 and of 30 beyond Monte Carlo error? What does it say about
# ranking your schools by their own SES slopes — small and large? How many replicates
# would bring `mcse_large` below 0.005?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: 0.85 (MC SE 0.008) for 4 pupils against 0.50 (0.011) for 30 — a
# difference of 0.35, about 25 times the MC SE of the difference
# $\sqrt{0.008^2 + 0.011^2} \approx 0.014$, so it is real, not simulation noise. A
# school of 4 has its slope wrong by more than the typical true difference between
# schools more than eight times in ten; even a school of 30 half the time. With a residual
# SD of 8 and true slopes that differ by an SD of 1, no school's own estimate can rank
# it: the ranking of own slopes mostly ranks noise, the small schools at the extremes.
# For the MC SE, $\sqrt{p(1-p)/R} < 0.005$ needs $R > 0.25/0.005^2 = 10\,000$ at
# $p = 0.5$.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares the difference with its Monte Carlo error (the SE of a difference combines both MC SEs), with their numbers"]
#   - [1, "draws the lesson: own slopes misjudge most small schools and many large ones, so ranking by them ranks noise"]
#   - [1, "R from p (1 - p) / R < 0.005^2: about 10,000 at p near 0.5 (their own p)"]
# wrong:
#   - "treats the MC SE as the standard error of a school's slope (loses the first point)"
#   - "solves sqrt(p (1 - p)) / R < 0.005, without the square root on R (loses the third point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION
