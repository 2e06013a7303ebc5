# Timing of metafor on the data benchmarks/run.py writes (same data, same run).
#
# Usage: Rscript benchmarks/r_timings.R <input_dir> <output.json> [quick]
#
# Reads from <input_dir> (written by run.py):
#   single.csv   columns yi, vi           one meta-analysis (k = 10)
#   batch.csv    columns id, yi, vi       many meta-analyses of k = 10 (long format)
#   gosh.csv     columns yi, vi           k = 10 (7 in quick mode), for gosh() (2^k - 1 subsets)
#   metareg.csv  columns yi, vi, x        one-moderator meta-regression for permutest()
# Writes timings (seconds, per fit unless said otherwise; the minimum over repeats
# measured with proc.time() inside R, so Rscript's start-up is excluded) and the
# estimates of every batch fit, so that run.py can check agreement.
# R is a benchmark-only dependency: trialsynth never needs it at run time.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript r_timings.R <input_dir> <output.json> [quick]")
indir <- args[[1]]
outfile <- args[[2]]
quick <- length(args) >= 3 && args[[3]] == "quick"

repeats <- if (quick) 2L else 5L

# minimum over `repeats` of the elapsed time of `n` evaluations, divided by n
per_call <- function(expr_fun, n, repeats) {
  expr_fun()  # warm-up (byte compilation, method dispatch caches)
  best <- Inf
  for (r in seq_len(repeats)) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(n)) expr_fun()
    best <- min(best, proc.time()[["elapsed"]] - t0)
  }
  best / n
}

single <- read.csv(file.path(indir, "single.csv"))
batch <- read.csv(file.path(indir, "batch.csv"))
gdat <- read.csv(file.path(indir, "gosh.csv"))
mdat <- read.csv(file.path(indir, "metareg.csv"))

n_single <- if (quick) 20L else 200L
single_reml <- per_call(function() rma(single$yi, single$vi, method = "REML"), n_single, repeats)
single_dl <- per_call(function() rma(single$yi, single$vi, method = "DL"), n_single, repeats)
single_fit_reml <- rma(single$yi, single$vi, method = "REML")
single_fit_dl <- rma(single$yi, single$vi, method = "DL")

# loop of rma() over distinct data sets (the way a simulation in R is written)
ids <- unique(batch$id)
groups <- split(batch[, c("yi", "vi")], factor(batch$id, levels = ids))
loop_fit <- function(method) {
  est <- numeric(length(groups)); tau2 <- numeric(length(groups)); se <- numeric(length(groups))
  t0 <- proc.time()[["elapsed"]]
  for (j in seq_along(groups)) {
    g <- groups[[j]]
    fit <- rma(g$yi, g$vi, method = method)
    est[j] <- fit$beta[1, 1]; se[j] <- fit$se; tau2[j] <- fit$tau2
  }
  list(seconds = proc.time()[["elapsed"]] - t0, estimate = est, se = se, tau2 = tau2)
}
loop_best <- function(method) {
  best <- NULL
  for (r in seq_len(if (quick) 1L else 3L)) {
    out <- loop_fit(method)
    if (is.null(best) || out$seconds < best$seconds) best <- out
  }
  best
}
invisible(loop_fit("DL"))  # warm-up
loop_reml <- loop_best("REML")
loop_dl <- loop_best("DL")

# gosh(): k = 10 gives all 1023 subsets; time per subset (scaled to k = 16 by run.py)
gfit <- rma(gdat$yi, gdat$vi, method = "REML")
gosh_seconds <- Inf
for (r in seq_len(if (quick) 1L else 2L)) {
  t0 <- proc.time()[["elapsed"]]
  g <- gosh(gfit, progbar = FALSE)
  gosh_seconds <- min(gosh_seconds, proc.time()[["elapsed"]] - t0)
}
gosh_subsets <- nrow(g$res)

# permutest(): one-moderator meta-regression, 1,000 permutations
mfit <- rma(yi, vi, mods = ~x, data = mdat, method = "REML")
iter <- if (quick) 100L else 1000L
set.seed(20261126)
t0 <- proc.time()[["elapsed"]]
pt <- permutest(mfit, iter = iter, progbar = FALSE)
perm_seconds <- proc.time()[["elapsed"]] - t0

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  quick = quick,
  single = list(
    k = nrow(single), n_timed = n_single, repeats = repeats,
    reml_seconds_per_fit = single_reml, dl_seconds_per_fit = single_dl,
    reml = list(estimate = single_fit_reml$beta[1, 1], se = single_fit_reml$se, tau2 = single_fit_reml$tau2,
                i2 = single_fit_reml$I2, ci_low = single_fit_reml$ci.lb, ci_high = single_fit_reml$ci.ub),
    dl = list(estimate = single_fit_dl$beta[1, 1], se = single_fit_dl$se, tau2 = single_fit_dl$tau2,
              i2 = single_fit_dl$I2, ci_low = single_fit_dl$ci.lb, ci_high = single_fit_dl$ci.ub)
  ),
  loop = list(
    n_fits = length(groups), k = nrow(groups[[1]]),
    reml_seconds_per_fit = loop_reml$seconds / length(groups),
    dl_seconds_per_fit = loop_dl$seconds / length(groups),
    reml = list(estimate = loop_reml$estimate, se = loop_reml$se, tau2 = loop_reml$tau2),
    dl = list(estimate = loop_dl$estimate, se = loop_dl$se, tau2 = loop_dl$tau2)
  ),
  gosh = list(
    k = nrow(gdat), subsets = gosh_subsets, seconds = gosh_seconds,
    seconds_per_subset = gosh_seconds / gosh_subsets
  ),
  permutest = list(
    k = nrow(mdat), iter = iter, seconds = perm_seconds,
    seconds_per_1000 = perm_seconds * 1000 / iter,
    pval_moderator = unname(pt$pval[2]), zval_moderator = unname(mfit$zval[2]),
    pval_moderator_asymptotic = unname(mfit$pval[2])
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), outfile)
