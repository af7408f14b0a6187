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
# name: a4-random-slopes
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 4: random slopes
#
# Chapter 4 let the extraversion slope vary across classes. Here you study how the
# effect of sleep deprivation varies across subjects (`sleepstudy`), and a cross-level
# interaction in a **fresh sample** of the popularity data. After each question run
# `grader.check("q…")`.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a4-random-slopes.ipynb")

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

sleep = hp.load_dataset("sleepstudy")

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Fit `Reaction ~ Days + (Days | Subject)` by **REML** and store the
# variance of the `Days` slopes in `slope_var` and the intercept–slope correlation in
# `corr`.

# %% [raw]
# # BEGIN SOLUTION

# %%
m_rs = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep)  # SOLUTION
slope_var = m_rs.tau.loc["Days", "Days"]  # SOLUTION
corr = m_rs.correlations().loc["Intercept", "Days"]  # SOLUTION
slope_var, corr

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert slope_var > 0 and -1 <= corr <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Report REML estimates (the default, reml=True)."
""" # END TEST CONFIG
_m = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep)
assert abs(slope_var - _m.tau.loc["Days", "Days"]) < 1e-4 * _m.tau.loc["Days", "Days"]
assert abs(corr - _m.correlations().loc["Intercept", "Days"]) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Test whether the slopes vary: compare `(1 | Subject)` with
# `(Days | Subject)`, both fitted by ML, with the correct reference distribution for a
# variance on the boundary. Store the p-value in `p_slope`.

# %% [raw]
# # BEGIN SOLUTION

# %%
m_a = hp.fit_lmm("Reaction ~ Days + (1 | Subject)", sleep, reml=False)  # SOLUTION
m_b = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep, reml=False)  # SOLUTION
p_slope = hp.compare(m_a, m_b)["p_value"].iloc[1]  # SOLUTION
p_slope

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= p_slope <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "A variance tested against zero needs the 50:50 mixture of chi2(1) and chi2(2); hp.compare applies it to ML fits."
""" # END TEST CONFIG
_a = hp.fit_lmm("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
_b = hp.fit_lmm("Reaction ~ Days + (Days | Subject)", sleep, reml=False)
_x = _a.deviance - _b.deviance
assert abs(p_slope - (0.5 * scipy.stats.chi2.sf(_x, 1) + 0.5 * scipy.stats.chi2.sf(_x, 2))) < 1e-12

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Draw a fresh popularity sample with
# `hp.simulate_popularity(seed=2024)` and fit the model with the cross-level interaction
# `popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)` by ML. Store
# the estimate of the interaction in `gamma11`.

# %% [raw]
# # BEGIN SOLUTION

# %%
fresh = hp.simulate_popularity(seed=2024).data  # SOLUTION
m_cross = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", fresh, reml=False)  # SOLUTION
gamma11 = m_cross.fixed.loc["extrav:texp", "estimate"]  # SOLUTION
gamma11

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert -1 < gamma11 < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use seed=2024 and fit by ML (reml=False)."
""" # END TEST CONFIG
_d = hp.simulate_popularity(seed=2024).data
_m = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d, reml=False)
assert abs(gamma11 - _m.fixed.loc["extrav:texp", "estimate"]) < 1e-6

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
# **Question 4.** Interpret the sign of `corr` from Question 1 for the sleep study in one
# or two sentences. Would it stay the same if `Days` were centred?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The estimated correlation is small (about 0.07): at day 0, before any sleep
# deprivation, a subject's reaction time says almost nothing about how fast he slows
# down; the data do not support a relation in either direction. The correlation
# refers to the intercept at Days = 0. Centring Days at the middle of the study
# (`Days - 4.5`) makes the intercept a subject's level on day 4.5, which contains 4.5
# times his slope: the correlation becomes strongly positive (about 0.75). Same model,
# same fit, different question.

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
# **Question 5.** *Predict, then check.* Let each subject's curve bend: fit, by ML,
# `Reaction ~ Days + I(Days**2) + (1 + Days + I(Days**2) | Subject)` (a random
# quadratic term always comes with its fixed term) and the same model with
# `(1 + Days | Subject)`. Before running: with 10 observations per subject and six
# variance parameters, do you expect a clean fit? Then report `singular`, the
# correlation matrix of the random effects (`correlations()`) and the deviance test
# (`hp.compare`), and say what you conclude.

# %% [raw]
# # BEGIN SOLUTION

# %%
quad = "Reaction ~ Days + I(Days**2) + (1 + Days + I(Days**2) | Subject)"
lin = "Reaction ~ Days + I(Days**2) + (1 + Days | Subject)"
m_quad = hp.fit_lmm(quad, sleep, reml=False)  # SOLUTION
m_lin = hp.fit_lmm(lin, sleep, reml=False)  # SOLUTION
m_quad.singular, m_quad.correlations(), hp.compare(m_lin, m_quad)  # SOLUTION

# %% [markdown]
# Many would predict a singular fit. It is not: no correlation is at ±1 and the
# smallest eigenvalue of the correlation matrix is clearly positive (about 0.09),
# though the linear and quadratic deviations are strongly negatively correlated
# (about −0.91), close to the boundary. The deviance test (50:50 mixture of
# chi-square with 2 and 3 df) gives p ≈ 0.004: subjects' curves bend differently,
# while the average curve hardly bends (the fixed quadratic term is small and far
# from significant). Predict, but check: a model that looks too rich for the data can
# still be supported by them, and one near the boundary deserves a second look.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
