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
# # Assignment 8: how many classes?
#
# Chapter 8 planned the size of a multilevel study with the design effect and by
# simulation. Here you plan a trial of a class-level programme from a pilot study of
# your own: the design effect with unequal classes, the size of the $z$ and $t$ tests
# with few classes (by simulation, with its Monte Carlo error), the best class size
# under a budget, and the power of the design you choose. Your pilot is drawn from
# your student ID and every number below is computed from it. Each question says its
# points and its kind (*predict*, *interpret*, *diagnose*, *decide*, *simulate* or
# *compute*). Written answers are graded by hand, on the reasoning: short, precise
# answers that use your own numbers earn full points. After each question run
# `grader.check("q…")`.

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a8", STUDENT_ID)  # the pilot study
seed = hp.student_seed("a8", STUDENT_ID)  # the seed of your simulations
COST_RATIO = hp.course.a8.COST_RATIO  # a class costs as much as this many pupils
BUDGET = hp.course.a8.BUDGET  # in units of the cost of one pupil
EFFECT = hp.course.a8.EFFECT  # the effect to detect, in SDs of y
df["class"].value_counts().sort_index().to_frame("pupils").T

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: compute
# points: 5

# %% [markdown]
# **Question 1** (*compute*, 5 points). From the pilot, compute
#
# - `rho_hat`: the intraclass correlation of `y`, from the REML fit of the empty
#   model `y ~ 1 + (1 | class)` (`hp.icc`);
# - `n_w`: the size-weighted mean class size $\bar n_w$ of chapter 1 (the classes
#   differ in size);
# - `deff`: Kish's design effect $1 + (\bar n_w - 1)\hat\rho$ of the pilot's overall
#   mean (the mean of all its pupils).

# %% [raw]
# # BEGIN SOLUTION

# %%
m0 = hp.fit_lmm("y ~ 1 + (1 | class)", df)  # SOLUTION
rho_hat = hp.icc(m0)  # SOLUTION
n_j = df["class"].value_counts()  # SOLUTION
N, J = len(df), len(n_j)  # SOLUTION
n_w = (n_j**2).sum() / N  # SOLUTION
deff = 1 + (n_w - 1) * rho_hat  # SOLUTION
rho_hat, n_w, deff

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < rho_hat < 1 and 1 < n_w < 40 and deff >= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The ICC of the empty model fitted by REML (the default of hp.fit_lmm): hp.icc(m)."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
assert abs(rho_hat - hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))) < 1e-5

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "With unequal classes the design effect of the mean needs the size-weighted mean class size sum(n_j^2) / N (the class size of the average pupil), not the plain mean N / J."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_n = _d["class"].value_counts()
assert abs(n_w - (_n**2).sum() / len(_d)) < 1e-8

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "deff = 1 + (n_w - 1) * rho, with your n_w and rho_hat."
""" # END TEST CONFIG
assert abs(deff - (1 + (n_w - 1) * rho_hat)) < 1e-8

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: predict
# manual: true
# points: 2

# %% [markdown]
# **Question 2** (*predict*, 2 points). Answer **before** you compute Question 3;
# you are graded on the reasoning, not on being right. A small trial gives the
# programme to 4 of 8 classes of 20 pupils, with your `rho_hat`. If the programme
# has no effect, how often will the Wald $z$ test of the treatment (at 5%) reject?
# And a $t$ test with $J - 2$ degrees of freedom? Give numbers, however rough, and
# your reasons.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# With 8 classes the treatment effect is in effect a comparison of 8 class means, and
# its standard error is estimated from them: the ratio estimate / SE behaves like a
# $t$ with $8 - 2 = 6$ df, not like a normal variable. The $z$ test compares it with
# 1.96, which a $t_6$ exceeds in about 10% of samples — so about 10% instead of 5%.
# The $t$ test with 6 df uses 2.45 and should hold its 5%.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "predicts the z test rejects more often than 5%, because with 8 classes the statistic is t-like (the SE is estimated from few class means)"]
#   - [1, "predicts the t test with J - 2 df keeps about 5%, with a rough number for the z test (anything from 7% to 12% with that reason)"]
# wrong:
#   - "expects 5% for both because 160 pupils is a large sample (loses the first point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: predict
# points: 6

# %% [markdown]
# **Question 3** (*predict*, 6 points). Now simulate the trial of
# Question 2 under the null hypothesis:
#
# ```python
# sims = hp.power_simulation(
#     "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": 0.0}, tau=rho_hat,
#     sigma2=1 - rho_hat, n_groups=8, group_size=20, level2={"z": "balanced"},
#     n_replicates=300, seed=seed,
# )
# ```
#
# Its `p_value` column is the Wald $z$ test. Store
#
# - `size_z`: the share of the 300 replicates in which the $z$ test of `z` rejects at
#   5%, and `mcse_z` its Monte Carlo standard error;
# - `size_t`: the same share for the $t$ test with $J - 2 = 6$ degrees of freedom,
#   computed from each replicate's `estimate / std_error`;
# - `df_z`: the Satterthwaite degrees of freedom of `z` in the REML fit of *one*
#   such data set, `hp.simulate_lmm(...)` with the same arguments (no
#   `n_replicates`) and `seed=seed` — this is where the 6 comes from.

# %% [raw]
# # BEGIN SOLUTION

# %%
null_design = dict(
    gamma={"Intercept": 0.0, "z": 0.0},
    tau=rho_hat,
    sigma2=1 - rho_hat,
    n_groups=8,
    group_size=20,
    level2={"z": "balanced"},
)
sims = hp.power_simulation(
    "y ~ z + (1 | class)", n_replicates=300, seed=seed, **null_design
)
zrows = sims[sims["term"] == "z"]  # SOLUTION
size_z = np.mean(zrows["p_value"] < 0.05)  # SOLUTION
mcse_z = np.sqrt(size_z * (1 - size_z) / len(zrows))  # SOLUTION
t_stat = zrows["estimate"] / zrows["std_error"]  # SOLUTION
p_t = 2 * scipy.stats.t.sf(np.abs(t_stat), df=8 - 2)  # SOLUTION
size_t = np.mean(p_t < 0.05)  # SOLUTION
one = hp.simulate_lmm("y ~ z + (1 | class)", seed=seed, **null_design)  # SOLUTION
df_z = hp.fit_lmm("y ~ z + (1 | class)", one).fixed.loc["z", "df"]  # SOLUTION
size_z, mcse_z, size_t, df_z

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= size_t <= 1 and 0 <= size_z <= 1 and 0 < mcse_z < 0.05 and df_z > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "size_z is the share of the rows with term 'z' whose p_value < 0.05, in the simulation given in the question (effect 0, 8 classes of 20, your rho_hat, 300 replicates, seed=seed)."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_s = hp.power_simulation(
    "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": 0.0}, tau=_rho, sigma2=1 - _rho,
    n_groups=8, group_size=20, level2={"z": "balanced"}, n_replicates=300,
    seed=hp.student_seed("a8", STUDENT_ID),
)  # fmt: skip
_z = _s[_s["term"] == "z"]
assert abs(size_z - float(np.mean(_z["p_value"] < 0.05))) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The Monte Carlo SE of a share p from R = 300 replicates is sqrt(p (1 - p) / R)."
""" # END TEST CONFIG
assert abs(mcse_z - np.sqrt(size_z * (1 - size_z) / 300)) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The t test compares |estimate / std_error| of each replicate with the t distribution with J - 2 = 6 df (the classes are the units), not N - 2 (the pupils) and not the normal."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_s = hp.power_simulation(
    "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": 0.0}, tau=_rho, sigma2=1 - _rho,
    n_groups=8, group_size=20, level2={"z": "balanced"}, n_replicates=300,
    seed=hp.student_seed("a8", STUDENT_ID),
)  # fmt: skip
_z = _s[_s["term"] == "z"]
_pt = 2 * scipy.stats.t.sf(np.abs(_z["estimate"] / _z["std_error"]), df=6)
assert abs(size_t - float(np.mean(_pt < 0.05))) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Fit y ~ z + (1 | class) by REML to hp.simulate_lmm(..., seed=seed) with the null design and read the df column of .fixed for z."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_one = hp.simulate_lmm(
    "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": 0.0}, tau=_rho, sigma2=1 - _rho,
    n_groups=8, group_size=20, level2={"z": "balanced"},
    seed=hp.student_seed("a8", STUDENT_ID),
)  # fmt: skip
assert abs(df_z - hp.fit_lmm("y ~ z + (1 | class)", _one).fixed.loc["z", "df"]) < 1e-3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: predict
# manual: true
# points: 4

# %% [markdown]
# **Question 4** (*predict*, 4 points). Reconcile your prediction: compare
# `size_z` and `size_t` with it and with the theoretical size of the $z$ test when
# the statistic is $t_6$, `2 * scipy.stats.t.sf(1.96, 6)`. Are the differences from 5%
# beyond Monte Carlo error? Which test would you report for a trial with 8 classes,
# and why is `df_z` (nearly) 6 and not about 158? (In a few percent of data sets
# the one fit is singular, its class variance estimated at 0, and its df are then
# near 158; if yours is, say why.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: the $z$ test rejected in 10.3% of 300 null replicates (MC SE 1.8%),
# 3 MC SEs above 5% and well within one of the theoretical 9.8%; the $t_6$ test in
# 6.0%, within one MC SE (1.3% at 5%) of 5%. As predicted: the $z$ test is about twice
# too liberal. For a trial with 8 classes I report the $t$ test with Satterthwaite
# (here $J - 2$) df: the treatment varies only between classes, so its standard error
# is estimated from the spread of 8 class means around the two arm means — 8 − 2 = 6
# pieces of information, whatever the number of pupils. Satterthwaite's df, 6.0 for
# one fit, says exactly that; 158 would treat the pupils as independent.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares both sizes with 5% in units of the MC SE (and with the t_6 theory for z), with their numbers"]
#   - [1, "reconciles with their own prediction (says what they got right or wrong)"]
#   - [1, "chooses the t test with J - 2 / Satterthwaite df for 8 classes, because z does not keep its size"]
#   - [1, "explains df near J - 2: a class-level predictor is compared between class means, so the classes, not the pupils, count"]
# wrong:
#   - "calls a z size of about 10% 'close to 5%' without the MC SE (loses the first point)"
#   - "says the df are small because the pupils are few (loses the fourth point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: compute
# points: 4

# %% [markdown]
# **Question 5** (*compute*, 4 points). Recruiting a class costs as much as testing
# `COST_RATIO` pupils, and the budget is `BUDGET` (in units of one pupil). With your
# `rho_hat`, compute
#
# - `n_opt`: the class size that makes a class-level effect most precise for a fixed
#   budget (chapter 8, Snijders & Bosker's optimum), and `n_use = round(n_opt)`;
# - `J_opt`: the number of classes the budget buys with classes of `n_use` (a class
#   costs `COST_RATIO + n_use`; whole classes only);
# - `power_opt`: the power of the design-effect approximation
#   (`hp.interactive.cluster_trial_power`) to detect `EFFECT` with `J_opt` classes of
#   `n_use`, and `power_50`: the same for classes of 50, as many as the budget buys.

# %% [raw]
# # BEGIN SOLUTION

# %%
n_opt = np.sqrt(COST_RATIO * (1 - rho_hat) / rho_hat)  # SOLUTION
n_use = round(n_opt)
J_opt = BUDGET // (COST_RATIO + n_use)  # SOLUTION
power = hp.interactive.cluster_trial_power
power_opt = power(J_opt, n_use, icc=rho_hat, effect=EFFECT)  # SOLUTION
J_50 = BUDGET // (COST_RATIO + 50)  # SOLUTION
power_50 = power(J_50, 50, icc=rho_hat, effect=EFFECT)  # SOLUTION
n_opt, J_opt, power_opt, J_50, power_50

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert n_opt > 1 and J_opt >= 2 and 0 < power_50 < 1 and 0 < power_opt < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "n* = sqrt((c2 / c1) (1 - rho) / rho), with c2 / c1 = COST_RATIO and your rho_hat."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
assert abs(n_opt - np.sqrt(hp.course.a8.COST_RATIO * (1 - _rho) / _rho)) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "A class of n pupils costs COST_RATIO + n (the class and its pupils); J = BUDGET // (COST_RATIO + n), a whole number."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_n = round(np.sqrt(hp.course.a8.COST_RATIO * (1 - _rho) / _rho))
assert J_opt == hp.course.a8.BUDGET // (hp.course.a8.COST_RATIO + _n)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Power of the design-effect approximation: cluster_trial_power(J, n, icc=rho_hat, effect=EFFECT), at the optimum and at classes of 50 (J = BUDGET // (COST_RATIO + 50))."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_n = round(np.sqrt(hp.course.a8.COST_RATIO * (1 - _rho) / _rho))
_J = hp.course.a8.BUDGET // (hp.course.a8.COST_RATIO + _n)
_pw = hp.interactive.cluster_trial_power
assert abs(power_opt - _pw(_J, _n, icc=_rho, effect=hp.course.a8.EFFECT)) < 1e-4
_J50 = hp.course.a8.BUDGET // (hp.course.a8.COST_RATIO + 50)
assert abs(power_50 - _pw(_J50, 50, icc=_rho, effect=hp.course.a8.EFFECT)) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: decide
# manual: true
# points: 4

# %% [markdown]
# **Question 6** (*decide*, 4 points). A colleague prefers classes of 50 "because
# more pupils per class means more data". Decide between her design and yours, and
# say why, with your numbers. Which test will you plan to analyse the trial with,
# and would your choice change if the budget bought only 8 classes?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000` ($\hat\rho$ = 0.171): $n^*$ = 9.8, so 80 classes of 10 ($J$ = 2400 //
# 30) with power 0.76, against 34 classes of 50 with power 0.52. I choose classes
# of 10. For a class-level effect the classes are the units: the variance of the
# effect is proportional to $\{1 + (n-1)\rho\}/(nJ) = (\rho + (1-\rho)/n)/J$, and
# beyond a few pupils per class the $\rho$ term dominates, so pupils 11 to 50 add little
# while their cost buys fewer classes. I plan the $t$ test with Satterthwaite df
# (about $J - 2$): with 80 classes it hardly differs from $z$, but it is the test that
# keeps its size. With only 8 classes the $z$ test would reject a true null about 10%
# of the time (Question 3), and the design-effect power would be optimistic; the $t$
# test is then essential, and the power should be computed for it.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "chooses the design near n* with their numbers (J, n, power of both designs)"]
#   - [1, "why: the classes are the units for a class-level effect; the variance is (rho + (1 - rho)/n)/J, large classes buy little once rho dominates"]
#   - [1, "plans a t test with Satterthwaite (or J - 2) df, and says it matters little with many classes"]
#   - [1, "with 8 classes: z too liberal (their Question 3), design-effect power optimistic, t test essential"]
# wrong:
#   - "counts pupils: 34 x 50 = 1700 pupils is more information than 80 x 10 = 800 (loses the first two points)"
#   - "keeps the z test because it gives more power (loses the last point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: simulate
# points: 5

# %% [markdown]
# **Question 7** (*simulate*, 5 points). Check the power of your design by
# simulation: run
#
# ```python
# res = hp.power_simulation(
#     "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": EFFECT}, tau=rho_hat,
#     sigma2=1 - rho_hat, n_groups=J_opt, group_size=n_use,
#     level2={"z": "balanced"}, n_replicates=100, seed=seed + 1,
# )
# ```
#
# and store in `power_sim` the share of replicates in which the $t$ test of `z` with
# `J_opt - 2` degrees of freedom rejects at 5%, in `power_mcse` its Monte Carlo
# standard error, and in `z_gap` the difference `power_sim - power_opt` in units of
# `power_mcse`.

# %% [raw]
# # BEGIN SOLUTION

# %%
res = hp.power_simulation(
    "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": EFFECT}, tau=rho_hat,
    sigma2=1 - rho_hat, n_groups=J_opt, group_size=n_use,
    level2={"z": "balanced"}, n_replicates=100, seed=seed + 1,
)  # fmt: skip
rz = res[res["term"] == "z"]  # SOLUTION
t7 = rz["estimate"] / rz["std_error"]  # SOLUTION
p_t7 = 2 * scipy.stats.t.sf(np.abs(t7), df=J_opt - 2)  # SOLUTION
power_sim = np.mean(p_t7 < 0.05)  # SOLUTION
power_mcse = np.sqrt(power_sim * (1 - power_sim) / len(rz))  # SOLUTION
z_gap = (power_sim - power_opt) / power_mcse  # SOLUTION
power_sim, power_mcse, z_gap

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= power_sim <= 1 and 0 < power_mcse < 0.06 and np.isfinite(z_gap)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "In the simulation given in the question (effect EFFECT, J_opt classes of n_use = round(n_opt), your rho_hat, 100 replicates, seed=seed + 1), compare |estimate / std_error| of each z row with t on J_opt - 2 df; power is the share of p < 0.05."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_n = round(np.sqrt(hp.course.a8.COST_RATIO * (1 - _rho) / _rho))
_J = hp.course.a8.BUDGET // (hp.course.a8.COST_RATIO + _n)
_r = hp.power_simulation(
    "y ~ z + (1 | class)", gamma={"Intercept": 0.0, "z": hp.course.a8.EFFECT}, tau=_rho,
    sigma2=1 - _rho, n_groups=_J, group_size=_n, level2={"z": "balanced"},
    n_replicates=100, seed=hp.student_seed("a8", STUDENT_ID) + 1,
)  # fmt: skip
_z = _r[_r["term"] == "z"]
_pt = 2 * scipy.stats.t.sf(np.abs(_z["estimate"] / _z["std_error"]), df=_J - 2)
assert abs(power_sim - float(np.mean(_pt < 0.05))) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "power_mcse = sqrt(p (1 - p) / R) with R = 100 replicates."
""" # END TEST CONFIG
assert abs(power_mcse - np.sqrt(power_sim * (1 - power_sim) / 100)) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "z_gap = (power_sim - power_opt) / power_mcse, with the design-effect power of Question 5."
""" # END TEST CONFIG
_d = hp.student_data("a8", STUDENT_ID)
_rho = hp.icc(hp.fit_lmm("y ~ 1 + (1 | class)", _d))
_n = round(np.sqrt(hp.course.a8.COST_RATIO * (1 - _rho) / _rho))
_J = hp.course.a8.BUDGET // (hp.course.a8.COST_RATIO + _n)
_pw = hp.interactive.cluster_trial_power(_J, _n, icc=_rho, effect=hp.course.a8.EFFECT)
assert abs(z_gap - (power_sim - _pw) / power_mcse) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# kind: interpret
# manual: true
# points: 3

# %% [markdown]
# **Question 8** (*interpret*, 3 points). Read the summary of your simulation below
# in plain words: is the estimate of the effect biased, do the model's standard
# errors describe the real spread of the estimates, and does the simulation support
# the approximation's power (use `z_gap`)?

# %%
columns = ["mean_estimate", "bias", "bias_mcse", "empirical_se", "mean_std_error"]
hp.power_summary(res).loc[["z"], [*columns, "n_singular"]]

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: the mean estimate is 0.310 against the true 0.3; the bias, 0.010,
# is within its MC SE of 0.010, so there is no sign of bias. The SD of the 100
# estimates, 0.102, and the average model standard error, 0.112, are close (an SD
# from 100 replicates is itself uncertain by about 7%, here 0.007): the standard
# errors describe the real spread, if anything a little generously. No fit was
# singular. The simulated $t$-test power, 0.77 (MC SE 0.04), is within a third of an MC
# SE of the approximation's 0.76 ($z$-gap 0.27), so with 80 classes the
# design-effect approximation can be trusted.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "reads the bias against its MC SE (not against 0 exactly), with numbers"]
#   - [1, "compares empirical_se with mean_std_error and says what agreement means (the SEs are honest)"]
#   - [1, "reads z_gap as a difference in MC standard errors and concludes whether the approximation holds"]
# wrong:
#   - "calls any non-zero bias evidence of bias (loses the first point)"
#   - "reads empirical_se as the standard error of the power (loses the second point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION
