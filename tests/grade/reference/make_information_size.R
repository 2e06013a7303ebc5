# Reference values for trialsynth.grade.information_size.diversity (D2, Wetterslev et al. 2009,
# BMC Med Res Methodol 9:86): D2 = (V_R - V_F) / V_R, the variances of the random-effects and the
# common-effect pooled estimates. Computed with metafor (a tool for reference numbers only; tests
# never need R). Run from this folder:  Rscript make_information_size.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
cases <- list()
add <- function(name, es, method) {
  re <- rma(yi, vi, data = es, method = method)
  fe <- rma(yi, vi, data = es, method = "EE")
  cases[[name]] <<- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi), method = method,
                         tau2 = re$tau2, i2 = re$I2, v_random = as.numeric(vcov(re)), v_fixed = as.numeric(vcov(fe)),
                         d2 = (as.numeric(vcov(re)) - as.numeric(vcov(fe))) / as.numeric(vcov(re)))
}
# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702), log risk ratios
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_DL", bcg, "DL")
add("bcg_REML", bcg, "REML")
# Normand 1999 (Stat Med 18:321-359), length of hospital stay, mean differences
normand <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
add("normand_DL", normand, "DL")
writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), cases = cases), digits = NA, auto_unbox = TRUE,
                  pretty = TRUE), "information_size.json")
