# P(Q > q), Q = sum_j lambda_j chi2_1 (lambda_j > 0), by Ruben's (1962) chi-square mixture:
# P(Q <= q) = sum_k a_k P(chi2_{r+2k} <= q / beta), beta = min(lambda), with
# a_0 = prod sqrt(beta / lambda_j), a_k = (1/k) sum_{j<k} a_j g_{k-j}, g_m = 1/2 sum_j (1 - beta/lambda_j)^m
# (Ruben H 1962, Ann Math Stat 33:542-570). All a_k >= 0 and sum to 1, so the series is summed until
# the remaining mass is below eps. Same call and result fields as CompQuadForm::farebrother
# (Qq = P(Q > q)), which is not packaged for this machine's R.
farebrother <- function(q, lambda, h = rep(1, length(lambda)), delta = rep(0, length(lambda)),
                        maxit = 100000, eps = 10^(-10), mode = 1) {
  q <- as.numeric(q)[1]
  lam <- as.numeric(rep(lambda, h))
  r <- length(lam)
  beta <- min(lam)
  rho <- 1 - beta / lam
  a <- numeric(0); g <- numeric(0)
  a[1] <- exp(0.5 * sum(log(beta / lam)))
  cdf <- a[1] * pchisq(q / beta, r)
  mass <- a[1]
  n <- 1
  while (1 - mass > 1e-15 && n < 200000) {
    g[n] <- 0.5 * sum(rho^n)
    a[n + 1] <- sum(a[1:n] * g[n:1]) / n
    cdf <- cdf + a[n + 1] * pchisq(q / beta, r + 2 * n)
    mass <- mass + a[n + 1]
    n <- n + 1
  }
  list(Qq = 1 - cdf, ifault = 0, dnsty = NA_real_)
}
