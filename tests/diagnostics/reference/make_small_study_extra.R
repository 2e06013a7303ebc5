# References for the small-study and publication-bias methods of issue 14: fail-safe N (fsn),
# the test of excess significance (tes), the Henmi-Copas interval (hc), Egger-type regression
# tests with every predictor (regtest), Peters' and Harbord's tests for 2x2 tables, and the
# three-parameter step-function selection model (selmodel, type = "stepfun", steps = .025).
# Run from this folder:  Rscript make_small_study_extra.R   (writes small_study_extra.json)
# R 4.2, metafor 3.8-1, metadat, numDeriv, jsonlite. R is not a runtime dependency of trialsynth.
# Non-finite numbers are written as the strings "NA", "NaN", "Inf" and "-Inf".
suppressMessages({library(metafor); library(metadat); library(jsonlite)})

num <- function(x) if (is.null(x)) NULL else as.numeric(x)
fit_se <- function(fit) if (inherits(fit, "lm")) as.numeric(summary(fit)$coefficients[, 2]) else as.numeric(fit$se)
quiet <- function(expr) tryCatch(withCallingHandlers(expr, warning = function(w) invokeRestart("muffleWarning")),
                                 error = function(e) structure(conditionMessage(e), class = "fit_error"))

# ---------------------------------------------------------------- data sets (yi, vi, ni)
or_es <- function(ai, n1i, ci, n2i) escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i)
sets <- list()
add_set <- function(name, source, yi, vi, ni = NULL, tables = NULL)
  sets[[name]] <<- list(name = name, source = source, yi = as.numeric(yi), vi = as.numeric(vi),
                        ni = if (is.null(ni)) NULL else as.numeric(ni), tables = tables)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_set("bcg-RR", "Colditz et al. 1994, JAMA 271:698 (metadat dat.bcg)", bcg$yi, bcg$vi,
        with(dat.bcg, tpos + tneg + cpos + cneg))
lee <- or_es(dat.lee2004$ai, dat.lee2004$n1i, dat.lee2004$ci, dat.lee2004$n2i)
add_set("lee2004-OR", "Lee & Done 2004, Cochrane Database Syst Rev CD003281, as analysed by Henmi & Copas 2010, Stat Med 29:2969 (metadat dat.lee2004)",
        lee$yi, lee$vi, with(dat.lee2004, n1i + n2i),
        tables = with(dat.lee2004, list(events1 = ai, n1 = n1i, events2 = ci, n2 = n2i)))
hack <- dat.hackshaw1998
add_set("hackshaw1998-OR", "Hackshaw et al. 1997/1998, BMJ 315:980 (metadat dat.hackshaw1998)", hack$yi, hack$vi)
dorn <- escalc("RR", ai = x.a, n1i = n.a, ci = x.p, n2i = n.p, data = dat.dorn2007)
add_set("dorn2007-RR", "Dorn et al. 2007, Am J Gastroenterol 102:1107 (metadat dat.dorn2007)", dorn$yi, dorn$vi,
        with(dat.dorn2007, n.a + n.p))
eg <- dat.egger2001
egg <- or_es(eg$ai, eg$n1i, eg$ci, eg$n2i)
add_set("egger2001-OR", "Egger et al. 2001, magnesium in myocardial infarction (metadat dat.egger2001)", egg$yi, egg$vi,
        with(eg, n1i + n2i), tables = with(eg, list(events1 = ai, n1 = n1i, events2 = ci, n2 = n2i)))
li <- dat.li2007
lio <- or_es(li$ai, li$n1i, li$ci, li$n2i)
ok <- !is.na(lio$yi)
add_set("li2007-OR", "Li et al. 2007, magnesium trials (metadat dat.li2007)", lio$yi[ok], lio$vi[ok], (li$n1i + li$n2i)[ok],
        tables = with(li[ok, ], list(events1 = ai, n1 = n1i, events2 = ci, n2 = n2i)))
lin <- dat.linde2005
lindo <- or_es(lin$ai, lin$n1i, lin$ci, lin$n2i)
ok <- !is.na(lindo$yi)
add_set("linde2005-OR", "Linde et al. 2005, St John's wort for depression (metadat dat.linde2005)", lindo$yi[ok], lindo$vi[ok],
        with(lin[ok, ], n1i + n2i), tables = with(lin[ok, ], list(events1 = ai, n1 = n1i, events2 = ci, n2 = n2i)))
bd <- dat.bangertdrowns2004
add_set("bangertdrowns2004-SMD", "Bangert-Drowns et al. 2004, Rev Educ Res 74:29 (metadat dat.bangertdrowns2004)",
        bd$yi, bd$vi, bd$ni)

# ---------------------------------------------------------------- fail-safe N
fsn_cases <- list()
for (s in sets) {
  for (args in list(list(type = "Rosenthal"), list(type = "Rosenthal", alpha = 0.01),
                    list(type = "Orwin"), list(type = "Orwin", target = s$yi[1] / 4),
                    list(type = "Orwin", weighted = TRUE), list(type = "Rosenberg"),
                    list(type = "Rosenberg", alpha = 0.10))) {
    f <- do.call(fsn, c(list(yi = s$yi, vi = s$vi), args))
    fsn_cases[[length(fsn_cases) + 1]] <- list(set = s$name, args = args, fsnum = num(f$fsnum),
      alpha = num(f$alpha), pval = num(f$pval), meanes = num(f$meanes), target = num(f$target))
  }
}

# ---------------------------------------------------------------- test of excess significance
tes_cases <- list()
for (s in sets) {
  res_ee <- rma(s$yi, s$vi, method = "EE")
  res_re <- rma(s$yi, s$vi)
  for (spec in list(list(label = "vectors", x = "yi", args = list()),
                    list(label = "chi2", x = "yi", args = list(test = "chi2")),
                    list(label = "binom", x = "yi", args = list(test = "binom")),
                    list(label = "exact", x = "yi", args = list(test = "exact")),
                    list(label = "two.sided-tes", x = "yi", args = list(test = "chi2", tes.alternative = "two.sided")),
                    list(label = "two.sided-tes-exact", x = "yi", args = list(test = "exact", tes.alternative = "two.sided")),
                    list(label = "two.sided-tes-binom", x = "yi", args = list(test = "binom", tes.alternative = "two.sided")),
                    list(label = "less-tes", x = "yi", args = list(test = "chi2", tes.alternative = "less")),
                    list(label = "greater", x = "yi", args = list(alternative = "greater")),
                    list(label = "rma-REML", x = "rma", args = list()),
                    list(label = "theta=0.1", x = "yi", args = list(theta = 0.1, tau2 = 0.05)))) {
    if (grepl("exact", spec$label) && length(s$yi) > 20) next
    call <- if (spec$x == "rma") c(list(x = res_re), spec$args, progbar = FALSE)
            else c(list(x = s$yi, vi = s$vi), spec$args, progbar = FALSE)
    t <- quiet(do.call(tes, call))
    rec <- list(set = s$name, label = spec$label, args = spec$args, x = spec$x)
    if (inherits(t, "fit_error")) rec$error <- as.character(t) else {
      rec <- c(rec, list(k = num(t$k), O = num(t$O), E = num(t$E), OEratio = num(t$OEratio), test = t$test,
                         pval = num(t$pval), power = num(t$power), sig = as.logical(t$sig), theta = num(t$theta),
                         tau2 = if (spec$x == "rma") res_re$tau2 else num(spec$args$tau2),
                         theta.lim = num(t$theta.lim)))
    }
    tes_cases[[length(tes_cases) + 1]] <- rec
  }
}

# ---------------------------------------------------------------- Henmi-Copas
hc_cases <- list()
for (s in sets) for (method in c("DL", "REML")) {
  res <- rma(s$yi, s$vi, method = method)
  h <- hc(res)
  hc_cases[[length(hc_cases) + 1]] <- list(set = s$name, method = method, beta = num(h$beta), se = num(h$se),
    ci.lb = num(h$ci.lb), ci.ub = num(h$ci.ub), tau2 = num(h$tau2), beta.rma = num(h$beta.rma),
    ci.lb.rma = num(h$ci.lb.rma), ci.ub.rma = num(h$ci.ub.rma))
}

# ---------------------------------------------------------------- regression tests, every predictor
reg_cases <- list()
for (s in sets) {
  if (is.null(s$ni)) next
  res <- rma(s$yi, s$vi, ni = s$ni)
  for (model in c("lm", "rma")) for (pred in c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")) {
    r <- quiet(regtest(res, model = model, predictor = pred))
    rec <- list(set = s$name, model = model, predictor = pred)
    if (inherits(r, "fit_error")) rec$error <- as.character(r) else {
      rec <- c(rec, list(zval = num(r$zval), pval = num(r$pval), dfs = num(r$dfs), est = num(r$est),
                         ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub), coef = num(coef(r$fit)),
                         se = fit_se(r$fit), tau2 = if (model == "rma") num(r$fit$tau2) else NULL))
    }
    reg_cases[[length(reg_cases) + 1]] <- rec
  }
}

# ---------------------------------------------------------------- Peters' and Harbord's tests
# Peters et al. 2006, JAMA 295:676: lnOR on 1/N, weighted by 1/(1/(a+c) + 1/(b+d)) (weighted
# regression with a multiplicative dispersion): regtest(model="lm", predictor="ninv") with those vi.
# Harbord et al. 2006, Stat Med 25:3443: the score Z = O - E and V (Peto) of each table; Z/sqrt(V)
# regressed on sqrt(V): regtest(model="lm", predictor="sei") on Peto's log odds ratio Z/V, vi = 1/V.
binary_cases <- list()
for (s in sets) {
  if (is.null(s$tables)) next
  tb <- s$tables
  ai <- tb$events1; bi <- tb$n1 - ai; ci <- tb$events2; di <- tb$n2 - ci
  ok <- (ai + ci > 0) & (bi + di > 0)
  lor <- escalc("OR", ai = ai, bi = bi, ci = ci, di = di)
  v_peters <- 1 / (ai + ci) + 1 / (bi + di)
  r_p <- regtest(lor$yi[ok], v_peters[ok], ni = (tb$n1 + tb$n2)[ok], model = "lm", predictor = "ninv")
  peto <- escalc("PETO", ai = ai, bi = bi, ci = ci, di = di, add = 0)
  r_h <- regtest(peto$yi[ok], peto$vi[ok], model = "lm", predictor = "sei")
  binary_cases[[length(binary_cases) + 1]] <- list(set = s$name, source = s$source, tables = tb,
    peters = list(zval = num(r_p$zval), pval = num(r_p$pval), dfs = num(r_p$dfs), est = num(r_p$est),
                  ci.lb = num(r_p$ci.lb), ci.ub = num(r_p$ci.ub), coef = num(coef(r_p$fit)), se = fit_se(r_p$fit)),
    harbord = list(zval = num(r_h$zval), pval = num(r_h$pval), dfs = num(r_h$dfs), est = num(r_h$est),
                   ci.lb = num(r_h$ci.lb), ci.ub = num(r_h$ci.ub), coef = num(coef(r_h$fit)), se = fit_se(r_h$fit)))
}

# ---------------------------------------------------------------- step-function selection model (3PSM)
sel_cases <- list()
for (s in sets) {
  for (alt in c("greater", "less")) {
    res <- rma(s$yi, s$vi, method = "ML")
    sel <- quiet(selmodel(res, type = "stepfun", steps = 0.025, alternative = alt))
    p <- if (alt == "greater") pnorm(s$yi / sqrt(s$vi), lower.tail = FALSE) else pnorm(s$yi / sqrt(s$vi))
    rec <- list(set = s$name, alternative = alt, n_below = sum(p <= 0.025), n_above = sum(p > 0.025))
    if (inherits(sel, "fit_error")) rec$error <- as.character(sel) else {
      rec <- c(rec, list(beta = num(sel$beta), se = num(sel$se), zval = num(sel$zval), pval = num(sel$pval),
        ci.lb = num(sel$ci.lb), ci.ub = num(sel$ci.ub), tau2 = num(sel$tau2), se.tau2 = num(sel$se.tau2),
        delta = num(sel$delta), se.delta = num(sel$se.delta), LRT = num(sel$LRT), LRTdf = num(sel$LRTdf),
        LRTp = num(sel$LRTp), LRT.tau2 = num(sel$LRT.tau2), LRTp.tau2 = num(sel$LRTp.tau2),
        ll = num(logLik(sel)), ll.ml = num(logLik(res)), tau2.ml = num(res$tau2), beta.ml = num(res$beta)))
    }
    sel_cases[[length(sel_cases) + 1]] <- rec
  }
}
# the same model started from an equal-effects fit (tau2 fixed at 0)
for (nm in c("hackshaw1998-OR", "bcg-RR")) {
  s <- sets[[nm]]
  res <- rma(s$yi, s$vi, method = "EE")
  sel <- selmodel(res, type = "stepfun", steps = 0.025)
  sel_cases[[length(sel_cases) + 1]] <- list(set = s$name, alternative = "greater", method = "EE",
    beta = num(sel$beta), se = num(sel$se), ci.lb = num(sel$ci.lb), ci.ub = num(sel$ci.ub), tau2 = num(sel$tau2),
    delta = num(sel$delta), se.delta = num(sel$se.delta), LRT = num(sel$LRT), LRTp = num(sel$LRTp),
    ll = num(logLik(sel)))
}

out <- list(software = list(metafor = as.character(packageVersion("metafor")), R = R.version.string,
                            numDeriv = as.character(packageVersion("numDeriv"))),
            sets = unname(lapply(sets, function(s) s[c("name", "source", "yi", "vi", "ni")])),
            fsn = fsn_cases, tes = tes_cases, hc = hc_cases, regtest = reg_cases,
            binary = binary_cases, selmodel = sel_cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", null = "null", pretty = TRUE),
           "small_study_extra.json")
cat(length(fsn_cases), "fsn,", length(tes_cases), "tes,", length(hc_cases), "hc,", length(reg_cases), "regtest,",
    length(binary_cases), "Peters/Harbord,", length(sel_cases), "selmodel cases written\n")
