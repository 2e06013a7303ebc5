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
print(analysis.methods_text())

# %% [markdown]
# ## Estimator and profile choice

# %%
views.show(views.estimator_comparison(analysis))

# %% [markdown]
# ## Leave-one-out, influence, small-study effects and GOSH, per group with k >= 2

# %%
groups = views.robustness_groups(analysis, min_k=2)
if not groups:
    views.show("_No pooled group has two or more studies: nothing to test for robustness yet._")
for key in groups:
    views.show(f"### {' · '.join(map(str, key))} (k = {analysis.results()[key].k})")
    diag = views.diagnostics_for(analysis, key)
    for name in ("leave_one_out", "influence", "egger_test", "rank_test", "trim_and_fill", "gosh"):
        views.show(f"**{name.replace('_', ' ')}**")
        views.show(views.as_frame(diag[name]))
    if diag["small_study_caveat"]:
        views.show(f"_Caveat: {diag['small_study_caveat']}._")
