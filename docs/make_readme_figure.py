"""Draw the README's picture: pain by comparator, immediately after treatment and later.

Run from the repository root: ``python docs/make_readme_figure.py``. Thin: the package does the
statistics (``run_analysis``) and the drawing (``forest_plot``).
"""

import warnings

from trialsynth.plots import forest_plot, save_figure
from trialsynth.report.analysis import run_analysis

LABELS = {"sham": "vs sham", "no_treatment": "vs no treatment / waiting list",
          "usual_care": "vs usual care", "active": "vs active treatment"}
WINDOWS = {"immediate": "immediately after", "short": "up to 3 months after",
           "intermediate": "3-12 months after", "long": "12 months or more after"}

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    analysis = run_analysis("data/trials.csv", profile="cochrane-2025")
    sections = {}
    for (outcome, comparator, window), result in sorted(
            analysis.grouped.results.items(),
            key=lambda kv: (list(LABELS).index(kv[0][1]), list(WINDOWS).index(kv[0][2]))):
        if outcome == "pain":
            sections[f"Pain {LABELS[comparator]}, {WINDOWS[window]} treatment"] = result
    fig = forest_plot(sections, title="Acupuncture for low back pain: pain (SMD), by comparator and follow-up")
    save_figure(fig, "docs/forest", formats=("png",), dpi=110)
