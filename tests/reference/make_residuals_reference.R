# Reference values for residual correlation structures (tests/test_lmm_residuals.py).
#
# Run from the repository root:   Rscript tests/reference/make_residuals_reference.R
# Needs R with nlme and jsonlite. Writes tests/reference/residuals_reference.json; the
# tests read that file and never need R.
#
# nlme::lme fits (REML and ML) with corAR1 (integer occasions), corCAR1 (continuous
# time) and varIdent (a residual SD per level: High School and Beyond, data/hsb.csv,
# by sex; and with AR(1) on the simulated design): the sleep-deprivation study
# (data/sleepstudy.csv, Reaction ~ Days with a random intercept and slope per
# Subject, AR(1) over Days) and simulated unbalanced designs
# with known truth (phi = 0.6), generated here with a fixed seed and written into the
# JSON, so Python fits exactly the same numbers. Tight tolerances: nlme's defaults can
# stop a little short of the optimum (the tests then judge by the criterion).

suppressPackageStartupMessages({
  library(nlme)
  library(jsonlite)
})

ctrl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, msMaxEval = 2000,
                   tolerance = 1e-12, msTol = 1e-14, returnObject = TRUE)

describe <- function(m, data, cor_form) {
  tt <- summary(m)$tTable
  V <- getVarCov(m)  # covariance of the random effects
  cs <- m$modelStruct$corStruct
  list(
    reml = m$method == "REML",
    loglik = as.numeric(logLik(m)),
    fixed = as.list(fixef(m)),
    std_error = as.list(tt[, "Std.Error"]),
    df = as.list(tt[, "DF"]),
    sigma = m$sigma,
    tau = unname(matrix(as.numeric(V), nrow(V))),
    tau_names = rownames(V),
    phi = if (is.null(cs)) NULL else unname(coef(cs, unconstrained = FALSE)),
    ranef = unname(as.matrix(ranef(m))),
    ranef_groups = rownames(ranef(m)),
    fitted = unname(fitted(m, level = 1))
  )
}

out <- list()

# -- the sleep-deprivation study -------------------------------------------------------
sleep <- read.csv("data/sleepstudy.csv")
for (method in c("REML", "ML")) {
  m <- lme(Reaction ~ Days, random = ~ Days | Subject, data = sleep, method = method,
           correlation = corAR1(form = ~ Days | Subject), control = ctrl)
  out[[paste0("sleep_ar1_slope_", method)]] <- describe(m)
  m <- lme(Reaction ~ Days, random = ~ 1 | Subject, data = sleep, method = method,
           correlation = corAR1(form = ~ Days | Subject), control = ctrl)
  out[[paste0("sleep_ar1_int_", method)]] <- describe(m)
  m <- lme(Reaction ~ Days, random = ~ Days | Subject, data = sleep, method = method,
           control = ctrl)
  out[[paste0("sleep_none_slope_", method)]] <- describe(m)
}
# Likelihood-ratio test of AR(1) errors in the random-slope model (ML fits).
m0 <- lme(Reaction ~ Days, random = ~ Days | Subject, data = sleep, method = "ML",
          control = ctrl)
m1 <- update(m0, correlation = corAR1(form = ~ Days | Subject))
a <- anova(m0, m1)
out$sleep_lrt <- list(statistic = a$L.Ratio[2], p_value = a$`p-value`[2])

# -- simulated unbalanced designs (known truth) ----------------------------------------
set.seed(20261207)
J <- 60
truth <- list(beta = c(10, 0.5, 2), tau = c(4, 0.25), sigma = 1.5, phi = 0.6)
rows <- list()
for (j in seq_len(J)) {
  k <- sample(3:8, 1)
  occ <- sort(sample(0:9, k))                   # integer occasions with gaps
  t <- sort(round(cumsum(runif(k, 0.2, 2)), 3)) # irregular continuous times
  z <- rbinom(1, 1, 0.5)                        # a person-level covariate
  u <- rnorm(2, 0, sqrt(truth$tau))
  e_occ <- numeric(k); e_t <- numeric(k)
  R_occ <- truth$phi^abs(outer(occ, occ, "-"))
  R_t <- truth$phi^abs(outer(t, t, "-"))
  e_occ <- truth$sigma * drop(t(chol(R_occ)) %*% rnorm(k))
  e_t <- truth$sigma * drop(t(chol(R_t)) %*% rnorm(k))
  x <- rnorm(k)
  rows[[j]] <- data.frame(
    id = j, occ = occ, t = t, x = round(x, 4), z = z,
    y = round(truth$beta[1] + u[1] + (truth$beta[2] + u[2]) * occ + truth$beta[3] * z + e_occ, 4),
    yc = round(truth$beta[1] + u[1] + (truth$beta[2] + u[2]) * t + truth$beta[3] * z + e_t, 4)
  )
}
sim <- do.call(rbind, rows)
sim <- sim[sample(nrow(sim)), ]  # rows in no particular order
out$sim_data <- as.list(sim)
out$sim_truth <- truth
for (method in c("REML", "ML")) {
  m <- lme(y ~ occ + z, random = ~ 1 | id, data = sim, method = method,
           correlation = corAR1(form = ~ occ | id), control = ctrl)
  out[[paste0("sim_ar1_int_", method)]] <- describe(m)
  m <- lme(y ~ occ + z + x, random = ~ occ | id, data = sim, method = method,
           correlation = corAR1(form = ~ occ | id), control = ctrl)
  out[[paste0("sim_ar1_slope_", method)]] <- describe(m)
  m <- lme(yc ~ t + z, random = ~ 1 | id, data = sim, method = method,
           correlation = corCAR1(form = ~ t | id), control = ctrl)
  out[[paste0("sim_car1_int_", method)]] <- describe(m)
}

# -- a residual SD per level (varIdent) ---------------------------------------------------
hsb <- read.csv("data/hsb.csv", stringsAsFactors = FALSE)
for (method in c("REML", "ML")) {
  m <- lme(mAch ~ ses + sector, random = ~ 1 | school, data = hsb, method = method,
           weights = varIdent(form = ~ 1 | sx), control = ctrl)
  r <- describe(m)
  r$var_ratio <- as.list(coef(m$modelStruct$varStruct, unconstrained = FALSE))
  out[[paste0("hsb_varident_", method)]] <- r
  # AR(1) and a residual SD per level of z together, on the simulated design
  m <- lme(y ~ occ + z + x, random = ~ occ | id, data = sim, method = method,
           correlation = corAR1(form = ~ occ | id), weights = varIdent(form = ~ 1 | z),
           control = ctrl)
  r <- describe(m)
  r$var_ratio <- as.list(coef(m$modelStruct$varStruct, unconstrained = FALSE))
  out[[paste0("sim_ar1_varident_", method)]] <- r
}

write_json(out, "tests/reference/residuals_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
cat("wrote tests/reference/residuals_reference.json\n")
