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
# How much do the pooled estimates depend on the evidence a reviewer could reasonably leave out
# (sensitivity analyses of every cell), on single trials, on small-study effects, and on the
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
views.show(views.methods_markdown(analysis))

# %% [markdown]
# ## Sensitivity analyses of every cell
# Each pooled cell is pooled again without the evidence whose inclusion is a judgement call:
# without effects approximated from p-values, without trials at high or unclear risk of bias,
# chronic low back pain only, one kind of sham at a time (penetrating, non-penetrating, placebo
# TENS, where a quote states it), and with the rows the pooling rules set apart put back. "="
# means the analysis leaves every trial of the cell in; ▲ marks a conclusion class that changes.

# %%
views.show(views.sensitivity_summary_line(analysis))
views.show(views.sensitivity_view(analysis))

# %% [markdown]
# ## Single sessions: a subgroup, not part of the pools
# A trial of one needling, measured minutes later (Inoue 2006), answers a different question from
# the end of a 4-12-week course, so it is not pooled with courses (pooling rule 4). Here it is set
# beside them as a subgroup, with the test for subgroup differences.

# %%
subgroups = views.single_session_subgroups(analysis)
if not subgroups:
    views.show("_No cell holds both single-session trials and courses of treatment._")
for cell, frame, test in subgroups:
    views.show(f"### {cell}")
    views.show(frame)
    views.show(test)

# %% [markdown]
# ## Rows the pooling rules set apart
# Every row left out of its cell by a rule (single session, change and final values not mixed in
# one SMD, a baseline imbalance that reverses a final-value result), with its own effect.

# %%
views.show(views.set_apart_table(analysis))

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
# ## Small-study effects and publication bias: every method, cells with k >= 3
# Each method the engine offers (Egger, Begg, Peters, Harbord, trim-and-fill, the test of excess
# significance, the Henmi-Copas interval, the three-parameter selection model, fail-safe N), with
# whether it applies to the cell and the warning it needs. With fewer than 10 trials the tests
# cannot tell asymmetry from chance (Sterne et al. 2011), so they are not run.

# %%
for key in views.robustness_groups(analysis, min_k=3):
    views.show(f"### {views.cell_label(key)} (k = {analysis.results()[key].k})")
    views.show(views.small_study_view(analysis, key))

# %% [markdown]
# ## Leave-one-out and influence in detail, cells with k >= 3

# %%
groups = views.robustness_groups(analysis, min_k=3)
if not groups:
    views.show("_No pooled cell has three or more studies: leave-one-out details, funnel and GOSH need k >= 3._")
for key in groups:
    views.show(f"### {views.cell_label(key)} (k = {analysis.results()[key].k})")
    diag = views.diagnostics_for(analysis, key)
    views.show(views.as_frame(diag["leave_one_out"]))
    views.show(views.as_frame(diag["influence"]))
    if diag["notes"]:
        views.show("\n".join(f"* _{note}_" for note in diag["notes"]))

# %% [markdown]
# ## Funnel plots (with trim-and-fill) and GOSH plots, where k allows
# Drawn for every group with at least three studies, by the report's figure builder. With fewer
# than 10 studies a funnel plot cannot tell asymmetry from chance (Cochrane Handbook 13.3.5.4):
# read it as a description of these few trials, not as a test.

# %%
from trialsynth.report import figures

plan = figures.plan_figures(analysis, ("funnel", "gosh"))
for job in plan.jobs:
    views.show(figures.draw(job))
    k = analysis.results()[job.key].k
    if job.kind == "funnel" and k < 10:
        views.show(f"_k = {k} < 10: too few studies to tell funnel asymmetry from chance._")
if plan.skipped:
    views.show("\n".join(f"* {line}." for line in plan.skipped_summary()))

# %% [markdown]
# ## Bayesian pooling: few trials, the heterogeneity's uncertainty included
# With two to six trials a cell's between-trial heterogeneity tau is barely estimable, and the
# frequentist interval depends on how it is handled (HKSJ can be narrower than Wald with k = 2).
# A Bayesian random-effects analysis (`trialsynth.pool_bayes`, exact numerical integration over
# tau; Röver 2020, *J Stat Softw* 93(6)) carries tau's uncertainty into the answer. Default
# prior on tau: Rhodes et al. 2015 (SMD; "general physical health ... pain and quality of
# life/functioning", non-pharmacological) or Turner et al. 2015 (responder ratios; pain,
# non-pharmacological vs placebo/control), both a secondary transcription of the papers'
# tables not yet checked against them; the half-normal(0.5) prior as the sensitivity
# alternative; a flat prior on the mean. Probabilities are posterior probabilities of the mean
# effect (P(benefit), P(beyond the MID)) and the predictive probability that a new trial's true
# effect is beyond the MID. `*`: three trials or fewer, where the posterior of tau is
# essentially its prior, so the width of the interval reflects the prior more than the trials.
# Effects are shown as the report shows them: an SMD below 0 and a responder risk ratio above 1
# favour acupuncture. The same probabilities, in words, are in each cell's GRADE imprecision
# reason (notebook 05) and in the claims' evidence lines (notebook 03).

# %%
from trialsynth.report import bayes_views

views.show(bayes_views.bayes_table(analysis))

# %% [markdown]
# ### Where the Bayesian answer differs in class from the frequentist one

# %%
views.show(bayes_views.bayes_differences_markdown(analysis))

# %% [markdown]
# ### Prior sensitivity (at least three priors on tau)
# The largest cell and every cell whose conclusion depends on the method. Each panel: the
# frequentist fit, then the posterior of the mean effect under the default prior, half-normal
# 0.5 and 1.0 and half-Cauchy 0.5.

# %%
for key in bayes_views.sensitivity_cells(analysis):
    views.show(bayes_views.prior_sensitivity_figure(analysis, key))

# %% [markdown]
# ### Shrunken trial estimates beside the observed ones (the largest cell)

# %%
largest = views.robustness_groups(analysis, min_k=2)
if largest:
    views.show(bayes_views.shrinkage_forest_figure(analysis, largest[0]))

# %% [markdown]
# ### Check against the published example
# Röver 2020 (section 3, pp. 21-28): six trials of IL-2 receptor antagonists after paediatric
# liver transplantation (Crins et al. 2014), log odds ratio of acute rejection, half-normal(0.5)
# on tau, normal(0, 4) on the mean. tau agrees to 1e-6 (the 95% upper limit to 1.1e-5: the
# paper's optimiser stops a few 1e-6 of probability short of the boundary); mu and the new
# trial's interval within 2e-3, the size of the paper's discrete mixture approximation.

# %%
views.show(bayes_views.published_example())
