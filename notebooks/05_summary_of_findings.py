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
# from the CI against the minimal important difference and the optimal information size,
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
views.show(analysis.methods_text())

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
