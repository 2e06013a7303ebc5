r"""Converting between odds ratios and standardised mean differences.

The Cochrane Handbook (version 6.4, section 10.6) combines trials that report a
dichotomised outcome (responders) with trials that report the continuous one by
re-expressing one as the other: if the continuous outcome has a logistic
distribution in each group, ``ln(OR) = pi/sqrt(3) x SMD`` (about 1.81 x SMD;
Chinn 2000, *Stat Med* 19:3127-3131; Hasselblad & Hedges 1995, *Psychol Bull*
117:167-178); if it is normal, ``ln(OR)`` is close to ``1.65 x SMD`` (the Cox
(1970) transformation, evaluated by Sanchez-Meca, Marin-Martinez &
Chacon-Moscoso 2003, *Psychol Methods* 8:448-467, as ``d_Cox = ln(OR)/1.65``).

Used through :func:`trialsynth.effect_sizes`, with metafor's names:

* ``OR2DL``, ``OR2DN``: a 2x2 table (``events1, n1, events2, n2``) to an SMD,
  assuming logistic or normal distributions; the zero-cell rule of ``OR`` applies;
* ``D2ORL``, ``D2ORN``: group means and SDs (``n1, mean1, sd1, n2, mean2, sd2``) to
  a log odds ratio, from Cohen's *d* (the SMD without Hedges' correction, as
  metafor does) and its large-sample variance.

The variance is scaled by the square of the same factor.
"""

from __future__ import annotations

import numpy as np

from trialsynth.effects._common import MeasureSpec, binary_cells, cohens_d, log_odds_ratio

__all__ = ["BINARY_CONTINUOUS_MEASURES", "LOGISTIC_FACTOR", "NORMAL_FACTOR"]

#: ln(OR) per SD unit when the outcome is logistic in each group: pi/sqrt(3) (Chinn 2000).
LOGISTIC_FACTOR: float = float(np.pi / np.sqrt(3.0))
#: ln(OR) per SD unit under normality, Cox's 1.65 (Sanchez-Meca et al. 2003).
NORMAL_FACTOR: float = 1.65


def _or_to_d(factor):
    def compute(a, *, add, to, drop00, vtype):
        ai, bi, ci, di, dropped = binary_cells(a, add, to, drop00)
        log_or, var = log_odds_ratio(ai, bi, ci, di)
        return log_or / factor, var / factor**2, dropped

    compute.__doc__ = f"ln(OR) / {factor:.6g} and var(ln OR) / {factor:.6g}^2 (module notes)."
    return compute


def _d_to_or(factor):
    def compute(a, *, add, to, drop00, vtype):
        d, _ = cohens_d(a)
        n1, n2 = a["n1"], a["n2"]
        var_d = 1.0 / n1 + 1.0 / n2 + d**2 / (2.0 * (n1 + n2))  # Hedges & Olkin 1985, eq. 5.15
        return factor * d, factor**2 * var_d, None

    compute.__doc__ = f"{factor:.6g} d and {factor:.6g}^2 var(d), d Cohen's d (module notes)."
    return compute


_TABLE = ("events1", "n1", "events2", "n2")
_MEANS = ("n1", "mean1", "sd1", "n2", "mean2", "sd2")

#: Binary <-> continuous conversions for :func:`trialsynth.effect_sizes`.
BINARY_CONTINUOUS_MEASURES: dict[str, MeasureSpec] = {
    "OR2DN": MeasureSpec(_TABLE, _or_to_d(NORMAL_FACTOR)),
    "OR2DL": MeasureSpec(_TABLE, _or_to_d(LOGISTIC_FACTOR)),
    "D2ORN": MeasureSpec(_MEANS, _d_to_or(NORMAL_FACTOR)),
    "D2ORL": MeasureSpec(_MEANS, _d_to_or(LOGISTIC_FACTOR)),
}
