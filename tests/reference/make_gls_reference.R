# Reference values for generalized least squares (tests/test_gls.py).
#
# Run from the repository root:   Rscript tests/reference/make_gls_reference.R
# Needs R with nlme and jsonlite. Writes tests/reference/gls_reference.json; the tests
# read that file and never need R.
#
# nlme::gls fits (REML and ML) with corCompSymm, corSymm (unstructured, occasions as
# integer positions), corAR1, corCAR1, varIdent, varPower and corAR1 + varIdent:
# the sleep-deprivation study (data/sleepstudy.csv, Reaction ~ Days within Subject) and
# a simulated design of 5 occasions per person with a known unstructured correlation
# (balanced, and unbalanced with occasions missing at random), generated here with a
# fixed seed and written into the JSON so that Python fits exactly the same numbers.
# Also nlme::lme's random-intercept fit of the sleep study, whose likelihood gls's
# compound symmetry reproduces when its rho is positive.

suppressPackageStartupMessages({
  library(nlme)
  library(jsonlite)
})

ctrl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12, msTol = 1e-14,
                   returnObject = TRUE)

describe <- function(m) {
  tt <- summary(m)$tTable
  cs <- m$modelStruct$corStruct
  vs <- m$modelStruct$varStruct
  list(
    reml = m$method == "REML",
    loglik = as.numeric(logLik(m)),
    aic = AIC(m),
    bic = BIC(m),
    fixed = as.list(coef(m)),
    std_error = as.list(tt[, "Std.Error"]),
    t_value = as.list(tt[, "t-value"]),
    df = m$dims$N - m$dims$p,
    sigma = m$sigma,
    cor = if (is.null(cs)) NULL else unname(coef(cs, unconstrained = FALSE)),
    var = if (is.null(vs)) NULL else as.list(coef(vs, unconstrained = FALSE)),
    fitted = unname(fitted(m))
  )
}

out <- list()

# -- the sleep-deprivation study -------------------------------------------------------
sleep <- read.csv("data/sleepstudy.csv")
for (method in c("REML", "ML")) {
  m <- gls(Reaction ~ Days, data = sleep, method = method,
           correlation = corCompSymm(form = ~ 1 | Subject), control = ctrl)
  out[[paste0("sleep_cs_", method)]] <- describe(m)
  m <- gls(Reaction ~ Days, data = sleep, method = method,
           correlation = corAR1(form = ~ Days | Subject), control = ctrl)
  out[[paste0("sleep_ar1_", method)]] <- describe(m)
  m <- gls(Reaction ~ Days, data = sleep, method = method,
           correlation = corCAR1(form = ~ Days | Subject), control = ctrl)
  out[[paste0("sleep_car1_", method)]] <- describe(m)
  m <- gls(Reaction ~ Days, data = sleep, method = method, control = ctrl)
  out[[paste0("sleep_none_", method)]] <- describe(m)
  m <- lme(Reaction ~ Days, random = ~ 1 | Subject, data = sleep, method = method)
  out[[paste0("sleep_lme_int_", method)]] <- list(
    loglik = as.numeric(logLik(m)), sigma = m$sigma,
    tau = as.numeric(getVarCov(m)))
}

# -- a simulated design with an unstructured correlation (known truth) -----------------
set.seed(20261207)
J <- 80
K <- 5
Rtrue <- matrix(c(1.0, 0.6, 0.4, 0.3, 0.1,
                  0.6, 1.0, 0.7, 0.5, 0.3,
                  0.4, 0.7, 1.0, 0.6, 0.4,
                  0.3, 0.5, 0.6, 1.0, 0.5,
                  0.1, 0.3, 0.4, 0.5, 1.0), K, K)
sds <- c(1.0, 1.2, 1.4, 1.6, 1.8)
truth <- list(beta = c(5, 0.8, 1.5, -0.5), R = Rtrue, sd = sds)
rows <- list()
for (j in seq_len(J)) {
  z <- rbinom(1, 1, 0.5)
  e <- drop(t(chol(Rtrue)) %*% rnorm(K))
  x <- rnorm(K)
  dose <- runif(K, 0.5, 3)
  occ <- 1:K
  rows[[j]] <- data.frame(
    id = j, occ = occ, z = z, x = round(x, 4), dose = round(dose, 3),
    y = round(truth$beta[1] + truth$beta[2] * occ + truth$beta[3] * z +
              truth$beta[4] * x + sds[occ] * e, 4),
    # SD proportional to dose^0.6, AR(1) within person (phi = 0.5), SD 1.5 for z = 1
    yv = round(truth$beta[1] + truth$beta[2] * occ + truth$beta[3] * z +
               (1 + 0.5 * z) * dose^0.6 * drop(t(chol(0.5^abs(outer(occ, occ, "-")))) %*% rnorm(K)), 4)
  )
}
sim <- do.call(rbind, rows)
keep <- rep(TRUE, nrow(sim))
for (j in seq_len(J)) {  # the unbalanced design: each occasion missing with probability 0.25
  r <- which(sim$id == j)
  drop <- runif(K) < 0.25
  if (sum(!drop) < 2) drop[1:2] <- FALSE
  keep[r[drop]] <- FALSE
}
sim$complete <- keep
sim <- sim[sample(nrow(sim)), ]  # rows in no particular order
out$sim_data <- as.list(sim)
out$sim_truth <- truth
unb <- sim[sim$complete, ]
for (method in c("REML", "ML")) {
  m <- gls(y ~ occ + z + x, data = sim, method = method,
           correlation = corSymm(form = ~ occ | id), control = ctrl)
  out[[paste0("sim_un_", method)]] <- describe(m)
  m <- gls(y ~ occ + z + x, data = unb, method = method,
           correlation = corSymm(form = ~ occ | id), control = ctrl)
  out[[paste0("sim_un_unbalanced_", method)]] <- describe(m)
  m <- gls(y ~ occ + z + x, data = unb, method = method,
           correlation = corCompSymm(form = ~ 1 | id), control = ctrl)
  out[[paste0("sim_cs_unbalanced_", method)]] <- describe(m)
  m <- gls(yv ~ occ + z, data = sim, method = method,
           weights = varIdent(form = ~ 1 | z), control = ctrl)
  out[[paste0("sim_varident_", method)]] <- describe(m)
  m <- gls(yv ~ occ + z, data = sim, method = method,
           weights = varPower(form = ~ dose), control = ctrl)
  out[[paste0("sim_varpower_", method)]] <- describe(m)
  m <- gls(yv ~ occ + z, data = unb, method = method,
           correlation = corAR1(form = ~ occ | id), weights = varIdent(form = ~ 1 | z),
           control = ctrl)
  out[[paste0("sim_ar1_varident_unbalanced_", method)]] <- describe(m)
}

write_json(out, "tests/reference/gls_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
cat("wrote tests/reference/gls_reference.json\n")
