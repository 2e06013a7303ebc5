"""Notebook 04 shows every small-study and publication-bias method for each cell with k >= 3
(issue 14: "each is shown in notebook 04 only where k allows, with the warning the method needs")."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "trials.csv"


def test_every_method_is_listed_with_whether_it_applies_and_why():
    from trialsynth.report import views
    from trialsynth.report.analysis import run_analysis

    an = run_analysis(str(DATA))
    keys = views.robustness_groups(an, min_k=3)
    assert keys, "some cell has three or more trials"
    for key in keys:
        table = views.small_study_view(an, key)
        k = an.results()[key].k
        assert {"Egger (weighted regression on SE)", "Henmi-Copas interval", "Fail-safe N (Rosenthal)"} <= set(table["method"])
        assert (table["note"].str.len() > 0).all(), "every row says its caveat or why it does not apply"
        applies = table.set_index("method")["applies"]
        if k < 10:  # the asymmetry tests are not run below 10 trials
            assert applies["Egger (weighted regression on SE)"] == "no"
        row = table.set_index("method").loc["Henmi-Copas interval"]
        assert row["applies"] == "yes" and row["result"].startswith("SMD ") and " to " in row["result"]
        assert table.set_index("method").loc["Fail-safe N (Rosenthal)", "result"].startswith("N = ")
        assert (table.loc[table["applies"] == "no", "result"] == "").all()
