"""The distribution of a positive-definite quadratic form in normal variables.

``Q = sum_j lambda_j chi2_1`` (independent chi-square variables with one degree of freedom and
positive weights lambda_j) is the distribution of a generalised Q statistic ``y'P_a y`` with
``y ~ N(X beta, S)``: the lambda_j are the non-zero eigenvalues of ``S^(1/2) P_a S^(1/2)``
(Jackson 2013; Jackson, Turner, Rhodes & Viechtbauer 2014).  Its survival function is computed
by Imhof's (1961) inversion of the characteristic function,

    P(Q > q) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du,
    theta(u) = 1/2 sum_j arctan(lambda_j u) - q u / 2,
    rho(u)   = prod_j (1 + lambda_j^2 u^2)^(1/4)

(Imhof JP 1961, Biometrika 48:419-426, eq. 3.2 with central chi-squares of one degree of
freedom), integrated with QUADPACK (scipy.integrate.quad: Gauss-Kronrod on [0, 1], the Fourier-integral
rule QAWF beyond).  Equal weights reduce to
a scaled chi-square, computed exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate, special


def quadform_sf(q: float, lam) -> float:
    """P(sum_j lam_j chi2_1 > q) for positive weights ``lam`` (Imhof 1961)."""
    lam = np.asarray(lam, dtype=float)
    lam = lam[lam > 0]
    if lam.size == 0:
        return 0.0 if q >= 0 else 1.0
    if q <= 0:
        return 1.0
    if np.ptp(lam) <= 1e-13 * lam.max():
        return float(special.chdtrc(lam.size, q / lam.mean()))
    scale = float(lam.max())
    lam_s = lam / scale  # u is measured in units of 1/lambda_max
    omega = 0.5 * q / scale

    def parts(u: float) -> tuple[float, float]:
        lu = lam_s * u
        phi = 0.5 * float(np.sum(np.arctan(lu)))
        amp = 1.0 / (u * math.exp(0.25 * float(np.sum(np.log1p(lu * lu)))))
        return phi, amp

    def whole(u: float) -> float:
        phi, amp = parts(u)
        return math.sin(phi - omega * u) * amp

    # sin(phi - omega u) = sin(phi) cos(omega u) - cos(phi) sin(omega u): on [1, inf) the
    # slowly varying factors are integrated against cos and sin by QUADPACK's Fourier rule
    # (QAWF), which handles the slow algebraic decay; [0, 1] by adaptive Gauss-Kronrod
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        head, _ = integrate.quad(whole, 0.0, 1.0, limit=200, epsabs=1e-14, epsrel=1e-12)
        t_cos, _ = integrate.quad(lambda u: math.sin(parts(u)[0]) * parts(u)[1], 1.0, np.inf,
                                  weight="cos", wvar=omega, limlst=200, epsabs=1e-14)
        t_sin, _ = integrate.quad(lambda u: math.cos(parts(u)[0]) * parts(u)[1], 1.0, np.inf,
                                  weight="sin", wvar=omega, limlst=200, epsabs=1e-14)
    value = head + t_cos - t_sin
    return min(1.0, max(0.0, 0.5 + value / math.pi))


def generalised_q_eigenvalues(P: np.ndarray, vi: np.ndarray, tau2: float) -> np.ndarray:
    """Non-zero eigenvalues of S^(1/2) P S^(1/2), S = diag(vi + tau2): the weights of the
    chi-square mixture that a generalised Q statistic y'Py follows at this tau2."""
    s = np.sqrt(vi + tau2)
    lam = np.linalg.eigvalsh((s[:, None] * P) * s[None, :])
    return lam[lam > 1e-12 * max(1.0, float(lam.max()))]


__all__ = ["quadform_sf", "generalised_q_eigenvalues"]
