"""Every applicable small-study and publication-bias method on one result, as one tidy frame.

:func:`small_study_summary` runs Egger's test (classic and mixed-effects, and on
``1/sqrt(n)`` when sample sizes are given), Begg's rank test, Peters' and
Harbord's tests (when the 2x2 tables are at hand), trim and fill, the
test of excess significance, the Henmi-Copas interval, the three-parameter
selection model and the fail-safe N, and says for each whether it applies to
these studies and why not. A method is *applicable* when it can be computed and
the studies are enough for it: the asymmetry tests, trim and fill, the test of
excess significance and the selection model need at least ``min_k`` studies (10:
with fewer, the tests cannot tell chance from real asymmetry; Sterne et al. 2011,
BMJ 343:d4002; Cochrane Handbook 13.3.5.4). A method that does not apply is not
computed (its numbers are NaN) unless ``compute_all=True``, so that a table built
from the frame does not show a number that should not be read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.diagnostics.binary_bias import harbord_test, peters_test
from trialsynth.diagnostics.excess_significance import excess_significance_test
from trialsynth.diagnostics.fail_safe import fail_safe_n
from trialsynth.diagnostics.henmi_copas import henmi_copas
from trialsynth.diagnostics.selection import selection_model
from trialsynth.diagnostics.small_study import egger_test, rank_test, trim_and_fill
from trialsynth.errors import ArgumentError

__all__ = ["SUMMARY_COLUMNS", "small_study_summary"]

#: Columns of :func:`small_study_summary`.
SUMMARY_COLUMNS = (
    "method", "statistic_name", "statistic", "p_value", "adjusted_estimate", "adjusted_ci_low",
    "adjusted_ci_high", "applicable", "why", "k",
)

_NAN = float("nan")


def _row(method, *, statistic_name="", statistic=_NAN, p_value=_NAN, adjusted=(_NAN, _NAN, _NAN),
         applicable=True, why="", k=0):
    return {
        "method": method, "statistic_name": statistic_name, "statistic": statistic, "p_value": p_value,
        "adjusted_estimate": adjusted[0], "adjusted_ci_low": adjusted[1], "adjusted_ci_high": adjusted[2],
        "applicable": applicable, "why": why, "k": k,
    }


def _notes(result) -> str:
    return "; ".join(getattr(result, "warnings", None) or [])


def _study_data(result, yi, vi):
    """yi, vi, the fit (or None) and the 2x2 tables if the result holds them."""
    tables = None
    inputs = getattr(result, "inputs", None)
    if isinstance(inputs, dict) and "n1" in inputs:
        tables = inputs
    if result is not None and hasattr(result, "yi"):
        y = np.asarray(result.yi, float)
        v = np.asarray(result.vi, float)
        keep = np.isfinite(y) & np.isfinite(v)  # MH/Peto: a double-zero table has no yi
        fit = result if keep.all() and getattr(result, "method", None) not in ("MH", "Peto") else None
        return y[keep], v[keep], fit, tables, keep
    if yi is None or vi is None:
        raise ArgumentError("result: give a fitted result, or yi and vi")
    y = np.asarray(yi, float)
    return y, np.asarray(vi, float), None, tables, np.ones(y.size, bool)


def small_study_summary(
    result=None,
    *,
    yi=None,
    vi=None,
    ni=None,
    events1=None,
    n1=None,
    events2=None,
    n2=None,
    alternative: str | None = None,
    min_k: int = 10,
    compute_all: bool = False,
) -> pd.DataFrame:
    """Run every applicable small-study / publication-bias method and return one tidy frame.

    Parameters
    ----------
    result : MetaResult or MHResult, optional
        A fitted meta-analysis (its method, test and level are reused). A
        Mantel-Haenszel or Peto result also supplies its 2x2 tables.
    yi, vi : array-like, optional
        Effects and variances instead of ``result``.
    ni : array-like, optional
        Total sample size per study: adds Egger's test on ``1/sqrt(n)``
        (``predictor="sqrtninv"``), the recommended form for standardised mean
        differences (Pustejovsky & Rodgers 2019).
    events1, n1, events2, n2 : array-like, optional
        The 2x2 tables (same studies, same order): adds Peters' and Harbord's tests.
    alternative : {"greater", "less"}, optional
        The direction in which significant results are assumed to be favoured, for
        the selection model; by default the sign of the pooled estimate.
    min_k : int
        Fewest studies for the asymmetry tests, trim and fill, the excess
        significance test and the selection model (default 10).
    compute_all : bool
        Compute the methods that do not apply too (``applicable`` stays False).

    Returns
    -------
    DataFrame
        One row per method, columns :data:`SUMMARY_COLUMNS`: ``statistic_name`` says
        what ``statistic`` is (t, z, Kendall's tau, LRT, O/E, N); the
        ``adjusted_*`` columns hold a bias-adjusted estimate where the method gives
        one (Egger's limit estimate, trim and fill, Henmi-Copas, selection model); ``why``
        says why a method does not apply, or else the caveats it comes with.
    """
    y, v, fit, tables, keep = _study_data(result, yi, vi)
    if tables is None and events1 is not None:
        tables = {"events1": events1, "n1": n1, "events2": events2, "n2": n2}
    k = int(y.size)
    source = fit
    data = (fit,) if fit is not None else (y, v)
    if ni is not None:
        ni = np.asarray(ni, float)[keep] if np.asarray(ni).size == keep.size else np.asarray(ni, float)
    rows = []
    enough = k >= min_k
    too_few = f"k = {k} < {min_k}: too few studies to tell chance from real asymmetry (Sterne et al. 2011)"

    def attempt(method, statistic_name, run, *, needs_k=True):
        applies = enough or not needs_k
        if not applies and not compute_all:
            rows.append(_row(method, statistic_name=statistic_name, applicable=False, why=too_few, k=k))
            return
        try:
            row = run()
        except ArgumentError as exc:
            rows.append(_row(method, statistic_name=statistic_name, applicable=False, why=str(exc), k=k))
            return
        row.update(method=method, statistic_name=statistic_name, k=row.get("k") or k)
        if not applies:
            row.update(applicable=False, why=too_few + "; " + row["why"])
        rows.append(row)

    def egger(model, predictor):
        def run():
            res = egger_test(*data, model=model, predictor=predictor, ni=ni)
            return _row("", statistic=res.statistic, p_value=res.p_value,
                        adjusted=(res.limit_estimate, res.limit_ci_low, res.limit_ci_high), why=_notes(res))
        return run

    attempt("Egger (weighted regression on SE)", "t", egger("lm", "sei"))
    attempt("Egger (mixed-effects, SE)", "z", egger("rma", "sei"))
    if ni is not None:
        attempt("Egger (mixed-effects, 1/sqrt(n))", "z", egger("rma", "sqrtninv"))

    def begg():
        res = rank_test(*data)
        return _row("", statistic=res.tau, p_value=res.p_value, why=_notes(res))

    attempt("Begg rank correlation", "Kendall's tau", begg)

    if tables is not None:
        def binary(test):
            def run():
                res = test(tables["events1"], tables["n1"], tables["events2"], tables["n2"])
                return _row("", statistic=res.statistic, p_value=res.p_value,
                            adjusted=(res.limit_estimate, res.limit_ci_low, res.limit_ci_high),
                            why=_notes(res), k=res.k)
            return run

        attempt("Peters (1/N, binary)", "t", binary(peters_test))
        attempt("Harbord (score, binary)", "t", binary(harbord_test))
    else:
        for method in ("Peters (1/N, binary)", "Harbord (score, binary)"):
            rows.append(_row(method, statistic_name="t", applicable=False, k=k,
                             why="needs the 2x2 tables (events1, n1, events2, n2)"))

    def trimfill():
        res = trim_and_fill(*data)
        return _row("", statistic=res.k0, p_value=_NAN, adjusted=(res.estimate, res.ci_low, res.ci_high),
                    why=f"{res.k0} stud(ies) imputed on the {res.side}; " + _notes(res))

    attempt("Trim and fill (L0)", "k0", trimfill)

    def tes():
        res = excess_significance_test(*data)
        return _row("", statistic=res.ratio, p_value=res.p_value,
                    why=f"O = {res.observed}, E = {res.expected:.2f} ({res.test} test); " + _notes(res))

    attempt("Excess significance", "O/E", tes)

    def hc():
        res = henmi_copas(*data)
        return _row("", adjusted=(res.estimate, res.ci_low, res.ci_high), why=_notes(res))

    attempt("Henmi-Copas interval", "", hc, needs_k=False)

    def sel():
        direction = alternative
        if direction is None:
            centre = source.estimate if source is not None else float(np.sum(y / v) / np.sum(1 / v))
            direction = "greater" if centre >= 0 else "less"
        res = selection_model(*data, alternative=direction)
        return _row("", statistic=res.lrt, p_value=res.lrt_p_value,
                    adjusted=(res.estimate, res.ci_low, res.ci_high),
                    why=f"delta = {res.delta:.3g} ({direction}; {res.counts[0]} vs {res.counts[1]} p-values); "
                    + _notes(res))

    attempt("Selection model (3PSM, p = .025)", "LRT", sel)

    for kind in ("Rosenthal", "Rosenberg"):
        def fsn(kind=kind):
            res = fail_safe_n(y, v, type=kind)
            return _row("", statistic=res.fail_safe_n, p_value=res.p_value if res.p_value is not None else _NAN,
                        why=_notes(res))

        attempt(f"Fail-safe N ({kind})", "N", fsn, needs_k=False)

    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    frame["applicable"] = frame["applicable"].astype(bool)
    frame.attrs.update({"k": k, "min_k": min_k, "measure": getattr(result, "measure", None)})
    for column in ("statistic", "p_value", "adjusted_estimate", "adjusted_ci_low", "adjusted_ci_high"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame
