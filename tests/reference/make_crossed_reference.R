# Reference values from R's lme4 for models with several grouping factors
# (nested, crossed, partially crossed, singular): tests/test_crossed_reference.py.
#
# Run from the repository root:   Rscript tests/reference/make_crossed_reference.R
# Needs R with lme4 and jsonlite. It writes the data it fits to
# tests/reference/crossed/*.csv (lme4's Pastes and Penicillin, and data simulated
# here with fixed seeds), so that both sides fit identical numbers, and the fits to
# tests/reference/crossed_reference.json. R is needed only to regenerate them.
#
# Convergence: every model is fitted with lme4's default settings and with tightened
# ones (nloptwrap/BOBYQA, tolerances 1e-14 on theta and 1e-16 on the deviance), as
# in make_reference.R; the tests compare with the tightened fit and keep the default
# fit's criterion ("deviance_default").

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "crossed")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

write_data <- function(d, name) {
  write.csv(d, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
  # Read back, so that R fits exactly the numbers Python reads.
  read.csv(file.path(out_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
}

# -- data -------------------------------------------------------------------------
data_sets <- list()
data_sets$pastes <- write_data(
  data.frame(strength = Pastes$strength, batch = as.character(Pastes$batch),
             cask = as.character(Pastes$cask)), "pastes")
data_sets$penicillin <- write_data(
  data.frame(diameter = Penicillin$diameter, plate = as.character(Penicillin$plate),
             sample = as.character(Penicillin$sample)), "penicillin")

# Three levels: pupils in classes in schools, classes numbered within their school
# (1, 2, ... in every school), unequal numbers of classes and pupils.
set.seed(31)
rows <- list()
for (s in 1:40) {
  u_s <- MASS::mvrnorm(1, c(0, 0), matrix(c(4, 0.3, 0.3, 0.25), 2))
  for (k in seq_len(sample(2:6, 1))) {
    n_k <- sample(5:25, 1)
    x <- round(rnorm(n_k), 3)
    y <- 10 + u_s[1] + rnorm(1, 0, 1) + (2 + u_s[2]) * x + rnorm(n_k, 0, 3)
    rows[[length(rows) + 1]] <- data.frame(school = s, class = k, x = x, y = round(y, 3))
  }
}
data_sets$nested3 <- write_data(do.call(rbind, rows), "nested3")

# Pupils cross-classified by primary and secondary school: each primary school sends
# most pupils to a few secondary schools (partially crossed, unbalanced).
set.seed(32)
n <- 2000
primary <- sample(1:60, n, replace = TRUE)
secondary <- ifelse(runif(n) < 0.7, (primary %% 15) + 1, sample(1:15, n, replace = TRUE))
x <- round(rnorm(n), 3)
y <- 5 + 0.8 * x + rnorm(60, 0, 0.6)[primary] + rnorm(15, 0, 0.4)[secondary] + rnorm(n)
data_sets$pupils <- write_data(
  data.frame(primary = primary, secondary = secondary, x = x, y = round(y, 3)), "pupils")

# Raters x items, each rater scoring a random 60% of the items, once.
set.seed(33)
grid <- expand.grid(rater = 1:20, item = 1:30)
grid <- grid[runif(nrow(grid)) < 0.6, ]
grid$score <- round(3 + rnorm(20, 0, 0.5)[grid$rater] + rnorm(30, 0, 0.8)[grid$item] +
                      rnorm(nrow(grid), 0, 0.7), 3)
data_sets$raters <- write_data(grid, "raters")

# A singular fit: a third, crossed factor (session) without variance. The first seed
# from 1 whose tightened REML fit is singular.
for (seed in 1:100) {
  set.seed(seed)
  g <- expand.grid(rater = 1:12, item = 1:15)
  g$session <- sample(1:5, nrow(g), replace = TRUE)
  g$score <- round(rnorm(12, 0, 0.6)[g$rater] + rnorm(15, 0, 0.9)[g$item] +
                     rnorm(nrow(g)), 3)
  m <- lmer(score ~ 1 + (1 | rater) + (1 | item) + (1 | session), g)
  if (isSingular(m)) break
}
data_sets$singular <- write_data(g, "singular")

models <- list(
  list(id = "pastes_nested", data = "pastes", formula = "strength ~ 1 + (1 | batch/cask)"),
  list(id = "penicillin_crossed", data = "penicillin",
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  list(id = "nested3", data = "nested3", formula = "y ~ x + (1 | school/class)"),
  list(id = "nested3_slopes", data = "nested3",
       formula = "y ~ x + (1 + x | school) + (1 | school:class)"),
  list(id = "nested3_class_slopes", data = "nested3",
       formula = "y ~ x + (1 + x | school:class) + (1 | school)"),
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
default <- lmerControl(check.conv.singular = "ignore")
criterion <- function(fit) if (isREML(fit)) REMLcrit(fit) else deviance(fit)

summarise <- function(fit, fit_default) {
  vc <- as.data.frame(VarCorr(fit))
  re <- ranef(fit)
  list(
    n_obs = nobs(fit),
    n_levels = as.list(ngrps(fit)),
    deviance = criterion(fit),
    deviance_default = criterion(fit_default),
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    singular = isSingular(fit),
    fixed = list(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                 std_error = unname(sqrt(diag(as.matrix(vcov(fit)))))),
    varcorr = list(grp = vc$grp, var1 = ifelse(is.na(vc$var1), "", vc$var1),
                   var2 = ifelse(is.na(vc$var2), "", vc$var2), vcov = vc$vcov,
                   sdcor = vc$sdcor),
    ranef = lapply(names(re), function(g) list(
      grp = g, levels = rownames(re[[g]]), terms = colnames(re[[g]]),
      values = unname(as.matrix(re[[g]]))))
  )
}

results <- list()
for (m in models) {
  d <- data_sets[[m$data]]
  for (reml in c(TRUE, FALSE)) {
    fit <- lmer(as.formula(m$formula), d, REML = reml, control = tight)
    fit_default <- lmer(as.formula(m$formula), d, REML = reml, control = default)
    key <- paste0(m$id, if (reml) "_reml" else "_ml")
    results[[key]] <- c(list(data = m$data, formula = m$formula, reml = reml),
                        summarise(fit, fit_default))
  }
}

writeLines(
  toJSON(list(
    generated_by = "tests/reference/make_crossed_reference.R",
    lme4_version = as.character(packageVersion("lme4")),
    models = results
  ), digits = NA, auto_unbox = TRUE, pretty = TRUE),
  file.path("tests", "reference", "crossed_reference.json")
)
