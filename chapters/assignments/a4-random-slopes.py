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
# # Assignment 4: random slopes and a cross-level interaction
#
# Chapter 4 let the extraversion slope vary across classes and explained part of that
# variation by teacher experience. Your data are pupils in 40 school classes, drawn for
# you from your student ID: `popular` (popularity, 0–10), `extrav` (extraversion,
# 1–10), `gender` (0 boy, 1 girl) and `texp` (the teacher's experience in years, the
# same for every pupil of a class). Every number you are asked for comes from **your**
# data, so your answers differ from your classmates'.
#
# Questions marked *predict* ask you to write a prediction **before** you compute;
# it is graded on its reasoning, not on being right. Written answers are graded by
# hand; after each computed answer run `grader.check("q…")`, which checks its form
# only (the substance is graded after you submit). 10 questions, 36 points.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a4-random-slopes.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a4", STUDENT_ID)
df.head()

# %% [markdown]
# The model of the chapter, with the cross-level interaction, is fitted here by REML
# (the default; its estimates of the variances are the ones to report). You will use
# `cross` throughout.

# %%
CROSS = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"
cross = hp.fit_lmm(CROSS, df)
cross.fixed.round(4)

# %% [raw]
# # BEGIN QUESTION
# name: q1
# manual: true
# points: 2
# kind: predict

# %% [markdown]
# **Question 1** (*predict*, 2 points). The model
# `popular ~ extrav + gender + texp + (1 + extrav | class)` (call it `slope`) has no
# `extrav:texp` term; `cross` adds it. **Before computing anything:** what do you
# expect to happen to the estimated variance of the class extraversion slopes,
# $\sigma^2_{u1}$, when the cross-level interaction is added? Give the reason in one
# or two sentences.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The slope variance should fall: in `slope` it holds all the differences between the
# class slopes, including the part that follows teacher experience; in `cross` that
# part is carried by $\gamma_{11}$ and $\sigma^2_{u1}$ keeps only what texp does not
# explain.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "predicts that the slope variance falls (or says what would make it not fall)"]
#   - [1, "reason: the interaction explains the part of the slope differences that follows teacher experience; sigma2_u1 is the variance left over"]
# wrong:
#   - "the slope variance rises because the model has more parameters (confuses it with the fit improving)"
#   - "says the interaction explains pupil-level (residual) variance"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 4
# kind: predict

# %% [markdown]
# **Question 2** (*predict*, 4 points; the computation). Fit `slope` by REML. Store the
# slope variance $\hat\sigma^2_{u1}$ of `slope` in `s2u1_slope`, that of `cross` in
# `s2u1_cross`, and the proportion of the slope variance that teacher experience
# explains, $1 - \hat\sigma^2_{u1,\text{cross}} / \hat\sigma^2_{u1,\text{slope}}$, in
# `explained`.

# %% [raw]
# # BEGIN SOLUTION

# %%
slope = hp.fit_lmm("popular ~ extrav + gender + texp + (1 + extrav | class)", df)  # SOLUTION
s2u1_slope = slope.tau.loc["extrav", "extrav"]  # SOLUTION
s2u1_cross = cross.tau.loc["extrav", "extrav"]  # SOLUTION
explained = 1 - s2u1_cross / s2u1_slope  # SOLUTION
s2u1_slope, s2u1_cross, explained

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert s2u1_slope >= 0 and s2u1_cross >= 0
if s2u1_slope > 0:  # (with a slope variance estimated at 0 there is nothing to explain)
    assert explained < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The slope variance is the extrav-extrav entry of tau, of REML fits (reml=True, the default) of both models to your data."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_s = hp.fit_lmm("popular ~ extrav + gender + texp + (1 + extrav | class)", _d)
_c = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d)
_v0, _v1 = _s.tau.loc["extrav", "extrav"], _c.tau.loc["extrav", "extrav"]
# 0.5%: room for another optimiser, far below the 3-8% between ML and REML here
# (+1e-8: a variance estimated at 0 is matched by 0)
assert abs(s2u1_slope - _v0) < 5e-3 * _v0 + 1e-8
assert abs(s2u1_cross - _v1) < 5e-3 * _v1 + 1e-8

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The proportion explained is 1 - (slope variance with the interaction) / (slope variance without it), from fits of the two models to your data."
""" # END TEST CONFIG
# Charged once: the formula, applied to the student's two variances, from fits of
# the student's data (REML as asked, or ML: that mistake costs the case above).
_d = hp.student_data("a4", STUDENT_ID)
_s = hp.fit_lmm("popular ~ extrav + gender + texp + (1 + extrav | class)", _d)
_c = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d)
_v0, _v1 = _s.tau.loc["extrav", "extrav"], _c.tau.loc["extrav", "extrav"]
if _v0 > 0:
    assert abs(explained - (1 - s2u1_cross / s2u1_slope)) < 1e-9
    _ml = [
        hp.fit_lmm(_f, _d, reml=False).tau.loc["extrav", "extrav"]
        for _f in (_s.formula, _c.formula)
    ]
    _e = (1 - _v1 / _v0, 1 - _ml[1] / _ml[0])
    assert min(abs(explained - _e[0]), abs(explained - _e[1])) < 5e-3
else:  # no slope variance to explain: the ratio is undefined (nan or -inf)
    assert not np.isfinite(explained)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# manual: true
# points: 2
# kind: predict

# %% [markdown]
# **Question 3** (*predict*, 2 points; the reconciliation). Compare Question 2 with your
# prediction. Where they differ, say which part of your reasoning was wrong; where they
# agree, say what `explained` means in words. Why could `explained` even come out
# negative in a sample of 40 classes?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For the solution's data the slope variance falls from about 0.060 to 0.028:
# teacher experience accounts for about half (54%) of the variation of the class slopes, as
# predicted; the rest is class-to-class variation that texp does not explain. Both are
# estimates from 40 classes, each with a wide sampling distribution. When texp explains
# little of the slope variation, the two estimates are close and sampling error alone
# can make the second exceed the first: the "proportion explained" is then negative —
# it is a ratio of estimates, not a proportion of anything observed.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "states the result against the prediction correctly and reads explained as the share of between-class slope variance that teacher experience accounts for"]
#   - [1, "negative: both variances are estimates from 40 classes with sampling error; the ratio is not bounded below by 0"]
# wrong:
#   - "explained is the share of the variance of popularity (or of pupils' outcomes) explained"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 4
# kind: compute

# %% [markdown]
# **Question 4** (*compute*, 4 points). With `cross.slopes`, compute the simple slopes
# of `extrav` at teacher experience 5, 15 and 25 years; store the three estimates, in
# that order, in the array `simple_slopes`. Is the estimated extraversion slope larger
# (more positive) for more experienced teachers, i.e. is $\hat\gamma_{11} > 0$? Store
# `True` or `False` in `stronger`. With
# `cross.johnson_neyman("extrav", "texp")`, store the two teacher-experience values
# where the simple slope's test is exactly at the 5% level, smallest first, in
# `jn_bounds` (a tuple of two numbers).

# %% [raw]
# # BEGIN SOLUTION

# %%
ss = cross.slopes("extrav", at={"texp": [5, 15, 25]})  # SOLUTION
simple_slopes = ss["estimate"].to_numpy()  # SOLUTION
stronger = bool(cross.fixed.loc["extrav:texp", "estimate"] > 0)  # SOLUTION
jn = cross.johnson_neyman("extrav", "texp")  # SOLUTION
jn_bounds = tuple(sorted(jn.bounds))  # SOLUTION
ss, jn

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(simple_slopes) == 3 and isinstance(stronger, (bool, np.bool_))
assert len(jn_bounds) == 2 and jn_bounds[0] <= jn_bounds[1]

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The simple slope at texp = z is gamma10 + gamma11 * z from the REML fit cross; cross.slopes('extrav', at={'texp': [5, 15, 25]}) gives them."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_c = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d)
_g = _c.fixed["estimate"]
_ss = _g["extrav"] + _g["extrav:texp"] * np.array([5.0, 15.0, 25.0])
assert np.allclose(np.asarray(simple_slopes, dtype=float), _ss, atol=1e-4)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The sign of the cross-level interaction gamma11 says how the extraversion slope changes with each year of teacher experience: positive, the slope is steeper (extraversion matters more) with more experienced teachers."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_g = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d).fixed["estimate"]
assert isinstance(stronger, (bool, np.bool_))
assert bool(stronger) == bool(_g["extrav:texp"] > 0)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The Johnson-Neyman bounds are cross.johnson_neyman('extrav', 'texp').bounds, the two teacher-experience values where |t| of the simple slope equals its critical value."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_c = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d)
_b = sorted(_c.johnson_neyman("extrav", "texp").bounds)
assert np.allclose(np.asarray(jn_bounds, dtype=float), _b, rtol=1e-3, atol=1e-2)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# manual: true
# points: 5
# kind: interpret

# %% [markdown]
# **Question 5** (*interpret*, 5 points). In the code cell, print
# `cross.slopes("extrav", at={"texp": [5, 15, 25]})` and
# `cross.johnson_neyman("extrav", "texp")`; then answer in the text cell. In plain language, for
# a head teacher who has never heard of a mixed model: (a) how does the effect of a
# pupil's extraversion on popularity depend on the experience of the teacher; give the
# effect of one point of extraversion for a teacher with 5 and with 25 years; (b) for
# which teachers *in your data* (their experience runs from about 2 to 25 years) can
# we say the effect differs from zero at the 5% level, and what does *not* follow for
# the other teachers; (c) what $\hat\gamma_{10}$, the coefficient of `extrav` in
# `cross.fixed`, is, and why it is not "the effect of extraversion".

# %% [raw]
# # BEGIN SOLUTION

# %%
print(cross.slopes("extrav", at={"texp": [5, 15, 25]}).round(3))  # SOLUTION
print(cross.johnson_neyman("extrav", "texp"))  # SOLUTION

# %% [markdown]
# (Numbers of the solution's data.) (a) Each year of teacher experience makes the
# extraversion slope about 0.025 steeper: for a teacher with 5 years, one point of
# extraversion goes with 0.03 points more popularity (in the same class, other things
# equal), for a teacher with 25 years with about 0.54 points. (b) The Johnson–Neyman
# bounds are about −2.8 and 7.1 years, and the slope differs from 0 outside them. The
# bound at −2.8 lies outside the data (experience runs from 2 to 24 years here) and is
# dismissed, so in these data the slope is positive and differs from 0 for every
# teacher with more than about 7 years of experience, and nowhere is it significantly
# negative. (Had both bounds fallen inside the data, as 2.7 and 7.5 do for another
# student's data, the slope would also differ from 0 below the lower bound, with the
# opposite sign: negative there. With a negative $\hat\gamma_{11}$ the picture is
# mirrored: the slope is significantly positive below the lower bound, for the
# less-experienced teachers, and an upper bound past 25 years is the one dismissed.)
# For the teachers between 2 and 7 years we cannot tell the effect from zero; this
# does not show that extraversion has no effect there (absence of evidence), and the
# bounds themselves are estimates. (c)
# $\hat\gamma_{10}$ is the extraversion slope of a class whose teacher has zero years
# of experience — a point outside the data, an extrapolation of the line, not an
# average effect.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "(a) the direction of the change in the slope with experience matches the sign of gamma11, with the two simple slopes in the outcome's units (per point of extraversion)"]
#   - [2, "(b) names every region inside the observed texp range where the slope differs from 0, with its sign (a bound outside the data is dismissed); non-significance elsewhere is not evidence of no effect"]
#   - [1, "(c) gamma10 is the slope at texp = 0, outside the data, not an average effect"]
# wrong:
#   - "reads the sign of the interaction backwards: with a negative gamma11 says extraverts gain more popularity with experienced teachers (loses the 2 points of (a))"
#   - "reads gamma11 as the effect of teacher experience on popularity (confuses it with gamma01)"
#   - "says the interaction is significant only inside the Johnson-Neyman region (the region is about the simple slope, not the interaction)"
#   - "names only the region beyond the upper bound when the lower bound also lies inside the data (misses the region where the slope differs from 0 with the opposite sign)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## A colleague's analysis
#
# A colleague fitted the same data without the random slope and wrote: *"The
# cross-level interaction is highly significant"*, quoting its t statistic and its
# degrees of freedom from this fit:

# %%
colleague = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 | class)", df)
colleague.fixed.loc[["extrav", "extrav:texp"]].round(4)

# %% [raw]
# # BEGIN QUESTION
# name: q6
# manual: true
# points: 4
# kind: diagnose

# %% [markdown]
# **Question 6** (*diagnose*, 4 points). What is wrong with the colleague's model for
# this claim, and why does it make the interaction look more certain than it is?
# Name the chapter's idea that applies, and say which number the df of a test of a
# cross-level interaction should be comparable to here.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The model omits the random slope of extraversion although the slopes vary between
# classes (Questions 2 and 8). Then all classes are assumed to share one slope (up to
# texp), and every pupil counts as independent evidence about how the slope changes
# with texp — but texp varies only between classes, so the information about
# $\gamma_{11}$ comes from 40 class slopes, and the class-to-class variation of the
# slopes is part of its error. Leaving $\sigma^2_{u1}$ out puts that variation into
# nothing: the standard error of $\hat\gamma_{11}$ is too small and the df (≈ 770,
# counting pupils) far too large; the df should be of the order of the number of
# classes (≈ 40 − 2). The fix: keep `(1 + extrav | class)`.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "names the omitted random slope (slope variance) as the problem"]
#   - [1, "explains: texp varies between classes only, so the evidence for gamma11 is the number of classes and the slope variance is part of its error; the SE is too small"]
#   - [1, "df comparable to the number of classes (about 40), not pupils"]
# wrong:
#   - "says the colleague should have used ML (the estimation method is not the problem)"
#   - "says the interaction is not significant (the claim's direction may well hold; its certainty is overstated)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# points: 3
# kind: diagnose

# %% [markdown]
# **Question 7** (*diagnose*, 3 points; the fix). From `cross` (the fix), store the
# standard error of the interaction in `se_fixed`; in `se_ratio`, `se_fixed` divided
# by the colleague's standard error of the interaction; and in `df_fixed` the
# interaction's Satterthwaite degrees of freedom (the `df` column of `cross.fixed`).

# %% [raw]
# # BEGIN SOLUTION

# %%
se_fixed = cross.fixed.loc["extrav:texp", "std_error"]  # SOLUTION
se_ratio = se_fixed / colleague.fixed.loc["extrav:texp", "std_error"]  # SOLUTION
df_fixed = cross.fixed.loc["extrav:texp", "df"]  # SOLUTION
se_fixed, se_ratio, df_fixed

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert se_fixed > 0 and se_ratio > 0 and df_fixed > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Take the standard error of extrav:texp from the model with (1 + extrav | class), fitted by REML, and divide it by the colleague's."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_c = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d)
_r = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 | class)", _d)
_se = _c.fixed.loc["extrav:texp", "std_error"]
assert abs(se_fixed - _se) < 1e-3 * _se
assert abs(se_ratio - _se / _r.fixed.loc["extrav:texp", "std_error"]) < 1e-3 * se_ratio

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The df of a cross-level interaction is Satterthwaite's (the df column of cross.fixed), close to the number of classes, not the number of pupils minus the number of coefficients."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_df = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d).fixed.loc["extrav:texp", "df"]
assert abs(df_fixed - _df) < 0.02 * _df

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# points: 5
# kind: simulate

# %% [markdown]
# **Question 8** (*simulate*, 5 points). How often does the colleague's test reject a
# true null hypothesis? Fit `null = popular ~ extrav + gender + texp + (1 + extrav |
# class)` (REML) to your data: a model with varying slopes and **no** interaction.
# For `r = 0, 1, …, 99`, draw a new outcome from it with
# `hp.simulate_lmm(null, data=df, seed=r)`, fit the colleague's model to it and
# record the p-value of `extrav:texp` (the `p_value` column of `.fixed`). Store the
# 100 p-values in order in `p_null` (an array), the proportion below 0.05 (the test's
# actual size) in `size`, and its Monte Carlo standard error in `size_mcse`.
# Is the size within two Monte Carlo standard errors of 0.05? Say so in a comment.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
null = hp.fit_lmm("popular ~ extrav + gender + texp + (1 + extrav | class)", df)
COLLEAGUE = "popular ~ extrav + gender + texp + extrav:texp + (1 | class)"
p_null = []
for r in range(100):
    sim = hp.simulate_lmm(null, data=df, seed=r)
    p_null.append(hp.fit_lmm(COLLEAGUE, sim).fixed.loc["extrav:texp", "p_value"])
p_null = np.array(p_null)
size = np.mean(p_null < 0.05)
size_mcse = np.sqrt(size * (1 - size) / len(p_null))
# Far more than two Monte Carlo SE above 0.05: the test rejects a true null far too often.
# END SOLUTION
size, size_mcse

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(p_null) == 100 and 0 <= size <= 1 and size_mcse >= 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 3
failure_message: "Replicate r: simulate from the REML fit of the null model with hp.simulate_lmm(null, data=df, seed=r), fit the colleague's model (random intercept only), keep the p-value of extrav:texp."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_n = hp.fit_lmm("popular ~ extrav + gender + texp + (1 + extrav | class)", _d)
_f = "popular ~ extrav + gender + texp + extrav:texp + (1 | class)"
for _r in (0, 1, 57):
    _p = hp.fit_lmm(_f, hp.simulate_lmm(_n, data=_d, seed=_r)).fixed.loc["extrav:texp", "p_value"]
    assert abs(p_null[_r] - _p) < 1e-3 * _p + 1e-8

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The size is the proportion of the 100 p-values below 0.05."
""" # END TEST CONFIG
assert abs(size - np.mean(np.asarray(p_null) < 0.05)) < 1e-12

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "A proportion p estimated from R independent replicates has Monte Carlo standard error sqrt(p (1 - p) / R)."
""" # END TEST CONFIG
assert abs(size_mcse - np.sqrt(size * (1 - size) / 100)) < 1e-3 * max(size_mcse, 1e-3)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# points: 2
# kind: decide

# %% [markdown]
# **Question 9** (*decide*, 2 points). Do the extraversion slopes vary between classes
# beyond what teacher experience explains? Test $\sigma^2_{u1} = 0$ in `cross` against
# the model with `(1 | class)` and the same fixed part, with a test that is valid for
# a variance on the boundary of its parameter space, and store its p-value in
# `p_slope_var`. (The fixed parts are identical, so REML fits may be compared; ML
# fits are accepted too.)

# %% [raw]
# # BEGIN SOLUTION

# %%
p_slope_var = hp.compare(colleague, cross)["p_value"].iloc[1]  # SOLUTION
hp.compare(colleague, cross)

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert 0 <= p_slope_var <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Adding a random slope adds a variance and a covariance: chi-square on 2 df is wrong on the boundary; the reference is the 50:50 mixture of chi-square(1) and chi-square(2), which hp.compare applies."
""" # END TEST CONFIG
_d = hp.student_data("a4", STUDENT_ID)
_ok = []
for _reml in (True, False):
    _a = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 | class)", _d, reml=_reml)
    _b = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", _d, reml=_reml)
    _x = max(_a.deviance - _b.deviance, 0.0)
    _p = 0.5 * scipy.stats.chi2.sf(_x, 1) + 0.5 * scipy.stats.chi2.sf(_x, 2)
    _ok.append(abs(p_slope_var - _p) <= 1e-3 * _p + 1e-12)
assert any(_ok)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10
# manual: true
# points: 5
# kind: decide

# %% [markdown]
# **Question 10** (*decide*, 5 points). Justify the test of Question 9 against two
# alternatives a colleague might propose: (a) the chi-square test with 2 df on the
# same deviance difference, (b) the Wald z test of $\hat\sigma^2_{u1}$ divided by
# its standard error. Then say which model you report for the interaction, and why
# Questions 6–8 make that choice necessary here even if the p-value of Question 9 had
# been, say, 0.08.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Under $H_0$ the slope variance is 0, on the edge of its parameter space, so the
# deviance difference is not $\chi^2_2$: half of the time the estimate sits at 0 and
# the covariance is not identified, which gives the 50:50 mixture of $\chi^2_1$ and
# $\chi^2_2$; $\chi^2_2$ is conservative (its p-value is too large). The Wald z test
# assumes the variance estimate is normal with a symmetric interval, which fails for
# a variance near zero with 40 classes (its distribution is skewed and bounded by 0).
# For the interaction I report `cross`, with the random slope. Even with p = 0.08 the
# slope variance would not be shown to be zero, and leaving it out makes the test of
# the cross-level interaction anti-conservative (Questions 7–8: its SE too small, its
# size far above 5%); a random slope belongs in the model whenever a cross-level
# interaction with that slope is tested.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "(a) the variance is on the boundary under H0; the mixture is the right reference and chi2(2) is conservative"]
#   - [1, "(b) the Wald z test of a variance relies on a normal sampling distribution that fails near 0 and with few groups"]
#   - [2, "reports the model with the random slope, because omitting it makes the test of the cross-level interaction anti-conservative (uses Questions 7-8), whatever the p-value of the variance test"]
# wrong:
#   - "drops the random slope whenever the variance test is not significant at 5% (loses the last 2 points)"
#   - "says chi2(2) is anti-conservative (it is conservative)"
# # END RUBRIC

# %% [raw]
# # END QUESTION
