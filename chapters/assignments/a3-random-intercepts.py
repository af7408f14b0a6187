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
# name: a3-random-intercepts
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 3: random intercepts
#
# Chapter 3 built a random-intercept model for the popularity data. Here you build one for
# High School and Beyond: mathematics achievement (`mAch`) of students in schools
# (`hp.codebook("hsb")`). After each question run `grader.check("q…")`.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a3-random-intercepts.ipynb")

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

hsb = hp.load_dataset("hsb")
hsb.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Fit the empty model by **maximum likelihood** and store the
# intraclass correlation in `icc_ml`.

# %% [raw]
# # BEGIN SOLUTION

# %%
m0 = hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb, reml=False)  # SOLUTION
icc_ml = hp.icc(m0)  # SOLUTION
icc_ml

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < icc_ml < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Fit by maximum likelihood: reml=False."
""" # END TEST CONFIG
_m = hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb, reml=False)
assert abs(icc_ml - hp.icc(_m)) < 1e-7

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Add the school-centred SES `cses` and the school mean SES `meanses`
# (ML). Compute the proportion of school-level variance explained relative to the
# empty model, $R^2_2$, and store it in `r2_level2`.

# %% [raw]
# # BEGIN SOLUTION

# %%
m1 = hp.fit_lmm("mAch ~ cses + meanses + (1 | school)", hsb, reml=False)  # SOLUTION
r2_level2 = 1 - m1.tau.iloc[0, 0] / m0.tau.iloc[0, 0]  # SOLUTION
r2_level2

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert -1 < r2_level2 < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use ML fits of both models and 1 - (school variance of the model) / (school variance of the empty model)."
""" # END TEST CONFIG
_a = hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb, reml=False)
_b = hp.fit_lmm("mAch ~ cses + meanses + (1 | school)", hsb, reml=False)
assert abs(r2_level2 - (1 - _b.tau.iloc[0, 0] / _a.tau.iloc[0, 0])) < 1e-7

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Test the improvement from the empty model to the model of Question 2
# with a deviance test. Store the chi-square statistic in `chisq` and its p-value in
# `p_value`.

# %% [raw]
# # BEGIN SOLUTION

# %%
table = hp.compare(m0, m1)  # SOLUTION
chisq, p_value = table["chisq"].iloc[1], table["p_value"].iloc[1]  # SOLUTION
chisq, p_value

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert chisq > 0 and 0 <= p_value <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Compare ML deviances; the models differ by two fixed effects."
""" # END TEST CONFIG
_a = hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb, reml=False)
_b = hp.fit_lmm("mAch ~ cses + meanses + (1 | school)", hsb, reml=False)
assert abs(chisq - (_a.deviance - _b.deviance)) < 1e-6
assert abs(p_value - scipy.stats.chi2.sf(_a.deviance - _b.deviance, 2)) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** Fit `mAch ~ ses_c + (1 | school)` (REML) where `ses_c` is the students'
# SES **centred on the grand mean**. Store the fixed intercept in `intercept_centred`.

# %% [raw]
# # BEGIN SOLUTION

# %%
hsb["ses_c"] = hsb["ses"] - hsb["ses"].mean()  # SOLUTION
intercept_centred = hp.fit_lmm("mAch ~ ses_c + (1 | school)", hsb).fixed.loc["Intercept", "estimate"]  # SOLUTION
intercept_centred

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite(intercept_centred)

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Centre ses on its grand mean before fitting, and use REML (the default)."
""" # END TEST CONFIG
_d = hsb.assign(_c=hsb["ses"] - hsb["ses"].mean())
_m = hp.fit_lmm("mAch ~ _c + (1 | school)", _d)
assert abs(intercept_centred - _m.fixed.loc["Intercept", "estimate"]) < 1e-6

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
# **Question 5.** What does `intercept_centred` mean, in words? Would it change if you
# centred `ses` on each school's mean instead?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# It is the expected mathematics score of a student of average SES in a typical school
# (a school whose random intercept is 0). With group-mean centring the intercept is the
# expected score of a student whose SES equals her own school's mean, and the model
# changes: the slope then measures only within-school differences.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
