# Writes metadat-bcg-normand.rm5: a RevMan 5 review file built by hand from two public datasets
# shipped in R's metadat (numeric inputs, as tests/reference does), with the pooled results
# RevMan 5 stores computed here in R (metafor 3.8, and the formulas of Deeks & Higgins,
# "Statistical algorithms in Review Manager 5", 2010, written out where metafor has no function):
#
#   dat.bcg: Colditz GA et al. Efficacy of BCG vaccine in the prevention of tuberculosis.
#            JAMA 1994;271:698-702 (13 trials, vaccinated vs not, TB cases).
#   dat.normand1999: Normand SLT. Meta-analysis: formulating, evaluating, combining, and
#            reporting. Stat Med 1999;18:321-359 (9 trials of specialist stroke care, length of stay).
#
# Analyses (the method RevMan would name for each):
#   1.1 RR  M-H fixed           rma.mh
#   1.2 RR  M-H random          DL tau2 from Q about the MH estimate (RevMan 5), subgroups by allocation
#   1.3 OR  IV random           rma(method = "DL")
#   1.4 OR  Peto fixed          rma.peto
#   1.5 RD  IV fixed            rma(method = "EE")
#   2.1 RR  generic IV fixed    the log RR and its SE entered as ESTIMATE / SE, rma(method = "EE")
#   3.1 SMD IV random           RevMan's g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g^2/(2(N - 3.94)), DL
#   3.2 MD  IV fixed            rma(measure = "MD", method = "EE")
#
# Run from the repository root:  Rscript tests/data/importers/files/make_metadat_rm5.R
suppressMessages({library(metafor); library(metadat)})

out <- "tests/data/importers/files/metadat-bcg-normand.rm5"
num <- function(x) formatC(x, digits = 15, format = "g")
esc <- function(s) { s <- gsub("&", "&amp;", s, fixed = TRUE); s <- gsub("<", "&lt;", s, fixed = TRUE); gsub('"', "&quot;", s, fixed = TRUE) }
attrs <- function(...) { a <- list(...); paste(sprintf('%s="%s"', names(a), vapply(a, as.character, "")), collapse = " ") }
sid <- function(name) paste0("STD-", gsub("[^A-Za-z0-9]+", "-", name))
z <- qnorm(0.975)

bcg <- dat.bcg
bcg$name <- paste(bcg$author, bcg$year)
bcg$n1 <- bcg$tpos + bcg$tneg
bcg$n2 <- bcg$cpos + bcg$cneg
nor <- dat.normand1999
nor$name <- nor$source

stored <- function(est, se, q, df, tau2, log, k, extra = list()) {
  back <- if (log) exp else identity
  zz <- est / se
  a <- list(EFFECT_SIZE = num(back(est)), CI_START = num(back(est - z * se)), CI_END = num(back(est + z * se)),
            ESTIMABLE = "YES", CHI2 = num(q), DF = df, P_CHI2 = num(pchisq(q, df, lower.tail = FALSE)),
            I2 = num(if (q > 0) max(0, (q - df) / q) * 100 else 0), Z = num(abs(zz)),
            P_Z = num(2 * pnorm(-abs(zz))), STUDIES = k, TAU2 = num(if (is.na(tau2)) 0 else tau2))
  c(a, extra)
}

# one pooled result: list(est, se, q, df, tau2, weights (percent), yi, vi)
pool_mh_rr <- function(d, random) {
  fit <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d, measure = "RR")
  es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
  w <- 1 / es$vi
  q <- sum(w * (es$yi - as.numeric(fit$beta))^2)
  df <- nrow(d) - 1
  if (!random) return(list(est = as.numeric(fit$beta), se = fit$se, q = q, df = df, tau2 = NA,
                           w = weights(fit), yi = es$yi, vi = es$vi))
  tau2 <- max(0, (q - df) / (sum(w) - sum(w^2) / sum(w)))
  re <- rma(es$yi, es$vi, tau2 = tau2, method = "DL")
  list(est = as.numeric(re$beta), se = re$se, q = q, df = df, tau2 = tau2, w = weights(re), yi = es$yi, vi = es$vi)
}
pool_iv <- function(yi, vi, random) {
  fit <- rma(yi, vi, method = if (random) "DL" else "EE")
  list(est = as.numeric(fit$beta), se = fit$se, q = fit$QE, df = fit$k - 1, tau2 = if (random) fit$tau2 else NA,
       w = weights(fit), yi = yi, vi = vi)
}

dich_rows <- function(d, r, log) {
  back <- if (log) exp else identity
  paste0(sprintf('<DICH_DATA %s/>', sprintf(attrs_fmt <- '%s', vapply(seq_len(nrow(d)), function(i) attrs(
    CI_END = num(back(r$yi[i] + z * sqrt(r$vi[i]))), CI_START = num(back(r$yi[i] - z * sqrt(r$vi[i]))),
    EFFECT_SIZE = num(back(r$yi[i])), ESTIMABLE = "YES", EVENTS_1 = d$tpos[i], EVENTS_2 = d$cpos[i],
    O_E = "0.0", SE = num(sqrt(r$vi[i])), STUDY_ID = sid(d$name[i]), TOTAL_1 = d$n1[i], TOTAL_2 = d$n2[i],
    VAR = "0.0", WEIGHT = num(r$w[i])), ""))), collapse = "\n")
}

labels <- function(g1, g2, l1, l2) sprintf(
  "<GROUP_LABEL_1>%s</GROUP_LABEL_1>\n<GROUP_LABEL_2>%s</GROUP_LABEL_2>\n<GRAPH_LABEL_1>%s</GRAPH_LABEL_1>\n<GRAPH_LABEL_2>%s</GRAPH_LABEL_2>",
  g1, g2, l1, l2)

dich_outcome <- function(no, name, measure, method, random, r, log, d, subgroups = NULL) {
  head <- c(list(EFFECT_MEASURE = measure, METHOD = method, NO = no, RANDOM = if (random) "YES" else "NO",
                 SUBGROUPS = if (is.null(subgroups)) "NO" else "YES", SUBGROUP_TEST = "YES", TOTALS = "YES",
                 CI_STUDY = 95, CI_TOTAL = 95, SWAP_EVENTS = "NO", EVENTS_1 = sum(d$tpos), EVENTS_2 = sum(d$cpos),
                 TOTAL_1 = sum(d$n1), TOTAL_2 = sum(d$n2)),
            stored(r$est, r$se, r$q, r$df, r$tau2, log, nrow(d)))
  if (is.null(subgroups)) {
    head <- c(head, list(Q = "0.0", P_Q = "1.0", I2_Q = "0.0"))  # never computed: no subgroups
    body <- dich_rows(d, r, log)
  } else {
    head <- c(head, subgroups$test)
    body <- subgroups$xml
  }
  sprintf('<DICH_OUTCOME %s>\n<NAME>%s</NAME>\n%s\n%s\n</DICH_OUTCOME>', do.call(attrs, head), name,
          labels("Vaccinated", "Not vaccinated", "Favours vaccine", "Favours no vaccine"), body)
}

# --- comparison 1: dichotomous -----------------------------------------------------------------
r11 <- pool_mh_rr(bcg, FALSE)
r12 <- pool_mh_rr(bcg, TRUE)
es_or <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
r13 <- pool_iv(es_or$yi, es_or$vi, TRUE)
peto <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
es_peto <- escalc("PETO", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
r14 <- list(est = as.numeric(peto$beta), se = peto$se, q = peto$QE, df = peto$k - 1, tau2 = NA, w = weights(peto),
            yi = es_peto$yi, vi = es_peto$vi)
es_rd <- escalc("RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
r15 <- pool_iv(es_rd$yi, es_rd$vi, FALSE)

# 1.2 subgroups by allocation, each pooled as the whole; test on the subgroup estimates
groups <- c("random", "alternate", "systematic")
sub_xml <- character(0); sub_est <- numeric(0); sub_se <- numeric(0)
for (g in seq_along(groups)) {
  d <- bcg[bcg$alloc == groups[g], ]
  r <- pool_mh_rr(d, TRUE)
  sub_est <- c(sub_est, r$est); sub_se <- c(sub_se, r$se)
  a <- c(list(NO = g, EVENTS_1 = sum(d$tpos), EVENTS_2 = sum(d$cpos), TOTAL_1 = sum(d$n1), TOTAL_2 = sum(d$n2)),
         stored(r$est, r$se, r$q, r$df, r$tau2, TRUE, nrow(d)))
  # study weights are shares of the overall pool (RevMan shows them against the total)
  r$w <- r12$w[bcg$alloc == groups[g]]
  sub_xml <- c(sub_xml, sprintf('<DICH_SUBGROUP %s>\n<NAME>%s allocation</NAME>\n%s\n</DICH_SUBGROUP>',
                                do.call(attrs, a), groups[g], dich_rows(d, r, TRUE)))
}
w <- 1 / sub_se^2
qb <- sum(w * (sub_est - sum(w * sub_est) / sum(w))^2)
test <- list(Q = num(qb), P_Q = num(pchisq(qb, 2, lower.tail = FALSE)), I2_Q = num(max(0, (qb - 2) / qb) * 100))

# --- comparison 2: generic inverse variance ------------------------------------------------------
es_rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
r21 <- pool_iv(es_rr$yi, es_rr$vi, FALSE)
iv_rows <- paste(vapply(seq_len(nrow(bcg)), function(i) sprintf('<IV_DATA %s/>', attrs(
  CI_END = num(exp(es_rr$yi[i] + z * sqrt(es_rr$vi[i]))), CI_START = num(exp(es_rr$yi[i] - z * sqrt(es_rr$vi[i]))),
  EFFECT_SIZE = num(exp(es_rr$yi[i])), ESTIMABLE = "YES", ESTIMATE = num(es_rr$yi[i]), SE = num(sqrt(es_rr$vi[i])),
  STUDY_ID = sid(bcg$name[i]), TOTAL_1 = bcg$n1[i], TOTAL_2 = bcg$n2[i], WEIGHT = num(r21$w[i]))), ""), collapse = "\n")
iv_head <- c(list(LOG_DATA = "YES", METHOD = "IV", NO = 1, RANDOM = "NO", SUBGROUPS = "NO", TOTALS = "YES",
                  CI_STUDY = 95, CI_TOTAL = 95, TOTAL_1 = sum(bcg$n1), TOTAL_2 = sum(bcg$n2), Q = "0.0", P_Q = "1.0", I2_Q = "0.0"),
             stored(r21$est, r21$se, r21$q, r21$df, NA, TRUE, nrow(bcg)))
iv_outcome <- sprintf('<IV_OUTCOME %s>\n<NAME>Tuberculosis (log risk ratios entered)</NAME>\n<EFFECT_MEASURE>Risk Ratio</EFFECT_MEASURE>\n%s\n%s\n</IV_OUTCOME>',
                      do.call(attrs, iv_head), labels("Vaccinated", "Not vaccinated", "Favours vaccine", "Favours no vaccine"), iv_rows)

# --- comparison 3: continuous ----------------------------------------------------------------------
N <- nor$n1i + nor$n2i
sp <- sqrt(((nor$n1i - 1) * nor$sd1i^2 + (nor$n2i - 1) * nor$sd2i^2) / (N - 2))
g <- (nor$m1i - nor$m2i) / sp * (1 - 3 / (4 * N - 9))
vg <- N / (nor$n1i * nor$n2i) + g^2 / (2 * (N - 3.94))
r31 <- pool_iv(g, vg, TRUE)
es_md <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)
r32 <- pool_iv(es_md$yi, es_md$vi, FALSE)
cont_outcome <- function(no, name, measure, random, r) {
  rows <- paste(vapply(seq_len(nrow(nor)), function(i) sprintf('<CONT_DATA %s/>', attrs(
    CI_END = num(r$yi[i] + z * sqrt(r$vi[i])), CI_START = num(r$yi[i] - z * sqrt(r$vi[i])),
    EFFECT_SIZE = num(r$yi[i]), ESTIMABLE = "YES", MEAN_1 = nor$m1i[i], MEAN_2 = nor$m2i[i],
    SD_1 = nor$sd1i[i], SD_2 = nor$sd2i[i], STUDY_ID = sid(nor$name[i]), TOTAL_1 = nor$n1i[i],
    TOTAL_2 = nor$n2i[i], WEIGHT = num(r$w[i]))), ""), collapse = "\n")
  head <- c(list(EFFECT_MEASURE = measure, METHOD = "IV", NO = no, RANDOM = if (random) "YES" else "NO",
                 SUBGROUPS = "NO", TOTALS = "YES", CI_STUDY = 95, CI_TOTAL = 95, TOTAL_1 = sum(nor$n1i),
                 TOTAL_2 = sum(nor$n2i), Q = "0.0", P_Q = "1.0", I2_Q = "0.0"),
            stored(r$est, r$se, r$q, r$df, r$tau2, FALSE, nrow(nor)))
  sprintf('<CONT_OUTCOME %s>\n<NAME>%s</NAME>\n%s\n%s\n</CONT_OUTCOME>', do.call(attrs, head), name,
          labels("Specialist care", "Routine care", "Favours specialist care", "Favours routine care"), rows)
}

studies <- c(sprintf('<STUDY %s/>', vapply(seq_len(nrow(bcg)), function(i) attrs(
               ID = sid(bcg$name[i]), NAME = esc(bcg$name[i]), YEAR = bcg$year[i]), "")),
             sprintf('<STUDY %s/>', vapply(seq_len(nrow(nor)), function(i) attrs(
               ID = sid(nor$name[i]), NAME = esc(nor$name[i]), YEAR = ""), "")))

xml <- c('<?xml version="1.0" encoding="UTF-8"?>',
         '<COCHRANE_REVIEW REVMAN_VERSION="5" TYPE="INTERVENTION">',
         '<COVER_SHEET><TITLE>Test review built from metadat: dat.bcg (Colditz 1994) and dat.normand1999 (Normand 1999)</TITLE></COVER_SHEET>',
         '<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>', studies, '</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>',
         '<ANALYSES_AND_DATA CALCULATED_DATA="YES">',
         '<COMPARISON ID="CMP-001" NO="1">', '<NAME>BCG vaccine versus no vaccine</NAME>',
         dich_outcome(1, "Tuberculosis (M-H, fixed)", "RR", "MH", FALSE, r11, TRUE, bcg),
         dich_outcome(2, "Tuberculosis by allocation (M-H, random)", "RR", "MH", TRUE, r12, TRUE, bcg,
                      list(test = test, xml = paste(sub_xml, collapse = "\n"))),
         dich_outcome(3, "Tuberculosis (odds ratio, IV, random)", "OR", "IV", TRUE, r13, TRUE, bcg),
         dich_outcome(4, "Tuberculosis (Peto odds ratio)", "PETO_OR", "PETO", FALSE, r14, TRUE, bcg),
         dich_outcome(5, "Tuberculosis (risk difference, IV, fixed)", "RD", "IV", FALSE, r15, FALSE, bcg),
         '</COMPARISON>',
         '<COMPARISON ID="CMP-002" NO="2">', '<NAME>BCG vaccine versus no vaccine (generic inverse variance)</NAME>',
         iv_outcome, '</COMPARISON>',
         '<COMPARISON ID="CMP-003" NO="3">', '<NAME>Specialist stroke care versus routine care</NAME>',
         cont_outcome(1, "Length of hospital stay (SMD, random)", "SMD", TRUE, r31),
         cont_outcome(2, "Length of hospital stay (days, MD, fixed)", "MD", FALSE, r32),
         '</COMPARISON>', '</ANALYSES_AND_DATA>', '</COCHRANE_REVIEW>')
writeLines(xml, out, useBytes = TRUE)
cat("wrote", out, "\n")
