# Reference values for trialsynth's pooling tests, made with R's metafor 3.8-1.
# Run from this folder:  Rscript make_pooling_reference.R /work/shared/oracle/metafor
# Writes pooling_extra_cases.json (new cases) and pooling_pl_tight.json (profile-likelihood
# CIs of the shared oracle cases recomputed with tight control).  R is never a runtime or
# CI dependency of trialsynth; the JSON files are committed beside this script.
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
oracle <- if (length(args)) args[1] else "/work/shared/oracle/metafor"
tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
methods <- c("EE","DL","HE","HS","HSk","SJ","ML","REML","EB","PM","PMM","GENQ")

capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(tryCatch(expr, error = function(e) structure(conditionMessage(e), class = "err")),
                             warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, warnings = warns)
}
fitrec <- function(res, warns) {
  out <- list(error = NULL, warnings = warns, method = res$method, test = res$test,
       b = unname(c(res$beta)), se = unname(res$se), zval = unname(res$zval), pval = unname(res$pval),
       ci.lb = unname(res$ci.lb), ci.ub = unname(res$ci.ub), tau2 = res$tau2, se.tau2 = res$se.tau2,
       tau = sqrt(res$tau2), I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp, k = res$k, p = res$p,
       dfs = if (res$test == "z") NULL else res$ddf[1], s2w = res$s2w, level = 100 * (1 - res$level),
       fit.stats = list(ML = as.list(setNames(fitstats(res, REML = FALSE)[, 1], c("ll","dev","AIC","BIC","AICc"))),
                        REML = as.list(setNames(fitstats(res, REML = TRUE)[, 1], c("ll","dev","AIC","BIC","AICc")))),
       weights = unname(weights(res)))
  if (res$p == 1) {
    pr <- predict(res)
    out$predict <- list(pred = pr$pred, se = pr$se, ci.lb = pr$ci.lb, ci.ub = pr$ci.ub,
                        pi.lb = if (is.null(pr$pi.lb)) NULL else pr$pi.lb, pi.ub = if (is.null(pr$pi.ub)) NULL else pr$pi.ub)
  } else {
    out$coef_names <- rownames(res$beta); out$QM <- res$QM; out$QMp <- res$QMp
    out$QMdf <- res$QMdf; out$R2 <- if (is.null(res$R2)) NULL else res$R2
  }
  out
}
cirec <- function(ci, warns) {
  r <- ci$random
  row <- function(n) list(estimate = r[n, 1], ci.lb = r[n, 2], ci.ub = r[n, 3])
  list(error = NULL, warnings = warns, tau2 = row("tau^2"), tau = row("tau"), I2 = row("I^2(%)"), H2 = row("H^2"),
       lb.sign = ci$lb.sign, ub.sign = ci$ub.sign)
}
errrec <- function(x) list(error = unclass(x$value), warnings = x$warnings)

fit_all <- function(yi, vi, level = 95) {
  out <- list(rma = list(), confint = list(), confint_pl = list())
  tm <- 1e3 * max(1, var(yi), max(vi))
  for (m in methods) {
    out$rma[[m]] <- list()
    for (tst in c("z", "knha")) {
      ctrl <- tight; if (m %in% c("PM","PMM","GENQ")) ctrl$tau2.max <- tm
      x <- capture(if (m == "GENQ") rma(yi, vi, weights = 1/vi, method = m, test = tst, level = level, control = ctrl)
                   else rma(yi, vi, method = m, test = tst, level = level, control = ctrl))
      out$rma[[m]][[tst]] <- if (inherits(x$value, "err")) errrec(x) else fitrec(x$value, x$warnings)
      if (tst == "z" && !inherits(x$value, "err") && !(m %in% c("EE","GENQ"))) {
        y <- capture(confint(x$value, control = list(tol = 1e-12, maxiter = 10000, tau2.max = 1e4 * max(1, tm))))
        out$confint[[m]] <- if (inherits(y$value, "err")) errrec(y) else cirec(y$value, y$warnings)
        if (m %in% c("ML", "REML")) {
          y <- capture(confint(x$value, type = "PL", control = list(tol = 1e-12, maxiter = 10000, tau2.max = 1e4 * max(1, tm))))
          out$confint_pl[[m]] <- if (inherits(y$value, "err")) errrec(y) else cirec(y$value, y$warnings)
        }
      }
    }
  }
  out
}

cases <- list()
# 1. Bangert-Drowns et al. (2004) writing-to-learn: SMD-like yi/vi, k = 48, with moderators
data(dat.bangertdrowns2004)
d <- dat.bangertdrowns2004
cases$bangertdrowns2004 <- c(list(source = "metadat::dat.bangertdrowns2004 (yi, vi as shipped)",
  study = d$author, yi = as.numeric(d$yi), vi = as.numeric(d$vi), level = 95,
  moderators = list(length = d$length, grade = d$grade)), fit_all(as.numeric(d$yi), as.numeric(d$vi)))
mr <- list()
for (f in list(~length, ~factor(grade), ~length + factor(grade))) {
  e <- list(mods = paste(deparse(f), collapse = ""))
  for (tst in c("z", "knha")) {
    x <- capture(rma(yi, vi, mods = f, data = d, method = "REML", test = tst, control = tight))
    e[[tst]] <- fitrec(x$value, x$warnings)
  }
  mr[[length(mr) + 1]] <- e
}
cases$bangertdrowns2004$metareg <- mr

# 2. k = 3, homogeneous (Q < k - 1): every estimator sits on the tau2 = 0 boundary except SJ
y3 <- c(0.10, 0.12, 0.08); v3 <- c(0.010, 0.020, 0.015)
cases$k3_homogeneous <- c(list(source = "constructed: k = 3, Q below its df", study = c("A","B","C"),
  yi = y3, vi = v3, level = 95), fit_all(y3, v3))

# 3. dat.normand1999 MD (Normand 1999, Table I) at level 90, to check non-default levels
data(dat.normand1999)
en <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
cases$normand1999_md_level90 <- c(list(source = "metadat::dat.normand1999, escalc MD, level = 90", study = dat.normand1999$source,
  yi = as.numeric(en$yi), vi = as.numeric(en$vi), level = 90), fit_all(as.numeric(en$yi), as.numeric(en$vi), level = 90))

write(toJSON(list(metafor = as.character(packageVersion("metafor")), R = R.version.string, cases = cases),
             auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "pooling_extra_cases.json")

# Profile-likelihood CIs of the shared oracle cases with tight control
pl <- list()
for (fn in sort(list.files(oracle, pattern = "\\.json$"))) {
  ref <- fromJSON(file.path(oracle, fn), simplifyVector = FALSE)
  for (M in names(ref$measures)) {
    esc <- ref$measures[[M]]$escalc
    yi <- sapply(esc$yi, function(z) if (is.null(z)) NA else z); vi <- sapply(esc$vi, function(z) if (is.null(z)) NA else z)
    for (m in c("ML", "REML")) {
      x <- capture(rma(yi, vi, method = m, control = tight))
      y <- capture(confint(x$value, type = "PL", control = list(tol = 1e-12, maxiter = 10000, tau2.max = 1e4 * max(1, var(yi), max(vi)))))
      pl[[paste(ref$case, M, m, sep = "/")]] <- if (inherits(y$value, "err")) errrec(y) else c(cirec(y$value, y$warnings), list(tau2_fit = x$value$tau2))
    }
  }
}
write(toJSON(list(metafor = as.character(packageVersion("metafor")), R = R.version.string, records = pl),
             auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "pooling_pl_tight.json")
