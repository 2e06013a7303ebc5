"""What a reader sees (issue 12): every page the report writes shows ratios as ratios, the front
page answers the article first, and tables are formatted for reading.

One report is built (with the notebooks) from a copy of the shipped data and every page checked.
"""

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.display import ratio_display_check
from trialsynth.report.build import build_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reader")
    proj = tmp / "proj"
    shutil.copytree(ROOT / "data", proj / "data")
    shutil.copytree(ROOT / "evidence", proj / "evidence")
    lines = []
    out = tmp / "out"
    index = build_report(proj / "data" / "trials.csv", out, notebooks_dir=ROOT / "notebooks", progress=lines.append)
    return out, index, lines


def pages(out: Path):
    for path in sorted([out / "index.html", *out.glob("tables/*"), *out.glob("exports/*"), *out.glob("notebooks/*.html"),
                        out / "changes.md"]):
        if path.is_file() and path.suffix in (".html", ".md", ".csv"):
            yield path


def test_every_displayed_ratio_interval_is_positive_and_contains_its_estimate(report):
    out, _index, _ = report
    seen = 0
    for path in pages(out):
        text = path.read_text(encoding="utf-8")
        assert ratio_display_check(text) == [], f"{path.name} shows a ratio on the wrong scale"
        seen += len(re.findall(r"\bRR \d", text))
    assert seen > 0, "no risk ratio is shown anywhere: the check tested nothing"


def test_csv_columns_say_their_scale(report):
    out, _index, _ = report
    pooled = pd.read_csv(out / "tables" / "pooled_estimates.csv")
    rr = pooled[pooled["measure"] == "RR"]
    assert len(rr) and (rr[["estimate", "ci_low", "ci_high"]] > 0).all().all()  # measure RR holds ratios
    assert (rr["ci_low"] <= rr["estimate"]).all() and (rr["estimate"] <= rr["ci_high"]).all()
    assert (rr["log_estimate"].round(9) == rr["estimate"].map(lambda v: __import__("math").log(v)).round(9)).all()
    assert pooled.loc[pooled["measure"] != "RR", "log_estimate"].isna().all()
    rows = pd.read_csv(out / "tables" / "pooled_rows.csv")
    assert "RR" not in set(rows["measure"]) and "logRR" in set(rows["measure"])  # yi is a log: the measure says so
    sof = pd.read_csv(out / "tables" / "sof.csv")
    rr = sof[sof["measure"] == "RR"]
    assert (rr["estimate"] > 0).all() and rr["effect_text"].str.startswith("RR ").all()
    assert "conclusion_depends_on_method" in pooled.columns and pooled["conclusion_depends_on_method"].dtype == bool


def test_front_page_answers_the_article_first(report):
    out, index, _ = report
    page = index.read_text(encoding="utf-8")
    findings, grid, change, methods = (page.index(s) for s in ("Findings: the article", "mixed results", "What changed",
                                                                "<h2>Methods</h2>"))
    assert findings < grid < change < methods  # claims, then the grid, then the change line, then methods
    assert page.index("Where the time went") > methods  # timings last, folded away
    verdicts = pd.read_csv(out / "tables" / "claims_verdicts.csv")
    for rec in verdicts.to_dict("records"):
        words = " ".join(str(rec["article_text"]).split())
        assert words[:60] in page, "the claim's own words are on the front page"
        assert len(str(rec["summary"]).split()) <= 45, f"{rec['claim_id']}: reason longer than about 40 words"
    assert page.count("class='badge'") == len(verdicts)
    assert page.count("<details><summary>Evidence for and against</summary>") == len(verdicts)
    assert (out / "figures" / "evidence_grid_pain.svg").is_file() and "figures/evidence_grid_pain.svg" in page
    assert "comparator_class" not in page and "C1_mixed_results</td>" not in page


def test_progress_lines_per_stage(report):
    _out, index, lines = report
    text = "\n".join(lines)
    for stage in ("load:", "pool:", "figures ", "notebooks ", "report written:"):
        assert stage in text, f"no progress line for {stage}"
    assert re.search(r"figures \d+/\d+", text) and re.search(r"notebooks \d+/\d+", text)
    assert str(index) in lines[-1]


def test_notebooks_show_formatted_tables_and_no_raw_warnings(report):
    out, _index, _ = report
    for name in ("02_short_vs_long_term", "03_article_claims", "04_robustness", "05_summary_of_findings"):
        page = (out / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
        assert "comparator_class</th>" not in page and "ci_low</th>" not in page, f"{name} shows a raw frame"
        assert "MetaWarning" not in page and "site-packages" not in page, f"{name} prints raw warnings"
