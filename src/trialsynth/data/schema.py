"""The trial-record schema: the single source of truth for the columns of ``data/trials.csv``.

Every column is declared once, in :data:`COLUMNS`, with its type, when it is required,
its allowed values, its unit and a description.  From this declaration

* :func:`table_schema` builds the Frictionless Table Schema committed as
  ``data/trials.schema.json`` (regenerate it with
  ``python -m trialsynth.data.schema > data/trials.schema.json``; a test checks the committed
  file equals the generated one);
* :mod:`trialsynth.data.loading` validates and types the table;
* :func:`undocumented_columns` checks that ``data/README.md`` documents every column.

A row's *data shape* (column ``data_shape``) says which numbers it carries (see
``data/README.md``): ``arm_continuous``, ``arm_binary``, ``contrast`` or ``test_only``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# the four data shapes
DATA_SHAPES: tuple[str, ...] = ("arm_continuous", "arm_binary", "contrast", "test_only")

ALWAYS = "always"  # required on every row
NEVER = "never"  # optional on every row

RATIO_MEASURES: frozenset[str] = frozenset({"RR", "OR"})


@dataclass(frozen=True)
class Column:
    """One column of ``trials.csv``.

    Attributes
    ----------
    name : str
        Column name as it appears in the header.
    type : str
        Frictionless type: ``string``, ``integer``, ``number`` or ``boolean``.
    description : str
        What the column holds (one sentence).
    required : str or tuple of str
        ``"always"``, ``"never"``, or the data shapes whose rows must fill it.
    enum : tuple of str, optional
        The allowed values (categorical columns).
    pattern : str, optional
        A regular expression a string value must match in full.
    minimum, exclusive_minimum, maximum : float, optional
        Bounds for numbers (``exclusive_minimum``: the value must be greater).
    unit : str, optional
        Unit of a number (``weeks``, ``minutes``, ``participants``, ...).
    group : str
        Section of ``data/README.md`` the column belongs to.
    shapes : tuple of str, optional
        Data shapes on whose rows the column may be filled at all (``None``: any shape).
    """

    name: str
    type: str
    description: str
    required: str | tuple[str, ...] = NEVER
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    group: str = ""
    shapes: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict)

    def required_for(self, shape: str | None) -> bool:
        """Whether a row of data shape ``shape`` must fill this column."""
        if self.required == ALWAYS:
            return True
        if self.required == NEVER:
            return False
        return shape in self.required

    @property
    def can_be_required(self) -> bool:
        return self.required != NEVER


_ID = "identification and design"
_OUT = "outcome and time point"
_NUM = "numbers"
_PROV = "provenance and selection"

_CONT = ("arm_continuous",)
_BIN = ("arm_binary",)
_CONTRAST = ("contrast",)
_TEST = ("test_only",)
_ARMS_N = ("arm_continuous", "arm_binary", "test_only")

#: Every column of ``trials.csv``, in the order the file lists them.
COLUMNS: tuple[Column, ...] = (
    # --- identification and design ---
    Column("study_id", "string", "First author + year, e.g. Brinkhaus2006; also used in file names.",
           ALWAYS, pattern=r"[A-Za-z][A-Za-z0-9_]*", group=_ID),
    Column("comparison_id", "string", "The comparison within the study, e.g. acu_vs_sham.",
           ALWAYS, pattern=r"[a-z0-9_]+", group=_ID),
    Column("year", "integer", "Publication year.", ALWAYS, minimum=1900, maximum=2100, group=_ID),
    Column("country", "string", "Where the trial ran.", group=_ID),
    Column("condition", "string", "The patients' condition.", ALWAYS,
           enum=("chronic_lbp", "acute_lbp", "subacute_lbp", "acute_subacute_lbp", "sciatica",
                 "mixed_lbp"), group=_ID),
    Column("intervention_type", "string", "Kind of acupuncture in arm 1.", ALWAYS,
           enum=("manual", "electro", "manual_or_electro", "trigger_point", "scalp", "motion_style",
                 "auricular", "individualized", "other"), group=_ID),
    Column("intervention_label", "string", "The acupuncture arm as the paper names it.", ALWAYS,
           group=_ID),
    Column("comparator_class", "string",
           "Class of the comparator arm (no_treatment includes waiting list).", ALWAYS,
           enum=("sham", "no_treatment", "usual_care", "active"), group=_ID),
    Column("comparator_label", "string", "The comparator arm as the paper names it.", ALWAYS,
           group=_ID),
    Column("sham_type", "string",
           "For a sham comparator, what the sham was, where the row's record quotes it: penetrating "
           "(minimal or superficial needling, or needles without stimulation), non_penetrating (a "
           "needle or guide tube that does not pierce the skin), placebo_tens (a placebo or mock "
           "TENS device). Empty when the quotes do not say.",
           enum=("penetrating", "non_penetrating", "placebo_tens"), group=_ID),
    Column("sham_type_quote", "string",
           "The id of the quote in the row's evidence record that describes the sham (required "
           "with sham_type).", pattern=r"[A-Za-z0-9_.-]+", group=_ID),
    Column("add_on", "boolean",
           "True when both arms also received the comparator's care (acupuncture + usual care vs usual care).",
           ALWAYS, group=_ID),
    Column("sessions", "number", "Planned number of sessions.", exclusive_minimum=0,
           unit="sessions", group=_ID),
    Column("sessions_per_week", "number", "Sessions a week.", exclusive_minimum=0,
           unit="sessions/week", group=_ID),
    Column("session_minutes", "number", "Minutes a session.", exclusive_minimum=0, unit="minutes",
           group=_ID),
    Column("treatment_weeks", "number", "Weeks from the first to the last session.", minimum=0,
           unit="weeks", group=_ID),
    Column("treatment_course", "string",
           "single_session: one needling session, measured minutes or hours later; course: a "
           "series of sessions (the effect is measured after the course).",
           enum=("single_session", "course"), group=_ID),
    Column("shared_arm", "string",
           "Which arm of this row also serves as an arm of another comparison of the same study "
           "(a multi-arm trial): arm1 (e.g. one acupuncture arm against sham and usual care) or "
           "arm2 (e.g. one usual-care arm against two acupuncture arms).",
           enum=("arm1", "arm2"), group=_ID),
    Column("shared_arm_id", "string",
           "Names the physical arm that shared_arm marks, the same on every row that shares it "
           "(e.g. DeBar2025_umc), so pooling can split its n (Cochrane Handbook 23.3.4).",
           pattern=r"[A-Za-z][A-Za-z0-9_]*", group=_ID),
    # --- outcome and time point ---
    Column("outcome", "string", "The outcome domain.", ALWAYS,
           enum=("pain", "function", "responder", "quality_of_life", "global"), group=_OUT),
    Column("scale", "string", "The instrument that measured the outcome.", ALWAYS,
           enum=("VAS", "NRS", "RMDQ", "ODI", "HFAQ", "SF36_BP", "SF12_PCS", "CPGS", "responder",
                 "other"), group=_OUT),
    Column("scale_min", "number",
           "Lowest possible score of the scale (leave empty when the source does not print it).",
           group=_OUT, unit="scale points"),
    Column("scale_max", "number",
           "Highest possible score of the scale (leave empty when the source does not print it).",
           group=_OUT, unit="scale points"),
    Column("higher_is_better", "boolean",
           "True when a higher score is a better state (SF-36 bodily pain, HFAQ).", ALWAYS,
           group=_OUT),
    Column("timepoint_weeks", "number", "Weeks since randomisation (or since baseline).", ALWAYS,
           minimum=0, unit="weeks", group=_OUT),
    Column("weeks_after_treatment", "number",
           "Weeks since the last session; when empty, timepoint_weeks - treatment_weeks.",
           unit="weeks", group=_OUT),
    Column("rob", "string", "Overall risk-of-bias judgement.",
           enum=("low", "some_concerns", "high", "unclear"), group=_OUT),
    Column("rob_source", "string", "Where the risk-of-bias judgement comes from.", group=_OUT),
    # --- the numbers ---
    Column("data_shape", "string", "Which numbers the row carries (see the shapes table).",
           ALWAYS, enum=DATA_SHAPES, group=_NUM),
    Column("value_type", "string", "Final value or change from baseline.", _CONT,
           enum=("final", "change"), group=_NUM),
    Column("n1", "integer", "Participants in arm 1 (acupuncture), analysed where reported.",
           _ARMS_N, exclusive_minimum=0, unit="participants", group=_NUM),
    Column("mean1", "number", "Mean of arm 1.", _CONT, group=_NUM, unit="scale points",
           shapes=("arm_continuous", "test_only")),
    Column("sd1", "number", "Standard deviation of arm 1.", exclusive_minimum=0,
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("se1", "number", "Standard error of the mean of arm 1.", exclusive_minimum=0,
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("ci_low1", "number", "Lower 95% confidence limit of the mean of arm 1.",
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("ci_high1", "number", "Upper 95% confidence limit of the mean of arm 1.",
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("events1", "integer", "Responders (events) in arm 1.", _BIN, minimum=0,
           unit="participants", group=_NUM, shapes=_BIN),
    Column("n2", "integer", "Participants in arm 2 (comparator), analysed where reported.",
           _ARMS_N, exclusive_minimum=0, unit="participants", group=_NUM),
    Column("mean2", "number", "Mean of arm 2.", _CONT, group=_NUM, unit="scale points",
           shapes=("arm_continuous", "test_only")),
    Column("sd2", "number", "Standard deviation of arm 2.", exclusive_minimum=0,
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("se2", "number", "Standard error of the mean of arm 2.", exclusive_minimum=0,
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("ci_low2", "number", "Lower 95% confidence limit of the mean of arm 2.",
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("ci_high2", "number", "Upper 95% confidence limit of the mean of arm 2.",
           unit="scale points", group=_NUM, shapes=_CONT),
    Column("events2", "integer", "Responders (events) in arm 2.", _BIN, minimum=0,
           unit="participants", group=_NUM, shapes=_BIN),
    Column("baseline_mean1", "number",
           "Baseline mean of arm 1 on the same scale, for a final-value row (lets the effects stage "
           "compute the change-score difference and see a baseline imbalance).", group=_NUM,
           unit="scale points", shapes=_CONT),
    Column("baseline_mean2", "number", "Baseline mean of arm 2 on the same scale (with baseline_mean1).",
           group=_NUM, unit="scale points", shapes=_CONT),
    Column("effect_measure", "string", "The reported between-group effect measure (arm 1 vs arm 2).",
           _CONTRAST, enum=("MD", "SMD", "RR", "OR", "RD"), group=_NUM, shapes=_CONTRAST),
    Column("effect", "number", "The reported between-group effect.", _CONTRAST, group=_NUM,
           shapes=_CONTRAST),
    Column("effect_ci_low", "number", "Lower 95% confidence limit of the effect.", group=_NUM,
           shapes=_CONTRAST),
    Column("effect_ci_high", "number", "Upper 95% confidence limit of the effect.", group=_NUM,
           shapes=_CONTRAST),
    Column("effect_se", "number", "Standard error of the effect (log scale for RR and OR).",
           exclusive_minimum=0, group=_NUM, shapes=_CONTRAST),
    Column("p_value", "number", "A reported p-value of the between-group test.", _TEST,
           exclusive_minimum=0, maximum=1, group=_NUM),
    Column("p_qualifier", "string", "How the p-value is stated: p = x, p < x or p > x.", _TEST,
           enum=("=", "<", ">"), group=_NUM),
    Column("test_statistic", "number", "A reported test statistic.", group=_NUM),
    Column("statistic_type", "string", "The distribution of test_statistic.", enum=("t", "z"),
           group=_NUM),
    Column("direction", "string", "Which arm the reported test favours.", _TEST,
           enum=("favours_intervention", "favours_control", "none"), group=_NUM),
    # --- provenance and selection ---
    Column("source_id", "string", "The evidence record evidence/<source_id>.yaml.", ALWAYS,
           pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]*", group=_PROV),
    Column("source_ref", "string",
           "doi:10.xxxx/... or pmid:NNNNNNNN (or pmcid:PMCNNNNNNN) of the publication; "
           "url:<a url of the record> only when its record says identifiers: not found; "
           "file:<name> only for rows imported from a review file without a DOI (a kind: review_file record).",
           ALWAYS, pattern=r"(doi:10\.\d{4,9}/\S+|pmid:\d{1,9}|pmcid:PMC\d+|url:https?://\S+|file:\S+)",
           group=_PROV),
    Column("source_location", "string", "Where in the publication: abstract, table 2, figure 3, page 5.",
           ALWAYS, group=_PROV),
    Column("quote_ids", "string",
           "Semicolon-separated ids of the quotes in the evidence record that print this row's numbers.",
           ALWAYS, pattern=r"[A-Za-z0-9_.-]+( *; *[A-Za-z0-9_.-]+)*", group=_PROV),
    Column("derived", "string",
           "Semicolon-separated column=conversion for numbers computed rather than printed.",
           pattern=r"[a-z0-9_]+ *= *[^;=]+( *; *[a-z0-9_]+ *= *[^;=]+)*", group=_PROV),
    Column("priority", "integer",
           "Tie-breaker when a study has several rows for one outcome, comparator and window (1 = preferred).",
           minimum=1, group=_PROV),
    Column("notes", "string", "Anything a reviewer should know.", group=_PROV),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

#: The key that must be unique across rows.
PRIMARY_KEY: tuple[str, ...] = ("study_id", "comparison_id", "outcome", "scale", "timepoint_weeks")

#: Per-arm dispersion kinds of ``arm_continuous`` rows: exactly one per arm.
DISPERSIONS: dict[int, dict[str, tuple[str, ...]]] = {
    arm: {"sd": (f"sd{arm}",), "se": (f"se{arm}",), "ci": (f"ci_low{arm}", f"ci_high{arm}")}
    for arm in (1, 2)
}

#: Spellings accepted for booleans (compared case-insensitively).
TRUE_WORDS = frozenset({"true"})
FALSE_WORDS = frozenset({"false"})


def column(name: str) -> Column:
    """The :class:`Column` called ``name`` (``KeyError`` if there is none)."""
    return BY_NAME[name]


def _required_text(col: Column) -> str:
    if col.required == ALWAYS:
        return "always"
    if col.required == NEVER:
        return "no"
    return "data_shape in " + ", ".join(col.required)


def table_schema() -> dict:
    """The Frictionless Table Schema of ``trials.csv`` as a dict.

    ``constraints.required`` is set only for columns required on every row; shape-dependent
    requirements are stated in each field's ``trialsynth:requiredWhen`` and are enforced by
    :func:`trialsynth.data.loading.load_trials`.
    """
    fields = []
    for col in COLUMNS:
        f: dict = {"name": col.name, "type": col.type, "description": col.description}
        if col.type == "boolean":
            f["trueValues"] = ["true", "TRUE", "True"]
            f["falseValues"] = ["false", "FALSE", "False"]
        constraints: dict = {}
        if col.required == ALWAYS:
            constraints["required"] = True
        if col.enum is not None:
            constraints["enum"] = list(col.enum)
        if col.pattern is not None:
            constraints["pattern"] = col.pattern
        if col.minimum is not None:
            constraints["minimum"] = col.minimum if col.type == "number" else int(col.minimum)
        if col.maximum is not None:
            constraints["maximum"] = col.maximum if col.type == "number" else int(col.maximum)
        if constraints:
            f["constraints"] = constraints
        if col.exclusive_minimum is not None:
            f["trialsynth:exclusiveMinimum"] = col.exclusive_minimum
        f["trialsynth:requiredWhen"] = _required_text(col)
        if col.shapes is not None:
            f["trialsynth:onlyForShapes"] = list(col.shapes)
        if col.unit is not None:
            f["trialsynth:unit"] = col.unit
        fields.append(f)
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "title": "trialsynth trial records (data/trials.csv)",
        "description": (
            "One row per study x comparison x outcome x time point. Generated by "
            "`python -m trialsynth.data.schema`; do not edit by hand. "
            "Documented in data/README.md."
        ),
        "fields": fields,
        "missingValues": [""],
        "primaryKey": list(PRIMARY_KEY),
    }


def table_schema_json() -> str:
    """:func:`table_schema` as the exact text committed in ``data/trials.schema.json``."""
    return json.dumps(table_schema(), indent=2, ensure_ascii=False) + "\n"


def undocumented_columns(readme_text: str) -> list[str]:
    """Columns of :data:`COLUMNS` that ``readme_text`` never names in backquotes (`` `name` ``)."""
    named = set(re.findall(r"`([A-Za-z0-9_]+)`", readme_text))
    return [c.name for c in COLUMNS if c.name not in named]


def undocumented_enum_values(readme_text: str) -> list[str]:
    """``column=value`` for every allowed category ``readme_text`` never names in backquotes."""
    named = set(re.findall(r"`([^`\s]+)`", readme_text))
    return [f"{c.name}={v}" for c in COLUMNS if c.enum for v in c.enum if v not in named]


def main(argv: list[str] | None = None) -> int:
    """Print the Table Schema (``python -m trialsynth.data.schema [--check FILE]``)."""
    args = sys.argv[1:] if argv is None else argv
    text = table_schema_json()
    if args[:1] == ["--check"] and len(args) == 2:
        committed = Path(args[1]).read_text(encoding="utf-8")
        if committed != text:
            print(f"{args[1]} is out of date: run python -m trialsynth.data.schema > {args[1]}",
                  file=sys.stderr)
            return 1
        print(f"{args[1]} is up to date")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
