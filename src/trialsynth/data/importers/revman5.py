"""Read a RevMan 5 review file (``.rm5``, XML) into an :class:`~trialsynth.data.importers.review.ImportedReview`.

Layout (as RevMan 5.2 writes it; read from the public file ``antibiotics-for-sore-throat.rm5``,
Spinks, Glasziou & Del Mar, Cochrane review CD000023, doi:10.1002/14651858.CD000023.pub4, shipped
as test data of the MIT-licensed reader github.com/IEBH/revman, and from the Cochrane Handbook 5.1
section 9.4 for the methods)::

    COCHRANE_REVIEW (DOI, REVMAN_VERSION)
      COVER_SHEET / TITLE
      STUDIES_AND_REFERENCES / STUDIES / INCLUDED_STUDIES / STUDY (ID, NAME, YEAR)
      QUALITY_ITEMS / QUALITY_ITEM (NAME = the domain, LEVEL STUDY or GROUP)
          / QUALITY_ITEM_DATA / QUALITY_ITEM_DATA_ENTRY (STUDY_ID, RESULT YES/NO/UNKNOWN, DESCRIPTION)
      ANALYSES_AND_DATA / COMPARISON (NO) / NAME
          DICH_OUTCOME | CONT_OUTCOME | IV_OUTCOME (NO, EFFECT_MEASURE, METHOD IV/MH/PETO,
              RANDOM YES/NO, SUBGROUPS, TOTALS, CI_TOTAL, and the stored pooled result:
              EFFECT_SIZE, CI_START, CI_END, TAU2, CHI2, DF, P_CHI2, I2, Z, P_Z, Q, P_Q, I2_Q)
              NAME, GROUP_LABEL_1/2, GRAPH_LABEL_1/2
              [DICH|CONT|IV]_SUBGROUP (NO, NAME, its stored result) / ..._DATA
              [DICH|CONT|IV]_DATA (STUDY_ID; EVENTS_1 TOTAL_1 EVENTS_2 TOTAL_2 | MEAN_1 SD_1
                  TOTAL_1 MEAN_2 SD_2 TOTAL_2 | ESTIMATE SE; and EFFECT_SIZE, CI_START, CI_END, WEIGHT)

Continuous data use ``MEAN_1``/``SD_1``/``TOTAL_1`` (the same naming as the dichotomous
``EVENTS_1``/``TOTAL_1``); generic inverse-variance rows carry the estimate as entered
(``ESTIMATE``: natural log for ratio measures, Cochrane Handbook 5.1, 9.4.3.2) and its ``SE``;
the outcome's measure is its ``EFFECT_MEASURE`` attribute or child element. These two were not
in the public file above (it has only dichotomous outcomes) and follow RevMan's naming; a file
that lacks them is reported, not guessed.

Traps handled (each leaves a note in :attr:`ImportedReview.notes` or the analysis' ``notes``):

* ``Z`` is stored unsigned: the sign is taken from the stored estimate;
* values never computed are stored as zeros: ``TAU2`` of a fixed-effect analysis, ``Q``/``P_Q``
  /``I2_Q`` of an analysis without subgroups, ``I2`` and ``P_CHI2`` when ``DF`` is 0, ``O_E`` and
  ``VAR`` of non-IPD rows, ``TOTAL_1``/``TOTAL_2`` of 0 on generic inverse-variance rows, all-zero
  arms of continuous rows, and everything of a row or result marked ``ESTIMABLE="NO"``: all NaN;
* the ``LOG_*`` attributes are base-10 logarithms: they are not used (ratios are read from
  ``EFFECT_SIZE``);
* the encoding (RevMan writes ``ISO-8859-1``) and unescaped characters: see :mod:`._safe`;
* footnote elements inside data rows or names: their text goes to ``footnotes`` and never into
  a name or a number.
"""

from __future__ import annotations

import math
import os
import re

from trialsynth.data.importers._safe import parse_xml, read_bytes_limited, MAX_XML_BYTES
from trialsynth.data.importers.review import (
    LOG_MEASURES,
    ImportedReview,
    ReviewAnalysis,
    empty_rob,
    normalise_measure,
    overall_rob,
    rob_level,
    rows_frame,
)
from trialsynth.errors import Problem, TrialDataError

__all__ = ["read_revman5"]

_KINDS = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic"}
_NOT_READ = {"IPD": "individual patient data (O-E and variance)", "OTHER": "'other data' (text only)"}


def _is_footnote(tag: str) -> bool:
    return "FOOTNOTE" in tag.upper()


def _text(element) -> str:
    """The element's text without the text of footnote children, whitespace collapsed."""
    if element is None:
        return ""
    parts = [element.text or ""]
    for child in element:
        if not _is_footnote(child.tag):
            parts.append(_text(child))
        parts.append(child.tail or "")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _footnotes(element) -> str:
    notes = []
    for child in element.iter():
        if child is not element and _is_footnote(child.tag):
            text = re.sub(r"\s+", " ", "".join(child.itertext())).strip()
            if text:
                notes.append(text)
    return "; ".join(notes)


def _attr_text(element) -> str:
    """The element's tag and attributes as stored, e.g. ``DICH_DATA EVENTS_1="119" TOTAL_1="277"``."""
    skip = {"MODIFIED", "MODIFIED_BY", "ORDER"}
    return element.tag + " " + " ".join(f'{k}="{v}"' for k, v in element.attrib.items() if k not in skip)


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.notes: list[str] = []
        self.problems: list[Problem] = []

    def number(self, element, name: str, where: str) -> float:
        raw = element.attrib.get(name)
        if raw is None or not raw.strip():
            return math.nan
        text = raw.strip().replace("\u2212", "-")
        try:
            value = float(text)
        except ValueError:
            self.problems.append(Problem(self.file, None, name, raw, f"{where}: not a number"))
            return math.nan
        return value if math.isfinite(value) else math.nan


def _yes(element, name: str, default: bool = False) -> bool:
    value = element.attrib.get(name)
    if value is None:
        return default
    return value.strip().upper() in ("YES", "TRUE", "1")


def _study_name_from_id(study_id: str) -> str:
    """``STD-Kerr-2003`` -> ``Kerr 2003``; RevMan escapes characters as ``_x002d_`` (XML names)."""
    text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), study_id)
    text = re.sub(r"^STD-", "", text)
    return text.replace("-", " ").strip()


def read_revman5(path: str | os.PathLike) -> ImportedReview:
    """Read a RevMan 5 ``.rm5`` file: analyses, study rows, risk of bias.

    Parameters
    ----------
    path : path-like
        The ``.rm5`` file (XML). It is read as untrusted input: a document type declaration
        (entity expansion, external entities) is refused, the size is limited to
        :data:`~trialsynth.data.importers._safe.MAX_XML_BYTES`.

    Returns
    -------
    ImportedReview
        ``format="revman5"``; see :mod:`trialsynth.data.importers.review`.

    Raises
    ------
    TrialDataError
        Naming the file (and the element) when the file cannot be read safely or is not a
        RevMan 5 review.
    """
    name = os.fspath(path)
    data = read_bytes_limited(name, max_bytes=MAX_XML_BYTES, what="RevMan file")
    root, encoding, notes = parse_xml(data, name)
    if root.tag != "COCHRANE_REVIEW":
        raise TrialDataError([Problem(name, None, None, root.tag,
                                      "is XML but not a RevMan 5 review: its root element is not COCHRANE_REVIEW")])
    reader = _Reader(name)
    reader.notes.extend(notes)
    title = _text(root.find("COVER_SHEET/TITLE"))
    doi = (root.attrib.get("DOI") or "").strip() or None
    review_no = (root.attrib.get("REVIEW_NO") or "").strip() or None
    review_id = None
    if doi:
        m = re.search(r"(CD\d{6})", doi)
        review_id = m.group(1) if m else None
    studies = {}
    for st in root.iterfind("STUDIES_AND_REFERENCES/STUDIES/INCLUDED_STUDIES/STUDY"):
        sid = st.attrib.get("ID", "")
        year = st.attrib.get("YEAR", "")
        studies[sid] = (st.attrib.get("NAME") or _study_name_from_id(sid), year)

    analyses: list[ReviewAnalysis] = []
    records: list[dict] = []
    block = root.find("ANALYSES_AND_DATA")
    if block is None:
        reader.notes.append("the file has no ANALYSES_AND_DATA section: no analyses to read")
    else:
        for comparison in block.iterfind("COMPARISON"):
            c_no = comparison.attrib.get("NO", "").strip()
            c_name = _text(comparison.find("NAME"))
            for outcome in comparison:
                tag = outcome.tag
                kind = tag.split("_")[0]
                if not tag.endswith("_OUTCOME"):
                    continue
                o_no = outcome.attrib.get("NO", "").strip()
                aid = f"{c_no}.{o_no}"
                if kind in _NOT_READ:
                    reader.notes.append(f"analysis {aid} ({_text(outcome.find('NAME'))}) holds {_NOT_READ[kind]}: not read")
                    continue
                if kind not in _KINDS:
                    reader.notes.append(f"analysis {aid}: unknown outcome element {tag}: not read")
                    continue
                analysis = _analysis(reader, outcome, kind, aid, c_no, o_no, c_name)
                analyses.append(analysis)
                records.extend(_data_rows(reader, outcome, kind, analysis, studies))
    rob = _risk_of_bias(root, studies)
    if reader.problems:
        raise TrialDataError(reader.problems)
    for a in analyses:
        reader.notes.extend(f"analysis {a.analysis_id}: {n}" for n in a.notes)
    if any(math.isfinite(a.overall.get("z", math.nan)) or any(math.isfinite(s["stored"].get("z", math.nan))
                                                             for s in a.subgroups) for a in analyses):
        reader.notes.append("Z is stored unsigned: signed from each stored estimate")
    root_text = "COCHRANE_REVIEW " + " ".join(f'{k}="{v}"' for k, v in root.attrib.items()
                                              if k in ("DOI", "REVIEW_NO", "TYPE", "REVMAN_VERSION", "VERSION_NO"))
    if review_id is None and review_no:
        review_id = review_no
    return ImportedReview(file=name, format="revman5", title=title, doi=doi, review_id=review_id,
                          analyses=analyses, rows=rows_frame(records), risk_of_bias=rob, encoding=encoding,
                          notes=reader.notes, root_text=root_text)


def _stored(reader: _Reader, element, where: str, *, log: bool, random: bool, subgroup_test: bool) -> tuple[dict, dict]:
    """The pooled result an outcome or subgroup element stores, with never-computed values NaN."""
    num = lambda key: reader.number(element, key, where)  # noqa: E731
    keys = {"estimate": "EFFECT_SIZE", "ci_low": "CI_START", "ci_high": "CI_END", "tau2": "TAU2", "q": "CHI2",
            "df": "DF", "p_q": "P_CHI2", "i2": "I2", "z": "Z", "p_z": "P_Z", "k": "STUDIES", "n1": "TOTAL_1",
            "n2": "TOTAL_2", "events1": "EVENTS_1", "events2": "EVENTS_2"}
    out = {k: num(v) for k, v in keys.items()}
    text = {k: element.attrib.get(v, "") for k, v in keys.items()}
    estimable = element.attrib.get("ESTIMABLE", "YES").strip().upper() != "NO"
    if not estimable:
        for k in ("estimate", "ci_low", "ci_high", "z", "p_z", "tau2", "q", "df", "p_q", "i2"):
            out[k] = math.nan
    if log and out["estimate"] == 0 and out["ci_low"] == 0 and out["ci_high"] == 0:
        for k in ("estimate", "ci_low", "ci_high", "z", "p_z"):
            out[k] = math.nan  # a ratio of 0 (0 to 0) is RevMan's "not computed"
    if not random:
        out["tau2"] = math.nan
    if out["df"] == 0 or math.isnan(out["df"]):
        out["i2"] = math.nan
        out["p_q"] = math.nan
    # z is stored unsigned: give it the estimate's sign
    if math.isfinite(out["z"]) and math.isfinite(out["estimate"]):
        centre = math.log(out["estimate"]) if log and out["estimate"] > 0 else out["estimate"]
        out["z"] = math.copysign(abs(out["z"]), centre) if centre != 0 else abs(out["z"])
    out["events1"] = out["events1"] if element.tag.startswith("DICH") else math.nan
    out["events2"] = out["events2"] if element.tag.startswith("DICH") else math.nan
    return out, text


def _analysis(reader, outcome, kind, aid, c_no, o_no, c_name) -> ReviewAnalysis:
    where = f"analysis {aid}"
    measure_attr = outcome.attrib.get("EFFECT_MEASURE")
    if measure_attr is None:
        child = outcome.find("EFFECT_MEASURE")
        measure_attr = _text(child) if child is not None else None
    measure = normalise_measure(measure_attr)
    notes: list[str] = []
    method = (outcome.attrib.get("METHOD") or "").strip().upper()
    if measure == "PETO_OR" or method == "PETO":
        method, measure = "PETO", "PETO_OR"
    if method not in ("IV", "MH", "PETO"):
        if kind == "DICH":
            reader.problems.append(Problem(reader.file, None, "METHOD", method,
                                           f"{where}: unknown statistical method (expected IV, MH or PETO)"))
        method = "IV"
    if measure is None:
        reader.problems.append(Problem(reader.file, None, "EFFECT_MEASURE", None, f"{where}: no effect measure"))
        measure = "OTHER"
    random = _yes(outcome, "RANDOM")
    log_attr = outcome.attrib.get("LOG_DATA")
    log = measure in LOG_MEASURES if log_attr is None else _yes(outcome, "LOG_DATA")
    has_subgroups = _yes(outcome, "SUBGROUPS")
    subgroup_test = has_subgroups and _yes(outcome, "SUBGROUP_TEST", default=True)
    totals_attr = (outcome.attrib.get("TOTALS") or "YES").strip().upper()
    totals = totals_attr == "YES"
    overall, overall_text = _stored(reader, outcome, where, log=log, random=random, subgroup_test=subgroup_test)
    if not totals:
        notes.append(f"TOTALS={totals_attr}: the file shows no overall result; its stored totals are not compared")
        for k in ("estimate", "ci_low", "ci_high", "z", "p_z", "tau2", "q", "p_q", "i2"):
            overall[k] = math.nan
    diff = {"q": reader.number(outcome, "Q", where), "p": reader.number(outcome, "P_Q", where),
            "i2": reader.number(outcome, "I2_Q", where), "df": reader.number(outcome, "DF_Q", where)}
    diff_text = {"q": outcome.attrib.get("Q", ""), "p": outcome.attrib.get("P_Q", ""),
                 "i2": outcome.attrib.get("I2_Q", ""), "df": outcome.attrib.get("DF_Q", "")}
    if not subgroup_test:
        diff = {k: math.nan for k in diff}
    subgroups = []
    for sub in outcome.iterfind(f"{kind}_SUBGROUP"):
        s_no = int(float(sub.attrib.get("NO", "0") or 0))
        stored, stored_text = _stored(reader, sub, f"{where}, subgroup {s_no}", log=log, random=random,
                                      subgroup_test=False)
        subgroups.append({"subgroup_no": s_no, "name": _text(sub.find("NAME")), "stored": stored,
                          "stored_text": stored_text})
    n_est = sum(1 for s in subgroups if math.isfinite(s["stored"].get("estimate", math.nan)))
    if subgroup_test and n_est < 2:
        notes.append(f"{n_est} estimable subgroup(s): the stored test for subgroup differences was never computed")
        diff = {k: math.nan for k in diff}
    return ReviewAnalysis(
        analysis_id=aid, comparison_no=int(float(c_no or 0)), outcome_no=int(float(o_no or 0)),
        comparison_name=c_name, outcome_name=_text(outcome.find("NAME")), data_type=_KINDS[kind],
        measure=measure, method=method, model="random" if random else "fixed", estimator="DL", ci_method="Wald",
        log_scale=log, ci_level=_level(reader, outcome, where),
        group_label_1=_text(outcome.find("GROUP_LABEL_1")), group_label_2=_text(outcome.find("GROUP_LABEL_2")),
        graph_label_1=_text(outcome.find("GRAPH_LABEL_1")), graph_label_2=_text(outcome.find("GRAPH_LABEL_2")),
        has_subgroups=has_subgroups, subgroup_test=subgroup_test, totals=totals,
        swap_events=_yes(outcome, "SWAP_EVENTS"), overall=overall, overall_text=overall_text,
        subgroups=subgroups, subgroup_difference=diff, subgroup_difference_text=diff_text,
        location=f"COMPARISON {c_no} / {outcome.tag} {o_no}", notes=notes)


def _level(reader, outcome, where) -> float:
    value = reader.number(outcome, "CI_TOTAL", where)
    return value if math.isfinite(value) and 0 < value < 100 else 95.0


def _data_rows(reader, outcome, kind, analysis: ReviewAnalysis, studies) -> list[dict]:
    out = []
    containers = [(None, "", outcome)] + [(int(float(s.attrib.get("NO", "0") or 0)), _text(s.find("NAME")), s)
                                          for s in outcome.iterfind(f"{kind}_SUBGROUP")]
    for s_no, s_name, container in containers:
        for row in container.iterfind(f"{kind}_DATA"):
            sid = row.attrib.get("STUDY_ID", "").strip()
            study, year = studies.get(sid, (_study_name_from_id(sid), ""))
            if not year:
                m = re.search(r"(1[89]\d\d|20\d\d)", study)
                year = m.group(1) if m else ""
            where = f"analysis {analysis.analysis_id}, study {study}"
            num = lambda key: reader.number(row, key, where)  # noqa: E731
            rec = {"analysis_id": analysis.analysis_id, "subgroup_no": s_no, "subgroup": s_name, "study": study,
                   "file_study_id": sid, "year": year, "footnotes": _footnotes(row),
                   "source_text": _attr_text(row),
                   "source_location": analysis.location + (f" / subgroup {s_no}" if s_no is not None else "")}
            for key in ("events1", "n1", "events2", "n2", "mean1", "sd1", "mean2", "sd2", "giv_estimate", "giv_se"):
                rec[key] = math.nan
            if kind == "DICH":
                rec.update(events1=num("EVENTS_1"), n1=num("TOTAL_1"), events2=num("EVENTS_2"), n2=num("TOTAL_2"))
            elif kind == "CONT":
                rec.update(mean1=num("MEAN_1"), sd1=num("SD_1"), n1=num("TOTAL_1"),
                           mean2=num("MEAN_2"), sd2=num("SD_2"), n2=num("TOTAL_2"))
                for arm in ("1", "2"):
                    if rec[f"mean{arm}"] == 0 and rec[f"sd{arm}"] == 0 and rec[f"n{arm}"] == 0:
                        rec[f"mean{arm}"] = rec[f"sd{arm}"] = rec[f"n{arm}"] = math.nan
                        analysis.notes.append(f"{study}: arm {arm} is all zeros (not entered): read as missing")
            else:
                estimate = num("ESTIMATE")
                if math.isnan(estimate) and "ESTIMATE" not in row.attrib:
                    effect = num("EFFECT_SIZE")
                    estimate = (math.log(effect) if analysis.log_scale and effect > 0 else effect) \
                        if math.isfinite(effect) else math.nan
                    analysis.notes.append(f"{study}: no ESTIMATE attribute; the estimate is taken from EFFECT_SIZE")
                rec.update(giv_estimate=estimate, giv_se=num("SE"), n1=num("TOTAL_1"), n2=num("TOTAL_2"))
                for arm in ("n1", "n2"):
                    if rec[arm] == 0:
                        rec[arm] = math.nan  # 0 = not given
            estimable = row.attrib.get("ESTIMABLE", "YES").strip().upper() != "NO"
            rec["estimable"] = estimable
            rec["value_texts"] = {k: row.attrib.get(a, "") for k, a in (("effect", "EFFECT_SIZE"), ("ci_low", "CI_START"),
                                                                         ("ci_high", "CI_END"), ("weight", "WEIGHT"))}
            if estimable:
                rec.update(weight=num("WEIGHT"), effect=num("EFFECT_SIZE"), ci_low=num("CI_START"),
                           ci_high=num("CI_END"))
            else:
                rec.update(weight=math.nan, effect=math.nan, ci_low=math.nan, ci_high=math.nan)
            out.append(rec)
    return out


def _risk_of_bias(root, studies) -> "object":
    import pandas as pd

    records = []
    for item in root.iterfind("QUALITY_ITEMS/QUALITY_ITEM"):
        domain = _text(item.find("NAME"))
        groups = {g.attrib.get("ID", ""): _text(g.find("NAME")) for g in item.iterfind("QUALITY_ITEM_DATA_ENTRY_GROUP")}
        for entry in item.iterfind("QUALITY_ITEM_DATA/QUALITY_ITEM_DATA_ENTRY"):
            sid = entry.attrib.get("STUDY_ID", "")
            judgement = entry.attrib.get("RESULT", "")
            group = groups.get(entry.attrib.get("GROUP_ID", ""), "")
            records.append({"study": studies.get(sid, (_study_name_from_id(sid), ""))[0], "file_study_id": sid,
                            "domain": domain + (f" ({group})" if group else ""), "judgement": judgement,
                            "rob": rob_level(judgement), "support": _text(entry.find("DESCRIPTION")),
                            "tool": "RoB 1", "analysis_id": ""})
    if not records:
        return empty_rob()
    frame = pd.DataFrame(records)
    return frame


def study_overall_rob(risk_of_bias) -> dict[str, str | None]:
    """Study name -> overall judgement (:func:`~trialsynth.data.importers.review.overall_rob`)."""
    if risk_of_bias is None or len(risk_of_bias) == 0:
        return {}
    return {study: overall_rob(list(group["rob"])) for study, group in risk_of_bias.groupby("study", sort=False)}
