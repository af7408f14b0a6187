# Reference values for the degrees-of-freedom tests of helpers (tests/test_lmm_ddf.py).
#
# Run from the repository root:   Rscript tests/reference/make_ddf_reference.R
# Needs R with lme4, lmerTest, pbkrtest, emmeans and jsonlite (Debian: r-cran-lmertest
# r-cran-pbkrtest r-cran-emmeans r-cran-jsonlite). Writes tests/reference/ddf_reference.json;
# the tests read that file and never need R.
#
# For each model: lmerTest's summary table (Satterthwaite df, its default), the same
# with Kenward-Roger (lmerTest's contest1D, which takes pbkrtest's vcovAdj and
# Lb_ddf), 95% intervals from lmerTest's contest(confint = TRUE), type III anova
# (anova(m, type = 3, ddf = )), a joint contrast (contestMD), emmeans' emtrends
# simple slopes and pbkrtest's adjusted covariance vcovAdj. The simulated data sets
# are generated here with a fixed seed and written into the JSON, so Python fits
# exactly the same numbers.
#
# Fits use tight optimiser tolerances (as make_reference.R): lme4's default stop can
# leave the variance parameters about 1e-4 relative from the optimum, which moves the
# df in the fourth digit.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(emmeans)
  library(jsonlite)
})

# emmeans computes Satterthwaite df for any size; Kenward-Roger slopes are asked for only
# below 3000 rows (pbkrtest builds the dense n x n covariance of the data).
emm_options(lmerTest.limit = 1e6, pbkrtest.limit = 3000)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16,
                                    xtol_rel = 1e-14, ftol_rel = 1e-16, maxeval = 1e5))

read_data <- function(name) {
  d <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  if (name == "hsb") d$sector <- factor(d$sector, levels = c("Public", "Catholic"))
  d
}

# Few groups: 12 classes of 4 to 40 pupils (unbalanced), a pupil-level predictor with a
# random slope and a class-level predictor.
set.seed(20261207)
J <- 12
nj <- sample(c(4, 6, 8, 25, 40), J, replace = TRUE)
few <- data.frame(class = rep(seq_len(J), nj))
w <- rnorm(J)
few$w <- w[few$class]
few$x <- round(rnorm(nrow(few), 0, 1.5), 2)
u0 <- rnorm(J, 0, 0.8)
u1 <- rnorm(J, 0, 0.4)
few$y <- round(2 + 0.5 * few$x + 0.6 * few$w + u0[few$class] + u1[few$class] * few$x +
               rnorm(nrow(few)), 3)

# Random slope with a cross-level interaction and a three-level factor: 25 groups.
set.seed(7)
J <- 25
nj <- sample(8:20, J, replace = TRUE)
cli <- data.frame(g = rep(seq_len(J), nj))
z <- round(rnorm(J, 10, 3), 2)
cli$z <- z[cli$g]
cli$x <- round(rnorm(nrow(cli), 5, 2), 2)
cli$f <- sample(c("a", "b", "c"), nrow(cli), replace = TRUE)
u <- cbind(rnorm(J, 0, 1), rnorm(J, 0, 0.3))
cli$y <- round(1 + 0.4 * cli$x + 0.2 * cli$z - 0.05 * cli$x * cli$z +
               0.5 * (cli$f == "b") - 0.3 * (cli$f == "c") +
               u[cli$g, 1] + u[cli$g, 2] * cli$x + rnorm(nrow(cli), 0, 1.2), 3)

models <- list(
  list(id = "pop_final", data = "popularity", reml = TRUE,
       formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)",
       slopes = list(var = "extrav", moderator = "texp", at = c(5, 15, 25)),
       joint = c("extrav", "extrav:texp")),
  list(id = "pop_final_ml", data = "popularity", reml = FALSE,
       formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)",
       slopes = list(var = "extrav", moderator = "texp", at = c(5, 15, 25)),
       joint = c("extrav", "extrav:texp")),
  list(id = "hsb_rb", data = "hsb", reml = TRUE,
       formula = "mAch ~ meanses * cses + sector * cses + (1 + cses | school)",
       slopes = list(var = "cses", moderator = "meanses", at = c(-0.5, 0, 0.5)),
       joint = c("meanses:cses", "cses:sectorCatholic")),
  list(id = "few_groups", data = "few", reml = TRUE,
       formula = "y ~ x + w + (1 + x | class)", slopes = NULL, joint = c("x", "w")),
  list(id = "cross_level", data = "cli", reml = TRUE,
       formula = "y ~ x * z + f + (1 + x | g)",
       slopes = list(var = "x", moderator = "z", at = c(5, 10, 15)),
       joint = c("fb", "fc"))
)

table_of <- function(tab) {
  list(term = rownames(tab), estimate = tab[, "Estimate"], std_error = tab[, "Std. Error"],
       df = tab[, "df"], statistic = tab[, "t value"], p_value = tab[, "Pr(>|t|)"],
       ci_lower = tab[, "lower"], ci_upper = tab[, "upper"])
}

coef_tests <- function(m, ddf) {
  p <- length(fixef(m))
  L <- diag(p)
  rows <- lapply(seq_len(p), function(k) contest(m, L[k, ], ddf = ddf, joint = FALSE,
                                                 confint = TRUE))
  tab <- do.call(rbind, rows)
  rownames(tab) <- names(fixef(m))
  table_of(as.matrix(tab))
}

anova_of <- function(m, ddf) {
  a <- anova(m, type = 3, ddf = ddf)
  list(term = rownames(a), num_df = a[, "NumDF"], den_df = a[, "DenDF"],
       statistic = a[, "F value"], p_value = a[, "Pr(>F)"])
}

joint_of <- function(m, names, ddf) {
  L <- t(sapply(names, function(nm) as.numeric(names(fixef(m)) == nm)))
  a <- contest(m, L, ddf = ddf, joint = TRUE)
  list(coefficients = names, num_df = a[["NumDF"]], den_df = a[["DenDF"]],
       statistic = a[["F value"]], p_value = a[["Pr(>F)"]])
}

slopes_of <- function(m, s, method) {
  at <- setNames(list(s$at), s$moderator)
  e <- summary(emtrends(m, as.formula(paste("~", s$moderator)), var = s$var, at = at,
                        lmer.df = method), infer = c(TRUE, TRUE))
  tr <- paste0(s$var, ".trend")
  list(at = e[[s$moderator]], estimate = e[[tr]], std_error = e$SE, df = e$df,
       statistic = e$t.ratio, p_value = e$p.value, ci_lower = e$lower.CL,
       ci_upper = e$upper.CL)
}

out <- list()
for (spec in models) {
  d <- switch(spec$data, few = few, cli = cli, read_data(spec$data))
  m <- lmer(as.formula(spec$formula), data = d, REML = spec$reml, control = tight)
  res <- list(formula = spec$formula, reml = spec$reml,
              satterthwaite = coef_tests(m, "Satterthwaite"),
              anova_satterthwaite = anova_of(m, "Satterthwaite"),
              joint_satterthwaite = joint_of(m, spec$joint, "Satterthwaite"))
  if (spec$reml) {
    res$kenward_roger <- coef_tests(m, "Kenward-Roger")
    res$anova_kenward_roger <- anova_of(m, "Kenward-Roger")
    res$joint_kenward_roger <- joint_of(m, spec$joint, "Kenward-Roger")
    res$vcov_kenward_roger <- unname(as.matrix(vcovAdj(m)))
  }
  if (!is.null(spec$slopes)) {
    res$slopes <- list(var = spec$slopes$var, moderator = spec$slopes$moderator,
                       satterthwaite = slopes_of(m, spec$slopes, "satterthwaite"))
    if (spec$reml && nrow(d) < 3000) res$slopes$kenward_roger <- slopes_of(m, spec$slopes, "kenward-roger")
  }
  if (spec$data %in% c("few", "cli")) res$data <- d
  out[[spec$id]] <- res
}

out$versions <- list(lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     pbkrtest = as.character(packageVersion("pbkrtest")),
                     emmeans = as.character(packageVersion("emmeans")),
                     R = R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE),
           "tests/reference/ddf_reference.json")
