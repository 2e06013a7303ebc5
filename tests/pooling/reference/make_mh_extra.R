# Mantel-Haenszel and Peto references beyond the shared oracle (issue 14): zero-variance and
# other zero-count patterns, the CMH / MH tests without continuity correction, residuals
# (residuals, rstandard, rstudent), and leave-one-out and cumulative refits.
# Run from this folder:  Rscript make_mh_extra.R   (writes mh_extra.json)
# R 4.2, metafor 3.8-1, metadat, jsonlite. R is not a runtime dependency of trialsynth.
# Non-finite numbers are written as the strings "NA", "NaN", "Inf" and "-Inf".
suppressMessages({library(metafor); library(metadat); library(jsonlite)})

num <- function(x) if (is.null(x)) NULL else as.numeric(x)
fields <- function(r) list(
  b = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
  ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp),
  I2 = num(r$I2), H2 = num(r$H2), k = num(r$k), k.yi = num(r$k.yi), k.pos = num(r$k.pos),
  CO = num(r$CO), COp = num(r$COp), MH = num(r$MH), MHp = num(r$MHp),
  BD = num(r$BD), BDp = num(r$BDp), TA = num(r$TA), TAp = num(r$TAp))
quiet <- function(expr) {
  warnings <- character(0)
  value <- tryCatch(withCallingHandlers(expr, warning = function(w) {
    warnings <<- c(warnings, conditionMessage(w)); invokeRestart("muffleWarning")
  }), error = function(e) structure(conditionMessage(e), class = "fit_error"))
  list(value = value, warnings = warnings)
}
fit <- function(method, measure, x, correct = TRUE) {
  if (method == "peto") return(rma.peto(ai = x$events1, n1i = x$n1, ci = x$events2, n2i = x$n2))
  if (measure %in% c("IRR", "IRD"))
    return(rma.mh(measure = measure, x1i = x$events1, t1i = x$time1, x2i = x$events2, t2i = x$time2,
                  correct = correct))
  rma.mh(measure = measure, ai = x$events1, n1i = x$n1, ci = x$events2, n2i = x$n2, correct = correct)
}
frame <- function(x) lapply(as.data.frame(x), function(col) if (is.numeric(col)) as.numeric(col) else as.character(col))

# ---------------------------------------------------------------- zero patterns
bin <- function(ai, n1, ci, n2) list(events1 = ai, n1 = n1, events2 = ci, n2 = n2)
rate <- function(x1, t1, x2, t2) list(events1 = x1, time1 = t1, events2 = x2, time2 = t2)
n1 <- c(10, 20, 15); n2 <- c(12, 18, 15); t1 <- c(100, 200, 150); t2 <- c(120, 180, 150)
patterns <- list(
  list("no-events", bin(c(0, 0, 0), n1, c(0, 0, 0), n2)),
  list("all-events", bin(n1, n1, n2, n2)),
  list("events-arm1-only", bin(c(2, 3, 0), n1, c(0, 0, 0), n2)),
  list("events-arm2-only", bin(c(0, 0, 0), n1, c(2, 3, 1), n2)),
  list("all-events-arm1-none-arm2", bin(n1, n1, c(0, 0, 0), n2)),
  list("all-events-arm1-some-arm2", bin(n1, n1, c(3, 4, 5), n2)),
  list("one-double-zero", bin(c(0, 3, 4), n1, c(0, 5, 2), n2)),
  list("k1-no-events", bin(0, 10, 0, 10)),
  list("k1", bin(3, 10, 1, 10))
)
zero <- list()
for (p in patterns) for (method in c("mh", "peto")) {
  measures <- if (method == "peto") "PETO" else c("OR", "RR", "RD")
  for (m in measures) {
    res <- quiet(fit(method, m, p[[2]]))
    rec <- list(name = paste(p[[1]], m, sep = "-"), method = method, measure = m, inputs = p[[2]],
                warnings = res$warnings)
    if (inherits(res$value, "fit_error")) rec$error <- as.character(res$value) else rec$fit <- fields(res$value)
    zero[[length(zero) + 1]] <- rec
  }
}
rate_patterns <- list(
  list("no-events", rate(c(0, 0, 0), t1, c(0, 0, 0), t2)),
  list("events-arm1-only", rate(c(2, 3, 0), t1, c(0, 0, 0), t2)),
  list("one-double-zero", rate(c(0, 3, 4), t1, c(0, 5, 2), t2))
)
for (p in rate_patterns) for (m in c("IRR", "IRD")) {
  res <- quiet(fit("mh", m, p[[2]]))
  rec <- list(name = paste(p[[1]], m, sep = "-"), method = "mh", measure = m, inputs = p[[2]],
              warnings = res$warnings)
  if (inherits(res$value, "fit_error")) rec$error <- as.character(res$value) else rec$fit <- fields(res$value)
  zero[[length(zero) + 1]] <- rec
}

# ---------------------------------------------------------------- data sets
bcg <- with(dat.bcg, bin(tpos, tpos + tneg, cpos, cpos + cneg))
yus <- dat.yusuf1985[dat.yusuf1985$table == "6" & !is.na(dat.yusuf1985$ai), ]
yusuf <- with(yus, bin(ai, n1i, ci, n2i))
hart <- with(dat.hart1999, rate(x1i, t1i, x2i, t2i))
egger <- with(dat.egger2001, bin(ai, n1i, ci, n2i))
sets <- list(
  list(name = "bcg", source = "Colditz et al. 1994, JAMA 271:698 (metadat dat.bcg)", data = bcg,
       labels = paste(dat.bcg$author, dat.bcg$year), order = dat.bcg$year,
       fits = list(c("mh", "OR"), c("mh", "RR"), c("mh", "RD"), c("peto", "PETO"))),
  list(name = "yusuf1985-table6", source = "Yusuf et al. 1985, Prog Cardiovasc Dis 27:335, table 6 (metadat dat.yusuf1985)",
       data = yusuf, labels = as.character(yus$trial), order = NULL,
       fits = list(c("peto", "PETO"), c("mh", "OR"), c("mh", "RD"))),
  list(name = "egger2001", source = "Egger et al. 2001, BMJ (magnesium trials; metadat dat.egger2001)",
       data = egger, labels = as.character(dat.egger2001$study), order = dat.egger2001$year,
       fits = list(c("mh", "OR"), c("peto", "PETO"))),
  list(name = "hart1999", source = "Hart et al. 1999, Ann Intern Med 131:492 (metadat dat.hart1999)",
       data = hart, labels = as.character(dat.hart1999$study), order = NULL,
       fits = list(c("mh", "IRR"), c("mh", "IRD")))
)
analyses <- list()
for (s in sets) for (f in s$fits) {
  method <- f[1]; m <- f[2]
  res <- fit(method, m, s$data)
  rec <- list(name = paste(s$name, method, m, sep = "-"), source = s$source, method = method,
              measure = m, inputs = s$data, labels = s$labels, fit = fields(res))
  if (method == "mh" && m %in% c("OR", "IRR")) rec$fit_uncorrected <- fields(fit(method, m, s$data, correct = FALSE))
  rec$residuals <- as.numeric(residuals(res))
  rec$rstandard <- frame(rstandard(res))
  rec$rstudent <- frame(rstudent(res))
  rec$leave1out <- frame(leave1out(res))
  rec$cumul <- frame(cumul(res))
  if (!is.null(s$order)) {
    rec$order <- s$order
    rec$cumul_ordered <- frame(cumul(res, order = s$order))
  }
  analyses[[length(analyses) + 1]] <- rec
}

out <- list(software = list(metafor = as.character(packageVersion("metafor")), R = R.version.string),
            note = paste("rma.mh / rma.peto with defaults unless said; inputs as trialsynth.pool_mh takes them;",
                         "leave1out/cumul/rstudent rows in input (or cumulative) order"),
            zero_patterns = zero, analyses = analyses)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", null = "null", pretty = TRUE),
           "mh_extra.json")
cat(length(zero), "zero-pattern cases,", length(analyses), "analyses written\n")
