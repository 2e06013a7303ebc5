"""Map an imported review's study rows into the trial-record schema, with their provenance.

A review file holds numbers (events, means, SDs, estimates) and names (studies, groups,
outcomes) but not what the trial schema also asks for: the condition, the comparator class, the
outcome domain and scale, the time point. Those come from a **mapping** the reviewer writes
(YAML, read with ``yaml.safe_load``; :func:`mapping_template` writes one to fill in)::

    source_id: Furlan2005CDSR_rm5        # the evidence record to write (default: from the file)
    defaults:                             # every row
      condition: chronic_lbp
      intervention_type: manual_or_electro
      add_on: false
    analyses:                             # only the analyses named here are imported
      "5.1":
        comparison_id: acu_vs_sham
        comparator_class: sham
        outcome: pain
        scale: VAS
        scale_min: 0
        scale_max: 100
        higher_is_better: false
        value_type: final
        subgroups:                        # by subgroup number (or name)
          1: {timepoint_weeks: 6, weeks_after_treatment: 0}
        studies:                          # by study name, within this analysis
          Kerr 2003: {treatment_weeks: 6}
        skip_studies: [Mendelson 1983]    # rows not to import (listed as skipped)
    studies:                              # by study name, in every analysis
      Kerr 2003: {country: UK}

Later levels override earlier ones (defaults < analysis < subgroup < study in all analyses <
study in this analysis). Any schema column may be set; the numbers the file holds (``n1``,
``events1``, ``mean1``, ``sd1``, ``effect``, ``effect_se`` ...) and ``study_id``, ``year``,
``rob`` come from the file and cannot be overridden.

Provenance: a review file carries no quotes, so the import writes an evidence record (``kind:
review_file``, with the file name and its SHA-256) whose quotes are the file's own stored values,
one per study row (the element's attributes as RevMan stores them, or the CSV row of the data
package), and the mapping entries that supplied numbers (quoted as the reviewer's, not the
file's). Every row gets ``source_location`` "imported from FILE, analysis X.Y" and the
quote ids of its study row and mapping entries, so that the provenance check
(:mod:`trialsynth.data.provenance`) verifies every number exactly as for a publication.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.data import schema as S
from trialsynth.data.importers.review import ImportedReview, ReviewAnalysis, overall_rob, study_key
from trialsynth.errors import ArgumentError, Problem

__all__ = ["ImportResult", "review_to_trials", "mapping_template", "FILE_COLUMNS"]

#: columns whose values come from the review file, never from the mapping
FILE_COLUMNS = frozenset({
    "study_id", "year", "data_shape", "n1", "n2", "events1", "events2", "mean1", "mean2", "sd1", "sd2",
    "se1", "se2", "ci_low1", "ci_high1", "ci_low2", "ci_high2", "effect", "effect_ci_low", "effect_ci_high",
    "effect_se", "effect_measure", "source_id", "source_ref", "source_location", "quote_ids",
})
_NUMERIC = {c.name for c in S.COLUMNS if c.type in ("number", "integer")}
_INTEGER = {c.name for c in S.COLUMNS if c.type == "integer"}
_CONTRAST_MEASURES = ("MD", "SMD", "RR", "OR", "RD")


@dataclass
class ImportResult:
    """What :func:`review_to_trials` made.

    Attributes
    ----------
    trials : DataFrame
        The rows in the column order of :data:`trialsynth.data.schema.COLUMN_NAMES` (text cells,
        as they would be written to CSV).
    record : dict
        The evidence record (``evidence/<source_id>.yaml``) the rows cite.
    problems : list of Problem
        Schema and provenance problems of the rows (file = ``rows_file``), empty when valid.
    skipped : list of str
        Analyses and rows not imported, with the reason.
    notes : list of str
    """

    trials: pd.DataFrame
    record: dict
    problems: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    rows_file: str = "imported-trials.csv"

    @property
    def ok(self) -> bool:
        return not self.problems


def _fmt(value: Any, column: str) -> str:
    """A cell as text: booleans true/false, whole numbers without a decimal point, blanks empty."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def _sha256(path: str) -> str | None:
    """The file's SHA-256; for a folder (an extracted data package), of its files' relative names
    and bytes in name order."""
    p = Path(path)
    try:
        if p.is_dir():
            digest = hashlib.sha256()
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                digest.update(f.relative_to(p).as_posix().encode("utf-8") + b"\0" + f.read_bytes())
            return digest.hexdigest()
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return None


def _source_id(review: ImportedReview, mapping: Mapping) -> str:
    sid = mapping.get("source_id")
    if sid:
        return str(sid)
    base = review.review_id or Path(review.file).stem
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{base}_{'rm5' if review.format == 'revman5' else 'package'}")
    return text if text[0].isalnum() else "R" + text


def _lookup(section: Mapping | None, *keys) -> dict:
    """The first of ``keys`` (as given, or as text) present in ``section``."""
    if not isinstance(section, Mapping):
        return {}
    for key in keys:
        if key is None:
            continue
        for k in (key, str(key)):
            if k in section and isinstance(section[k], Mapping):
                return dict(section[k])
        for k, v in section.items():
            if str(k).strip().lower() == str(key).strip().lower() and isinstance(v, Mapping):
                return dict(v)
    return {}


def _yaml_quote(entries: Mapping) -> str:
    return ", ".join(f"{k}: {_fmt(v, str(k))}" for k, v in entries.items() if _fmt(v, str(k)) != "")


def review_to_trials(review: ImportedReview, mapping: Mapping | None = None, *, file_label: str | None = None,
                     mapping_label: str = "mapping.yaml", rows_file: str = "imported-trials.csv",
                     accessed: str | None = None, validate: bool = True) -> ImportResult:
    """Turn the study rows of ``review`` into trial rows of the schema, with their evidence record.

    Parameters
    ----------
    review : ImportedReview
        From :func:`~trialsynth.data.importers.read_revman5` or
        :func:`~trialsynth.data.importers.read_cochrane_data_package`.
    mapping : mapping, optional
        The reviewer's mapping (module notes). Without one every analysis is converted and the
        rows lack the columns the file cannot give, which the validation reports.
    file_label : str, optional
        How the rows name the file in "imported from FILE, analysis X.Y" (default: its name).
    mapping_label : str
        How the evidence record names the mapping file.
    rows_file : str
        The file name the problems name (where the rows will be written).
    accessed : str, optional
        ISO date of the record's ``accessed`` (default: today, UTC).
    validate : bool
        Run the schema and provenance checks (``result.problems``).
    """
    if not isinstance(review, ImportedReview):
        raise ArgumentError(f"review: expected an ImportedReview, got {type(review).__name__}")
    mapping = dict(mapping or {})
    unknown = set(mapping) - {"source_id", "defaults", "analyses", "studies", "comment", "notes"}
    if unknown:
        raise ArgumentError(f"mapping: unknown key(s) {', '.join(sorted(map(str, unknown)))}; expected source_id, "
                            "defaults, analyses, studies")
    label = file_label or Path(review.file).name
    source_id = _source_id(review, mapping)
    if not S.BY_NAME["source_id"].pattern or not re.fullmatch(S.BY_NAME["source_id"].pattern, source_id):
        raise ArgumentError(f"mapping.source_id: {source_id!r} is not a valid record id (letters, digits, _ . -)")
    url = f"file:{Path(review.file).name}"
    map_url = f"file:{Path(mapping_label).name}"
    accessed = accessed or _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    source_ref = f"doi:{review.doi}" if review.doi else url
    quotes: dict[str, dict] = {}
    if review.root_text:
        quotes["R0"] = {"text": review.root_text, "location": "the review file's root element", "url": url}
    wanted = mapping.get("analyses")
    if wanted is not None and not isinstance(wanted, Mapping):
        raise ArgumentError("mapping.analyses: expected a mapping of analysis id -> settings")
    defaults = dict(mapping.get("defaults") or {})
    all_studies = mapping.get("studies") or {}
    rob_by_study: dict[str, tuple[str | None, str]] = {}
    if len(review.risk_of_bias):
        for study, group in review.risk_of_bias.groupby("study", sort=False):
            general = group[group["analysis_id"].fillna("") == ""]
            use = general if len(general) else group
            level = overall_rob(list(use["rob"]))
            domains = "; ".join(f"{d}: {j}" for d, j in zip(use["domain"], use["judgement"]))
            rob_by_study[str(study)] = (level, domains)
    rows: list[dict] = []
    skipped: list[str] = []
    notes: list[str] = []
    map_quotes_used: set[str] = set()
    for analysis in review.analyses:
        aid = analysis.analysis_id
        if wanted is not None and not _lookup(wanted, aid) and aid not in {str(k) for k in wanted}:
            skipped.append(f"analysis {aid} ({analysis.outcome_name}): not in the mapping")
            continue
        a_map = _lookup(wanted, aid) if wanted is not None else {}
        sub_maps = a_map.pop("subgroups", {}) or {}
        study_maps = a_map.pop("studies", {}) or {}
        skip_studies = a_map.pop("skip_studies", []) or []
        if not isinstance(skip_studies, (list, tuple)):
            raise ArgumentError(f"mapping.analyses.{aid}.skip_studies: expected a list of study names")
        skip_studies = {str(s).strip().lower() for s in skip_studies}
        if analysis.data_type == "generic" and analysis.measure not in _CONTRAST_MEASURES:
            skipped.append(f"analysis {aid}: generic inverse-variance data with measure {analysis.measure}, "
                           f"which the trial schema has no contrast for ({', '.join(_CONTRAST_MEASURES)})")
            continue
        if analysis.method == "PETO":
            notes.append(f"analysis {aid}: Peto odds ratios; rows are entered as their 2x2 counts")
        for rec in review.analysis_rows(aid).to_dict("records"):
            if str(rec["study"]).strip().lower() in skip_studies:
                skipped.append(f"analysis {aid}, {rec['study']}: skipped by the mapping (skip_studies)")
                continue
            s_no = rec["subgroup_no"]
            s_no = None if s_no is None or s_no is pd.NA or (isinstance(s_no, float) and math.isnan(s_no)) \
                else int(s_no)
            levels = [("MD", defaults), (f"M{aid}", a_map),
                      (f"M{aid}_G{s_no}", _lookup(sub_maps, s_no, rec["subgroup"]) if s_no is not None else {}),
                      (f"MS_{study_key(rec['study'])}", _lookup(all_studies, rec["study"])),
                      (f"M{aid}_{study_key(rec['study'])}", _lookup(study_maps, rec["study"]))]
            row = _base_row(review, analysis, rec)
            if row is None:
                skipped.append(f"analysis {aid}, {rec['study']}: no usable numbers (not estimable or not entered)")
                continue
            from_map: list[str] = []
            quote_ids = []
            for qid, entries in levels:
                bad = sorted(set(entries) & FILE_COLUMNS)
                if bad:
                    raise ArgumentError(f"mapping ({qid}): {', '.join(bad)} come from the review file and cannot be set")
                unknown_cols = sorted(set(entries) - set(S.COLUMN_NAMES))
                if unknown_cols:
                    raise ArgumentError(f"mapping ({qid}): unknown column(s) {', '.join(unknown_cols)} "
                                        "(see data/README.md for the schema's columns)")
                for k, v in entries.items():
                    row[k] = v
                numeric = {k: v for k, v in entries.items() if k in _NUMERIC and _fmt(v, k) != ""}
                if numeric:
                    quote_ids.append(qid)
                    from_map += sorted(numeric)
                    if qid not in quotes:
                        where = {"MD": "defaults", f"M{aid}": f"analyses {aid}"}.get(qid, qid)
                        quotes[qid] = {"text": f"{mapping_label} ({where}): {_yaml_quote(numeric)}",
                                       "location": f"the reviewer's mapping {mapping_label} (not the review file)",
                                       "url": map_url}
                        map_quotes_used.add(qid)
            qid = f"A{aid}" + (f"_G{s_no}" if s_no is not None else "") + f"_{study_key(rec['study'])}"
            base = qid
            n = 2
            while qid in quotes and quotes[qid]["text"] != rec["source_text"]:
                qid = f"{base}_{n}"
                n += 1
            quotes[qid] = {"text": rec["source_text"],
                           "location": f"analysis {aid}" + (f", subgroup {s_no} ({rec['subgroup']})" if s_no else "")
                                       + f", study {rec['study']} ({rec['source_location']})",
                           "url": url}
            if not row.get("intervention_label"):
                row["intervention_label"] = analysis.group_label_1
            if not row.get("comparator_label"):
                row["comparator_label"] = analysis.group_label_2
            level, domains = rob_by_study.get(str(rec["study"]), (None, ""))
            if level and not row.get("rob"):
                row["rob"] = level
                row["rob_source"] = f"imported from {label}, risk-of-bias table ({domains})"
            row.update(source_id=source_id, source_ref=source_ref, source_location=f"imported from {label}, analysis {aid}",
                       quote_ids=";".join([qid] + quote_ids))
            note = [f"imported from {label}, analysis {aid} ({analysis.comparison_name}; {analysis.outcome_name}"
                    + (f"; subgroup {rec['subgroup']}" if rec["subgroup"] else "") + f"; {analysis.method_text})"]
            if from_map:
                note.append(f"{', '.join(sorted(set(from_map)))} from the reviewer's mapping, not the review file")
            if rec.get("footnotes"):
                note.append(f"file footnote: {rec['footnotes']}")
            if row.get("notes"):
                note.append(str(row["notes"]))
            row["notes"] = "; ".join(note)
            rows.append(row)
    frame = pd.DataFrame([{c: _fmt(r.get(c), c) for c in S.COLUMN_NAMES} for r in rows], columns=list(S.COLUMN_NAMES))
    record = {
        "id": source_id,
        "kind": "review_file",
        "citation": (f"{review.title or 'Untitled review'}. Review file {Path(review.file).name} "
                     f"({'RevMan 5' if review.format == 'revman5' else 'Cochrane data package'}), imported by "
                     "trialsynth import-revman" + (f"; doi {review.doi}" if review.doi else "")),
        "file": Path(review.file).name,
        "sha256": _sha256(review.file),
        "format": review.format,
        "urls": [{"url": url, "accessed": accessed,
                  "what": "the review file as imported; its quotes are the stored values of each study row"}],
        "quotes": quotes,
        "notes": ("A review file carries no quotes: each quote here is a study row's stored values as the file "
                  "holds them, so every imported number can be checked against the file. Quotes whose url is the "
                  "mapping are the reviewer's settings, not the file's."),
    }
    if review.doi:
        record["doi"] = review.doi
    if map_quotes_used:
        record["urls"].append({"url": map_url, "accessed": accessed,
                               "what": "the reviewer's mapping of the file's analyses to the trial schema"})
    result = ImportResult(trials=frame, record=record, skipped=skipped, notes=notes, rows_file=rows_file)
    if validate:
        result.problems = validate_import(frame, record, rows_file=rows_file)
    return result


def _base_row(review: ImportedReview, analysis: ReviewAnalysis, rec: Mapping) -> dict | None:
    """The columns the file gives for one study row (None when it has no usable numbers)."""
    fin = lambda x: x is not None and isinstance(x, (int, float)) and math.isfinite(x)  # noqa: E731
    row: dict = {"study_id": study_key(rec["study"]),
                 "comparison_id": f"revman_c{analysis.comparison_no}"}
    year = str(rec.get("year") or "").strip()
    if year.endswith(".0"):
        year = year[:-2]
    row["year"] = year or None
    if analysis.data_type == "dichotomous":
        if not all(fin(rec[k]) for k in ("events1", "n1", "events2", "n2")):
            return None
        row.update(data_shape="arm_binary", events1=rec["events1"], n1=rec["n1"], events2=rec["events2"],
                   n2=rec["n2"])
    elif analysis.data_type == "continuous":
        if not all(fin(rec[k]) for k in ("mean1", "sd1", "n1", "mean2", "sd2", "n2")):
            return None
        row.update(data_shape="arm_continuous", n1=rec["n1"], mean1=rec["mean1"], sd1=rec["sd1"],
                   n2=rec["n2"], mean2=rec["mean2"], sd2=rec["sd2"])
    else:
        if not (fin(rec["giv_estimate"]) and fin(rec["giv_se"])) or rec["giv_se"] <= 0:
            return None
        measure = analysis.measure
        if analysis.log_scale:
            # the display value the file stores (a ratio), its log's SE as entered
            effect = rec["effect"] if fin(rec["effect"]) else math.exp(rec["giv_estimate"])
        else:
            effect = rec["giv_estimate"]
        row.update(data_shape="contrast", effect_measure=measure, effect=effect, effect_se=rec["giv_se"])
        if fin(rec["n1"]):
            row["n1"] = rec["n1"]
        if fin(rec["n2"]):
            row["n2"] = rec["n2"]
    return row


def validate_import(frame: pd.DataFrame, record: Mapping, *, rows_file: str) -> list[Problem]:
    """Schema problems (:func:`trialsynth.data.loading.validate_raw`) and provenance problems
    (:mod:`trialsynth.data.provenance`) of imported rows against their record."""
    from trialsynth.data import provenance
    from trialsynth.data.io import RawTable
    from trialsynth.data.loading import validate_raw

    header = list(S.COLUMN_NAMES)
    raw = RawTable(path=rows_file, header=header,
                   rows=[(i + 2, [str(v) for v in r]) for i, r in enumerate(frame[header].itertuples(index=False))],
                   encoding="utf-8", delimiter=",")
    problems, _parsed = validate_raw(raw)
    records = {record["id"]: dict(record)}
    extra = (provenance.check_records(records, directory="evidence") + provenance.check_identifiers(records)
             + provenance.check_trials(frame.astype(object), records, file=rows_file))
    return provenance.combine_problems(problems, extra)


def mapping_template(review: ImportedReview) -> str:
    """A mapping (YAML text) for ``review`` to fill in: every analysis with its subgroups and the
    columns the file cannot give, blank, with the file's names as comments."""
    lines = ["# trialsynth import-revman mapping: fill in the blanks, delete the analyses not to import.",
             f"# file: {Path(review.file).name} ({review.format}); {review.title}",
             "# columns: see data/README.md; values the file holds (n, events, means, SDs) are read from it.",
             f"source_id: {_source_id(review, {})}",
             "defaults:",
             "  condition:          # chronic_lbp, acute_lbp, subacute_lbp, acute_subacute_lbp, sciatica, mixed_lbp",
             "  intervention_type:  # manual, electro, manual_or_electro, trigger_point, ...",
             "  add_on: false",
             "analyses:"]
    for a in review.analyses:
        lines += [f'  "{a.analysis_id}":   # {a.comparison_name} | {a.outcome_name} | {a.data_type}, {a.measure}, '
                  f"{a.method_text}",
                  f"    comparison_id: revman_c{a.comparison_no}",
                  "    comparator_class:   # sham, no_treatment, usual_care, active",
                  "    outcome:            # pain, function, responder, quality_of_life, global",
                  "    scale:              # VAS, NRS, RMDQ, ODI, HFAQ, SF36_BP, SF12_PCS, CPGS, responder, other",
                  "    higher_is_better:"]
        if a.data_type == "continuous":
            lines.append("    value_type:         # final or change")
        lines.append("    timepoint_weeks:")
        lines.append("    weeks_after_treatment:")
        subs = a.subgroups or [{"subgroup_no": int(s), "name": n} for s, n in
                               review.analysis_rows(a.analysis_id)[["subgroup_no", "subgroup"]].dropna().drop_duplicates()
                               .itertuples(index=False)]
        if subs:
            lines.append("    subgroups:")
            for s in subs:
                lines.append(f"      {s['subgroup_no']}:   # {s['name']}")
                lines.append("        timepoint_weeks:")
                lines.append("        weeks_after_treatment:")
    return "\n".join(lines) + "\n"
