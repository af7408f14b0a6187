# Reference R-squared values for the tests of MixedFit.r2 (tests/test_r2.py).
#
# Run from the repository root:   Rscript tests/reference/make_r2_reference.R
# Needs R with lme4, performance and jsonlite. It reads the project's CSV files in data/
# and writes tests/reference/r2_reference.json. R is needed only to regenerate that
# file, never to run the tests.
#
# For every model it records
#   nakagawa:  performance::r2_nakagawa(fit) (Nakagawa & Schielzeth 2013, with Johnson's
#              2014 extension for random slopes): marginal and conditional R2, and the
#              variance components it builds them from (insight::get_variance);
#   snijders_bosker (random-intercept LMMs only): the published formulas of Snijders &
#              Bosker (1994; 2012, sec. 7.1), computed here from lme4's own estimates of
#              the model and of the empty model y ~ 1 + (1 | group) fitted to the same
#              rows by the same method:
#                level1 = 1 - (sigma2_M + tau_M) / (sigma2_0 + tau_0)
#                level2 = 1 - (sigma2_M / n + tau_M) / (sigma2_0 / n + tau_0)
#              with n the harmonic mean of the group sizes (and, for a second check,
#              n = 10).
# The fits use tightened optimiser tolerances, as make_reference.R does.

suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(jsonlite)
})

read_data <- function(name) read.csv(file.path("data", paste0(name, ".csv")))

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14,
                                    ftol_rel = 1e-16, maxeval = 1e5),
                     check.conv.singular = "ignore")
gtight <- glmerControl(optimizer = "nloptwrap",
                       optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                      ftol_rel = 1e-14, maxeval = 1e5),
                       tolPwrss = 1e-11, check.conv.singular = "ignore")

models <- list(
  list(id = "pop_ri_reml", data = "popularity", reml = TRUE, group = "class",
       outcome = "popular", ri = TRUE,
       formula = "popular ~ extrav + gender + texp + (1 | class)"),
  list(id = "pop_ri_ml", data = "popularity", reml = FALSE, group = "class",
       outcome = "popular", ri = TRUE,
       formula = "popular ~ extrav + gender + texp + (1 | class)"),
  list(id = "pop_final_reml", data = "popularity", reml = TRUE, group = "class",
       outcome = "popular", ri = FALSE,
       formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"),
  list(id = "sleep_reml", data = "sleepstudy", reml = TRUE, group = "Subject",
       outcome = "Reaction", ri = FALSE,
       formula = "Reaction ~ Days + (Days | Subject)"),
  list(id = "hsb_ri_ml", data = "hsb", reml = FALSE, group = "school",
       outcome = "mAch", ri = TRUE,
       formula = "mAch ~ ses + sector + (1 | school)"),
  list(id = "contra_logit", data = "contraception", family = "logit", group = "district",
       formula = "use ~ age + urban + (1 | district)"),
  list(id = "contra_probit", data = "contraception", family = "probit", group = "district",
       formula = "use ~ age + urban + (1 + urban | district)")
)

out <- list()
for (spec in models) {
  d <- read_data(spec$data)
  if (is.null(spec$family)) {
    fit <- lmer(as.formula(spec$formula), data = d, REML = spec$reml, control = tight)
  } else {
    d$use <- as.integer(d$use == "Y")
    d$urban <- factor(d$urban, levels = c("N", "Y"))
    fit <- glmer(as.formula(spec$formula), data = d,
                 family = binomial(link = spec$family), control = gtight)
  }
  r2 <- r2_nakagawa(fit, tolerance = 0)
  v <- insight::get_variance(fit, tolerance = 0)
  rec <- list(
    id = spec$id, data = spec$data, formula = spec$formula,
    reml = if (is.null(spec$reml)) NULL else spec$reml,
    link = spec$family,
    marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional),
    var_fixed = v$var.fixed, var_random = v$var.random, var_residual = v$var.residual
  )
  if (isTRUE(spec$ri)) {
    empty <- lmer(as.formula(paste(spec$outcome, "~ 1 + (1 |", spec$group, ")")),
                  data = d, REML = spec$reml, control = tight)
    s2m <- sigma(fit)^2; taum <- as.numeric(VarCorr(fit)[[spec$group]])
    s20 <- sigma(empty)^2; tau0 <- as.numeric(VarCorr(empty)[[spec$group]])
    sizes <- as.numeric(table(d[[spec$group]]))
    sb <- function(n) c(level1 = 1 - (s2m + taum) / (s20 + tau0),
                        level2 = 1 - (s2m / n + taum) / (s20 / n + tau0))
    hm <- length(sizes) / sum(1 / sizes)
    rec$snijders_bosker <- list(n_harmonic = hm, harmonic = as.list(sb(hm)),
                                n10 = as.list(sb(10)))
  }
  out[[spec$id]] <- rec
}

meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             performance = as.character(packageVersion("performance")),
             insight = as.character(packageVersion("insight")))
write_json(list(meta = meta, models = out), "tests/reference/r2_reference.json",
           auto_unbox = TRUE, digits = NA, pretty = TRUE)
