r"""Study effects as RevMan 5 computes them, to re-pool a review file exactly as it was pooled.

The formulas are those of Deeks JJ, Higgins JPT. *Statistical algorithms in Review Manager 5*
(Cochrane Statistical Methods Group, August 2010; the methods of the Cochrane Handbook 5.1,
chapter 9, section 9.4). They differ from :func:`trialsynth.effects.measures.effect_sizes`
(metafor's ``escalc``) in two places:

* **SMD**: Hedges' adjusted *g* with the approximate correction and RevMan's variance,

  .. math:: g = \frac{\bar x_1 - \bar x_2}{s}\Big(1 - \frac{3}{4N - 9}\Big),\qquad
            \operatorname{var}(g) = \frac{N}{n_1 n_2} + \frac{g^2}{2(N - 3.94)},

  :math:`s` the pooled SD, :math:`N = n_1 + n_2`;
* **zero cells**: a study with a zero cell gets 1/2 added to each of its four cells, for every
  measure including the risk difference (Handbook 5.1, 9.4.4.1: "RevMan automatically adds 0.5
  to each cell of the 2x2 table for any such study"); a study with no events (or only events)
  in both arms has no estimable risk or odds ratio.

Everything else is the usual large-sample form: MD with unequal variances
:math:`s_1^2/n_1 + s_2^2/n_2`; log RR with :math:`1/a - 1/n_1 + 1/c - 1/n_2`; log OR with
:math:`1/a + 1/b + 1/c + 1/d`; RD with :math:`p_1 q_1/n_1 + p_2 q_2/n_2`; Peto's
:math:`(O - E)/V` with variance :math:`1/V` (Yusuf et al. 1985); generic inverse variance: the
entered estimate (natural log for ratio measures, Handbook 5.1, 9.4.3.2) and its SE squared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError

__all__ = ["revman5_effects", "REVMAN5_MEASURES"]

#: measures by data type
REVMAN5_MEASURES = {
    "dichotomous": ("RR", "OR", "RD", "PETO_OR"),
    "continuous": ("MD", "SMD"),
    "generic": None,  # any measure: the entered estimates
}


def _arr(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        raise ArgumentError(f"rows: missing column {name!r}")
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def revman5_effects(data_type: str, measure: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Each study's effect ``yi`` (log scale for ratios) and variance ``vi``, as RevMan 5 computes them.

    Parameters
    ----------
    data_type : {"dichotomous", "continuous", "generic"}
    measure : str
        ``RR``, ``OR``, ``RD``, ``PETO_OR`` (dichotomous), ``MD``, ``SMD`` (continuous), any for
        generic inverse variance.
    rows : DataFrame
        ``events1, n1, events2, n2`` / ``mean1, sd1, n1, mean2, sd2, n2`` / ``giv_estimate,
        giv_se`` (the columns of :data:`trialsynth.data.importers.review.ROW_COLUMNS`).

    Returns
    -------
    DataFrame
        ``yi``, ``vi``, ``estimable`` (False: not estimable, ``yi = vi = NaN``), ``corrected``
        (1/2 added to the cells), on the index of ``rows``.
    """
    if data_type not in REVMAN5_MEASURES:
        raise ArgumentError(f"data_type: expected one of {', '.join(REVMAN5_MEASURES)}, got {data_type!r}")
    allowed = REVMAN5_MEASURES[data_type]
    if allowed is not None and measure not in allowed:
        raise ArgumentError(f"measure: {data_type} data in RevMan 5 use {', '.join(allowed)}, not {measure!r}")
    k = len(rows)
    corrected = np.zeros(k, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if data_type == "dichotomous":
            e1, n1, e2, n2 = (_arr(rows, c) for c in ("events1", "n1", "events2", "n2"))
            a, b, c, d = e1, n1 - e1, e2, n2 - e2
            valid = np.isfinite(a + b + c + d) & (n1 > 0) & (n2 > 0) & (a >= 0) & (b >= 0) & (c >= 0) & (d >= 0)
            none_or_all = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
            if measure == "PETO_OR":
                n = n1 + n2
                m1, m2 = a + c, b + d
                expected = n1 * m1 / n
                v = n1 * n2 * m1 * m2 / (n**2 * (n - 1))
                ok = valid & (v > 0)
                yi, vi = (a - expected) / v, 1.0 / v
            else:
                corrected = valid & ((a == 0) | (b == 0) | (c == 0) | (d == 0))
                if measure != "RD":
                    corrected &= ~none_or_all
                a, b, c, d = (np.where(corrected, x + 0.5, x) for x in (a, b, c, d))
                m1, m2 = a + b, c + d
                if measure == "RR":
                    yi = np.log(a / m1) - np.log(c / m2)
                    vi = 1 / a - 1 / m1 + 1 / c - 1 / m2
                    ok = valid & ~none_or_all
                elif measure == "OR":
                    yi = np.log(a * d / (b * c))
                    vi = 1 / a + 1 / b + 1 / c + 1 / d
                    ok = valid & ~none_or_all
                else:
                    p1, p2 = a / m1, c / m2
                    yi = p1 - p2
                    vi = p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2
                    ok = valid & (vi > 0)
        elif data_type == "continuous":
            m1, s1, n1, m2, s2, n2 = (_arr(rows, c) for c in ("mean1", "sd1", "n1", "mean2", "sd2", "n2"))
            ok = np.isfinite(m1 + s1 + n1 + m2 + s2 + n2) & (n1 > 0) & (n2 > 0) & (s1 > 0) & (s2 > 0)
            if measure == "MD":
                yi = m1 - m2
                vi = s1**2 / n1 + s2**2 / n2
            else:
                big_n = n1 + n2
                sd = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (big_n - 2))
                yi = (m1 - m2) / sd * (1 - 3 / (4 * big_n - 9))
                vi = big_n / (n1 * n2) + yi**2 / (2 * (big_n - 3.94))
                ok &= big_n > 3.94
        else:
            yi, se = _arr(rows, "giv_estimate"), _arr(rows, "giv_se")
            vi = se**2
            ok = np.isfinite(yi) & np.isfinite(se) & (se > 0)
    ok = ok & np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    return pd.DataFrame({"yi": np.where(ok, yi, np.nan), "vi": np.where(ok, vi, np.nan), "estimable": ok,
                         "corrected": corrected & ok}, index=rows.index)
