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
# # Assignment 5: empirical Bayes shrinkage and prediction
#
# Chapter 5 showed that multilevel predictions are reliability-weighted averages of a
# group's own data and the model's prediction for it. Your data are the homes of 45
# Minnesota counties drawn for you from your student ID, from the radon data of the
# chapter: `log_radon` (log radon of a home), `county`, `county_name` and `uranium`
# (log uranium in the county's soil, one value per county). Every number you are
# asked for comes from **your** data.
#
# Questions marked *predict* ask you to write a prediction **before** you compute;
# it is graded on its reasoning, not on being right. Written answers are graded by
# hand; after each computed answer run `grader.check("q…")`, which checks its form
# only (the substance is graded after you submit). 9 questions, 31 points.

# %%
# Initialize Otter: the grader behind every grader.check("q…") below.
import otter

grader = otter.Notebook("a5-shrinkage.ipynb")

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import warnings

import numpy as np
import pandas as pd

import helpers as hp

df = hp.student_data("a5", STUDENT_ID)

# The model used throughout (REML), and one row per county.
m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", df)
counties = df.groupby("county", observed=True).agg(
    name=("county_name", "first"),
    n=("log_radon", "size"),
    ybar=("log_radon", "mean"),
    uranium=("uranium", "first"),
)
m.fixed.round(4), m.tau, m.sigma2

# %% [raw]
# # BEGIN QUESTION
# name: q1
# manual: true
# points: 2
# kind: predict

# %% [markdown]
# **Question 1** (*predict*, 2 points). Each county's empirical Bayes (EB) prediction
# of its mean log radon lies between its own mean $\bar Y_j$ and the model's
# prediction from uranium alone, $\hat\gamma_{00} + \hat\gamma_{01}\,U_j$. **Before
# computing:** (a) will your county with the fewest homes or your county with the most
# homes be pulled by the larger *proportion* of its distance toward that line, and
# roughly how large will each proportion be, judging from `m.tau` and `m.sigma2`?
# (b) Of two counties with the same number of homes, is the one whose mean lies far
# from its line pulled by a larger *proportion* than the one close to it?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) The county with the fewest homes: its reliability
# $\lambda_j = \sigma^2_{u0} / (\sigma^2_{u0} + \sigma^2_e / n_j)$ is small because its
# mean is noisy. With $\hat\sigma^2_{u0} \approx 0.025$ and $\hat\sigma^2_e \approx 0.62$,
# a county with one home keeps about 4% of its distance (is pulled 96%), the county with
# 116 homes keeps about 80% (is pulled about 20%). (b) No: the proportion depends only on
# $n_j$ and the variances; the far county moves a larger *distance*, by the same
# proportion.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "(a) the smallest county is pulled by the larger proportion, with a reason (its mean is less reliable) and an order of magnitude from tau and sigma2"]
#   - [1, "(b) the same proportion (it depends on n_j and the variances only); the distance moved is larger"]
# wrong:
#   - "extreme counties are pulled by a larger proportion (confuses the distance moved with the proportion)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 5
# kind: predict

# %% [markdown]
# **Question 2** (*predict*, 5 points; the computation). By hand, from `m.tau`, `m.sigma2`,
# `m.fixed` and `counties`: store each county's reliability $\lambda_j$ in `lam` and
# its EB prediction of the county's mean log radon,
# $\lambda_j \bar Y_j + (1 - \lambda_j)(\hat\gamma_{00} + \hat\gamma_{01} U_j)$, in `eb`;
# both Series indexed by county, in the order of `counties`.

# %% [raw]
# # BEGIN SOLUTION

# %%
tau00, sigma2 = m.tau.iloc[0, 0], m.sigma2  # SOLUTION
g = m.fixed["estimate"]  # SOLUTION
line = g["Intercept"] + g["uranium"] * counties["uranium"]  # SOLUTION
lam = tau00 / (tau00 + sigma2 / counties["n"])  # SOLUTION
eb = lam * counties["ybar"] + (1 - lam) * line  # SOLUTION
pd.DataFrame({"n": counties["n"], "lam": lam, "pulled": 1 - lam, "eb": eb}).sort_values("n")

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(lam) == len(counties) and len(eb) == len(counties)
assert ((np.asarray(lam) >= 0) & (np.asarray(lam) < 1)).all()

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Reliability of county j: tau00 / (tau00 + sigma2 / n_j), with n_j the homes of that county (not the average county size)."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_c = _d.groupby("county", observed=True).agg(
    n=("log_radon", "size"), ybar=("log_radon", "mean"), u=("uranium", "first")
)
_t = _m.tau.iloc[0, 0]
_lam = _t / (_t + _m.sigma2 / _c["n"].to_numpy())
# rtol 1e-3: statsmodels' REML variances (when it converges) agree to about 1e-4
assert np.allclose(np.asarray(lam, dtype=float), _lam, rtol=1e-3, atol=1e-6)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 3
failure_message: "Shrink each county's mean toward the model's prediction for that county, gamma00 + gamma01 * uranium_j, not toward gamma00 or the overall mean: with uranium in the model the target differs by county."
""" # END TEST CONFIG
# Checked with the student's own reliabilities, so an error there is charged once.
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_c = _d.groupby("county", observed=True).agg(
    n=("log_radon", "size"), ybar=("log_radon", "mean"), u=("uranium", "first")
)
_l = np.asarray(lam, dtype=float)
_line = _m.fixed.loc["Intercept", "estimate"] + _m.fixed.loc["uranium", "estimate"] * _c["u"]
_eb = _l * _c["ybar"].to_numpy() + (1 - _l) * _line.to_numpy()
assert np.allclose(np.asarray(eb, dtype=float), _eb, rtol=1e-4, atol=1e-4)

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
# prediction: give the proportion pulled, $1 - \lambda_j$, of your smallest and your
# largest county, and check (b) on two counties of equal size in your table. Then say
# why the EB predictions of `eb` agree with `m.predict(counties.reset_index())`
# (try it).

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Solution's data: the county with one home is pulled 96% of the way to its line, the
# county with 116 homes about 18%; two counties of equal size have the same $\lambda_j$
# whatever their distance. `m.predict` returns the fixed part plus the conditional mode
# $\hat u_{0j} = \lambda_j(\bar Y_j - \hat\gamma_{00} - \hat\gamma_{01}U_j)$, which is
# the same weighted average: the conditional mode of a random-intercept model *is* the
# reliability-weighted average.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the two proportions from their own table, compared with the prediction; equal sizes give equal proportions"]
#   - [1, "the model's prediction is the fixed part plus the conditional mode, which equals the weighted average"]
# wrong:
#   - "says they agree by chance or because of rounding"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 4
# kind: compute

# %% [markdown]
# **Question 4** (*compute*, 4 points). With `m.predict(new, interval=...)` (95%), store
# as tuples `(lower, upper)`:
# - `pi_small`: the **prediction** interval for the log radon of one new home in the
#   county with the fewest homes (`counties["n"].idxmin()`, the first such county);
# - `ci_small`: the **confidence** interval for that county's **mean** log radon;
# - `pi_large`: the prediction interval for a new home in the county with the most
#   homes (`counties["n"].idxmax()`);
# - `pi_new`: the prediction interval for a new home in a county **not** in your data,
#   with `uranium = 0` (a row with a county label that is not in your data, e.g.
#   `"new"`, or any label with `include_random=False`).

# %% [raw]
# # BEGIN SOLUTION

# %%
small, large = counties["n"].idxmin(), counties["n"].idxmax()  # SOLUTION
rows = counties.loc[[small, large], ["uranium"]].reset_index()  # SOLUTION
pr = m.predict(rows, interval="prediction")  # SOLUTION
cf = m.predict(rows, interval="confidence")  # SOLUTION
pi_small = (pr["lower"].iloc[0], pr["upper"].iloc[0])  # SOLUTION
pi_large = (pr["lower"].iloc[1], pr["upper"].iloc[1])  # SOLUTION
ci_small = (cf["lower"].iloc[0], cf["upper"].iloc[0])  # SOLUTION
fresh = pd.DataFrame({"county": [small], "uranium": [0.0]})  # SOLUTION
pn = m.predict(fresh, include_random=False, interval="prediction")  # SOLUTION
# (with the label "new" and include_random=True: the same interval, and a warning)
pi_new = (pn["lower"].iloc[0], pn["upper"].iloc[0])  # SOLUTION
pi_small, ci_small, pi_large, pi_new

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
for _i in (pi_small, ci_small, pi_large, pi_new):
    assert len(_i) == 2 and _i[0] < _i[1]

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "A new home in a county you have seen: m.predict(row, interval='prediction'), the row holding that county and its uranium."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_c = _d.groupby("county", observed=True).agg(n=("log_radon", "size"), uranium=("uranium", "first"))
_rows = _c.loc[[_c["n"].idxmin(), _c["n"].idxmax()], ["uranium"]].reset_index()
_p = _m.predict(_rows, interval="prediction")
assert np.allclose(pi_small, (_p["lower"].iloc[0], _p["upper"].iloc[0]), rtol=1e-3, atol=1e-3)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The mean of a county is a confidence interval (interval='confidence'): it leaves out the variance sigma2 of a single home around its county's mean."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_c = _d.groupby("county", observed=True).agg(n=("log_radon", "size"), uranium=("uranium", "first"))
_rows = _c.loc[[_c["n"].idxmin()], ["uranium"]].reset_index()
_f = _m.predict(_rows, interval="confidence")
assert np.allclose(ci_small, (_f["lower"].iloc[0], _f["upper"].iloc[0]), rtol=1e-3, atol=1e-3)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The county with the most homes is counties['n'].idxmax(); its prediction interval as for the smallest."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_c = _d.groupby("county", observed=True).agg(n=("log_radon", "size"), uranium=("uranium", "first"))
_p = _m.predict(_c.loc[[_c["n"].idxmax()], ["uranium"]].reset_index(), interval="prediction")
assert np.allclose(pi_large, (_p["lower"].iloc[0], _p["upper"].iloc[0]), rtol=1e-3, atol=1e-3)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "A new county has an unknown random effect: include_random=False with interval='prediction' adds its variance tau00 to sigma2."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_n = _m.predict(
    pd.DataFrame({"county": [_d["county"].iloc[0]], "uranium": [0.0]}),
    include_random=False,
    interval="prediction",
)
assert np.allclose(pi_new, (_n["lower"].iloc[0], _n["upper"].iloc[0]), rtol=1e-3, atol=1e-3)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# manual: true
# points: 4
# kind: interpret

# %% [markdown]
# **Question 5** (*interpret*, 4 points). Read your four intervals. (a) Why is
# `pi_small` so much wider than `ci_small`, and why are `pi_small` and `pi_large`
# nearly as wide as each other although one county has far more homes? (b) Which
# interval do you give to a homeowner in the smallest county who asks "what will
# *my* radon level be?", and which to the county's health officer who asks about the
# county's typical level? (c) What does the interval for a new county add to that for a
# county in the data, and why are `pi_new` and `pi_small` nevertheless so close?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# (a) A prediction interval adds the variance of one home around its county mean,
# $\hat\sigma^2_e \approx 0.62$ (SD ≈ 0.79), which dwarfs the uncertainty about the
# county's mean (SE about 0.15 for the smallest county, shrunk to its line, and less
# for the largest); since $\sigma^2_e$ is the same for every county, both prediction
# intervals have nearly the width $\pm 1.96\,\hat\sigma_e$ (3.15 and 3.10 here).
# (b) The homeowner needs the prediction interval (one home); the health officer the
# confidence interval for the county mean. (c) A new county's effect is unknown, so its
# interval adds the whole $\hat\sigma^2_{u0}$ (where a county in the data adds only
# its conditional variance $(1 - \lambda_j)\hat\sigma^2_{u0}$). But with one home
# the smallest county's $\lambda_j$ is about 0.04, so its conditional variance is
# almost the whole $\hat\sigma^2_{u0}$ anyway, and $\hat\sigma^2_{u0} \approx 0.025$
# is small next to $\hat\sigma^2_e \approx 0.62$: the two widths agree to about
# 0.001 (what remains is the fixed part's uncertainty at the two uranium values).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [2, "(a) the prediction interval adds sigma2_e of one home, which dominates and is the same for all counties; the county mean's uncertainty is small (and smaller for the large county)"]
#   - [1, "(b) prediction interval for the homeowner, confidence interval for the county mean"]
#   - [1, "(c) a new county adds the whole random-intercept variance (a county in the data its conditional variance); close here because the smallest county's reliability is tiny and sigma2_u0 is small next to sigma2_e"]
# wrong:
#   - "gives the confidence interval to the homeowner (it covers the county mean, not a home)"
#   - "says the large county's prediction interval should be much narrower because it has more data"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## A colleague's second step
#
# A colleague fitted the model without uranium, took the county predictions and
# regressed them on uranium, to "find the effect of uranium on a county's radon":

# %%
m_empty = hp.fit_lmm("log_radon ~ 1 + (1 | county)", df)
step2 = counties.assign(pred=m_empty.coef()["Intercept"].to_numpy())
second = hp.fit_ols("pred ~ uranium", step2)
second.fixed.round(4)

# %% [raw]
# # BEGIN QUESTION
# name: q6
# manual: true
# points: 3
# kind: diagnose

# %% [markdown]
# **Question 6** (*diagnose*, 3 points). What is wrong with the colleague's two-step
# analysis? Say in which direction it biases the uranium effect and why, what is
# wrong with its standard error, and what the fix is.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# The EB predictions of `m_empty` are shrunk toward the overall mean of a model that
# ignores uranium — the wrong target for a question about uranium. Small counties are
# pulled almost entirely to the overall mean whatever their uranium, so the predictions
# vary less with uranium than the county means do: the second-step slope is biased
# toward zero. Its standard error treats 45 predictions as exact data, ignoring that
# each is itself uncertain (and by how much differs by county). The fix: put uranium
# in the multilevel model (`m`) and read $\hat\gamma_{01}$ with its standard error.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the predictions are shrunk toward a mean that ignores uranium (the wrong target), so the slope is biased toward 0"]
#   - [1, "the standard error ignores the uncertainty of the predictions (treats them as data)"]
#   - [1, "the fix: uranium in the multilevel model"]
# wrong:
#   - "says shrinkage exaggerates the slope"
#   - "fixes it by regressing the raw county means on uranium by OLS (unequal precision ignored)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# points: 3
# kind: diagnose

# %% [markdown]
# **Question 7** (*diagnose*, 3 points; the fix). Store the colleague's slope in
# `slope_two_step`, the uranium effect of the model `m` in `slope_model`, and
# `ratio = slope_two_step / slope_model`.

# %% [raw]
# # BEGIN SOLUTION

# %%
slope_two_step = second.fixed.loc["uranium", "estimate"]  # SOLUTION
slope_model = m.fixed.loc["uranium", "estimate"]  # SOLUTION
ratio = float(slope_two_step / slope_model)  # SOLUTION
slope_two_step, slope_model, ratio

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert np.isfinite(slope_two_step) and np.isfinite(slope_model) and np.isfinite(ratio)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The fix is the coefficient of uranium in log_radon ~ uranium + (1 | county), fitted to your data."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_g = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d).fixed.loc["uranium", "estimate"]
assert abs(slope_model - _g) < 1e-3 * abs(_g)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The two-step slope: OLS of the county predictions of the model without uranium on uranium; ratio = two-step / model."
""" # END TEST CONFIG
_d = hp.student_data("a5", STUDENT_ID)
_e = hp.fit_lmm("log_radon ~ 1 + (1 | county)", _d)
_u = _d.groupby("county", observed=True)["uranium"].first().to_numpy()
_b = np.polyfit(_u, _e.coef()["Intercept"].to_numpy(), 1)[0]
assert abs(slope_two_step - _b) < 1e-3 * abs(_b)
assert abs(ratio - slope_two_step / slope_model) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## How good are the confidence intervals for the county means?
#
# `m.predict(..., interval="confidence")` treats the variance components as known. The
# function `draw(r)` below makes replicate `r` of your data from `m` itself: new
# county effects $u_{0j}$ and new homes, the same counties, sizes and uranium. It
# returns the replicate's data and each county's true mean,
# $\hat\gamma_{00} + \hat\gamma_{01} U_j + u_{0j}$ (in the order of `counties`).

# %%
fixed_part = m.predict(include_random=False).to_numpy()  # each home's line
county_line = fixed_part[np.unique(m.group_codes, return_index=True)[1]]


def draw(r):
    rng = np.random.default_rng(r)
    u = rng.normal(0.0, np.sqrt(m.tau.iloc[0, 0]), len(counties))
    e = rng.normal(0.0, np.sqrt(m.sigma2), len(df))
    return df.assign(log_radon=fixed_part + u[m.group_codes] + e), county_line + u


# %% [raw]
# # BEGIN QUESTION
# name: q8
# points: 5
# kind: simulate

# %% [markdown]
# **Question 8** (*simulate*, 5 points). For `r = 0, 1, …, 99`: draw replicate `r`,
# fit `log_radon ~ uranium + (1 | county)` to it, compute the 95% confidence
# interval of every county's mean (`interval="confidence"` for the rows of
# `counties.reset_index()`), and record the proportion of counties whose interval
# covers the true mean. Store the 100 proportions in order in `cover` (an array),
# their mean (the coverage) in `coverage`, and its Monte Carlo standard error in
# `coverage_mcse`. (Singular-fit warnings are expected in some replicates; you may
# silence them with `warnings.catch_warnings()`.)

# %% [raw]
# # BEGIN SOLUTION

# %%
# BEGIN SOLUTION
rows_all = counties.reset_index()
cover = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for r in range(100):
        rep, truth = draw(r)
        fit = hp.fit_lmm("log_radon ~ uranium + (1 | county)", rep)
        ci = fit.predict(rows_all, interval="confidence")
        inside = (ci["lower"].to_numpy() <= truth) & (truth <= ci["upper"].to_numpy())
        cover.append(inside.mean())
cover = np.array(cover)
coverage = cover.mean()
coverage_mcse = cover.std(ddof=1) / np.sqrt(len(cover))
# END SOLUTION
coverage, coverage_mcse

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert len(cover) == 100 and 0 <= coverage <= 1 and coverage_mcse > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 3
failure_message: "Replicate r: rep, truth = draw(r); fit the model to rep; the share of the county confidence intervals that contain truth."
""" # END TEST CONFIG
# Rebuilt from the student's data, so that a changed m, df or draw does not leak in.
_d = hp.student_data("a5", STUDENT_ID)
_m = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _d)
_fp = _m.predict(include_random=False).to_numpy()
_line = _fp[np.unique(_m.group_codes, return_index=True)[1]]
_rows = _d.groupby("county", observed=True).agg(uranium=("uranium", "first")).reset_index()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _r in (0, 1, 63):
        _g = np.random.default_rng(_r)
        _u = _g.normal(0.0, np.sqrt(_m.tau.iloc[0, 0]), len(_rows))
        _e = _g.normal(0.0, np.sqrt(_m.sigma2), len(_d))
        _rep = _d.assign(log_radon=_fp + _u[_m.group_codes] + _e)
        _truth = _line + _u
        _ci = hp.fit_lmm("log_radon ~ uranium + (1 | county)", _rep).predict(
            _rows, interval="confidence"
        )
        _in = (_ci["lower"].to_numpy() <= _truth) & (_truth <= _ci["upper"].to_numpy())
        assert abs(cover[_r] - _in.mean()) < 1e-9

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The coverage is the mean of the 100 proportions."
""" # END TEST CONFIG
assert abs(coverage - np.mean(cover)) < 1e-12

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The replicates are independent, the counties within a replicate are not (they share one fit): the Monte Carlo SE is the SD of the 100 proportions over sqrt(100)."
""" # END TEST CONFIG
_sd = np.std(np.asarray(cover, dtype=float), ddof=1) / 10
assert abs(coverage_mcse - _sd) < 0.02 * _sd

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# manual: true
# points: 3
# kind: interpret

# %% [markdown]
# **Question 9** (*interpret*, 3 points). Is your coverage consistent with 95%, given
# its Monte Carlo standard error? Give one reason from the chapter or from
# `m.predict`'s documentation (`help(m.predict)`) for a shortfall, and say what
# "95%" means here: for every county, or on average over counties?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Solution's data: coverage about 0.89 with Monte Carlo SE about 0.015, four SE below
# 0.95: the intervals are too narrow. They take $\sigma^2_{u0}$ and $\sigma^2_e$ as
# known, but $\sigma^2_{u0}$ is estimated from 45 counties, is small, and in some
# replicates is estimated as 0 (a singular fit): then every county is predicted on
# its line with an interval that ignores the county effect. And the 95% of an EB
# interval is an average over counties drawn from the population: a county far from
# its line, shrunk toward it, is covered less often than one near it, even with the
# variances known.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares coverage with 0.95 in units of its Monte Carlo SE and concludes correctly for their own numbers"]
#   - [1, "a valid reason: variance components taken as known / estimated from few counties / singular fits with tau estimated at 0"]
#   - [1, "the nominal level holds on average over counties, not for each county (extreme counties are shrunk and undercovered)"]
# wrong:
#   - "MC SE from all 4500 intervals as independent (binomial), overstating the precision"
# # END RUBRIC

# %% [raw]
# # END QUESTION
