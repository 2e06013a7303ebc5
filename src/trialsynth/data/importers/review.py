"""What a review file holds, read into one structure whatever its format.

:func:`~trialsynth.data.importers.revman5.read_revman5` (RevMan 5 ``.rm5`` XML) and
:func:`~trialsynth.data.importers.cochrane_package.read_cochrane_data_package` (the zip of CSVs
that RevMan Web and the Cochrane Library export) both return an :class:`ImportedReview`:

* ``analyses``: one :class:`ReviewAnalysis` per analysis ``X.Y`` (comparison X, outcome Y) with
  its data type, effect measure, the statistical method and model the file names, the group and
  graph labels, and the pooled results the file stores (overall, per subgroup, and the test for
  subgroup differences) exactly as stored, with the values that were never computed set to NaN;
* ``rows``: one row per study x analysis x subgroup with the numbers the file holds
  (:data:`ROW_COLUMNS`), each with ``source_text``, the stored values verbatim, which the
  import quotes as its provenance, and ``value_texts``, the stored strings of its effect, CI and
  weight;
* ``risk_of_bias``: one row per study x domain (:data:`ROB_COLUMNS`), where the file has them.

Values stored as text are kept beside the numbers (``stored_text``) so that a comparison can
tell how many digits the file kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from trialsynth.errors import ArgumentError

#: columns of :attr:`ImportedReview.rows`
ROW_COLUMNS: tuple[str, ...] = (
    "analysis_id", "subgroup_no", "subgroup", "study", "file_study_id", "year",
    "events1", "n1", "events2", "n2", "mean1", "sd1", "mean2", "sd2", "giv_estimate", "giv_se",
    "weight", "effect", "ci_low", "ci_high", "estimable", "footnotes", "source_text", "source_location",
    "value_texts",
)

#: columns of :attr:`ImportedReview.risk_of_bias`
ROB_COLUMNS: tuple[str, ...] = ("study", "file_study_id", "domain", "judgement", "rob", "support",
                                "tool", "analysis_id")

#: stored result keys (every one may be NaN: not stored or never computed)
STORED_KEYS: tuple[str, ...] = ("estimate", "ci_low", "ci_high", "tau2", "q", "df", "p_q", "i2",
                                "z", "p_z", "k", "n1", "n2", "events1", "events2")

DATA_TYPES = ("dichotomous", "continuous", "generic")
METHODS = ("IV", "MH", "PETO")
MODELS = ("fixed", "random")

#: effect measures analysed on the log scale (display as ratios)
LOG_MEASURES = frozenset({"RR", "OR", "PETO_OR", "HR", "IRR", "ROM"})

# the spellings files use for measures, lower-cased, without punctuation
_MEASURE_NAMES = {
    "rr": "RR", "risk ratio": "RR", "relative risk": "RR",
    "or": "OR", "odds ratio": "OR",
    "rd": "RD", "risk difference": "RD",
    "peto_or": "PETO_OR", "peto or": "PETO_OR", "peto odds ratio": "PETO_OR",
    "md": "MD", "mean difference": "MD", "wmd": "MD", "weighted mean difference": "MD",
    "smd": "SMD", "std mean difference": "SMD", "standardised mean difference": "SMD",
    "standardized mean difference": "SMD",
    "hr": "HR", "hazard ratio": "HR",
    "rate ratio": "IRR", "irr": "IRR",
}


def normalise_measure(text: str | None) -> str | None:
    """``"Std. Mean Difference"`` -> ``"SMD"``, ``"Risk Ratio"`` -> ``"RR"``; None when blank.

    A measure the table does not know is returned upper-cased (``"OTHER"``)."""
    if text is None or not str(text).strip():
        return None
    key = re.sub(r"[.,()]", "", str(text)).strip().lower()
    key = re.sub(r"\s+", " ", key)
    return _MEASURE_NAMES.get(key, str(text).strip().upper())


def study_key(name: str) -> str:
    """A schema ``study_id`` from a study name: ``"Kerr 2003"`` -> ``"Kerr2003"``,
    ``"El-Daher 1991"`` -> ``"ElDaher1991"``, ``"3000 Non Carriers 2016"`` -> ``"S3000NonCarriers2016"``."""
    text = re.sub(r"[^A-Za-z0-9_]", "", str(name or ""))
    if not text:
        return "Study"
    return text if text[0].isalpha() else "S" + text


@dataclass
class ReviewAnalysis:
    """One analysis of a review file (comparison X, outcome Y: ``analysis_id`` ``"X.Y"``).

    ``overall`` and every entry of ``subgroups`` map :data:`STORED_KEYS` to the values the file
    stores (NaN where it stores none or the value was never computed); estimates and CIs are on
    the display scale (ratios as ratios), ``z`` is signed (files store it unsigned; the sign is
    the estimate's) and ``*_text`` keep the stored strings.
    """

    analysis_id: str
    comparison_no: int
    outcome_no: int
    comparison_name: str
    outcome_name: str
    data_type: str
    measure: str
    method: str
    model: str
    estimator: str = "DL"
    ci_method: str = "Wald"
    log_scale: bool = False
    ci_level: float = 95.0
    group_label_1: str = ""
    group_label_2: str = ""
    graph_label_1: str = ""
    graph_label_2: str = ""
    has_subgroups: bool = False
    subgroup_test: bool = False
    totals: bool = True
    swap_events: bool = False
    overall: dict = field(default_factory=dict)
    overall_text: dict = field(default_factory=dict)
    subgroups: list = field(default_factory=list)
    subgroup_difference: dict = field(default_factory=dict)
    subgroup_difference_text: dict = field(default_factory=dict)
    location: str = ""
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        """``"Analysis 5.1: Acupuncture vs sham, Pain"``."""
        return f"Analysis {self.analysis_id}: {self.comparison_name}, {self.outcome_name}"

    @property
    def method_text(self) -> str:
        """RevMan's short form: ``"IV, Random, 95% CI"``, ``"M-H, Fixed, 95% CI"``."""
        method = {"IV": "IV", "MH": "M-H", "PETO": "Peto"}[self.method]
        model = "Random" if self.model == "random" else "Fixed"
        extra = f", {self.estimator}" if self.model == "random" and self.estimator != "DL" else ""
        extra += ", HKSJ" if self.ci_method.upper() == "HKSJ" else ""
        return f"{method}, {model}{extra}, {self.ci_level:g}% CI"


@dataclass
class ImportedReview:
    """A review file read by one of the importers (see the module notes)."""

    file: str
    format: str
    title: str
    doi: str | None
    review_id: str | None
    analyses: list
    rows: pd.DataFrame
    risk_of_bias: pd.DataFrame
    encoding: str = "utf-8"
    notes: list = field(default_factory=list)
    root_text: str = ""

    def analysis(self, analysis_id: str) -> ReviewAnalysis:
        """The analysis ``"X.Y"`` (ArgumentError listing the ones there are)."""
        for a in self.analyses:
            if a.analysis_id == str(analysis_id):
                return a
        known = ", ".join(a.analysis_id for a in self.analyses) or "none"
        raise ArgumentError(f"analysis_id: {self.file} has no analysis {analysis_id!r} (it has {known})")

    def analysis_rows(self, analysis_id: str, subgroup_no: int | None = None) -> pd.DataFrame:
        """The study rows of one analysis (of one subgroup when ``subgroup_no`` is given)."""
        self.analysis(analysis_id)
        rows = self.rows[self.rows["analysis_id"] == str(analysis_id)]
        if subgroup_no is not None:
            rows = rows[rows["subgroup_no"] == subgroup_no]
        return rows

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: id, names, data type, measure, method, model, k, stored overall result."""
        records = []
        for a in self.analyses:
            rec = {"analysis_id": a.analysis_id, "comparison": a.comparison_name, "outcome": a.outcome_name,
                   "data_type": a.data_type, "measure": a.measure, "method": a.method, "model": a.model,
                   "method_text": a.method_text, "subgroups": len(a.subgroups),
                   "k_rows": int((self.rows["analysis_id"] == a.analysis_id).sum())}
            rec.update({f"stored_{k}": a.overall.get(k, math.nan) for k in STORED_KEYS})
            records.append(rec)
        return pd.DataFrame(records)

    def summary(self) -> str:
        """A few lines: the file, its title, analyses by data type, rows, risk-of-bias entries, notes."""
        kinds = pd.Series([a.data_type for a in self.analyses]).value_counts().to_dict() if self.analyses else {}
        lines = [f"{self.file} ({self.format}): {self.title or 'untitled'}"
                 + (f", doi:{self.doi}" if self.doi else ""),
                 f"  {len(self.analyses)} analyses ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items())) or 'none'}), "
                 f"{len(self.rows)} study rows, {self.rows['study'].nunique() if len(self.rows) else 0} studies, "
                 f"{len(self.risk_of_bias)} risk-of-bias judgements"]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ImportedReview(file={self.file!r}, format={self.format!r}, analyses={len(self.analyses)}, "
                f"rows={len(self.rows)})")


def empty_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ROW_COLUMNS})


def empty_rob() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ROB_COLUMNS})


def rows_frame(records: list[Mapping]) -> pd.DataFrame:
    """The study rows as a DataFrame with :data:`ROW_COLUMNS` (numbers as float)."""
    if not records:
        return empty_rows()
    frame = pd.DataFrame(records, columns=list(ROW_COLUMNS))
    for c in ("events1", "n1", "events2", "n2", "mean1", "sd1", "mean2", "sd2", "giv_estimate", "giv_se",
              "weight", "effect", "ci_low", "ci_high", "year"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    frame["subgroup_no"] = frame["subgroup_no"].astype("Int64")
    return frame


#: RevMan 5's risk-of-bias 1 answers (Cochrane Handbook 5.1, table 8.5.c: "Yes" = low risk,
#: "No" = high risk, "Unclear"), and RoB 2's judgements (Sterne et al. 2019, BMJ 366:l4898)
_ROB_WORDS = {
    "yes": "low", "low": "low", "low risk": "low", "low risk of bias": "low",
    "no": "high", "high": "high", "high risk": "high", "high risk of bias": "high",
    "unknown": "unclear", "unclear": "unclear", "unclear risk": "unclear", "unclear risk of bias": "unclear",
    "some concerns": "some_concerns", "some_concerns": "some_concerns",
}


def rob_level(judgement: str | None) -> str | None:
    """The schema's ``rob`` word for a file's judgement (None when blank or unknown)."""
    if judgement is None:
        return None
    return _ROB_WORDS.get(str(judgement).strip().lower())


def overall_rob(levels: list[str | None]) -> str | None:
    """The study's overall judgement from its domain judgements.

    RoB 1 (Cochrane Handbook 5.1, section 8.7, table 8.7.a: low when every key domain is low,
    high when one or more is high, otherwise unclear), every domain the file lists taken as
    key; RoB 2 (Sterne et al. 2019: high if any domain is high, some concerns if any has some
    concerns, otherwise low). None when no domain has a judgement.
    """
    known = [x for x in levels if x]
    if not known:
        return None
    if "high" in known:
        return "high"
    if "some_concerns" in known:
        return "some_concerns"
    if "unclear" in known:
        return "unclear"
    return "low"
