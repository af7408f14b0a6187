# Reference confidence intervals from R's lme4 for the tests of helpers.confint.
#
# Run from the repository root:   Rscript tests/reference/make_confint_reference.R
# Needs R with lme4 and jsonlite. It reads the project's CSV files in data/ and writes
# tests/reference/lme4_confint_reference.json. R is needed only to regenerate that
# file, never to run the tests.
#
# For every model it records
#   profile: confint(fit, method = "profile", oldNames = FALSE), 95% (lme4 profiles
#            the deviance on the scale of standard deviations, correlations and sigma,
#            and inverts the signed square root of the deviance change at qnorm(0.975));
#   wald:    confint(fit, method = "Wald") for the fixed effects;
#   se_sd:   standard errors of the standard deviations, correlations and sigma from
#            the Hessian of lme4's profiled deviance function on that scale
#            (lme4:::devfun2, differentiated by lme4:::deriv12): SE = sqrt(diag(2 H^-1)).
# The fits use tightened optimiser tolerances, as make_reference.R does.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

read_data <- function(name) read.csv(file.path("data", paste0(name, ".csv")))

models <- list(
  list(id = "sleep_ml", data = "sleepstudy", reml = FALSE,
       formula = "Reaction ~ Days + (Days | Subject)"),
  list(id = "sleep_reml", data = "sleepstudy", reml = TRUE,
       formula = "Reaction ~ Days + (Days | Subject)"),
  list(id = "pop_ri_ml", data = "popularity", reml = FALSE,
       formula = "popular ~ extrav + gender + texp + (1 | class)"),
  list(id = "pop_rs_ml", data = "popularity", reml = FALSE,
       formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)")
)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14,
                                    ftol_rel = 1e-16, maxeval = 1e5),
                     check.conv.singular = "ignore")

out <- list()
for (spec in models) {
  d <- read_data(spec$data)
  fit <- lmer(as.formula(spec$formula), data = d, REML = spec$reml, control = tight)
  prof <- confint(fit, method = "profile", oldNames = FALSE, level = 0.95)
  wald <- confint(fit, method = "Wald", oldNames = FALSE, level = 0.95)
  wald <- wald[names(fixef(fit)), , drop = FALSE]
  dd <- lme4:::devfun2(fit, useSc = TRUE, signames = FALSE)
  pars <- attr(dd, "optimum")[seq_len(length(attr(dd, "thopt")) + 1)]
  hess <- lme4:::deriv12(dd, pars)$Hessian
  se <- sqrt(diag(2 * solve(hess)))
  out[[spec$id]] <- list(
    formula = spec$formula,
    data = spec$data,
    reml = spec$reml,
    profile = list(parameter = rownames(prof), lower = unname(prof[, 1]),
                   upper = unname(prof[, 2])),
    wald = list(parameter = rownames(wald), lower = unname(wald[, 1]),
                upper = unname(wald[, 2])),
    sd_scale = list(parameter = names(pars), estimate = unname(pars), se = unname(se))
  )
}
out$lme4_version <- as.character(packageVersion("lme4"))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/lme4_confint_reference.json")
