"""Figures of Bayesian pooling: the prior-sensitivity panel.

:func:`prior_sensitivity_plot` draws the table of
:func:`trialsynth.diagnostics.bayes_cells.prior_sensitivity` (one cell under several priors on
tau) as a forest-style panel: one row per prior, the posterior median of mu and its credible
interval, with the posterior median of tau and the probabilities of benefit beside it, and the
frequentist fit as the reference row. The shrunken trial estimates are drawn by
:func:`trialsynth.forest_plot` (``shrinkage=``). Nothing is computed here.
"""

from __future__ import annotations


import pandas as pd

from trialsynth.display import format_probability as _pct
from trialsynth.errors import ArgumentError
from trialsynth.plots.forest import forest_plot

__all__ = ["prior_sensitivity_plot"]

_NEEDED = ("prior", "estimate", "ci_low", "ci_high")


def prior_sensitivity_plot(table: pd.DataFrame, *, measure: str | None = None, style="cochrane", title: str | None = None,
                           footnote: str | None = None, **kwargs):
    """Forest-style panel of one cell's posterior under several tau priors.

    Parameters
    ----------
    table : DataFrame
        :func:`~trialsynth.diagnostics.bayes_cells.prior_sensitivity`: columns ``prior,
        estimate, ci_low, ci_high`` (analysis scale; log for ratios) and, when present,
        ``tau_median, p_benefit, p_beyond_mid, p_new_beyond_mid, prior_role, tau_prior, level``.
    measure : str, optional
        The effect measure (ratios get a log axis); default the table's ``measure`` column.
    style, title, footnote, **kwargs
        As :func:`trialsynth.forest_plot` (``favours``, ``xlim``, ``font`` ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in _NEEDED):
        raise ArgumentError("table: expected the DataFrame of trialsynth.diagnostics.bayes_cells.prior_sensitivity "
                            f"(columns {', '.join(_NEEDED)})")
    if len(table) < 3:
        raise ArgumentError(f"table: a prior-sensitivity panel needs at least three rows, got {len(table)}")
    frame = table.reset_index(drop=True).copy()
    if measure is None and "measure" in frame.columns:
        measure = next((m for m in frame["measure"] if isinstance(m, str) and m), None)
    frame["label"] = [str(p) for p in frame["prior"]]
    columns = {}
    if "tau_median" in frame.columns:
        frame["__tau"] = [f"{v:.2f}" if pd.notna(v) else "" for v in frame["tau_median"]]
        columns["\u03c4 (median)"] = "__tau"
    for col, head in (("p_benefit", "P(benefit)"), ("p_beyond_mid", "P(> MID)"), ("p_new_beyond_mid", "New trial > MID")):
        if col in frame.columns:
            frame[f"__{col}"] = [_pct(v) for v in frame[col]]
            columns[head] = f"__{col}"
    if footnote is None:
        level = float(frame["level"].dropna().iloc[0]) if "level" in frame.columns and frame["level"].notna().any() else 95
        priors = "; ".join(str(r["tau_prior"]) if str(r["tau_prior"]).startswith(str(r["prior"]))
                           else f"{r['prior']}: {r['tau_prior']}" for r in frame.to_dict("records")
                           if isinstance(r.get("tau_prior"), str) and r.get("tau_prior"))
        footnote = (f"Posterior median of the mean effect and its {level:g}% shortest credible interval under each prior "
                    "on tau (flat prior on the mean); the first row is the frequentist analysis (its confidence interval, "
                    "and its estimate of tau). P(benefit): posterior probability that the mean effect favours the "
                    "intervention; P(> MID): that it exceeds the minimal important difference in that direction; New "
                    "trial > MID: that a new trial's true effect does. " + (f"Priors: {priors}." if priors else ""))
    if "favours" not in kwargs:
        from trialsynth.effects.scales import is_ratio

        # continuous effects are oriented so that negative favours acupuncture; ratios above 1 do
        kwargs["favours"] = ("Favours control", "Favours acupuncture") if is_ratio(measure) else \
            ("Favours acupuncture", "Favours control")
    fig = forest_plot(frame[["label", "estimate", "ci_low", "ci_high", *columns.values()]], None, measure=measure,
                      style=style, columns=columns, study_header="Prior on \u03c4", show_arms=False, show_weights=False,
                      show_prediction=False, footnote=footnote, title=title, **kwargs)
    # the rows after the first are credible intervals: say so in the interval headings
    for text in fig.texts:
        if text.get_gid() in ("header:effect", "header:panel-sub") and text.get_text().endswith("% CI"):
            text.set_text(text.get_text() + " / CrI")
    return fig
