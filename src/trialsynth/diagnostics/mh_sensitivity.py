"""Leave-one-out and cumulative analyses that refit Mantel-Haenszel and Peto models.

:func:`trialsynth.leave_one_out` and :func:`trialsynth.cumulative` hand a
:class:`trialsynth.pooling.mantel_haenszel.MHResult` to these functions, which
refit the *same* count-based model (method, measure, level, continuity
correction) on each subset of the 2x2 tables or person-time data, as metafor
3.8's ``leave1out`` and ``cumul`` do for ``rma.mh`` and ``rma.peto`` objects.
Refitting inverse-variance models to the per-study ``yi``/``vi`` instead would
change the estimator and drop the tables with zero cells the MH and Peto
methods are chosen for.

The frames have the columns of the inverse-variance versions, with ``tau2 = 0``
(common-effect models). A subset whose model has no estimate (for example an MH
odds ratio of tables with events in one arm only) gets NaN, with the reason in
``frame.attrs["notes"]`` (metafor gives NA).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError

__all__ = ["COLUMNS", "cumulative_mh", "is_count_model", "leave_one_out_mh"]

_FIT_COLUMNS = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "q", "q_p_value", "tau2", "i2", "h2"]
#: Columns after the first (``omitted`` or ``added``), as the inverse-variance frames.
COLUMNS = ["k", *_FIT_COLUMNS]


def is_count_model(result) -> bool:
    """True for a Mantel-Haenszel or Peto result that can be refitted from its counts."""
    return callable(getattr(result, "refit", None)) and getattr(result, "method", None) in ("MH", "Peto")


def _check(result, options: dict) -> None:
    given = sorted(name for name, value in options.items() if value is not None)
    if given:
        name = "Mantel-Haenszel" if result.method == "MH" else result.method
        raise ArgumentError(
            f"{given[0]}: a {name} result is refitted from its counts with its own "
            f"method, measure and level; {', '.join(given)} cannot be changed here (fit again instead)"
        )


def _row(result, positions: np.ndarray, notes: dict, label: str) -> dict:
    try:
        fit = result.refit(positions)
    except ArgumentError as exc:
        notes[label] = str(exc)
        return {"k": int(positions.size), **{c: float("nan") for c in _FIT_COLUMNS}}
    row = {c: float(getattr(fit, c)) for c in _FIT_COLUMNS}
    row["k"] = fit.k
    return row


def leave_one_out_mh(result, **options) -> pd.DataFrame:
    """Refit a Mantel-Haenszel or Peto model without each study in turn.

    Parameters
    ----------
    result : MHResult
        From :func:`trialsynth.pool_mh` or :func:`trialsynth.pool_peto`.

    Returns
    -------
    DataFrame
        One row per omitted study, in input order: ``omitted``, ``k``, ``estimate,
        se, statistic, p_value, ci_low, ci_high, q, q_p_value, tau2, i2, h2``.
    """
    _check(result, options)
    if result.k < 2:
        raise ArgumentError(f"yi: leave-one-out needs at least 2 studies, got k = {result.k}")
    labels = result._labels()
    notes: dict[str, str] = {}
    everyone = np.arange(result.k)
    rows = [{"omitted": labels[i], **_row(result, everyone[everyone != i], notes, labels[i])} for i in range(result.k)]
    frame = pd.DataFrame(rows, columns=["omitted", *COLUMNS])
    frame.attrs.update({"method": result.method, "measure": result.measure, "notes": notes})
    return frame


def cumulative_mh(result, index: np.ndarray, **options) -> pd.DataFrame:
    """Refit a Mantel-Haenszel or Peto model as studies are added in the order ``index``.

    Parameters
    ----------
    result : MHResult
    index : ndarray of int
        The positions of the studies in the order they are added (a permutation).

    Returns
    -------
    DataFrame
        One row per step: ``added`` (label), ``k``, and the fit of the studies so far.
    """
    _check(result, options)
    labels = result._labels()
    notes: dict[str, str] = {}
    rows = []
    for step in range(1, result.k + 1):
        label = labels[index[step - 1]]
        rows.append({"added": label, **_row(result, np.asarray(index[:step], int), notes, label)})
    frame = pd.DataFrame(rows, columns=["added", *COLUMNS])
    frame.attrs.update({"method": result.method, "measure": result.measure, "notes": notes})
    return frame
