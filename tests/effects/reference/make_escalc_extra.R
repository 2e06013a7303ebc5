# Extra escalc reference cases for trialsynth.effect_sizes (measures, zero-cell options, drop00)
# that the shared metafor oracle does not cover: PETO, PAS/PFT, to = all/if0all/none, add, drop00.
# Run from this folder:  Rscript make_escalc_extra.R   (writes escalc_extra.json)
# R 4.2, metafor 3.8-1, metadat, jsonlite. R is not a runtime dependency of trialsynth.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})

cases <- list()
to_metafor <- function(measure, x) {
  if (measure %in% c("OR", "RR", "RD", "PETO"))
    return(list(ai = x$events1, bi = x$n1 - x$events1, ci = x$events2, di = x$n2 - x$events2))
  if (measure %in% c("PR", "PLO", "PAS", "PFT")) return(list(xi = x$events, ni = x$n))
  if (measure %in% c("IRR", "IRD")) return(list(x1i = x$events1, t1i = x$time1, x2i = x$events2, t2i = x$time2))
  if (measure %in% c("MD", "SMD", "ROM"))
    return(list(n1i = x$n1, m1i = x$mean1, sd1i = x$sd1, n2i = x$n2, m2i = x$mean2, sd2i = x$sd2))
  if (measure %in% c("COR", "ZCOR")) return(list(ri = x$r, ni = x$n))
  stop("no mapping for ", measure)
}
add_case <- function(name, measure, inputs, args = list()) {
  call_args <- c(list(measure = measure), to_metafor(measure, inputs), args)
  res <- tryCatch(withCallingHandlers(do.call(escalc, call_args),
                                      warning = function(w) invokeRestart("muffleWarning")),
                  error = function(e) conditionMessage(e))
  rec <- list(name = name, measure = measure, inputs = inputs, args = args)
  if (is.character(res)) { rec$error <- res } else {
    rec$error <- NULL
    rec$yi <- as.numeric(res$yi); rec$vi <- as.numeric(res$vi)
  }
  cases[[length(cases) + 1]] <<- rec
}

# two-group counts: metafor names ai, bi, ci, di; stored here as events/n per arm
bin <- function(ai, bi, ci, di) list(events1 = ai, n1 = ai + bi, events2 = ci, n2 = ci + di)
toy <- bin(c(0, 2, 0, 5, 10, 7), c(25, 28, 15, 35, 0, 3), c(4, 0, 0, 9, 5, 6), c(21, 28, 16, 32, 0, 4))
only_00 <- bin(c(0, 2, 5), c(25, 28, 35), c(0, 3, 9), c(21, 28, 32))  # zero cells only in a 0/0 study
bcg <- with(dat.bcg, bin(tpos, tneg, cpos, cneg))
col <- with(dat.collins1985a, bin(b.xti, nti - b.xti, b.xci, nci - b.xci))
for (m in c("OR", "RR", "RD", "PETO")) {
  add_case(paste0("bcg-", m), m, bcg)
  add_case(paste0("collins1985a-", m), m, col)
  for (to in c("only0", "all", "if0all", "none")) for (dr in c(FALSE, TRUE)) {
    add_case(sprintf("toy-%s-%s-drop00=%s", m, to, dr), m, toy, list(to = to, drop00 = dr))
    add_case(sprintf("only00-%s-%s-drop00=%s", m, to, dr), m, only_00, list(to = to, drop00 = dr))
  }
  add_case(sprintf("toy-%s-add=1", m), m, toy, list(add = 1))
  add_case(sprintf("toy-%s-add=0.1-all", m), m, toy, list(add = 0.1, to = "all"))
}

# one proportion
prop <- list(events = c(0, 3, 10, 5, 1), n = c(10, 10, 10, 10, 40))
pritz <- list(events = dat.pritz1997$xi, n = dat.pritz1997$ni)
for (m in c("PR", "PLO", "PAS", "PFT")) {
  add_case(paste0("pritz1997-", m), m, pritz)
  for (to in c("only0", "all", "if0all", "none")) add_case(sprintf("prop-%s-%s", m, to), m, prop, list(to = to))
  add_case(sprintf("prop-%s-add=1", m), m, prop, list(add = 1))
  add_case(sprintf("prop-%s-add=0.5-all", m), m, prop, list(add = 0.5, to = "all"))
}

# two incidence rates
rate <- list(events1 = c(0, 3, 0, 12), time1 = c(100, 200, 50, 410.5),
             events2 = c(2, 0, 0, 20), time2 = c(90, 100, 60, 398.25))
hart <- with(dat.hart1999, list(events1 = x1i, time1 = t1i, events2 = x2i, time2 = t2i))
for (m in c("IRR", "IRD")) {
  add_case(paste0("hart1999-", m), m, hart)
  for (to in c("only0", "all", "if0all", "none")) for (dr in c(FALSE, TRUE))
    add_case(sprintf("rate-%s-%s-drop00=%s", m, to, dr), m, rate, list(to = to, drop00 = dr))
}

# continuous: small samples where the exact Hedges correction matters, unequal SDs
cont <- list(n1 = c(4, 10, 30, 250, 2), mean1 = c(5.5, 20, 3.1, 40, 1),
             sd1 = c(1.2, 8, 0.4, 15, 0.5), n2 = c(3, 12, 31, 240, 2),
             mean2 = c(4.0, 26, 2.7, 44, 2), sd2 = c(2.5, 9, 0, 17, 0.7))
for (m in c("MD", "SMD", "ROM")) add_case(paste0("cont-", m), m, cont)
hed <- with(dat.normand1999, list(n1 = n1i, mean1 = m1i, sd1 = sd1i, n2 = n2i, mean2 = m2i, sd2 = sd2i))
for (m in c("MD", "SMD", "ROM")) add_case(paste0("normand1999-", m), m, hed)

# correlations, including r = -1 and 1 for COR (vi = 0)
corr <- list(r = c(-1, -0.3, 0, 0.45, 0.99, 1), n = c(10, 25, 4, 100, 5000, 12))
add_case("corr-COR", "COR", corr)
add_case("corr-ZCOR", "ZCOR", list(r = corr$r[2:5], n = corr$n[2:5]))
mol <- list(r = dat.molloy2014$ri, n = dat.molloy2014$ni)
for (m in c("COR", "ZCOR")) add_case(paste0("molloy2014-", m), m, mol)

out <- list(software = list(metafor = as.character(packageVersion("metafor")),
                            R = R.version.string),
            note = "escalc(measure, <metafor names of inputs>, ...); inputs named as trialsynth.effect_sizes takes them",
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           "escalc_extra.json")
cat(length(cases), "cases written\n")

# ---------------------------------------------------------------------------------------------
# SMD from a t statistic (escalc's ti argument) and from a two-sided p-value (t = qt(1 - p/2, df)),
# the reference for trialsynth.effects.conversions.smd_from_t / smd_from_p. Written to smd_from_test.json.
ti <- c(2.5, -1.2, 0.4, 3.9, -2.2)
n1 <- c(11, 30, 8, 120, 25)
n2 <- c(11, 28, 9, 118, 22)
es_t <- escalc("SMD", ti = ti, n1i = n1, n2i = n2)
p <- c(0.036, 0.029, 0.5, 0.0004, 0.008)
t_from_p <- qt(p / 2, df = n1 + n2 - 2, lower.tail = FALSE)
es_p <- escalc("SMD", ti = t_from_p, n1i = n1, n2i = n2)
writeLines(toJSON(list(
  software = list(metafor = as.character(packageVersion("metafor")), R = R.version.string),
  from_t = list(call = 'escalc("SMD", ti = ti, n1i = n1, n2i = n2)', ti = ti, n1 = n1, n2 = n2,
                yi = as.numeric(es_t$yi), vi = as.numeric(es_t$vi)),
  from_p = list(call = 'escalc("SMD", ti = qt(p/2, n1 + n2 - 2, lower.tail = FALSE), n1i = n1, n2i = n2)',
                p = p, n1 = n1, n2 = n2, t = t_from_p,
                yi = as.numeric(es_p$yi), vi = as.numeric(es_p$vi))),
  auto_unbox = TRUE, digits = NA, pretty = TRUE), "smd_from_test.json")
cat("smd_from_test.json written\n")
