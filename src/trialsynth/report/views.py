"""Tables and figures the notebooks and the report show, built from an :class:`Analysis`.

These functions only select, reshape and format what the stages computed; every statistic comes
from :mod:`trialsynth.pooling`, :mod:`trialsynth.diagnostics`, :mod:`trialsynth.claims` or
:mod:`trialsynth.grade`. Notebooks stay thin by calling them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialsynth.report.analysis import GROUP_BY, Analysis

COMPARATORS = ("sham", "no_treatment", "usual_care", "active")
WINDOWS = ("immediate", "short", "intermediate", "long")


def html(df: pd.DataFrame, *, digits: int = 3, columns: Sequence[str] | None = None) -> str:
    """An escaped HTML table (numbers rounded for reading; the CSV exports keep full precision)."""
    from trialsynth.data.io import html_table

    if df is None or len(df) == 0:
        return "<p><i>(no rows)</i></p>"
    shown = df[list(columns)] if columns else df
    shown = shown.copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: _fmt_float(v, digits))
    shown = shown.astype(object).where(shown.notna(), "")
    return html_table(shown, classes="trialsynth dataframe")


def _fmt_float(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    v = float(v)
    if v.is_integer() and abs(v) < 1e9:
        return str(int(v))
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def show(obj, **kw) -> None:
    """Display a DataFrame as an HTML table, a string as Markdown, a Figure as itself."""
    from IPython.display import HTML, Markdown, display

    if isinstance(obj, pd.DataFrame):
        display(HTML(html(obj, **kw)))
    elif isinstance(obj, str):
        display(Markdown(obj))
    else:
        display(obj)


# --------------------------------------------------------------------------- 01 evidence base


def studies_table(an: Analysis) -> pd.DataFrame:
    """One row per study: year, country, condition, comparators, outcomes, data shapes, rows, RoB, sources."""
    df = an.trials
    if len(df) == 0:
        return pd.DataFrame(columns=["study_id", "year", "country", "condition", "comparators", "outcomes", "data_shapes", "rows", "rob", "source_ref"])

    def join(s):
        return ", ".join(sorted({str(v) for v in s if v is not None and str(v) not in ("", "nan", "<NA>")}))

    g = df.groupby("study_id", sort=True, observed=True)
    out = pd.DataFrame({
        "year": g["year"].first(),
        "country": g["country"].agg(join) if "country" in df else "",
        "condition": g["condition"].agg(join),
        "comparators": g["comparator_class"].agg(join),
        "outcomes": g["outcome"].agg(join),
        "data_shapes": g["data_shape"].agg(join),
        "rows": g.size(),
        "rob": g["rob"].agg(join) if "rob" in df else "",
        "source_ref": g["source_ref"].agg(join),
    }).reset_index()
    return out


def shape_table(an: Analysis) -> pd.DataFrame:
    """Rows per data shape (arm-level continuous, arm-level binary, contrast, test-only) and outcome."""
    if len(an.trials) == 0:
        return pd.DataFrame()
    return pd.crosstab(an.trials["data_shape"].astype(str), an.trials["outcome"].astype(str)).reset_index()


def window_table(an: Analysis) -> pd.DataFrame:
    """Rows per comparator class and time window."""
    if len(an.trials) == 0 or "window" not in an.trials:
        return pd.DataFrame()
    return pd.crosstab(an.trials["comparator_class"].astype(str), an.trials["window"], dropna=False).reset_index()


def sources_table(an: Analysis) -> pd.DataFrame:
    """Every row's source: study, comparison, outcome, time point, reference, location and quote ids."""
    cols = ["study_id", "comparison_id", "outcome", "timepoint_weeks", "window", "source_ref", "source_location", "quote_ids", "derived"]
    if len(an.trials) == 0:
        return pd.DataFrame(columns=cols)
    return an.trials[[c for c in cols if c in an.trials.columns]].reset_index(drop=True)


def effects_table(an: Analysis) -> pd.DataFrame:
    """Each row's effect size with how it was derived (approximate = from a p-value)."""
    cols = ["study_id", "comparison_id", "outcome", "comparator_class", "window", "yi", "vi", "measure", "approximate", "derivation", "reason"]
    if len(an.effects) == 0:
        return pd.DataFrame(columns=cols)
    return an.effects[[c for c in cols if c in an.effects.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------- 02 short vs long


def pooled_table(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """The pooled estimates (one row per outcome x comparator x window), in window order."""
    df = an.pooled
    if len(df) == 0:
        return df
    if outcome:
        df = df[df["outcome"].astype(str) == outcome]
    order = {w: i for i, w in enumerate(WINDOWS)}
    df = df.assign(_w=df["window"].astype(str).map(order)).sort_values(["outcome", "comparator_class", "_w"]).drop(columns="_w")
    return df.reset_index(drop=True)


def heterogeneity_table(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """tau2, I2, Q and the prediction interval per group, with the Q-profile CI of tau2 and I2 when k >= 2."""
    rows = []
    for key, res in sorted(an.results().items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]), WINDOWS.index(kv[0][2]) if kv[0][2] in WINDOWS else 9)):
        if outcome and key[0] != outcome:
            continue
        row = dict(zip(GROUP_BY, key))
        row.update(k=res.k, tau2=res.tau2, i2=res.i2, q=res.q, q_p_value=res.q_p_value, pi_low=res.pi_low, pi_high=res.pi_high)
        if res.k >= 2:
            try:
                hci = res.heterogeneity_ci()
                row["tau2_ci"] = f"{hci.loc['tau2', 'ci_low']:.3f} to {hci.loc['tau2', 'ci_high']:.3f}"
                row["i2_ci"] = f"{hci.loc['i2', 'ci_low']:.1f} to {hci.loc['i2', 'ci_high']:.1f}"
            except Exception:  # noqa: BLE001 - the CI is extra information
                pass
        rows.append(row)
    return pd.DataFrame(rows)


def reviews_beside_ours(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """Published pooled estimates (``data/reviews.csv``) beside our re-pooling of the same cell."""
    from trialsynth.claims import normalise_reviews

    rev = normalise_reviews(an.reviews)
    if len(rev) == 0:
        return pd.DataFrame()
    if outcome:
        rev = rev[rev["outcome"].astype(str) == outcome]
    rows = []
    for r in rev.to_dict("records"):
        ours = an.pooled
        for col in GROUP_BY:
            ours = ours[ours[col].astype(str) == str(r.get(col))] if len(ours) else ours
        o = ours.iloc[0] if len(ours) else None
        rows.append({
            "review": r.get("review_id"), "outcome": r.get("outcome"), "comparator_class": r.get("comparator_class"),
            "window": r.get("window"), "condition": r.get("condition"),
            "published": f"{r.get('measure')} {r.get('estimate'):.2f} ({r.get('ci_low'):.2f} to {r.get('ci_high'):.2f})",
            "published_k": r.get("k"), "certainty": r.get("certainty"),
            "ours": (f"{o['measure']} {o['estimate']:.2f} ({o['ci_low']:.2f} to {o['ci_high']:.2f})" if o is not None else "not pooled"),
            "ours_k": (int(o["k"]) if o is not None else 0),
            "ours_studies": (o["study_ids"] if o is not None else ""),
        })
    return pd.DataFrame(rows)


# Figures: trialsynth.report.figures builds every figure (report, CLI and notebooks alike):
# figures.comparator_jobs(an), figures.figure_jobs(an, kinds), figures.draw(job).


# --------------------------------------------------------------------------- 04 robustness


def estimator_comparison(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """Each group re-fitted under DL, REML (z) and REML + HKSJ, and under each named profile."""
    if not an.results():
        return pd.DataFrame()
    from trialsynth.pooling.fit import pool

    settings = [("DL", "z", None), ("REML", "z", None), ("REML", "knha", None), ("PM", "z", None)]
    try:
        from trialsynth.pooling.profiles import PROFILES

        settings += [(None, None, name) for name in PROFILES]
    except ImportError:
        pass
    rows = []
    for key, res in an.results().items():
        if outcome and key[0] != outcome:
            continue
        yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
        for method, test, profile in settings:
            label = profile or f"{method} + {'HKSJ' if test == 'knha' else test}"
            try:
                r = pool(yi, vi, profile=profile) if profile else pool(yi, vi, method=method, test=test)
            except Exception as exc:  # noqa: BLE001 - k = 1 etc.: say so in the table
                rows.append({**dict(zip(GROUP_BY, key)), "fit": label, "k": len(yi), "note": str(exc)[:80]})
                continue
            rows.append({**dict(zip(GROUP_BY, key)), "fit": label, "k": r.k, "estimate": r.estimate, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "pi_low": r.pi_low, "pi_high": r.pi_high, "tau2": r.tau2, "i2": r.i2,
                         "note": "; ".join(r.warnings)[:120] if getattr(r, "warnings", None) else ""})
    return pd.DataFrame(rows)


def robustness_groups(an: Analysis, min_k: int = 2) -> list[tuple]:
    """Group keys with at least ``min_k`` studies (leave-one-out needs 2, GOSH needs 3)."""
    return sorted((k for k, r in an.results().items() if r.k >= min_k), key=lambda k: (k[0], k[1], WINDOWS.index(k[2]) if k[2] in WINDOWS else 9))


def diagnostics_for(an: Analysis, key) -> dict:
    """Leave-one-out, influence, small-study tests (with the k < 10 caveat) and GOSH for one group.

    Each entry is a DataFrame, a small result, or a string saying why it was not computed.
    """
    import trialsynth as ts

    res = an.results()[key]
    out: dict = {}
    for name in ("leave_one_out", "influence"):
        try:
            out[name] = getattr(ts, name)(res)
        except Exception as exc:  # noqa: BLE001
            out[name] = f"not computed: {exc}"
    caveat = "" if res.k >= 10 else f"k = {res.k} < 10: small-study tests have too little power to rule out asymmetry (Cochrane Handbook 13.3.5.4); shown for completeness"
    for name in ("egger_test", "rank_test", "trim_and_fill"):
        try:
            out[name] = getattr(ts, name)(res)
        except Exception as exc:  # noqa: BLE001
            out[name] = f"not computed: {exc}"
    out["small_study_caveat"] = caveat
    try:
        out["gosh"] = ts.gosh(res) if res.k >= 3 else f"not computed: GOSH needs k >= 3 (k = {res.k})"
    except Exception as exc:  # noqa: BLE001
        out["gosh"] = f"not computed: {exc}"
    return out


def as_frame(obj) -> pd.DataFrame | str:
    """A diagnostics result as a DataFrame when it is one (or has ``to_frame``), else its text."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if hasattr(obj, "to_frame"):
        try:
            return obj.to_frame()
        except Exception:  # noqa: BLE001
            pass
    if hasattr(obj, "__dataclass_fields__"):
        return pd.DataFrame([{k: getattr(obj, k) for k in obj.__dataclass_fields__ if np.ndim(getattr(obj, k)) == 0}])
    return str(obj)


# --------------------------------------------------------------------------- status and claims


def status_markdown(an: Analysis) -> str:
    """What the analysis ran on and what it could not do (Markdown)."""
    lines = [f"**Data**: `{an.data_path}`: {len(an.trials)} trial rows, {an.trials['study_id'].nunique() if len(an.trials) else 0} studies, "
             f"{len(an.selected)} rows pooled in {len(an.pooled)} groups. **Profile**: `{an.profile}`."]
    if an.problems:
        lines.append(f"**The data did not validate** ({len(an.problems)} problem(s)); nothing was pooled:")
        lines += [f"* {p}" for p in an.problems]
    for n in an.notes:
        lines.append(f"* {n}")
    return "\n".join(lines)


def verdict_table(an: Analysis) -> pd.DataFrame:
    """claim id, check, verdict and reason."""
    if len(an.verdicts) == 0:
        return pd.DataFrame(columns=["claim_id", "check", "verdict", "reason"])
    return an.verdicts[["claim_id", "check", "verdict", "reason"]]


def claim_rule(claim) -> str:
    """The rule the claim's check applies (the check function's docstring, first paragraphs)."""
    import inspect

    from trialsynth.claims.verdicts import CHECKS

    func = CHECKS.get(claim.check)
    if func is None:
        return "No automatic check."
    doc = inspect.getdoc(func) or ""
    return doc



def _claim_rows(frame: pd.DataFrame, claim, *, windows: bool) -> pd.DataFrame:
    """The rows of ``frame`` in the claim's outcomes, comparator classes and (``windows``) time windows."""
    for column, values in (("outcome", claim.outcomes), ("comparator_class", claim.comparator_classes),
                           ("window", claim.windows if windows else None)):
        if values:
            frame = frame[frame[column].astype(str).isin(values)]
    return frame

def claim_evidence(an: Analysis, claim) -> pd.DataFrame:
    """The rows a claim's check reads: trial rows, pooled cells and published estimates, or quotes."""
    from trialsynth.claims import normalise_reviews

    if claim.check == "trial_result":
        study = claim.params.get("study_id") or claim.params.get("study")
        df = an.effects if len(an.effects) else an.trials
        if len(df) == 0:
            return pd.DataFrame()
        df = df[df["study_id"].astype(str) == str(study)]
        cols = ["study_id", "comparison_id", "outcome", "comparator_class", "timepoint_weeks", "weeks_after", "window", "n1", "n2",
                "p_value", "p_qualifier", "direction", "yi", "vi", "approximate"]
        return df[[c for c in cols if c in df.columns]].reset_index(drop=True)
    if claim.check in ("source_statement", "documentary"):
        rows = [{"quote": st.get("quote"), "must contain": st.get("contains"), "quote text": an.quotes.get(str(st.get("quote")), "(not found)")}
                for st in claim.params.get("statements", [])]
        return pd.DataFrame(rows)
    frames = []
    pooled = an.subset_pooled.get(claim.id) if claim.check == "review_result" and claim.id in an.subset_pooled else an.pooled
    if len(pooled):
        m = _claim_rows(pooled, claim, windows=True)
        cols = ["outcome", "comparator_class", "window", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2", "study_ids"]
        frames.append(m[cols].assign(source="our re-pooling" + (" (restricted as the claim says)" if pooled is not an.pooled else "")))
    rev = normalise_reviews(an.reviews)
    if len(rev):
        m = _claim_rows(rev, claim, windows=False)
        frames.append(m[["outcome", "comparator_class", "window", "k", "estimate", "ci_low", "ci_high", "certainty"]]
                      .assign(source="published " + m["review_id"].astype(str)))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
