# Export the Scottish secondary school scores (mlmRev `ScotsSec`) to CSV, once.
#
# Run from the repository root:   Rscript data/export_scotssec.R
# Needs R with the package mlmRev (Debian: r-cran-mlmrev, or install.packages("mlmRev")).
# Writes data/scotssec.csv: the 3435 pupils in mlmRev's order, with mlmRev's
# column names and codes (factors written as their labels) and a row number
# `pupil` in front. Its SHA-256 is recorded in data/datasets.toml.

suppressPackageStartupMessages(library(mlmRev))
d <- ScotsSec
out <- data.frame(
  pupil = seq_len(nrow(d)),
  verbal = d$verbal,
  attain = d$attain,
  primary = as.integer(as.character(d$primary)),
  sex = as.character(d$sex),
  social = d$social,
  second = as.integer(as.character(d$second)),
  stringsAsFactors = FALSE
)
write.csv(out, "data/scotssec.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("scotssec.csv: %d rows, %d primary and %d secondary schools (mlmRev %s)\n",
            nrow(out), length(unique(out$primary)), length(unique(out$second)),
            packageVersion("mlmRev")))
