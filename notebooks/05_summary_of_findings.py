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
# # 05 · Summary of findings (GRADE draft)
#
# One row per outcome, comparator and window, drafted from the data by `trialsynth.grade`:
# risk of bias from the records, inconsistency from I² and the prediction interval, imprecision
# from the CI against the minimal important difference and the required information size,
# publication bias only where k >= 10; indirectness is the reviewer's call. Certainty starts at
# high for randomised trials. **Every judgement is a draft**: edit the field (in the CSV, or with
# `trialsynth.grade.apply_overrides`, which requires a reason) and the certainty is recomputed.

# %% tags=["parameters"]
DATA_PATH = "../data/trials.csv"
PROFILE = "cochrane-2025"
WINDOWS = None
EXPORT_DIR = None  # e.g. "../reports/exports"; None: show only

# %%
from pathlib import Path

from trialsynth.data.io import atomic_write_text
from trialsynth.grade import GradeSettings, sof_table_html, sof_to_csv, sof_to_html, sof_to_markdown
from trialsynth.report import views
from trialsynth.report.analysis import run_analysis

analysis = run_analysis(DATA_PATH, PROFILE, WINDOWS)
views.show(views.status_markdown(analysis))
views.show(views.methods_markdown(analysis))

# %% [markdown]
# ## The table

# %%
from IPython.display import HTML, display

display(HTML(sof_table_html(analysis.sof)))

# %% [markdown]
# ## The rules behind each judgement

# %%
views.show("\n".join(f"* **{domain.replace('_', ' ')}**: {text}" for domain, text in GradeSettings().rules().items()))

# %% [markdown]
# ## Is more research needed? Required information size and trial sequential analysis
#
# For each cell, the **required information size** (RIS) is the number of participants needed to
# detect the MID (0.5 SD; for risk ratios a 25% relative change of the comparator arms' pooled
# risk) with two-sided alpha 0.05 and power 80% (90% beside it), divided by 1 − D² for the
# diversity of the random-effects meta-analysis (Wetterslev et al. 2009, BMC Med Res Methodol
# 9:86). GRADE imprecision above compares each cell's participants with this RIS (the optimal
# information size criterion, Guyatt et al. 2011).
#
# The **trial sequential analysis** adds the trials in order of publication and compares the
# cumulative z with Lan-DeMets O'Brien-Fleming boundaries. It is a **sensitivity analysis**: the
# Cochrane Handbook (22.3.2) advises against formal sequential methods for a review's main
# conclusions. A question counts as settled only when the boundaries (or the RIS) and the pooled
# CI against the MID agree.

# %%
from trialsynth.diagnostics.sequential import SENSITIVITY_NOTE, SPENDING_CONVENTION

views.show(views.information_table(analysis))
views.show(f"{SENSITIVITY_NOTE} {SPENDING_CONVENTION}")

# %%
for key in views.sequential_keys(analysis, outcome="pain"):
    display(views.sequential_figure(analysis, key))

# %% [markdown]
# ## Export (CSV with every field, reason and rule; Markdown; HTML)

# %%
if EXPORT_DIR:
    folder = Path(EXPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    sof_to_csv(analysis.sof, folder / "summary_of_findings.csv")
    atomic_write_text(folder / "summary_of_findings.md", sof_to_markdown(analysis.sof))
    atomic_write_text(folder / "summary_of_findings.html", sof_to_html(analysis.sof))
    print("written:", ", ".join(sorted(p.name for p in folder.glob("summary_of_findings.*"))))
else:
    print("EXPORT_DIR not set: nothing written.")
