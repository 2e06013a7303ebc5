r"""Effect sizes for paired designs: change scores, matched pairs and cross-over trials.

Two families, computed as ``metafor::escalc`` (3.8) computes them and used through
:func:`trialsynth.effect_sizes`:

Continuous outcomes measured twice on the same participants (before and after a
treatment, or under two treatments of a cross-over trial), from ``mean1, sd1``
(first occasion or treatment), ``mean2, sd2`` (second), ``n`` participants and the
correlation ``r`` between the two measurements:

* ``MC`` raw mean change, ``SMCC`` standardised mean change with change-score
  standardisation, ``SMCR`` with raw-score standardisation (``sd1``; ``sd2`` is
  not used), ``SMCRH`` raw-score standardisation without assuming equal variances
  at the two occasions, ``ROMC`` log ratio of the two means.

  When only the SD of the change scores is reported, give it as ``sd1`` with
  ``sd2 = 0`` and ``r = 0`` (for ``MC`` and ``SMCC``), as metafor documents.

Binary outcomes of paired participants (a cross-over trial, or matched pairs), from
the four cells of the paired table::

                      treatment 2: event   treatment 2: no event
    treatment 1: event       both                 only1
    treatment 1: no event    only2                neither

* marginal measures ``MPRD`` (risk difference), ``MPRR`` (log risk ratio), ``MPOR``
  (log odds ratio) of the marginal proportions ``p1 = (both + only1)/n`` and
  ``p2 = (both + only2)/n``;
* conditional measures ``MPORC`` (log odds ratio ``only1/only2``, the McNemar odds
  ratio) and ``MPPETO`` (its Peto estimate).

The zero-cell rule (``add``, ``to``) applies to the four paired cells, as for a 2x2
table (module notes of :mod:`trialsynth.effects.measures`); ``drop00`` is not
defined for paired tables.
"""

from __future__ import annotations

import numpy as np

from trialsynth.effects._common import MeasureSpec, add_mask, hedges_correction
from trialsynth.effects._validate import require
from trialsynth.errors import ArgumentError

__all__ = ["PAIRED_MEASURES"]

_CHANGE_ARRAYS = ("mean1", "sd1", "mean2", "sd2", "n", "r")
_PAIRED_CELLS = ("both", "only1", "only2", "neither")


# --------------------------------------------------------------------------- continuous


def _check_change(a: dict[str, np.ndarray], *, sd2: bool = True) -> None:
    require("n", a["n"] <= 2, "sample sizes greater than 2 (the bias correction needs n - 1 > 1)")
    require("sd1", a["sd1"] < 0, "standard deviations >= 0")
    if sd2:
        require("sd2", a["sd2"] < 0, "standard deviations >= 0")
    require("r", np.abs(a["r"]) > 1, "correlations in [-1, 1]")


def _change_variance(a: dict[str, np.ndarray]) -> np.ndarray:
    r"""Variance of the change scores, :math:`s_1^2 + s_2^2 - 2 r s_1 s_2` (Cochrane Handbook 6.5.2.8)."""
    var = a["sd1"] ** 2 + a["sd2"] ** 2 - 2.0 * a["r"] * a["sd1"] * a["sd2"]
    # rounding can leave -1e-16 when r = 1 and sd1 = sd2
    var = np.where(np.abs(var) < 1e-12 * (a["sd1"] ** 2 + a["sd2"] ** 2), 0.0, var)
    require("r", var < 0, "r, sd1 and sd2 that give a change-score variance >= 0")
    return var


def _mc(a, *, add, to, drop00, vtype):
    r"""Raw mean change (Becker 1988; Morris & DeShon 2002, *Psychol Methods* 7:105-125).

    ``yi = mean1 - mean2``; ``vi = (s_1^2 + s_2^2 - 2 r s_1 s_2)/n``, the variance of a
    mean of ``n`` change scores.
    """
    _check_change(a)
    return a["mean1"] - a["mean2"], _change_variance(a) / a["n"], None


def _smcc(a, *, add, to, drop00, vtype):
    r"""Standardised mean change, change-score standardisation (Gibbons, Hedeker & Davis 1993).

    :math:`d = (\bar x_1 - \bar x_2)/s_D` with :math:`s_D^2 = s_1^2 + s_2^2 - 2 r s_1 s_2`,
    :math:`g = J(n-1)\,d` (Hedges' correction with ``n - 1`` df; Gibbons et al. 1993,
    *J Educ Stat* 18:271-279). Variance (``vtype``):

    ``"LS"``  :math:`1/n + g^2/(2n)`, the large-sample variance of a one-sample
              standardised mean (Gibbons et al. 1993; Morris & DeShon 2002);
    ``"LS2"`` :math:`J^2 (1/n + d^2/(2n))`.
    """
    _check_change(a)
    sd_change = np.sqrt(_change_variance(a))
    require("sd1", sd_change <= 0, "a change-score SD > 0 (sd1, sd2 and r give 0)")
    n = a["n"]
    j = hedges_correction(n - 1.0)
    d = (a["mean1"] - a["mean2"]) / sd_change
    yi = j * d
    if vtype == "LS2":
        return yi, j**2 * (1.0 / n + d**2 / (2.0 * n)), None
    return yi, 1.0 / n + yi**2 / (2.0 * n), None


def _smcr(a, *, add, to, drop00, vtype):
    r"""Standardised mean change, raw-score standardisation (Becker 1988).

    :math:`d = (\bar x_1 - \bar x_2)/s_1` (the SD at the first occasion, usually the
    pre-test), :math:`g = J(n-1)\,d`. Variance (``vtype``), which assumes equal
    variances at the two occasions:

    ``"LS"``  :math:`2(1-r)/n + g^2/(2n)` (Becker 1988, *Br J Math Stat Psychol*
              41:257-278, the large-sample variance of the standardised mean change;
              Morris 2000, *Br J Math Stat Psychol* 53:17-29);
    ``"LS2"`` :math:`J^2 (2(1-r)/n + d^2/(2n))`.
    """
    require("n", a["n"] <= 2, "sample sizes greater than 2 (the bias correction needs n - 1 > 1)")
    require("sd1", a["sd1"] <= 0, "standard deviations > 0 (sd1 standardises the change)")
    require("r", np.abs(a["r"]) > 1, "correlations in [-1, 1]")
    n, r = a["n"], a["r"]
    j = hedges_correction(n - 1.0)
    d = (a["mean1"] - a["mean2"]) / a["sd1"]
    yi = j * d
    if vtype == "LS2":
        return yi, j**2 * (2.0 * (1.0 - r) / n + d**2 / (2.0 * n)), None
    return yi, 2.0 * (1.0 - r) / n + yi**2 / (2.0 * n), None


def _smcrh(a, *, add, to, drop00, vtype):
    r"""Standardised mean change, raw-score standardisation, unequal variances (Bonett 2008).

    ``yi`` as ``SMCR``: :math:`g = J(n-1)(\bar x_1 - \bar x_2)/s_1`. The variance
    does not assume :math:`\sigma_1 = \sigma_2`: by the delta method (Bonett 2008,
    *Psychol Methods* 13:99-109, the within-subjects case),
    :math:`\widehat{var}(d) = s_D^2/((n-1) s_1^2) + d^2/(2(n-1))` with
    :math:`s_D^2 = s_1^2 + s_2^2 - 2 r s_1 s_2`, evaluated at ``g`` and multiplied by
    ``J^2`` for the corrected estimate (as metafor's ``measure="SMCRH"``).
    """
    _check_change(a)
    require("sd1", a["sd1"] <= 0, "standard deviations > 0 (sd1 standardises the change)")
    n = a["n"]
    j = hedges_correction(n - 1.0)
    yi = j * (a["mean1"] - a["mean2"]) / a["sd1"]
    var_d = _change_variance(a) / ((n - 1.0) * a["sd1"] ** 2) + yi**2 / (2.0 * (n - 1.0))
    return yi, j**2 * var_d, None


def _romc(a, *, add, to, drop00, vtype):
    r"""Log ratio of two dependent means (Lajeunesse 2011, *Ecology* 92:2049-2055).

    ``yi = log(mean1/mean2)``;
    :math:`v = s_1^2/(n \bar x_1^2) + s_2^2/(n \bar x_2^2) - 2 r s_1 s_2/(n \bar x_1 \bar x_2)`,
    the delta-method variance with the covariance of the two means. Both means must
    be > 0 (a ratio scale).
    """
    _check_change(a)
    m1, m2 = a["mean1"], a["mean2"]
    require("mean1", m1 <= 0, "means > 0 (the ratio of means needs a ratio scale)")
    require("mean2", m2 <= 0, "means > 0 (the ratio of means needs a ratio scale)")
    n, s1, s2 = a["n"], a["sd1"], a["sd2"]
    vi = s1**2 / (n * m1**2) + s2**2 / (n * m2**2) - 2.0 * a["r"] * s1 * s2 / (n * m1 * m2)
    return np.log(m1 / m2), vi, None


# --------------------------------------------------------------------------- binary


def _paired_cells(a, add, to, drop00):
    """The four paired cells after the zero-cell rule (``add`` to every cell of a table with a 0)."""
    if drop00:
        raise ArgumentError(
            "drop00: not defined for paired tables (MPRD, MPRR, MPOR, MPORC, MPPETO); "
            "leave it False"
        )
    for name in _PAIRED_CELLS:
        require(name, a[name] < 0, "counts >= 0")
    cells = [a[name] for name in _PAIRED_CELLS]
    total = sum(cells)
    require("both", total <= 0, "at least one pair in each table")
    zero = np.any([c == 0 for c in cells], axis=0)
    plus = np.where(add_mask(zero, np.zeros_like(zero), to), add, 0.0)
    return [c + plus for c in cells]


def _mprd(a, *, add, to, drop00, vtype):
    r"""Difference of two paired (marginal) proportions (Newcombe 1998; Fagerland et al. 2014).

    With cells ``a = both, b = only1, c = only2, d = neither`` and ``n = a+b+c+d``:
    ``yi = p1 - p2 = (b - c)/n``;
    :math:`v = ((b + c) - (b - c)^2/n)/n^2`, the variance of the difference of
    correlated proportions (Newcombe 1998, *Stat Med* 17:2635-2650; Fagerland, Lydersen
    & Laake 2014, *Stat Med* 33:2850-2875).
    """
    aa, b, c, d = _paired_cells(a, add, to, drop00)
    n = aa + b + c + d
    return (b - c) / n, ((b + c) - (b - c) ** 2 / n) / n**2, None


def _mprr(a, *, add, to, drop00, vtype):
    r"""Log ratio of two paired proportions (Zou 2007, *Clin Trials* 4:25-31).

    ``yi = log((a + b)/(a + c))``; :math:`v = (b + c)/((a + b)(a + c))`, the
    delta-method variance of the log ratio of correlated proportions (Zou 2007;
    Becker & Balagtas 1993).
    """
    aa, b, c, _ = _paired_cells(a, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log((aa + b) / (aa + c)), (b + c) / ((aa + b) * (aa + c)), None


def _mpor(a, *, add, to, drop00, vtype):
    r"""Marginal log odds ratio of paired proportions (Becker & Balagtas 1993, *Biometrics* 49:997).

    With :math:`p_1 = (a+b)/n`, :math:`p_2 = (a+c)/n`, :math:`q_j = 1 - p_j`:
    ``yi = log(p1 q2 / (q1 p2))`` and, by the delta method with the covariance of the
    two marginal proportions,

    .. math:: v = \frac{1}{n}\left[\frac{1}{p_1 q_1} + \frac{1}{p_2 q_2}
              - \frac{2 (p_{11} p_{22} - p_{12} p_{21})}{p_1 q_1 p_2 q_2}\right]

    where :math:`p_{11} = a/n, p_{12} = b/n, p_{21} = c/n, p_{22} = d/n` (Becker &
    Balagtas 1993; Elbourne et al. 2002, *Int J Epidemiol* 31:140-149).
    """
    aa, b, c, d = _paired_cells(a, add, to, drop00)
    n = aa + b + c + d
    p1, p2 = (aa + b) / n, (aa + c) / n
    q1, q2 = 1.0 - p1, 1.0 - p2
    cross = (aa * d - b * c) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(p1 * q2 / (q1 * p2))
        vi = (1.0 / (p1 * q1) + 1.0 / (p2 * q2) - 2.0 * cross / (p1 * q1 * p2 * q2)) / n
    return yi, vi, None


def _mporc(a, *, add, to, drop00, vtype):
    r"""Conditional log odds ratio of paired data (Curtin, Elbourne & Altman 2002, *Stat Med* 21:2145).

    ``yi = log(b/c)`` from the discordant pairs only, ``vi = 1/b + 1/c`` (the
    McNemar-type odds ratio of matched pairs; Zou 2007).
    """
    _, b, c, _ = _paired_cells(a, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(b / c), 1.0 / b + 1.0 / c, None


def _mppeto(a, *, add, to, drop00, vtype):
    r"""Peto's conditional log odds ratio of paired data (Curtin, Elbourne & Altman 2002).

    Given the ``m = b + c`` discordant pairs, ``b`` has expectation ``m/2`` and
    variance ``V = m/4`` under no effect, so Peto's one-step estimate (Yusuf et al.
    1985) is ``yi = (b - m/2)/V = 2(b - c)/(b + c)`` with ``vi = 1/V = 4/(b + c)``.
    """
    _, b, c, _ = _paired_cells(a, add, to, drop00)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * (b - c) / (b + c), 4.0 / (b + c), None


#: Paired measures for :func:`trialsynth.effect_sizes`.
PAIRED_MEASURES: dict[str, MeasureSpec] = {
    "MC": MeasureSpec(_CHANGE_ARRAYS, _mc),
    "SMCC": MeasureSpec(_CHANGE_ARRAYS, _smcc, vtypes=("LS", "LS2")),
    "SMCR": MeasureSpec(("mean1", "sd1", "mean2", "n", "r"), _smcr, vtypes=("LS", "LS2")),
    "SMCRH": MeasureSpec(_CHANGE_ARRAYS, _smcrh),
    "ROMC": MeasureSpec(_CHANGE_ARRAYS, _romc),
    "MPRD": MeasureSpec(_PAIRED_CELLS, _mprd),
    "MPRR": MeasureSpec(_PAIRED_CELLS, _mprr),
    "MPOR": MeasureSpec(_PAIRED_CELLS, _mpor),
    "MPORC": MeasureSpec(_PAIRED_CELLS, _mporc),
    "MPPETO": MeasureSpec(_PAIRED_CELLS, _mppeto),
}
