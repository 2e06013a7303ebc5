"""Imported once by the figure workers' ``forkserver`` (see :mod:`trialsynth.report.figures`):
matplotlib (Agg), its SVG and PDF backends and every plot the report draws, so that every worker forked
from the server starts with them loaded instead of importing them itself."""

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib import pyplot  # noqa: E402,F401
from matplotlib.backends import backend_pdf, backend_svg  # noqa: E402,F401

import trialsynth.plots.export  # noqa: E402,F401
import trialsynth.plots.forest  # noqa: E402,F401
import trialsynth.plots.funnel  # noqa: E402,F401
import trialsynth.plots.panels  # noqa: E402,F401
import trialsynth.plots.rob  # noqa: E402,F401
import trialsynth.plots.sensitivity  # noqa: E402,F401
import trialsynth.plots.time  # noqa: E402,F401
import trialsynth.report.figures  # noqa: E402,F401
