"""The whole analysis in one call, shared by ``make report`` and the notebooks.

:func:`run_analysis` loads and validates the trial records, assigns time windows, computes effect
sizes, keeps one row per trial per window, pools per outcome x comparator x window under a named
profile, drafts the GRADE summary of findings and computes every claim's verdict. Each stage is a
call into its package; this module only wires them together and records what could not run (a
stage not installed yet, no data) in :attr:`Analysis.notes` instead of failing, so that a report
"works with whatever data exists".
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.errors import ArgumentError, TrialDataError

DEFAULT_PROFILE = "cochrane-2025"
GROUP_BY = ("outcome", "comparator_class", "window")
#: the populations pooled by default: chronic low back pain, with the trials of persistent pain of
#: mixed or unstated duration (``mixed_lbp``). Acute and subacute back pain is a different question
#: (Cochrane splits the two reviews: CD013814 chronic, protocol CD009265 acute), and sciatica is a
#: different condition with a different outcome (leg pain): their rows stay in the data, the
#: evidence tables and the trial-level claim checks, but enter no pool unless asked for
#: (``run_analysis(conditions=...)``, e.g. :data:`ACUTE_CONDITIONS`).
POOLED_CONDITIONS = ("chronic_lbp", "mixed_lbp")
ACUTE_CONDITIONS = ("acute_lbp", "subacute_lbp", "acute_subacute_lbp")
POOLED_COLUMNS = ["outcome", "comparator_class", "window", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high",
                  "tau2", "i2", "q", "q_p_value", "p_value", "measure", "profile", "study_ids"]


@dataclass
class Analysis:
    """Everything a notebook or the report shows. Frames are empty (never ``None``) when a stage
    could not run; :attr:`notes` says why."""

    data_path: str
    profile: str
    windows: Any = None
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # every row, typed, with window
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)  # every row with yi/vi (NaN when unusable)
    selected: pd.DataFrame = field(default_factory=pd.DataFrame)  # one usable row per trial x window, pooled
    grouped: Any = None  # GroupedResults
    pooled: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POOLED_COLUMNS))
    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    claims: list = field(default_factory=list)
    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    sof: pd.DataFrame = field(default_factory=pd.DataFrame)
    quotes: dict = field(default_factory=dict)
    subset_pooled: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # validation problems (strings)
    problem_items: list = field(default_factory=list)  # the same as trialsynth.errors.Problem

    @property
    def has_data(self) -> bool:
        return len(self.trials) > 0

    def results(self) -> dict:
        """Group key -> MetaResult (empty when nothing was pooled)."""
        return dict(getattr(self.grouped, "results", {}) or {})

    def result(self, outcome: str, comparator_class: str, window: str):
        return self.results().get((outcome, comparator_class, window))

    def methods_text(self) -> str:
        """A methods paragraph for the active profile, from the pooled results themselves."""
        parts = []
        for res in self.results().values():
            if hasattr(res, "methods_text"):
                parts.append(res.methods_text())
                break
        if not parts:
            parts.append(_profile_sentence(self.profile))
        windows = self.windows_used()
        parts.append(
            "Effects are standardised mean differences (Hedges' g) oriented so that negative values favour acupuncture; "
            "responder outcomes are risk ratios. Each trial contributes at most one estimate per outcome, comparator "
            "and time window (" + "; ".join(w.describe() for w in windows) + "), chosen by the rule closest to the "
            "window's target. Pooled separately per outcome x comparator class x window, never across windows."
        )
        from trialsynth.claims.effects import MID_SOURCE

        parts.append("Clinical importance and GRADE imprecision use " + MID_SOURCE)
        return " ".join(parts)

    def windows_used(self):
        from trialsynth.data.windows import DEFAULT_WINDOWS

        return self.windows or DEFAULT_WINDOWS


def _profile_sentence(profile: str) -> str:
    try:
        from trialsynth.pooling.profiles import get_profile

        prof = get_profile(profile)
        for attr in ("description", "methods_text", "summary"):
            value = getattr(prof, attr, None)
            if callable(value):
                value = value()
            if isinstance(value, str) and value:
                return f"Profile {profile}: {value}"
    except Exception:  # noqa: BLE001 - the profile module may not be installed yet
        pass
    return f"Profile {profile}."


def resolve_windows(windows):
    """``None`` -> default windows; a mapping ``{name: (lower, upper, target)}`` -> TimeWindows."""
    if windows is None:
        return None
    from trialsynth.data.windows import make_windows

    if isinstance(windows, Mapping):
        return make_windows(windows)
    if isinstance(windows, Sequence) and not isinstance(windows, str):
        return tuple(windows)
    raise ArgumentError(f"windows: expected None, a mapping name -> (lower, upper, target) or TimeWindows, got {type(windows).__name__}")


def project_paths(data_path: str | Path) -> dict[str, Path]:
    """Where the companions of ``data/trials.csv`` live: ``data/reviews.csv`` and ``evidence/``."""
    data = Path(data_path)
    root = data.resolve().parent.parent
    return {"reviews": data.parent / "reviews.csv", "evidence": root / "evidence", "claims": root / "evidence" / "claims.yaml"}


def _timed(timings: dict, name: str):
    class _T:
        def __enter__(self):
            self.t0 = time.perf_counter()

        def __exit__(self, *exc):
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - self.t0
            return False

    return _T()


def run_analysis(data_path: str | Path = "data/trials.csv", profile: str = DEFAULT_PROFILE, windows=None, *,
                 reviews_path: str | Path | None = None, evidence_dir: str | Path | None = None,
                 claims_path: str | Path | None = None, measure: str = "SMD", raise_invalid: bool = False,
                 conditions: Sequence[str] | None = POOLED_CONDITIONS, binary_measure: str = "RR") -> Analysis:
    """Run every stage on ``data_path`` and return an :class:`Analysis`.

    ``conditions`` names the populations whose rows are pooled (default :data:`POOLED_CONDITIONS`:
    chronic and persistent low back pain); ``None`` pools every row. Rows of other conditions stay in
    :attr:`Analysis.trials` and :attr:`Analysis.effects`, and a note names them. ``measure`` and
    ``binary_measure`` are the effect measures of continuous and responder outcomes
    (:func:`trialsynth.effects.records.effects_from_trials`).

    A missing or empty ``trials.csv`` gives an analysis with no rows and a note (not an error).
    Invalid data gives an analysis whose :attr:`Analysis.problems` lists every problem (or, with
    ``raise_invalid=True``, raises the :class:`TrialDataError`).
    """
    if not isinstance(profile, str) or not profile:
        raise ArgumentError(f"profile: expected a profile name, got {profile!r}")
    paths = project_paths(data_path)
    reviews_path = Path(reviews_path) if reviews_path else paths["reviews"]
    evidence_dir = Path(evidence_dir) if evidence_dir else paths["evidence"]
    claims_path = Path(claims_path) if claims_path else (evidence_dir / "claims.yaml")
    if conditions is not None and (isinstance(conditions, str) or not all(isinstance(c, str) for c in conditions)):
        raise ArgumentError(f"conditions: expected a sequence of condition names or None, got {conditions!r}")
    # the stages take the measures as one value: "SMD", or ("SMD", "OR") when responders are not RR
    measures = measure if binary_measure == "RR" else (measure, binary_measure)
    key = _memo_key(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measures, raise_invalid,
                    None if conditions is None else tuple(conditions))
    if key in _MEMO:
        return copy.deepcopy(_MEMO[key])
    an = _run_analysis(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measures, raise_invalid,
                       conditions)
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = copy.deepcopy(an)
    return an


#: the last few analyses of this process, by :func:`_memo_key` (the report's notebooks run in one
#: kernel, one after the other, and each calls :func:`run_analysis` on the same files)
_MEMO: dict = {}
_MEMO_LIMIT = 4


def _memo_key(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measure, raise_invalid,
              conditions=POOLED_CONDITIONS) -> str:
    """SHA-256 over the arguments and the bytes of every file :func:`run_analysis` reads (the
    trial data, the reviews and the claims, and every file of the data and evidence folders):
    an edited file gives a new key, so a memoised analysis (returned as a deep copy, so callers
    may change theirs) is only ever returned for identical inputs."""
    h = hashlib.sha256()
    h.update(repr((str(data_path), str(Path(data_path).resolve()), profile, repr(windows), str(Path(reviews_path).resolve()),
                   str(Path(evidence_dir).resolve()), str(Path(claims_path).resolve()), measure, raise_invalid,
                   conditions)).encode())
    files = [Path(data_path), Path(reviews_path), Path(claims_path)]
    for folder in (Path(data_path).parent, Path(evidence_dir)):  # and their companions
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        h.update(f"\n{path}\n".encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def _run_analysis(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measure, raise_invalid,
                  conditions=POOLED_CONDITIONS) -> Analysis:
    an = Analysis(data_path=str(data_path), profile=profile, windows=resolve_windows(windows))
    t = an.timings

    with _timed(t, "load_validate"):
        _load(an, raise_invalid)
    with _timed(t, "reviews_claims_load"):
        _load_side(an, reviews_path, evidence_dir, claims_path)
    if an.has_data:
        with _timed(t, "effects"):
            _effects(an, measure, conditions)
        with _timed(t, "pooling"):
            _pool(an)
    with _timed(t, "grade"):
        _grade(an)
    with _timed(t, "claims"):
        _claims(an)
    return an


def _load(an: Analysis, raise_invalid: bool) -> None:
    path = Path(an.data_path)
    if not path.is_file():
        an.notes.append(f"No trial data: {an.data_path} does not exist. Add trials (trialsynth add-trial) and re-run.")
        return
    from trialsynth.data.loading import load_trials
    from trialsynth.data.windows import DEFAULT_WINDOWS, assign_windows

    windows = an.windows or DEFAULT_WINDOWS
    try:
        df = load_trials(path, windows=windows)
    except TrialDataError as exc:
        if raise_invalid:
            raise
        an.problems = exc.problems()
        an.problem_items = exc.items
        an.notes.append(f"The trial data did not validate ({len(an.problems)} problem(s)); nothing was pooled.")
        return
    if len(df) == 0:
        an.notes.append(f"No trial data: {an.data_path} has a header but no rows.")
        return
    an.trials = assign_windows(df, windows, on_outside="keep")


def _load_side(an: Analysis, reviews_path: Path, evidence_dir: Path, claims_path: Path) -> None:
    if reviews_path.is_file():
        try:
            an.reviews = pd.read_csv(reviews_path, keep_default_na=True)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            an.notes.append(f"{reviews_path} could not be read ({exc}); published estimates are left out.")
    else:
        an.notes.append(f"No published estimates: {reviews_path} does not exist.")
    from trialsynth.claims.records import load_claims, load_quotes

    try:
        an.quotes = load_quotes(evidence_dir)
    except TrialDataError as exc:
        an.notes.append(f"Evidence records could not be read: {exc}")
    if claims_path.is_file():
        try:
            an.claims = load_claims(claims_path)
        except TrialDataError as exc:
            an.notes.append(f"{claims_path} could not be read: {exc}")
    else:
        an.notes.append(f"No claims to check: {claims_path} does not exist.")


def _effects(an: Analysis, measure, conditions: Sequence[str] | None = POOLED_CONDITIONS) -> None:
    measure, binary_measure = (measure, "RR") if isinstance(measure, str) else measure
    try:
        from trialsynth.effects.records import effects_from_trials
    except ImportError:
        an.notes.append("The effects stage (trialsynth.effects.records) is not installed; no effect sizes computed.")
        an.effects = an.trials.copy()
        return
    eff = effects_from_trials(an.trials, measure=measure, binary_measure=binary_measure)
    for col in ("weeks_after", "window"):
        if col in an.trials.columns and col not in eff.columns:
            eff[col] = an.trials[col]
    an.effects = eff
    usable = eff[eff["yi"].notna() & eff["vi"].notna()] if "yi" in eff.columns else eff.iloc[0:0]
    if "usable" in usable.columns:
        usable = usable[usable["usable"].fillna(False).astype(bool)]
    usable = usable[usable["window"].notna()] if "window" in usable.columns else usable
    dropped = len(eff) - len(usable)
    if conditions is not None and "condition" in usable.columns:
        other = usable[~usable["condition"].astype(str).isin(list(conditions))]
        if len(other):
            studies = ", ".join(sorted({str(s) for s in other["study_id"]}))
            kinds = ", ".join(sorted({str(c) for c in other["condition"]}))
            an.notes.append(f"{len(other)} usable row(s) on {kinds} ({studies}) are not pooled: the pooled "
                            f"populations are {', '.join(conditions)} (run_analysis(conditions=...) pools others).")
        usable = usable[usable["condition"].astype(str).isin(list(conditions))]
    if dropped:
        an.notes.append(f"{dropped} of {len(eff)} rows give no usable {measure} (reported p-value only, or missing numbers) "
                        "and enter only the claim checks.")
    if len(usable) == 0:
        an.selected = usable
        return
    from trialsynth.data.windows import DEFAULT_WINDOWS, select_per_window

    an.selected = select_per_window(usable, windows=an.windows or DEFAULT_WINDOWS)


class _LoopGrouped:
    """Stand-in for ``GroupedResults`` while ``trialsynth.pooling.grouped`` is not installed: one
    :func:`trialsynth.pool` call per group, same ``results`` / ``to_frame()`` contract."""

    def __init__(self, effects: pd.DataFrame, by, profile: str):
        from trialsynth.pooling.fit import pool

        self.by = tuple(by)
        self.results = {}
        self._ids = {}
        for key, g in effects.groupby(list(by), observed=True, sort=True):
            key = tuple(str(k) for k in key)
            labels = [str(s) for s in g["study_id"]]
            measure = str(g["measure"].iloc[0]) if "measure" in g else None
            self.results[key] = pool(g["yi"].to_numpy(float), g["vi"].to_numpy(float), profile=profile, measure=measure, labels=labels)
            self._ids[key] = labels

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for key, res in self.results.items():
            row = dict(zip(self.by, key))
            for f in ("k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p_value", "p_value", "measure", "profile"):
                row[f] = getattr(res, f, None)
            row["study_ids"] = ";".join(self._ids[key])
            rows.append(row)
        return pd.DataFrame(rows, columns=POOLED_COLUMNS)


def _pool_frame(effects: pd.DataFrame, profile: str):
    try:
        from trialsynth.pooling.grouped import pool_groups
    except ImportError:
        grouped = _LoopGrouped(effects, GROUP_BY, profile)
        return grouped, grouped.to_frame()
    grouped = pool_groups(effects, by=GROUP_BY, profile=profile)
    frame = grouped.to_frame()
    return grouped, frame


def _pool(an: Analysis) -> None:
    if len(an.selected) == 0:
        an.notes.append("No usable effect sizes, so nothing was pooled.")
        return
    try:
        an.grouped, an.pooled = _pool_frame(an.selected, an.profile)
    except ImportError:
        an.notes.append("The pooling stage (trialsynth.pooling) is not installed; no pooled estimates.")
        return
    # re-pooling restricted as a claim says (e.g. trials with 1-3 sessions a week)
    for claim in an.claims:
        spw = claim.params.get("sessions_per_week")
        if isinstance(spw, (list, tuple)) and len(spw) == 2 and "sessions_per_week" in an.selected.columns:
            lo, hi = float(spw[0]), float(spw[1])
            s = pd.to_numeric(an.selected["sessions_per_week"], errors="coerce")
            subset = an.selected[(s >= lo) & (s <= hi)]
            if len(subset):
                an.subset_pooled[claim.id] = _pool_frame(subset, an.profile)[1]


def _grade(an: Analysis) -> None:
    from trialsynth.grade import GradeSettings, draft_sof

    if len(an.pooled) == 0:
        an.sof = draft_sof(pd.DataFrame(columns=POOLED_COLUMNS), None)
        return
    weights = {}
    egger = {}
    for key, res in an.results().items():
        try:
            sf = res.study_frame()
            ids = [str(x) for x in _study_ids_of(an.pooled, key)]
            if len(ids) == len(sf):
                weights[key] = dict(zip(ids, sf["weight"].astype(float)))
        except Exception:  # noqa: BLE001 - weights are optional input to the draft
            pass
        if getattr(res, "k", 0) >= 10:
            try:
                from trialsynth.diagnostics.small_study import egger_test

                egger[key] = float(getattr(egger_test(res), "p_value"))
            except Exception as exc:  # noqa: BLE001
                an.notes.append(f"Egger's test failed for {key}: {exc}")
    an.sof = draft_sof(an.pooled, an.selected, settings=GradeSettings(), weights=weights, egger_p=egger)


def _study_ids_of(pooled: pd.DataFrame, key) -> list[str]:
    m = pooled
    for col, val in zip(GROUP_BY, key):
        m = m[m[col].astype(str) == str(val)]
    if len(m) == 0:
        return []
    ids = m["study_ids"].iloc[0]
    if isinstance(ids, str):
        return [s.strip() for s in ids.replace(";", ",").split(",") if s.strip()]
    if ids is None or (isinstance(ids, float) and math.isnan(ids)):
        return []
    return list(ids)


def _claims(an: Analysis) -> None:
    from trialsynth.claims import evaluate_claims

    trials = an.effects if len(an.effects) else an.trials
    an.verdicts = evaluate_claims(an.claims, pooled=an.pooled, trials=trials, reviews=an.reviews, sof=an.sof,
                                  quotes=an.quotes, subset_pooled=an.subset_pooled)
