"""Figure of a coverage study: coverage against k, one panel per interval, a line per tau2.

Draws the table :func:`trialsynth.simulation.coverage_study` returned; computes nothing.
"""

from __future__ import annotations

from io import BytesIO

import pandas as pd
from matplotlib.figure import Figure

from trialsynth.errors import ArgumentError

__all__ = ["plot_coverage", "CoverageFigure"]

_TITLES = {
    "z": "CI, z test",
    "knha": "CI, Hartung-Knapp (HKSJ)",
    "pi": "Prediction interval (z fit)",
    "pi_knha": "Prediction interval (HKSJ fit)",
}
_NEEDED = {"k", "tau2", "study_size", "method", "interval", "coverage", "mc_se", "nominal"}


class CoverageFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter without importing pyplot."""

    def _repr_png_(self) -> bytes:
        buffer = BytesIO()
        self.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()


def plot_coverage(frame: pd.DataFrame, *, method: str | None = None, study_size: str | None = None):
    """Coverage (with +-2 Monte Carlo standard errors) against the number of studies.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table returned by ``coverage_study``.
    method : str, optional
        Which heterogeneity estimator to draw (default: the first in the table).
    study_size : str, optional
        Which study-size scenario to draw (default: the first in the table).

    Returns
    -------
    matplotlib.figure.Figure
        Displayed as a PNG by Jupyter; ``fig.savefig(...)`` writes it to a file.
    """
    if not isinstance(frame, pd.DataFrame) or not _NEEDED <= set(frame.columns):
        raise ArgumentError(f"frame: expected the table coverage_study returns (columns {sorted(_NEEDED)})")
    if frame.empty:
        raise ArgumentError("frame: the coverage table is empty")
    method = frame["method"].iloc[0] if method is None else method
    study_size = frame["study_size"].iloc[0] if study_size is None else study_size
    rows = frame[(frame["method"] == method) & (frame["study_size"] == study_size)]
    if rows.empty:
        raise ArgumentError(f"method, study_size: no rows for method={method!r}, study_size={study_size!r}")
    intervals = list(dict.fromkeys(rows["interval"]))
    fig = CoverageFigure(figsize=(3.2 * len(intervals), 3.2), layout="constrained")
    axes = fig.subplots(1, len(intervals), sharey=True, squeeze=False)[0]
    nominal = float(rows["nominal"].iloc[0])
    for ax, interval in zip(axes, intervals):
        part = rows[rows["interval"] == interval]
        for tau2, line in part.groupby("tau2", sort=True):
            line = line.sort_values("k")
            ax.errorbar(line["k"], line["coverage"], yerr=2 * line["mc_se"], marker="o", ms=4, capsize=2,
                        label=f"tau\u00b2 = {tau2:g}")
        ax.axhline(nominal, color="0.3", lw=0.8, ls="--")
        ax.set_title(_TITLES.get(interval, interval), fontsize=10)
        ax.set_xlabel("studies (k)")
        ax.set_xscale("log")
        ks = sorted(part["k"].unique())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
    axes[0].set_ylabel(f"coverage (nominal {nominal:.0%})")
    axes[-1].legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(f"{method}, arm sizes {study_size}", fontsize=10)
    return fig
