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
# name: a6-within-between
# init_cell: true
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 6: within and between
#
# Chapter 6 separated the within-school and between-school effects of SES on
# mathematics achievement in High School and Beyond (`hp.codebook("hsb")`). Your data
# are all the students of 40 of its 160 schools, drawn for you from your student ID:
# `mAch` (mathematics achievement), `ses` (the student's socio-economic status),
# `school`, `minrty`, `sx` and `sector`. The school means of `ses` are **not** in your
# data: you compute them. Every number you are asked for comes from **your** data.
#
# Questions marked *predict* ask you to write a prediction **before** you compute;
# it is graded on its reasoning, not on being right. Written answers are graded by
# hand; after each computed answer run `grader.check("q…")`, which checks its form
# only (the substance is graded after you submit). 10 questions, 32 points.

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a6", STUDENT_ID)
df.groupby("school", observed=True)["ses"].agg(["size", "mean", "std"]).describe().round(2)

# %% [raw]
# # BEGIN QUESTION
# name: q1
# manual: true
# points: 2
# kind: predict

# %% [markdown]
# **Question 1** (*predict*, 2 points). You will estimate three SES slopes: the
# *within-school* effect, the *between-school* effect (of the school mean of SES), and
# the slope of raw `ses` in `mAch ~ ses + (1 | school)`. **Before computing:** where
# do you expect the raw slope to lie relative to the other two, and closer to which?
# Why? (Look at the table above: how many students per school, and how much does SES
# vary within schools compared with the school means?)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The raw slope is a precision-weighted blend of the within and the between slope, so
# it lies between them. With about 40 students per school and most of the SES
# variation within schools, the within-school information dominates: the raw slope
# should lie close to the within slope (if, as in the chapter, the between slope is
# the larger one, a little above the within slope).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "between the two (a blend of the within and between slopes)"]
#   - [1, "closer to the within slope, because most of the information (variation of ses, number of students) is within schools"]
# wrong:
#   - "the raw slope is the within effect because the model has a random intercept (a random intercept does not separate the two)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 5
# kind: predict

# %% [markdown]
# **Question 2** (*predict*, 5 points; the computation). Use `hp.group_mean_center` to add the
# school mean of `ses` (`ses_mean`) and the **group-mean-centred** SES (`ses_within`)
# to the data; store the result in `d`. Fit `mAch ~ ses_within + ses_mean + (1 | school)`
# (REML, the default), store the fit in `gm` (Question 9 uses it), and store the
# within-school effect in `within` and the
# between-school effect in `between`. Fit `mAch ~ ses + (1 | school)` and store the
# slope of `ses` in `raw`. Store in `w` the weight of the within slope in the blend,
# `w = (raw - between) / (within - between)` (so that raw = w·within + (1 − w)·between).

# %% [raw]
# # BEGIN SOLUTION

# %%
d = hp.group_mean_center(df, "ses", "school", grand=True)  # SOLUTION
gm = hp.fit_lmm("mAch ~ ses_within + ses_mean + (1 | school)", d)  # SOLUTION
within = gm.fixed.loc["ses_within", "estimate"]  # SOLUTION
between = gm.fixed.loc["ses_mean", "estimate"]  # SOLUTION
raw = hp.fit_lmm("mAch ~ ses + (1 | school)", d).fixed.loc["ses", "estimate"]  # SOLUTION
w = float((raw - between) / (within - between))  # SOLUTION
within, between, raw, w

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite([within, between, raw, w]).all() and "ses_within" in d and "ses_mean" in d

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The within-school effect is the coefficient of ses minus its school mean, with the school mean in the model."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_d["_w"] = _d["ses"] - _d["_m"]
_f = hp.fit_lmm("mAch ~ _w + _m + (1 | school)", _d)
_within, _between = _f.fixed.loc["_w", "estimate"], _f.fixed.loc["_m", "estimate"]
assert abs(within - _within) < 1e-4 * abs(_within)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The between-school effect is the coefficient of the school mean next to the GROUP-mean-centred ses. Next to raw or grand-mean-centred ses, that coefficient is the contextual effect (between minus within)."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_d["_w"] = _d["ses"] - _d["_m"]
_f = hp.fit_lmm("mAch ~ _w + _m + (1 | school)", _d)
_within, _between = _f.fixed.loc["_w", "estimate"], _f.fixed.loc["_m", "estimate"]
assert abs(between - _between) < 1e-4 * abs(_between)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The raw slope is the coefficient of ses in mAch ~ ses + (1 | school), without the school mean."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_raw = hp.fit_lmm("mAch ~ ses + (1 | school)", _d).fixed.loc["ses", "estimate"]
assert abs(raw - _raw) < 1e-4 * abs(_raw)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "w = (raw - between) / (within - between), from your three slopes."
""" # END TEST CONFIG
assert abs(w - (raw - between) / (within - between)) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# manual: true
# points: 2
# kind: predict

# %% [markdown]
# **Question 3** (*predict*, 2 points; the reconciliation). Compare Question 2 with your
# prediction, using `w`. If the raw slope had come out outside the interval from
# `within` to `between`, what would `w` be, and what would that tell you?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Solution's data: within 2.31, between 6.59, raw 2.54; w ≈ 0.95, so the raw slope
# is 95% the within slope, as predicted: the within-school information dominates. A
# raw slope outside the interval would give w < 0 or w > 1: not a blend with positive
# weights. That can happen only by sampling error of the weights or when the model's
# assumptions fail, and would be a reason to look at the data.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "reads w as the share of the within slope in the blend, compared with the prediction"]
#   - [1, "outside the interval: w < 0 or w > 1, not a weighted average with positive weights"]
# wrong:
#   - "reads w as a proportion of variance explained"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## A colleague's model
#
# A colleague centred SES on the **grand** mean, added the school mean, and wrote:
# *"After centring, the effect of a student's SES within the school is the
# coefficient of `ses_c` and the between-school effect of SES is the coefficient of
# `ses_mean`."*

# %%
col = df.assign(
    ses_c=df["ses"] - df["ses"].mean(),
    ses_mean=df.groupby("school", observed=True)["ses"].transform("mean"),
)
colleague = hp.fit_lmm("mAch ~ ses_c + ses_mean + (1 | school)", col)
colleague.fixed.round(4)

# %% [raw]
# # BEGIN QUESTION
# name: q4
# manual: true
# points: 3
# kind: diagnose

# %% [markdown]
# **Question 4** (*diagnose*, 3 points). Which half of the colleague's sentence is
# right and which is wrong? Explain why, from what each coefficient compares.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The coefficient of `ses_c` is the within-school effect: with the school mean held
# fixed, a change in a student's SES is a change within the school; grand-mean
# centring only shifts `ses` by a constant and does not change its slope. The
# coefficient of `ses_mean` is *not* the between-school effect: holding the student's
# own SES fixed, it compares students of equal SES in schools whose mean differs by
# one unit — the **contextual** effect, between − within. The between-school effect
# is the coefficient of the school mean next to the *group*-mean-centred SES.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the ses_c coefficient is the within effect (grand-mean centring shifts ses only)"]
#   - [2, "the ses_mean coefficient is the contextual effect (between minus within): it holds the student's own SES fixed; the between effect needs group-mean centring"]
# wrong:
#   - "says grand-mean centring makes ses_c the raw (blended) slope even with the school mean in the model"
#   - "says both halves are wrong because the colleague should have used the school means shipped with hsb"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# points: 3
# kind: diagnose

# %% [markdown]
# **Question 5** (*diagnose*, 3 points; the fix). Store the contextual effect, the
# coefficient of `ses_mean` in `colleague`, in `contextual` and its standard error in
# `contextual_se`. The colleague's fit contains the between-school effect too: store
# it, computed from `colleague.fixed` alone, in `between_fixed`. (Compare with
# `between` of Question 2: the two models are one model, parametrised twice.)

# %% [raw]
# # BEGIN SOLUTION

# %%
contextual = colleague.fixed.loc["ses_mean", "estimate"]  # SOLUTION
contextual_se = colleague.fixed.loc["ses_mean", "std_error"]  # SOLUTION
between_fixed = contextual + colleague.fixed.loc["ses_c", "estimate"]  # SOLUTION
contextual, contextual_se, between_fixed

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite(contextual) and contextual_se > 0 and np.isfinite(between_fixed)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The contextual effect: the coefficient of the school mean next to raw (or grand-mean-centred) ses, in mAch ~ ses + ses_mean + (1 | school)."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_f = hp.fit_lmm("mAch ~ ses + _m + (1 | school)", _d)
_ctx, _se = _f.fixed.loc["_m", "estimate"], _f.fixed.loc["_m", "std_error"]
assert abs(contextual - _ctx) < 1e-4 * abs(_ctx)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The standard error of the contextual effect: the std_error of the school mean's coefficient in the colleague's model (REML)."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_f = hp.fit_lmm("mAch ~ ses + _m + (1 | school)", _d)
_ctx, _se = _f.fixed.loc["_m", "estimate"], _f.fixed.loc["_m", "std_error"]
assert abs(contextual_se - _se) < 1e-3 * _se

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "between = within + contextual: the sum of the colleague's two coefficients (ses_c is the within effect)."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_f = hp.fit_lmm("mAch ~ ses + _m + (1 | school)", _d)
_ctx, _se = _f.fixed.loc["_m", "estimate"], _f.fixed.loc["_m", "std_error"]
_between = _f.fixed.loc["ses", "estimate"] + _ctx
assert abs(between_fixed - _between) < 1e-4 * abs(_between)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# points: 2
# kind: decide

# %% [markdown]
# **Question 6** (*decide*, 2 points). Does a school's mean SES matter beyond the
# students' own SES, i.e. is the contextual effect different from 0? Test it with a
# test that is valid for a coefficient of a school-level variable with 40 schools,
# and store its p-value in `p_context` and its degrees of freedom in `df_context`.

# %% [raw]
# # BEGIN SOLUTION

# %%
p_context = colleague.fixed.loc["ses_mean", "p_value"]  # SOLUTION
df_context = colleague.fixed.loc["ses_mean", "df"]  # SOLUTION
colleague.fixed.loc[["ses_mean"]]

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= p_context <= 1 and df_context > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "A t test with Satterthwaite (or Kenward-Roger) df, about the number of schools minus 2: the z test (infinite df) and the residual df of the students both pretend to more information than 40 schools hold."
""" # END TEST CONFIG
_d = hp.student_data("a6", STUDENT_ID)
_d["_m"] = _d.groupby("school", observed=True)["ses"].transform("mean")
_f = hp.fit_lmm("mAch ~ ses + _m + (1 | school)", _d)
_ok = False
for _ddf in ("satterthwaite", "kenward-roger"):
    _row = _f.wald(ddf=_ddf).loc["_m"]
    _ok = _ok or (
        abs(df_context - _row["df"]) < 0.02 * _row["df"]
        and abs(p_context - _row["p_value"]) < 0.02 * _row["p_value"]
    )
assert _ok

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# manual: true
# points: 3
# kind: decide

# %% [markdown]
# **Question 7** (*decide*, 3 points). Why is this test valid and the z test (the
# normal distribution) or a t test with the students' residual df (about 1,700) not?
# Your test's df should be close to a count in your data: which? Would the choice
# matter for your conclusion, and when would it?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# `ses_mean` varies only between schools, so the information about its coefficient
# comes from 40 school means: the standard error in the t statistic's denominator is
# estimated with about as many degrees of freedom as there are schools (Satterthwaite
# gives 39.5, close to 40 − 2), so its reference distribution is a t with about 40 df,
# heavier-tailed than the normal. The z
# test and the residual df of ~1,700 students treat it as known, giving p-values that
# are too small. Here the contextual effect is large (t ≈ 5.9) and every choice rejects;
# the choice matters when t is near the critical value (about 2 to 2.1), and more so
# with fewer schools.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "ses_mean is a school-level variable: its information comes from the number of schools, so df about J - 2, not the number of students"]
#   - [1, "z (or df ~ 1,700) ignores the uncertainty in the SE and makes p too small / the test anti-conservative"]
#   - [1, "whether it changes the conclusion here, from their own t; it matters near the critical value and with few schools"]
# wrong:
#   - "says the z test is fine because there are many students"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# manual: true
# points: 4
# kind: interpret

# %% [markdown]
# **Question 8** (*interpret*, 4 points). Write, in plain language and in points of
# mathematics achievement, what `within`, `between` and `contextual` say, each with its
# comparison spelled out ("two students who …"). Use your numbers. Why would a reader
# who sees only `raw` be misled, and which of the three numbers answers the question of
# a parent choosing between two schools for a child whose SES is fixed?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (Solution's data.) `within` ≈ 2.3: two students in the **same** school whose SES
# differs by one unit differ on average by 2.3 points. `between` ≈ 6.6: two
# **schools** whose mean SES differs by one unit differ in mean achievement by 6.6
# points. `contextual` ≈ 4.3: two students with the **same** SES, in schools whose mean
# SES differs by one unit, differ by 4.3 points. The raw slope (≈ 2.5) is a blend of
# the within and between slopes and answers none of these comparisons. The parent's
# question — same child, different school — is the contextual effect (with the usual
# caveat that these are associations, not the effect of moving a child).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "within: two students in the same school, per unit of SES, in points"]
#   - [1, "between: two schools whose mean SES differs by one unit"]
#   - [1, "contextual: two students of equal SES in schools whose mean SES differs by one unit"]
#   - [1, "raw is a blend and answers none of them; the parent's question is the contextual effect (association, not causation)"]
# wrong:
#   - "reads the between effect as what a student would gain by moving to a richer school (that is the contextual comparison)"
#   - "reads the contextual effect as the between effect (the grand-mean centring mistake)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Is the raw slope a biased estimate of the within effect?
#
# Take your group-mean model `gm` of Question 2 as the truth: its `within` and
# `between` differ. Data simulated from it have the same schools and students and new
# outcomes: `hp.simulate_lmm(gm, data=d, seed=r)`.

# %% [raw]
# # BEGIN QUESTION
# name: q9
# points: 5
# kind: simulate

# %% [markdown]
# **Question 9** (*simulate*, 5 points). For `r = 0, 1, …, 49`: simulate a data set
# from `gm` with `seed=r`; fit `mAch ~ ses + (1 | school)` and record the slope of
# `ses` in `raw_sims`; fit `mAch ~ ses_within + ses_mean + (1 | school)` and record the
# coefficient of `ses_within` in `within_sims` (both arrays of 50, in order of `r`).
# Store the bias of the raw slope as an estimator of the within effect,
# `bias_raw = mean(raw_sims) - within`, its Monte Carlo standard error in
# `bias_raw_mcse`, and the bias of the group-mean model's estimate,
# `bias_within = mean(within_sims) - within`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
raw_sims, within_sims = [], []
for r in range(50):
    sim = hp.simulate_lmm(gm, data=d, seed=r)
    raw_sims.append(hp.fit_lmm("mAch ~ ses + (1 | school)", sim).fixed.loc["ses", "estimate"])
    f = hp.fit_lmm("mAch ~ ses_within + ses_mean + (1 | school)", sim)
    within_sims.append(f.fixed.loc["ses_within", "estimate"])
raw_sims, within_sims = np.array(raw_sims), np.array(within_sims)
bias_raw = raw_sims.mean() - within
bias_raw_mcse = raw_sims.std(ddof=1) / np.sqrt(len(raw_sims))
bias_within = within_sims.mean() - within
# END SOLUTION
bias_raw, bias_raw_mcse, bias_within

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(raw_sims) == 50 and len(within_sims) == 50 and bias_raw_mcse > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Replicate r: sim = hp.simulate_lmm(gm, data=d, seed=r) with gm the REML group-mean model of your data; the raw slope from mAch ~ ses + (1 | school), the within slope from the group-mean model."
""" # END TEST CONFIG
_d = hp.group_mean_center(hp.student_data("a6", STUDENT_ID), "ses", "school")
_gm = hp.fit_lmm("mAch ~ ses_within + ses_mean + (1 | school)", _d)
for _r in (0, 1, 31):
    _s = hp.simulate_lmm(_gm, data=_d, seed=_r)
    _a = hp.fit_lmm("mAch ~ ses + (1 | school)", _s).fixed.loc["ses", "estimate"]
    _b = hp.fit_lmm("mAch ~ ses_within + ses_mean + (1 | school)", _s).fixed.loc["ses_within", "estimate"]
    assert abs(raw_sims[_r] - _a) < 1e-4 * abs(_a) and abs(within_sims[_r] - _b) < 1e-4 * abs(_b)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The bias is the mean of the estimates minus the truth, the within effect of gm."
""" # END TEST CONFIG
_d = hp.group_mean_center(hp.student_data("a6", STUDENT_ID), "ses", "school")
_t = hp.fit_lmm("mAch ~ ses_within + ses_mean + (1 | school)", _d).fixed.loc["ses_within", "estimate"]
assert abs(bias_raw - (np.mean(raw_sims) - _t)) < 1e-6
assert abs(bias_within - (np.mean(within_sims) - _t)) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The Monte Carlo SE of a mean over R replicates is the SD of the replicates divided by sqrt(R) (here R = 50)."
""" # END TEST CONFIG
_sd = np.std(np.asarray(raw_sims, dtype=float), ddof=1) / np.sqrt(50)
assert abs(bias_raw_mcse - _sd) < 0.02 * _sd

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10
# manual: true
# points: 3
# kind: interpret

# %% [markdown]
# **Question 10** (*interpret*, 3 points). Is the raw slope biased for the within
# effect, beyond Monte Carlo error? Is the group-mean model's estimate? Relate the size
# of `bias_raw` to `w` of Question 2, and say what the raw slope *does* estimate.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Solution's data: `bias_raw` ≈ 0.23 with Monte Carlo SE ≈ 0.04, about six SE from
# 0: the raw slope is biased upward for the within effect. `bias_within` ≈ −0.02 is
# within one of its own Monte Carlo SE (also ≈ 0.04) of 0: the group-mean model
# estimates the within effect without bias. The bias is about
# (1 − w)(between − within) = 0.055 × 4.28 ≈ 0.24: the raw slope estimates the blend, not the within effect, and the bias grows
# with the contextual effect and with the share of the between information.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "bias_raw compared with its MC SE: biased (for their numbers)"]
#   - [1, "the group-mean model's within estimate is unbiased within MC error"]
#   - [1, "bias about (1 - w)(between - within): the raw slope estimates the blend"]
# wrong:
#   - "judges the bias against the SD of the estimates instead of the Monte Carlo SE of their mean"
# # END RUBRIC

# %% [raw]
# # END QUESTION
