"""The whole analysis in one call, shared by ``make report``, the command line and the notebooks.

:func:`run_analysis` calls the stages of :mod:`trialsynth.report.stages` in turn, each taking
the previous one's result::

    loaded  = load_trials_stage(data_path)          # validated rows, each with its window
    sources = load_sources(reviews, evidence, claims)
    effects = compute_effects(loaded, conditions=POOLED_CONDITIONS, pool_across=())
    pooled  = pool_cells(effects, profile, sources.claims)
    info    = size_information(pooled, effects)    # required information size, TSA
    graded  = grade_cells(pooled, effects, info)
    durab   = {o: durability_stage(effects, pooled, outcome=o) for o in durability_outcomes(sources.claims)}
    judged  = judge_claims(sources, pooled, effects, graded, info, durab)

and keeps their results in an :class:`Analysis` (``analysis.stages`` holds the stage values
themselves), which the notebooks and the report's views read. What could not run (no data, a file
that does not parse) is said in :attr:`Analysis.notes` instead of failing, so that a report "works
with whatever data exists".
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.report.stages import (  # noqa: F401 - re-exported: the report's constants live with the stages
    ACUTE_CONDITIONS,
    GROUP_BY,
    POOLED_COLUMNS,
    POOLED_CONDITIONS,
    compute_effects,
    durability_outcomes,
    durability_stage,
    grade_cells,
    judge_claims,
    load_sources,
    load_trials_stage,
    pool_cells,
    population_label,
    scope_label,
    size_information,
)

DEFAULT_PROFILE = "cochrane-2025"


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
    conditions: tuple | None = POOLED_CONDITIONS  # the pooled populations (None: all)
    refits: dict = field(default_factory=dict)  # group key -> the cell refitted under each shipped profile
    bayes: pd.DataFrame = field(default_factory=pd.DataFrame)  # every cell's Bayesian rows (default and sensitivity prior)
    information: pd.DataFrame = field(default_factory=pd.DataFrame)  # required information size per cell
    sequential: dict = field(default_factory=dict)  # cell key -> trial sequential analysis (a sensitivity analysis)
    stages: dict = field(default_factory=dict)  # stage name -> the value it returned
    set_apart: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows the pooling rules left out, with why
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)  # every cell x sensitivity analysis
    subgroups: dict = field(default_factory=dict)  # cell key -> single-session subgroup analysis
    pool_across: tuple = ()  # key columns pooled across ("comparator_class", "add_on")
    rules: list = field(default_factory=list)  # what the pooling rules did

    @property
    def population(self) -> str:
        """The pooled population in words ("chronic low back pain (...)")."""
        return population_label(self.conditions)

    @property
    def scope(self) -> str:
        """What the pools mix beyond the default cells, for titles ("" by default; "pooled across
        conditions", "pooled across comparators")."""
        return scope_label(self.conditions, self.pool_across)

    @property
    def has_data(self) -> bool:
        return len(self.trials) > 0

    def results(self) -> dict:
        """Group key -> MetaResult (empty when nothing was pooled)."""
        return dict(getattr(self.grouped, "results", {}) or {})

    def result(self, outcome: str, comparator_class: str, window: str, add_on=None):
        """The pooled result of one cell; ``add_on`` True (acupuncture + the comparator's care vs
        that care) or False (head to head). With ``add_on=None`` the one cell of that outcome,
        comparator and window (None when there is none; an error naming both when both exist)."""
        found = {k: r for k, r in self.results().items()
                 if (k[0], str(k[1]), k[3]) == (outcome, str(comparator_class), window)
                 and (add_on is None or str(k[2]) == str(add_on))}
        if len(found) > 1:
            raise ArgumentError(f"{outcome} / {comparator_class} / {window} has an add-on and a head-to-head cell: "
                                "pass add_on=True or add_on=False")
        return next(iter(found.values()), None)

    def comparisons(self, outcome: str | None = None) -> list[tuple]:
        """The ``(comparator_class, add_on)`` pairs pooled (for ``outcome``), in comparator order."""
        order = {c: i for i, c in enumerate(("sham", "no_treatment", "usual_care", "active", "any"))}
        pairs = {(str(k[1]), k[2]) for k in self.results() if outcome is None or k[0] == outcome}
        return sorted(pairs, key=lambda p: (order.get(p[0], 9), str(p[1])))

    def methods_text(self) -> str:
        """A methods paragraph in general terms (it holds for every pooled cell, whatever its k):
        population, measures, windows, the profile's methods and the MIDs."""
        from trialsynth.claims.effects import MID_SOURCE, RATIO_MID_SOURCE
        from trialsynth.pooling.profiles import get_profile

        try:
            prof = get_profile(self.profile)
            parts = [prof.methods_text + f" (method profile {prof.name})."]
        except ArgumentError:
            parts = [_profile_sentence(self.profile)]
        ks = sorted({int(r.k) for r in self.results().values()})
        windows = self.windows_used()
        parts.append(
            f"Population pooled: {self.population}" + (f" ({self.scope})" if self.scope else "")
            + ". Each outcome x comparison x time window is pooled on its own"
            + (f" ({len(self.results())} cells, k = {ks[0]} to {ks[-1]} trials each)" if ks else "")
            + ", never across windows; a cell with one trial shows that trial's estimate (not pooled). "
            "Continuous outcomes are standardised mean differences (Hedges' g) oriented so that negative values favour "
            "acupuncture; responder outcomes are risk ratios (pooled on the log scale and shown as ratios; above 1 favours "
            "acupuncture). Each trial contributes at most one estimate per outcome, comparator and time window ("
            + "; ".join(w.describe() for w in windows) + "), the one closest to the window's target."
        )
        parts.append(POOLING_RULES_TEXT)
        parts.append("Clinical importance and GRADE imprecision use " + MID_SOURCE + " Thresholds for " + RATIO_MID_SOURCE
                     + " A mean difference on a 0-100 scale is judged against 15 points for pain and 10 for function.")
        parts.append("Every cell is refitted under cochrane-2025, its never-narrower variant (cochrane-2025-adhoc) and "
                     "revman5-legacy and, with two or more trials, by Bayesian random-effects pooling (exact numerical "
                     "integration over tau; prior on tau Rhodes et al. 2015 for SMDs, Turner et al. 2015 for risk ratios, "
                     "flat prior on the mean; posterior median and 95% credible interval); a cell whose class changes "
                     "between them is flagged 'depends on the method'.")
        parts.append(SENSITIVITY_TEXT)
        parts.append("Each cell's required information size (participants to detect the MID with alpha 0.05 and power 80%, "
                     "divided by 1 - D\u00b2 for diversity; Wetterslev et al. 2009) sets the GRADE imprecision criterion; a trial "
                     "sequential analysis with Lan-DeMets O'Brien-Fleming boundaries is reported as a sensitivity analysis.")
        return " ".join(parts)

    def windows_used(self):
        from trialsynth.data.windows import DEFAULT_WINDOWS

        return self.windows or DEFAULT_WINDOWS


#: the pooling rules, as the methods paragraph states them (each is a function of
#: :func:`trialsynth.report.stages.compute_effects`)
POOLING_RULES_TEXT = (
    "Pooling rules (Cochrane Handbook v6.4): (1) acupuncture added to the comparator's care (acupuncture + usual care vs "
    "usual care, or + exercise vs exercise) and acupuncture instead of it (acupuncture vs usual care) are different "
    "comparisons and are pooled in different cells (chapter 3); (2) change-from-baseline and final values are never "
    "mixed in one SMD pool (section 10.5.2): a cell holding both is pooled as mean differences on a common 0-100 scale "
    "when every instrument's range is printed, otherwise the value type more trials report is kept and the other set "
    "apart, and a final value whose direction a baseline imbalance reverses (computed from the printed baseline means) "
    "is not pooled; (3) an arm shared by two comparisons of one trial in one cell has its n split between them "
    "(section 23.3.4), so no patient is counted twice; (4) a single-session trial (one needling, measured minutes "
    "later) is not pooled with courses of treatment: it is shown as a subgroup with the test for subgroup "
    "differences. The rows each rule sets apart are listed in the notes and put back in the sensitivity analyses."
)
SENSITIVITY_TEXT = (
    "Sensitivity analyses (section 10.14), on every cell: without effects approximated from p-values; without trials at "
    "high or unclear risk of bias; chronic low back pain only; by sham type (penetrating, non-penetrating, placebo "
    "TENS, where a quote states it); with the rows the pooling rules set apart. A cell whose class changes in any of "
    "them is flagged 'sensitive'."
)


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
                 conditions: Sequence[str] | None = POOLED_CONDITIONS, pool_across: Sequence[str] = (),
                 binary_measure: str = "RR") -> Analysis:
    """Run every stage on ``data_path`` and return an :class:`Analysis`.

    ``conditions`` names the populations whose rows are pooled (default :data:`POOLED_CONDITIONS`:
    chronic and persistent low back pain); ``None`` pools every row. Rows of other conditions stay in
    :attr:`Analysis.trials` and :attr:`Analysis.effects`, and a note names them. ``pool_across``
    names cell-key columns to pool across (``"comparator_class"``: every control in one cell;
    ``"add_on"``: add-on and head-to-head comparisons together); the default keeps them apart.
    Either way the report's titles and notes say what was pooled together (:attr:`Analysis.scope`).
    ``measure`` is ``"SMD"`` (default), ``"MD"`` (raw mean differences) or ``"MD100"`` (mean
    differences on a common 0-100 scale, rows without a printed scale range left out);
    ``binary_measure`` is the measure of responder outcomes (``"RR"``, ``"OR"``, ``"RD"``).

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
    if isinstance(pool_across, str):
        pool_across = (pool_across,)
    pool_across = tuple(pool_across or ())
    # the stages take the measures as one value: "SMD", or ("SMD", "OR") when responders are not RR
    measures = measure if binary_measure == "RR" else (measure, binary_measure)
    key = _memo_key(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measures, raise_invalid,
                    (None if conditions is None else tuple(conditions), pool_across))
    if key in _MEMO:
        return copy.deepcopy(_MEMO[key])
    an = _run_analysis(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measures, raise_invalid,
                       conditions, pool_across)
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


def _declared_correlations(path: Path, evidence_dir, raise_invalid: bool):
    """The within-person correlations declared beside the trial data (``data/correlations.csv``,
    :func:`trialsynth.data.correlations.load_correlations`) for the joint models; None when the
    file is absent. An invalid file raises under ``raise_invalid``, else it is set aside with a
    note naming its problems (the joint models then use the default correlation)."""
    from trialsynth.data.correlations import load_correlations
    from trialsynth.errors import TrialDataError

    if not path.is_file():
        return None, []
    try:
        return load_correlations(path, evidence_dir=evidence_dir), []
    except TrialDataError as exc:
        if raise_invalid:
            raise
        return None, [f"{path.name} not used (the joint models assume the default within-person correlation): {exc}"]


def _run_analysis(data_path, profile, windows, reviews_path, evidence_dir, claims_path, measure, raise_invalid,
                  conditions=POOLED_CONDITIONS, pool_across=()) -> Analysis:
    windows = resolve_windows(windows)
    t: dict[str, float] = {}
    with _timed(t, "load_validate"):
        loaded = load_trials_stage(data_path, windows, raise_invalid=raise_invalid)
    with _timed(t, "reviews_claims_load"):
        sources = load_sources(Path(reviews_path), Path(evidence_dir), Path(claims_path))
    with _timed(t, "effects"):
        measure, binary_measure = (measure, "RR") if isinstance(measure, str) else measure
        effects = compute_effects(loaded, measure=measure, conditions=conditions, pool_across=pool_across,
                                  binary_measure=binary_measure)
    with _timed(t, "pooling"):
        pooled = pool_cells(effects, profile, sources.claims)
    with _timed(t, "information_size"):
        info = size_information(pooled, effects)
    with _timed(t, "grade"):
        graded = grade_cells(pooled, effects, info)
    with _timed(t, "durability"):
        correlations, corr_notes = _declared_correlations(Path(data_path).parent / "correlations.csv", evidence_dir,
                                                          raise_invalid)
        durability = {o: durability_stage(effects, pooled, outcome=o, correlations=correlations)
                      for o in durability_outcomes(sources.claims)}
    with _timed(t, "claims"):
        judged = judge_claims(sources, pooled, effects, graded, info, durability)
    return Analysis(
        data_path=str(data_path), profile=profile, windows=windows, trials=loaded.trials, effects=effects.effects,
        selected=effects.selected, grouped=pooled.grouped, pooled=pooled.frame, reviews=sources.reviews,
        claims=sources.claims, verdicts=judged.verdicts, sof=graded.sof, quotes=sources.quotes,
        subset_pooled=pooled.subset_pooled,
        notes=[*loaded.notes, *sources.notes, *effects.notes, *pooled.notes, *info.notes, *graded.notes, *corr_notes],
        timings=t, problems=loaded.problems, problem_items=loaded.problem_items,
        conditions=effects.conditions, refits=pooled.refits, set_apart=effects.set_apart,
        sensitivity=pooled.sensitivity, subgroups=pooled.subgroups, pool_across=effects.pool_across, rules=effects.rules,
        bayes=pooled.bayes, information=info.frame, sequential=info.analyses,
        stages={"loaded": loaded, "sources": sources, "effects": effects, "pooled": pooled, "information": info,
                "graded": graded, "judged": judged, "durability": durability, "correlations": correlations},
    )
