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
# Chapter 6 separated the within-school and between-school effects of SES on mathematics
# achievement in High School and Beyond (`hp.codebook("hsb")`), and checked the model. Here
# you do the same for the students' minority status and check a model with a random slope.
# After each question run `grader.check("q…")`.

# %%
import numpy as np
import pandas as pd

import helpers as hp

hsb = hp.load_dataset("hsb")
hsb["minority"] = (hsb["minrty"] == "Yes").astype(float)
hsb.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Use `hp.group_mean_center` to add the school mean of `minority` (the
# proportion of minority students in the school) and its within-school deviation to the
# data; store the result in `d`. Fit the group-mean model
# `mAch ~ minority_within + minority_mean + (1 | school)` (REML, the default) and store
# the **within-school** effect in `within` and the **between-school** effect in `between`.

# %% [raw]
# # BEGIN SOLUTION

# %%
d = hp.group_mean_center(hsb, "minority", "school")  # SOLUTION
gm = hp.fit_lmm("mAch ~ minority_within + minority_mean + (1 | school)", d)  # SOLUTION
within = gm.fixed.loc["minority_within", "estimate"]  # SOLUTION
between = gm.fixed.loc["minority_mean", "estimate"]  # SOLUTION
within, between

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite(within) and np.isfinite(between) and within != between

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Enter the within-school deviation and the school mean together; read each coefficient."
""" # END TEST CONFIG
_d = hsb.assign(_m=hsb.groupby("school", observed=True)["minority"].transform("mean"))
_d["_w"] = _d["minority"] - _d["_m"]
_f = hp.fit_lmm("mAch ~ _w + _m + (1 | school)", _d)
assert abs(within - _f.fixed.loc["_w", "estimate"]) < 1e-6
assert abs(between - _f.fixed.loc["_m", "estimate"]) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Fit the contextual model `mAch ~ minority + minority_mean + (1 | school)`
# and store the **contextual effect** of the proportion of minority students in
# `contextual`, and its standard error in `contextual_se`.

# %% [raw]
# # BEGIN SOLUTION

# %%
cm = hp.fit_lmm("mAch ~ minority + minority_mean + (1 | school)", d)  # SOLUTION
contextual = cm.fixed.loc["minority_mean", "estimate"]  # SOLUTION
contextual_se = cm.fixed.loc["minority_mean", "std_error"]  # SOLUTION
contextual, contextual_se

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite(contextual) and contextual_se > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The contextual effect is the coefficient of the school mean next to the raw predictor (between minus within)."
""" # END TEST CONFIG
_d = hsb.assign(_m=hsb.groupby("school", observed=True)["minority"].transform("mean"))
_f = hp.fit_lmm("mAch ~ minority + _m + (1 | school)", _d)
assert abs(contextual - _f.fixed.loc["_m", "estimate"]) < 1e-6
assert abs(contextual_se - _f.fixed.loc["_m", "std_error"]) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** With `hp.influence`, find the school whose removal changes the fixed
# effects of the group-mean model of Question 1 most, by Cook's distance. Store its label
# in `most_influential` and its Cook's distance in `max_cook`.

# %% [raw]
# # BEGIN SOLUTION

# %%
infl = hp.influence(gm)  # SOLUTION
most_influential = infl["cooks_distance"].idxmax()  # SOLUTION
max_cook = infl["cooks_distance"].max()  # SOLUTION
most_influential, max_cook

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert most_influential in set(hsb["school"]) and max_cook > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use the Cook's distance column of hp.influence on the model of Question 1, and its largest value."
""" # END TEST CONFIG
_d = hsb.assign(_m=hsb.groupby("school", observed=True)["minority"].transform("mean"))
_d["_w"] = _d["minority"] - _d["_m"]
_i = hp.influence(hp.fit_lmm("mAch ~ _w + _m + (1 | school)", _d))
assert str(most_influential) == str(_i["cooks_distance"].idxmax())
assert abs(max_cook - _i["cooks_distance"].max()) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** Fit `mAch ~ cses + meanses + (1 + cses | school)` (REML). According to
# this model, what is the variance of mathematics achievement around the fixed part for a
# student whose SES lies **one unit above her school's mean** (`cses = 1`)? Store it in
# `var_at_1`.

# %% [raw]
# # BEGIN SOLUTION

# %%
ms = hp.fit_lmm("mAch ~ cses + meanses + (1 + cses | school)", hsb)  # SOLUTION
t = ms.tau.to_numpy()  # SOLUTION
var_at_1 = t[0, 0] + 2 * t[0, 1] + t[1, 1] + ms.sigma2  # SOLUTION
var_at_1

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert var_at_1 > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Var(Y | x) = sigma2_u0 + 2 sigma_u01 x + sigma2_u1 x^2 + sigma2_e: do not forget the covariance."
""" # END TEST CONFIG
_f = hp.fit_lmm("mAch ~ cses + meanses + (1 + cses | school)", hsb)
_t = _f.tau.to_numpy()
assert abs(var_at_1 - (_t[0, 0] + 2 * _t[0, 1] + _t[1, 1] + _f.sigma2)) < 1e-6

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
# **Question 5.** In words: what do `within`, `between` and `contextual` say about
# minority students and about schools with many minority students? Why would the slope of
# raw `minority` in `mAch ~ minority + (1 | school)` answer neither question?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# `within` compares a minority and a non-minority student in the same school; `between`
# compares schools whose proportions of minority students differ (by 1, i.e. from none to
# all); `contextual` compares two students of the same status in schools whose proportions
# differ. The raw slope is a precision-weighted blend of the within and the between slope,
# so when they differ it estimates neither.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
