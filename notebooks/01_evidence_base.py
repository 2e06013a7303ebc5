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
# # 01 · The evidence base
#
# What is in `data/trials.csv`: the studies, their comparators and conditions, the time windows
# their follow-ups fall in, their risk of bias, the shape of each row's numbers (arm-level
# continuous, arm-level binary, contrast, test-only) and where every number comes from.
# Everything below is computed by the `trialsynth` package; this notebook only displays it.

# %% tags=["parameters"]
DATA_PATH = "../data/trials.csv"  # the trial records
PROFILE = "cochrane-2025"  # method profile: cochrane-2025, metafor-default, revman5-legacy
WINDOWS = None  # None = Cochrane Back and Neck windows; or {"name": (lower, upper, target), ...} in weeks after treatment
EXPORT_DIR = None  # where notebooks that export files write them (None: no export)

# %%
from trialsynth.report import views
from trialsynth.report.analysis import run_analysis

analysis = run_analysis(DATA_PATH, PROFILE, WINDOWS)
views.show(views.status_markdown(analysis))

# %% [markdown]
# ## Methods

# %%
views.show(views.methods_markdown(analysis))

# %% [markdown]
# ## Studies

# %%
views.show(views.studies_table(analysis))

# %% [markdown]
# ## Data shape of each row
# Arm-level rows give means and dispersion (or events) per arm; contrast rows a reported
# between-group effect; test-only rows nothing but a p-value with the arm sizes and a direction.

# %%
views.show(views.shape_table(analysis))

# %% [markdown]
# ## Rows per comparison and time window
# Windows are defined in weeks after the last session; each trial contributes at most one row per
# outcome, comparator and window to a pooled estimate.

# %%
views.show(views.window_table(analysis))
views.show("\n".join(f"* **{w.name}**: {w.describe()}; {w.definition}" for w in analysis.windows_used()))

# %% [markdown]
# ## Effect sizes and how each was derived

# %%
views.show(views.effects_table(analysis))

# %% [markdown]
# ## Sources
# Every row names its evidence record (`evidence/<source_id>.yaml`) and the verbatim quotes that print its numbers.

# %%
views.show(views.sources_table(analysis))
