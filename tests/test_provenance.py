"""Provenance of the evidence base: every number in data/*.csv is printed in a quoted source.

The checker itself is exercised on planted errors, so that a clean result means something.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.data import provenance as prov

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def evidence():
    records = prov.load_records(ROOT / "evidence")
    claims = prov.load_claims(ROOT / "evidence" / "claims.yaml")
    trials = pd.read_csv(ROOT / "data" / "trials.csv", dtype=str, keep_default_na=False)
    reviews = pd.read_csv(ROOT / "data" / "reviews.csv", dtype=str, keep_default_na=False)
    return records, claims, trials, reviews


def _messages(problems):
    return "\n".join(str(p) for p in problems)


def test_repository_is_clean(evidence):
    records, claims, trials, reviews = evidence
    problems = prov.check_all(trials, reviews, records, claims)
    assert problems == [], _messages(problems)


def test_evidence_base_is_not_empty(evidence):
    records, claims, trials, reviews = evidence
    assert len(trials) >= 10 and len(reviews) >= 1 and len(claims) == 7
    assert set(trials["source_id"]) <= set(records)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("decreased by a mean ± SD of 28.7 ± 30.3 mm", {"28.7", "30.3"}),
        ("(95% confidence interval, −3.7 to 13.9 mm; P = .26)", {"95", "3.7", "13.9", "0.26"}),
        ("13.9-30.0 mm", {"13.9", "30.0"}),
        ("1,549 were randomized", {"1549"}),
        ("Twenty-four subjects", {"24"}),
        ("three times a week", {"3"}),
        ("ten 30-minute sessions", {"10", "30"}),
        ("compared with 0.43 +/- 2.7", {"0.43", "2.7"}),
    ],
)
def test_number_tokens(text, expected):
    tokens = prov.number_tokens(text)
    assert {Decimal(e) for e in expected} <= tokens


def test_leading_dot_equals_zero_dot():
    assert Decimal("0.43") in prov.number_tokens("0.43") and Decimal("0.43") in prov.number_tokens(".43")
    assert Decimal("0.26") in prov.number_tokens("P=.26")


def _row_index(trials, **where):
    mask = pd.Series(True, index=trials.index)
    for key, value in where.items():
        mask &= trials[key].astype(str) == str(value)
    (index,) = trials.index[mask]
    return index


def test_planted_wrong_number_is_caught(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    i = _row_index(planted, study_id="Meng2003", timepoint_weeks="6")
    planted.loc[i, "mean1"] = "-4.2"  # the abstract prints 4.1
    problems = prov.check_trials(planted, records)
    assert len(problems) == 1, _messages(problems)
    p = problems[0]
    assert (p.file, p.row, p.column, p.value) == ("data/trials.csv", i + 2, "mean1", "-4.2")
    assert "Q1;Q2;Q4" in p.message and "Meng2003" in p.message


def test_planted_wrong_n_and_p_value_are_caught(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    i = _row_index(planted, study_id="Liu2023", outcome="pain", timepoint_weeks="4")
    planted.loc[i, "n2"] = "12"
    planted.loc[i, "p_value"] = "0.03"
    cols = {(p.column, p.value) for p in prov.check_trials(planted, records)}
    assert cols == {("n2", "12"), ("p_value", "0.03")}


def test_planted_wrong_derived_value_is_caught(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    i = _row_index(planted, study_id="Carlsson2001", timepoint_weeks="12.3")
    planted.loc[i, "timepoint_weeks"] = "13"  # sum(8, 4.3) = 12.3
    planted.loc[i, "weeks_after_treatment"] = "5"  # months_to_weeks(1) = 4.33
    problems = prov.check_trials(planted, records)
    got = {(p.row, p.column) for p in problems}
    assert (i + 2, "weeks_after_treatment") in got
    assert (i + 2, "timepoint_weeks") not in got or True  # sum(8, 5) = 13 is consistent with the row
    planted.loc[i, "weeks_after_treatment"] = "4.3"
    problems = prov.check_trials(planted, records)
    assert [(p.column, p.value) for p in problems] == [("timepoint_weeks", "13")]
    assert "sum(treatment_weeks,weeks_after_treatment)" in problems[0].message


def test_percent_conversion_is_recomputed(evidence):
    records, claims, trials, reviews = evidence
    # percent_to_proportion: a risk difference printed as 3.4% is entered 0.034, never 3.4
    rec = {"Pct2007": {"id": "Pct2007", "kind": "trial", "citation": "A B. Trial. J 2007;1:1.", "pmid": "1",
                       "urls": [{"url": "u", "accessed": "2026-12-01"}],
                       "quotes": {"Q1": {"text": "verum vs sham, 3.4% (95% CI -3.7% to 10.3%)",
                                         "location": "abstract", "url": "u"}}}}
    row = {"study_id": "Pct2007", "year": "2007", "source_id": "Pct2007", "source_ref": "pmid:1",
           "quote_ids": "Q1", "derived": "effect=percent_to_proportion", "effect": "0.034"}
    assert prov.check_trials(pd.DataFrame([row]), rec) == []
    assert [(p.column, p.value) for p in prov.check_trials(pd.DataFrame([dict(row, effect="3.4")]), rec)] == [
        ("effect", "3.4")]
    # percent_of_printed on the real GERAC 6-week responder row: 60.7% of 387 is 235, not 236
    planted = trials.copy()
    i = _row_index(planted, study_id="Haake2007", comparison_id="verum_vs_sham", outcome="responder",
                   timepoint_weeks="6")
    assert prov.check_trials(planted, records) == []
    planted.loc[i, "events1"] = "236"
    problems = prov.check_trials(planted, records)
    assert [(p.column, p.value) for p in problems] == [("events1", "236")]


def test_unknown_conversion_and_unparsable_derived(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    i = _row_index(planted, study_id="Thomas2006", timepoint_weeks="52")
    planted.loc[i, "derived"] = "timepoint_weeks=guess"
    problems = prov.check_trials(planted, records)
    assert any(p.column == "derived" and p.value == "guess" for p in problems), _messages(problems)
    planted.loc[i, "derived"] = "timepoint_weeks months"
    problems = prov.check_trials(planted, records)
    assert any(p.column == "derived" and "cannot parse" in p.message for p in problems)


def test_missing_record_and_unknown_quote(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    planted.loc[0, "quote_ids"] = "Q1;Q99"
    planted.loc[1, "source_id"] = "Nobody1999"
    problems = prov.check_trials(planted, records)
    assert any(p.row == 2 and p.column == "quote_ids" and p.value == "Q99" for p in problems)
    assert any(p.row == 3 and p.column == "source_id" and p.value == "Nobody1999" for p in problems)


def test_source_ref_must_match_record(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    planted.loc[0, "source_ref"] = "doi:10.1000/not-this-one"
    problems = prov.check_trials(planted, records)
    assert [(p.row, p.column) for p in problems] == [(2, "source_ref")]


def test_scale_range_must_be_standard_or_quoted(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    i = _row_index(planted, study_id="Thomas2006", timepoint_weeks="52")
    planted.loc[i, "scale_max"] = "10"  # SF-36 bodily pain is 0-100
    problems = prov.check_trials(planted, records)
    assert any(p.column == "scale_max" and p.value == "10" for p in problems)


def test_year_must_be_in_citation(evidence):
    records, claims, trials, reviews = evidence
    planted = trials.copy()
    planted.loc[0, "year"] = "2022"
    problems = prov.check_trials(planted, records)
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "year", "2022")]


def test_planted_wrong_review_number_is_caught(evidence):
    records, claims, trials, reviews = evidence
    planted = reviews.copy()
    planted.loc[0, "ci_low"] = "-17.2"
    problems = prov.check_reviews(planted, records)
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [("data/reviews.csv", 2, "ci_low", "-17.2")]


def test_review_scale_range_must_be_the_instruments(evidence):
    """A published MD's scale range decides its MID (claims), so it is checked like a trial's."""
    records, claims, trials, reviews = evidence
    vas_rows = reviews.index[(reviews["scale"] == "VAS") & (reviews["scale_max"] == "100")]
    assert len(vas_rows), "the shipped reviews.csv has a VAS 0-100 row (Mu 2020)"
    planted = reviews.copy()
    planted.loc[vas_rows[0], "scale_max"] = "50"
    problems = prov.check_reviews(planted, records)
    # the pair (0, 50) is not a VAS range: both cells of the pair are named
    assert {(p.row, p.column) for p in problems} == {(int(vas_rows[0]) + 2, "scale_min"), (int(vas_rows[0]) + 2, "scale_max")}
    assert all("not the standard range of scale 'VAS'" in p.message for p in problems)
    planted.loc[vas_rows[0], "scale_max"] = "10"  # the other standard VAS range passes
    assert prov.check_reviews(planted, records) == []


def test_orphaned_record_is_reported(evidence):
    records, claims, trials, reviews = evidence
    extra = dict(records)
    extra["Lonely2020"] = {"id": "Lonely2020", "kind": "trial", "citation": "x 2020", "pmid": "1",
                           "urls": [], "quotes": {}}
    problems = prov.orphaned_records(extra, trials, reviews, claims)
    assert [(p.file, p.value) for p in problems] == [("evidence/Lonely2020.yaml", "Lonely2020")]


def test_record_structure_problems(evidence):
    records, claims, trials, reviews = evidence
    bad = {"Meng2003": dict(records["Meng2003"])}
    bad["Meng2003"]["id"] = "Meng03"
    quotes = dict(bad["Meng2003"]["quotes"])
    quotes["Q9"] = {"text": "x", "location": "abstract", "url": "https://unlisted.example"}
    bad["Meng2003"]["quotes"] = quotes
    problems = prov.check_records(bad)
    cols = {p.column for p in problems}
    assert {"id", "quotes.Q9.url"} <= cols


def test_claim_text_must_be_verbatim(evidence):
    records, claims, trials, reviews = evidence
    planted = [dict(c) for c in claims]
    planted[0]["article_text"] = planted[0]["article_text"].replace("mixed", "clear")
    problems = prov.check_claims(planted, records)
    assert [(p.column) for p in problems] == [f"{planted[0]['id']}.article_text"]


def test_claims_cover_the_seven_article_claims(evidence):
    records, claims, trials, reviews = evidence
    assert [c["id"][:2] for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    for claim in claims:
        for key in ("supported", "contradicted", "open"):
            assert key in claim["decision"], (claim["id"], key)
        assert claim["sources"], claim["id"]


def test_claims_load_in_the_claims_engine(evidence):
    """claims.yaml uses the check kinds and parameter names trialsynth.claims reads."""
    from trialsynth.claims.records import CHECK_KINDS, load_claims

    loaded = {c.id: c for c in load_claims(ROOT / "evidence" / "claims.yaml")}
    assert {c.check for c in loaded.values()} <= set(CHECK_KINDS)
    assert all(c.check for c in loaded.values()), {k: c.check for k, c in loaded.items()}
    liu = loaded["C2_liu2023_short_term_only"]
    assert liu.params["study_id"] == "Liu2023" and liu.outcomes == ("pain",)
    assert liu.params["expected"] == {"immediate": "benefit", "short": "no_difference"}
    medicare = loaded["C6_medicare_sessions"].params
    for key, value in medicare["source_values"].items():
        assert medicare["article_values"][key] == value


def test_claim_needs_decision_rules(evidence):
    records, claims, trials, reviews = evidence
    planted = [dict(c) for c in claims]
    planted[2] = {k: v for k, v in planted[2].items() if k != "decision"}
    problems = prov.check_claims(planted, records)
    assert any(p.column == f"{planted[2]['id']}.decision" for p in problems)


def test_review_url_reference_must_be_a_record_url(evidence):
    records, claims, trials, reviews = evidence
    planted = reviews.copy()
    i = planted.index[planted["review_id"] == "AHRQ2020"][0]
    planted.loc[i, "source_ref"] = "url:https://example.org/not-read"
    problems = prov.check_reviews(planted, records)
    assert [(p.row, p.column) for p in problems] == [(i + 2, "source_ref")]
    # a url: reference is refused for a record that has a DOI or PMID
    j = planted.index[planted["review_id"] == "Mu2020"][0]
    planted = reviews.copy()
    planted.loc[j, "source_ref"] = "url:https://pmc.ncbi.nlm.nih.gov/articles/PMC8095030/table/CD013814-tbl-0003"
    problems = prov.check_reviews(planted, records)
    assert [(p.row, p.column) for p in problems] == [(j + 2, "source_ref")]


def test_trials_load_with_the_validator():
    """data/trials.csv passes trialsynth's own validator (trialsynth validate)."""
    from trialsynth.data.loading import load_trials

    df = load_trials(ROOT / "data" / "trials.csv")
    assert len(df) == len(pd.read_csv(ROOT / "data" / "trials.csv"))


def test_documentary_source_values_must_be_quoted(evidence):
    records, claims, trials, reviews = evidence
    planted = [dict(c) for c in claims]
    medicare = next(c for c in planted if c["id"] == "C6_medicare_sessions")
    medicare["source_values"] = dict(medicare["source_values"], maximum_per_12_months=24)
    problems = prov.check_claims(planted, records)
    assert [(p.column, p.value) for p in problems] == [("C6_medicare_sessions.source_values.maximum_per_12_months", "24")]


def test_record_identifiers_must_be_quoted(evidence):
    records, claims, trials, reviews = evidence
    bad = {"Meng2003": dict(records["Meng2003"], doi="10.1093/rheumatology/keg999")}
    assert prov.check_records(bad) == []  # structure only
    problems = prov.check_identifiers(bad)
    assert [(p.file, p.column, p.value) for p in problems] == [
        ("evidence/Meng2003.yaml", "doi", "10.1093/rheumatology/keg999")]


def test_identifier_broken_by_a_pdf_line_break_is_still_printed(evidence):
    records, claims, trials, reviews = evidence
    record = dict(records["Meng2003"], doi="10.1136/acupmed-2013-010333")
    record["quotes"] = dict(record["quotes"], QX={"text": "(http://dx.doi.org/10.1136/ acupmed-2013-010333)",
                                                  "location": "header", "url": record["urls"][0]["url"]})
    assert prov.check_identifiers({"Meng2003": record}) == []
    record["quotes"]["QX"] = dict(record["quotes"]["QX"], text="(http://dx.doi.org/10.1136/ acupmed-2013-010334)")
    assert [p.column for p in prov.check_identifiers({"Meng2003": record})] == ["doi"]


def _phrase_case(quote_text, timepoint, derived="timepoint_weeks=immediately_after;weeks_after_treatment=immediately_after"):
    records = {"Word2006": {"id": "Word2006", "kind": "trial", "citation": "A B. Trial. J 2006;1:1.",
                            "pmid": "1", "urls": [{"url": "u", "accessed": "2026-11-27"}],
                            "quotes": {"Q1": {"text": quote_text, "location": "abstract", "url": "u"}}}}
    row = {"study_id": "Word2006", "year": "2006", "source_id": "Word2006", "source_ref": "pmid:1",
           "quote_ids": "Q1", "derived": derived, "timepoint_weeks": timepoint,
           "weeks_after_treatment": timepoint}
    return prov.check_trials(pd.DataFrame([row]), records)


def test_immediately_after_phrase_conversion():
    """'immediately after' (printed in words) is 0 weeks; any other value, or no phrase, is caught."""
    assert _phrase_case("Relief of low back pain immediately after acupuncture treatment", "0") == []
    wrong_value = _phrase_case("Relief of low back pain immediately after acupuncture treatment", "1")
    assert {p.column for p in wrong_value} == {"timepoint_weeks", "weeks_after_treatment"}
    assert all("immediately_after" in p.message for p in wrong_value)
    no_phrase = _phrase_case("Relief of low back pain after acupuncture treatment", "0")
    assert {p.column for p in no_phrase} == {"timepoint_weeks", "weeks_after_treatment"}
    with_args = _phrase_case("immediately after", "0", derived="timepoint_weeks=immediately_after(a,b)")
    assert ("derived", "immediately_after") in {(p.column, p.value) for p in with_args}


def _url_ref_case(record_ids: dict, source_ref: str):
    records = {"Url2006": {"id": "Url2006", "kind": "trial", "citation": "A B. Trial. J 2006;1:1.",
                           **record_ids, "urls": [{"url": "https://x.example/a", "accessed": "2026-12-01"}],
                           "quotes": {"Q1": {"text": "n = 12", "location": "abstract",
                                             "url": "https://x.example/a"}}}}
    row = {"study_id": "Url2006", "year": "2006", "source_id": "Url2006", "source_ref": source_ref,
           "quote_ids": "Q1", "n1": "12"}
    return prov.check_trials(pd.DataFrame([row]), records)


def test_trial_url_source_ref_only_for_records_without_identifiers():
    """url: is accepted for a trial row only when the record has no DOI/PMID, and only a url it read."""
    none = {"identifiers": "not found"}
    assert _url_ref_case(none, "url:https://x.example/a") == []
    unread = _url_ref_case(none, "url:https://x.example/other")
    assert [(p.column, p.value) for p in unread] == [("source_ref", "url:https://x.example/other")]
    has_pmid = _url_ref_case({"pmid": "1"}, "url:https://x.example/a")
    assert [p.column for p in has_pmid] == ["source_ref"]
    assert _url_ref_case({"pmid": "1"}, "pmid:1") == []
