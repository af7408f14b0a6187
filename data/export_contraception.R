# Export the Bangladesh contraception survey (mlmRev `Contraception`) to CSV, once.
#
# Run from the repository root:   Rscript data/export_contraception.R
# Needs R with the package mlmRev (Debian: r-cran-mlmrev, or install.packages("mlmRev")).
# Writes data/contraception.csv: the 1934 women in mlmRev's order, with mlmRev's
# column names and codes (factors written as their labels). Its SHA-256 is
# recorded in data/datasets.toml.

suppressPackageStartupMessages(library(mlmRev))
d <- Contraception
out <- data.frame(
  woman = as.integer(as.character(d$woman)),
  district = as.integer(as.character(d$district)),
  use = as.character(d$use),
  livch = as.character(d$livch),
  age = d$age,
  urban = as.character(d$urban),
  stringsAsFactors = FALSE
)
write.csv(out, "data/contraception.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("contraception.csv: %d rows, %d districts (mlmRev %s)\n",
            nrow(out), length(unique(out$district)), packageVersion("mlmRev")))
