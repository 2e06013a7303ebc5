# escalc reference cases for the trial effect sizes of issue 14: change-score and paired
# measures, variability ratios, one-group means, binary <-> continuous conversions, paired
# binary (cross-over) measures, the arcsine difference, phi, Yule's Q and Y, and the SMD
# variance types. Run from this folder:  Rscript make_escalc_trials.R  (writes escalc_trials.json)
# R 4.2, metafor 3.8-1, metadat, jsonlite. R is not a runtime dependency of trialsynth.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})

cases <- list()
to_metafor <- function(measure, x) {
  two_group <- c("SMD", "SMDH", "MD", "CVR", "D2ORN", "D2ORL")
  if (measure %in% two_group)
    return(list(n1i = x$n1, m1i = x$mean1, sd1i = x$sd1, n2i = x$n2, m2i = x$mean2, sd2i = x$sd2))
  if (measure == "VR") return(list(n1i = x$n1, sd1i = x$sd1, n2i = x$n2, sd2i = x$sd2))
  if (measure %in% c("MC", "SMCC", "SMCRH", "ROMC"))
    return(list(m1i = x$mean1, sd1i = x$sd1, m2i = x$mean2, sd2i = x$sd2, ni = x$n, ri = x$r))
  if (measure == "SMCR") return(list(m1i = x$mean1, sd1i = x$sd1, m2i = x$mean2, ni = x$n, ri = x$r))
  if (measure %in% c("MN", "MNLN")) return(list(mi = x$mean, sdi = x$sd, ni = x$n))
  if (measure %in% c("OR2DN", "OR2DL", "AS", "PHI", "YUQ", "YUY"))
    return(list(ai = x$events1, bi = x$n1 - x$events1, ci = x$events2, di = x$n2 - x$events2))
  if (measure %in% c("MPRD", "MPRR", "MPOR", "MPORC", "MPPETO"))
    return(list(ai = x$both, bi = x$only1, ci = x$only2, di = x$neither))
  stop("no mapping for ", measure)
}
add_case <- function(name, measure, inputs, args = list(), source = NULL) {
  call_args <- c(list(measure = measure), to_metafor(measure, inputs), args)
  res <- tryCatch(withCallingHandlers(do.call(escalc, call_args),
                                      warning = function(w) invokeRestart("muffleWarning")),
                  error = function(e) conditionMessage(e))
  rec <- list(name = name, measure = measure, inputs = inputs, args = args, source = source)
  if (is.character(res)) { rec$error <- res } else {
    rec$error <- NULL
    rec$yi <- as.numeric(res$yi); rec$vi <- as.numeric(res$vi)
  }
  cases[[length(cases) + 1]] <<- rec
}

# --- two independent groups, continuous --------------------------------------------------------
cont <- list(n1 = c(4, 10, 30, 250, 3, 40), mean1 = c(5.5, 20, 3.1, 40, 1, 12),
             sd1 = c(1.2, 8, 0.4, 15, 0.5, 6), n2 = c(3, 12, 31, 240, 2, 38),
             mean2 = c(4.0, 26, 2.7, 44, 2, 12), sd2 = c(2.5, 9, 0.3, 17, 0.7, 2))
normand <- with(dat.normand1999, list(n1 = n1i, mean1 = m1i, sd1 = sd1i, n2 = n2i, mean2 = m2i, sd2 = sd2i))
curtis <- with(dat.curtis1998, list(n1 = n1i, mean1 = m1i, sd1 = sd1i, n2 = n2i, mean2 = m2i, sd2 = sd2i))
src_normand <- "Normand 1999, Stat Med 18:321 (metadat dat.normand1999)"
src_curtis <- "Curtis & Wang 1998, Oecologia 113:299 (metadat dat.curtis1998)"
for (vt in c("LS", "LS2", "UB", "AV")) {
  add_case(paste0("cont-SMD-vtype=", vt), "SMD", cont, list(vtype = vt))
  add_case(paste0("normand1999-SMD-vtype=", vt), "SMD", normand, list(vtype = vt), src_normand)
}
add_case("cont-MD-vtype=HO", "MD", cont, list(vtype = "HO"))
add_case("normand1999-MD-vtype=HO", "MD", normand, list(vtype = "HO"), src_normand)
for (m in c("SMDH", "VR", "CVR", "D2ORN", "D2ORL")) {
  add_case(paste0("cont-", m), m, cont)
  add_case(paste0("normand1999-", m), m, normand, source = src_normand)
  add_case(paste0("curtis1998-", m), m, curtis, source = src_curtis)
}
# Gibson et al. 2002 combined continuous and dichotomised outcomes (metafor's example for D2OR/OR2D)
gib <- dat.gibson2002
gib_c <- gib[!is.na(gib$m1i), ]
gib_b <- gib[!is.na(gib$ai), ]
src_gibson <- "Gibson et al. 2002, Cochrane Database Syst Rev CD001117 (metadat dat.gibson2002)"
gib_cont <- with(gib_c, list(n1 = n1i, mean1 = m1i, sd1 = sd1i, n2 = n2i, mean2 = m2i, sd2 = sd2i))
gib_bin <- with(gib_b, list(events1 = ai, n1 = ai + bi, events2 = ci, n2 = ci + di))
for (m in c("D2ORN", "D2ORL", "SMD")) add_case(paste0("gibson2002-", m), m, gib_cont, source = src_gibson)
for (m in c("OR2DN", "OR2DL")) add_case(paste0("gibson2002-", m), m, gib_bin, source = src_gibson)

# --- change scores and matched pairs, continuous -------------------------------------------------
chg <- list(mean1 = c(30.2, 12, 5.1, 48, 20, 7.7), sd1 = c(8.1, 4, 1.2, 10, 5, 3),
            mean2 = c(24.5, 13.5, 4.0, 40, 20, 6), sd2 = c(7.0, 5, 1.5, 12, 0, 3.5),
            n = c(25, 12, 40, 150, 8, 30), r = c(0.6, 0.2, 0.85, 0.5, 0, -0.1))
for (m in c("MC", "SMCC", "SMCR", "SMCRH", "ROMC")) add_case(paste0("change-", m), m, chg)
for (m in c("SMCC", "SMCR")) add_case(paste0("change-", m, "-vtype=LS2"), m, chg, list(vtype = "LS2"))

# --- one group ------------------------------------------------------------------------------------
one <- list(mean = c(5.5, 20, 3.1, 40, 0.8), sd = c(1.2, 8, 0.4, 15, 0.5), n = c(4, 10, 30, 250, 2))
curtis_arm <- with(dat.curtis1998, list(mean = m1i, sd = sd1i, n = n1i))
for (m in c("MN", "MNLN")) {
  add_case(paste0("one-", m), m, one)
  add_case(paste0("curtis1998-arm1-", m), m, curtis_arm, source = src_curtis)
}

# --- 2x2 tables: arcsine difference, phi, Yule's Q and Y, OR to SMD ------------------------------
bin <- function(ai, bi, ci, di) list(events1 = ai, n1 = ai + bi, events2 = ci, n2 = ci + di)
toy <- bin(c(0, 2, 0, 5, 10, 7, 12), c(25, 28, 15, 35, 0, 3, 40), c(4, 0, 0, 9, 5, 6, 30), c(21, 28, 16, 32, 0, 4, 22))
bcg <- with(dat.bcg, bin(tpos, tneg, cpos, cneg))
src_bcg <- "Colditz et al. 1994, JAMA 271:698 (metadat dat.bcg)"
bou <- dat.bourassa1996
bou <- bou[complete.cases(bou[, c("lh.le", "lh.re", "rh.le", "rh.re")]), ]
bou <- bou[bou$lh.le + bou$lh.re > 0 & bou$rh.le + bou$rh.re > 0, ]  # trialsynth refuses an empty arm
bourassa <- with(bou, bin(lh.le, lh.re, rh.le, rh.re))
src_bou <- "Bourassa et al. 1996, Laterality 1:5 (metadat dat.bourassa1996)"
for (m in c("AS", "PHI", "YUQ", "YUY", "OR2DN", "OR2DL")) {
  add_case(paste0("bcg-", m), m, bcg, source = src_bcg)
  add_case(paste0("toy-", m), m, toy)
  add_case(paste0("bourassa1996-", m), m, bourassa, source = src_bou)
}
for (vt in c("ST", "CS")) {
  add_case(paste0("toy-PHI-vtype=", vt), "PHI", toy, list(vtype = vt))
  add_case(paste0("bourassa1996-PHI-vtype=", vt), "PHI", bourassa, list(vtype = vt), src_bou)
}
for (m in c("AS", "PHI")) add_case(paste0("toy-", m, "-add=0.5"), m, toy, list(add = 0.5))
for (m in c("YUQ", "YUY", "OR2DN")) add_case(paste0("toy-", m, "-all"), m, toy, list(to = "all"))

# --- paired 2x2 tables (cross-over trials, matched pairs) ----------------------------------------
pair <- list(both = c(10, 5, 0, 14, 3, 20), only1 = c(20, 0, 3, 6, 9, 2),
             only2 = c(5, 5, 4, 6, 1, 0), neither = c(30, 40, 10, 50, 0, 1))
for (m in c("MPRD", "MPRR", "MPOR", "MPORC", "MPPETO")) {
  add_case(paste0("paired-", m), m, pair)
  add_case(paste0("paired-", m, "-all"), m, pair, list(to = "all"))
  add_case(paste0("paired-", m, "-none"), m, pair, list(to = "none"))
}

out <- list(software = list(metafor = as.character(packageVersion("metafor")),
                            R = R.version.string),
            note = "escalc(measure, <metafor names of inputs>, ...); inputs named as trialsynth.effect_sizes takes them",
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           "escalc_trials.json")
cat(length(cases), "cases written\n")
