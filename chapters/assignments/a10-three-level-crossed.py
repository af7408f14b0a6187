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
# name: a10-three-level-crossed
# init_cell: true
# check_all_cell: true
# export_cell: false
# solutions_pdf: false
# generate: true

# %% [markdown]
# # Assignment 10: three levels and cross-classification
#
# You analyse one cohort of a school study, simulated from your student ID: pupils in
# classes in 30 secondary schools, who came from 60 primary schools. In part 1 you
# treat it as three nested levels (pupils in classes in schools): you predict where
# the class variance goes when the class level is left out, read the intraclass
# correlations of a three-level model, test whether the class level is needed,
# diagnose a classmate's wrong fit and simulate what leaving out a level does to a
# standard error. In part 2 you add the primary schools, which are crossed with the
# secondary schools, and find out what the nested model attributed wrongly. Chapter
# 10 is the background. Each question says its points and its kind (*predict*,
# *interpret*, *diagnose*, *decide*, *simulate* or *compute*). Written answers are
# graded by hand, on the reasoning: short, precise answers that use your own numbers
# earn full points. After each question run `grader.check("q…")` (it checks the form
# of your answer; the grader checks the values on your own data).

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.stats

import helpers as hp

df = hp.student_data("a10", STUDENT_ID)
seed = hp.student_seed("a10", STUDENT_ID)  # the seed of your simulation (Question 7)
J = df["school"].nunique()
m_bar = df.groupby("school")["class"].nunique().mean()  # classes per school
n_bar = df.groupby(["school", "class"]).size().mean()  # pupils per class
print(
    f"{len(df)} pupils; {J} secondary schools with {m_bar:.2f} classes each on "
    f"average, {n_bar:.1f} pupils per class; {df['primary'].nunique()} primary schools"
)
df.head()

# %% [markdown]
# One row per pupil: `score` (a test score in the first year of secondary school),
# `school` (the secondary school), `class` (the pupil's class, **numbered within its
# school**: class 1 of S01 and class 1 of S02 are two different classes), `texp` (the
# years of experience of the class's teacher) and `primary` (the primary school the
# pupil came from). The two models of part 1 are the intercept-only models with and
# without the class level:

# %%
M3 = "score ~ 1 + (1 | school/class)"  # pupils in classes in schools
M2 = "score ~ 1 + (1 | school)"  # the class level left out

# %% [markdown]
# ## Part 1: three nested levels

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 1** (*predict*, 3 points). **Before fitting anything**: `M3` splits the
# variance of `score` into a school variance $\sigma^2_\text{school}$, a class
# variance $\sigma^2_\text{class}$ and a pupil variance $\sigma^2_e$; `M2` has no
# class level. Predict where the class variance goes in `M2`: how each of its two
# variances changes, which share of $\sigma^2_\text{class}$ each takes (use your
# `m_bar` classes per school and `n_bar` pupils per class), and what happens to the
# total variance. Think of what a class's effect does to its school's mean and to the
# pupils' deviations from their school's mean. You are graded on the reasoning, not
# on being right.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Nothing is lost: the total variance stays about the same, and the class variance is
# shared out between the two levels that are left. A school's mean carries the average
# of its $m$ class effects, whose variance is $\sigma^2_\text{class}/m$: that part
# looks like a difference between schools, so $\sigma^2_\text{school}$ grows by about
# $\sigma^2_\text{class}/m$ (in expectation $\sigma^2_\text{class}(n - 1)/(mn - 1)$,
# with $m$ classes of $n$ pupils in every school). The rest, about
# $\sigma^2_\text{class}(m - 1)/m$, is the spread of the class effects around their
# school's average; within a school it moves pupils up or down, so `M2` counts it as
# pupil variance. With `m_bar` = 3.7 classes of `n_bar` = 18.7 pupils (`s0000000`),
# about a quarter goes to the school and three quarters to the pupils.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the total variance is (about) preserved: the class variance moves to the other two levels, it is not lost"]
#   - [1, "the school variance grows by about sigma2_class / m (the school mean averages its m class effects), with their m_bar"]
#   - [1, "the pupil variance takes the rest, about (m - 1) / m, because class effects vary around the school mean within a school"]
# wrong:
#   - "'all of it goes to the school, because classes are inside schools' (loses the second and third points)"
#   - "'the class variance disappears and the total variance falls' (loses the first point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: predict
# points: 5

# %% [markdown]
# **Question 2** (*predict*, 5 points). Now compute. Fit `M3` and `M2` by REML (the
# default of `hp.fit_lmm`) as `m3` and `m2`. Store the three variances of `m3` in
# `s2_school3`, `s2_class3` and `s2_e3` (`m3.varcorr` lists them by `grp`:
# `"school"`, `"class:school"`, `"Residual"`) and the two of `m2` in `s2_school2`
# and `s2_e2` (`m2.tau` and `m2.sigma2`). Then store the share of the class variance
# that went to the school level,
# `share_school` $= (\hat\sigma^2_{\text{school},2} - \hat\sigma^2_{\text{school},3})
# / \hat\sigma^2_{\text{class},3}$, and the share that went to the pupil level,
# `share_pupil`, defined in the same way from the pupil variances.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m3 = hp.fit_lmm(M3, df)
m2 = hp.fit_lmm(M2, df)
vc3 = m3.varcorr.set_index("grp")["vcov"]
s2_school3, s2_class3, s2_e3 = vc3["school"], vc3["class:school"], vc3["Residual"]
s2_school2, s2_e2 = m2.tau.iloc[0, 0], m2.sigma2
share_school = (s2_school2 - s2_school3) / s2_class3
share_pupil = (s2_e2 - s2_e3) / s2_class3
# END SOLUTION
m3.varcorr, share_school, share_pupil, (n_bar - 1) / (m_bar * n_bar - 1)

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert min(s2_school3, s2_class3, s2_e3, s2_school2, s2_e2) > 0
assert np.isfinite(share_school) and np.isfinite(share_pupil)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "s2_school3, s2_class3 and s2_e3 are the vcov of the rows 'school', 'class:school' and 'Residual' of m3.varcorr, M3 fitted by REML (the default)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_v = hp.fit_lmm("score ~ 1 + (1 | school/class)", _d).varcorr.set_index("grp")["vcov"]
_want = (_v["school"], _v["class:school"], _v["Residual"])
assert np.allclose((s2_school3, s2_class3, s2_e3), _want, rtol=1e-5)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "s2_school2 and s2_e2 are m2.tau.iloc[0, 0] and m2.sigma2, M2 fitted by REML (the default)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_m = hp.fit_lmm("score ~ 1 + (1 | school)", _d)
assert np.allclose((s2_school2, s2_e2), (_m.tau.iloc[0, 0], _m.sigma2), rtol=1e-5)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Each share is the growth of that level's variance from M3 to M2 divided by the class variance of M3: (s2_school2 - s2_school3) / s2_class3 and (s2_e2 - s2_e3) / s2_class3."
""" # END TEST CONFIG
# from your own variances (checked above): a wrong fit does not cost these points too
assert abs(share_school - (s2_school2 - s2_school3) / s2_class3) < 1e-9
assert abs(share_pupil - (s2_e2 - s2_e3) / s2_class3) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 3** (*predict*, 3 points). Reconcile: compare `share_school` and
# `share_pupil` with your prediction and with $(\bar n - 1)/(\bar m \bar n - 1)$ for
# your design (printed above). Do the two shares add up to about 1, and why not
# exactly? A report based on `M2` would say how much of the variance of scores lies
# between secondary schools: is that figure too high or too low, and what does it
# wrongly credit to the schools?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: `share_school` = 0.21 and `share_pupil` = 0.77 against
# $(\bar n - 1)/(\bar m\bar n - 1)$ = 0.26: a fifth to a quarter of the class variance
# moved to the schools and the rest to the pupils, as predicted. The shares add up to
# 0.98: the total variance is nearly preserved, but not exactly, because the formula
# holds for a balanced design (the classes and schools here differ in size) and the two
# models are estimated separately, each with its own sampling error. A report based on
# `M2` overstates the share of the variance between schools (its school variance, 12.4,
# includes 3.4 of the class variance of 16.0): it credits to the school what belongs to
# the classes — a school with one or two strong classes (teachers) looks like a strong
# school.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares both shares with the prediction and with (n - 1)/(mn - 1), with their numbers"]
#   - [1, "shares add to about 1 (total preserved); not exactly because of unequal sizes and separate estimates"]
#   - [1, "M2 overstates the between-school share, crediting class (teacher) differences to the schools"]
# wrong:
#   - "'M2 understates the school variance because a level is missing' (loses the last point)"
#   - "'the shares must add to exactly 1, so the fit is wrong' (loses the second point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: compute
# points: 4

# %% [markdown]
# **Question 4** (*compute*, 4 points). From `m3`, compute the intraclass correlation
# of two pupils **in the same class** (and so the same school), `icc_class`, and of
# two pupils **in the same school but different classes**, `icc_school` (chapter 10;
# Hox 2010 gives the same two formulas).

# %% [raw]
# # BEGIN SOLUTION

# %%
total3 = s2_school3 + s2_class3 + s2_e3
icc_class = (s2_school3 + s2_class3) / total3  # SOLUTION
icc_school = s2_school3 / total3  # SOLUTION
icc_class, icc_school

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < icc_school < icc_class < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Two pupils of the same class share their class effect AND their school effect: icc_class = (s2_school3 + s2_class3) / (s2_school3 + s2_class3 + s2_e3)."
""" # END TEST CONFIG
# from your variances of Question 2 (checked there)
_t = s2_school3 + s2_class3 + s2_e3
assert abs(icc_class - (s2_school3 + s2_class3) / _t) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Two pupils of the same school in different classes share only the school effect: icc_school = s2_school3 / (s2_school3 + s2_class3 + s2_e3)."
""" # END TEST CONFIG
assert abs(icc_school - s2_school3 / (s2_school3 + s2_class3 + s2_e3)) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: decide
# points: 5

# %% [markdown]
# **Question 5** (*decide*, 5 points). Is the class level needed? Compare `M3` with
# `M2` by a likelihood-ratio test, both fitted by ML (`reml=False`, as lme4's `anova`
# refits them): store the statistic (the difference of the deviances) in
# `chisq_class`, its $p$-value with the reference distribution that is valid for a
# variance in `p_class`, and your decision at the 5% level in `class_needed` (True
# or False).

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
m3_ml = hp.fit_lmm(M3, df, reml=False)
m2_ml = hp.fit_lmm(M2, df, reml=False)
chisq_class = m2_ml.deviance - m3_ml.deviance
p_class = 0.5 * scipy.stats.chi2.sf(chisq_class, 1)
class_needed = bool(p_class < 0.05)
# END SOLUTION
chisq_class, p_class, class_needed

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert chisq_class >= 0 and 0 <= p_class <= 1 and class_needed in (True, False)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "chisq_class is the ML deviance of M2 minus the ML deviance of M3 (both with reml=False)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_c = (
    hp.fit_lmm("score ~ 1 + (1 | school)", _d, reml=False).deviance
    - hp.fit_lmm("score ~ 1 + (1 | school/class)", _d, reml=False).deviance
)
assert abs(chisq_class - _c) < 1e-3

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Under the null hypothesis the class variance is 0, on the boundary of its range: the statistic follows a 50:50 mixture of chi2(0) and chi2(1), so p is HALF the chi2(1) p-value."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_c = (
    hp.fit_lmm("score ~ 1 + (1 | school)", _d, reml=False).deviance
    - hp.fit_lmm("score ~ 1 + (1 | school/class)", _d, reml=False).deviance
)
_p = 0.5 * scipy.stats.chi2.sf(_c, 1)
assert p_class > 0 and abs(np.log(p_class) - np.log(_p)) < 1e-3  # p can be tiny

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The class level is needed when the boundary p-value is below 0.05."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_c = (
    hp.fit_lmm("score ~ 1 + (1 | school)", _d, reml=False).deviance
    - hp.fit_lmm("score ~ 1 + (1 | school/class)", _d, reml=False).deviance
)
assert class_needed == bool(0.5 * scipy.stats.chi2.sf(_c, 1) < 0.05)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: diagnose
# points: 4

# %% [markdown]
# **Question 6** (*diagnose*, 4 points). A classmate fitted the three levels as
# `"score ~ 1 + (1 | school) + (1 | class)"` and got a warning from `hp.fit_lmm`. Fit
# it as `m_wrong` (read the warning) and store how many classes that model has,
# `n_class_levels` (`m_wrong.n_levels`), how many classes your data really have,
# `n_classes`, and the class variance of `m_wrong`, `s2_class_wrong`. Then fit
# `"score ~ 1 + (1 | school) + (1 | class_id)"`, where `class_id` (made in the cell
# below) gives every class a label of its own, and store its class variance in
# `s2_class_fixed`.

# %% [raw]
# # BEGIN SOLUTION

# %%
df["class_id"] = df["school"] + "-" + df["class"].astype(str)  # "S01-1", "S01-2", ...
# BEGIN SOLUTION
m_wrong = hp.fit_lmm("score ~ 1 + (1 | school) + (1 | class)", df)
n_class_levels = m_wrong.n_levels["class"]
n_classes = df.groupby(["school", "class"]).ngroups
s2_class_wrong = m_wrong.varcorr.set_index("grp")["vcov"]["class"]
m_fixed = hp.fit_lmm("score ~ 1 + (1 | school) + (1 | class_id)", df)
s2_class_fixed = m_fixed.varcorr.set_index("grp")["vcov"]["class_id"]
# END SOLUTION
m_wrong.varcorr, n_class_levels, n_classes, s2_class_fixed

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert int(n_class_levels) == n_class_levels and int(n_classes) == n_classes
assert s2_class_wrong >= 0 and s2_class_fixed >= 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "m_wrong sees one 'class' per class NUMBER (class 1 of every school pooled into one); the data have one class per (school, class) pair: df.groupby(['school', 'class']).ngroups."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
assert n_class_levels == _d["class"].nunique()
assert n_classes == _d.groupby(["school", "class"]).ngroups

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "s2_class_wrong is the vcov of the row 'class' of m_wrong.varcorr (score ~ 1 + (1 | school) + (1 | class), REML)."
""" # END TEST CONFIG
import warnings as _w

_d = hp.student_data("a10", STUDENT_ID)
with _w.catch_warnings():
    _w.simplefilter("ignore")  # the warning of Question 6 is the point, not news here
    _m = hp.fit_lmm("score ~ 1 + (1 | school) + (1 | class)", _d)
_want = _m.varcorr.set_index("grp")["vcov"]["class"]
assert abs(s2_class_wrong - _want) < 1e-4 * max(1.0, _want)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "With a label of its own for every class, (1 | school) + (1 | class_id) is the nested model M3: s2_class_fixed equals the class variance of M3 (REML)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_v = hp.fit_lmm("score ~ 1 + (1 | school/class)", _d).varcorr.set_index("grp")["vcov"]
assert abs(s2_class_fixed - _v["class:school"]) < 1e-4 * _v["class:school"]

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
# **Question 7** (*simulate*, 6 points). What does leaving out the class level do to
# the standard error of a **class-level** predictor, the teacher's experience `texp`?
# Take as the truth the REML fit `m_t = hp.fit_lmm("score ~ texp + (1 | school/class)",
# df)`: its two fixed effects and its three variances. With the generator `rng` of
# the cell below, simulate `R = 20` new outcome vectors on your design (your pupils,
# classes, schools and `texp`): $\hat\gamma_0 + \hat\gamma_\text{texp}\,$`texp` plus a
# normal effect per school, one per class and one per pupil, with the variances of
# `m_t` (`rng.normal` takes the standard deviation).
# Fit each simulated data set twice, with the class level left out
# (`"score ~ texp + (1 | school)"`) and with it (`"score ~ texp + (1 | school/class)"`),
# and store the estimate and standard error of `texp` from each (`.fixed`) in a
# DataFrame `sims` with one row per data set and the columns `est_ignored`,
# `se_ignored`, `est_three`, `se_three`.
#
# For each model, the average standard error it reports should match the real
# spread of its estimates over the data sets (their standard deviation). Store the
# ratios (mean reported SE / SD of the estimates) in `ratio_ignored` and
# `ratio_three`, and the Monte Carlo standard error of each ratio in `mcse_ignored`
# and `mcse_three`: the ratio times $1/\sqrt{2(R - 1)}$ (the relative Monte Carlo
# error of a standard deviation of $R$ normal draws; the mean SE varies much less).
# Codes that number the schools and the classes $0, 1, \ldots$ help:
# `df.groupby("school").ngroup()` and `df.groupby(["school", "class"]).ngroup()`.

# %% [raw]
# # BEGIN SOLUTION

# %%
R = 20
rng = np.random.default_rng([seed, 7])
# BEGIN SOLUTION
m_t = hp.fit_lmm("score ~ texp + (1 | school/class)", df)
g = m_t.fixed["estimate"]
sd_t = np.sqrt(m_t.varcorr.set_index("grp")["vcov"])
school_code = df.groupby("school").ngroup().to_numpy()
class_code = df.groupby(["school", "class"]).ngroup().to_numpy()
rows = []
for _ in range(R):
    y = (
        g["Intercept"]
        + g["texp"] * df["texp"].to_numpy()
        + rng.normal(0, sd_t["school"], school_code.max() + 1)[school_code]
        + rng.normal(0, sd_t["class:school"], class_code.max() + 1)[class_code]
        + rng.normal(0, sd_t["Residual"], len(df))
    )
    sim = df.assign(score=y)
    a = hp.fit_lmm("score ~ texp + (1 | school)", sim).fixed.loc["texp"]
    b = hp.fit_lmm("score ~ texp + (1 | school/class)", sim).fixed.loc["texp"]
    rows.append((a["estimate"], a["std_error"], b["estimate"], b["std_error"]))
columns = ["est_ignored", "se_ignored", "est_three", "se_three"]
sims = pd.DataFrame(rows, columns=columns)
ratio_ignored = sims["se_ignored"].mean() / sims["est_ignored"].std(ddof=1)
ratio_three = sims["se_three"].mean() / sims["est_three"].std(ddof=1)
mcse_ignored = ratio_ignored / np.sqrt(2 * (R - 1))
mcse_three = ratio_three / np.sqrt(2 * (R - 1))
# END SOLUTION
print(f"without the class level: ratio {ratio_ignored:.2f} (MC SE {mcse_ignored:.2f})")
print(f"with the class level:    ratio {ratio_three:.2f} (MC SE {mcse_three:.2f})")
sims.describe().T[["mean", "std"]]

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert list(sims.columns) == ["est_ignored", "se_ignored", "est_three", "se_three"]
assert len(sims) == R == 20 and (sims[["se_ignored", "se_three"]] > 0).all().all()
assert ratio_ignored > 0 and ratio_three > 0 and 0 < mcse_ignored < ratio_ignored

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Each simulated data set is fitted twice: with (1 | school) only (est_ignored, se_ignored) and with (1 | school/class) (est_three, se_three). With class effects in the simulated data, the model without the class level reports clearly smaller standard errors of texp."
""" # END TEST CONFIG
assert not np.allclose(sims["est_ignored"], sims["est_three"])
assert sims["se_ignored"].mean() < 0.9 * sims["se_three"].mean()

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "ratio = the MEAN of the reported standard errors / the standard deviation (ddof=1) of the ESTIMATES, for each model, over the rows of sims."
""" # END TEST CONFIG
_r = sims["se_ignored"].mean() / sims["est_ignored"].std(ddof=1)
assert abs(ratio_ignored - _r) < 1e-6 * _r
_r = sims["se_three"].mean() / sims["est_three"].std(ddof=1)
assert abs(ratio_three - _r) < 1e-6 * _r

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The Monte Carlo SE of each ratio is the ratio / sqrt(2 (R - 1)), with R = 20 data sets."
""" # END TEST CONFIG
_k = np.sqrt(2 * (len(sims) - 1))
assert abs(mcse_ignored - ratio_ignored / _k) < 1e-6 * ratio_ignored
assert abs(mcse_three - ratio_three / _k) < 1e-6 * ratio_three

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Simulate from m_t = hp.fit_lmm('score ~ texp + (1 | school/class)', df) on your own data (REML): intercept + gamma_texp * texp plus normal effects with STANDARD DEVIATIONS sqrt(vcov). The three-level estimates then average near gamma_texp and their reported SE near that of m_t."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_f = hp.fit_lmm("score ~ texp + (1 | school/class)", _d).fixed.loc["texp"]
_e = sims["est_three"]
assert abs(_e.mean() - _f["estimate"]) < 4 * _e.std(ddof=1) / np.sqrt(len(_e)) + 1e-3
assert abs(sims["se_three"].mean() / _f["std_error"] - 1) < 0.2

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# kind: diagnose
# manual: true
# points: 4

# %% [markdown]
# **Question 8** (*diagnose*, 4 points). Two wrong fits, one diagnosis each. (a) What
# went wrong in your classmate's `m_wrong` (Question 6), and what does it do to the
# class variance, the other variances, and a test of the class level? How is it
# written correctly? (b) Your simulation's `ratio_ignored`: what does leaving out the
# class level do to the standard error, the $p$-value and the confidence interval of
# `texp`, and why does it hit a class-level predictor?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) The classes are numbered within their schools, so `(1 | class)`
# makes one "class" of all classes numbered 1, one of all numbered 2, and so on: 5
# levels instead of 112 for `s0000000`, each a mixture of classes from many schools. The
# variance of such a "class 1" is that of an average of many class effects, so it is
# small (1.7 against 16.0); the real class variance is shared out between the school and
# the pupils as in Question 2 (13.0 and 84.4 instead of 9.1 and 72.9). A test or an
# intraclass correlation of this "class" level answers a meaningless question (do class
# numbers differ?) and understates how much classes matter, whatever its $p$-value.
# Nested classes need labels that say which school they belong to: `(1 | school/class)`,
# `(1 | school) + (1 | school:class)`, or a unique `class_id`, which gives exactly
# `M3`'s class variance. (b) Without the class level the model reports a standard error
# of `texp` about half the real one (`ratio_ignored` = 0.48 ± 0.08, against
# `ratio_three` = 0.95 ± 0.15 for `s0000000`): its test statistic is too large, its
# $p$-value too small and its interval too narrow, so teacher experience looks more
# certain than the data allow. `texp` varies between classes only, and classes differ by more than their
# pupils do (the class effect is shared by all the pupils of a class): the model without
# that level treats each pupil as independent information on `texp` when the information
# really comes from 112 classes.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) the labels are numbered within schools, so (1 | class) pools class k of every school into one level (their n_class_levels against n_classes)"]
#   - [1, "(a) consequence: the 'class' variance is that of class numbers (small), the real class variance moves to school and pupils, so tests and ICCs of the class level mean nothing; fix with school/class, school:class or unique labels"]
#   - [1, "(b) SE too small (their ratio_ignored with its MC SE, against ratio_three near 1), so p too small and the interval too narrow"]
#   - [1, "(b) because texp varies only between classes: the class effects make pupils of a class dependent, and the model that ignores them counts every pupil as independent information"]
# wrong:
#   - "'the warning is harmless because lme4 gives the same numbers' (loses the second point: lme4 fits the same wrong model silently)"
#   - "'leaving out the class level makes the estimate of texp biased' (loses the fourth point: the estimates average the same, the SE is wrong)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Part 2: primary schools crossed with secondary schools
#
# Every pupil also came from a primary school. A primary school sends its pupils to
# several secondary schools, and a secondary school takes pupils from several primary
# schools: the two are **crossed**, not nested. Most pupils of a secondary school come
# from a few nearby primary schools, though; this table shows, for each secondary
# school, the share of its pupils that came from its two largest primary schools:

# %%
feeders = df.groupby("school")["primary"].agg(
    lambda p: p.value_counts().iloc[:2].sum() / len(p)
)
feeders.describe()[["mean", "min", "max"]]

# %%
MX = "score ~ 1 + (1 | school/class) + (1 | primary)"  # M3 with the primary schools

# %% [raw]
# # BEGIN QUESTION
# name: q9
# kind: compute
# points: 5

# %% [markdown]
# **Question 9** (*compute*, 5 points). Fit `MX` by REML as `mx` and store its
# primary-school variance in `s2_primary` and its secondary-school variance in
# `s2_school_x`. Then, with the total variance of `mx` (all four variances), store the
# correlation of the scores of two pupils **from the same primary school who went to
# different secondary schools**, `icc_primary`, and of two pupils **from the same
# primary school and the same secondary school, in different classes**, `icc_both`.

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
mx = hp.fit_lmm(MX, df)
vcx = mx.varcorr.set_index("grp")["vcov"]
s2_primary, s2_school_x = vcx["primary"], vcx["school"]
total_x = vcx.sum()
icc_primary = s2_primary / total_x
icc_both = (s2_primary + s2_school_x) / total_x
# END SOLUTION
mx.varcorr, icc_primary, icc_both

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert s2_primary >= 0 and s2_school_x >= 0
assert 0 <= icc_primary <= icc_both < 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "s2_primary and s2_school_x are the vcov of the rows 'primary' and 'school' of mx.varcorr (MX fitted by REML, the default)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_v = hp.fit_lmm("score ~ 1 + (1 | school/class) + (1 | primary)", _d).varcorr
_v = _v.set_index("grp")["vcov"]
assert np.allclose((s2_primary, s2_school_x), (_v["primary"], _v["school"]), rtol=1e-4)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Primary and secondary schools are crossed, not nested: two pupils of one primary school in different secondary schools share ONLY the primary effect, so icc_primary = s2_primary / (s2_primary + s2_school + s2_class + s2_e)."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_v = hp.fit_lmm("score ~ 1 + (1 | school/class) + (1 | primary)", _d).varcorr
_v = _v.set_index("grp")["vcov"]
assert abs(icc_primary - _v["primary"] / _v.sum()) < 1e-4

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Same primary and same secondary school, different classes: they share the primary and the school effect (not the class effect); divide by the total of all four variances."
""" # END TEST CONFIG
_d = hp.student_data("a10", STUDENT_ID)
_v = hp.fit_lmm("score ~ 1 + (1 | school/class) + (1 | primary)", _d).varcorr
_v = _v.set_index("grp")["vcov"]
assert abs(icc_both - (_v["primary"] + _v["school"]) / _v.sum()) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10
# kind: interpret
# manual: true
# points: 5

# %% [markdown]
# **Question 10** (*interpret*, 5 points). The table puts the variances of the nested
# model `M3` (Question 2) beside those of the crossed model `MX`. (a) Which matters
# more for a pupil's score, the primary school they came from or the secondary school
# they attend? (b) Where did the nested model put the primary-school variance, and
# why there — use the feeder table above? What did it therefore attribute wrongly to
# the secondary schools? (c) A classmate suggests `(1 | school/primary)` instead of
# `(1 | primary)`. What would that model assume about a primary school, and why is it
# wrong here?

# %%
# (M3 has no primary level: NaN in its column)
pd.DataFrame(
    {
        "nested M3": m3.varcorr.set_index("grp")["vcov"],
        "crossed MX": mx.varcorr.set_index("grp")["vcov"],
    }
).reindex(["primary", "school", "class:school", "Residual"])

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) For `s0000000` the two are about equal: primary 8.9, secondary 7.8 (the
# classes, 16.2, matter more than either). Other students' data differ; the
# comparison needs both factors in one model. (b) In `M3` the secondary-school variance
# was 9.1 and the pupil variance 72.9; with the primary schools in the model they are
# 7.8 and 67.0: about 1.3 of the primary variance of 8.9 had been counted as
# secondary-school variance and about 6 as pupil variance (the class variance hardly
# moved). A secondary school's mean carries the effects of its feeder primary schools
# (about 80% of its pupils come from its two largest ones), so part of the primary
# variance looks like a difference between secondary schools; what varies between
# pupils of one school who came from different primary schools looks like pupil
# variance. The nested model thus credits to the secondary schools part of what their
# intake brought from primary school. (c) `(1 | school/primary)` would give each
# primary school a separate effect in every secondary school it sends pupils to, as
# if "P07 in S01" and "P07 in S02" were unrelated groups; but it is one school whose
# effect its former pupils carry into every secondary school. The crossed
# `(1 | primary)` gives it one effect, shared by all its pupils wherever they went.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) compares s2_primary with s2_school_x with their numbers, from the crossed model"]
#   - [2, "(b) where the primary variance went in M3 (secondary-school and pupil variance, with numbers) and why (the feeder pattern: a school's mean carries its feeders' effects)"]
#   - [1, "(b) the nested model overstates the secondary schools' share: it credits them with part of their intake's primary-school effect"]
#   - [1, "(c) nesting would split each primary school into unrelated pieces, one per secondary school; it is one school whose effect follows its pupils (crossed)"]
# wrong:
#   - "reads the crossed model as nested, e.g. 'in MX the secondary-school variance contains the primary variance' or adds the two as if every primary school lay inside one secondary school (loses the 2 points of (b))"
#   - "'the primary variance went into the class variance' without checking the table (loses a point of (b))"
# # END RUBRIC

# %% [raw]
# # END QUESTION
