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
# # 03 · The article's claims, checked
#
# Every claim in `evidence/claims.yaml` with the data its check reads, the rule it applies and
# the computed verdict: **supported**, **contradicted**, **mixed** or **insufficient evidence**.
# The verdicts are computed by `trialsynth.claims` (unit-tested), not written here.

# %% tags=["parameters"]
DATA_PATH = "../data/trials.csv"
PROFILE = "cochrane-2025"
WINDOWS = None
EXPORT_DIR = None

# %%
from trialsynth.claims import summarise_article
from trialsynth.report import views
from trialsynth.report.analysis import run_analysis

analysis = run_analysis(DATA_PATH, PROFILE, WINDOWS)
views.show(views.status_markdown(analysis))
views.show(views.methods_markdown(analysis))

# %% [markdown]
# ## Verdicts at a glance

# %%
views.show(views.verdict_table(analysis))

# %% [markdown]
# ## Each claim with its analysis

# %%
for claim in analysis.claims:
    views.show(f"### {claim.id}\n\n> {' '.join(claim.text.split())}\n\nCheck: `{claim.check}`")
    views.show(views.claim_card(analysis, claim.id))
    views.show(views.claim_evidence(analysis, claim))
    views.show("<details><summary>Rule applied</summary>\n\n" + views.claim_rule(claim) + "\n\n</details>")

# %% [markdown]
# ## The article's summary, reproduced or corrected

# %%
ARTICLE_SUMMARY = (
    "Acupuncture can temporarily alleviate back pain. Although its benefits usually don't last long, many people "
    "experience a worthwhile reduction in pain intensity immediately after an acupuncture session."
)
views.show(summarise_article(analysis.verdicts, analysis.pooled, outcome="pain", article_summary=ARTICLE_SUMMARY))
