"""Building blocks shared by the effect-size measures (internal).

The exact small-sample correction of Hedges (1981), the zero-cell rule of
``metafor::escalc`` (``add``/``to``/``drop00``) and the checks of two-group
summaries, used by :mod:`trialsynth.effects.measures` and the measure families
in the modules beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from trialsynth.effects._validate import as_float_array, require


def hedges_correction(df) -> np.ndarray:
    r"""Exact small-sample bias correction factor of Hedges (1981).

    .. math:: J(m) = \frac{\Gamma(m/2)}{\sqrt{m/2}\,\Gamma((m-1)/2)}

    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size
    and related estimators. *Journal of Educational Statistics*, 6(2), 107-128,
    eq. 6e (``c(m)``). Computed on the log scale with ``gammaln`` so it does not
    overflow for large ``m``. The familiar approximation ``1 - 3/(4m - 1)``
    (Borenstein et al. 2009, eq. 4.22) differs from it by about 1e-4 at m = 10.

    Parameters
    ----------
    df : array_like
        Degrees of freedom ``m`` (``n1 + n2 - 2`` for two groups), each > 1.

    Returns
    -------
    numpy.ndarray
    """
    m = as_float_array("df", df)
    require("df", m <= 1, "degrees of freedom greater than 1")
    return np.exp(gammaln(m / 2.0) - 0.5 * np.log(m / 2.0) - gammaln((m - 1.0) / 2.0))


def add_mask(zero: np.ndarray, dropped: np.ndarray, to: str) -> np.ndarray:
    """Which studies get ``add`` in their cells, following metafor's ``to`` rule."""
    kept = ~dropped
    if to == "all":
        return kept
    if to == "only0":
        return zero & kept
    if to == "if0all":
        return kept if np.any(zero & kept) else np.zeros_like(kept)
    return np.zeros_like(kept)  # "none"


def check_two_group_counts(a: dict[str, np.ndarray]) -> None:
    """Arm sizes > 0 and 0 <= events <= n in both arms."""
    for arm in ("1", "2"):
        n, ev = a["n" + arm], a["events" + arm]
        require("n" + arm, n <= 0, "arm sizes greater than 0")
        require("events" + arm, ev < 0, "event counts >= 0")
        require("events" + arm, ev > n, f"event counts at most the arm size n{arm}")


def binary_cells(a, add, to, drop00):
    """The four cells of each 2x2 table after the zero-cell rule, and the drop00 mask.

    Cells are ``events1, n1 - events1, events2, n2 - events2``; ``drop00`` marks
    tables with no events (or only events) in both groups.
    """
    check_two_group_counts(a)
    ai, ci = a["events1"], a["events2"]
    bi, di = a["n1"] - ai, a["n2"] - ci
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    if drop00:
        dropped = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
    else:
        dropped = np.zeros_like(zero)
    plus = np.where(add_mask(zero, dropped, to), add, 0.0)
    return ai + plus, bi + plus, ci + plus, di + plus, dropped


def check_two_group_means(a: dict[str, np.ndarray]) -> None:
    """Arm sizes > 0 and standard deviations >= 0 in both arms."""
    for arm in ("1", "2"):
        require("n" + arm, a["n" + arm] <= 0, "arm sizes greater than 0")
        require("sd" + arm, a["sd" + arm] < 0, "standard deviations >= 0")


def log_odds_ratio(ai, bi, ci, di):
    r"""Log odds ratio and Woolf's (1955) variance (Borenstein et al. 2009, eqs. 5.8-5.9).

    ``yi = log(ai di / (bi ci))``; ``vi = 1/ai + 1/bi + 1/ci + 1/di``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di


def cohens_d(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r"""Cohen's *d* with the pooled SD, and its degrees of freedom ``n1 + n2 - 2``.

    .. math:: s_p = \sqrt{\frac{(n_1-1)s_1^2 + (n_2-1)s_2^2}{n_1+n_2-2}},\quad
              d = (\bar x_1 - \bar x_2)/s_p

    (Hedges 1981, eq. 2; Borenstein et al. 2009, eqs. 4.18-4.19).
    """
    check_two_group_means(a)
    n1, n2 = a["n1"], a["n2"]
    require("n1", n1 + n2 <= 3, "n1 + n2 > 3 (the SMD needs more than one degree of freedom)")
    m = n1 + n2 - 2.0
    sp = np.sqrt(((n1 - 1.0) * a["sd1"] ** 2 + (n2 - 1.0) * a["sd2"] ** 2) / m)
    require("sd1", sp <= 0, "a pooled standard deviation > 0 (sd1 and sd2 are both 0)")
    return (a["mean1"] - a["mean2"]) / sp, m


@dataclass(frozen=True)
class MeasureSpec:
    """How :func:`trialsynth.effect_sizes` computes one measure defined outside ``measures``.

    Attributes
    ----------
    arrays : tuple of str
        The arrays the measure takes, in the order of the docs.
    compute : callable
        ``compute(a, add=, to=, drop00=, vtype=)`` returning ``(yi, vi, dropped)``.
    vtypes : tuple of str
        The variance types it accepts (the first is the default, ``"LS"``).
    default_add : float
        ``add`` when the caller gives none (0 for measures finite at zero cells).

    Whether a measure is a log ratio is said once, in :mod:`trialsynth.effects.scales`.
    """

    arrays: tuple[str, ...]
    compute: Callable
    vtypes: tuple[str, ...] = ("LS",)
    default_add: float = 0.5
