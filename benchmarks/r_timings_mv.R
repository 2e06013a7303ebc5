# metafor rma.mv timings on the data benchmarks/multivariate.py writes (same data, same run).
#
# Usage: Rscript benchmarks/r_timings_mv.R <input_dir> <output.json> <sizes> [quick]
#   pain_windows_CS.csv (+ _V.csv)     our trials, joint window model (cells, CS over windows)
#   pain_sham_time_CAR.csv (+ _V.csv)  our sham trials, random intercept + CAR over weeks
#   konstantopoulos.csv                dat.konstantopoulos2011 (three-level model)
#   sim_<n>.csv, sim_<n>_V.csv         the cost curve: n trials, V as (i, j, x) triplets
# Each timing is the minimum over repeats of the elapsed proc.time() of one fit, after a warm-up fit
# (R's start-up excluded; from 100 trials one fit without warm-up; from 300 trials V is given as a
# sparse Matrix with sparse = TRUE; a size is skipped when the previous one took over 2 minutes); the fit's estimates are written too, for the agreement check.
# R is a benchmark-only dependency: trialsynth never needs it at run time.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
indir <- args[[1]]; outfile <- args[[2]]
sizes <- as.integer(strsplit(args[[3]], ",")[[1]])
quick <- length(args) >= 4 && args[[4]] == "quick"
repeats <- if (quick) 2L else 5L

timed <- function(f, reps = repeats, warmup = TRUE) {
  res <- if (warmup) f() else NULL
  best <- Inf
  for (r in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    res <- f()
    best <- min(best, proc.time()[["elapsed"]] - t0)
  }
  list(seconds = best, b = unname(c(res$beta)), sigma2 = unname(res$sigma2), tau2 = unname(res$tau2),
       rho = unname(res$rho), ll = as.numeric(logLik(res)))
}
rd <- function(name) read.csv(file.path(indir, name), stringsAsFactors = FALSE)
rdV <- function(name) unname(as.matrix(read.csv(file.path(indir, name), header = FALSE)))

out <- list()
d <- rd("pain_windows_CS.csv"); V <- rdV("pain_windows_CS_V.csv")
out$acu_window <- timed(function() rma.mv(yi, V, mods = ~ factor(cell) - 1, random = ~ window | trial, struct = "CS", data = d))
d2 <- rd("pain_sham_time_CAR.csv"); V2 <- rdV("pain_sham_time_CAR_V.csv")
out$acu_time <- timed(function() rma.mv(yi, V2, mods = ~ log1p(weeks), random = list(~ 1 | trial, ~ weeks | trial),
                                        struct = "CAR", data = d2))
k <- rd("konstantopoulos.csv")
out$konstantopoulos <- timed(function() rma.mv(yi, vi, random = ~ 1 | district/school, data = k))
last <- 0
for (n in sizes) {
  if (last > 120) {  # the previous size took minutes: a larger one would take much longer
    out[[sprintf("sim_%d", n)]] <- list(skipped = sprintf("not run: the previous size took %.0f s", last))
    next
  }
  s <- rd(sprintf("sim_%d.csv", n))
  t <- rd(sprintf("sim_%d_V.csv", n))
  big <- n >= 300  # dense V beyond this takes many minutes a fit (300 trials: about 10 minutes)
  Vs <- if (big) Matrix::sparseMatrix(i = t$i, j = t$j, x = t$x, dims = c(nrow(s), nrow(s))) else {
    M <- matrix(0, nrow(s), nrow(s)); M[cbind(t$i, t$j)] <- t$x; M }
  once <- n >= 100  # fits of many seconds: one timed fit, no warm-up
  rec <- timed(function() rma.mv(yi, Vs, mods = ~ log1p(weeks), random = list(~ 1 | trial, ~ weeks | trial),
                                 struct = "CAR", data = s, sparse = big), if (once) 1L else repeats, warmup = !once)
  rec$sparse <- big
  last <- rec$seconds
  out[[sprintf("sim_%d", n)]] <- rec
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), outfile)
