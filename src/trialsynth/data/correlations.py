"""``data/correlations.csv``: within-person correlations between a trial's follow-ups, with sources.

The joint models of the effect over time (:mod:`trialsynth.pooling.longitudinal`) need the
correlation of a participant's scores at two follow-ups to build the trial's sampling covariance
(:func:`trialsynth.effects.covariance.within_trial_cov`). Trials rarely print it; when one does
(or prints what it can be computed from: the SDs of both follow-ups and of the change between
them, Cochrane Handbook 6.5.2.8), it is entered here with its source, like every number in
``data/``. A trial without a row uses the analysis's assumed default, which the sensitivity
analysis varies.

Columns (``data/README.md``): ``study_id, outcome, rho, source_id, source_ref, source_location,
quote_ids, derived, notes``; ``outcome`` empty means every outcome of the study; ``rho`` in
(-1, 1).
"""

from __future__ import annotations

import os
import re

import pandas as pd

from trialsynth.errors import Problem, TrialDataError

__all__ = ["CORRELATION_COLUMNS", "load_correlations"]

CORRELATION_COLUMNS = ("study_id", "outcome", "rho", "source_id", "source_ref", "source_location", "quote_ids",
                       "derived", "notes")
_REQUIRED = ("study_id", "rho", "source_id", "source_ref", "source_location", "quote_ids")
_OUTCOMES = ("pain", "function", "responder", "quality_of_life", "global")
_REF = re.compile(r"^(doi:10\.\S+/\S+|pmid:\d+|pmcid:PMC\d+|url:\S+)$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def load_correlations(path: str | os.PathLike, *, evidence_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and validate ``data/correlations.csv``.

    Returns a DataFrame with :data:`CORRELATION_COLUMNS` (``rho`` as float; index = the
    spreadsheet row number) and a ``source`` column for
    :func:`~trialsynth.effects.covariance.within_trial_cov` (``source_ref, source_location``).

    Raises
    ------
    TrialDataError
        With every problem (file, row, column, value): a missing or unknown column, a missing
        required cell, a ``rho`` that is not a number in (-1, 1), an unknown outcome, an id or
        ``source_ref`` of the wrong form, two rows for one study and outcome, or (with
        ``evidence_dir``) a ``source_id`` without its record ``evidence/<source_id>.yaml``.
    """
    from trialsynth.data.io import parse_number, read_table

    raw = read_table(path, numeric_columns=("rho",))
    file = raw.path
    problems = list(raw.problems)
    header = raw.header
    for col in CORRELATION_COLUMNS:
        if col not in header and col in _REQUIRED + ("outcome",):
            problems.append(Problem(file, 1, col, None, "missing column"))
    for col in header:
        if col not in CORRELATION_COLUMNS:
            problems.append(Problem(file, 1, col, None, f"unknown column; expected {', '.join(CORRELATION_COLUMNS)}"))
    rows = []
    seen = {}
    for rownum, rec in raw.records():
        row = {c: rec.get(c, "").strip() for c in CORRELATION_COLUMNS}
        for col in _REQUIRED:
            if col in header and not row[col]:
                problems.append(Problem(file, rownum, col, None, "required"))
        if row["study_id"] and not _ID.match(row["study_id"]):
            problems.append(Problem(file, rownum, "study_id", row["study_id"], "expected an id like Haake2007"))
        if row["outcome"] and row["outcome"] not in _OUTCOMES:
            problems.append(Problem(file, rownum, "outcome", row["outcome"], f"expected one of {', '.join(_OUTCOMES)} or empty"))
        if row["source_ref"] and not _REF.match(row["source_ref"]):
            problems.append(Problem(file, rownum, "source_ref", row["source_ref"], "expected doi:..., pmid:..., pmcid:PMC... or url:..."))
        value = None
        if row["rho"]:
            try:
                value = parse_number(row["rho"], raw.decimal)
            except ValueError:
                problems.append(Problem(file, rownum, "rho", row["rho"], "expected a number"))
            else:
                if not -1 < value < 1:
                    problems.append(Problem(file, rownum, "rho", row["rho"], "a correlation must lie in (-1, 1)"))
        if evidence_dir is not None and row["source_id"] and _ID.match(row["source_id"]):
            if not (os.path.isfile(os.path.join(os.fspath(evidence_dir), row["source_id"] + ".yaml"))):
                problems.append(Problem(file, rownum, "source_id", row["source_id"],
                                        f"no evidence record {row['source_id']}.yaml in {os.fspath(evidence_dir)}"))
        key = (row["study_id"], row["outcome"])
        if key in seen:
            problems.append(Problem(file, rownum, "study_id", row["study_id"],
                                    f"a second row for this study and outcome (first in row {seen[key]})"))
        seen.setdefault(key, rownum)
        row["rho"] = value
        row["row"] = rownum
        rows.append(row)
    if problems:
        raise TrialDataError(problems)
    frame = pd.DataFrame(rows, columns=[*CORRELATION_COLUMNS, "row"]).set_index("row")
    frame["rho"] = frame["rho"].astype(float)
    frame["source"] = (frame["source_ref"].astype(str) + ", " + frame["source_location"].astype(str)).where(
        frame["source_ref"].astype(str) != "", "")
    return frame
