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
# name: a9-binary-outcomes
# init_cell: true
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 9: binary outcomes
#
# Chapter 9 fitted multilevel logistic regressions to the Bangladesh contraception
# survey. Here you summarise the between-district variation and the predictions for
# districts where separate logistic regressions fail. After each question run
# `grader.check("q…")`.

# %%
import numpy as np
import scipy.special
import scipy.stats

import helpers as hp

con = hp.load_dataset("contraception")
m = hp.fit_glmm("use ~ 1 + (1 | district)", con)
tau00 = m.tau.iloc[0, 0]

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Compute, from `tau00`, the intraclass correlation on the latent
# scale of the logistic model. Store it in `icc_latent`.

# %% [raw]
# # BEGIN SOLUTION

# %%
icc_latent = tau00 / (tau00 + np.pi**2 / 3)  # SOLUTION
icc_latent

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < icc_latent < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "The latent residual of the logit model is standard logistic, with variance pi^2 / 3."
""" # END TEST CONFIG
assert abs(icc_latent - m.icc()) < 1e-10

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** Compute the median odds ratio of the districts. Store it in `mor`.

# %% [raw]
# # BEGIN SOLUTION

# %%
mor = np.exp(np.sqrt(2 * tau00) * scipy.stats.norm.ppf(0.75))  # SOLUTION
mor

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert mor > 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "MOR = exp(sqrt(2 * tau00) * Phi^-1(0.75)): the median of exp(|u_j - u_k|)."
""" # END TEST CONFIG
assert abs(mor - np.exp(np.sqrt(2 * tau00) * 0.6744897501960817)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** In how many districts does a separate logistic regression
# `use ~ 1` have no maximum-likelihood estimate (all women users, or none)? Store the
# number in `n_no_estimate`.

# %% [raw]
# # BEGIN SOLUTION

# %%
p_own = (con["use"] == "Y").groupby(con["district"], observed=True).mean()  # SOLUTION
n_no_estimate = int(((p_own == 0) | (p_own == 1)).sum())  # SOLUTION
n_no_estimate

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= n_no_estimate <= con["district"].nunique()

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Count the districts whose proportion of users is 0 or 1 (both kinds)."
""" # END TEST CONFIG
_p = (con["use"] == "Y").groupby(con["district"], observed=True).mean()
assert n_no_estimate == int(_p.isin([0.0, 1.0]).sum())

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** District 11 has 21 women and no user. Compute its empirical Bayes
# predicted *probability* of use from the fitted model. Store it in `p11`.

# %% [raw]
# # BEGIN SOLUTION

# %%
p11 = scipy.special.expit(m.coef().loc[11, "Intercept"])  # SOLUTION
p11

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 < p11 < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Add the district's random effect to the intercept, then apply the inverse logit."
""" # END TEST CONFIG
_eta = m.fixed.loc["Intercept", "estimate"] + m.ranef().loc[11, "Intercept"]
assert abs(p11 - 1 / (1 + np.exp(-_eta))) < 1e-10

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
# **Question 5.** The no-pooling estimate for district 11 is a probability of 0.
# Explain why `p11` is better, and what would change if the district had 200 women
# and still no user.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Twenty-one women are a small sample: a district whose true rate is 10% has a fair
# chance of showing no user. The EB prediction weighs this evidence against the
# distribution of district rates estimated from all 60 districts and lands between 0
# and the rate of a typical district, logit^-1 of gamma_00 (not the overall share of
# users). With 200 women and no user the evidence is much stronger, so
# the prediction would be pulled much closer to 0 (but never to 0).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
