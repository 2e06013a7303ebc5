# metafor 3.8 fits of our own trials (data/trials.csv) for trialsynth's multivariate parity tests.
# Run from this folder after make_rma_mv_trials_input.py:  Rscript make_rma_mv_trials.R
# Reads rma_mv_trials_input.json (yi, V built by trialsynth.within_trial_cov, the grouping columns
# and the model list) and writes rma_mv_trials.json with the same record layout as
# make_rma_mv_reference.R (whose helpers it sources). R is never a runtime or CI dependency.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
source_lines <- readLines("make_rma_mv_reference.R")
# the helpers (controls, fit_tight, num, record, trip) without the data sets
helpers <- source_lines[seq_len(grep("^cases <- list\\(\\)", source_lines)[1] - 1)]
eval(parse(text = helpers))

inp <- fromJSON("rma_mv_trials_input.json", simplifyVector = TRUE)
cols <- as.data.frame(inp$columns, stringsAsFactors = FALSE)
k <- length(inp$yi)
Vs <- lapply(inp$V, function(b) { V <- matrix(0, k, k); V[cbind(b$i + 1, b$j + 1)] <- b$x; V })
fits <- list()
for (name in names(inp$models)) {
  m <- inp$models[[name]]
  rows <- m$rows + 1
  dat <- cols[rows, ]
  dat$yi <- inp$yi[rows]
  V <- Vs[[m$V]][rows, rows]
  mods <- if (!is.null(m$cells)) as.formula(sprintf("~ factor(%s) - 1", m$cells)) else
    as.formula(paste("~", paste(m$numeric, collapse = " + ")))
  random <- list()
  if (!is.null(m$levels)) random <- c(random, list(as.formula(sprintf("~ 1 | %s", m$levels[1]))))
  if (!is.null(m$outer)) random <- c(random, list(as.formula(sprintf("~ %s | %s", m$inner, m$outer))))
  call <- if (length(random) == 0) {
    bquote(rma.mv(yi, V, mods = .(mods), data = dat, method = .(m$method)))
  } else if (is.null(m$outer)) {
    bquote(rma.mv(yi, V, mods = .(mods), random = .(random[[1]]), data = dat, method = .(m$method)))
  } else {
    bquote(rma.mv(yi, V, mods = .(mods), random = .(if (length(random) == 1) random[[1]] else random),
                  struct = .(m$struct), data = dat, method = .(m$method)))
  }
  res <- fit_tight(call)
  # one more start: trialsynth's estimates (the input's "start"), clipped inside the parameter space;
  # kept only when metafor's own optimiser then reaches a higher likelihood
  st <- m$start
  if (!is.null(st) && length(random)) {
    e <- call
    clip <- function(x, lo, hi) pmin(pmax(x, lo), hi)
    if (!is.null(m$levels)) e$control$sigma2.init <- pmax(st$sigma2, 1e-6)
    if (!is.null(m$outer)) {
      e$control$tau2.init <- pmax(st$tau2, 1e-6)
      if (length(st$rho)) e$control$rho.init <- clip(st$rho, if (m$struct == "CAR") 1e-6 else -0.999999, 0.999999)
    }
    for (opt in names(controls)) {
      e2 <- e
      e2$control <- c(e$control, controls[[opt]])
      alt <- tryCatch(suppressWarnings(eval(e2)), error = function(err) NULL)
      if (!is.null(alt) && as.numeric(logLik(alt)) > as.numeric(logLik(res))) {
        alt$optimizer_used <- paste(opt, "from trialsynth's start")
        res <- alt
      }
    }
  }
  # rho at its bound 1: metafor's optimisers stop within 1e-10 of it with the other variance
  # still 1e-6 short of its maximum; polish it with rho held where it stopped (the test compares
  # at that rho, and leaves out the information criteria, which then count one parameter fewer)
  if (!is.null(m$outer) && length(res$rho) == 1 && res$rho > 1 - 1e-8) {
    e <- call
    e$rho <- res$rho
    pol <- NULL
    for (opt in names(controls)) {
      e$control <- controls[[opt]]
      alt <- tryCatch(suppressWarnings(eval(e)), error = function(err) NULL)
      if (!is.null(alt) && (is.null(pol) || as.numeric(logLik(alt)) > as.numeric(logLik(pol)))) pol <- alt
    }
    if (!is.null(pol) && as.numeric(logLik(pol)) >= as.numeric(logLik(res))) {
      pol$optimizer_used <- paste(res$optimizer_used, "then tau2 polished at rho =", format(res$rho, digits = 17))
      res <- pol
    }
  }
  fits[[name]] <- record(res, paste(deparse(call), collapse = " "), ci = m$method == "REML" && !is.null(m$outer) && name != "pain_windows_CS_rho0.9" && !isTRUE(res$vc.fix$rho),
                         pred = if (!is.null(m$cells)) NULL else list(newmods = log1p(c(0, 13, 52))))
}
out <- list(generated_by = "tests/reference/make_rma_mv_trials.R", input = "rma_mv_trials_input.json",
            data_commit = inp$data_commit, metafor = as.character(packageVersion("metafor")), R = R.version.string,
            fits = fits)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE), "rma_mv_trials.json")
cat("wrote rma_mv_trials.json\n")
