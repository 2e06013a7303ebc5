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
# ## Does the effect fade? One model of every follow-up
# The tables above pool each time window on its own. That cannot say whether the effect *changes*:
# it gives no difference between windows with a CI, it ignores that a trial measures the same
# patients at each follow-up, and the sparse later windows cannot borrow from the earlier ones.
# Here every usable follow-up of every trial goes into one model (Ishak et al. 2007): a mean per
# comparison and window, a trial's true effects correlated across windows, and the within-trial
# covariance of its estimates (comparisons sharing an arm covary exactly; follow-ups of the same
# patients through a within-person correlation ρ that no trial reports, so it is **assumed**
# (0.5) and varied from 0 to 0.9 below). Add-on comparisons (acupuncture added to usual care vs
# usual care alone) are modelled apart from head-to-head ones.
#
# **Reading the contrasts.** For pain and function a negative SMD favours acupuncture, so a
# *later minus earlier* difference above 0 means **less benefit later** (the effect fades), below
# 0 more benefit later; a CI that includes 0 means no clear change.

# %%
for outcome in ("pain", "function"):
    views.show(f"### {outcome.capitalize()}")
    views.show(views.durability_methods(analysis, outcome))
    views.show(f"#### Later minus earlier, per comparison ({outcome})")
    views.show(views.durability_contrasts_table(analysis, outcome, missing=False))
    views.show(views.durability_missing_text(analysis, outcome))
    views.show(f"#### Each window: separate pool beside the joint model ({outcome})")
    views.show(views.joint_vs_separate_table(analysis, outcome))
    views.show(f"#### How the contrasts move with the assumed within-person correlation ρ ({outcome})")
    views.show(views.rho_sensitivity_table(analysis, outcome))

# %% [markdown]
# ### Effect against weeks after treatment ended (time-response model)
# The pooled pain effect as a curve over weeks after the end of treatment, linear in
# log(1 + weeks), with its 95% CI (dark band) and prediction band (light), each trial's
# follow-ups joined by a line, the test of change over time and where the curve crosses the
# minimal important difference. The table gives the same for every curve, with the spline where
# the data allow one.

# %%
views.show(views.durability_curves_table(analysis, "pain"))
for fig in views.time_response_figures(analysis, "pain"):
    views.show(fig)

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
