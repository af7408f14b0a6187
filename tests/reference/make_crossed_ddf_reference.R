# Reference values from lmerTest and lme4 for the tests of fixed effects and the
# conditional variances of the random effects of models with several grouping
# factors: tests/test_crossed_ddf.py.
#
# Run from the repository root:   Rscript tests/reference/make_crossed_ddf_reference.R
# Needs R with lme4, lmerTest, pbkrtest and jsonlite. It reads the data that
# tests/reference/make_crossed_reference.R wrote to tests/reference/crossed/*.csv
# (that script's data, not rewritten here) and writes
# tests/reference/crossed_ddf_reference.json:
#   - lmerTest's summary() table (Satterthwaite df, t, p) of each model, REML and ML;
#   - lmerTest's contest() of a contrast of two coefficients, its joint F test and
#     anova(m, type = 3) where the model has a slope;
#   - for REML fits, Kenward-Roger: lmerTest's summary(m, ddf = "Kenward-Roger") table,
#     the joint contest with ddf = "Kenward-Roger" and pbkrtest's vcovAdj(m);
#   - for ML fits, the Wald standard errors of the random part: 2 H^-1 with H the
#     Hessian (numDeriv) of lme4's devfun2 (the ML deviance in sd, cor and sigma);
#   - lme4's confint(m, method = "profile") for the two crossed intercept models;
#   - lme4's as.data.frame(ranef(m, condVar = TRUE)): the conditional mode and SD of
#     every random effect of every factor.
# Fits use the tightened settings of make_crossed_reference.R.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})

data_dir <- file.path("tests", "reference", "crossed")
read <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)

models <- list(
  list(id = "penicillin_crossed", data = "penicillin",
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  list(id = "nested3", data = "nested3", formula = "y ~ x + (1 | school/class)"),
  list(id = "nested3_slopes", data = "nested3",
       formula = "y ~ x + (1 + x | school) + (1 | school:class)"),
  list(id = "nested3_uncorr", data = "nested3",
       formula = "y ~ x + (1 + x || school) + (1 | school:class)"),
  list(id = "pupils_crossed", data = "pupils",
       formula = "y ~ x + (1 | primary) + (1 | secondary)"),
  list(id = "raters_items", data = "raters", formula = "score ~ 1 + (1 | rater) + (1 | item)"),
  list(id = "singular", data = "singular",
       formula = "score ~ 1 + (1 | rater) + (1 | item) + (1 | session)")
)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14,
                                    ftol_rel = 1e-16, maxeval = 1e5),
                     check.conv.singular = "ignore")

table_of <- function(ct) {
  ct <- as.data.frame(ct)
  list(term = rownames(ct), estimate = ct[["Estimate"]], std_error = ct[["Std. Error"]],
       df = ct[["df"]], statistic = ct[["t value"]], p_value = ct[["Pr(>|t|)"]])
}

results <- list()
for (m in models) {
  d <- read(m$data)
  for (reml in c(TRUE, FALSE)) {
    fit <- lmerTest::lmer(as.formula(m$formula), d, REML = reml, control = tight)
    key <- paste0(m$id, if (reml) "_reml" else "_ml")
    out <- list(data = m$data, formula = m$formula, reml = reml,
                satterthwaite = table_of(coef(summary(fit))))
    p <- length(fixef(fit))
    if (p == 2) {
      L <- rbind(c(1, 2), c(0, 1))
      ct <- contest(fit, L[1, , drop = FALSE], joint = FALSE, ddf = "Satterthwaite")
      joint <- contest(fit, L, joint = TRUE, ddf = "Satterthwaite")
      av <- anova(fit, type = 3, ddf = "Satterthwaite")
      out$contrast <- list(L = L[1, ], estimate = ct$Estimate, std_error = ct[["Std. Error"]],
                           df = ct$df, statistic = ct[["t value"]], p_value = ct[["Pr(>|t|)"]])
      out$joint <- list(L = L, num_df = joint$NumDF, den_df = joint$DenDF,
                        statistic = joint[["F value"]], p_value = joint[["Pr(>F)"]])
      out$anova <- list(term = rownames(av), num_df = av$NumDF, den_df = av$DenDF,
                        statistic = av[["F value"]], p_value = av[["Pr(>F)"]])
    }
    if (reml) {
      out$kenward_roger <- table_of(coef(summary(fit, ddf = "Kenward-Roger")))
      out$vcov_kenward_roger <- unname(as.matrix(vcovAdj(fit)))
      if (p == 2) {
        joint_kr <- contest(fit, rbind(c(1, 2), c(0, 1)), joint = TRUE, ddf = "Kenward-Roger")
        out$joint_kenward_roger <- list(num_df = joint_kr$NumDF, den_df = joint_kr$DenDF,
                                        statistic = joint_kr[["F value"]],
                                        p_value = joint_kr[["Pr(>F)"]])
      }
    }
    if (!reml && !isSingular(fit)) {
      # Wald standard errors of the random part: the curvature of lme4's ML deviance
      # in (sd, cor, sigma) with beta profiled out (devfun2, what profile() uses)
      dd <- lme4:::devfun2(fit, useSc = TRUE, signames = FALSE)
      opt <- attr(dd, "optimum")
      nv <- length(opt) - length(fixef(fit))
      H <- numDeriv::hessian(dd, opt[seq_len(nv)])
      out$wald_random <- list(parameter = names(opt)[seq_len(nv)],
                              estimate = unname(opt[seq_len(nv)]),
                              std_error = sqrt(diag(2 * solve(H))))
    }
    if (m$id %in% c("raters_items", "penicillin_crossed")) {
      # lme4's profile intervals (its sd, cor, sigma and fixed-effect rows, in order)
      ci <- confint(fit, method = "profile", oldNames = FALSE)
      out$profile <- list(parameter = rownames(ci), lower = unname(ci[, 1]),
                          upper = unname(ci[, 2]))
    }
    re <- as.data.frame(ranef(fit, condVar = TRUE))  # grpvar, term, grp, condval, condsd
    out$cond_sd <- list(grpvar = as.character(re$grpvar), term = as.character(re$term),
                        level = as.character(re$grp), condval = re$condval,
                        condsd = re$condsd)
    results[[key]] <- out
  }
}

writeLines(
  toJSON(list(
    generated_by = "tests/reference/make_crossed_ddf_reference.R",
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    models = results
  ), digits = NA, auto_unbox = TRUE, pretty = TRUE),
  file.path("tests", "reference", "crossed_ddf_reference.json")
)
