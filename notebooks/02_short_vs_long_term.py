# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Short- versus long-term effects, by comparator
#
# Pooled effects on pain and function, separately for each comparison (acupuncture vs sham, vs no
# treatment / waiting list, vs usual care, and acupuncture *added to* usual care vs usual care
# alone: a different question) and each time window after treatment ended, with heterogeneity and
# prediction intervals, set beside the published pooled estimates. This is where the article's
# "mixed results" become visible: the answer depends on **what acupuncture is compared with**
# and **how long after treatment** one looks.

# %% tags=["parameters"]
DATA_PATH = "../data/trials.csv"
PROFILE = "cochrane-2025"
WINDOWS = None
EXPORT_DIR = None

# %%
# %matplotlib inline
from trialsynth.report import views
from trialsynth.report.analysis import run_analysis

analysis = run_analysis(DATA_PATH, PROFILE, WINDOWS)
views.show(views.status_markdown(analysis))
views.show(views.methods_markdown(analysis))

# %% [markdown]
# ## Pooled estimates
# Negative SMDs favour acupuncture; risk ratios above 1 favour acupuncture (more responders).
# "Depends on method" marks a cell whose conclusion changes under another shipped method profile
# (the never-narrower HKSJ variant or RevMan 5's DerSimonian-Laird) or with Bayesian pooling;
# "Sensitive" one whose conclusion changes in a sensitivity analysis (notebook 04). The footnotes
# say how.

# %%
for outcome in ("pain", "function", "responder"):
    table = views.pooled_view(analysis, outcome)
    if len(table.footnotes) or len(views.pooled_table(analysis, outcome)):
        views.show(f"### {outcome.capitalize()}")
        views.show(table)

# %% [markdown]
# ## Forest plots: every window of a comparison on one axis

# %%
from trialsynth.report import figures  # the report's figure builder: same population, same pictures

jobs = figures.comparator_jobs(analysis)
for job in jobs:
    views.show(figures.draw(job))
if not jobs:
    views.show("_No pooled group to draw: see the notes at the top._")

# %% [markdown]
# ## Effect against weeks after treatment ended

# %%
for job in figures.figure_jobs(analysis, ("effect_by_time",)):
    views.show(figures.draw(job))

# %% [markdown]
# ## Heterogeneity and prediction intervals
# The prediction interval is where the effect of a new trial like these would be expected to fall;
# a PI that crosses zero while the CI does not means the benefit is not consistent across settings.

# %%
views.show(views.heterogeneity_table(analysis))

# %% [markdown]
# ## Published pooled estimates beside ours

# %%
views.show(views.reviews_beside_ours(analysis))

# %% [markdown]
# ## Where the "mixed results" come from
# Each cell is the class of the pooled pain effect: an important benefit (beyond the minimal
# important difference), a small benefit (clear but below it), no clear difference, or no data.
# Read down a column to compare comparators, across a row to see whether an effect lasts.

# %%
views.show(views.evidence_grid_figure(analysis, "pain"))
mixed = analysis.verdicts[analysis.verdicts["check"] == "mixed_results"] if len(analysis.verdicts) else analysis.verdicts
for claim_id in mixed["claim_id"] if len(mixed) else []:
    views.show(views.claim_card(analysis, claim_id))
