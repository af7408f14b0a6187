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
# survey. Here you work with 40 of its 60 districts, drawn from your student ID: you
# test whether the districts differ at all, express their variation on scales people
# can read, separate conditional from marginal effects, and find out what a random
# intercept alone hides. Every number below is computed from your own data. Each
# question says its points and its kind (*predict*, *interpret*, *diagnose*,
# *decide*, *simulate* or *compute*). Written answers are graded by hand, on the
# reasoning: short, precise answers that use your own numbers earn full points. After
# each question run `grader.check("q…")`.

# %%
# Your student ID, as text (your instructor may ask you to write "shared" instead).
STUDENT_ID = "s0000000"  # SOLUTION

# %%
import numpy as np
import pandas as pd
import scipy.special
import scipy.stats
import statsmodels.api as sm
import statsmodels.formula.api as smf

import helpers as hp

df = hp.student_data("a9", STUDENT_ID)
seed = hp.student_seed("a9", STUDENT_ID)  # the seed of your simulation
df.head()

# %% [markdown]
# `use` is 1 for a woman who uses contraception, 0 otherwise; `urban` (N/Y) and
# `livch` (number of living children: 0, 1, 2, 3+) are as in chapter 9. The model of
# this assignment is the logistic regression `use ~ urban + livch`, without and with
# a random intercept for the district:

# %%
glm = smf.glm("use ~ urban + livch", df, family=sm.families.Binomial()).fit()
glmm = hp.fit_glmm("use ~ urban + livch + (1 | district)", df)
glmm.fixed

# %% [raw]
# # BEGIN QUESTION
# name: q1
# kind: decide
# points: 4

# %% [markdown]
# **Question 1** (*decide*, 4 points). Do the districts differ in their rate of use,
# beyond chance, once urban residence and children are accounted for? Test the
# random-intercept variance with the likelihood-ratio test of `glmm` against `glm`,
# with the reference distribution that is valid for a variance, and store the
# statistic in `chisq_vc` and its $p$-value in `p_vc`. (`hp.compare` accepts a
# statsmodels GLM as the smaller model.)

# %% [raw]
# # BEGIN SOLUTION

# %%
vc_test = hp.compare(glm, glmm)  # SOLUTION
chisq_vc = vc_test["chisq"].iloc[1]  # SOLUTION
p_vc = vc_test["p_value"].iloc[1]  # SOLUTION
vc_test[["npar", "deviance", "chisq", "df", "p_value", "test"]]

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert chisq_vc >= 0 and 0 <= p_vc <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The statistic is the difference in deviance, -2 (loglik of the GLM - loglik of the GLMM)."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_glm = smf.glm("use ~ urban + livch", _d, family=sm.families.Binomial()).fit()
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_chi = 2 * (_g.loglik - _glm.llf)
assert abs(chisq_vc - _chi) < 1e-3 * max(1.0, _chi)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "Under the null the variance sits on the boundary (0) of its range: the reference is the 50:50 mixture of chi2(0) and chi2(1), so p is HALF the chi2(1) p-value."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_glm = smf.glm("use ~ urban + livch", _d, family=sm.families.Binomial()).fit()
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_p = scipy.stats.chi2.sf(2 * (_g.loglik - _glm.llf), 1) / 2
assert abs(np.log(p_vc) - np.log(_p)) < 1e-3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# kind: decide
# manual: true
# points: 3

# %% [markdown]
# **Question 2** (*decide*, 3 points). Why is the $\chi^2_1$ distribution not the
# right reference for this test, and what is? Would a Wald $z$ test of the variance
# (estimate / standard error) be a good alternative? What do you conclude about the
# districts?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Under the null hypothesis the variance is 0, the edge of its parameter space (a
# variance cannot be negative). Asymptotically, about half of the samples drawn under
# the null give an estimate of exactly 0 and a statistic of 0; the other half behave
# like $\chi^2_1$. So the reference is the 50:50 mixture of $\chi^2_0$ and $\chi^2_1$,
# and the $p$-value is half the $\chi^2_1$ one; $\chi^2_1$ alone is conservative. The
# halved $p$-value is itself approximate: with a finite number of districts (and a
# binary outcome) the share of zero estimates is not exactly one half. A Wald test of a
# variance is poor: its sampling distribution is skewed and bounded at 0, so
# estimate / SE is far from normal, least so near the null. For `s0000000`:
# $\chi^2$ = 30.8, $p$ = 1.4e-8 — the districts differ beyond doubt.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "the null value 0 is on the boundary of the parameter space"]
#   - [1, "reference is the 50:50 mixture of chi2(0) and chi2(1): halve the chi2(1) p-value (chi2(1) alone is conservative); rejects the Wald test of a variance with a reason"]
#   - [1, "concludes with their own statistic and p-value"]
# wrong:
#   - "halves the p-value 'because the test is one-sided' with no mention of the boundary (loses the first point)"
#   - "says chi2(1) is anti-conservative (loses the second point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# kind: compute
# points: 4

# %% [markdown]
# **Question 3** (*compute*, 4 points). From `glmm`, compute the intraclass
# correlation on the latent scale, `icc_latent`, and the median odds ratio of the
# districts, `mor` (chapter 9).

# %% [raw]
# # BEGIN SOLUTION

# %%
tau00 = glmm.tau.iloc[0, 0]
icc_latent = tau00 / (tau00 + np.pi**2 / 3)  # SOLUTION
mor = np.exp(np.sqrt(2 * tau00) * scipy.stats.norm.ppf(0.75))  # SOLUTION
icc_latent, mor

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < icc_latent < 1 and mor > 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The latent residual of a logit model is standard logistic, with variance pi^2 / 3 (not 1, which is the probit's)."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_t = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d).tau.iloc[0, 0]
assert abs(icc_latent - _t / (_t + np.pi**2 / 3)) < 1e-5

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "MOR = exp(sqrt(2 tau00) Phi^-1(0.75)), with tau00 the VARIANCE of the district effects."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_t = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d).tau.iloc[0, 0]
assert abs(mor - np.exp(np.sqrt(2 * _t) * scipy.stats.norm.ppf(0.75))) < 1e-4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# kind: interpret
# manual: true
# points: 4

# %% [markdown]
# **Question 4** (*interpret*, 4 points). Here are the fixed effects as odds ratios
# with their 95% intervals. In plain words, for a reader who knows no statistics:
# what does the odds ratio of `urban[T.Y]` say, about which two women? Put the
# median odds ratio beside it: is the variation between districts small or large
# compared with the urban–rural difference? And what does `icc_latent` add — or
# hide?

# %%
np.exp(glmm.fixed[["estimate", "ci_lower", "ci_upper"]]).rename(
    columns={"estimate": "odds ratio"}
)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: the odds ratio of 2.46 (95% interval 1.85 to 3.27) compares two
# women with the same number of children *in the same district* (the same district
# effect): the odds — uses / does not use — of the woman in a town are about 2.5 times
# those of the woman in the countryside. It is not a ratio of probabilities, and not a
# comparison of all urban with all rural women. The median odds ratio, 1.59, says
# that the same woman moved between two randomly chosen districts would have her odds
# change by a factor of 1.59 or more half of the time: smaller than the urban effect
# and than the effect of having children (2.8 to 3.5), but far from negligible — a
# factor a family planner would notice. The latent ICC, 0.066,
# sounds negligible ("7% of the variance lies between districts"), but it is a share
# of a latent variance that includes the large logistic noise $\pi^2/3$; the MOR puts
# the same variance on the scale of the odds ratios readers compare it with.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "reads the odds ratio as odds (not probability), urban vs rural, with their number and interval"]
#   - [1, "says it is conditional: two women in the same district (same random effect) with the same children"]
#   - [1, "compares the MOR with the urban odds ratio with their numbers and reads it correctly (two random districts, same woman)"]
#   - [1, "says what the latent ICC is a share of (latent variance with pi^2/3) and why it understates the practical size"]
# wrong:
#   - "reads 2.5 as 'urban women are 2.5 times as likely to use' (loses the first point)"
#   - "reads the odds ratio as a comparison of all urban with all rural women (loses the second point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# kind: predict
# manual: true
# points: 2

# %% [markdown]
# **Question 5** (*predict*, 2 points). Answer **before** you compute Question 6; you
# are graded on the reasoning, not on being right. Take women with no living
# children. Averaged over all districts (the *marginal* or population-averaged
# comparison), will the odds ratio of use for urban against rural women be larger
# than, equal to, or smaller than the conditional odds ratio of Question 4? Why, and
# by roughly how much, given your $\hat\sigma^2_{u0}$?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Smaller: averaging the S-shaped inverse logit over the district effects flattens it,
# so on the logit scale the marginal effect is attenuated, by about
# $1/\sqrt{1 + 0.346\,\sigma^2_{u0}}$ (Zeger's factor). With $\hat\sigma^2_{u0}$ = 0.23
# that is 0.96: the log odds ratio 0.90 becomes about 0.87, the odds ratio 2.46 about
# 2.38 — a small change, because the district variance is small.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "predicts smaller (closer to 1), because averaging the nonlinear inverse logit over the district effects flattens the curve"]
#   - [1, "gives a rough size from sigma2_u0 (Zeger's factor or the argument that a small variance means a small difference)"]
# wrong:
#   - "predicts equal because the model is linear on the logit scale (loses the first point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# kind: predict
# points: 5

# %% [markdown]
# **Question 6** (*predict*, 5 points). Now the computation, by Monte Carlo. For
# women with no living children (the reference category of `livch`), compute the
# population-averaged probabilities of use: draw `R = 4000` district effects
# $u \sim N(0, \hat\sigma^2_{u0})$ with
# `rng = np.random.default_rng([seed, 6])`, and average
# $\operatorname{logit}^{-1}(\hat\gamma_{00} + u)$ (rural) and
# $\operatorname{logit}^{-1}(\hat\gamma_{00} + \hat\gamma_\text{urban} + u)$ (urban)
# over the same draws. Store
#
# - `p_rural`, `p_urban` and the Monte Carlo standard error of `p_rural` in
#   `mcse_rural` (the SD of the 4000 values averaged, over $\sqrt R$);
# - `or_cond`: the conditional odds ratio $\exp(\hat\gamma_\text{urban})$;
# - `or_marg`: the marginal odds ratio, the odds of `p_urban` over the odds of
#   `p_rural`.

# %% [raw]
# # BEGIN SOLUTION

# %%
R = 4000
rng = np.random.default_rng([seed, 6])
g00 = glmm.fixed.loc["Intercept", "estimate"]  # SOLUTION
g_urban = glmm.fixed.loc["urban[T.Y]", "estimate"]  # SOLUTION
u = rng.normal(0.0, np.sqrt(tau00), R)  # SOLUTION
pr_rural = scipy.special.expit(g00 + u)  # SOLUTION
pr_urban = scipy.special.expit(g00 + g_urban + u)  # SOLUTION
p_rural, p_urban = pr_rural.mean(), pr_urban.mean()  # SOLUTION
mcse_rural = pr_rural.std(ddof=1) / np.sqrt(R)  # SOLUTION
or_cond = np.exp(g_urban)  # SOLUTION
or_marg = (p_urban / (1 - p_urban)) / (p_rural / (1 - p_rural))  # SOLUTION
p_rural, mcse_rural, p_urban, or_cond, or_marg

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert 0 < p_rural < 1 and 0 < p_urban < 1 and 0 < mcse_rural < 0.01
assert or_cond > 0 and or_marg > 0

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "Average expit(gamma00 + u) and expit(gamma00 + gamma_urban + u) over u ~ N(0, tau00) (standard deviation sqrt(tau00)); your means should be within Monte Carlo error of the exact integrals."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_b0, _bu = _g.fixed.loc["Intercept", "estimate"], _g.fixed.loc["urban[T.Y]", "estimate"]
_z, _w = np.polynomial.hermite_e.hermegauss(60)  # weight exp(-z^2 / 2)
_sd = np.sqrt(_g.tau.iloc[0, 0])
for _p, _eta in ((p_rural, _b0), (p_urban, _b0 + _bu)):
    _vals = scipy.special.expit(_eta + _sd * _z)
    _exact = _vals @ _w / _w.sum()
    _mcse = np.sqrt((_vals - _exact) ** 2 @ _w / _w.sum() / 4000)
    assert abs(_p - _exact) < 4 * _mcse, (_p, _exact, _mcse)

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The MC SE of a mean of R draws is the SD of the draws over sqrt(R) (here R = 4000)."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_z, _w = np.polynomial.hermite_e.hermegauss(60)
_b0, _sd = _g.fixed.loc["Intercept", "estimate"], np.sqrt(_g.tau.iloc[0, 0])
_vals = scipy.special.expit(_b0 + _sd * _z)
_sd_exact = np.sqrt((_vals - _vals @ _w / _w.sum()) ** 2 @ _w / _w.sum())
assert abs(mcse_rural * np.sqrt(4000) / _sd_exact - 1) < 0.1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "or_cond = exp(gamma_urban) of the GLMM; or_marg = [p_urban / (1 - p_urban)] / [p_rural / (1 - p_rural)] from YOUR averaged probabilities (not exp of an averaged coefficient)."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
assert abs(or_cond - np.exp(_g.fixed.loc["urban[T.Y]", "estimate"])) < 1e-3
_want = (p_urban / (1 - p_urban)) / (p_rural / (1 - p_rural))
assert abs(or_marg - _want) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# kind: predict
# manual: true
# points: 3

# %% [markdown]
# **Question 7** (*predict*, 3 points). Reconcile your prediction: compare `or_marg`
# with `or_cond` and with what you predicted. Is the difference larger than the Monte Carlo
# error of your simulation? Who would ask for each number — a district health
# officer or a national planner — and why?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000`: the conditional odds ratio is 2.46, the marginal one 2.37 — smaller,
# as predicted, by about Zeger's factor (log 2.37 / log 2.46 = 0.96). The MC SE of
# each probability is about 0.001 (0.0010 for the rural one), so the marginal odds
# ratio is known to within about ±0.03 and the difference of 0.09 is beyond
# simulation error (and close to what Zeger's factor predicts for a variance of
# 0.23). The district health officer asks the
# conditional question: how the odds of an urban and a rural woman in *her* district
# compare. The national planner asks the marginal one: for a woman with no living
# children in a district drawn at random, urban versus rural: a population-averaged
# contrast.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "compares or_marg with or_cond and with their prediction, with numbers"]
#   - [1, "judges the difference against the Monte Carlo error (the MC SE of the probabilities and what it implies for the odds ratio)"]
#   - [1, "assigns conditional to a within-district question and marginal to a population-averaged one, with a reason"]
# wrong:
#   - "calls the marginal odds ratio the 'corrected' or 'unbiased' version of the conditional one (loses the third point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# kind: diagnose
# points: 4

# %% [markdown]
# **Question 8** (*diagnose*, 4 points). A colleague reports the urban odds ratio
# and its interval from `glmm` as "the urban effect, with its uncertainty". The
# model assumes the urban–rural difference is the same in every district. Fit
# `glmm_rs = hp.fit_glmm("use ~ urban + livch + (1 + urban | district)", df)` and
# store the standard error of the `urban[T.Y]` coefficient in `glmm` and in `glmm_rs`
# (`se_ri`, `se_rs`), and the $p$-value of the likelihood-ratio test of the random
# slope (its variance and its covariance with the intercept), with the valid
# reference distribution, in `p_slope`.

# %% [raw]
# # BEGIN SOLUTION

# %%
glmm_rs = hp.fit_glmm("use ~ urban + livch + (1 + urban | district)", df)
se_ri = glmm.fixed.loc["urban[T.Y]", "std_error"]  # SOLUTION
se_rs = glmm_rs.fixed.loc["urban[T.Y]", "std_error"]  # SOLUTION
slope_test = hp.compare(glmm, glmm_rs)  # SOLUTION
p_slope = slope_test["p_value"].iloc[1]  # SOLUTION
se_ri, se_rs, slope_test[["chisq", "df", "p_value", "test"]]

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
assert se_ri > 0 and se_rs > 0 and 0 <= p_slope <= 1

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 1
failure_message: "The std_error of urban[T.Y] in the .fixed table of each model."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_gs = hp.fit_glmm("use ~ urban + livch + (1 + urban | district)", _d)
assert abs(se_ri - _g.fixed.loc["urban[T.Y]", "std_error"]) < 1e-3
assert abs(se_rs - _gs.fixed.loc["urban[T.Y]", "std_error"]) < 1e-3

# %%
""" # BEGIN TEST CONFIG
hidden: true
points: 2
failure_message: "The random slope adds a variance (on its boundary under the null) and a covariance: the reference is the 50:50 mixture of chi2(1) and chi2(2) (hp.compare does this), not chi2(2)."
""" # END TEST CONFIG
_d = hp.student_data("a9", STUDENT_ID)
_g = hp.fit_glmm("use ~ urban + livch + (1 | district)", _d)
_gs = hp.fit_glmm("use ~ urban + livch + (1 + urban | district)", _d)
_chi = max(2 * (_gs.loglik - _g.loglik), 0.0)
_p = 0.5 * scipy.stats.chi2.sf(_chi, 1) + 0.5 * scipy.stats.chi2.sf(_chi, 2)
assert abs(p_slope - _p) < 1e-3 * max(_p, 1e-3)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# kind: diagnose
# manual: true
# points: 3

# %% [markdown]
# **Question 9** (*diagnose*, 3 points). Name what is wrong with your colleague's
# report, using `se_ri`, `se_rs` and `p_slope`, and say how to fix it. Why does
# leaving out a slope variance that exists make the urban interval too narrow?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# For `s0000000` the random slope is not clearly needed ($\chi^2$ = 3.4 on the
# mixture of $\chi^2_1$ and $\chi^2_2$, $p$ = 0.12), but the standard error of the urban
# effect grows from 0.146 to 0.182 when it is allowed. The colleague's model omits the
# slope variance: it assumes every district has the same urban–rural difference, so
# it treats the women of all districts as independent evidence about one number. If
# the difference varies between districts, the average difference is estimated from
# 40 districts' differences, and its standard error must include their spread — the
# random-intercept model's SE is too small and its interval too narrow (the same
# mistake as ignoring clustering, one level up). Fix: fit the random slope, test it
# with the mixture reference, and report the urban effect with the SE of the random
# slope model unless the slope variance is clearly negligible; here, with a
# $p$-value of 0.12 and a 25% larger SE, I would report the wider interval, or both
# side by side.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN RUBRIC
# points:
#   - [1, "names the omitted slope variance (the urban effect assumed equal in all districts), with their se_ri, se_rs and p_slope"]
#   - [1, "explains why the SE is too small: the average difference is estimated from the districts' differences, whose spread the random-intercept model ignores"]
#   - [1, "fix: random slope, tested with the chi2(1):chi2(2) mixture, and a reasoned choice of which SE to report given their p_slope"]
# wrong:
#   - "drops the random slope because p_slope > 0.05 without looking at the change in the SE (loses the third point)"
#   - "tests the slope with chi2(2) alone or with chi2(1) (loses the third point)"
# # END RUBRIC

# %% [raw]
# # END QUESTION
