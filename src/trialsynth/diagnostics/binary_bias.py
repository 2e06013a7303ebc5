"""Small-study tests for 2x2 tables: Peters' and Harbord's tests.

For log odds ratios, Egger's test on the standard error over-rejects: the log
odds ratio and its estimated standard error are correlated even without bias
(Irwig et al. 1998; Schwarzer et al. 2002). Both tests here avoid that by using
a precision measure that does not depend on the odds ratio. They are the tests
the Cochrane Handbook (chapter 13) lists for dichotomous outcomes.

* Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R. & Rushton, L. (2006).
  Comparison of two methods to detect publication bias in meta-analysis. *JAMA*
  295(6):676-680.
* Harbord, R. M., Egger, M. & Sterne, J. A. C. (2006). A modified test for
  small-study effects in meta-analyses of controlled trials with binary
  endpoints. *Statistics in Medicine* 25(20):3443-3457.

Both take the counts (``events1, n1, events2, n2``) or a result that holds them
(:func:`trialsynth.pool_mh`, :func:`trialsynth.pool_peto`), and both warn below
10 studies as the other small-study tests do.
"""

from __future__ import annotations

import numpy as np

from trialsynth.diagnostics._inputs import small_k_warning
from trialsynth.diagnostics.small_study import EggerTestResult, weighted_lm_test
from trialsynth.effects.measures import effect_sizes
from trialsynth.errors import ArgumentError

__all__ = ["harbord_test", "peters_test"]


def _tables(events1, n1, events2, n2):
    if hasattr(events1, "inputs") and n1 is None:
        inputs = events1.inputs or {}
        if "n1" not in inputs:
            raise ArgumentError("events1: the result holds no 2x2 tables (person-time data has no odds ratio)")
        events1, n1, events2, n2 = (inputs[name] for name in ("events1", "n1", "events2", "n2"))
    for name, value in (("events1", events1), ("n1", n1), ("events2", events2), ("n2", n2)):
        if value is None:
            raise ArgumentError(f"{name}: required (the 2x2 table counts)")
    cells = effect_sizes("OR", events1=events1, n1=n1, events2=events2, n2=n2)  # checks the counts
    a = np.asarray(events1, float).reshape(-1)
    c = np.asarray(events2, float).reshape(-1)
    b = np.asarray(n1, float).reshape(-1) - a
    d = np.asarray(n2, float).reshape(-1) - c
    return a, b, c, d, cells


def _informative_tables(name, events1, n1, events2, n2):
    """The cells of the tables with at least one event and one non-event overall (the others
    carry no information), the OR effect sizes of those tables, and the notes to report."""
    a, b, c, d, es = _tables(events1, n1, events2, n2)
    keep = ((a + c) > 0) & ((b + d) > 0)
    if keep.sum() < 3:
        raise ArgumentError(f"events1: {name} needs at least 3 informative tables, got {int(keep.sum())}")
    notes = []
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} table(s) with no events (or only events) in both arms left out")
    small = small_k_warning(name, int(keep.sum()))
    if small:
        notes.append(small)
    return (*(x[keep] for x in (a, b, c, d)), es["yi"].to_numpy()[keep], notes)


def _level(level):
    level = float(level)
    if not 0 < level < 100:
        raise ArgumentError(f"level: expected a percentage in (0, 100), got {level!r}")
    return level


def peters_test(events1, n1=None, events2=None, n2=None, *, level: float = 95) -> EggerTestResult:
    r"""Peters' regression test for small-study effects with odds ratios (Peters et al. 2006).

    The log odds ratio (with 1/2 added to the cells of a table with a zero cell, as
    for the meta-analysis) is regressed on the inverse of the total sample size,
    :math:`\ln OR_i = b_0 + b_1 / N_i`, by weighted least squares with weights
    :math:`1/(1/(a_i+c_i) + 1/(b_i+d_i))` (the inverse variance of the log odds
    ratio when the events are spread evenly, which does not involve the odds
    ratio) and a multiplicative residual variance; b1 is tested with t on k - 2 df.
    Tables with no events, or only events, in both arms carry no information and
    are left out.

    Matches metafor's ``regtest(model="lm", predictor="ninv")`` fitted to those
    weights.

    Returns
    -------
    EggerTestResult
        ``test="peters"``, ``predictor="ninv"``; the intercept is the limit estimate
        (the log odds ratio of an infinitely large trial).
    """
    a, b, c, d, y, notes = _informative_tables("Peters' test", events1, n1, events2, n2)
    v = 1 / (a + c) + 1 / (b + d)
    n = a + b + c + d
    return weighted_lm_test(y, v, 1 / n, level=_level(level), predictor="ninv", test="peters", notes=notes)


def harbord_test(events1, n1=None, events2=None, n2=None, *, level: float = 95) -> EggerTestResult:
    r"""Harbord's modified test for small-study effects with binary outcomes (Harbord et al. 2006).

    With the efficient score :math:`Z_i = a_i - E_i` and its (hypergeometric)
    variance :math:`V_i` for each table (those of Peto's method), Harbord regresses
    :math:`Z_i/\sqrt{V_i}` on :math:`\sqrt{V_i}` and tests the intercept: Egger's
    test with the score and information in place of the log odds ratio and its
    standard error. Equivalently, Egger's weighted regression of Peto's log odds
    ratio :math:`Z_i/V_i` on its standard error :math:`1/\sqrt{V_i}`, whose slope is
    Harbord's intercept (metafor's ``regtest(model="lm")`` on ``escalc("PETO", add=0)``
    gives the same numbers). Tables with :math:`V_i = 0` are left out.

    Returns
    -------
    EggerTestResult
        ``test="harbord"``; ``statistic``/``p_value`` test Harbord's intercept,
        ``limit_estimate`` is Peto's log odds ratio at infinite precision.
    """
    a, b, c, d, _, notes = _informative_tables("Harbord's test", events1, n1, events2, n2)
    n1_, n2_, m1, m2 = a + b, c + d, a + c, b + d
    total = n1_ + n2_
    score = a - n1_ * m1 / total
    info = n1_ * n2_ * m1 * m2 / (total**2 * (total - 1))
    return weighted_lm_test(score / info, 1 / info, 1 / np.sqrt(info), level=_level(level), predictor="sei",
                            test="harbord", notes=notes)
