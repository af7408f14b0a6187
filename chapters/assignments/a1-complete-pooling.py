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
# Chapter 1 showed on the popularity data that ignoring the classes makes standard
# errors too small. Here you do the same work on **real** data: radon measured in
# Minnesota homes, grouped in counties (`hp.codebook("radon")` describes the variables).
# Run each cell; after each question run `grader.check("q…")` to check your answer.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a1-complete-pooling.ipynb")

# %%
import numpy as np
import pandas as pd

import helpers as hp

radon = hp.load_dataset("radon")
radon.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Estimate the intraclass correlation of `log_radon` between counties
# *by hand* with the one-way analysis of variance of chapter 1: mean squares within
# and between counties and the adjusted group size $n_0$ (the counties differ in
# size). Store it in `icc_anova`.

# %% [raw]
# # BEGIN SOLUTION

# %%
y, g = radon["log_radon"], radon["county"]
N, J = len(y), g.nunique()
n_j = g.value_counts(sort=False)
# BEGIN SOLUTION
ms_within = ((y - y.groupby(g, observed=True).transform("mean")) ** 2).sum() / (N - J)
ms_between = (n_j * (y.groupby(g, observed=True).mean() - y.mean()) ** 2).sum() / (J - 1)
n0 = (N - (n_j**2).sum() / N) / (J - 1)
var_between = (ms_between - ms_within) / n0
icc_anova = var_between / (var_between + ms_within)
# END SOLUTION
icc_anova

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < icc_anova < 1, "an intraclass correlation lies between 0 and 1"

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use the adjusted group size n0, not the average county size, and N - J and J - 1 degrees of freedom."
""" # END TEST CONFIG
_y, _g = radon["log_radon"], radon["county"]
_N, _J = len(_y), _g.nunique()
_n = _g.value_counts(sort=False)
_msw = ((_y - _y.groupby(_g, observed=True).transform("mean")) ** 2).sum() / (_N - _J)
_msb = (_n * (_y.groupby(_g, observed=True).mean() - _y.mean()) ** 2).sum() / (_J - 1)
_n0 = (_N - (_n**2).sum() / _N) / (_J - 1)
_vb = (_msb - _msw) / _n0
assert abs(icc_anova - _vb / (_vb + _msw)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Fit the empty multilevel model `log_radon ~ 1 + (1 | county)` (REML,
# the default) and compute the design effect for the *average* county size and the
# effective sample size. Store them in `deff` and `n_eff`.

# %% [raw]
# # BEGIN SOLUTION

# %%
empty = hp.fit_lmm("log_radon ~ 1 + (1 | county)", radon)  # SOLUTION
deff = hp.design_effect(hp.icc(empty), len(radon) / radon["county"].nunique())  # SOLUTION
n_eff = len(radon) / deff  # SOLUTION
deff, n_eff

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert deff > 1, "with a positive intraclass correlation the design effect exceeds 1"

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The design effect is 1 + (n_bar - 1) * rho with rho from the REML fit and n_bar = N / J."
""" # END TEST CONFIG
_m = hp.fit_lmm("log_radon ~ 1 + (1 | county)", radon)
_d = 1 + (len(radon) / radon["county"].nunique() - 1) * hp.icc(_m)
assert abs(deff - _d) < 1e-8 and abs(n_eff - len(radon) / _d) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Fit `log_radon ~ floor + uranium` by ordinary least squares, once with
# the usual standard errors and once with standard errors robust to clustering by
# county. Store the ratio robust / naive of the standard error of `uranium` in
# `ratio_uranium` and that of `floor` in `ratio_floor`.

# %% [raw]
# # BEGIN SOLUTION

# %%
naive = hp.fit_ols("log_radon ~ floor + uranium", radon)  # SOLUTION
robust = hp.fit_ols("log_radon ~ floor + uranium", radon, cluster="county")  # SOLUTION
ratio = robust.fixed["std_error"] / naive.fixed["std_error"]  # SOLUTION
ratio_uranium, ratio_floor = ratio["uranium"], ratio["floor"]  # SOLUTION
ratio_uranium, ratio_floor

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert ratio_uranium > 0 and ratio_floor > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Cluster by county (cluster='county') and divide the robust by the naive standard error."
""" # END TEST CONFIG
_a = hp.fit_ols("log_radon ~ floor + uranium", radon).fixed["std_error"]
_b = hp.fit_ols("log_radon ~ floor + uranium", radon, cluster="county").fixed["std_error"]
assert abs(ratio_uranium - _b["uranium"] / _a["uranium"]) < 1e-8
assert abs(ratio_floor - _b["floor"] / _a["floor"]) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# manual: true
# points: 2

# %% [markdown]
# **Question 4.** Which of the two ratios in Question 3 is larger, and why? Use the
# level at which each predictor varies.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The ratio is larger for `uranium`, a county-level variable: all homes in a county
# share its value, so its information comes from 85 counties, not 919 homes. `floor`
# varies within counties, where homes are (conditionally) independent.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# manual: true
# points: 2

# %% [markdown]
# **Question 5.** *Predict, then check.* If every county had contributed exactly 50
# homes (same intraclass correlation), would the design effect be larger or smaller
# than in Question 2? Write your prediction and the value from
# `hp.design_effect(hp.icc(empty), 50)`.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Larger: the design effect grows linearly with the group size, $1 + (50 - 1)\rho$,
# far above the value for the (much smaller) average county size.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
