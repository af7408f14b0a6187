# Reference log-likelihoods from R's lme4::glmer for the boundary test of
# hp.fit_glmm (tests/test_glmm_boundary.py, issue 26).
#
# Run from the repository root:   Rscript tests/reference/make_glmm_boundary.R
# Needs R with lme4 and jsonlite. Reads tests/reference/glmm_boundary_data.csv.gz
# (written by tests/reference/make_glmm_boundary_data.py: seeded random-slope data
# sets of every family and link) and writes tests/reference/glmm_boundary.json.
#
# Every data set is fitted as  y ~ x + (1 + x | g)  (Bernoulli: y; cbind:
# cbind(y, n - y); Poisson: y) by the Laplace approximation, twice:
#  * "default": glmerControl() as shipped (bobyqa then Nelder_Mead);
#  * "tight":   nloptwrap (BOBYQA) for both stages, xtol/ftol 1e-12/1e-14,
#               maxeval 1e5, tolPwrss 1e-11.
# For each fit the JSON keeps glmer's logLik(), its theta and beta, isSingular(),
# and "exact": the Laplace log-likelihood at glmer's (theta, beta) from the
# independent plain-R evaluator below. glmer's own number can be off the exact
# Laplace value at its estimates (its inner loop stops on a relative change of the
# penalised deviance), so the test's bar is the best of glmer's own log-likelihood
# and the exact value at glmer's estimates, over both fits.
#
# Where glmer is the one that stops short: tests/reference/glmm_boundary_helpers.csv
# (make_glmm_boundary_data.py --estimates) holds hp.fit_glmm's theta and beta on
# lme4's scale. Each is evaluated here by the same independent evaluator
# ("helpers_exact"); "glmer_short" marks the data sets where the exact Laplace
# log-likelihood at helpers' estimates exceeds glmer's default fit (its own number
# and the exact value at its estimates) by more than 1e-6, "glmer_short_tight" the
# same for the tight fit.
#
# The independent evaluator: for a random intercept and slope, b_j = T u_j with
# T = [[t1, 0], [t2, t3]] (lme4's theta order), the conditional modes u_j minimise
# D_j(u) = -2 sum_i log f(y_i | eta_i) + |u|^2, found here by Newton's method on
# each group's 2 x 2 problem with the observed information, step-halving, to a
# step below 1e-13 (no tolerance on relative change); the Laplace deviance is
# sum_j [log det H_j + D_j(u_j)] with H_j = (Z_j T)' W_j (Z_j T) + I and W the
# IRLS (expected-information) weights at the modes, as lme4 defines it; -2 log f
# is the full log density (dbinom / dpois with log = TRUE).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

data <- read.csv(gzfile("tests/reference/glmm_boundary_data.csv.gz"), stringsAsFactors = FALSE)

family_of <- function(kind, link) {
  if (kind == "poisson") poisson(link = "log") else binomial(link = link)
}

formula_of <- function(kind) {
  if (kind == "cbind") cbind(y, n - y) ~ x + (1 + x | g) else y ~ x + (1 + x | g)
}

exact_loglik <- function(d, fam, theta, beta) {
  T <- matrix(c(theta[1], theta[2], 0, theta[3]), 2, 2)
  yy <- if (fam$family == "binomial") d$y / d$n else d$y
  wt <- if (fam$family == "binomial") d$n else rep(1, nrow(d))
  total <- 0
  for (j in split(seq_len(nrow(d)), d$g)) {
    Zj <- cbind(1, d$x[j]) %*% T
    eta0 <- beta[1] + beta[2] * d$x[j]
    pdev <- function(u) {
      eta <- eta0 + drop(Zj %*% u)
      mu <- fam$linkinv(eta)
      ll <- if (fam$family == "binomial") {
        dbinom(d$y[j], d$n[j], mu, log = TRUE)
      } else {
        dpois(d$y[j], mu, log = TRUE)
      }
      -2 * sum(ll) + sum(u^2)
    }
    u <- c(0, 0)
    for (it in 1:200) {
      eta <- eta0 + drop(Zj %*% u)
      mu <- fam$linkinv(eta)
      me <- fam$mu.eta(eta)
      v <- fam$variance(mu)
      s <- wt[j] * (yy[j] - mu) * me / v
      # observed information: expected weights minus the (y - mu) term, by a
      # central difference of the score (exact Newton, link-independent)
      g <- drop(crossprod(Zj, s)) - u
      h <- 1e-6
      Hobs <- matrix(0, 2, 2)
      for (k in 1:2) {
        e <- c(0, 0); e[k] <- h
        ep <- eta0 + drop(Zj %*% (u + e)); em <- eta0 + drop(Zj %*% (u - e))
        sc <- function(et) {
          m <- fam$linkinv(et)
          drop(crossprod(Zj, wt[j] * (yy[j] - m) * fam$mu.eta(et) / fam$variance(m)))
        }
        Hobs[, k] <- -(sc(ep) - sc(em)) / (2 * h) + e / h
      }
      Hobs <- (Hobs + t(Hobs)) / 2
      Wexp <- wt[j] * me^2 / v
      Hexp <- crossprod(Zj, Zj * Wexp) + diag(2)
      Hn <- if (all(eigen(Hobs, symmetric = TRUE, only.values = TRUE)$values > 0)) Hobs else Hexp
      step <- solve(Hn, g)
      f0 <- pdev(u)
      fac <- 1
      while (fac > 1e-8 && pdev(u + fac * step) > f0 + 1e-12) fac <- fac / 2
      u <- u + fac * step
      if (max(abs(fac * step)) < 1e-13) break
    }
    eta <- eta0 + drop(Zj %*% u)
    mu <- fam$linkinv(eta)
    W <- wt[j] * fam$mu.eta(eta)^2 / fam$variance(mu)
    H <- crossprod(Zj, Zj * W) + diag(2)
    total <- total + as.numeric(determinant(H, logarithm = TRUE)$modulus) + pdev(u)
  }
  -total / 2
}

tight <- glmerControl(optimizer = c("nloptwrap", "nloptwrap"),
                      optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                     ftol_rel = 1e-14, maxeval = 1e5),
                      tolPwrss = 1e-11, calc.derivs = FALSE,
                      check.conv.singular = "ignore")
default <- glmerControl(calc.derivs = FALSE)

one <- function(d, control) {
  kind <- d$kind[1]
  fam <- family_of(kind, d$link[1])
  fit <- suppressWarnings(suppressMessages(
    glmer(formula_of(kind), data = d, family = fam, control = control)))
  theta <- unname(getME(fit, "theta"))
  beta <- unname(fixef(fit))
  list(loglik = as.numeric(logLik(fit)), theta = theta, beta = beta,
       singular = isSingular(fit), exact = exact_loglik(d, fam, theta, beta))
}

helpers_est <- read.csv("tests/reference/glmm_boundary_helpers.csv")
sets <- split(data, data$set)
out <- lapply(sets, function(d) {
  r <- list(set = d$set[1], kind = d$kind[1], link = d$link[1], regime = d$regime[1],
            default = one(d, default), tight = one(d, tight))
  h <- helpers_est[helpers_est$set == d$set[1], ]
  fam <- family_of(d$kind[1], d$link[1])
  r$helpers_exact <- exact_loglik(d, fam, c(h$t1, h$t2, h$t3), c(h$b0, h$b1))
  best <- function(f) max(f$loglik, f$exact)
  r$glmer_short <- r$helpers_exact > best(r$default) + 1e-6
  r$glmer_short_tight <- r$helpers_exact > best(r$tight) + 1e-6
  r
})
names(out) <- NULL
meta <- list(
  script = "tests/reference/make_glmm_boundary.R",
  lme4 = as.character(packageVersion("lme4")),
  R = R.version.string,
  formula = "y ~ x + (1 + x | g)"
)
writeLines(toJSON(list(meta = meta, sets = out), auto_unbox = TRUE, digits = NA),
           "tests/reference/glmm_boundary.json")
cat("wrote tests/reference/glmm_boundary.json:", length(out), "data sets\n")
