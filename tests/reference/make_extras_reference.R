# Reference cases for trialsynth's trim-and-fill (R0, side selection) and GOSH.
# Run from this folder:  Rscript make_extras_reference.R
# Needs R with metafor (3.8-1 used), metadat and jsonlite. Writes extras_reference.json.
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

fitrec <- function(res) list(
  method = res$method, test = res$test, b = c(res$beta), se = res$se, zval = res$zval,
  pval = res$pval, ci.lb = res$ci.lb, ci.ub = res$ci.ub, tau2 = res$tau2, I2 = res$I2,
  H2 = res$H2, QE = res$QE, QEp = res$QEp, k = res$k)

tfrec <- function(call, tf) c(list(call = call, k0 = tf$k0, se.k0 = tf$se.k0, side = tf$side,
  p.k0 = if (is.null(tf$p.k0)) NA else tf$p.k0, fill = tf$fill, yi = c(tf$yi), vi = tf$vi), fitrec(tf))

cases <- list()

# 1. Hackshaw 1998: passive smoking and lung cancer (k = 37, log OR), the trimfill help example
dat <- dat.hackshaw1998
for (method in c("REML", "DL", "EE")) {
  res <- rma(yi, vi, data = dat, method = method, control = ctrl)
  recs <- list()
  for (estimator in c("L0", "R0")) for (side in c("auto", "left", "right")) {
    if (side == "auto") {
      tf <- trimfill(res, estimator = estimator, control = ctrl)
      call <- sprintf('trimfill(rma(yi, vi, method = "%s"), estimator = "%s")', method, estimator)
    } else {
      tf <- trimfill(res, estimator = estimator, side = side, control = ctrl)
      call <- sprintf('trimfill(rma(yi, vi, method = "%s"), estimator = "%s", side = "%s")', method, estimator, side)
    }
    recs[[paste(estimator, side, sep = ".")]] <- tfrec(call, tf)
  }
  cases[[paste0("hackshaw1998.", method)]] <- list(yi = c(dat$yi), vi = dat$vi, records = recs)
}

# 2. BCG (RR), a case where the side is "right" and R0 differs from L0
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = dat, method = "REML", control = ctrl)
recs <- list()
for (estimator in c("L0", "R0")) for (side in c("auto", "left", "right")) {
  tf <- if (side == "auto") trimfill(res, estimator = estimator, control = ctrl) else
    trimfill(res, estimator = estimator, side = side, control = ctrl)
  recs[[paste(estimator, side, sep = ".")]] <- tfrec(sprintf('trimfill(res, estimator = "%s", side = "%s")', estimator, side), tf)
}
cases[["bcg.RR.REML"]] <- list(yi = c(dat$yi), vi = dat$vi, records = recs)

# 3. GOSH on k = 6 (Hine 1989, RD): all 63 subsets, REML and DL
dat <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
gosh_cases <- list()
for (method in c("REML", "DL")) {
  res <- rma(yi, vi, data = dat, method = method, control = ctrl)
  g <- gosh(res, progbar = FALSE)
  gosh_cases[[method]] <- list(call = sprintf('gosh(rma(yi, vi, method = "%s", control = ctrl))', method),
    incl = unname(as.matrix(g$incl) * 1), QE = g$res$QE, I2 = g$res$I2, H2 = g$res$H2,
    tau2 = g$res$tau2, estimate = g$res$estimate)
}
cases[["hine1989.RD.gosh"]] <- list(yi = c(dat$yi), vi = dat$vi, gosh = gosh_cases)

# 4. GOSH on k = 6 with heterogeneity: the first six BCG trials (RR)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1:6, ])
gosh_cases <- list()
for (method in c("REML", "DL")) {
  res <- rma(yi, vi, data = dat, method = method, control = ctrl)
  g <- gosh(res, progbar = FALSE)
  gosh_cases[[method]] <- list(call = sprintf('gosh(rma(yi, vi, method = "%s", control = ctrl))', method),
    incl = unname(as.matrix(g$incl) * 1), QE = g$res$QE, I2 = g$res$I2, H2 = g$res$H2,
    tau2 = g$res$tau2, estimate = g$res$estimate)
}
cases[["bcg1to6.RR.gosh"]] <- list(yi = c(dat$yi), vi = dat$vi, gosh = gosh_cases)

# 5. Sensitivity and regression tests under other models: Hackshaw 1998 with DL and knha
#    (under knha, leave1out/cumul name the t statistic tval; it is stored as zval)
dat <- dat.hackshaw1998
sens <- list()
for (spec in list(c("DL", "z"), c("DL", "knha"), c("REML", "knha"))) {
  res <- rma(yi, vi, data = dat, method = spec[1], test = spec[2], control = ctrl)
  l1 <- leave1out(res); cu <- cumul(res); inf <- influence(res)
  rt <- regtest(res); rl <- regtest(res, model = "lm"); rk <- ranktest(res)
  sens[[paste(spec, collapse = ".")]] <- list(
    call = sprintf('rma(yi, vi, method = "%s", test = "%s", control = ctrl)', spec[1], spec[2]),
    leave1out = list(estimate = l1$estimate, se = l1$se, zval = if (is.null(l1$zval)) l1$tval else l1$zval, pval = l1$pval, ci.lb = l1$ci.lb,
      ci.ub = l1$ci.ub, Q = l1$Q, Qp = l1$Qp, tau2 = l1$tau2, I2 = l1$I2, H2 = l1$H2),
    cumul = list(estimate = cu$estimate, se = cu$se, zval = if (is.null(cu$zval)) cu$tval else cu$zval, pval = cu$pval, ci.lb = cu$ci.lb,
      ci.ub = cu$ci.ub, Q = cu$Q, Qp = cu$Qp, tau2 = cu$tau2, I2 = cu$I2, H2 = cu$H2),
    influence = list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook.d = inf$inf$cook.d,
      cov.r = inf$inf$cov.r, tau2.del = inf$inf$tau2.del, QE.del = inf$inf$QE.del, hat = inf$inf$hat,
      weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt, is.infl = inf$is.infl),
    regtest = list(zval = rt$zval, pval = rt$pval, dfs = rt$dfs, est = rt$est, ci.lb = rt$ci.lb, ci.ub = rt$ci.ub),
    regtest_lm = list(zval = rl$zval, pval = rl$pval, dfs = rl$dfs, est = rl$est, ci.lb = rl$ci.lb, ci.ub = rl$ci.ub),
    ranktest = list(tau = unname(rk$tau), pval = rk$pval))
}
cases[["hackshaw1998.sensitivity"]] <- list(yi = c(dat$yi), vi = dat$vi, models = sens)

out <- list(software = list(metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")), R = R.version.string),
  tight_control = ctrl, cases = cases)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, na = "null", pretty = FALSE), "extras_reference.json")
