r"""Effect sizes for variability and for single groups, as ``metafor::escalc`` (3.8) computes them.

Used through :func:`trialsynth.effect_sizes`:

* ``VR``: log variability ratio of two independent groups (``n1, sd1, n2, sd2``);
* ``CVR``: log coefficient-of-variation ratio (``n1, mean1, sd1, n2, mean2, sd2``);
* ``MN``: a raw mean (``mean, sd, n``); ``MNLN``: a log mean.

Nakagawa, S., Poulin, R., Mengersen, K., Reinhold, K., Engqvist, L., Lagisz, M. &
Senior, A. M. (2015). Meta-analysis of variation: ecological and evolutionary
applications and beyond. *Methods in Ecology and Evolution*, 6(2), 143-152.
"""

from __future__ import annotations

import numpy as np

from trialsynth.effects._common import MeasureSpec
from trialsynth.effects._validate import require

__all__ = ["VARIABILITY_MEASURES"]


def _check_arms(a, *, means: bool) -> None:
    for arm in ("1", "2"):
        require("n" + arm, a["n" + arm] <= 1, "arm sizes greater than 1 (an SD needs n - 1 > 0)")
        require("sd" + arm, a["sd" + arm] <= 0, "standard deviations > 0 (the measure takes their log)")
        if means:
            require("mean" + arm, a["mean" + arm] <= 0, "means > 0 (the coefficient of variation needs a ratio scale)")


def _vr(a, *, add, to, drop00, vtype):
    r"""Log variability ratio, lnVR (Nakagawa et al. 2015).

    .. math:: y = \ln(s_1/s_2) + \frac{1}{2(n_1-1)} - \frac{1}{2(n_2-1)},\quad
              v = \frac{1}{2(n_1-1)} + \frac{1}{2(n_2-1)}

    (the log SD with its small-sample bias correction, Raudenbush & Bryk 1987).
    """
    _check_arms(a, means=False)
    n1, n2 = a["n1"], a["n2"]
    c1, c2 = 1.0 / (2.0 * (n1 - 1.0)), 1.0 / (2.0 * (n2 - 1.0))
    return np.log(a["sd1"] / a["sd2"]) + c1 - c2, c1 + c2, None


def _cvr(a, *, add, to, drop00, vtype):
    r"""Log coefficient-of-variation ratio, lnCVR (Nakagawa et al. 2015, with the variance of eq. 12).

    .. math:: y = \ln\frac{s_1/\bar x_1}{s_2/\bar x_2} + \frac{1}{2(n_1-1)} - \frac{1}{2(n_2-1)},

    .. math:: v = \frac{s_1^2}{n_1 \bar x_1^2} + \frac{1}{2(n_1-1)}
              + \frac{s_2^2}{n_2 \bar x_2^2} + \frac{1}{2(n_2-1)},

    eq. 12 without its correlation terms: for normal data the mean and the SD are
    independent (as metafor documents).
    """
    _check_arms(a, means=True)
    n1, n2 = a["n1"], a["n2"]
    m1, m2, s1, s2 = a["mean1"], a["mean2"], a["sd1"], a["sd2"]
    c1, c2 = 1.0 / (2.0 * (n1 - 1.0)), 1.0 / (2.0 * (n2 - 1.0))
    yi = np.log((s1 / m1) / (s2 / m2)) + c1 - c2
    vi = s1**2 / (n1 * m1**2) + c1 + s2**2 / (n2 * m2**2) + c2
    return yi, vi, None


def _check_one_group(a) -> None:
    require("n", a["n"] <= 0, "sample sizes greater than 0")
    require("sd", a["sd"] < 0, "standard deviations >= 0")


def _mn(a, *, add, to, drop00, vtype):
    r"""Raw mean of one group: ``yi = mean``, ``vi = sd^2/n`` (the squared standard error)."""
    _check_one_group(a)
    return a["mean"], a["sd"] ** 2 / a["n"], None


def _mnln(a, *, add, to, drop00, vtype):
    r"""Log mean of one group (Nakagawa et al. 2015; the delta method as for ROM, Hedges et al. 1999).

    ``yi = log(mean)``; ``vi = sd^2/(n mean^2)`` (delta method). The mean must be > 0.
    """
    _check_one_group(a)
    require("mean", a["mean"] <= 0, "means > 0 (the log mean needs a ratio scale)")
    return np.log(a["mean"]), a["sd"] ** 2 / (a["n"] * a["mean"] ** 2), None


#: Variability and one-group measures for :func:`trialsynth.effect_sizes`.
VARIABILITY_MEASURES: dict[str, MeasureSpec] = {
    "VR": MeasureSpec(("n1", "sd1", "n2", "sd2"), _vr),
    "CVR": MeasureSpec(("n1", "mean1", "sd1", "n2", "mean2", "sd2"), _cvr),
    "MN": MeasureSpec(("mean", "sd", "n"), _mn),
    "MNLN": MeasureSpec(("mean", "sd", "n"), _mnln),
}
