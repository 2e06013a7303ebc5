# metafor rma() (DL and REML) over k = 10 ... on the data of `run.py --only curve`.
#
# Usage: Rscript benchmarks/r_curve.R <input_dir> <output.json> [max_seconds]
#
# <input_dir> holds k<K>.csv files (columns yi, vi) written by
# `python benchmarks/run.py --curve-data <input_dir>` (the same simulated data as the curve).
# Every timing is taken inside R with proc.time() (Rscript's start-up excluded): one warm-up
# fit, then the minimum over rounds of `n` fits (n chosen so that a round lasts about 0.2 s),
# divided by n: 6 rounds, 3 when a fit takes over 2 s, 1 over 20 s.  A size is skipped
# when the fit at the previous size, scaled by (k / k_previous)^3 (rma() works with k x k
# matrices), predicts more than max_seconds (default 60) for one fit; the prediction is
# written instead.  R is a benchmark-only tool: trialsynth never needs it.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript r_curve.R <input_dir> <output.json> [max_seconds]")
indir <- args[[1]]
outfile <- args[[2]]
max_seconds <- if (length(args) >= 3) as.numeric(args[[3]]) else 60

files <- list.files(indir, pattern = "^k[0-9]+\\.csv$", full.names = TRUE)
ks <- as.integer(sub("^k([0-9]+)\\.csv$", "\\1", basename(files)))
files <- files[order(ks)]
ks <- sort(ks)

time_fit <- function(d, method) {
  t0 <- proc.time()[["elapsed"]]
  fit <- rma(yi, vi, data = d, method = method)     # warm-up
  first <- proc.time()[["elapsed"]] - t0
  t0 <- proc.time()[["elapsed"]]
  rma(yi, vi, data = d, method = method)
  second <- proc.time()[["elapsed"]] - t0
  # rounds of about 0.2 s (proc.time() counts milliseconds); one round past 20 s a fit
  n <- max(1L, as.integer(ceiling(0.2 / max(second, 1e-4))))
  repeats <- if (second > 20) 0L else if (second > 2) 2L else 5L
  best <- second
  for (r in seq_len(repeats)) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(n)) rma(yi, vi, data = d, method = method)
    best <- min(best, (proc.time()[["elapsed"]] - t0) / n)
  }
  list(seconds = best, n = n, repeats = repeats + 1L, warmup_seconds = first,
       estimate = as.numeric(fit$beta), tau2 = fit$tau2, se = fit$se)
}

rows <- list()
previous <- list(DL = NULL, REML = NULL)
for (j in seq_along(ks)) {
  k <- ks[[j]]
  d <- read.csv(files[[j]])
  stopifnot(nrow(d) == k)
  for (m in c("DL", "REML")) {
    prev <- previous[[m]]
    predicted <- if (is.null(prev)) 0 else prev$seconds * (k / prev$k)^3
    if (predicted > max_seconds) {
      rows[[length(rows) + 1]] <- list(k = k, method = m, measured = FALSE,
                                       predicted_seconds = predicted)
      next
    }
    t <- time_fit(d, m)
    rows[[length(rows) + 1]] <- c(list(k = k, method = m, measured = TRUE), t)
    previous[[m]] <- list(k = k, seconds = t$seconds)
    message(sprintf("k = %d %s: %.6g s", k, m, t$seconds))
  }
}

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  timed = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC"),
  max_seconds = max_seconds,
  rows = rows
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), outfile)
