# Reference values from R's lme4 for the tests of helpers.fit_lmm.
#
# Run from the repository root:   Rscript tests/reference/make_reference.R
# Needs R with lme4 and jsonlite (Debian: apt-get install r-base-core r-cran-lme4
# r-cran-jsonlite). It reads the project's own CSV files in data/, so both sides fit
# identical numbers, and writes tests/reference/lme4_reference.json. R is needed only
# to regenerate that file, never to run the tests.
#
# Convergence: every model is fitted twice, with lme4's default settings and with
# tightened ones (nloptwrap/BOBYQA with absolute and relative tolerances 1e-14 on
# theta and 1e-16 on the deviance). lme4's default optimum stops early on flat
# likelihoods: at its theta the deviance gradient can be of order 0.05 (e.g.
# pop_final_ml), which moves variance components by about 1e-4 relative while the
# deviance changes only in the 7th decimal. helpers' optimum is the more precise
# one there, so the tests compare with the tightened fit; the JSON keeps the default
# fit's deviance ("deviance_default") and theta ("theta_default") for comparison.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

read_data <- function(name) {
  d <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  if (name == "hsb") {
    d$sector <- factor(d$sector, levels = c("Public", "Catholic"))
    d$sx <- factor(d$sx, levels = c("Male", "Female"))
    d$minrty <- factor(d$minrty, levels = c("No", "Yes"))
  }
  d
}

models <- list(
  list(id = "hsb_null", data = "hsb", formula = "mAch ~ 1 + (1 | school)"),
  list(id = "hsb_meanses", data = "hsb", formula = "mAch ~ meanses + (1 | school)"),
  list(id = "hsb_cses_rs", data = "hsb", formula = "mAch ~ cses + (1 + cses | school)"),
  list(id = "hsb_rb", data = "hsb",
       formula = "mAch ~ meanses * cses + sector * cses + (1 + cses | school)"),
  list(id = "sleep_corr", data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)"),
  list(id = "sleep_uncorr", data = "sleepstudy",
       formula = "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"),
  list(id = "radon_floor", data = "radon", formula = "log_radon ~ floor + (1 | county)"),
  list(id = "pop_null", data = "popularity", formula = "popular ~ 1 + (1 | class)"),
  list(id = "pop_final", data = "popularity",
       formula = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"),
  list(id = "pop_small_rs", data = "popularity_small",
       formula = "popular ~ extrav + gender + (1 + extrav | class)"),
  list(id = "pop_complete", data = "popularity",
       formula = "popular ~ extrav + gender + texp + (1 + extrav + gender | class)")
)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14,
                                    ftol_rel = 1e-16, maxeval = 1e5),
                     check.conv.singular = "ignore")
default <- lmerControl(check.conv.singular = "ignore")

criterion <- function(fit) if (isREML(fit)) REMLcrit(fit) else deviance(fit)

summarise <- function(fit, fit_default) {
  # Uncorrelated terms from separate bars: combine them into one covariance matrix.
  vcs <- VarCorr(fit)
  terms <- unlist(lapply(vcs, function(m) rownames(m)))
  tau <- matrix(0, length(terms), length(terms), dimnames = list(terms, terms))
  for (m in vcs) tau[rownames(m), colnames(m)] <- as.matrix(m)
  reall <- do.call(cbind, lapply(ranef(fit, condVar = TRUE), function(r) as.matrix(r)))
  sdall <- do.call(cbind, lapply(ranef(fit, condVar = TRUE), function(r) {
    # postVar is a q x q x J array, or a list of them when one group has several bars:
    # the conditional variances are their diagonals.
    pv <- attr(r, "postVar")
    if (!is.list(pv)) pv <- list(pv)
    do.call(cbind, lapply(pv, function(a) {
      s <- sapply(seq_len(dim(a)[3]), function(k) sqrt(diag(as.matrix(a[, , k]))))
      matrix(s, nrow = nrow(r), byrow = TRUE)
    }))
  }))
  list(
    fixed = list(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                 std_error = unname(sqrt(diag(as.matrix(vcov(fit)))))),
    sigma2 = sigma(fit)^2,
    tau = list(terms = terms, matrix = unname(tau)),
    theta = unname(getME(fit, "theta")),
    deviance = criterion(fit),
    deviance_default = criterion(fit_default),
    theta_default = unname(getME(fit_default, "theta")),
    gradient = unname(fit@optinfo$derivs$gradient),
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    n_obs = nobs(fit),
    n_groups = unname(ngrps(fit))[1],
    singular = isSingular(fit),
    ranef = list(group = rownames(reall), terms = colnames(reall), values = unname(reall),
                 cond_sd = unname(sdall))
  )
}

out <- list(
  generated_by = "tests/reference/make_reference.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  models = list()
)
for (m in models) {
  d <- read_data(m$data)
  for (reml in c(TRUE, FALSE)) {
    f <- as.formula(m$formula)
    fit <- lmer(f, data = d, REML = reml, control = tight)
    fit_default <- lmer(f, data = d, REML = reml, control = default)
    key <- paste0(m$id, if (reml) "_reml" else "_ml")
    s <- summarise(fit, fit_default)
    s$data <- m$data
    s$formula <- m$formula
    s$reml <- reml
    out$models[[key]] <- s
    cat(sprintf("%-22s deviance %.6f (default %.6f) singular=%s\n",
                key, s$deviance, s$deviance_default, s$singular))
  }
}
write_json(out, "tests/reference/lme4_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
