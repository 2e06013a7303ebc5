# P(Q > q), Q = sum_j lambda_j chi2_1 (lambda_j > 0). Same call and result field as
# CompQuadForm::farebrother (Qq = P(Q > q)), which is not packaged for this machine's R.
# * lambda_max/lambda_min <= 20: Ruben's (1962, Ann Math Stat 33:542-570) chi-square mixture,
#   P(Q <= q) = sum_k a_k P(chi2_{r+2k} <= q/beta), beta = min(lambda),
#   a_0 = prod sqrt(beta/lambda_j), a_k = (1/k) sum_{j<k} a_j g_{k-j}, g_m = 1/2 sum_j (1 - beta/lambda_j)^m;
#   all a_k >= 0 and sum to 1, summed until the remaining mass is below 1e-14 (at most 20,000 terms);
# * otherwise Imhof's (1961, Biometrika 48:419-426) inversion integral, truncated where the
#   bound on its tail, (2/r) U^(-r/2) / prod sqrt(lambda_j/lambda_max) / pi, is below 1e-13.
farebrother <- function(q, lambda, h = rep(1, length(lambda)), delta = rep(0, length(lambda)),
                        maxit = 100000, eps = 10^(-10), mode = 1) {
  q <- as.numeric(q)[1]
  lam <- as.numeric(rep(lambda, h))
  r <- length(lam)
  if (max(lam) / min(lam) <= 20) {
    beta <- min(lam); rho <- 1 - beta / lam
    a <- exp(0.5 * sum(log(beta / lam))); g <- numeric(0)
    cdf <- a[1] * pchisq(q / beta, r); mass <- a[1]; n <- 1
    while (1 - mass > 1e-14 && n < 20000) {
      g[n] <- 0.5 * sum(rho^n)
      a[n + 1] <- sum(a[1:n] * g[n:1]) / n
      cdf <- cdf + a[n + 1] * pchisq(q / beta, r + 2 * n)
      mass <- mass + a[n + 1]; n <- n + 1
    }
    return(list(Qq = 1 - cdf, ifault = 0, dnsty = NA_real_))
  }
  s <- max(lam); l <- lam / s; qs <- q / s
  f <- function(u) {
    th <- 0.5 * colSums(atan(outer(l, u))) - 0.5 * qs * u
    rho <- exp(0.25 * colSums(log1p(outer(l^2, u^2))))
    sin(th) / (u * rho)
  }
  U <- (1e-13 * pi * (r / 2) * exp(0.5 * sum(log(l))))^(-2 / r)
  val <- integrate(f, 0, U, subdivisions = 100000L, rel.tol = 1e-11, abs.tol = 1e-14, stop.on.error = FALSE)$value
  list(Qq = 0.5 + val / pi, ifault = 0, dnsty = NA_real_)
}
