"""What the report's figures *say*, checked on every figure ``make report`` writes from data/trials.csv.

The defects of issue 12 (ux-review items 2, 3, 8): responder forest plots with "Favours control" on
the acupuncture side, a population not named, jargon footnotes repeated per window ("test='knha'
needs k >= 2", "1 degrees of freedom"), "IV, Random" and "Total (95% CI)" over a single study,
squares wider than their CIs, a heterogeneity line broken mid-statement, odd ticks (-0.75, -0.4,
0, 0.4, 0.75).  Each check derives what is right from the data (the outcome's direction, the
measure), not from the plotting code's own idea of it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "trials.csv"

FOREST_KINDS = ("forest", "forest_by_window", "leave_one_out", "cumulative")


@pytest.fixture(scope="module")
def drawn():
    """(analysis, [(job, figure)]) for every figure of the report, and the ones only
    `trialsynth figures` adds (short/long panels, effect by time)."""
    import matplotlib

    matplotlib.use("Agg")
    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import KINDS, REPORT_KINDS, draw, figure_jobs

    an = run_analysis(str(DATA))
    jobs = figure_jobs(an, KINDS)
    assert {j.stem for j in figure_jobs(an)} <= {j.stem for j in jobs} and set(REPORT_KINDS) <= set(KINDS)
    assert len(jobs) >= len(an.results())
    return an, [(job, draw(job)) for job in jobs]


def _texts(fig, prefix):
    return {t.get_gid(): t for t in fig.texts if (t.get_gid() or "").startswith(prefix)}


def _acupuncture_side(an, job) -> str:
    """'lower' or 'higher' from first principles: continuous effects are oriented so that negative
    favours acupuncture (data/README.md); a responder ratio above 1 favours it when responding is good."""
    rows = an.selected
    rows = rows[(rows["outcome"].astype(str) == str(job.key[0])) & (rows["comparator_class"].astype(str) == str(job.key[1]))]
    measures = set(rows["measure"].astype(str))
    assert len(measures) == 1
    if measures <= {"SMD", "MD"}:
        return "lower"
    higher_is_better = set(rows["higher_is_better"].astype(str).str.lower())
    assert higher_is_better == {"true"}
    return "higher"


def test_favours_labels_sit_on_the_side_of_the_null_that_favours_each_arm(drawn):
    an, figures = drawn
    checked = 0
    for job, fig in figures:
        if job.kind not in FOREST_KINDS + ("short_long_panel",):
            continue
        favours = _texts(fig, "favours:")
        pairs = sorted({gid.rsplit(":", 1)[0] for gid in favours})
        assert pairs, job.stem
        side = _acupuncture_side(an, job)
        comparator = {"sham": "sham", "usual_care": "usual care", "no_treatment": "no treatment",
                      "active": "active treatment"}[str(job.key[1])]
        expected = ("Favours acupuncture", f"Favours {comparator}")
        if job.key[2] is True:  # acupuncture added to care both arms had
            expected = {"usual_care": ("Favours acupuncture + usual care", "Favours usual care")}.get(
                str(job.key[1]), ("Favours acupuncture + other care", "Favours other care alone"))
        if side == "higher":
            expected = expected[::-1]
        renderer = fig.canvas.get_renderer()
        for pair in pairs:
            left, right = favours[f"{pair}:left"], favours[f"{pair}:right"]
            assert (left.get_text(), right.get_text()) == expected, job.stem
            # each label on its side of the line of no effect
            ax = fig.axes[0] if hasattr(fig, "forest_layout") else fig.axes[int(pair.split(":")[1])]
            null = 1.0 if ax.get_xscale() == "log" else 0.0
            null_px = ax.transData.transform((null, 0))[0]
            assert left.get_window_extent(renderer).x1 <= null_px + 0.5, job.stem
            assert right.get_window_extent(renderer).x0 >= null_px - 0.5, job.stem
        checked += 1
    assert checked >= 20
    # the effect-by-time plots: the low end favours acupuncture for SMDs, the high end for responder RRs
    for job, fig in figures:
        if job.kind != "effect_by_time":
            continue
        texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("favours:")}
        acupuncture_end = "favours:high" if job.key[1] == "RR" else "favours:low"
        assert texts[acupuncture_end].endswith("Favours acupuncture"), (job.stem, texts)
    # the responder figures were the ones reversed: RR 3.76 (Carlsson2001) lies right of 1, under acupuncture
    fig = next(f for j, f in figures if j.stem == "forest_responder_sham_short")
    carlsson = next(r for r in fig.forest_layout.rows if r.kind == "study" and r.label == "Carlsson2001")
    assert carlsson.estimate == pytest.approx(3.76, abs=0.005)
    assert _texts(fig, "favours:right")["favours:right"].get_text() == "Favours acupuncture"


def test_every_title_names_the_population(drawn):
    an, figures = drawn
    for job, fig in figures:
        if job.kind == "rob_traffic_light":
            continue
        title = next(t.get_text() for t in fig.texts if t.get_gid() == "title").replace("\n", " ")
        population = title.rsplit(" \u2014 ", 1)[1]
        rows = an.selected
        key = job.key[:1] if job.kind == "effect_by_time" else job.key
        for column, value in zip(("outcome", "comparator_class", "window"), key):
            rows = rows[rows[column].astype(str) == str(value)]
        if job.kind == "short_long_panel":
            rows = rows[rows["window"].astype(str).isin(["short", job.stem.rsplit("_", 1)[1]])]
        words = {"chronic_lbp": "chronic", "mixed_lbp": "persistent"}
        assert set(rows["condition"]) <= set(words), job.stem  # the report pools these populations only
        for condition in set(rows["condition"]):
            assert words[condition] in population, (title, condition)
        assert "low back pain" in population and "sciatica" not in title and "acute" not in title, title


def test_footnotes_are_plain_and_say_each_thing_once(drawn):
    _, figures = drawn
    for job, fig in figures:
        if job.kind not in FOREST_KINDS + ("short_long_panel",):
            continue
        lines = [t.get_text() for gid, t in sorted(_texts(fig, "footnote:").items(), key=lambda kv: int(kv[0][9:]))]
        text = " ".join(lines)
        for jargon in ("test='knha'", "degrees of freedom", "tau2", "s2w", "Note: only"):
            assert jargon not in text, (job.stem, jargon)
        assert len(lines) == len(set(lines)), job.stem
        assert text.count("profile cochrane-2025") <= 1, job.stem
        assert len(lines) <= 5, (job.stem, lines)


def test_one_study_is_not_pooled_and_not_headed_random(drawn):
    _, figures = drawn
    seen = 0
    for job, fig in figures:
        if job.kind != "forest" or job.content.k != 1:
            continue
        seen += 1
        rows = fig.forest_layout.rows
        assert not [r for r in rows if r.kind in ("pooled", "pi")], job.stem  # no "Total (95% CI)", no diamond
        (study,) = [r for r in rows if r.kind == "study"]
        assert study.cells["label"].endswith("\u2021")
        headers = [t.get_text() for gid, t in _texts(fig, "header:").items()]
        assert not any("Random" in h or "Fixed" in h for h in headers), (job.stem, headers)
        footnote = " ".join(t.get_text() for t in _texts(fig, "footnote:").values())
        assert "\u2021 One study" in footnote
        notes = [t.get_text() for t in _texts(fig, "note:").values()]
        assert notes and all(n.startswith("Test for the study's effect: Z = ") for n in notes), notes  # a z test
    assert seen >= 5


def test_squares_never_hide_their_ci(drawn):
    _, figures = drawn
    for job, fig in figures:
        if job.kind not in FOREST_KINDS:
            continue
        ax = fig.axes[0]
        whiskers = {line.get_gid()[3:]: line for line in ax.lines if (line.get_gid() or "").startswith("ci:")}
        for line in ax.lines:
            gid = line.get_gid() or ""
            if not gid.startswith("square:") or gid[7:] not in whiskers:
                continue
            whisker = whiskers[gid[7:]]
            xy = np.column_stack([whisker.get_xdata(), whisker.get_ydata()])
            (x0, _), (x1, _) = ax.transData.transform(xy)
            ci_points = abs(x1 - x0) * 72 / fig.dpi
            assert line.get_markersize() <= max(1.5, ci_points), (job.stem, gid)
            assert whisker.get_zorder() > line.get_zorder()


def test_heterogeneity_lines_are_whole_and_ticks_are_round(drawn):
    _, figures = drawn
    for job, fig in figures:
        if job.kind not in FOREST_KINDS:
            continue
        notes = [t.get_text() for t in _texts(fig, "note:").values()]
        for note in notes:
            assert not note.rstrip().endswith("="), (job.stem, note)
            assert note.startswith(("Heterogeneity:", "Test for overall effect:", "Test for subgroup",
                                    "Test for the study's effect:")), (job.stem, note)
        layout = fig.forest_layout
        ticks = [float(t) for t in fig.axes[0].get_xticks()]
        lo, hi = layout.xlim
        assert ticks[0] == pytest.approx(lo) and ticks[-1] == pytest.approx(hi), job.stem  # the limits are labelled
        assert any(t == pytest.approx(layout.null_value) for t in ticks), job.stem
        if layout.log_axis:
            assert all(t > 0 for t in ticks)
            continue
        steps = np.diff(ticks)
        assert np.allclose(steps, steps[0]), (job.stem, ticks)  # evenly spaced: no -0.75, -0.4, 0, 0.4, 0.75
        mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]) + 1e-9)
        assert round(mantissa, 6) in (1.0, 2.0, 5.0, 1.5, 3.0, 4.0, 6.0, 8.0), (job.stem, ticks)


def test_ratio_axes_are_logarithmic_with_ratio_labels(drawn):
    _, figures = drawn
    ratio = [fig for job, fig in figures if job.kind in FOREST_KINDS and job.key[0] == "responder"]
    assert ratio
    for fig in ratio:
        ax = fig.axes[0]
        assert ax.get_xscale() == "log" and fig.forest_layout.null_value == 1.0
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert "1" in labels and all("e" not in lab and not lab.startswith("\u2212") for lab in labels), labels
        ticks = sorted(float(lab) for lab in labels)
        if ticks[0] < 0.01:  # a wide ratio axis is labelled by decades, not 0.0001, 0.25, 1, 4, 10000
            assert all(math.log10(t).is_integer() for t in ticks), ticks
        # a ratio limit is positive on the page too: never "0.00" (HKSJ with k = 2 gives 0.00075)
        for row in fig.forest_layout.rows:
            text = row.cells.get("effect", "")
            assert "[0.00," not in text and "(0.00" not in text, text


def test_report_draws_the_diagnostics_where_k_allows_and_says_why_not(drawn):
    from trialsynth.report.analysis import run_analysis
    from trialsynth.report.figures import MIN_K_DIAGNOSTICS, plan_figures

    an, figures = drawn
    stems = {job.stem for job, _ in figures}
    plan = plan_figures(run_analysis(str(DATA)))
    for key, res in an.results().items():
        name = "_".join([str(key[0]), str(key[1])] + (["addon"] if key[2] else []) + [str(key[3])])
        diagnostics = {f"{kind}_{name}" for kind in ("funnel", "leave_one_out", "cumulative", "gosh")}
        if res.k >= MIN_K_DIAGNOSTICS:
            assert diagnostics <= stems, name
        else:
            assert not diagnostics & stems
            assert any(s["key"] == list(key) and s["reason"] == f"k = {res.k} < 3" for s in plan.skipped), name
    assert any("not computed because k = 2 < 3" in line for line in plan.skipped_lines())
    # per-arm columns and the dagger of approximated effects, as the CLI drew them before
    fig = next(f for j, f in figures if j.stem == "forest_pain_sham_immediate")
    headers = {t.get_text() for t in _texts(fig, "header:").values()}
    assert {"Mean", "SD", "Total"} <= headers
    from trialsynth.report.figures import group_rows

    approximated = [j for j, _ in figures if j.kind == "forest"
                    and group_rows(an, j.key)["approximate"].fillna(False).astype(bool).any()]
    assert approximated, "some pooled cell holds an effect approximated from a p-value"
    for job in approximated:
        fig = next(f for j, f in figures if j.stem == job.stem)
        assert any("\u2020" in r.cells["label"] for r in fig.forest_layout.rows if r.kind == "study"), job.stem
