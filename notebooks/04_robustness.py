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
# # 04 · Robustness
#
# How much do the pooled estimates depend on single trials, on small-study effects, and on the
# choice of estimator (DerSimonian-Laird vs REML, z vs Hartung-Knapp-Sidik-Jonkman) or method
# profile? Leave-one-out and influence need k >= 2, GOSH k >= 3; funnel-asymmetry tests are
# shown with their caveat whenever k < 10 (too few studies to tell asymmetry from chance).

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
views.show(analysis.methods_text())

# %% [markdown]
# ## What stands out
# The results that say something: small-study signals and trim-and-fill shifts that move a
# cell's conclusion (with the caveat that below 10 studies these tests cannot tell asymmetry
# from chance).

# %%
highlights = views.robustness_highlights(analysis)
views.show("\n".join(f"* {line}" for line in highlights) if highlights else "_No small-study signal in any cell with k >= 3._")

# %% [markdown]
# ## Method profile choice
# Each cell refitted under every shipped profile: one row per cell (largest k first), one
# column per profile. "Depends on method" marks a cell whose conclusion (important benefit,
# small benefit, no clear difference, favours control) changes between them.

# %%
views.show(views.estimator_comparison(analysis))

# %% [markdown]
# ## Leave-one-out, small-study tests and trim-and-fill, per cell with k >= 2
# Largest k first; a method a cell has too few trials for says so ("k < 3").

# %%
views.show(views.robustness_table(analysis))

# %% [markdown]
# ## Leave-one-out and influence in detail, cells with k >= 3

# %%
groups = views.robustness_groups(analysis, min_k=3)
if not groups:
    views.show("_No pooled cell has three or more studies: leave-one-out details, funnel and GOSH need k >= 3._")
for key in groups:
    views.show(f"### {' · '.join(map(str, key))} (k = {analysis.results()[key].k})")
    diag = views.diagnostics_for(analysis, key)
    views.show(views.as_frame(diag["leave_one_out"]))
    views.show(views.as_frame(diag["influence"]))
    if diag["notes"]:
        views.show("\n".join(f"* _{note}_" for note in diag["notes"]))
