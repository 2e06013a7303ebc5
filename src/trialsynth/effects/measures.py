r"""Effect-size measures computed per study, as R's ``metafor::escalc`` computes them.

:func:`effect_sizes` returns the observed outcome ``yi`` and its sampling variance
``vi`` for each study. The formulas are the standard large-sample ones; the
references for each family are given in :func:`effect_sizes` and in the private
function that computes it. The numbers agree with metafor 3.8's ``escalc`` to
about 1e-12 relative (see ``tests/effects/test_measures_oracle.py``,
``test_measures_extra.py`` and ``test_measures_trials.py``). The paired-design,
variability, one-group, binary <-> continuous and further 2x2 measures live in
:mod:`~trialsynth.effects.paired`, :mod:`~trialsynth.effects.variability`,
:mod:`~trialsynth.effects.binary_continuous` and :mod:`~trialsynth.effects.association`.

Zero cells
----------
For the binary measures (OR, RR, RD, PETO, YUQ, YUY, OR2DN, OR2DL, AS, PHI), the
paired tables (MPRD, MPRR, MPOR, MPORC, MPPETO: the four paired cells), the
one-proportion measures PR and PLO, and the rate measures IRR and IRD, a constant
``add`` (default 1/2) is added
to the cells of a study as chosen by ``to`` (as in metafor, and as the Cochrane
Handbook, section 10.4.4.2, describes for RevMan):

``"only0"`` (default)
    add to every cell of a study that has a zero cell;
``"all"``
    add to every cell of every study;
``"if0all"``
    add to every cell of every study if any study has a zero cell;
``"none"``
    add nothing (a zero cell then makes a log-scale measure infinite, which is an
    error here rather than metafor's silent ``NA``).

For two-group counts the cells are ``events1, n1-events1, events2, n2-events2``
(so 1/2 added to each cell adds 1 to each arm size); for one proportion they are
``events, n-events``; for rates they are ``events1, events2`` (person-time is not
changed). With ``drop00=True`` a study with no events in both groups (or, for
two-group counts, only events in both groups) gets ``yi = vi = NaN`` and is not
counted by ``to="if0all"``; this is the only way a NaN leaves this function.
PAS, the Freeman-Tukey ``PFT``, the arcsine difference ``AS`` and ``PHI`` are
finite at zero counts, so for them ``add`` defaults to 0; an ``add`` given
explicitly is applied to their cells by the same rule (as metafor does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from trialsynth.effects._common import (
    MeasureSpec,
    add_mask,
    binary_cells,
    check_two_group_means,
    cohens_d,
    hedges_correction,
    log_odds_ratio,
)
from trialsynth.effects._validate import as_float_array, common_index, positions, require, same_length
from trialsynth.effects.association import ASSOCIATION_MEASURES
from trialsynth.effects.binary_continuous import BINARY_CONTINUOUS_MEASURES
from trialsynth.effects.paired import PAIRED_MEASURES
from trialsynth.effects.scales import RATIO_MEASURES as _LOG_SCALE
from trialsynth.effects.variability import VARIABILITY_MEASURES
from trialsynth.errors import ArgumentError

__all__ = [
    "MEASURES",
    "MEASURE_ARRAYS",
    "RATIO_MEASURES",
    "VTYPES",
    "ZERO_CELL_OPTIONS",
    "effect_sizes",
    "hedges_correction",
]

#: Measures defined in the modules beside this one (paired designs, variability and one
#: group, binary <-> continuous conversions, further 2x2 measures), by name.
_EXTRA: dict[str, MeasureSpec] = {
    **PAIRED_MEASURES,
    **VARIABILITY_MEASURES,
    **BINARY_CONTINUOUS_MEASURES,
    **ASSOCIATION_MEASURES,
}

_TWO_GROUP_MEANS = ("n1", "mean1", "sd1", "n2", "mean2", "sd2")
_TWO_GROUP_COUNTS = ("events1", "n1", "events2", "n2")

#: The arrays each measure takes (GEN takes ``yi`` and exactly one of ``vi``, ``sei``).
MEASURE_ARRAYS: dict[str, tuple[str, ...]] = {
    "MD": _TWO_GROUP_MEANS,
    "SMD": _TWO_GROUP_MEANS,
    "SMDH": _TWO_GROUP_MEANS,
    "ROM": _TWO_GROUP_MEANS,
    **{m: spec.arrays for m, spec in VARIABILITY_MEASURES.items() if m in ("VR", "CVR")},
    **{m: spec.arrays for m, spec in BINARY_CONTINUOUS_MEASURES.items() if m.startswith("D2")},
    "OR": _TWO_GROUP_COUNTS,
    "RR": _TWO_GROUP_COUNTS,
    "RD": _TWO_GROUP_COUNTS,
    "PETO": _TWO_GROUP_COUNTS,
    **{m: spec.arrays for m, spec in ASSOCIATION_MEASURES.items()},
    **{m: spec.arrays for m, spec in BINARY_CONTINUOUS_MEASURES.items() if m.startswith("OR2")},
    **{m: spec.arrays for m, spec in PAIRED_MEASURES.items()},
    "PR": ("events", "n"),
    "PLO": ("events", "n"),
    "PAS": ("events", "n"),
    "PFT": ("events", "n"),
    **{m: spec.arrays for m, spec in VARIABILITY_MEASURES.items() if m in ("MN", "MNLN")},
    "IRR": ("events1", "time1", "events2", "time2"),
    "IRD": ("events1", "time1", "events2", "time2"),
    "COR": ("r", "n"),
    "ZCOR": ("r", "n"),
    "GEN": ("yi", "vi|sei"),
}

#: Valid measure names, in the order of the docs.
MEASURES: tuple[str, ...] = tuple(MEASURE_ARRAYS)

#: Measures analysed on the log scale (back-transformed with exp for display): those of
#: :data:`trialsynth.effects.scales.RATIO_MEASURES`, the package's one list, that this function computes.
RATIO_MEASURES: frozenset[str] = frozenset(m for m in MEASURE_ARRAYS if m in _LOG_SCALE)

#: The variance types (``vtype``) each measure accepts, metafor's names; the first is
#: the default. Measures not listed take only ``"LS"``.
VTYPES: dict[str, tuple[str, ...]] = {
    "MD": ("LS", "HO"),
    "SMD": ("LS", "LS2", "UB", "AV"),
    **{m: spec.vtypes for m, spec in _EXTRA.items() if len(spec.vtypes) > 1},
}

#: Valid values of ``to``.
ZERO_CELL_OPTIONS: tuple[str, ...] = ("only0", "all", "if0all", "none")


# --------------------------------------------------------------------------- continuous


def _md(a: dict[str, np.ndarray], vtype: str = "LS") -> tuple[np.ndarray, np.ndarray]:
    r"""Raw mean difference (Borenstein et al. 2009, ch. 4, eqs. 4.1-4.5).

    ``yi = mean1 - mean2``. ``vtype="LS"`` (default): ``vi = sd1^2/n1 + sd2^2/n2``,
    variances not assumed equal (Borenstein eq. 4.5; Cochrane Handbook 6.5.1.1;
    Borenstein 2009 in the *Handbook of Research Synthesis*, eq. 12.5).
    ``vtype="HO"``: ``vi = s_p^2 (1/n1 + 1/n2)`` with the pooled variance, assuming
    equal variances (Borenstein eq. 4.4; Handbook of Research Synthesis eq. 12.3).
    """
    check_two_group_means(a)
    n1, n2 = a["n1"], a["n2"]
    yi = a["mean1"] - a["mean2"]
    if vtype == "HO":
        require("n1", n1 + n2 <= 2, "n1 + n2 > 2 (the pooled variance needs a degree of freedom)")
        pooled_var = ((n1 - 1.0) * a["sd1"] ** 2 + (n2 - 1.0) * a["sd2"] ** 2) / (n1 + n2 - 2.0)
        return yi, pooled_var * (1.0 / n1 + 1.0 / n2)
    return yi, a["sd1"] ** 2 / n1 + a["sd2"] ** 2 / n2


def _smd(a: dict[str, np.ndarray], vtype: str = "LS") -> tuple[np.ndarray, np.ndarray]:
    r"""Standardised mean difference, Hedges' *g* with the exact bias correction.

    .. math::

        s_p = \sqrt{\frac{(n_1-1)s_1^2 + (n_2-1)s_2^2}{n_1+n_2-2}},\quad
        d = \frac{\bar x_1 - \bar x_2}{s_p},\quad g = J(m)\,d,\quad m = n_1 + n_2 - 2.

    Hedges (1981) for ``g`` and ``J``. The sampling variance, chosen by ``vtype``
    (metafor's names), with :math:`\tilde n = n_1 n_2/(n_1+n_2)`:

    ``"LS"`` (default)
        :math:`1/n_1 + 1/n_2 + g^2/(2(n_1+n_2))`, the large-sample variance of
        Hedges (1982, *Psychol Bull* 92:490, eq. 8) with ``g`` plugged in (Hedges &
        Olkin 1985, eq. 5.15).
    ``"UB"``
        :math:`1/\tilde n + (1 - (m-2)/(m J^2))\,g^2`, the unbiased estimate of the
        variance of ``g`` (Hedges 1983, *Psychol Bull* 93:388, eq. 9).
    ``"LS2"``
        :math:`J^2\,(1/n_1 + 1/n_2 + d^2/(2(n_1+n_2)))`, the variance of ``d``
        scaled by ``J^2`` (Borenstein 2009, in *The Handbook of Research Synthesis
        and Meta-Analysis*, 2nd ed., eq. 12.17).
    ``"AV"``
        the ``"LS"`` formula with the sample-size weighted mean
        :math:`\bar g = \sum (n_{1i}+n_{2i}) g_i / \sum (n_{1i}+n_{2i})` of all
        studies in place of each study's ``g`` (Hedges 1982, eq. 8 at a common
        effect; Hedges & Olkin 1985, ch. 6), so that the variance does not depend
        on the study's own estimate.

    RevMan uses ``2(n1+n2-3.94)`` in the denominator of ``"LS"``; it differs from it
    by about 1e-2 relative in small trials.
    """
    d, m = cohens_d(a)
    n1, n2 = a["n1"], a["n2"]
    j = hedges_correction(m)
    yi = j * d
    if vtype == "UB":
        require("n1", m <= 2, "n1 + n2 > 4 (the unbiased variance needs m = n1 + n2 - 2 > 2)")
        return yi, 1.0 / n1 + 1.0 / n2 + (1.0 - (m - 2.0) / (m * j**2)) * yi**2
    if vtype == "LS2":
        return yi, j**2 * (1.0 / n1 + 1.0 / n2 + d**2 / (2.0 * (n1 + n2)))
    if vtype == "AV":
        g_bar = np.sum((n1 + n2) * yi) / np.sum(n1 + n2)
        return yi, 1.0 / n1 + 1.0 / n2 + g_bar**2 / (2.0 * (n1 + n2))
    return yi, 1.0 / n1 + 1.0 / n2 + yi**2 / (2.0 * (n1 + n2))


def _smdh(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r"""Standardised mean difference without assuming equal variances (Bonett 2008, 2009).

    The standardiser is the square root of the average variance,
    :math:`s = \sqrt{(s_1^2 + s_2^2)/2}`; :math:`d = (\bar x_1 - \bar x_2)/s` and
    :math:`g = J(n_1+n_2-2)\,d`. The variance of ``d`` is the delta-method variance
    of Bonett (2008, *Psychol Methods* 13:99-109, two independent groups; 2009,
    *Psychol Methods* 14:225-238), which does not assume :math:`\sigma_1 = \sigma_2`,

    .. math:: \widehat{var}(d) = \frac{d^2 (s_1^4/(n_1-1) + s_2^4/(n_2-1))}{8 s^4}
              + \frac{s_1^2/(n_1-1) + s_2^2/(n_2-1)}{s^2},

    evaluated at ``g`` and multiplied by ``J^2`` for the corrected estimate (as
    metafor's ``escalc(measure="SMDH")`` does).
    """
    check_two_group_means(a)
    n1, n2 = a["n1"], a["n2"]
    require("n1", n1 <= 1, "arm sizes greater than 1 (each variance needs a degree of freedom)")
    require("n2", n2 <= 1, "arm sizes greater than 1 (each variance needs a degree of freedom)")
    v1, v2 = a["sd1"] ** 2, a["sd2"] ** 2
    s2 = (v1 + v2) / 2.0
    require("sd1", s2 <= 0, "a standardiser > 0 (sd1 and sd2 are both 0)")
    j = hedges_correction(n1 + n2 - 2.0)
    yi = j * (a["mean1"] - a["mean2"]) / np.sqrt(s2)
    var_d = yi**2 * (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) / (8.0 * s2**2) + (
        v1 / (n1 - 1) + v2 / (n2 - 1)
    ) / s2
    return yi, j**2 * var_d


def _rom(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r"""Log ratio of means (Hedges, Gurevitch & Curtis 1999, *Ecology* 80:1150, eqs. 1 and 9).

    ``yi = log(mean1/mean2)``; ``vi = sd1^2/(n1 mean1^2) + sd2^2/(n2 mean2^2)`` (delta
    method). Only meaningful for ratio-scale outcomes, so both means must be > 0.
    """
    check_two_group_means(a)
    require("mean1", a["mean1"] <= 0, "means > 0 (the ratio of means needs a ratio scale)")
    require("mean2", a["mean2"] <= 0, "means > 0 (the ratio of means needs a ratio scale)")
    yi = np.log(a["mean1"] / a["mean2"])
    vi = a["sd1"] ** 2 / (a["n1"] * a["mean1"] ** 2) + a["sd2"] ** 2 / (a["n2"] * a["mean2"] ** 2)
    return yi, vi


# --------------------------------------------------------------------------- binary


def _rr(ai, bi, ci, di):
    r"""Log risk ratio (Borenstein et al. 2009, eqs. 5.1-5.3; Katz et al. 1978).

    ``yi = log((ai/n1)/(ci/n2))``; ``vi = 1/ai - 1/n1 + 1/ci - 1/n2`` with n1 = ai+bi, n2 = ci+di.
    """
    n1, n2 = ai + bi, ci + di
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log((ai / n1) / (ci / n2)), 1 / ai - 1 / n1 + 1 / ci - 1 / n2


def _rd(ai, bi, ci, di):
    r"""Risk difference (Borenstein et al. 2009, eqs. 5.14-5.15; Cochrane Handbook 6.4.1.2).

    ``yi = p1 - p2``; ``vi = p1(1-p1)/n1 + p2(1-p2)/n2`` with p1 = ai/n1, p2 = ci/n2.
    """
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def _peto(ai, bi, ci, di):
    r"""Peto's one-step log odds ratio (Yusuf et al. 1985, *Prog Cardiovasc Dis* 27:335, appendix).

    With ``N = n1 + n2``, ``E = n1 (ai + ci)/N`` and hypergeometric variance
    ``V = (ai+ci)(bi+di) n1 n2 / (N^2 (N-1))``: ``yi = (ai - E)/V``, ``vi = 1/V``
    (Cochrane Handbook 10.4.4.2; Fleiss 1993).
    """
    n1, n2 = ai + bi, ci + di
    total = n1 + n2
    expected = n1 * (ai + ci) / total
    hyper_v = (ai + ci) * (bi + di) * n1 * n2 / (total**2 * (total - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ai - expected) / hyper_v, 1 / hyper_v


_BINARY: dict[str, Callable] = {"OR": log_odds_ratio, "RR": _rr, "RD": _rd, "PETO": _peto}


# --------------------------------------------------------------------------- one proportion


def _proportion(measure, a, add, to):
    r"""One-group proportion measures (Borenstein et al. 2009, ch. 18; Barendregt et al. 2013).

    * ``PR``: raw proportion, ``yi = p``, ``vi = p(1-p)/n``.
    * ``PLO``: logit, ``yi = log(p/(1-p))``, ``vi = 1/x + 1/(n-x)``.
    * ``PAS``: arcsine square root (Anscombe 1948), ``yi = asin(sqrt(p))``, ``vi = 1/(4n)``.
    * ``PFT``: Freeman & Tukey (1950) double arcsine,
      ``yi = [asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1)))]/2``, ``vi = 1/(4n+2)``.

    All use the zero-cell rule with cells ``x, n-x`` (PAS and PFT with ``add = 0``
    unless one is given).
    """
    n, x = a["n"], a["events"]
    require("n", n <= 0, "sample sizes greater than 0")
    require("events", x < 0, "event counts >= 0")
    require("events", x > n, "event counts at most n")
    zero = (x == 0) | (x == n)
    plus = np.where(add_mask(zero, np.zeros_like(zero), to), add, 0.0)
    x, non = x + plus, n - x + plus
    n = x + non
    p = x / n
    if measure == "PAS":
        return np.arcsin(np.sqrt(p)), 1.0 / (4.0 * n)
    if measure == "PFT":
        yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        return yi, 1.0 / (4.0 * n + 2.0)
    if measure == "PR":
        return p, p * (1 - p) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / non), 1 / x + 1 / non  # PLO


# --------------------------------------------------------------------------- rates


def _rates(measure, a, add, to, drop00):
    r"""Incidence-rate measures (Rothman, Greenland & Lash 2008, *Modern Epidemiology* ch. 14).

    * ``IRR``: log rate ratio, ``yi = log((x1/t1)/(x2/t2))``, ``vi = 1/x1 + 1/x2``.
    * ``IRD``: rate difference, ``yi = x1/t1 - x2/t2``, ``vi = x1/t1^2 + x2/t2^2``.

    The zero-cell rule adds ``add`` to both event counts (not to person-time).
    """
    for arm in ("1", "2"):
        require("time" + arm, a["time" + arm] <= 0, "person-time greater than 0")
        require("events" + arm, a["events" + arm] < 0, "event counts >= 0")
    x1, x2 = a["events1"], a["events2"]
    t1, t2 = a["time1"], a["time2"]
    zero = (x1 == 0) | (x2 == 0)
    dropped = (x1 == 0) & (x2 == 0) if drop00 else np.zeros_like(zero)
    plus = np.where(add_mask(zero, dropped, to), add, 0.0)
    x1, x2 = x1 + plus, x2 + plus
    if measure == "IRD":
        return x1 / t1 - x2 / t2, x1 / t1**2 + x2 / t2**2, dropped
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log((x1 / t1) / (x2 / t2)), 1 / x1 + 1 / x2, dropped


# --------------------------------------------------------------------------- correlations


def _correlation(measure, a):
    r"""Correlation measures (Borenstein et al. 2009, ch. 6).

    * ``COR``: raw correlation, ``yi = r``, ``vi = (1-r^2)^2/(n-1)`` (Borenstein eq. 6.1).
    * ``ZCOR``: Fisher's z (Fisher 1921), ``yi = atanh(r)``, ``vi = 1/(n-3)`` (eqs. 6.2-6.3).
    """
    r, n = a["r"], a["n"]
    require("r", np.abs(r) > 1, "correlations in [-1, 1]")
    if measure == "COR":
        require("n", n <= 1, "sample sizes greater than 1")
        return r, (1 - r**2) ** 2 / (n - 1)
    require("n", n <= 3, "sample sizes greater than 3 (Fisher's z has variance 1/(n-3))")
    require("r", np.abs(r) == 1, "correlations strictly inside (-1, 1) for Fisher's z")
    return np.arctanh(r), 1.0 / (n - 3)


# --------------------------------------------------------------------------- entry point


def effect_sizes(
    measure: str,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    **arrays,
) -> pd.DataFrame:
    r"""Observed effect sizes ``yi`` and sampling variances ``vi``, one row per study.

    Agrees with ``metafor::escalc(measure, ...)`` (metafor 3.8) for every measure and
    variance type below.

    Parameters
    ----------
    measure : str
        One of

        * two-group continuous (``n1, mean1, sd1, n2, mean2, sd2``): ``MD`` mean
          difference; ``SMD`` Hedges' *g* with the exact bias correction (Hedges 1981);
          ``SMDH`` the SMD standardised by the root mean variance, without assuming
          equal variances (Bonett 2009); ``ROM`` log ratio of means (Hedges,
          Gurevitch & Curtis 1999); ``CVR`` log ratio of the coefficients of
          variation and ``VR`` (``n1, sd1, n2, sd2``) log ratio of the SDs (Nakagawa
          et al. 2015); ``D2ORN``, ``D2ORL`` the SMD re-expressed as a log odds ratio
          (normal or logistic distributions; Cochrane Handbook 10.6), see
          :mod:`trialsynth.effects.binary_continuous`;
        * two-group counts (``events1, n1, events2, n2``): ``OR`` log odds ratio,
          ``RR`` log risk ratio, ``RD`` risk difference (Borenstein et al. 2009,
          *Introduction to Meta-Analysis*, ch. 5; Cochrane Handbook ch. 6 and 10),
          ``PETO`` Peto's log odds ratio (Yusuf et al. 1985); ``AS`` arcsine
          difference, ``PHI`` phi coefficient, ``YUQ``/``YUY`` Yule's Q and Y (see
          :mod:`trialsynth.effects.association`); ``OR2DN``, ``OR2DL`` the log odds
          ratio re-expressed as an SMD;
        * paired designs (:mod:`trialsynth.effects.paired`): change scores
          (``mean1, sd1, mean2, sd2, n, r``) ``MC``, ``SMCC``, ``SMCR`` (without
          ``sd2``), ``SMCRH``, ``ROMC``; paired 2x2 tables of cross-over trials or
          matched pairs (``both, only1, only2, neither``) ``MPRD``, ``MPRR``,
          ``MPOR``, ``MPORC``, ``MPPETO``;
        * one proportion (``events, n``): ``PR`` raw, ``PLO`` logit, ``PAS`` arcsine
          square root, ``PFT`` Freeman-Tukey double arcsine;
        * one mean (``mean, sd, n``): ``MN`` raw, ``MNLN`` log;
        * two incidence rates (``events1, time1, events2, time2``): ``IRR`` log rate
          ratio, ``IRD`` rate difference;
        * a correlation (``r, n``): ``COR`` raw, ``ZCOR`` Fisher's z;
        * ``GEN``: effects already computed (``yi`` and one of ``vi``, ``sei``),
          returned unchanged (``vi = sei**2``).
    add : float, optional
        Amount added to cells under the zero-cell rule (module docstring); 1/2 by
        default, 0 by default for PAS, PFT, AS and PHI.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add``.
    drop00 : bool, default False
        Give ``yi = vi = NaN`` to studies with no events (or only events) in both groups.
    vtype : str, default "LS"
        The sampling variance, metafor's names (:data:`VTYPES`): for ``SMD``
        ``"LS"`` (large-sample), ``"UB"`` (unbiased), ``"LS2"`` (Borenstein) or
        ``"AV"`` (at the sample-size weighted mean effect); for ``MD`` ``"LS"`` or
        ``"HO"`` (equal variances); for ``SMCC`` and ``SMCR`` ``"LS"`` or ``"LS2"``;
        for ``PHI`` ``"CS"`` (= ``"LS"``, cross-sectional sampling) or ``"ST"``
        (stratified: fixed arm sizes, as in a trial).
    **arrays : array_like
        The arrays of the measure, all of one length (a pandas Series' index is kept
        when all Series given share it).

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` and ``vi`` (float), one row per study.

    Raises
    ------
    trialsynth.errors.ArgumentError
        Naming the argument: an unknown measure (listing the valid ones), a missing,
        unexpected or mismatched-length array, NaN or infinity, n <= 0, sd < 0,
        events < 0 or > n, r outside [-1, 1], non-positive means for ROM, an unknown
        ``vtype``, or a result that would be infinite or undefined (zero cells with
        ``to="none"``, a 2x2 table with an empty row or column for PHI).

    Examples
    --------
    >>> effect_sizes("RR", events1=[4], n1=[123], events2=[11], n2=[139]).round(4)
           yi      vi
    0 -0.8893  0.3256
    >>> effect_sizes("SMCC", mean1=[30.2], sd1=[8.1], mean2=[24.5], sd2=[7.0], n=[25], r=[0.6]).round(4)
           yi      vi
    0  0.8088  0.0531
    """
    if not isinstance(measure, str) or measure not in MEASURE_ARRAYS:
        raise ArgumentError(
            f"measure: unknown measure {measure!r}; expected one of {', '.join(MEASURES)}"
        )
    if to not in ZERO_CELL_OPTIONS:
        raise ArgumentError(f"to: expected one of {', '.join(ZERO_CELL_OPTIONS)}, got {to!r}")
    spec = _EXTRA.get(measure)
    if add is None:
        if spec is not None:
            add = spec.default_add
        else:
            add = 0.0 if measure in ("PAS", "PFT") else 0.5
    if isinstance(add, bool) or not isinstance(add, int | float | np.number) or not (
        np.isfinite(add) and add >= 0
    ):
        raise ArgumentError(f"add: expected a finite number >= 0, got {add!r}")
    if not isinstance(drop00, bool | np.bool_):
        raise ArgumentError(f"drop00: expected True or False, got {drop00!r}")
    allowed_vtypes = VTYPES.get(measure, ("LS",))
    if vtype not in allowed_vtypes:
        raise ArgumentError(
            f"vtype: measure {measure} takes vtype {' or '.join(repr(v) for v in allowed_vtypes)}, "
            f"got {vtype!r}"
        )

    wanted = MEASURE_ARRAYS[measure]
    names = [w for w in wanted if "|" not in w]
    if measure == "GEN":
        given_v = [w for w in ("vi", "sei") if arrays.get(w) is not None]
        if len(given_v) != 1:
            raise ArgumentError(
                "vi, sei: measure GEN needs exactly one of vi (variances) or sei (standard "
                f"errors) besides yi; got {given_v or 'neither'}"
            )
        names.append(given_v[0])
        allowed = {"yi", "vi", "sei"}
    else:
        allowed = set(names)
    unexpected = sorted(set(arrays) - allowed)
    if unexpected:
        raise ArgumentError(
            f"{unexpected[0]}: not an argument of measure {measure}; it takes "
            f"{', '.join(wanted).replace('|', ' or ')}"
        )
    missing = [w for w in names if arrays.get(w) is None]
    if missing:
        raise ArgumentError(
            f"{missing[0]}: measure {measure} needs {', '.join(wanted).replace('|', ' or ')}; "
            f"missing {', '.join(missing)}"
        )
    a = {w: as_float_array(w, arrays[w]) for w in names}
    same_length(a)
    index = common_index([arrays[w] for w in names])

    dropped = np.zeros(len(next(iter(a.values()))), dtype=bool)
    if spec is not None:
        yi, vi, spec_dropped = spec.compute(a, add=float(add), to=to, drop00=bool(drop00), vtype=vtype)
        if spec_dropped is not None:
            dropped = spec_dropped
    elif measure == "MD":
        yi, vi = _md(a, vtype)
    elif measure == "SMD":
        yi, vi = _smd(a, vtype)
    elif measure == "SMDH":
        yi, vi = _smdh(a)
    elif measure == "ROM":
        yi, vi = _rom(a)
    elif measure in _BINARY:
        ai, bi, ci, di, dropped = binary_cells(a, float(add), to, bool(drop00))
        yi, vi = _BINARY[measure](ai, bi, ci, di)
    elif measure in ("PR", "PLO", "PAS", "PFT"):
        yi, vi = _proportion(measure, a, float(add), to)
    elif measure in ("IRR", "IRD"):
        yi, vi, dropped = _rates(measure, a, float(add), to, bool(drop00))
    elif measure in ("COR", "ZCOR"):
        yi, vi = _correlation(measure, a)
    else:  # GEN
        yi = a["yi"]
        if "sei" in a:
            require("sei", a["sei"] < 0, "standard errors >= 0")
            vi = a["sei"] ** 2
        else:
            require("vi", a["vi"] < 0, "variances >= 0")
            vi = a["vi"]

    yi = np.array(yi, dtype=float)
    vi = np.array(vi, dtype=float)
    bad = ~(np.isfinite(yi) & np.isfinite(vi)) & ~dropped
    if bad.any():
        if to == "none":
            hint = "zero cells with to='none' give infinite values; use to='only0' (the default)"
        elif measure == "PHI":
            hint = "a 2x2 table with an empty row or column has no phi coefficient; give add > 0 to add to its cells"
        else:
            hint = "the inputs give a non-finite effect size"
        raise ArgumentError(f"to: {hint} (position(s) {positions(bad)})")
    yi[dropped] = np.nan
    vi[dropped] = np.nan
    return pd.DataFrame({"yi": yi, "vi": vi}, index=index)
