# Reference values from R's lme4::glmer for the tests of helpers.fit_glmm.
#
# Run from the repository root:   Rscript tests/reference/make_glmm_reference.R
# Needs R with lme4 and jsonlite. It reads the project's own CSV files in data/
# (contraception.csv, sim_binary.csv, sim_counts.csv), so both sides fit identical
# numbers, and writes tests/reference/glmer_reference.json. R is needed only to
# regenerate that file, never to run the tests.
#
# Optimiser settings. Every model is fitted twice:
#  * "tight": glmerControl(optimizer = "nloptwrap" (BOBYQA from NLopt) for both
#    stages, xtol_abs = xtol_rel = 1e-12, ftol_abs = ftol_rel = 1e-14,
#    maxeval = 1e5; tolPwrss = 1e-11 for the penalised IRLS inner loop). These are
#    the numbers the tests compare with.
#  * "default": glmerControl() as shipped (bobyqa then Nelder_Mead, tolPwrss 1e-7):
#    only its log-likelihood is kept ("loglik_default"), to show how far lme4's
#    default stopping rule is from the optimum.
# Standard errors are vcov(fit) with lme4's default for GLMMs (use.hessian = TRUE
# whenever the finite-difference Hessian of the deviance in (theta, beta) was
# computed, which calc.derivs = TRUE does): 2 * solve(Hessian), beta block. The
# RX-based alternative (use.hessian = FALSE, conditional on theta) is kept as
# "std_error_rx".
#
# The log-likelihood constant (see helpers/glmm.py): with nAGQ = 1 lme4's
# objective is ldL2 + |u|^2 + family$aic(), i.e. -2 * the full log density
# (binomial coefficients and log(y!) included); with nAGQ > 1 (glmerAGQ in
# src/external.cpp) it is built from the deviance residuals, i.e. relative to the
# saturated model, and the constant -2 * sum(log f(y | mu = y)) is missing. The
# JSON records that constant as "saturated_loglik" (= sum log f(y | mu = y),
# computed here with family$aic) so the tests can compare like with like. It is 0
# for 0/1 outcomes, and not 0 for cbind() binomial data or Poisson counts.
#
# Confidence intervals (tests/test_glmm_confint.py), for the models marked
# confint = TRUE, from the "tight" fit:
#   profile: profile(fit, signames = FALSE) (lme4 profiles a GLMM on the fit's own
#            deviance function, Laplace or nAGQ quadrature, over the standard
#            deviations, correlations and fixed effects, each held in turn while the
#            others are optimised), then confint() of that profile at levels 0.95
#            and 0.9 (lme4 inverts a spline through the profile points);
#   wald:    confint(fit, method = "Wald") for the fixed effects (lme4 gives NA for
#            the random part);
#   points:  the profile itself, without interpolation: for each parameter the
#            points lme4 computed nearest to zeta = -2, -1, 1, 2 (zeta: the signed
#            square root of the deviance's rise), with all parameters there ("par",
#            lme4's minimiser, in devfun2's order), lme4's deviance function there
#            ("devfun") and, for a scalar random intercept by Laplace, the plain-R
#            exact Laplace deviance below ("exact"), which shows where lme4's own
#            deviance function is off;
#   boundary: a singular fit, "boundary_ri_laplace": sim_binary with groups that
#            have nothing to do with the outcome (block = id %% 37 + 1), whose
#            random-intercept SD is estimated as 0; lme4's profile starts at the
#            boundary and its lower end is 0 (no Wald SE there: sd_scale is left out).
#            Written under "boundary", not "models", so the fit tests skip it.
#   sd_scale: standard errors of the standard deviations, correlations and fixed
#            effects from the Hessian of lme4:::devfun2 (the deviance on that
#            scale), differentiated by lme4:::deriv12: SE = sqrt(diag(2 H^-1)).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

read_data <- function(name) {
  d <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  if (name == "contraception") {
    d$use <- factor(d$use, levels = c("N", "Y"))
    d$urban <- factor(d$urban, levels = c("N", "Y"))
    d$livch <- factor(d$livch, levels = c("0", "1", "2", "3+"))
    # the district's share of urban women (a level-2 mean, for chapter 9's contextual model)
    d$urban_mean <- ave(as.numeric(d$urban == "Y"), d$district)
  }
  if (name == "sim_counts") d$prop <- d$successes / d$trials
  d$grp <- NULL
  d
}

models <- list(
  list(id = "contra_ri_laplace", data = "contraception", nagq = 1, confint = TRUE,
       formula = "use ~ age + urban + livch + (1 | district)"),
  list(id = "contra_ri_agq20", data = "contraception", nagq = 20, confint = TRUE,
       formula = "use ~ age + urban + livch + (1 | district)"),
  list(id = "contra_rs_laplace", data = "contraception", nagq = 1, confint = TRUE,
       formula = "use ~ age + urban + livch + (1 + urban | district)"),
  # chapter 9's checked model (age + age^2 + urban + livch), its random slope of
  # urban, and its contextual (within/between) version with the district mean of urban
  list(id = "contra_age2_ri_laplace", data = "contraception", nagq = 1, glm = TRUE,
       formula = "use ~ age + I(age^2) + urban + livch + (1 | district)"),
  list(id = "contra_age2_rs_laplace", data = "contraception", nagq = 1,
       formula = "use ~ age + I(age^2) + urban + livch + (1 + urban | district)"),
  list(id = "contra_context_laplace", data = "contraception", nagq = 1,
       formula = "use ~ age + I(age^2) + urban + urban_mean + livch + (1 | district)"),
  list(id = "contra_probit_laplace", data = "contraception", nagq = 1, link = "probit",
       formula = "use ~ age + urban + (1 | district)"),
  list(id = "contra_probit_agq15", data = "contraception", nagq = 15, link = "probit",
       formula = "use ~ age + urban + (1 | district)"),
  list(id = "binary_ri_laplace", data = "sim_binary", nagq = 1,
       formula = "y ~ x + z + (1 | group)"),
  list(id = "binary_ri_agq15", data = "sim_binary", nagq = 15,
       formula = "y ~ x + z + (1 | group)"),
  list(id = "binary_rs_laplace", data = "sim_binary", nagq = 1,
       formula = "y ~ x + z + (1 + x | group)"),
  list(id = "binary_null_laplace", data = "sim_binary", nagq = 1,
       formula = "y ~ x + z + (0 + x | group)"),
  list(id = "counts_poisson_laplace", data = "sim_counts", nagq = 1, family = "poisson",
       formula = "count ~ x + offset(log(exposure)) + (1 | group)"),
  list(id = "counts_poisson_agq12", data = "sim_counts", nagq = 12, family = "poisson",
       formula = "count ~ x + offset(log(exposure)) + (1 | group)"),
  list(id = "trials_cbind_laplace", data = "sim_counts", nagq = 1, confint = TRUE,
       formula = "cbind(successes, trials - successes) ~ x + (1 | group)"),
  list(id = "trials_cbind_agq15", data = "sim_counts", nagq = 15,
       formula = "cbind(successes, trials - successes) ~ x + (1 | group)"),
  list(id = "trials_prop_laplace", data = "sim_counts", nagq = 1, weights = "trials",
       formula = "prop ~ x + (1 | group)")
)

# An independent, plain-R Laplace deviance for a scalar random intercept, with the
# conditional modes iterated to machine precision (Fisher scoring, 200 steps) and
# log|L|^2 taken at the final modes. lme4's own devfun stops its inner loop on a
# relative change of the penalised deviance (tolPwrss) and takes log|L|^2 from the
# weights of the step before the last, so away from its optimum it is off by up
# to ~3e-5 (Poisson, probit, cbind data; ~1e-10 for 0/1 logit data). Its optimum
# is therefore not exactly the optimum of the Laplace approximation; the exact one
# is found here with optim(BFGS) from lme4's estimates, and its standard errors
# from optimHess. Tests compare helpers with both.
exact_devfun <- function(fit) {
  X <- getME(fit, "X"); g <- as.integer(getME(fit, "flist")[[1]]); J <- max(g)
  r <- fit@resp; fam <- family(fit); off <- r$offset; y <- r$y; wt <- r$weights
  function(par) {
    th <- par[1]; eta0 <- drop(X %*% par[-1]) + off; u <- rep(0, J)
    for (it in 1:200) {
      eta <- eta0 + th * u[g]; mu <- fam$linkinv(eta); me <- fam$mu.eta(eta)
      W <- wt * me^2 / fam$variance(mu); s <- wt * (y - mu) * me / fam$variance(mu)
      H <- 1 + th^2 * tapply(W, g, sum); u <- u + (th * tapply(s, g, sum) - u) / H
    }
    eta <- eta0 + th * u[g]; mu <- fam$linkinv(eta); me <- fam$mu.eta(eta)
    H <- 1 + th^2 * tapply(wt * me^2 / fam$variance(mu), g, sum)
    sum(log(H)) + sum(u^2) + fam$aic(y, r$n, mu, wt, 0)
  }
}

scalar_laplace <- function(fit) {
  fit@devcomp$dims[["nAGQ"]] == 1 && identical(unname(getME(fit, "cnms")[[1]]), "(Intercept)")
}

exact_laplace <- function(fit) {
  dev <- exact_devfun(fit)
  p0 <- c(getME(fit, "theta"), fixef(fit))
  o <- optim(p0, dev, method = "BFGS",
             control = list(reltol = 1e-15, maxit = 1000, parscale = rep(1e-3, length(p0))))
  H <- optimHess(o$par, dev, control = list(ndeps = rep(1e-4, length(p0))))
  V <- 2 * solve(H)[-1, -1]
  list(theta = unname(o$par[1]), estimate = unname(o$par[-1]),
       std_error = unname(sqrt(diag(V))), loglik = -o$value / 2,
       loglik_at_lme4 = -dev(p0) / 2,
       lme4_devfun_at_lme4 = update(fit, devFunOnly = TRUE)(p0))
}

tight <- glmerControl(optimizer = c("nloptwrap", "nloptwrap"),
                      optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                     ftol_rel = 1e-14, maxeval = 1e5),
                      tolPwrss = 1e-11, calc.derivs = TRUE,
                      check.conv.singular = "ignore")
default <- glmerControl()

intervals <- function(fit) {
  pr <- profile(fit, signames = FALSE)
  table <- function(ci) list(parameter = rownames(ci), lower = unname(ci[, 1]),
                             upper = unname(ci[, 2]))
  wald <- confint(fit, method = "Wald", oldNames = FALSE, level = 0.95)
  wald <- wald[names(fixef(fit)), , drop = FALSE]
  dd <- lme4:::devfun2(fit, useSc = FALSE, signames = FALSE)
  exact <- if (scalar_laplace(fit)) exact_devfun(fit) else NULL
  pts <- as.data.frame(pr)
  cols <- names(attr(dd, "optimum"))
  points <- lapply(split(pts, droplevels(pts$.par)), function(b) {
    nm <- as.character(b$.par[1])
    rows <- unique(sapply(c(-2, -1, 1, 2), function(z) which.min(abs(b$.zeta - z))))
    b <- b[rows, ]
    par <- unname(as.matrix(b[, cols]))
    out <- list(value = b[[nm]], zeta = b$.zeta, par = par,
                devfun = apply(par, 1, dd))
    if (!is.null(exact)) out$exact <- apply(par, 1, exact)
    out
  })
  out <- list(
    profile = table(confint(pr, level = 0.95)),
    profile_90 = table(confint(pr, level = 0.9)),
    wald = table(wald),
    points = points
  )
  if (isSingular(fit)) return(out)
  pars <- attr(dd, "optimum")
  hess <- lme4:::deriv12(dd, pars)$Hessian
  out$sd_scale <- list(parameter = names(pars), estimate = unname(pars),
                       se = unname(sqrt(diag(2 * solve(hess)))))
  out
}

fit_one <- function(m, d, control) {
  fam <- if (is.null(m$family)) "binomial" else m$family
  link <- if (is.null(m$link)) (if (fam == "poisson") "log" else "logit") else m$link
  family <- get(fam)(link = link)
  args <- list(formula = as.formula(m$formula), data = d, family = family,
               nAGQ = m$nagq, control = control)
  if (!is.null(m$weights)) args$weights <- d[[m$weights]]
  do.call(glmer, args)
}

summarise <- function(fit, fit_default) {
  vc <- VarCorr(fit)[[1]]
  re <- ranef(fit, condVar = TRUE)[[1]]
  pv <- attr(re, "postVar")
  sds <- t(sapply(seq_len(dim(pv)[3]), function(k) sqrt(diag(as.matrix(pv[, , k])))))
  if (dim(pv)[1] == 1) sds <- matrix(sds, ncol = 1)
  V <- as.matrix(vcov(fit))
  V_rx <- as.matrix(vcov(fit, use.hessian = FALSE))
  r <- fit@resp
  fam <- family(fit)
  saturated <- -fam$aic(r$y, r$n, r$y, r$weights, 0) / 2
  list(
    fixed = list(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                 std_error = unname(sqrt(diag(V))), std_error_rx = unname(sqrt(diag(V_rx)))),
    vcov = unname(V),
    theta = unname(getME(fit, "theta")),
    tau = list(terms = rownames(vc), matrix = unname(as.matrix(vc)[, ])),
    loglik = as.numeric(logLik(fit)),
    loglik_default = as.numeric(logLik(fit_default)),
    minus2loglik = -2 * as.numeric(logLik(fit)),
    deviance_conditional = deviance(fit),
    saturated_loglik = saturated,
    # sum of squared conditional Pearson residuals (y - mu) / sqrt(V(mu)), mu at the
    # conditional modes (chapter 9's overdispersion statistic)
    pearson_chisq = sum(residuals(fit, type = "pearson")^2),
    aic = AIC(fit),
    bic = BIC(fit),
    n_obs = nobs(fit),
    n_groups = unname(ngrps(fit))[1],
    singular = isSingular(fit),
    hessian_used = !is.null(fit@optinfo$derivs$Hessian),
    ranef = list(group = rownames(re), terms = colnames(re), values = unname(as.matrix(re)),
                 cond_sd = unname(sds))
  )
}

out <- list(
  generated_by = "tests/reference/make_glmm_reference.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  control = "nloptwrap (BOBYQA) both stages, xtol 1e-12, ftol 1e-14, maxeval 1e5, tolPwrss 1e-11",
  models = list()
)
for (m in models) {
  d <- read_data(m$data)
  fit <- fit_one(m, d, tight)
  fit_default <- suppressWarnings(fit_one(m, d, default))
  s <- summarise(fit, fit_default)
  s$data <- m$data
  s$formula <- m$formula
  s$nagq <- m$nagq
  s$family <- if (is.null(m$family)) "binomial" else m$family
  s$link <- family(fit)$link
  s$weights <- if (is.null(m$weights)) NULL else m$weights
  if (scalar_laplace(fit)) {
    s$exact_laplace <- exact_laplace(fit)
  }
  if (isTRUE(m$confint)) s$confint <- intervals(fit)
  if (isTRUE(m$glm)) {
    # the same fixed part without the random intercept, by glm(): the null of the
    # likelihood-ratio test of the random-intercept variance (helpers: compare(glm, fit))
    g <- glm(nobars(as.formula(m$formula)), data = d, family = family(fit))
    s$glm <- list(loglik = as.numeric(logLik(g)), estimate = unname(coef(g)),
                  chisq = 2 * (as.numeric(logLik(fit)) - as.numeric(logLik(g))))
  }
  out$models[[m$id]] <- s
  cat(sprintf("%-24s loglik %.6f (default %.6f) saturated %.4f singular=%s\n",
              m$id, s$loglik, s$loglik_default, s$saturated_loglik, s$singular))
}
# The likelihood-ratio test of chapter 9's random slope of urban: deviance difference,
# df = 2 (the slope's variance and its covariance with the intercept) and the p-value
# from the 50:50 mixture of chi2(1) and chi2(2) (Self & Liang 1987), as helpers.compare.
small <- out$models$contra_age2_ri_laplace
big <- out$models$contra_age2_rs_laplace
lrt <- 2 * (big$loglik - small$loglik)
out$lrt <- list(
  slope_urban = list(small = "contra_age2_ri_laplace", big = "contra_age2_rs_laplace",
                     chisq = lrt, df = 2,
                     p_mixture = 0.5 * pchisq(lrt, 1, lower.tail = FALSE) +
                       0.5 * pchisq(lrt, 2, lower.tail = FALSE),
                     p_naive = pchisq(lrt, 2, lower.tail = FALSE))
)
d <- read_data("sim_binary")
d$block <- d$id %% 37 + 1
fit <- glmer(y ~ x + z + (1 | block), data = d, family = binomial, control = tight)
out$boundary <- list(
  boundary_ri_laplace = list(
    data = "sim_binary", formula = "y ~ x + z + (1 | block)", block = "id %% 37 + 1",
    family = "binomial", link = "logit", nagq = 1, singular = isSingular(fit),
    theta = unname(getME(fit, "theta")), fixed = list(term = names(fixef(fit))),
    tau = list(terms = "(Intercept)"), confint = intervals(fit)
  )
)
write_json(out, "tests/reference/glmer_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
