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
# name: a7-growth
# init_cell: true
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 7: growth models
#
# Chapter 7 treated repeated measures as occasions within persons. Here you move the
# zero of time in the sleep study, explain growth rates in the simulated `growth`
# data, look at how far the children's growth rates shrink, and compute a profile
# interval for a variance component. After each question run `grader.check("q…")`.

# %%
import numpy as np
import pandas as pd

import helpers as hp

sleep = hp.load_dataset("sleepstudy")
growth = hp.load_dataset("growth")

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 2

# %% [markdown]
# **Question 1.** Centre time at the **last** day of the sleep study (`Days` 9), fit
# `Reaction ~ T + (1 + T | Subject)` with the centred time `T` by REML, and store the
# intercept variance (the variance of the subjects' reaction times on day 9) in
# `tau00_end` and the intercept–slope correlation in `corr_end`.

# %% [raw]
# # BEGIN SOLUTION

# %%
sleep_end = sleep.assign(T=sleep["Days"] - 9)  # SOLUTION
m_end = hp.fit_lmm("Reaction ~ T + (1 + T | Subject)", sleep_end)  # SOLUTION
tau00_end = m_end.tau.loc["Intercept", "Intercept"]  # SOLUTION
corr_end = m_end.correlations().loc["Intercept", "T"]  # SOLUTION
tau00_end, corr_end

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert tau00_end > 0 and -1 <= corr_end <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Subtract 9 from Days (day 9 becomes time zero) and fit by REML (the default)."
""" # END TEST CONFIG
_m = hp.fit_lmm("Reaction ~ T + (1 + T | Subject)", sleep.assign(T=sleep["Days"] - 9))
assert abs(tau00_end - _m.tau.iloc[0, 0]) < 1e-4 * _m.tau.iloc[0, 0]
assert abs(corr_end - _m.correlations().iloc[0, 1]) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2.** In the `growth` data, let the home-reading programme (`support`)
# predict both the starting level and the growth rate: fit
# `score ~ years * support + (1 + years | child)` by **ML** and store the cross-level
# interaction (the programme's effect on the growth rate, term `years:support`) in
# `gamma11`.

# %% [raw]
# # BEGIN SOLUTION

# %%
m_x = hp.fit_lmm("score ~ years * support + (1 + years | child)", growth, reml=False)  # SOLUTION
gamma11 = m_x.fixed.loc["years:support", "estimate"]  # SOLUTION
gamma11

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert -10 < gamma11 < 10

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use actual time (years), the interaction years * support, and ML (reml=False)."
""" # END TEST CONFIG
_m = hp.fit_lmm("score ~ years * support + (1 + years | child)", growth, reml=False)
assert abs(gamma11 - _m.fixed.loc["years:support", "estimate"]) < 1e-6

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 2

# %% [markdown]
# **Question 3.** Fit the model of Question 2 by REML and compute, for every number of
# occasions a child has (1 to 6), the mean reliability of the children's own growth
# rates (`m.reliability()["years"]`; it is NaN for a child seen once, and the mean
# then skips it). Store the result as a Series `rel_by_n`, indexed by the number of
# occasions.

# %% [raw]
# # BEGIN SOLUTION

# %%
m_reml = hp.fit_lmm("score ~ years * support + (1 + years | child)", growth)  # SOLUTION
rel = pd.Series(m_reml.reliability()["years"].to_numpy(), index=m_reml.n_per_group)  # SOLUTION
rel_by_n = rel.groupby(level=0).mean()  # SOLUTION
rel_by_n

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(rel_by_n, pd.Series) and set(rel_by_n.index) >= {2, 3, 4, 5, 6}

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use the REML fit's reliability of the growth rate, averaged by the number of occasions."
""" # END TEST CONFIG
_m = hp.fit_lmm("score ~ years * support + (1 + years | child)", growth)
_r = pd.Series(_m.reliability()["years"].to_numpy(), index=_m.n_per_group)
_want = _r.groupby(level=0).mean().dropna()
assert np.allclose(rel_by_n.loc[_want.index].to_numpy(dtype=float), _want.to_numpy(), atol=1e-4)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 2

# %% [markdown]
# **Question 4.** Fit `Reaction ~ Days + (1 + Days | Subject)` to the sleep study by
# ML and compute the 95% **profile** interval of the standard deviation of the growth
# rates (row `sd(Days)` of `m.confint(...)`). Store its ends in `sd_days_lower` and
# `sd_days_upper`. (This takes a few seconds.)

# %% [raw]
# # BEGIN SOLUTION

# %%
m_ml = hp.fit_lmm("Reaction ~ Days + (1 + Days | Subject)", sleep, reml=False)  # SOLUTION
ci = m_ml.confint(method="profile")  # SOLUTION
sd_days_lower, sd_days_upper = ci.loc["sd(Days)", ["ci_lower", "ci_upper"]]  # SOLUTION
sd_days_lower, sd_days_upper

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= sd_days_lower < sd_days_upper

# %%
""" # BEGIN TEST CONFIG
hidden: true
failure_message: "Use the profile interval (method='profile') of the ML fit; a Wald interval is symmetric around the estimate."
""" # END TEST CONFIG
# lme4 1.1-31, confint(lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE))
assert abs(sd_days_lower - 3.801164) < 1e-3 and abs(sd_days_upper - 8.753383) < 1e-3

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
# **Question 5.** *Predict, then check.* Which children's growth rates are pulled most
# strongly toward the average of their group, and why? Would two assessments four
# years apart give a more or less reliable rate than two assessments half a year
# apart? Explain with the reliability formula of chapter 5.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Children with few occasions shrink most (their own rate has a large sampling
# variance). The sampling variance of a slope is sigma2_e / sum (t - mean t)^2, so the
# spread of the occasions matters as much as their number: two assessments four years
# apart give a sampling variance 64 times smaller than two half a year apart, hence a
# much higher reliability tau11 / (tau11 + sampling variance) and less shrinkage.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
