# Reference values for trialsynth's multivariate model (pool_multivariate), made with metafor 3.8-1.
# Run from this folder:  Rscript make_rma_mv_reference.R
# Needs R with metafor, metadat and jsonlite. Writes rma_mv_reference.json (inputs and results).
#
# Data sets (metadat; numeric inputs only, the papers they come from are cited in the tests):
#   dat.konstantopoulos2011  three-level model, studies in schools in districts
#                            (Konstantopoulos 2011, Res Synth Methods 2:61-76)
#   dat.berkey1998           bivariate PD/AL outcomes with known within-trial covariances, UN/CS/HCS
#                            (Berkey et al. 1998, Stat Med 17:2537-2550)
#   dat.ishak2007            four follow-ups, AR(1) sampling correlation phi = 0.97 built with vcalc,
#                            random effects AR/HAR/CAR/DIAG/ID (Ishak et al. 2007, Clin Trials 4:525-539)
#   synthetic                a seeded data set with irregular times, missing occasions and a moderator,
#                            to cover every structure under REML and ML
# Every fit uses tight optimiser control; each record keeps the call that made it.
# R is never a runtime or CI dependency of trialsynth.
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})

# Four optimisers with tight tolerances; the fit with the highest log-likelihood is kept (on the
# flat likelihoods of these models each of them stops 1e-8 to 1e-5 short of the optimum in the
# parameters on some fits, and nlm can stop at a worse local optimum)
controls <- list(nlm = list(optimizer = "nlm", gradtol = 1e-12, steptol = 1e-14, iterlim = 2000),
                 BFGS = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-16, maxit = 10000),
                 bobyqa = list(optimizer = "bobyqa", rhoend = 1e-14),
                 nlminb = list(rel.tol = 1e-10, iter.max = 10000, eval.max = 20000))
ctrl <- controls
# evaluate an rma.mv call with tight control (falling back to a looser one if nlminb stops)
fit_tight <- function(expr, env = parent.frame()) {
  best <- NULL
  for (name in names(controls)) {
    e <- expr
    e$control <- controls[[name]]
    res <- tryCatch(suppressWarnings(eval(e, env)), error = function(err) NULL)
    if (!is.null(res) && (is.null(best) || as.numeric(logLik(res)) > as.numeric(logLik(best)))) {
      res$optimizer_used <- name
      best <- res
    }
  }
  if (is.null(best)) stop("no optimiser converged")
  best
}
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

record <- function(res, call, ci = FALSE, pred = NULL, blup = TRUE) {
  fs <- fitstats(res)
  out <- list(call = call, optimizer = res$optimizer_used, method = res$method, test = res$test, k = res$k, p = res$p,
              b = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
              ci.lb = num(res$ci.lb), ci.ub = num(res$ci.ub), vb = unname(res$vb),
              sigma2 = num(res$sigma2), tau2 = num(res$tau2), rho = num(res$rho),
              ll = as.numeric(logLik(res)), fit.stats = as.list(setNames(num(fs[, 1]), c("ll", "dev", "AIC", "BIC", "AICc"))),
              QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, QMdf = num(res$QMdf),
              dfs = if (res$test == "t") num(res$ddf[1]) else NULL)
  if (ci) {
    cis <- confint(res, control = list(tol = 1e-12))
    if (!is.null(cis$random)) cis <- list(cis)
    cis <- Filter(function(x) is.list(x) && !is.null(x$random), cis)
    out$confint <- lapply(unname(cis), function(x) {
      r <- x$random
      list(names = rownames(r), estimate = num(r[, 1]), ci.lb = num(r[, 2]), ci.ub = num(r[, 3]))
    })
  }
  if (!is.null(pred)) {
    pr <- do.call(predict, c(list(res), pred))
    out$predict <- list(args = pred, pred = num(pr$pred), se = num(pr$se), ci.lb = num(pr$ci.lb), ci.ub = num(pr$ci.ub),
                        pi.lb = num(pr$pi.lb), pi.ub = num(pr$pi.ub))
  }
  re <- ranef(res)
  out$ranef <- lapply(re, function(x) list(names = rownames(x), estimate = num(x[, 1]), se = num(x[, 2]),
                                           pi.lb = num(x[, 3]), pi.ub = num(x[, 4])))
  if (blup) {
    # BLUPs of every row's true effect, X b + (M - V) W (y - X b), and their prediction-error SE
    # G_ii - g W g' + (x - g W X) C (x - g W X)' (Henderson 1975), from metafor's own matrices
    M <- as.matrix(res$M); V <- as.matrix(res$V); X <- res$X; W <- solve(M); G <- M - V
    r <- res$yi - X %*% res$beta
    pred <- X %*% res$beta + G %*% W %*% r
    a <- X - G %*% W %*% X
    pev <- diag(G) - rowSums((G %*% W) * G) + rowSums((a %*% res$vb) * a)
    out$blup <- list(pred = num(pred), se = num(sqrt(pmax(pev, 0))))
  }
  out
}

trip <- function(V) {
  V <- as.matrix(V)
  nz <- which(V != 0, arr.ind = TRUE)
  list(i = unname(nz[, 1]) - 1L, j = unname(nz[, 2]) - 1L, x = unname(V[nz]))
}

cases <- list()

# ---------------------------------------------------------------- Konstantopoulos 2011 (three-level)
dat <- dat.konstantopoulos2011
fits <- list()
for (method in c("REML", "ML")) for (test in c("z", "t")) {
  res <- fit_tight(bquote(rma.mv(yi, vi, random = ~ 1 | district/school, data = dat, method = .(method), test = .(test))))
  fits[[paste(method, test, sep = ".")]] <- record(res,
    sprintf('rma.mv(yi, vi, random = ~ 1 | district/school, data = dat.konstantopoulos2011, method = "%s", test = "%s")', method, test),
    ci = test == "z", pred = list())
}
res <- fit_tight(bquote(rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = dat)))
fits[["REML.z.year"]] <- record(res, 'rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = dat.konstantopoulos2011)',
                                pred = list(newmods = c(-10, 0, 10)))
cases[["konstantopoulos2011"]] <- list(yi = dat$yi, vi = dat$vi, district = dat$district, school = dat$school,
                                       year = dat$year, fits = fits)

# ---------------------------------------------------------------- Berkey 1998 (bivariate)
dat <- dat.berkey1998
V <- bldiag(lapply(split(dat[, c("v1i", "v2i")], dat$trial), as.matrix))
fits <- list()
for (struct in c("UN", "CS", "HCS")) for (method in c("REML", "ML")) {
  res <- fit_tight(bquote(rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = .(struct), data = dat, method = .(method))))
  fits[[paste(struct, method, sep = ".")]] <- record(res,
    sprintf('rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "%s", data = dat.berkey1998, method = "%s")', struct, method),
    ci = method == "REML",
    pred = if (struct == "CS") list(newmods = diag(2)) else list(newmods = diag(2), tau2.levels = c("AL", "PD")))
}
res <- fit_tight(bquote(rma.mv(yi, V, mods = ~ outcome + outcome:I(year - 1983) - 1, random = ~ outcome | trial, struct = "UN", data = dat)))
fits[["UN.REML.year"]] <- record(res, 'rma.mv(yi, V, mods = ~ outcome + outcome:I(year - 1983) - 1, random = ~ outcome | trial, struct = "UN", data = dat.berkey1998)')
cases[["berkey1998"]] <- list(yi = dat$yi, V = trip(V), trial = dat$trial, outcome = as.character(dat$outcome),
                              year = dat$year, fits = fits)

# ---------------------------------------------------------------- Ishak 2007 (four follow-ups)
dat <- dat.ishak2007
long <- reshape(dat, direction = "long", idvar = "study", v.names = c("yi", "vi"),
                varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
long <- long[order(long$study, long$time), ]
long <- long[!is.na(long$yi), ]
rownames(long) <- NULL
V <- vcalc(vi, cluster = study, time1 = time, phi = 0.97, data = long)
fits <- list()
for (struct in c("AR", "HAR", "CAR", "DIAG", "ID")) for (method in c("REML", "ML")) {
  res <- fit_tight(bquote(rma.mv(yi, V, mods = ~ factor(time) - 1, random = ~ time | study, struct = .(struct), data = long, method = .(method))))
  fits[[paste(struct, method, sep = ".")]] <- record(res,
    sprintf('rma.mv(yi, V, mods = ~ factor(time) - 1, random = ~ time | study, struct = "%s", data = long, method = "%s")', struct, method),
    ci = method == "REML" && struct %in% c("AR", "CAR"),
    pred = if (struct %in% c("HAR", "DIAG")) list(newmods = diag(4), tau2.levels = 1:4) else list(newmods = diag(4)))
}
cases[["ishak2007"]] <- list(yi = long$yi, vi = long$vi, V = trip(V), study = long$study, time = long$time, fits = fits)

# ---------------------------------------------------------------- synthetic: every structure
set.seed(20261201)
n_st <- 14
syn <- do.call(rbind, lapply(seq_len(n_st), function(s) {
  times <- c(0, 2, 6, 13, 26)
  keep <- sort(sample(seq_along(times), sample(2:5, 1)))
  data.frame(study = s, time = times[keep], occ = keep)
}))
syn$x <- round(rnorm(nrow(syn)), 3)
u <- rnorm(n_st, 0, 0.3)
syn$vi <- round(runif(nrow(syn), 0.02, 0.12), 4)
syn$yi <- round(-0.4 + 0.1 * syn$x + u[syn$study] + 0.012 * syn$time + rnorm(nrow(syn), 0, sqrt(syn$vi + 0.02)), 4)
Vs <- vcalc(vi, cluster = study, time1 = time, phi = 0.9, data = syn)
fits <- list()
for (struct in c("ID", "CS", "HCS", "UN", "DIAG", "AR", "HAR", "CAR")) for (method in c("REML", "ML")) {
  inner <- if (struct == "CAR") "time" else "occ"
  f <- as.formula(sprintf("~ %s | study", inner))
  res <- fit_tight(bquote(rma.mv(yi, Vs, mods = ~ x, random = .(f), struct = .(struct), data = syn, method = .(method))))
  fits[[paste(struct, method, sep = ".")]] <- record(res,
    sprintf('rma.mv(yi, V, mods = ~ x, random = ~ %s | study, struct = "%s", data = syn, method = "%s")', inner, struct, method),
    ci = method == "REML" && struct %in% c("CS", "CAR"), pred = list(newmods = c(-1, 0, 1)))
}
res <- fit_tight(bquote(rma.mv(yi, Vs, mods = ~ x, random = list(~ 1 | study, ~ time | study), struct = "CAR", data = syn)))
fits[["levels+CAR.REML"]] <- record(res, 'rma.mv(yi, V, mods = ~ x, random = list(~ 1 | study, ~ time | study), struct = "CAR", data = syn)',
                                    ci = TRUE, pred = list(newmods = 0))
cases[["synthetic"]] <- list(yi = syn$yi, vi = syn$vi, V = trip(Vs), study = syn$study, time = syn$time, occ = syn$occ,
                             x = syn$x, fits = fits)

out <- list(generated_by = "tests/reference/make_rma_mv_reference.R",
            metafor = as.character(packageVersion("metafor")), R = R.version.string,
            control = ctrl, cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "rma_mv_reference.json")
cat("wrote rma_mv_reference.json\n")
