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
# init_cell: false
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 7: growth models
#
# You analyse 100 children of the reading-growth study of chapter 7 (`growth`: reading
# `score`, actual time `years` since the start, planned `wave`, `support`, the
# home-reading programme, and `reading`, the weekly hours of home reading reported at
# each assessment), drawn from your student ID. You move time zero and predict what it
# does, interpret the programme's effect on growth, decide how a next study should
# space its assessments, and check whether a child's residuals are correlated over
# time.
#
# Notation as in the book: $\sigma^2_{u0}$, $\sigma_{u01}$ and $\sigma^2_{u1}$ are the
# variance of the children's intercepts, the intercept–slope covariance and the
# variance of their growth rates, the entries of `m.tau` (`m.tau.iloc[0, 0]`,
# `iloc[0, 1]`, `iloc[1, 1]`); the code calls them `tau00`, `tau01`, `tau11`.
#
# Write your student ID in the first code cell, run the cells in order, and after each
# question run `grader.check("q…")` (it checks the form of your answer; the grader
# checks the values on your own children).

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a7-growth.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd

import helpers as hp

df = hp.student_data("a7", STUDENT_ID)
print(f"{len(df)} assessments of {df['child'].nunique()} children")
df.head()

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 1** (*predict*, 3 points). **Before fitting**: in the model
# `score ~ T + (1 + T | child)`, time `T` can count from the start of the study
# (`T = years`) or from its end (`T = years - 4`). Predict what moving time zero to the
# end does to (a) the fixed slope of `T`, (b) the intercept variance $\sigma^2_{u0}$ and
# (c) the intercept–slope correlation. You are graded on the reasoning.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) Nothing: the slope is the same growth rate whatever the zero of time. (b) The
# intercept is now the level at four years; children who grow at different rates have
# drifted apart by then, so the variance of the level,
# $\sigma^2_{u0} + 2 \cdot 4\,\sigma_{u01} + 16\,\sigma^2_{u1}$ in terms of the start
# model, is larger — as long as the lines fan out rather than converge, that is when
# $\sigma_{u01} > -2\sigma^2_{u1}$ (with a strongly negative covariance the children
# would first come closer).
# (c) The correlation becomes strongly positive: a child's level at the end is largely
# made by their growth rate.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) the fixed slope does not change"]
#   - [1, "(b) the intercept variance grows, because differences in growth accumulate (the variance of the level at t is tau00 + 2 t tau01 + t^2 tau11), unless the lines converge (a strongly negative covariance; reasoning that says so earns the point)"]
#   - [1, "(c) the correlation moves towards +1 (the level at the end is made by the rate)"]
# wrong:
#   - "'the slope changes because the intercept changes': loses (a)"
#   - "'nothing changes, it is the same model': loses (b) and (c); the fit is the same, its parameters are not"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: compute
# points: 5

# %% [markdown]
# **Question 2** (*compute*, 5 points). Fit `score ~ T + (1 + T | child)` by REML
# with time counted from the start and from the end (four years). Store the intercept
# variance of the start model in `tau00_start`, that of the end model in `tau00_end`,
# the end model's intercept–slope correlation in `corr_end` and its fixed slope in
# `slope_end`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m_start = hp.fit_lmm("score ~ T + (1 + T | child)", df.assign(T=df["years"]))
m_end = hp.fit_lmm("score ~ T + (1 + T | child)", df.assign(T=df["years"] - 4))
tau00_start = m_start.tau.loc["Intercept", "Intercept"]
tau00_end = m_end.tau.loc["Intercept", "Intercept"]
corr_end = m_end.correlations().loc["Intercept", "T"]
slope_end = m_end.fixed.loc["T", "estimate"]
# END SOLUTION
tau00_start, tau00_end, corr_end, slope_end

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert tau00_start > 0 and tau00_end > 0 and -1 <= corr_end <= 1 and slope_end > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Time zero at the end: T = years - 4 (actual time, not the wave number), REML."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ T + (1 + T | child)", _d.assign(T=_d["years"] - 4))
assert abs(tau00_end - _m.tau.iloc[0, 0]) < 1e-4 * _m.tau.iloc[0, 0]
assert abs(corr_end - _m.correlations().iloc[0, 1]) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "tau00_start is the intercept variance with T = years (REML)."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ T + (1 + T | child)", _d.assign(T=_d["years"]))
assert abs(tau00_start - _m.tau.iloc[0, 0]) < 1e-4 * _m.tau.iloc[0, 0]

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "slope_end is the fixed effect of T in the end model: the same growth rate as with time from the start."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ years + (1 + years | child)", _d)
assert abs(slope_end - _m.fixed.loc["years", "estimate"]) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: interpret
# manual: true
# points: 3

# %% [markdown]
# **Question 3** (*interpret*, 3 points). Compare with your prediction. Check
# `tau00_end` against the start model's $\sigma^2_{u0} + 2 \cdot 4\,\sigma_{u01} + 16\,\sigma^2_{u1}$
# (from `m_start.tau`) and say why the two agree.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# They agree (to the optimiser's precision): moving time zero is a reparametrisation,
# and the variance of $u_{0} + 4u_{1}$, the level at four years, is
# $\sigma^2_{u0} + 8\sigma_{u01} + 16\sigma^2_{u1}$. The fixed slope is unchanged; the correlation
# at the end is strongly positive.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the comparison with the prediction"]
#   - [1, "the numbers agree (with the computed value)"]
#   - [1, "why: the same model reparametrised; the level at 4 is u0 + 4 u1, whose variance is the formula"]
# wrong:
#   - "'they differ because REML depends on time zero': loses the last point (the REML criterion is invariant to this shift)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: interpret
# points: 5

# %% [markdown]
# **Question 4** (*interpret*, 5 points). Fit `score ~ years * support + (1 + years | child)`
# by ML (`m_x`). Store the cross-level interaction `years:support` in `gamma11`, the
# growth rate (points per year) of children without and with the programme in
# `rate_without` and `rate_with` (e.g. from `m_x.slopes("years", at={"support": [0, 1]})`),
# and the expected difference in score between children with and without the
# programme four years after the start in `gap_at_4`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m_x = hp.fit_lmm("score ~ years * support + (1 + years | child)", df, reml=False)
b = m_x.fixed["estimate"]
gamma11 = b["years:support"]
rates = m_x.slopes("years", at={"support": [0, 1]})["estimate"].to_numpy()
rate_without, rate_with = rates
gap_at_4 = b["support"] + 4 * b["years:support"]
# END SOLUTION
gamma11, rate_without, rate_with, gap_at_4

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert all(np.isfinite([gamma11, rate_without, rate_with, gap_at_4]))

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "gamma11 is the estimate of years:support in the ML fit of score ~ years * support + (1 + years | child)."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_b = hp.fit_lmm("score ~ years * support + (1 + years | child)", _d, reml=False).fixed
assert abs(gamma11 - _b.loc["years:support", "estimate"]) < 1e-5

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The growth rate without the programme is the coefficient of years; with it, years plus years:support (the interaction is the difference between the rates, not a rate)."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_b = hp.fit_lmm("score ~ years * support + (1 + years | child)", _d, reml=False).fixed
_b = _b["estimate"]
assert abs(rate_without - _b["years"]) < 1e-5
assert abs(rate_with - (_b["years"] + _b["years:support"])) < 1e-5

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The main effect of support is the gap at years = 0; four years later the gap is support + 4 * years:support."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_b = hp.fit_lmm("score ~ years * support + (1 + years | child)", _d, reml=False).fixed
_b = _b["estimate"]
assert abs(gap_at_4 - (_b["support"] + 4 * _b["years:support"])) < 1e-5

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: interpret
# manual: true
# points: 4

# %% [markdown]
# **Question 5** (*interpret*, 4 points). In words, with units: what do `gamma11` and
# the main effect of `support` mean here? Is the programme's effect on growth
# distinguishable from zero (use `m_x.fixed`, which has Satterthwaite degrees of
# freedom)? Would the main effect of `support` change if time were counted from the
# end of the study, and to what?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# `gamma11`: children in the programme gain that many more points per year than
# children outside it (the difference of the two growth rates). The main effect of
# `support` is the expected difference at the start ($t = 0$), before the programme
# could act. The interaction's $t$ test (its df and $p$ from `m_x.fixed`) decides
# whether the difference in growth is distinguishable from zero. With time from the
# end, the main effect becomes the gap at four years, `gap_at_4`; the interaction is
# unchanged.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "gamma11 as the difference in growth rate (points per year) between the groups"]
#   - [1, "the main effect of support as the gap at time zero (the start)"]
#   - [1, "the interaction's test, with its estimate, df and p"]
#   - [1, "with time from the end the main effect becomes the gap at four years (gap_at_4); the interaction stays"]
# wrong:
#   - "'gamma11 is the growth rate of the supported children': loses the first point"
#   - "'support raises the score by gamma01 at every age': loses the second point"
#   - "'the main effect would not change': loses the last point"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: decide
# points: 4

# %% [markdown]
# **Question 6** (*decide*, 4 points). A next study can assess each child only twice.
# The reliability of a child's own growth rate estimated from their occasions $t$ is
# $\sigma^2_{u1} / \big(\sigma^2_{u1} + \sigma^2_e / \sum (t - \bar t)^2\big)$. With $\sigma^2_{u1}$
# and $\sigma^2_e$ of the REML start model `m_start`, store the reliability for two
# assessments half a year apart in `rel_close`, four years apart in `rel_far`, and the
# design with the more reliable growth rates (`"close"` or `"far"`) in `design`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
tau11, sigma2 = m_start.tau.loc["T", "T"], m_start.sigma2


def reliability(times):
    t = np.asarray(times, dtype=float)
    return tau11 / (tau11 + sigma2 / ((t - t.mean()) ** 2).sum())


rel_close, rel_far = reliability([0, 0.5]), reliability([0, 4])
design = "far" if rel_far > rel_close else "close"
# END SOLUTION
rel_close, rel_far, design

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= rel_close <= 1 and 0 <= rel_far <= 1 and design in ("close", "far")

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The sampling variance of a slope is sigma2_e / sum((t - mean t)^2): with two occasions d apart, sigma2_e / (d^2 / 2); tau11 and sigma2_e from the REML fit with time from the start."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ T + (1 + T | child)", _d.assign(T=_d["years"]))
_t11, _s2 = _m.tau.iloc[1, 1], _m.sigma2
assert abs(rel_close - _t11 / (_t11 + _s2 / (0.5**2 / 2))) < 1e-6
assert abs(rel_far - _t11 / (_t11 + _s2 / (4**2 / 2))) < 1e-6

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The better design is the one with the higher reliability."
""" # END TEST CONFIG
assert design == "far"  # 4 years apart: 64 times the sum of squares of 0.5 years apart

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: simulate
# points: 5

# %% [markdown]
# **Question 7** (*simulate*, 5 points). Check `rel_far` by simulation. Draw 2000
# children whose true growth rates vary with variance $\sigma^2_{u1}$ (`tau11` of Question
# 6) around the average rate, assess each at $t = 0$ and $t = 4$ with measurement
# errors of variance $\sigma^2_e$ (and a level that varies with $\sigma^2_{u0}$, which
# does not matter here), compute each child's own slope from their two scores, and
# store in `rel_sim` the squared correlation of the estimated and the true slopes (the
# reliability is that share of true variance in the estimates).

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
rng = np.random.default_rng(7)
true_rate = 6 + rng.normal(0, np.sqrt(tau11), 2000)
level = 30 + rng.normal(0, np.sqrt(m_start.tau.iloc[0, 0]), 2000)
y0 = level + rng.normal(0, np.sqrt(sigma2), 2000)
y4 = level + 4 * true_rate + rng.normal(0, np.sqrt(sigma2), 2000)
own_rate = (y4 - y0) / 4
rel_sim = np.corrcoef(own_rate, true_rate)[0, 1] ** 2
# END SOLUTION
rel_sim, rel_far

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 <= rel_sim <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 4
failure_message: "Simulate true rates with variance tau11, two scores 4 years apart with error variance sigma2_e each, the slope (y4 - y0) / 4; the squared correlation with the true rates estimates the reliability."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ T + (1 + T | child)", _d.assign(T=_d["years"]))
_t11, _s2 = _m.tau.iloc[1, 1], _m.sigma2
_r = _t11 / (_t11 + _s2 / 8)
# Within 4 standard errors of a squared correlation from 2000 pairs (delta method).
assert abs(rel_sim - _r) < 4 * 2 * np.sqrt(_r) * (1 - _r) / np.sqrt(2000) + 0.005

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
# **Question 8** (*decide*, 4 points). Recommend how the next study should place a
# child's assessments if it wants to compare the children's growth rates. Use
# `rel_close` and `rel_far`, and say what the study gives up with only two occasions.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Spread the assessments as far apart as the study allows: `rel_far` is far above
# `rel_close`, because the sum of squares of the occasions grows with the square of
# their spacing. What is given up: with only two occasions per child, each child's
# two scores fix a line exactly, so the study cannot separate the measurement error
# $\sigma^2_e$ from the variance of the growth rates $\sigma^2_{u1}$ (it has to borrow
# $\sigma^2_e$ from elsewhere, as Questions 6–7 borrowed it from this study), nor
# check that growth is linear; and a longer span loses more children along the way.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "far apart, because the sampling variance of a slope falls with the square of the spacing (reliability numbers cited)"]
#   - [1, "with only two occasions per child the study cannot separate sigma2_e from tau11 or check linearity"]
#   - [1, "a longer span loses more children (attrition), the price of the wider spacing"]
# wrong:
#   - "'close together, so that fewer children drop out', with no reliability argument: loses the 2 points"
#   - "'more occasions always beat wider spacing': loses the first 2 points unless backed by sum((t - mean t)^2)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# kind: diagnose
# points: 6

# %% [markdown]
# **Question 9** (*diagnose*, 6 points). The model `m_x` of Question 4 has independent
# residuals, yet two scores of the same child are correlated through the child's
# intercept and slope. From `m_x.tau` and `m_x.sigma2`, compute the correlation the
# model implies between a child's scores at `years` 0 and 4 (`corr_0_4`) and at 3.5
# and 4 (`corr_35_4`); the covariance at times $t$ and $s$ is
# $\sigma^2_{u0} + \sigma_{u01}(t + s) + \sigma^2_{u1} t s$, plus $\sigma^2_e$ when $t = s$.
# Then ask whether the residuals are correlated beyond that: refit `m_x` by ML with
# continuous-time AR(1) residuals, `residuals=hp.CAR1(time="years")` (the occasions
# are irregular), and store $\hat\phi$ (the correlation of two residuals of a child
# one year apart, `m_car.residual_params["phi"]`) in `phi_year` and the p-value of
# `hp.compare(m_x, m_car)` in `p_car`. (CAR(1)'s $\phi$ lies in $[0, 1)$, so
# $\phi = 0$, independent residuals, is on the boundary: `hp.compare` uses the 50:50
# mixture of $\chi^2(0)$ and $\chi^2(1)$, as its column `test` says.)

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
T = m_x.tau.to_numpy()


def implied_cov(t, s):
    return T[0, 0] + T[0, 1] * (t + s) + T[1, 1] * t * s + m_x.sigma2 * (t == s)


def implied_corr(t, s):
    return implied_cov(t, s) / np.sqrt(implied_cov(t, t) * implied_cov(s, s))


corr_0_4 = implied_corr(0.0, 4.0)
corr_35_4 = implied_corr(3.5, 4.0)
m_car = hp.fit_lmm(
    "score ~ years * support + (1 + years | child)",
    df,
    reml=False,
    residuals=hp.CAR1(time="years"),
)
phi_year = m_car.residual_params["phi"]
p_car = hp.compare(m_x, m_car)["p_value"].iloc[1]
# END SOLUTION
corr_0_4, corr_35_4, phi_year, p_car

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert all(-1 <= v <= 1 for v in (corr_0_4, corr_35_4)) and 0 <= phi_year < 1
assert 0 <= p_car <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "corr(Y_0, Y_4) = cov / sqrt(var_0 var_4) with cov = tau00 + 4 tau01 and var_t = tau00 + 2 t tau01 + t^2 tau11 + sigma2_e: the residual variance belongs in both variances."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ years * support + (1 + years | child)", _d, reml=False)
_T, _s2 = _m.tau.to_numpy(), _m.sigma2


def _var(t):
    return _T[0, 0] + 2 * t * _T[0, 1] + t * t * _T[1, 1] + _s2


assert abs(corr_0_4 - (_T[0, 0] + 4 * _T[0, 1]) / np.sqrt(_var(0) * _var(4))) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "For 3.5 and 4 the covariance is tau00 + 7.5 tau01 + 14 tau11; the late scores correlate more because the children's lines fan out."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_m = hp.fit_lmm("score ~ years * support + (1 + years | child)", _d, reml=False)
_T, _s2 = _m.tau.to_numpy(), _m.sigma2
_c = _T[0, 0] + 7.5 * _T[0, 1] + 14 * _T[1, 1]
_v = [_T[0, 0] + 2 * t * _T[0, 1] + t * t * _T[1, 1] + _s2 for t in (3.5, 4.0)]
assert abs(corr_35_4 - _c / np.sqrt(_v[0] * _v[1])) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Refit the model of Question 4 by ML with residuals=hp.CAR1(time='years'); phi is m_car.residual_params['phi'] and the p-value is the second row of hp.compare(m_x, m_car)."
""" # END TEST CONFIG
_d = hp.student_data("a7", STUDENT_ID)
_f = "score ~ years * support + (1 + years | child)"
_m0 = hp.fit_lmm(_f, _d, reml=False)
_m1 = hp.fit_lmm(_f, _d, reml=False, residuals=hp.CAR1(time="years"))
assert abs(phi_year - _m1.residual_params["phi"]) < 1e-3
assert abs(p_car - hp.compare(_m0, _m1)["p_value"].iloc[1]) < 1e-3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
