"""Imported once by the figure workers' ``forkserver`` (see :mod:`trialsynth.report.figures`):
matplotlib (Agg), its SVG and PDF backends and the forest plot, so that every worker forked
from the server starts with them loaded instead of importing them itself."""

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib import pyplot  # noqa: E402,F401
from matplotlib.backends import backend_pdf, backend_svg  # noqa: E402,F401

import trialsynth.plots.export  # noqa: E402,F401
import trialsynth.plots.forest  # noqa: E402,F401
import trialsynth.report.figures  # noqa: E402,F401
