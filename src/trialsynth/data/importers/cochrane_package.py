"""Read a Cochrane data package (the zip of CSVs RevMan Web and the Cochrane Library export).

Layout, from Cochrane's "Data package specification" (RevMan knowledge base,
documentation.cochrane.org/revman-kb/data-package-specification-249561249.html, version 1, and
"Previous version: version 1 data package", ...-332136475.html) and the file names of packages
published with reviews (``CD013524-analysis-data/CD013524-data-rows.csv`` ...)::

    <CD>-analysis-data/<CD>-overall-estimates-and-settings.csv   one row per analysis
    <CD>-analysis-data/<CD>-data-rows.csv                          one row per study x analysis
    <CD>-analysis-data/<CD>-subgroup-estimates.csv                 one row per subgroup
    <CD>-study-data/<CD>-risk-of-bias.csv, <CD>-study-information.csv, ...

Columns used (by name, in any order; unknown columns are ignored): analyses ``Analysis group``,
``Analysis number``, ``Analysis name``, ``Analysis group name``, ``Data type``, ``Log-scale
data``, ``Experimental group label``, ``Control group label``, ``Statistical method``, ``Effect
measure``, ``Analysis model``, ``Heterogeneity estimator`` and ``CI method`` (version 2),
``Subgroup estimates``, ``Overall estimates``, ``Test for subgroup differences``, ``Graph label
(left)``/``(right)``, ``CI/PI level``, and the stored results ``Mean``, ``CI start``, ``CI end``,
``Heterogeneity Tau²``, ``Heterogeneity Chi²``, ``Heterogeneity df``, ``Heterogeneity P``,
``Heterogeneity I²``, ``Effect Z`` (or ``Effect T``), ``Effect P``, ``Subgroup Chi²``/``df``/``P``/
``I²``, ``Experimental cases``/``N``, ``Control cases``/``N``; data rows ``Subgroup``,
``Subgroup number``, ``Study``, ``Study year``, ``GIV Mean``, ``GIV SE`` (on the log scale when
``Log-scale data`` is TRUE, as the specification notes), ``Experimental mean``/``SD``/``cases``/
``N``, ``Control mean``/``SD``/``cases``/``N``, ``Weight``, ``Mean``, ``CI start``, ``CI end``
(display scale: ratios as ratios), ``Footnotes``, and risk-of-bias 2 pairs ``<domain>
judgement`` / ``<domain> support`` (with ``Overall bias judgement``).

Traps handled: a byte-order mark on the CSVs (removed), files that are not UTF-8 (read as
Windows-1252 with a note), empty cells and zeros in cells that were never computed (a GIV SE of
0, all-zero arms, a Tau² of a fixed-effect analysis, a subgroup test of an analysis without
subgroups: NaN), ``Effect Z`` stored unsigned (signed from the estimate), the column names'
superscript ``²``. The zip is read safely (:mod:`._safe`); a folder holding the extracted files is
read as well.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import pandas as pd

from trialsynth.data.importers._safe import (
    MAX_MEMBER_BYTES,
    decode_text,
    read_bytes_limited,
    read_zip_members,
)
from trialsynth.data.importers.review import (
    LOG_MEASURES,
    ImportedReview,
    ReviewAnalysis,
    empty_rob,
    normalise_measure,
    rob_level,
    rows_frame,
)
from trialsynth.errors import Problem, TrialDataError

__all__ = ["read_cochrane_data_package", "PACKAGE_FILES"]

#: the files of a package this reader uses, by the end of their names
PACKAGE_FILES = {
    "settings": "-overall-estimates-and-settings.csv",
    "rows": "-data-rows.csv",
    "subgroups": "-subgroup-estimates.csv",
    "rob": "-risk-of-bias.csv",
}
_MAX_ROWS = 200_000


def _key(name: str) -> str:
    text = str(name).replace("\ufeff", "").replace("²", "2").replace("\u00b2", "2").strip().lower()
    return re.sub(r"\s+", " ", text)


class _Table:
    """A CSV member: header keys, rows as {key: cell}, with the file name for messages."""

    def __init__(self, label: str, data: bytes, notes: list[str]):
        decoded = decode_text(data, label)
        for n in decoded.notes:
            notes.append(f"{label}: {n}")
        reader = csv.reader(io.StringIO(decoded.text, newline=""))
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise TrialDataError([Problem(label, reader.line_num, None, None, f"is not a readable CSV file: {exc}")]) from None
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows:
            raise TrialDataError([Problem(label, None, None, None, "is empty")])
        if len(rows) > _MAX_ROWS:
            raise TrialDataError([Problem(label, None, None, None, f"has more than {_MAX_ROWS} rows")])
        self.label = label
        self.header = [c.replace("\ufeff", "").strip() for c in rows[0]]
        self.keys = [_key(c) for c in self.header]
        self.records: list[tuple[int, dict[str, str], list[tuple[str, str]]]] = []
        for number, cells in enumerate(rows[1:], start=2):
            cells = [c.strip() for c in cells]
            if len(cells) < len(self.keys):
                cells += [""] * (len(self.keys) - len(cells))
            by_key = dict(zip(self.keys, cells))
            shown = [(h, c) for h, c in zip(self.header, cells) if c != ""]
            self.records.append((number, by_key, shown))

    def has(self, key: str) -> bool:
        return _key(key) in self.keys


class _Numbers:
    def __init__(self):
        self.problems: list[Problem] = []

    def get(self, table: _Table, row: int, cells: dict, column: str) -> float:
        text = cells.get(_key(column), "")
        if text == "" or text.upper() in ("NA", "N/A", "#N/A", "NAN", "NOT ESTIMABLE"):
            return math.nan
        cleaned = text.replace("\u2212", "-").replace("%", "").strip()
        try:
            value = float(cleaned)
        except ValueError:
            self.problems.append(Problem(table.label, row, column, text, "not a number"))
            return math.nan
        return value if math.isfinite(value) else math.nan


def _analysis_id(num: _Numbers, table: _Table, rownum: int, cells: dict, what: str) -> str | None:
    """``"X.Y"`` from a row's Analysis group and number (None, with a problem, when either is missing)."""
    g = num.get(table, rownum, cells, "Analysis group")
    n = num.get(table, rownum, cells, "Analysis number")
    if not (math.isfinite(g) and math.isfinite(n)):
        num.problems.append(Problem(table.label, rownum, "Analysis number", cells.get("analysis number", ""),
                                    f"{what} needs its Analysis group and Analysis number"))
        return None
    return f"{int(g)}.{int(n)}"


def _truthy(text: str | None, default: bool = False) -> bool:
    if text is None or text.strip() == "":
        return default
    return text.strip().lower() in ("true", "yes", "1", "y")


def _members(path: str) -> tuple[dict[str, bytes], str]:
    p = Path(path)
    wanted = tuple(PACKAGE_FILES.values())

    def want(member: str) -> bool:
        return member.lower().endswith(wanted)

    if p.is_dir():
        base = p.resolve()
        out = {}
        for f in sorted(base.rglob("*.csv")):
            if not want(f.name):
                continue
            real = f.resolve()
            if base not in real.parents:
                raise TrialDataError([Problem(str(f), None, None, None, "refused: it points outside the package folder")])
            out[str(f.relative_to(base))] = read_bytes_limited(real, max_bytes=MAX_MEMBER_BYTES, what="package CSV")
        return out, "folder"
    return read_zip_members(path, want=want), "zip"


def _pick(members: dict[str, bytes], suffix: str, path: str, *, required: bool) -> tuple[str, bytes] | None:
    found = sorted(m for m in members if m.lower().endswith(suffix))
    if not found:
        if required:
            raise TrialDataError([Problem(path, None, None, None,
                                          f"is not a Cochrane data package: it has no file ending in {suffix} "
                                          "(expected <CD number>-analysis-data/<CD number>" + suffix + ")")])
        return None
    if len(found) > 1:
        raise TrialDataError([Problem(path, None, None, ", ".join(found),
                                      f"holds more than one file ending in {suffix}: one review per package")])
    return found[0], members[found[0]]


def _method(text: str) -> str:
    t = (text or "").strip().lower()
    if "peto" in t:
        return "PETO"
    if "mantel" in t or t in ("mh", "m-h"):
        return "MH"
    return "IV"


def _estimator(text: str) -> str:
    t = re.sub(r"[^a-z]", "", (text or "").lower())
    if not t or "dersimonian" in t or t == "dl":
        return "DL"
    if "reml" in t or "restricted" in t:
        return "REML"
    if "paulemandel" in t or t == "pm":
        return "PM"
    return text.strip().upper()


def _data_type(text: str, measure: str, rows: list[dict]) -> str:
    t = (text or "").strip().lower()
    if "dichot" in t or "binary" in t:
        return "dichotomous"
    if "contin" in t:
        return "continuous"
    if "generic" in t or "inverse" in t or "contrast" in t:
        return "generic"
    has_arms = any(math.isfinite(r["events1"]) or math.isfinite(r["mean1"]) for r in rows)
    if measure in ("RR", "OR", "RD", "PETO_OR") and any(math.isfinite(r["events1"]) for r in rows):
        return "dichotomous"
    if measure in ("MD", "SMD") and any(math.isfinite(r["mean1"]) for r in rows):
        return "continuous"
    if not has_arms:
        return "generic"
    return "dichotomous" if any(math.isfinite(r["events1"]) for r in rows) else "continuous"


def read_cochrane_data_package(path: str | os.PathLike) -> ImportedReview:
    """Read a Cochrane data package (zip, or the folder it was extracted to).

    Parameters
    ----------
    path : path-like
        The ``.zip`` as downloaded from the Cochrane Library or exported from RevMan Web, or a
        folder holding its files. The zip is read in memory with the limits of
        :func:`~trialsynth.data.importers._safe.read_zip_members` (no path traversal, member
        count, sizes, compression ratio).

    Returns
    -------
    ImportedReview
        ``format="cochrane-data-package"``.

    Raises
    ------
    TrialDataError
        Naming the file (and member, row, column) when the package is unsafe, is not a data
        package, or holds a value that is not a number where one is expected.
    """
    name = os.fspath(path)
    members, kind = _members(name)
    notes: list[str] = []
    settings_name, settings_data = _pick(members, PACKAGE_FILES["settings"], name, required=True)
    rows_name, rows_data = _pick(members, PACKAGE_FILES["rows"], name, required=True)
    sub = _pick(members, PACKAGE_FILES["subgroups"], name, required=False)
    rob_member = _pick(members, PACKAGE_FILES["rob"], name, required=False)
    label = (lambda m: f"{name}: {m}") if kind == "zip" else (lambda m: str(Path(name) / m))
    settings = _Table(label(settings_name), settings_data, notes)
    datarows = _Table(label(rows_name), rows_data, notes)
    subtable = _Table(label(sub[0]), sub[1], notes) if sub else None
    num = _Numbers()
    review_id = None
    m = re.search(r"(CD\d{6})", settings_name)
    if m:
        review_id = m.group(1)

    # --- data rows, grouped by analysis --------------------------------------------------------
    by_analysis: dict[str, list[dict]] = {}
    rob_records: list[dict] = []
    subgroup_numbers: dict[str, dict[str, int]] = {}
    for rownum, cells, shown in datarows.records:
        aid = _analysis_id(num, datarows, rownum, cells, "every data row")
        if aid is None:
            continue
        get = lambda col: num.get(datarows, rownum, cells, col)  # noqa: E731
        subgroup = cells.get("subgroup", "")
        s_no = get("Subgroup number")
        numbers = subgroup_numbers.setdefault(aid, {})
        if subgroup:
            if math.isfinite(s_no):
                numbers[subgroup] = int(s_no)
            numbers.setdefault(subgroup, len(numbers) + 1)
        study = cells.get("study", "")
        year = cells.get("study year", "")
        if not year:
            ym = re.search(r"(1[89]\d\d|20\d\d)", study)
            year = ym.group(1) if ym else ""
        rec = {"analysis_id": aid, "subgroup_no": numbers.get(subgroup) if subgroup else None, "subgroup": subgroup,
               "study": study, "file_study_id": study, "year": year,
               "events1": get("Experimental cases"), "n1": get("Experimental N"),
               "events2": get("Control cases"), "n2": get("Control N"),
               "mean1": get("Experimental mean"), "sd1": get("Experimental SD"),
               "mean2": get("Control mean"), "sd2": get("Control SD"),
               "giv_estimate": get("GIV Mean"), "giv_se": get("GIV SE"),
               "weight": get("Weight"), "effect": get("Mean"), "ci_low": get("CI start"), "ci_high": get("CI end"),
               "footnotes": cells.get("footnotes", ""),
               "source_text": f"{Path(rows_name).name} row {rownum}: "
                              + ", ".join(f'{h}="{c}"' for h, c in shown if _key(h) not in ("analysis name",)),
               "source_location": f"{Path(rows_name).name}, row {rownum}", "_row": rownum,
               "value_texts": {k: cells.get(_key(c), "") for k, c in (("effect", "Mean"), ("ci_low", "CI start"),
                                                                       ("ci_high", "CI end"), ("weight", "Weight"))}}
        for arm in ("1", "2"):
            if rec[f"mean{arm}"] == 0 and rec[f"sd{arm}"] == 0 and rec[f"n{arm}"] == 0:
                rec[f"mean{arm}"] = rec[f"sd{arm}"] = math.nan
        rec["estimable"] = math.isfinite(rec["effect"]) or math.isfinite(rec["giv_se"]) and rec["giv_se"] > 0
        by_analysis.setdefault(aid, []).append(rec)
        judgements = [(h[: -len(" judgement")], c) for h, c in shown if _key(h).endswith(" judgement")]
        for domain, judgement in judgements:
            support = cells.get(_key(domain + " support"), "")
            rob_records.append({"study": study, "file_study_id": study, "domain": domain, "judgement": judgement,
                                "rob": rob_level(judgement), "support": support, "tool": "RoB 2", "analysis_id": aid})

    # --- subgroup estimates -----------------------------------------------------------------------
    sub_stored: dict[str, list[dict]] = {}
    if subtable is not None:
        for rownum, cells, _shown in subtable.records:
            get = lambda col: num.get(subtable, rownum, cells, col)  # noqa: E731
            aid = _analysis_id(num, subtable, rownum, cells, "every subgroup estimate")
            if aid is None:
                continue
            name_ = cells.get("subgroup", "")
            s_no = get("Subgroup number")
            numbers = subgroup_numbers.setdefault(aid, {})
            if math.isfinite(s_no):
                numbers.setdefault(name_, int(s_no))
            numbers.setdefault(name_, len(numbers) + 1)
            stored, text = _stored(subtable, rownum, cells, num)
            sub_stored.setdefault(aid, []).append({"subgroup_no": numbers[name_], "name": name_,
                                                   "stored": stored, "stored_text": text})

    # --- analyses -------------------------------------------------------------------------------
    analyses = []
    for rownum, cells, _shown in settings.records:
        aid = _analysis_id(num, settings, rownum, cells, "every analysis")
        if aid is None:
            continue
        g, n = (int(x) for x in aid.split("."))
        measure = normalise_measure(cells.get("effect measure")) or "OTHER"
        method = _method(cells.get("statistical method", ""))
        if method == "PETO" or measure == "PETO_OR":
            method, measure = "PETO", "PETO_OR"
        rows = by_analysis.get(aid, [])
        data_type = _data_type(cells.get("data type", ""), measure, rows)
        log_text = cells.get("log-scale data")
        log = _truthy(log_text) if log_text not in (None, "") else measure in LOG_MEASURES
        random = "random" in cells.get("analysis model", "").lower()
        has_sub = _truthy(cells.get("subgroup estimates"), default=bool(sub_stored.get(aid))) or bool(sub_stored.get(aid))
        sub_test = has_sub and _truthy(cells.get("test for subgroup differences"), default=True)
        overall, overall_text = _stored(settings, rownum, cells, num)
        overall["k"] = float(sum(1 for r in rows if r["estimable"])) if rows else math.nan
        a_notes: list[str] = []
        if not random:
            overall["tau2"] = math.nan
        if data_type == "generic":
            for r in rows:
                for arm in ("n1", "n2"):
                    if r[arm] == 0:
                        r[arm] = math.nan
                if r["giv_se"] == 0:
                    r["giv_se"] = math.nan
                    r["estimable"] = False
                    a_notes.append(f"{r['study']}: GIV SE of 0 (never computed): not estimable")
        _sign_z(overall, log)
        for s in sub_stored.get(aid, []):
            if not random:
                s["stored"]["tau2"] = math.nan
            _sign_z(s["stored"], log)
        diff = {"q": num.get(settings, rownum, cells, "Subgroup Chi²"),
                "df": num.get(settings, rownum, cells, "Subgroup df"),
                "p": num.get(settings, rownum, cells, "Subgroup P"),
                "i2": num.get(settings, rownum, cells, "Subgroup I²")}
        diff_text = {k: cells.get(_key(c), "") for k, c in (("q", "Subgroup Chi²"), ("df", "Subgroup df"),
                                                             ("p", "Subgroup P"), ("i2", "Subgroup I²"))}
        n_est = sum(1 for s in sub_stored.get(aid, []) if math.isfinite(s["stored"].get("estimate", math.nan)))
        if not sub_test or n_est < 2:
            diff = {k: math.nan for k in diff}
        level_text = cells.get("ci/pi level", "") or cells.get("estimate ci", "") or cells.get("study ci", "")
        level_m = re.search(r"(\d+(?:\.\d+)?)", level_text or "")
        analyses.append(ReviewAnalysis(
            analysis_id=aid, comparison_no=int(g), outcome_no=int(n),
            comparison_name=cells.get("analysis group name", ""), outcome_name=cells.get("analysis name", ""),
            data_type=data_type, measure=measure, method=method, model="random" if random else "fixed",
            estimator=_estimator(cells.get("heterogeneity estimator", "")) if random else "EE",
            ci_method="HKSJ" if re.search(r"hksj|hartung|knapp", cells.get("ci method", ""), re.I) else "Wald",
            log_scale=log, ci_level=float(level_m.group(1)) if level_m else 95.0,
            group_label_1=cells.get("experimental group label", ""), group_label_2=cells.get("control group label", ""),
            graph_label_1=cells.get("graph label (left)", ""), graph_label_2=cells.get("graph label (right)", ""),
            has_subgroups=has_sub, subgroup_test=sub_test,
            totals=_truthy(cells.get("overall estimates"), default=True),
            swap_events=_truthy(cells.get("swap event and non-event")),
            overall=overall, overall_text=overall_text,
            subgroups=sorted(sub_stored.get(aid, []), key=lambda s: s["subgroup_no"]),
            subgroup_difference=diff, subgroup_difference_text=diff_text,
            location=f"{Path(settings_name).name}, row {rownum}", notes=a_notes))
    known = {a.analysis_id for a in analyses}
    for aid, rows in by_analysis.items():
        if aid not in known:
            num.problems.append(Problem(datarows.label, rows[0]["_row"], "Analysis number", aid,
                                        f"data rows of analysis {aid}, which the settings file does not list"))
    if num.problems:
        raise TrialDataError(num.problems)
    records = []
    for a in analyses:
        for r in by_analysis.get(a.analysis_id, []):
            r = dict(r)
            r.pop("_row", None)
            records.append(r)
        notes.extend(f"analysis {a.analysis_id}: {n}" for n in a.notes)
    if any(math.isfinite(a.overall.get("z", math.nan)) for a in analyses):
        notes.append("Effect Z is stored unsigned; signed from the stored estimate")
    rob = pd.DataFrame(rob_records) if rob_records else empty_rob()
    if rob_member is not None:
        extra = _rob_table(_Table(label(rob_member[0]), rob_member[1], notes))
        if len(extra):
            rob = pd.concat([rob, extra], ignore_index=True) if len(rob) else extra
    title = review_id or Path(name).stem
    return ImportedReview(file=name, format="cochrane-data-package", title=title, doi=None, review_id=review_id,
                          analyses=analyses, rows=rows_frame(records), risk_of_bias=rob, encoding="utf-8",
                          notes=notes, root_text="")


def _stored(table: _Table, rownum: int, cells: dict, num: _Numbers) -> tuple[dict, dict]:
    cols = {"estimate": "Mean", "ci_low": "CI start", "ci_high": "CI end", "tau2": "Heterogeneity Tau²",
            "q": "Heterogeneity Chi²", "df": "Heterogeneity df", "p_q": "Heterogeneity P", "i2": "Heterogeneity I²",
            "z": "Effect Z", "p_z": "Effect P", "n1": "Experimental N", "n2": "Control N",
            "events1": "Experimental cases", "events2": "Control cases"}
    out = {k: num.get(table, rownum, cells, c) for k, c in cols.items()}
    text = {k: cells.get(_key(c), "") for k, c in cols.items()}
    if math.isnan(out["z"]) and table.has("Effect T"):
        out["z"] = num.get(table, rownum, cells, "Effect T")
        text["z"] = cells.get(_key("Effect T"), "")
    out["k"] = math.nan
    if out["df"] == 0 or math.isnan(out["df"]):
        out["i2"] = out["p_q"] = math.nan
    return out, text


def _sign_z(stored: dict, log: bool) -> None:
    z, est = stored.get("z", math.nan), stored.get("estimate", math.nan)
    if math.isfinite(z) and math.isfinite(est):
        centre = math.log(est) if log and est > 0 else est
        stored["z"] = math.copysign(abs(z), centre) if centre != 0 else abs(z)


def _rob_table(table: _Table) -> pd.DataFrame:
    """A ``-risk-of-bias.csv``: ``Study`` with ``<domain> judgement`` (and ``support``) columns, or
    long rows ``Study``, ``Domain``, ``Judgement``, ``Support``."""
    records = []
    long = table.has("Domain") and table.has("Judgement")
    for _rownum, cells, shown in table.records:
        study = cells.get("study", "")
        if long:
            judgement = cells.get("judgement", "")
            records.append({"study": study, "file_study_id": study, "domain": cells.get("domain", ""),
                            "judgement": judgement, "rob": rob_level(judgement), "support": cells.get("support", ""),
                            "tool": "RoB", "analysis_id": ""})
            continue
        for h, c in shown:
            if _key(h).endswith(" judgement"):
                domain = h[: -len(" judgement")]
                records.append({"study": study, "file_study_id": study, "domain": domain, "judgement": c,
                                "rob": rob_level(c), "support": cells.get(_key(domain + " support"), ""),
                                "tool": "RoB", "analysis_id": ""})
    return pd.DataFrame(records) if records else empty_rob()
