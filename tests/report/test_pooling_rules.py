"""Pool what belongs together (issue 13, item 2): the rules on the shipped data and on small
synthetic tables, end to end through the stages, the GRADE SoF, the claims, the figures, the
change report and the front page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialsynth.data.cells import CELL_KEY, cell_label, comparison_label
from trialsynth.diagnostics.cell_sensitivity import SINGLE_SESSION_REASON
from trialsynth.effects.value_types import BASELINE_REASON, value_type_of
from trialsynth.report.analysis import run_analysis
from trialsynth.report.stages import compute_effects, load_trials_stage, pool_cells

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "trials.csv"


@pytest.fixture(scope="module")
def an():
    return run_analysis(DATA)


def rows_of(an, key) -> pd.DataFrame:
    m = pd.Series(True, index=an.selected.index)
    for c, v in zip(CELL_KEY, key):
        m &= an.selected[c].astype(object).map(str) == str(v)
    return an.selected[m]


# --------------------------------------------------------------------------- rule 1: add-on


def test_add_on_is_part_of_every_cell_key(an):
    assert tuple(an.pooled.columns[:4]) == CELL_KEY
    for key in an.results():
        assert rows_of(an, key)["add_on"].nunique() == 1, key  # no cell mixes the two questions
    head = an.result("pain", "usual_care", "intermediate", add_on=False)
    addon = an.result("pain", "usual_care", "intermediate", add_on=True)
    assert "Haake2007" in head.labels and "Thomas2006" not in head.labels  # GERAC head to head
    assert "Thomas2006" in addon.labels and "Haake2007" not in addon.labels  # acupuncture + usual care
    with pytest.raises(Exception, match="add_on=True or add_on=False"):
        an.result("pain", "usual_care", "intermediate")
    # the add-on to exercise is an add-on too
    hunter = [k for k in an.results() if "Hunter2012" in an.results()[k].labels]
    assert hunter and all(k[1] == "no_treatment" and bool(k[2]) for k in hunter)


def test_cells_are_named_in_words_everywhere(an):
    assert cell_label(("pain", "usual_care", True, "intermediate")) == "Pain: acupuncture + usual care vs usual care, intermediate term"
    assert comparison_label("usual_care", False) == "acupuncture vs usual care"
    assert comparison_label("no_treatment", True) == "acupuncture + other care vs other care alone"
    sof = an.sof[(an.sof["outcome"] == "pain") & (an.sof["comparator_class"] == "usual_care")
                 & (an.sof["window"] == "intermediate")]
    assert sorted(sof["add_on"].astype(bool)) == [False, True]
    from trialsynth.grade.sof import sof_display

    shown = sof_display(sof).frame["Outcome"].tolist()
    assert "Pain: acupuncture + usual care vs usual care, intermediate term" in shown
    assert "Pain: acupuncture vs usual care, intermediate term" in shown
    # the evidence grid and the pattern have a row per comparison
    from trialsynth.claims import evidence_grid, evidence_pattern

    pattern = evidence_pattern(an.pooled, outcome="pain")
    assert {"acupuncture vs usual care", "acupuncture + usual care vs usual care"} <= set(pattern["comparison"])
    grid = evidence_grid(an.pooled, outcome="pain")
    assert len(grid) == 4 * len(pattern)
    # figure jobs: an add-on cell has its own file and title
    from trialsynth.report.figures import figure_jobs

    jobs = {j.stem: j for j in figure_jobs(an)}
    assert "forest_pain_usual_care_addon_intermediate" in jobs and "forest_pain_usual_care_intermediate" in jobs
    assert jobs["forest_pain_usual_care_addon_intermediate"].title.startswith("Pain: acupuncture + usual care vs usual care")
    # the change report keys the two cells apart
    from trialsynth.report.changes import make_state

    keys = set(make_state(an.trials, an.pooled, an.verdicts)["pooled"])
    assert {"pain | usual_care | intermediate", "pain | usual_care (add-on) | intermediate"} <= keys


def test_claims_select_cells_by_add_on(an):
    from trialsynth.claims import evaluate_claim
    from trialsynth.claims.records import claim_from_record

    base = {"id": "X", "check": "mixed_results", "text": "x", "outcome": "pain", "comparators": ["usual_care"]}
    both = evaluate_claim(claim_from_record(base), pooled=an.pooled)
    only_addon = evaluate_claim(claim_from_record({**base, "add_on": True}), pooled=an.pooled)
    assert "acupuncture + usual care vs usual care" in both.reason and "acupuncture vs usual care," in both.reason
    assert "acupuncture vs usual care," not in only_addon.reason
    assert "acupuncture + usual care vs usual care" in only_addon.reason


# --------------------------------------------------------------------------- rule 2: value types


def test_no_smd_cell_mixes_change_and_final_values(an):
    for key in an.results():
        rows = rows_of(an, key)
        if set(rows["measure"]) != {"SMD"}:
            continue
        types = set(value_type_of(rows)) - {""}
        assert len(types) <= 1, (key, types)


def test_cherkin_final_values_are_set_apart_for_the_baseline_imbalance(an):
    apart = an.set_apart
    cherkin = apart[(apart["study_id"] == "Cherkin2009") & (apart["comparison_id"] == "standardized_vs_simulated")]
    assert list(cherkin["set_apart"]) == [BASELINE_REASON]
    assert not (an.selected["comparison_id"] == "standardized_vs_simulated").any()
    assert any("Cherkin2009" in n and "+0.90" in n and "-0.10" in n for n in an.notes)
    # the sensitivity analysis puts it back and shows its pull
    sens = an.sensitivity
    back = sens[(sens["outcome"] == "function") & (sens["comparator_class"] == "sham") & (sens["window"] == "immediate")
                & (sens["analysis"] == "with_value_types_mixed")]
    assert back["added"].iloc[0] == "Cherkin2009"


def test_a_mixed_cell_with_printed_ranges_pools_md_on_0_100_end_to_end(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from data.helpers import BASE, row, write_csv

    final = row(BASE, study_id="Fin2001", mean1="30", mean2="40", sd1="20", sd2="20", n1="400", n2="400")
    change = row(BASE, study_id="Chg2002", value_type="change", scale="NRS", scale_max="10", mean1="-2.1", mean2="-1",
                 sd1="2", sd2="2", n1="400", n2="400", source_id="chg2002")
    path = write_csv(tmp_path / "trials.csv", [final, change])
    eff = compute_effects(load_trials_stage(path))
    assert set(eff.selected["measure"]) == {"MD100"}
    assert sorted(eff.selected["yi"].round(6)) == [-11.0, -10.0]  # -1.1 of 10 is -11 of 100
    assert any("common 0-100 scale" in n for n in eff.notes)
    pooled = pool_cells(eff, "metafor-default")
    cell = pooled.frame.iloc[0]
    assert cell["measure"] == "MD100" and cell["k"] == 2 and cell["ci_high"] < 0
    # a clear benefit of about 10 points, judged against 15 points (pain on 0-100), not 0.5 SD
    assert cell["effect_class"] == "small benefit"
    from trialsynth.report.stages import grade_cells

    sof = grade_cells(pooled, eff).sof.iloc[0]
    assert sof["effect_text"].startswith("MD (0-100) -10.") and sof["point_size"] == "small"


# --------------------------------------------------------------------------- rule 3: shared arms


def _shared_arm_counts(an) -> list[tuple]:
    """(cell, arm id, n counted for the arm, the arm's own n) for every shared arm in every pool."""
    out = []
    sel = an.selected
    if "shared_arm_id" not in sel.columns:
        return out
    named = sel[sel["shared_arm_id"].notna() & (sel["shared_arm_id"].astype(str) != "")]
    for key, grp in named.groupby([*CELL_KEY, "shared_arm_id"], dropna=False):
        col = grp["shared_arm"].map(lambda a: "n1" if str(a) == "arm1" else "n2")
        counted = sum(float(r[c]) for (_, r), c in zip(grp.iterrows(), col))
        trial = an.trials[(an.trials["shared_arm_id"].astype(str) == str(key[-1]))]
        own = max(float(r["n1"] if str(r["shared_arm"]) == "arm1" else r["n2"]) for _, r in trial.iterrows()
                  if pd.notna(r["n1" if str(r["shared_arm"]) == "arm1" else "n2"]))
        out.append((key, counted, own, len(grp)))
    return out


def test_no_shared_arm_is_counted_twice_in_any_pool(an):
    for key, counted, own, m in _shared_arm_counts(an):
        assert counted <= own + 1e-9, (key, counted, own)


def test_pooling_across_comparators_splits_gerac_verum_arm():
    every = run_analysis(DATA, pool_across=("comparator_class",))
    assert every.scope == "pooled across comparators"
    counts = _shared_arm_counts(every)
    gerac = [c for c in counts if c[0][-1] == "Haake2007_verum" and c[3] == 2]
    assert gerac, "GERAC's sham and conventional-therapy comparisons share a cell when comparators are pooled"
    for key, counted, own, m in counts:
        assert counted <= own + 1e-9, (key, counted, own)
    res = [r for k, r in every.results().items() if any("Haake2007 (verum_vs_sham)" == lab for lab in r.labels)]
    assert res and all("Haake2007 (verum_vs_conventional)" in r.labels for r in res)
    assert any("Haake2007_verum" in n and "split" in n for n in every.notes)
    # every title says what was pooled together
    from trialsynth.report.figures import plan_figures

    key = next(k for k, r in every.results().items() if r is res[0])
    titles = [job.title for job in plan_figures(every, ("forest",), keys=[key]).jobs]
    assert titles and all("pooled across comparators" in t for t in titles)


# --------------------------------------------------------------------------- rule 4: single sessions


def test_single_sessions_are_set_apart_and_shown_as_a_subgroup(an):
    apart = an.set_apart
    inoue = apart[apart["study_id"] == "Inoue2006"]
    assert list(inoue["set_apart"]) == [SINGLE_SESSION_REASON]
    key = ("pain", "sham", False, "immediate")
    assert "Inoue2006" not in an.results()[key].labels
    sub = an.subgroups[key]
    assert set(sub["frame"]["subgroup"]) == {"course", "single_session"}
    assert 0 < sub["test"]["p_value"] <= 1
    assert "single-session trial" in an.methods_text() and "not pooled with courses" in an.methods_text()
    from trialsynth.report.views import single_session_subgroups

    (cell, frame, test), *_ = single_session_subgroups(an)
    assert cell == "Pain: acupuncture vs sham, immediately after treatment" and "Test for subgroup differences" in test


# --------------------------------------------------------------------------- rule 5: sensitivity analyses


def test_every_cell_has_every_sensitivity_analysis_and_the_flags_agree(an):
    from trialsynth.diagnostics.cell_sensitivity import ANALYSES

    sens = an.sensitivity
    assert len(sens) == len(an.pooled) * len(ANALYSES)
    changed = {tuple(r[c] for c in CELL_KEY) for r in sens[sens["class_changes"].astype(bool)].to_dict("records")}
    flagged = {tuple(r[c] for c in CELL_KEY) for r in an.pooled[an.pooled["conclusion_depends_on_sensitivity"]].to_dict("records")}
    assert changed == flagged
    from trialsynth.report.views import sensitivity_summary_line, sensitivity_table

    line = sensitivity_summary_line(an)
    assert line.startswith(f"{len(flagged)} of {len(an.pooled)} cells change class in at least one sensitivity analysis")
    table = sensitivity_table(an)
    assert len(table) == len(an.pooled) and table["changes class"].sum() == len(flagged)
    # Thomas 2006 is the only trial of its cells and of mixed duration: chronic only leaves none
    thomas = [k for k, r in an.results().items() if r.labels == ["Thomas2006"]]
    chronic = sens[sens["analysis"] == "chronic_only"]
    assert thomas
    for key in thomas:
        row = chronic[[tuple(r) == key for r in chronic[list(CELL_KEY)].itertuples(index=False)]]
        assert list(row["status"]) == ["no trial left"] and list(row["left_out"]) == ["Thomas2006"]


def test_sham_types_are_backed_by_their_quotes():
    from trialsynth.data.loading import load_trials
    from trialsynth.data.provenance import _check_sham_type, load_records

    trials = load_trials(DATA)
    sham = trials[trials["sham_type"].notna()]
    assert set(sham["comparator_class"].astype(str)) == {"sham"}
    assert {"penetrating", "placebo_tens", "non_penetrating"} <= set(sham["sham_type"].astype(str))
    records = load_records(ROOT / "evidence")
    for _, r in sham.iterrows():
        assert _check_sham_type(r.to_dict(), 2, "data/trials.csv", records) == []
    wrong = {**sham.iloc[0].to_dict(), "sham_type": "placebo_tens"} if sham.iloc[0]["sham_type"] != "placebo_tens" else None
    if wrong is not None:
        assert _check_sham_type(wrong, 2, "data/trials.csv", records)[0].column == "sham_type"


# --------------------------------------------------------------------------- rule 6: pooling across conditions


def test_pooling_across_conditions_is_in_every_title():
    every = run_analysis(DATA, conditions=None)
    assert every.scope == "pooled across conditions"
    assert "pooled across conditions" in every.methods_text()
    from trialsynth.report.figures import plan_figures
    from trialsynth.report.views import evidence_grid_figure

    jobs = plan_figures(every, ("forest", "forest_by_window")).jobs
    assert {job.kind for job in jobs} == {"forest", "forest_by_window"}
    for job in jobs:  # said before the population, which names every condition drawn
        assert "(pooled across conditions) \u2014 " in job.title, job.title
    fig = evidence_grid_figure(every, "pain")
    texts = " ".join(t.get_text() for t in fig.axes[0].texts).replace("\n", " ")
    assert "pooled across conditions" in texts
    import matplotlib.pyplot as plt

    plt.close(fig)
    from trialsynth.report.index_page import _model_line

    assert "pooled across conditions" in _model_line(every)
    assert run_analysis(DATA).scope == ""


def test_the_command_line_figures_keep_add_on_cells_apart():
    from trialsynth.cli.forest import comparison_name, comparison_of
    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import group_rows, plan_figures

    an = run_analysis(str(DATA))
    head, addon = ("pain", "usual_care", False, "intermediate"), ("pain", "usual_care", True, "intermediate")
    assert head in an.results() and addon in an.results()
    assert "Thomas2006" in set(group_rows(an, addon)["study_id"])
    assert "Thomas2006" not in set(group_rows(an, head)["study_id"])
    assert comparison_of("usual_care_addon") == ("usual_care", True) and comparison_name("usual_care", True) == "usual_care_addon"
    jobs = {job.stem: job for job in plan_figures(an, ("forest",), keys=[head, addon]).jobs}
    assert set(jobs) == {"forest_pain_usual_care_intermediate", "forest_pain_usual_care_addon_intermediate"}
    assert jobs["forest_pain_usual_care_addon_intermediate"].title.startswith(
        "Pain: acupuncture + usual care vs usual care, 3 to 12 months after treatment")
