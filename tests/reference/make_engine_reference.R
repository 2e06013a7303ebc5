# Reference values for issue 14 part A (estimators, tau2 CIs, meta-regression tools), made with
# R's metafor 3.8-1. Run from this folder:  Rscript make_engine_reference.R
# Writes engine_reference.json. metafor's GENQM and confint(type = "GENQ") call
# CompQuadForm::farebrother, which has no Debian package here; compquadform_standin/ (beside
# this script) is a small stand-in with the same call that computes P(Q > q) by Ruben's (1962)
# series, installed into a temporary library first. R is never a runtime or CI dependency.
lib <- file.path(tempdir(), "rlib"); dir.create(lib, showWarnings = FALSE)
install.packages("compquadform_standin", lib = lib, repos = NULL, type = "source", quiet = TRUE)
.libPaths(c(lib, .libPaths()))
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})
tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(tryCatch(expr, error = function(e) structure(conditionMessage(e), class = "err")),
                             warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, warnings = warns)
}
fitrec <- function(x) {
  if (inherits(x$value, "err")) return(list(error = unclass(x$value), warnings = x$warnings))
  res <- x$value
  out <- list(error = NULL, warnings = x$warnings, method = res$method, test = res$test,
    b = unname(c(res$beta)), se = unname(res$se), zval = unname(res$zval), pval = unname(res$pval),
    ci.lb = unname(res$ci.lb), ci.ub = unname(res$ci.ub), tau2 = res$tau2, se.tau2 = res$se.tau2,
    I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp, k = res$k, p = res$p,
    ll.ML = c(logLik(res, REML = FALSE)), ll.REML = c(logLik(res, REML = TRUE)))
  if (res$p > 1 || !res$int.only) {
    out$coef_names <- rownames(res$beta); out$QM <- res$QM; out$QMp <- res$QMp; out$QMdf <- res$QMdf
    out$btt <- res$btt
  }
  out
}
cirec <- function(x) {
  if (inherits(x$value, "err")) return(list(error = unclass(x$value), warnings = x$warnings))
  r <- x$value$random
  row <- function(n) list(estimate = r[n, 1], ci.lb = r[n, 2], ci.ub = r[n, 3])
  list(error = NULL, warnings = x$warnings, tau2 = row("tau^2"), tau = row("tau"), I2 = row("I^2(%)"),
       H2 = row("H^2"), lb.sign = x$value$lb.sign, ub.sign = x$value$ub.sign)
}
out <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string)

# ---- 1. defect 1: a bimodal likelihood (constructed mean-difference set, very unequal SDs)
message(Sys.time(), " 1. defect 1: a bimodal likelihood (constructed mean-difference set, very unequal SDs)")
bm <- data.frame(study = c("A", "B", "C", "D"), m1i = c(24.6, 31.5, 27.8, 20.9), sd1i = c(39.2, 30.1, 24.1, 1.5),
                 n1i = c(177, 320, 175, 223), m2i = c(25.0, 26.0, 25.0, 21.0), sd2i = c(39.2, 30.1, 24.1, 1.5),
                 n2i = c(177, 320, 175, 223))
es <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = bm)
b1 <- list(source = "constructed: mean differences, SDs 1.5 to 39.2", data = as.list(bm),
           yi = c(es$yi), vi = c(es$vi), fits = list())
for (m in c("ML", "REML", "EB", "PM", "PMM", "DL")) {
  ctrl <- tight; if (m %in% c("PM", "PMM")) ctrl$tau2.max <- 1e4
  b1$fits[[m]] <- fitrec(capture(rma(yi, vi, data = es, method = m, control = ctrl)))
}
b1$fits[["GENQ"]] <- fitrec(capture(rma(yi, vi, weights = 1/vi, data = es, method = "GENQ")))
b1$fits[["ML.default"]] <- fitrec(capture(rma(yi, vi, data = es, method = "ML")))
b1$fits[["ML.at0"]] <- fitrec(capture(rma(yi, vi, data = es, method = "ML", tau2 = 0)))
b1$ml_profile <- list(tau2 = c(0, 0.5, 1, 1.89, 3, 6),
  ll = sapply(c(0, 0.5, 1, 1.89, 3, 6), function(t) c(logLik(rma(yi, vi, data = es, method = "ML", tau2 = t)))))
out$bimodal_md <- b1

# ---- 2. BCG vaccine trials (Colditz et al. 1994), log RR; moderators absolute latitude and year
message(Sys.time(), " 2. BCG vaccine trials (Colditz et al. 1994), log RR; moderators absolute latitude and year")
data(dat.bcg)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$ntotal <- with(dat.bcg, tpos + tneg + cpos + cneg)
b2 <- list(source = "metadat::dat.bcg (Colditz et al. 1994, JAMA 271:698-702), escalc RR",
           study = paste(dat.bcg$author, dat.bcg$year), yi = c(bcg$yi), vi = c(bcg$vi),
           ablat = bcg$ablat, year = bcg$year, ntotal = bcg$ntotal, fits = list(), confint = list())
for (m in c("SJ", "DLIT", "SJIT", "PM", "ML", "REML")) {
  b2$fits[[m]] <- fitrec(capture(rma(yi, vi, data = bcg, method = m, control = tight)))
  b2$fits[[paste0(m, "~ablat")]] <- fitrec(capture(rma(yi, vi, mods = ~ablat, data = bcg, method = m, control = tight)))
}
# tau2.init
for (init in c(0.05, 0.5, 2)) {
  b2$fits[[sprintf("SJ.init%g", init)]] <- fitrec(capture(rma(yi, vi, data = bcg, method = "SJ", control = list(tau2.init = init))))
  b2$fits[[sprintf("SJ~ablat.init%g", init)]] <- fitrec(capture(rma(yi, vi, mods = ~ablat, data = bcg, method = "SJ", control = list(tau2.init = init))))
  b2$fits[[sprintf("REML.init%g", init)]] <- fitrec(capture(rma(yi, vi, data = bcg, method = "REML", control = c(tight, list(tau2.init = init)))))
}
# tau2 CIs
res <- rma(yi, vi, data = bcg, method = "REML", control = tight)
b2$confint[["REML.Wald"]] <- cirec(capture(confint(res, type = "Wald")))
res <- rma(yi, vi, data = bcg, method = "ML", control = tight)
b2$confint[["ML.Wald"]] <- cirec(capture(confint(res, type = "Wald")))
res <- rma(yi, vi, data = bcg, method = "DL")
b2$confint[["DL.Wald"]] <- cirec(capture(confint(res, type = "Wald")))
res <- rma(yi, vi, mods = ~ablat, data = bcg, method = "REML", control = tight)
b2$confint[["REML~ablat.Wald"]] <- cirec(capture(confint(res, type = "Wald")))
# missing values dropped (na.omit): yi of study 3 and vi of study 7 set to NA
bna <- bcg; bna$yi[3] <- NA; bna$vi[7] <- NA
b2$fits[["REML.na"]] <- fitrec(capture(rma(yi, vi, data = bna, method = "REML", control = tight)))
b2$na_rows <- c(3, 7)

# ---- 3. meta-regression tools on BCG ~ ablat + year (Berkey et al. 1995, Stat Med 14:395-411)
message(Sys.time(), " 3. meta-regression tools on BCG ~ ablat + year (Berkey et al. 1995, Stat Med 14:395-411)")
mr <- list()
for (tst in c("z", "knha")) {
  res <- rma(yi, vi, mods = ~ablat + year, data = bcg, method = "REML", test = tst, control = tight)
  e <- list(fit = fitrec(list(value = res, warnings = character(0))))
  e$btt2 <- fitrec(capture(rma(yi, vi, mods = ~ablat + year, data = bcg, method = "REML", test = tst, btt = 2, control = tight)))
  e$btt13 <- fitrec(capture(rma(yi, vi, mods = ~ablat + year, data = bcg, method = "REML", test = tst, btt = c(1, 3), control = tight)))
  L <- rbind(c(0, 1, 0), c(0, 0, 1), c(1, 30, 1970))
  an <- anova(res, X = L)  # metafor 3.8's anova() has no adjust=: Holm by R's p.adjust()
  e$anova <- list(X = L, Xb = c(an$Xb), se = c(an$se), zval = c(an$zval), pval = c(an$pval),
                  pval.holm = p.adjust(c(an$pval), method = "holm"),
                  QM = an$QM, QMp = an$QMp, QMdf = an$QMdf)
  e$vcov <- list(fixed = unname(vcov(res)), fitted = unname(vcov(res, type = "fitted")),
                 obs = unname(vcov(res, type = "obs")), resid = unname(vcov(res, type = "resid")))
  v <- vif(res)
  e$vif <- list(vif = unname(v$vifs), sif = sqrt(unname(v$vifs)))
  vb <- vif(res, btt = 2:3)
  e$gvif <- list(btt = c(2, 3), gvif = vb$vif[[1]]$vif, gsif = vb$vif[[1]]$sif)
  bl <- blup(res); rf <- ranef(res)
  e$blup <- list(pred = bl$pred, se = bl$se, pi.lb = bl$pi.lb, pi.ub = bl$pi.ub)
  e$ranef <- list(pred = rf$pred, se = rf$se, pi.lb = rf$pi.lb, pi.ub = rf$pi.ub)
  rs <- rstandard(res); rt <- rstudent(res)
  e$rstandard <- list(resid = rs$resid, se = rs$se, z = rs$z)
  e$rstudent <- list(resid = rt$resid, se = rt$se, z = rt$z)
  inf <- influence(res)
  e$influence <- list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook.d = inf$inf$cook.d,
                      cov.r = inf$inf$cov.r, tau2.del = inf$inf$tau2.del, QE.del = inf$inf$QE.del,
                      hat = inf$inf$hat, weight = inf$inf$weight, dfbs = unname(as.matrix(inf$dfbs)),
                      is.infl = inf$is.infl)
  mr[[tst]] <- e
}
# user weights in a meta-regression
mr$weights <- fitrec(capture(rma(yi, vi, mods = ~ablat, weights = ntotal, data = bcg, method = "REML", control = tight)))
mr$weights_knha <- fitrec(capture(rma(yi, vi, mods = ~ablat, weights = ntotal, data = bcg, method = "REML", test = "knha", control = tight)))
# blup/ranef/rstandard of the intercept-only model
res <- rma(yi, vi, data = bcg, method = "REML", control = tight)
bl <- blup(res); rf <- ranef(res); rs <- rstandard(res); rt <- rstudent(res)
mr$intercept <- list(blup = list(pred = bl$pred, se = bl$se, pi.lb = bl$pi.lb, pi.ub = bl$pi.ub),
                     ranef = list(pred = rf$pred, se = rf$se, pi.lb = rf$pi.lb, pi.ub = rf$pi.ub),
                     rstandard = list(resid = rs$resid, se = rs$se, z = rs$z),
                     rstudent = list(resid = rt$resid, se = rt$se, z = rt$z))
b2$metareg <- mr

# ---- 4. permutation test of an intercept-only model, exact (all 2^k sign flips): BCG first 10 trials
message(Sys.time(), " 4. permutation test of an intercept-only model, exact (all 2^k sign flips): BCG first 10 trials")
sub <- bcg[1:10, ]
for (m in c("REML", "DL")) {
  res <- rma(yi, vi, data = sub, method = m, control = tight)
  pt <- permutest(res, exact = TRUE, progbar = FALSE)
  b2[[paste0("permutest_intercept_", m)]] <- list(k = 10, zval = res$zval, pval = pt$pval, iter = pt$iter)
}
res <- rma(yi, vi, data = sub, method = "REML", test = "knha", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)
b2$permutest_intercept_REML_knha <- list(k = 10, zval = res$zval, pval = pt$pval, iter = pt$iter)
# exact permutation test with a moderator, k = 8 (8! = 40320 permutations)
sub8 <- bcg[1:8, ]
res <- rma(yi, vi, mods = ~ablat, data = sub8, method = "DL")
pt <- permutest(res, exact = TRUE, progbar = FALSE)
b2$permutest_ablat8_DL <- list(k = 8, pval = pt$pval, QMp = pt$QMp, iter = pt$iter)
out$bcg <- b2
write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "engine_reference.json")

message(Sys.time(), " 5. GENQM and the generalised-Q CI (CompQuadForm stand-in)")
# ---- 5. GENQM and the generalised-Q CI (these call the CompQuadForm stand-in)
b2 <- out$bcg
b2$fits[["GENQM"]] <- fitrec(capture(rma(yi, vi, weights = 1/vi, data = bcg, method = "GENQM", control = tight)))
b2$fits[["GENQM~ablat"]] <- fitrec(capture(rma(yi, vi, weights = 1/vi, mods = ~ablat, data = bcg, method = "GENQM", control = tight)))
b2$fits[["GENQM.invsqrt"]] <- fitrec(capture(rma(yi, vi, weights = 1/sqrt(vi), data = bcg, method = "GENQM", control = tight)))
res <- rma(yi, vi, weights = 1/vi, data = bcg, method = "GENQ")
b2$confint[["GENQ"]] <- cirec(capture(confint(res, control = list(tol = 1e-12))))
res <- rma(yi, vi, weights = 1/sqrt(vi), data = bcg, method = "GENQ")
b2$confint[["GENQ.invsqrt"]] <- cirec(capture(confint(res, control = list(tol = 1e-12))))
res <- rma(yi, vi, weights = 1/vi, mods = ~ablat, data = bcg, method = "GENQ")
b2$confint[["GENQ~ablat"]] <- cirec(capture(confint(res, control = list(tol = 1e-12))))
out$bcg <- b2
write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "engine_reference.json")
