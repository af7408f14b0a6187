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
# name: a5-shrinkage
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 5: empirical Bayes shrinkage
#
# Chapter 5 showed that multilevel predictions are reliability-weighted averages. Here you
# compute them by hand for the Minnesota radon counties. After each question run
# `grader.check("q…")`.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a5-shrinkage.ipynb")

# %%
import numpy as np
import pandas as pd

import helpers as hp

radon = hp.load_dataset("radon")
m = hp.fit_lmm("log_radon ~ 1 + (1 | county)", radon)
tau00, sigma2 = m.tau.iloc[0, 0], m.sigma2
g00 = m.fixed.loc["Intercept", "estimate"]
# For question 4: the county sizes, and true county means drawn from the fitted model.
n_homes = radon.groupby("county", observed=True).size().to_numpy()
true_means = g00 + np.sqrt(tau00) * np.random.default_rng(5).standard_normal(len(n_homes))

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Compute, from `tau00` and `sigma2`, the reliability of the mean of a
# county with 2 homes. Store it in `lam2`.

# %% [raw]
# # BEGIN SOLUTION

# %%
lam2 = tau00 / (tau00 + sigma2 / 2)  # SOLUTION
lam2

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < lam2 < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Reliability = tau00 / (tau00 + sigma2 / n) with n = 2."
""" # END TEST CONFIG
assert abs(lam2 - tau00 / (tau00 + sigma2 / 2)) < 1e-12

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** For every county compute the empirical Bayes prediction of its mean
# log radon **by hand** as $\lambda_j \bar Y_j + (1 - \lambda_j)\hat\gamma_{00}$, as a
# Series indexed by county, and store it in `eb_by_hand`.

# %% [raw]
# # BEGIN SOLUTION

# %%
n = radon.groupby("county", observed=True).size()  # SOLUTION
ybar = radon.groupby("county", observed=True)["log_radon"].mean()  # SOLUTION
lam = tau00 / (tau00 + sigma2 / n)  # SOLUTION
eb_by_hand = lam * ybar + (1 - lam) * g00  # SOLUTION
eb_by_hand.head()

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(eb_by_hand) == radon["county"].nunique()

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Weight each county's own mean by its reliability and the overall estimate g00 by 1 - reliability."
""" # END TEST CONFIG
assert np.allclose(np.asarray(eb_by_hand, dtype=float), m.coef()["Intercept"].to_numpy(), atol=1e-8)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Which *proportion* of the distance to the overall mean is the county
# with the most homes pulled? Store it in `prop_largest`.

# %% [raw]
# # BEGIN SOLUTION

# %%
n = radon.groupby("county", observed=True).size()  # SOLUTION
prop_largest = 1 - tau00 / (tau00 + sigma2 / n.max())  # SOLUTION
prop_largest

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < prop_largest < 0.5

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The proportion pulled is 1 - reliability for the largest county."
""" # END TEST CONFIG
_n = radon.groupby("county", observed=True).size().max()
assert abs(prop_largest - sigma2 / _n / (tau00 + sigma2 / _n)) < 1e-12

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** How much does partial pooling gain on a design like this one? Run
# `hp.pooling_simulation` with the county sizes `n_homes` and true county means
# `true_means` drawn from the fitted model, $N(\hat\gamma_{00}, \hat\sigma^2_{u0})$
# (both defined in the set-up cell at the top), with `sigma2=sigma2`, `n_rep=50`,
# `seed=5`. Store the ratio of the summed MSE of no pooling to that of partial pooling
# in `mse_ratio`. (Why not use the EB predictions as the true means? They are shrunk:
# they vary less than true county means do — chapter 5.)

# %% [raw]
# # BEGIN SOLUTION

# %%
sim = hp.pooling_simulation(true_means, n_homes, sigma2=sigma2, n_rep=50, seed=5)  # SOLUTION
no_pool = sim.totals.loc["no pooling", "sum of MSE"]  # SOLUTION
mse_ratio = no_pool / sim.totals.loc["partial pooling", "sum of MSE"]  # SOLUTION
mse_ratio

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert mse_ratio > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "No pooling divided by partial pooling, with the design and seed given."
""" # END TEST CONFIG
# Recomputed from the set-up cell's model only, so an error in an earlier question
# does not cost this one.
_n = radon.groupby("county", observed=True).size().to_numpy()
_truth = g00 + np.sqrt(tau00) * np.random.default_rng(5).standard_normal(len(_n))
_s = hp.pooling_simulation(_truth, _n, sigma2=sigma2, n_rep=50, seed=5)
_r = _s.totals.loc["no pooling", "sum of MSE"] / _s.totals.loc["partial pooling", "sum of MSE"]
assert abs(mse_ratio - _r) < 1e-6 * _r

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
# **Question 5.** The EB predictions are biased. Explain in your own words why
# they are nevertheless preferred here, using your `mse_ratio`.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Shrinkage trades a small bias toward the state mean for a large reduction in
# variance, especially for counties with one or two homes; summed over counties the mean
# squared error falls (mse_ratio above 1), so the predictions are closer to the truth on
# the whole.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
