"""What notebook 04 shows of the Bayesian pooling (issue 16): every pooled cell's Bayesian row
beside the frequentist one, the cells whose class differs, the panels, the published example."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialsynth.report import bayes_views
from trialsynth.report.analysis import run_analysis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analysis():
    return run_analysis(ROOT / "data" / "trials.csv")


def test_every_pooled_cell_has_its_bayesian_row(analysis):
    table = bayes_views.bayes_table(analysis)
    pooled = analysis.pooled
    assert len(table) == int((pooled["k"] >= 2).sum()) > 0
    assert table["k"].is_monotonic_decreasing
    for col in ("frequentist", "Bayesian (95% CrI)", "P(benefit)", "P(beyond MID)", "new trial beyond MID",
                "HN(0.5) (95% CrI)"):
        assert table[col].astype(str).str.len().gt(0).all(), col
    # ratios are shown as ratios, the prior named on every row
    rr = table[table["outcome"] == "responder"]
    assert rr["Bayesian (95% CrI)"].str.startswith("RR ").all() and rr["prior"].str.startswith("Turner 2015").all()
    smd = table[table["outcome"] != "responder"]
    assert smd["prior"].str.startswith("Rhodes 2015").all()
    # k <= 3: tau's posterior is essentially its prior, marked with * (and said in bayes_note)
    tau = table["tau: posterior (prior) median"]
    assert tau[table["k"] <= 3].str.endswith("*").all() and not tau[table["k"] > 3].str.endswith("*").any()


def test_differences_are_listed_in_words(analysis):
    text = bayes_views.bayes_differences_markdown(analysis)
    differ = analysis.pooled[analysis.pooled["bayes_class"].notna()
                             & (analysis.pooled["bayes_class"] != analysis.pooled["effect_class"])]
    if len(differ):
        assert text.count("\n* ") + 1 == len(differ) and "with Bayesian pooling" in text
    else:
        assert "same class" in text
    assert any(n.startswith("Bayesian random-effects pooling") for n in analysis.notes)


def test_panels_and_the_published_example(analysis):
    keys = bayes_views.sensitivity_cells(analysis)
    assert keys and analysis.results()[keys[0]].k == analysis.pooled["k"].max()
    fig = bayes_views.prior_sensitivity_figure(analysis, keys[0])
    assert any(t.get_text().endswith("CI / CrI") for t in fig.texts)
    fig = bayes_views.shrinkage_forest_figure(analysis, keys[0])
    ax = next(a for a in fig.axes if a.get_gid() == "forest-panel")
    assert sum((line.get_gid() or "").startswith("shrunken:") for line in ax.get_lines()) == analysis.results()[keys[0]].k
    example = bayes_views.published_example().set_index("quantity")
    assert abs(float(example.loc["tau median", "difference"])) < 1e-6
    assert abs(float(example.loc["mu median", "difference"])) < 1e-3
    assert example.loc["tau median", "printed (Röver 2020)"] == "0.3445022"
