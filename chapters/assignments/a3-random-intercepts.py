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
# You analyse a study of 20 to 30 schools: a random sample of whole schools of High
# School and Beyond (`mAch` mathematics achievement, `ses` socio-economic status,
# `sector` Catholic or Public), drawn from your student ID. With that few schools the
# choice between ML and REML is visible, and it decides which numbers you may report
# and which models you may compare. Chapter 3 is the background; the questions ask
# you to predict, diagnose and decide, not to repeat its code.
#
# Write your student ID in the first code cell, run the cells in order, and after each
# question run `grader.check("q…")` (it checks the form of your answer; the grader
# checks the values on your own schools).

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a3-random-intercepts.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import warnings

import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a3", STUDENT_ID)
J = df["school"].nunique()
FULL = "mAch ~ ses + sector + (1 | school)"
print(f"{len(df)} students in {J} schools")
df.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 1** (*predict*, 3 points). **Before fitting anything**: you will fit the
# model `FULL` (`mAch ~ ses + sector + (1 | school)`) to your schools once by maximum
# likelihood (ML) and once by REML. Predict which of the two gives the larger
# between-school variance $\sigma^2_{u0}$, roughly by how much (think of dividing a sum
# of squares by $n$ or by $n - 1$, with your number of schools and fixed effects), and
# whether the fixed effects will differ much. You are graded on the reasoning.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# REML gives the larger $\sigma^2_{u0}$: ML treats the three fixed effects as known and
# so underestimates the variances, as dividing by $n$ instead of $n - 1$ does. The
# between-school variance is estimated from about $J$ school means, so the ML estimate
# is too small by a factor of roughly $(J - 3)/J$: about 10-15% with 20-30 schools.
# The fixed effects barely change (they are weighted means with almost the same
# weights).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "REML larger (or ML smaller), stated before computing"]
#   - [1, "the reason: ML ignores that the fixed effects were estimated (the n versus n - 1 analogy)"]
#   - [1, "the size from the number of schools relative to the fixed effects (about (J - p)/J), and fixed effects nearly equal"]
# wrong:
#   - "'ML is larger because ML is the better estimator': loses the reason point (the prediction point is still given if stated)"
#   - "the size from the number of students (7000 or 1000 students: negligible): loses the last point; the variance between schools is estimated from J schools"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: compute
# points: 5

# %% [markdown]
# **Question 2** (*compute*, 5 points). Fit `FULL` by ML (`m_ml`) and by REML
# (`m_reml`) and store the two estimates of $\sigma^2_{u0}$ in `tau_ml` and `tau_reml`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m_ml = hp.fit_lmm(FULL, df, reml=False)
m_reml = hp.fit_lmm(FULL, df, reml=True)
tau_ml = m_ml.tau.iloc[0, 0]
tau_reml = m_reml.tau.iloc[0, 0]
# END SOLUTION
tau_ml, tau_reml, tau_reml / tau_ml

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert tau_ml >= 0 and tau_reml >= 0, "variances are not negative"

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "tau_ml comes from the fit with reml=False; hp.fit_lmm fits by REML unless told otherwise."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_t = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d, reml=False).tau.iloc[0, 0]
assert abs(tau_ml - _t) < 1e-4 * _t

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "tau_reml is the between-school variance of the REML fit (reml=True, the default) of the full model."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_t = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d, reml=True).tau.iloc[0, 0]
assert abs(tau_reml - _t) < 1e-4 * _t

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: interpret
# manual: true
# points: 4

# %% [markdown]
# **Question 3** (*interpret*, 4 points). Compare `tau_reml / tau_ml` with your
# prediction and with $J/(J - 3)$ for your $J$. Which of the two estimates goes into
# the table of variance components of a report, and why? Would the ratio be closer to
# 1 or further from it with all 160 schools?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The ratio is a little above 1 and of the order of $J/(J - 3)$ (not equal: the
# schools differ in size and the correction is not exactly a degrees-of-freedom
# factor). The report gives REML's variance components: ML's are biased downward
# because they ignore that the fixed effects were estimated, and REML corrects that.
# With 160 schools the correction $J/(J - 3)$ is about 1.02, so the two would be
# closer.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares the ratio with the prediction and with J/(J - 3) (similar size, not exact)"]
#   - [2, "REML in the report, because ML's variance estimates are biased downward (fixed effects treated as known)"]
#   - [1, "closer to 1 with 160 schools (the correction shrinks with the number of schools)"]
# wrong:
#   - "'ML, because it is the maximum likelihood estimate' or 'ML, because it has the smaller deviance': loses the 2 points"
#   - "'further from 1 with more schools' or 'depends on the number of students': loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: diagnose
# points: 4

# %% [markdown]
# **Question 4** (*diagnose*, 4 points). A classmate tests `sector` by fitting
# `mAch ~ ses + (1 | school)` and `FULL` with `hp.fit_lmm`'s default and taking the
# difference of their `deviance` (for a REML fit, the REML criterion). Store that
# difference (smaller model minus `FULL`) in `diff_reml`. Then compute the correct
# likelihood-ratio statistic in `lr_ml` and its $p$-value ($\chi^2$, 1 df) in `p_ml`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
diff_reml = hp.fit_lmm("mAch ~ ses + (1 | school)", df).deviance - m_reml.deviance
lr_ml = hp.fit_lmm("mAch ~ ses + (1 | school)", df, reml=False).deviance - m_ml.deviance
p_ml = scipy.stats.chi2.sf(lr_ml, 1)
# END SOLUTION
diff_reml, lr_ml, p_ml

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert np.isfinite(diff_reml) and lr_ml >= 0 and 0 <= p_ml <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "diff_reml is the REML deviance of mAch ~ ses + (1 | school) minus that of FULL, both fitted with the default (REML)."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_a = hp.fit_lmm("mAch ~ ses + (1 | school)", _d).deviance
_b = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d).deviance
assert abs(diff_reml - (_a - _b)) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Models that differ in their fixed part are compared by their ML deviances (reml=False for both); REML criteria of different fixed parts are likelihoods of different data. p from chi2 with 1 df."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_a = hp.fit_lmm("mAch ~ ses + (1 | school)", _d, reml=False).deviance
_b = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d, reml=False).deviance
assert abs(lr_ml - (_a - _b)) < 1e-4
_p = scipy.stats.chi2.sf(_a - _b, 1)
assert abs(p_ml - _p) <= 1e-6 * _p  # relative: these p-values can be tiny

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: diagnose
# manual: true
# points: 3

# %% [markdown]
# **Question 5** (*diagnose*, 3 points). Why is `diff_reml` not a test of `sector`,
# although it looks like one? Name a comparison for which REML deviances *are* the
# right ones.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# REML maximises the likelihood of the residuals left after the fixed effects are
# removed; with another fixed part those residuals are other data, so the two REML
# criteria are likelihoods of different data and their difference has no $\chi^2$
# distribution (here it differs from `lr_ml`). `hp.compare` refuses that comparison.
# REML deviances compare models with the **same** fixed part that differ in their
# random part, e.g. a random slope or, with care at the boundary, a variance.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "the REML criterion depends on the fixed part (likelihood of the residual contrasts, other data for each fixed part), so the difference is no likelihood-ratio statistic"]
#   - [1, "REML deviances are comparable for models with the same fixed part that differ in the random part"]
# wrong:
#   - "'REML is less accurate than ML': loses the 2 points; REML is better for the variances"
#   - "'REML deviances can never be compared': loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: decide
# points: 5

# %% [markdown]
# **Question 6** (*decide*, 5 points). Do your schools differ at all once `ses` and
# `sector` are in the model? Test $\sigma^2_{u0} = 0$ by comparing `m_ml` with the
# ordinary regression `hp.fit_ols("mAch ~ ses + sector", df)` (its ML deviance is
# `-2 * ols.result.llf`): store the deviance difference in `chisq_u0`, the $p$-value
# appropriate for a variance on the boundary in `p_u0`, and your decision at the 5%
# level in `schools_differ` (True or False).

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
ols = hp.fit_ols("mAch ~ ses + sector", df)
chisq_u0 = -2 * ols.result.llf - m_ml.deviance
p_u0 = 0.5 * scipy.stats.chi2.sf(chisq_u0, 1)
schools_differ = bool(p_u0 < 0.05)
# END SOLUTION
chisq_u0, p_u0, schools_differ

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert chisq_u0 >= 0 and 0 <= p_u0 <= 1 and schools_differ in (True, False)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "chisq_u0 is -2 * ols.result.llf minus the ML deviance of FULL (both ML: the OLS fit is the model without the random intercept)."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_c = -2 * hp.fit_ols("mAch ~ ses + sector", _d).result.llf - hp.fit_lmm(
    "mAch ~ ses + sector + (1 | school)", _d, reml=False
).deviance
assert abs(chisq_u0 - _c) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "A variance cannot be negative: under the null hypothesis the statistic follows a 50:50 mixture of chi2(0) and chi2(1), so p is half the naive chi2(1) p-value."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_c = -2 * hp.fit_ols("mAch ~ ses + sector", _d).result.llf - hp.fit_lmm(
    "mAch ~ ses + sector + (1 | school)", _d, reml=False
).deviance
_p = 0.5 * scipy.stats.chi2.sf(_c, 1)
assert abs(p_u0 - _p) <= 1e-6 * _p  # relative: these p-values can be tiny

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The schools differ when the boundary p-value is below 0.05."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_c = -2 * hp.fit_ols("mAch ~ ses + sector", _d).result.llf - hp.fit_lmm(
    "mAch ~ ses + sector + (1 | school)", _d, reml=False
).deviance
assert schools_differ == bool(0.5 * scipy.stats.chi2.sf(_c, 1) < 0.05)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: simulate
# points: 6

# %% [markdown]
# **Question 7** (*simulate*, 6 points). Is ML's smaller variance a bias? Draw 100
# outcome vectors from the REML fit (`m_reml.simulate(100, seed=...)`, rows are data
# sets), refit each by ML and by REML (`m_ml.refit(y)`, `m_reml.refit(y)`), and store
# the 100 pairs of estimates of $\sigma^2_{u0}$ in a DataFrame `tau_sims` with columns
# `"ML"` and `"REML"`. Store the average error of each method relative to the value
# the data were simulated from (`tau_reml`) in `bias_ml` and `bias_reml`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
ys = m_reml.simulate(100, seed=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # a refit may land on the boundary
    tau_sims = pd.DataFrame(
        {
            "ML": [m_ml.refit(y).tau.iloc[0, 0] for y in ys],
            "REML": [m_reml.refit(y).tau.iloc[0, 0] for y in ys],
        }
    )
bias_ml = tau_sims["ML"].mean() - tau_reml
bias_reml = tau_sims["REML"].mean() - tau_reml
# END SOLUTION
tau_sims.describe().T, bias_ml, bias_reml

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert tau_sims.shape == (100, 2) and list(tau_sims.columns) == ["ML", "REML"]

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Each simulated data set is fitted twice, by ML (m_ml.refit) and by REML (m_reml.refit): the ML estimate is the smaller one in (nearly) every pair."
""" # END TEST CONFIG
assert (tau_sims["ML"] <= tau_sims["REML"] + 1e-6).mean() >= 0.9
assert tau_sims["ML"].mean() < tau_sims["REML"].mean()

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The bias is the mean estimate minus the value the data were simulated from, the REML estimate tau_reml of Question 2."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_t = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d).tau.iloc[0, 0]
assert abs(bias_ml - (tau_sims["ML"].mean() - _t)) < 1e-6
assert abs(bias_reml - (tau_sims["REML"].mean() - _t)) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Simulate from the REML fit of the full model on your schools (m_reml.simulate): its REML refits then average close to tau_reml."
""" # END TEST CONFIG
_d = hp.student_data("a3", STUDENT_ID)
_t = hp.fit_lmm("mAch ~ ses + sector + (1 | school)", _d).tau.iloc[0, 0]
_r = tau_sims["REML"]
# REML is nearly unbiased here: within 4 Monte Carlo standard errors, plus 10%.
assert abs(_r.mean() - _t) < 4 * _r.std(ddof=1) / np.sqrt(len(_r)) + 0.1 * _t

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# kind: decide
# manual: true
# points: 4

# %% [markdown]
# **Question 8** (*decide*, 4 points). Write the two or three sentences of a results
# section for your schools: the between-school and within-school variances (from
# which fit, with their values), the test of `sector` and the test of the school
# variance (each with its statistic, degrees of freedom or reference distribution,
# and $p$-value).

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Variance components from the REML fit: between schools $\hat\sigma^2_{u0}$ =
# `tau_reml`, within schools `m_reml.sigma2`. Sector, tested by the ML likelihood
# ratio: $\chi^2(1)$ = `lr_ml`, $p$ = `p_ml`. The school variance, tested against the
# ordinary regression with the 50:50 mixture of $\chi^2_0$ and $\chi^2_1$:
# statistic `chisq_u0`, $p$ = `p_u0` (half the naive value).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "variance components from the REML fit, with both values"]
#   - [1, "sector: the ML likelihood-ratio test with chi2(1), statistic and p"]
#   - [1, "school variance: the boundary (50:50 mixture) p-value, not the naive one"]
# wrong:
#   - "variances from the ML fit 'because the tests use ML': loses the 2 points"
#   - "the REML deviance difference as the test of sector: loses the sector point"
#   - "the naive chi2(1) p-value for the variance: loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION
