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
# # Assignment 2: one regression per group
#
# Chapter 2 fitted a regression in every class. Here you do it for the sleep-deprivation
# study: 18 subjects, reaction time measured on 10 days (`hp.codebook("sleepstudy")`).
# After each question run `grader.check("q…")`.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a2-no-pooling.ipynb")

# %%
import numpy as np
import pandas as pd

import helpers as hp

sleep = hp.load_dataset("sleepstudy")
sleep.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Fit `Reaction ~ Days` separately for every subject with
# `hp.fit_by_group` and store the table in `by_subject` and the 18 slopes of `Days` in
# `slopes` (a pandas Series indexed by subject).

# %% [raw]
# # BEGIN SOLUTION

# %%
by_subject = hp.fit_by_group("Reaction ~ Days", sleep, group="Subject")  # SOLUTION
slopes = by_subject["Days"]  # SOLUTION
slopes.head()

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(slopes) == 18, "one slope per subject"

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Fit Reaction ~ Days within each Subject and take the Days column."
""" # END TEST CONFIG
_t = hp.fit_by_group("Reaction ~ Days", sleep, group="Subject")
assert np.allclose(np.asarray(slopes, dtype=float), _t["Days"].to_numpy(), atol=1e-8)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** How many parameters do the 18 separate regressions estimate in
# total? Count intercepts, slopes and residual variances. Store the number in
# `n_params_separate`.

# %% [raw]
# # BEGIN SOLUTION

# %%
n_params_separate = 18 * (1 + 1 + 1)  # SOLUTION
n_params_separate

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(n_params_separate, (int, np.integer))

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Every subject has an intercept, a slope AND its own residual variance."
""" # END TEST CONFIG
assert n_params_separate == len(by_subject) * (len(by_subject.attrs["terms"]) + 1)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Compute the standard deviation of the 18 estimated slopes (the usual
# sample standard deviation, with n - 1 in the denominator). Store it in `sd_slopes`.

# %% [raw]
# # BEGIN SOLUTION

# %%
sd_slopes = slopes.std(ddof=1)  # SOLUTION
sd_slopes

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert sd_slopes > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use n - 1 in the denominator (ddof=1)."
""" # END TEST CONFIG
_s = hp.fit_by_group("Reaction ~ Days", sleep, group="Subject")["Days"]
assert abs(sd_slopes - _s.std(ddof=1)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** Part of that spread is estimation noise. Estimate the variance of the
# *true* slopes as the variance of the estimated slopes (n - 1) minus the mean squared
# standard error of the slopes (column `se_Days`). Store it in `var_true_slopes`.

# %% [raw]
# # BEGIN SOLUTION

# %%
var_true_slopes = slopes.var(ddof=1) - (by_subject["se_Days"] ** 2).mean()  # SOLUTION
var_true_slopes

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert var_true_slopes < slopes.var(ddof=1), "the true spread is smaller than the observed"

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Subtract the MEAN of the squared standard errors from the variance of the slopes."
""" # END TEST CONFIG
_t = hp.fit_by_group("Reaction ~ Days", sleep, group="Subject")
assert abs(var_true_slopes - (_t["Days"].var(ddof=1) - (_t["se_Days"] ** 2).mean())) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# manual: true
# points: 2

# %% [markdown]
# **Question 5.** Compare `var_true_slopes` with the slope variance of the
# multilevel model `hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep).tau`. Why
# are both smaller than the variance of the separate slopes?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Both remove the estimation noise: the observed spread of separately estimated slopes
# is the true spread plus the sampling variance of each estimate. The moment estimate
# subtracts the average noise; the multilevel model estimates the true variance
# directly. Here the two agree to many digits (about 35.07): the design is balanced —
# every subject is measured on the same ten days — so every subject's slope has the
# same precision, and the REML estimate of the slope variance equals the moment
# estimate (as long as that is not negative). With unbalanced groups they differ,
# because the model then weighs each group by its precision; ML (`reml=False`) gives
# a smaller value, because it ignores that the fixed effects were estimated.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
