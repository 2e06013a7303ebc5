r"""Trial records (rows of ``data/trials.csv``) to effect sizes ready for pooling.

:func:`effects_from_trials` takes any DataFrame with the columns of
``data/README.md`` (it does not need the data package's loader) and returns the
same rows with ``yi``, ``vi``, ``sei``, ``measure``, ``approximate``,
``derivation``, ``usable`` and ``reason`` added.

Conventions (``data/README.md``): arm 1 is acupuncture, arm 2 the comparator;
contrasts are arm 1 minus (or over) arm 2. **Continuous outcomes are oriented so
that a negative effect favours acupuncture**: the sign is flipped where
``higher_is_better`` is true. Binary (responder) outcomes are not flipped: a ratio
above 1 (log ratio above 0, RD above 0) favours acupuncture when a response is good
(``higher_is_better`` true), the comparator otherwise. The column ``favourable_direction``
says it per row: ``"lower"`` when effects below the null (0, or a ratio of 1) favour the
intervention (arm 1), ``"higher"`` when effects above it do, so figures can label their sides
without guessing (:func:`trialsynth.plots.favours_labels`).

How each ``data_shape`` becomes an effect (each step is written into ``derivation``):

``arm_continuous``
    Per arm the SD is used as given, or derived from the SE of the mean
    (``SD = SE sqrt(n)``) or from a CI for the mean (t with n-1 df below 60
    participants, normal otherwise; Cochrane Handbook 6.5.2.2); then
    :func:`~trialsynth.effects.measures.effect_sizes` ``MD`` or ``SMD`` (Hedges' g).
``arm_binary``
    :func:`~trialsynth.effects.measures.effect_sizes` with ``binary_measure``
    (RR, OR or RD; log scale for the ratios; 1/2 added to zero cells as metafor does).
``contrast``
    The reported effect with its CI or SE (:func:`~trialsynth.effects.conversions.contrast_to_yi_vi`;
    ratio measures on the log scale; t with n1+n2-2 df for a CI when both arms are
    known and one has fewer than 60 participants). A reported MD becomes an SMD only
    if an SD is available: the arms' SDs, or the SD implied by the SE of the MD and
    the arm sizes (``SD = SE / sqrt(1/n1 + 1/n2)``, Handbook 6.5.2.3; flagged
    approximate because adjusted analyses give smaller SEs). Otherwise the row is
    marked unusable for SMD with its reason; nothing is guessed.
``test_only``
    An approximate SMD from the test statistic (``t``, or ``z`` taken as t) or the
    two-sided p-value with n1+n2-2 df
    (:func:`~trialsynth.effects.conversions.smd_from_t`), signed by ``direction``
    (``favours_intervention`` gives a negative, i.e. favourable, effect). ``p < x``
    is taken as ``p = x`` (conservative); ``p > x`` and ``direction = none`` give no
    usable effect.

Rows that cannot give the requested measure keep ``yi = vi = NaN`` with
``usable = False`` and a ``reason``; they are never dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.effects import conversions as cv
from trialsynth.effects.measures import effect_sizes, hedges_correction
from trialsynth.errors import ArgumentError

__all__ = ["OUTPUT_COLUMNS", "effects_from_trials"]

#: Columns added by :func:`effects_from_trials`.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "yi", "vi", "sei", "measure", "approximate", "derivation", "usable", "reason",
    "favourable_direction",
)
CONTINUOUS_MEASURES = ("MD", "SMD")
BINARY_MEASURES = ("RR", "OR", "RD")
DATA_SHAPES = ("arm_continuous", "arm_binary", "contrast", "test_only")
_NEEDED = {
    "arm_continuous": ("n1", "mean1", "n2", "mean2"),
    "arm_binary": ("events1", "n1", "events2", "n2"),
    "contrast": ("effect_measure", "effect"),
    "test_only": ("p_value", "p_qualifier", "direction", "n1", "n2"),
}
_OPTIONAL_NUMERIC = (
    "n1", "n2", "mean1", "mean2", "sd1", "sd2", "se1", "se2", "ci_low1", "ci_high1",
    "ci_low2", "ci_high2", "events1", "events2", "effect", "effect_ci_low",
    "effect_ci_high", "effect_se", "p_value", "test_statistic",
)
_T_BELOW_N = cv.T_BELOW_N


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), np.nan)
    try:
        return pd.to_numeric(df[col], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
        raise ArgumentError(
            f"{col}: expected numbers, got {df.loc[bad, col].iloc[0]!r} in row {_labels(df)[bad.to_numpy()][0]}"
        ) from None


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), "", dtype=object)
    return df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _labels(df: pd.DataFrame) -> np.ndarray:
    if "study_id" in df:
        lab = df["study_id"].astype(str)
        if "comparison_id" in df:
            lab = lab + "/" + df["comparison_id"].astype(str)
        return (lab + " (index " + df.index.astype(str) + ")").to_numpy()
    return ("index " + df.index.astype(str)).to_numpy()


def _refuse(df, mask, col, expected):
    """Raise naming the column and the first offending rows."""
    if np.any(mask):
        rows = _labels(df)[mask]
        shown = "; ".join(rows[:5]) + (f"; ... ({rows.size} rows)" if rows.size > 5 else "")
        raise ArgumentError(f"{col}: expected {expected}; violated in {shown}")


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if s.dtype == bool:
        return s.to_numpy()
    mapped = s.map(
        lambda v: True if str(v).strip().lower() in ("true", "1", "yes")
        else False if str(v).strip().lower() in ("false", "0", "no") else None
    )
    _refuse(df, mapped.isna().to_numpy(), col, "true or false")
    return mapped.to_numpy(dtype=bool)


def effects_from_trials(df: pd.DataFrame, measure: str = "SMD", *, binary_measure: str = "RR") -> pd.DataFrame:
    """Effect sizes for the rows of a trials table, oriented so that negative favours acupuncture.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows in the layout of ``data/trials.csv`` (``data/README.md``). Needs
        ``data_shape`` and ``higher_is_better``, and per data shape the columns it
        uses (module docstring). Extra columns are carried through unchanged.
    measure : {"SMD", "MD"}, default "SMD"
        Measure for continuous outcomes.
    binary_measure : {"RR", "OR", "RD"}, default "RR"
        Measure for binary (responder) outcomes; RR and OR are on the log scale.

    Returns
    -------
    pandas.DataFrame
        Every input column and row (same index and order) plus ``yi``, ``vi``, ``sei``,
        ``measure`` (the measure of ``yi``; log scale for RR/OR), ``approximate``
        (bool; e.g. an SMD from a p-value), ``derivation`` (how ``yi`` was obtained),
        ``usable`` (bool), ``reason`` (why not, empty when usable) and
        ``favourable_direction`` (``"lower"`` or ``"higher"``: the side of the null that
        favours acupuncture; empty when the row gives no effect).

    Raises
    ------
    trialsynth.errors.ArgumentError
        For an unknown ``measure``, a missing column that some row needs, a column that
        would be overwritten, an unknown ``data_shape``, or impossible numbers (n <= 0,
        negative SD/SE, events > n, a CI whose lower bound exceeds the upper).
    """
    if measure not in CONTINUOUS_MEASURES:
        raise ArgumentError(f"measure: expected one of {', '.join(CONTINUOUS_MEASURES)}, got {measure!r}")
    if binary_measure not in BINARY_MEASURES:
        raise ArgumentError(
            f"binary_measure: expected one of {', '.join(BINARY_MEASURES)}, got {binary_measure!r}"
        )
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    clash = [c for c in OUTPUT_COLUMNS if c in df.columns]
    if clash:
        raise ArgumentError(
            f"df: already has column(s) {', '.join(clash)}, which effects_from_trials would overwrite; "
            "rename or drop them first"
        )
    for col in ("data_shape", "higher_is_better"):
        if col not in df.columns:
            raise ArgumentError(f"df: missing column {col!r} (see data/README.md)")

    k = len(df)
    shape = _text(df, "data_shape")
    _refuse(df, ~np.isin(shape, DATA_SHAPES), "data_shape", f"one of {', '.join(DATA_SHAPES)}")
    for s, cols in _NEEDED.items():
        if np.any(shape == s):
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ArgumentError(f"df: missing column(s) {', '.join(missing)} needed by {s} rows")
    higher_better = _bool(df, "higher_is_better")
    num = {c: _num(df, c) for c in _OPTIONAL_NUMERIC}
    _validate_numbers(df, num)

    yi = np.full(k, np.nan)
    sei = np.full(k, np.nan)
    out_measure = np.full(k, "", dtype=object)
    approximate = np.zeros(k, dtype=bool)
    derivation = np.full(k, "", dtype=object)
    reason = np.full(k, "", dtype=object)

    cont = shape == "arm_continuous"
    if cont.any():
        _arm_continuous(cont, num, measure, yi, sei, out_measure, derivation, reason)
        change = cont & (_text(df, "value_type") == "change") & (derivation != "")
        # the Handbook (10.5.2) warns against mixing change and final values in one SMD analysis
        derivation[change] = derivation[change] + "; change-from-baseline scores"
    binary = shape == "arm_binary"
    if binary.any():
        _arm_binary(binary, num, binary_measure, yi, sei, out_measure, derivation, reason)
    contrast = shape == "contrast"
    if contrast.any():
        _contrast(df, contrast, num, measure, binary_measure, yi, sei, out_measure, approximate, derivation, reason)
    test = shape == "test_only"
    if test.any():
        _test_only(df, test, num, measure, yi, sei, out_measure, approximate, derivation, reason)

    # orientation: negative favours acupuncture for continuous outcomes
    is_cont = np.isin(out_measure, CONTINUOUS_MEASURES)
    flip = is_cont & higher_better & ~(shape == "test_only") & np.isfinite(yi)
    yi = np.where(flip, -yi, yi)
    derivation = np.where(flip, derivation + "; sign flipped (higher is better on this scale)", derivation)

    usable = np.isfinite(yi) & np.isfinite(sei) & (sei > 0)
    reason = np.where(~usable & (reason == ""), "no effect could be derived", reason)
    approximate = approximate & usable
    out = df.copy()
    out["yi"] = np.where(usable, yi, np.nan)
    out["sei"] = np.where(usable, sei, np.nan)
    out["vi"] = out["sei"] ** 2
    out["measure"] = out_measure
    out["approximate"] = approximate
    out["derivation"] = np.where(usable, derivation, "")
    out["usable"] = usable
    out["reason"] = np.where(usable, "", reason)
    # which side of the null favours acupuncture, as oriented above (empty when no effect)
    higher_favours = ~is_cont & higher_better
    out["favourable_direction"] = np.where(usable, np.where(higher_favours, "higher", "lower"), "")
    cols = list(df.columns) + list(OUTPUT_COLUMNS)
    return out[cols]


def _validate_numbers(df, num):
    n1, n2 = num["n1"], num["n2"]
    _refuse(df, n1 <= 0, "n1", "arm sizes > 0")
    _refuse(df, n2 <= 0, "n2", "arm sizes > 0")
    for c in ("sd1", "sd2", "se1", "se2", "effect_se"):
        _refuse(df, num[c] < 0, c, "values >= 0")
    for arm, n in (("1", n1), ("2", n2)):
        ev = num["events" + arm]
        _refuse(df, ev < 0, "events" + arm, "event counts >= 0")
        _refuse(df, ev > n, "events" + arm, f"event counts at most n{arm}")
        _refuse(df, num["ci_low" + arm] > num["ci_high" + arm], "ci_low" + arm, f"ci_low{arm} <= ci_high{arm}")
    _refuse(df, num["effect_ci_low"] > num["effect_ci_high"], "effect_ci_low", "effect_ci_low <= effect_ci_high")
    p = num["p_value"]
    _refuse(df, (p <= 0) | (p > 1), "p_value", "p-values in (0, 1]")


def _arm_sd(mask, num, arm):
    """SD of one arm from sd, se or CI, with a description; NaN where none is given."""
    n = num["n" + arm]
    sd, se = num["sd" + arm], num["se" + arm]
    lo, hi = num["ci_low" + arm], num["ci_high" + arm]
    has_sd = mask & np.isfinite(sd)
    has_se = mask & ~has_sd & np.isfinite(se) & np.isfinite(n)
    has_ci = mask & ~has_sd & ~has_se & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(n) & (n > 1)
    out = np.where(has_sd, sd, np.nan)
    if has_se.any():
        out[has_se] = cv.sd_from_se(se[has_se], n[has_se])
    if has_ci.any():
        out[has_ci] = cv.sd_from_ci(lo[has_ci], hi[has_ci], n[has_ci])
    t_used = has_ci & (n < _T_BELOW_N)
    note = np.select(
        [has_sd, has_se, t_used, has_ci],
        [
            "",
            f"sd{arm} = se{arm}*sqrt(n{arm}) (Handbook 6.5.2.2)",
            f"sd{arm} from the 95% CI of the mean, t with n{arm}-1 df (Handbook 6.5.2.2)",
            f"sd{arm} from the 95% CI of the mean, normal (Handbook 6.5.2.2)",
        ],
        default="",
    ).astype(object)
    return out, note


def _arm_continuous(mask, num, measure, yi, sei, out_measure, derivation, reason):
    sd1, note1 = _arm_sd(mask, num, "1")
    sd2, note2 = _arm_sd(mask, num, "2")
    need = {c: num[c] for c in ("n1", "mean1", "n2", "mean2")}
    complete = mask.copy()
    for c, v in need.items():
        missing = mask & ~np.isfinite(v)
        reason[missing & (reason == "")] = f"arm_continuous row without {c}"
        complete &= np.isfinite(v)
    for arm, sd in (("1", sd1), ("2", sd2)):
        missing = complete & ~np.isfinite(sd)
        reason[missing & (reason == "")] = f"no SD, SE or 95% CI for arm {arm}"
        complete &= np.isfinite(sd)
    if measure == "SMD":
        degenerate = complete & (sd1 == 0) & (sd2 == 0)
        reason[degenerate] = "both SDs are 0; an SMD is undefined"
        small = complete & (num["n1"] + num["n2"] <= 3)
        reason[small & (reason == "")] = "n1 + n2 <= 3; an SMD is undefined"
        complete &= ~degenerate & ~small
    out_measure[mask] = measure
    if not complete.any():
        return
    es = effect_sizes(
        measure, n1=num["n1"][complete], mean1=num["mean1"][complete], sd1=sd1[complete],
        n2=num["n2"][complete], mean2=num["mean2"][complete], sd2=sd2[complete],
    )
    yi[complete] = es["yi"].to_numpy()
    sei[complete] = np.sqrt(es["vi"].to_numpy())
    base = (
        "MD of arm means (arm 1 - arm 2)" if measure == "MD"
        else "SMD (Hedges' g, exact J) from arm means and SDs"
    )
    extra = np.where(note1[complete] != "", "; " + note1[complete], "") + np.where(
        note2[complete] != "", "; " + note2[complete], ""
    )
    derivation[complete] = base + extra


def _arm_binary(mask, num, binary_measure, yi, sei, out_measure, derivation, reason):
    complete = mask.copy()
    for c in ("events1", "n1", "events2", "n2"):
        missing = mask & ~np.isfinite(num[c])
        reason[missing & (reason == "")] = f"arm_binary row without {c}"
        complete &= np.isfinite(num[c])
    out_measure[mask] = binary_measure
    if not complete.any():
        return
    es = effect_sizes(
        binary_measure, events1=num["events1"][complete], n1=num["n1"][complete],
        events2=num["events2"][complete], n2=num["n2"][complete],
    )
    yi[complete] = es["yi"].to_numpy()
    sei[complete] = np.sqrt(es["vi"].to_numpy())
    e1, n1, e2, n2 = (num[c][complete] for c in ("events1", "n1", "events2", "n2"))
    zero = (e1 == 0) | (e2 == 0) | (e1 == n1) | (e2 == n2)
    scale = "log " if binary_measure in ("RR", "OR") else ""
    derivation[complete] = np.where(
        zero,
        f"{scale}{binary_measure} from arm counts; 1/2 added to each cell (zero cell)",
        f"{scale}{binary_measure} from arm counts",
    )


def _contrast(df, mask, num, measure, binary_measure, yi, sei, out_measure, approximate, derivation, reason):
    em = np.char.upper(_text(df, "effect_measure").astype(str)).astype(object)
    known = np.isin(em, ["MD", "SMD", "RR", "OR", "RD", "HR"])
    bad = mask & ~known
    reason[bad] = "effect_measure " + em[bad].astype(str) + " is not one of MD, SMD, RR, OR, RD"
    eff = num["effect"]
    no_eff = mask & known & ~np.isfinite(eff)
    reason[no_eff] = "contrast row without effect"
    se_raw, lo, hi = num["effect_se"], num["effect_ci_low"], num["effect_ci_high"]
    has_prec = np.isfinite(se_raw) | (np.isfinite(lo) & np.isfinite(hi))
    no_prec = mask & known & np.isfinite(eff) & ~has_prec
    reason[no_prec] = "contrast without a CI or SE"
    ok = mask & known & np.isfinite(eff) & has_prec

    continuous = np.isin(em, ["MD", "SMD"])
    out_measure[mask & continuous] = measure
    out_measure[mask & ~continuous] = binary_measure

    # which rows can give the requested measure
    same = ok & (em == np.where(continuous, measure, binary_measure))
    md_to_smd = ok & (em == "MD") & (measure == "SMD")
    smd_to_md = ok & (em == "SMD") & (measure == "MD")
    reason[smd_to_md] = "reported as an SMD; an MD needs the scale's SD, which is not reported"
    other_binary = ok & ~continuous & (em != binary_measure)
    reason[other_binary] = (
        "reported as " + em[other_binary].astype(str) + f"; {binary_measure} needs the arm counts"
    )

    n1, n2 = num["n1"], num["n2"]
    small = np.isfinite(n1) & np.isfinite(n2) & (np.fmin(n1, n2) < _T_BELOW_N) & (n1 + n2 > 2)
    df_t = np.where(small, n1 + n2 - 2.0, np.nan)

    def se_of(sel):
        se = se_raw[sel].copy()
        from_ci = ~np.isfinite(se)
        ratio = np.isin(em[sel], list(cv.RATIO_CONTRASTS))
        if from_ci.any():
            low, high = lo[sel][from_ci], hi[sel][from_ci]
            r = ratio[from_ci]
            bad_log = r & (low <= 0)
            _refuse(df.loc[sel].iloc[np.flatnonzero(from_ci)], bad_log, "effect_ci_low", "positive bounds for a ratio")
            low = np.where(r, np.log(np.where(r, low, 1.0)), low)
            high = np.where(r, np.log(np.where(r, high, 1.0)), high)
            dft = df_t[sel][from_ci]
            z = cv.critical_value(95)
            crit = np.where(np.isfinite(dft), cv.critical_value(95, np.where(np.isfinite(dft), dft, 1.0)), z)
            se[from_ci] = (high - low) / (2.0 * crit)
        note = np.where(
            ~from_ci, "SE as reported",
            np.where(np.isfinite(df_t[sel]), "SE from the 95% CI, t with n1+n2-2 df",
                     "SE from the 95% CI, normal"),
        ).astype(object)
        note = np.where(ratio & from_ci, note + " on the log scale", note)
        return se, note

    if same.any():
        se, note = se_of(same)
        ratio = np.isin(em[same], list(cv.RATIO_CONTRASTS))
        _refuse(df.loc[same], ratio & (eff[same] <= 0), "effect", "a positive ratio")
        yi[same] = np.where(ratio, np.log(np.where(ratio, eff[same], 1.0)), eff[same])
        sei[same] = se
        derivation[same] = np.where(ratio, "reported " + em[same].astype(str) + " (log scale); ",
                                    "reported " + em[same].astype(str) + "; ") + note + " (Handbook 6.5.2.3)"

    if md_to_smd.any():
        idx = md_to_smd
        se, note = se_of(idx)
        sd1, sd2 = num["sd1"][idx], num["sd2"][idx]
        a1, a2 = n1[idx], n2[idx]
        have_n = np.isfinite(a1) & np.isfinite(a2) & (a1 + a2 > 3)
        have_arm_sd = have_n & np.isfinite(sd1) & np.isfinite(sd2)
        with np.errstate(invalid="ignore", divide="ignore"):
            sp_arms = np.sqrt(((a1 - 1) * sd1**2 + (a2 - 1) * sd2**2) / (a1 + a2 - 2))
            sp_se = se / np.sqrt(1.0 / a1 + 1.0 / a2)
        sp = np.where(have_arm_sd, sp_arms, np.where(have_n, sp_se, np.nan))
        good = have_n & np.isfinite(sp) & (sp > 0)
        rows = np.flatnonzero(idx)
        bad_rows = rows[~good]
        reason[bad_rows] = (
            "MD contrast without arm sizes (n1, n2) or SDs: an SMD needs a standard deviation, "
            "which is not guessed"
        )
        if good.any():
            a1g, a2g = a1[good], a2[good]
            d = eff[idx][good] / sp[good]
            g = hedges_correction(a1g + a2g - 2.0) * d
            v = 1.0 / a1g + 1.0 / a2g + g**2 / (2.0 * (a1g + a2g))
            gr = rows[good]
            yi[gr] = g
            sei[gr] = np.sqrt(v)
            from_se = ~have_arm_sd[good]
            approximate[gr] = from_se
            derivation[gr] = np.where(
                from_se,
                "SMD from reported MD with pooled SD = SE(MD)/sqrt(1/n1+1/n2) (Handbook 6.5.2.3); "
                + note[good]
                + "; Hedges' J; approximate (an adjusted analysis would give a smaller SE)",
                "SMD from reported MD and the arms' pooled SD; Hedges' J",
            )


def _test_only(df, mask, num, measure, yi, sei, out_measure, approximate, derivation, reason):
    out_measure[mask] = measure
    if measure == "MD":
        reason[mask] = "only a test result is reported; it gives an approximate SMD, not an MD"
        return
    outcome = _text(df, "outcome")
    qual = _text(df, "p_qualifier")
    direction = _text(df, "direction")
    stat_type = np.char.lower(_text(df, "statistic_type").astype(str)).astype(object)
    p, stat = num["p_value"], num["test_statistic"]
    n1, n2 = num["n1"], num["n2"]

    responder = mask & (outcome == "responder")
    reason[responder] = "test result for a responder outcome; no SMD"
    live = mask & ~responder
    no_n = live & ~(np.isfinite(n1) & np.isfinite(n2) & (n1 + n2 > 3))
    reason[no_n] = "test result without both arm sizes (n1, n2)"
    no_dir = live & ~no_n & ~np.isin(direction, ["favours_intervention", "favours_control"])
    reason[no_dir] = "test result without a direction (direction = none); the sign of the effect is unknown"
    use_stat = live & np.isfinite(stat) & np.isin(stat_type, ["t", "z"])
    greater = live & ~use_stat & (qual == ">")
    reason[greater & (reason == "")] = "p-value reported as '> x' bounds the effect only from above; no SMD"
    bad_q = live & ~use_stat & np.isfinite(p) & ~np.isin(qual, ["=", "<", "<=", "", ">"])
    reason[bad_q & (reason == "")] = "p_qualifier is not one of =, <, >"
    no_p = live & ~use_stat & ~np.isfinite(p)
    reason[no_p & (reason == "")] = "test_only row without p_value or test_statistic"
    good = live & (reason == "")
    if not good.any():
        return
    dfree = n1[good] + n2[good] - 2.0
    t_abs = np.where(
        use_stat[good],
        np.abs(np.where(np.isfinite(stat[good]), stat[good], 0.0)),
        cv.t_from_p(np.where(np.isfinite(p[good]), p[good], 1.0), dfree),
    )
    sign = np.where(direction[good] == "favours_intervention", -1.0, 1.0)
    es = cv.smd_from_t(sign * t_abs, n1[good], n2[good])
    yi[good] = es["yi"].to_numpy()
    sei[good] = np.sqrt(es["vi"].to_numpy())
    approximate[good] = True
    src = np.where(
        use_stat[good],
        "SMD from the reported " + stat_type[good].astype(str) + " statistic",
        np.where(
            np.isin(qual[good], ["<", "<="]),
            "SMD from p " + qual[good].astype(str) + " " + pd.Series(p[good]).map("{:g}".format).to_numpy(dtype=object)
            + " taken as p = " + pd.Series(p[good]).map("{:g}".format).to_numpy(dtype=object) + " (conservative)",
            "SMD from two-sided p = " + pd.Series(p[good]).map("{:g}".format).to_numpy(dtype=object),
        ),
    )
    derivation[good] = (
        src
        + ", t with n1+n2-2 df, d = t*sqrt(1/n1+1/n2), Hedges' J (approximate); signed by direction ("
        + direction[good].astype(str)
        + ")"
    )
