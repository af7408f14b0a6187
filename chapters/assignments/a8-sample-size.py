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
# name: a8-sample-size
# init_cell: true
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 8: how many groups?
#
# Chapter 8 planned the size of a multilevel study with the design effect and by
# simulation. Here you plan a study of a class-level programme: the design effect and
# the effective sample size, the best class size under a budget, the power by
# simulation with its Monte Carlo error, and the size of the test with few classes.
# After each question run `grader.check("q…")`.

# %%
import numpy as np

import helpers as hp

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** A study samples 40 classes of 25 pupils; the intraclass correlation
# of the outcome is 0.15. Compute the design effect of a class-level comparison in
# `deff` and the effective sample size (the number of independent pupils that would
# carry the same information about a mean) in `n_eff`.

# %% [raw]
# # BEGIN SOLUTION

# %%
rho, n, J = 0.15, 25, 40
deff = 1 + (n - 1) * rho  # SOLUTION
n_eff = n * J / deff  # SOLUTION
deff, n_eff

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert deff >= 1 and 0 < n_eff <= 1000

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The design effect is 1 + (n - 1) * rho, with n the class size; divide the number of pupils by it."
""" # END TEST CONFIG
# Kish's design effect: 1 + 24 * 0.15 = 4.6; 1000 pupils / 4.6
assert abs(deff - 4.6) < 1e-9 and abs(n_eff - 1000 / 4.6) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Recruiting a class costs as much as testing 30 pupils
# ($c_2/c_1 = 30$). With $\rho = 0.15$, compute the class size that makes a
# class-level effect most precise for a fixed budget (Snijders & Bosker's optimum) in
# `n_opt`, and the number of classes a budget of $C = 3000$ (in units of $c_1$) then
# buys, with the class size rounded to a whole number, in `J_opt`.

# %% [raw]
# # BEGIN SOLUTION

# %%
n_opt = np.sqrt(30 * (1 - 0.15) / 0.15)  # SOLUTION
J_opt = 3000 // (30 + round(n_opt))  # SOLUTION
n_opt, J_opt

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert n_opt > 1 and J_opt >= 2

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "n* = sqrt((c2/c1) (1 - rho) / rho); a class of n pupils costs c2 + n c1 = 30 + n."
""" # END TEST CONFIG
# sqrt(30 * 0.85 / 0.15) = sqrt(170) = 13.04; 3000 / (30 + 13) = 69.8
assert abs(n_opt - 170**0.5) < 1e-9 and J_opt == 69

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Simulate the planned trial: the programme (`z`, given to exactly half
# of the classes) raises the outcome by 0.35 standard deviations. Run
#
# ```python
# res = hp.power_simulation(
#     "y ~ z + (1 | g)", gamma={"Intercept": 0.0, "z": 0.35}, tau=0.15, sigma2=0.85,
#     n_groups=20, group_size=10, level2={"z": "balanced"}, n_replicates=100, seed=8,
# )
# ```
#
# and store the simulated power of the test of `z` in `power_sim` and its Monte Carlo
# standard error in `power_mcse` (use `hp.power_summary`).

# %% [raw]
# # BEGIN SOLUTION

# %%
res = hp.power_simulation(
    "y ~ z + (1 | g)", gamma={"Intercept": 0.0, "z": 0.35}, tau=0.15, sigma2=0.85,
    n_groups=20, group_size=10, level2={"z": "balanced"}, n_replicates=100, seed=8,
)  # fmt: skip
summary = hp.power_summary(res)  # SOLUTION
power_sim = summary.loc["z", "power"]  # SOLUTION
power_mcse = summary.loc["z", "power_mcse"]  # SOLUTION
power_sim, power_mcse

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= power_sim <= 1 and 0 <= power_mcse < 0.06

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Take the row 'z' of hp.power_summary(res): the column power (the share of rejections) and power_mcse = sqrt(p (1 - p) / R)."
""" # END TEST CONFIG
_z = res[res["term"] == "z"]
_p = float((_z["p_value"] < 0.05).mean())
assert len(_z) == 100 and abs(power_sim - _p) < 1e-12
assert abs(power_mcse - (_p * (1 - _p) / 100) ** 0.5) < 1e-12

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** Compute the power the design-effect approximation predicts for the
# trial of Question 3 (`hp.interactive.cluster_trial_power`, with $\rho = 0.15$ and the
# effect 0.35) in `power_deff`, and the difference `power_sim - power_deff` in units
# of the Monte Carlo standard error in `z_diff`.

# %% [raw]
# # BEGIN SOLUTION

# %%
power_deff = hp.interactive.cluster_trial_power(20, 10, icc=0.15, effect=0.35)  # SOLUTION
z_diff = (power_sim - power_deff) / power_mcse  # SOLUTION
power_deff, z_diff

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < power_deff < 1 and np.isfinite(z_diff)

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The classes, not the pupils, are the units: the SE of the difference is sqrt(4 (rho + (1 - rho) / n) / J)."
""" # END TEST CONFIG
from scipy import stats as _st

_se = (4 * (0.15 + 0.85 / 10) / 20) ** 0.5
_want = _st.norm.cdf(0.35 / _se - _st.norm.ppf(0.975)) + _st.norm.cdf(-0.35 / _se - _st.norm.ppf(0.975))
assert abs(power_deff - _want) < 1e-9
assert abs(z_diff - (power_sim - _want) / power_mcse) < 1e-6

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
# **Question 5.** *Interpret.* Does the simulation agree with the design-effect
# approximation within Monte Carlo error? A colleague proposes 8 classes of 50 pupils
# instead of 20 of 10, "because 400 pupils is twice as many as 200". What do you
# answer, and what would a simulation with `n_groups=8` tell you about the size of the
# Wald test?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# With 100 replicates the Monte Carlo standard error is about 0.05, so a difference of
# one or two of them is no evidence against the approximation. For a class-level
# effect the classes are the units: with rho = 0.15 a class mean of 50 pupils has
# variance 0.15 + 0.85/50 = 0.167 against 0.235 for 10 pupils, hardly better, while
# 8 classes instead of 20 leave 2.5 times fewer class means to average. Net, the
# variance of the comparison grows by (0.167 / 8) / (0.235 / 20), about 1.8, and power
# drops. With 8 classes the Wald z test is also too liberal: its statistic behaves
# like a t with 8 - 2 = 6 degrees of freedom, which exceeds 1.96 in about 10% of
# samples, so a simulation with a true effect of 0 rejects more often than 5%, and
# even the power it reports is inflated.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
