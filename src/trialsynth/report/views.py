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

from trialsynth.data.cells import cell_label, comparison_label
from trialsynth.report.analysis import GROUP_BY, Analysis

COMPARATORS = ("sham", "no_treatment", "usual_care", "active")
WINDOWS = ("immediate", "short", "intermediate", "long")


#: columns whose long text is shown as footnote markers (listed once under the table)
NOTE_COLUMNS = ("notes", "note", "derivation", "footnotes", "warnings", "method_classes")


def table(df, *, columns: Sequence[str] | None = None, notes: Sequence[str] | None = None, **kw):
    """``df`` as a reader sees it (:func:`trialsynth.display.display_table`): effects as
    ``SMD -0.31 (-0.55 to -0.06)`` (ratios as ratios), readable headers, integer counts, long notes
    as footnote markers. A :class:`~trialsynth.display.DisplayTable` is returned as it is."""
    from trialsynth.display import DisplayTable, display_table

    if isinstance(df, DisplayTable):
        return df
    if df is None or len(df) == 0:
        return display_table(pd.DataFrame())
    if columns:
        columns = [c for c in columns if c in df.columns or c in ("effect", "pi")]
    if notes is None:
        notes = [c for c in (columns or df.columns) if c in NOTE_COLUMNS]
    return display_table(df, columns=columns, notes=notes, **kw)


def html(df, *, columns: Sequence[str] | None = None, notes: Sequence[str] | None = None, **kw) -> str:
    """An escaped HTML table formatted by :func:`table` (the CSV exports keep full precision)."""
    if df is None or (not hasattr(df, "frame") and len(df) == 0):
        return "<p><i>(no rows)</i></p>"
    return table(df, columns=columns, notes=notes, **kw).to_html()


def show(obj, **kw) -> None:
    """Display a DataFrame as a formatted table (:func:`table`), a string as Markdown, a
    Figure (or anything else) as itself."""
    from IPython.display import HTML, Markdown, display

    from trialsynth.display import DisplayTable

    if isinstance(obj, (pd.DataFrame, DisplayTable)):
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

    from trialsynth.display import value_words

    def join(s, column=None):
        values = sorted({str(v) for v in s if v is not None and str(v) not in ("", "nan", "<NA>")})
        return ", ".join(value_words(column, v) if column else v for v in values)

    g = df.groupby("study_id", sort=True, observed=True)
    out = pd.DataFrame({
        "year": g["year"].first(),
        "country": g["country"].agg(join) if "country" in df else "",
        "condition": g["condition"].agg(join, column="condition"),
        "comparators": g["comparator_class"].agg(join, column="comparator_class"),
        "outcomes": g["outcome"].agg(join, column="outcome"),
        "data_shapes": g["data_shape"].agg(join, column="data_shape"),
        "rows": g.size(),
        "rob": g["rob"].agg(join) if "rob" in df else "",
        "source_ref": g["source_ref"].agg(join),
    }).reset_index()
    return out


def shape_table(an: Analysis) -> pd.DataFrame:
    """Rows per data shape (arm-level continuous, arm-level binary, contrast, test-only) and outcome."""
    if len(an.trials) == 0:
        return pd.DataFrame()
    from trialsynth.display import value_words

    shapes = an.trials["data_shape"].astype(str).map(lambda v: value_words("data_shape", v)).rename("data_shape")
    outcomes = an.trials["outcome"].astype(str).map(lambda v: value_words("outcome", v)).rename("outcome")
    return pd.crosstab(shapes, outcomes).reset_index()


def window_table(an: Analysis) -> pd.DataFrame:
    """Rows per comparison (comparator class, and acupuncture added to its care or instead of it)
    and time window."""
    if len(an.trials) == 0 or "window" not in an.trials:
        return pd.DataFrame()
    df = an.trials
    add = df["add_on"] if "add_on" in df.columns else pd.Series(False, index=df.index)
    comparison = pd.Series([comparison_label(c, a) for c, a in zip(df["comparator_class"].astype(str), add)],
                           index=df.index, name="comparison")
    return pd.crosstab(comparison, df["window"], dropna=False).reset_index()


def sources_table(an: Analysis) -> pd.DataFrame:
    """Every row's source: study, comparison, outcome, time point, reference, location and quote ids
    (how a derived number was computed is a footnote)."""
    cols = ["study_id", "comparison_id", "outcome", "timepoint_weeks", "window", "source_ref", "source_location", "quote_ids", "derived"]
    if len(an.trials) == 0:
        return pd.DataFrame(columns=cols)
    out = an.trials[[c for c in cols if c in an.trials.columns]].reset_index(drop=True)
    return out.rename(columns={"derived": "notes"}) if "derived" in out.columns else out


def effects_table(an: Analysis) -> pd.DataFrame:
    """Each row's effect with its 95% CI (analysis scale; shown as the reader reads it: SMD, or a
    ratio as a ratio), whether it is approximate (from a p-value) and how it was derived."""
    from trialsynth.effects.scales import wald_interval

    cols = ["study_id", "comparison_id", "outcome", "comparator_class", "window", "measure", "approximate", "derivation", "reason"]
    if len(an.effects) == 0:
        return pd.DataFrame(columns=cols)
    eff = an.effects.reset_index(drop=True)
    ci = [wald_interval(y, v) for y, v in zip(eff.get("yi", []), eff.get("vi", []))]
    out = eff[[c for c in cols if c in eff.columns]].copy()
    out.insert(5, "estimate", eff["yi"] if "yi" in eff.columns else float("nan"))
    out.insert(6, "ci_low", [c[0] for c in ci] if ci else float("nan"))
    out.insert(7, "ci_high", [c[1] for c in ci] if ci else float("nan"))
    notes = [" | ".join(str(x) for x in (d, r) if isinstance(x, str) and x.strip())
             for d, r in zip(out.pop("derivation") if "derivation" in out else [""] * len(out),
                             out.pop("reason") if "reason" in out else [""] * len(out))]
    out["notes"] = notes
    return out


# --------------------------------------------------------------------------- 02 short vs long


def pooled_table(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """The pooled estimates (one row per outcome x comparator x window), in window order."""
    df = an.pooled
    if len(df) == 0:
        return df
    if outcome:
        df = df[df["outcome"].astype(str) == outcome]
    order = {w: i for i, w in enumerate(WINDOWS)}
    corder = {c: i for i, c in enumerate(COMPARATORS)}
    df = df.assign(_w=df["window"].astype(str).map(order), _c=df["comparator_class"].astype(str).map(corder).fillna(9),
                   _a=df["add_on"].astype(str) if "add_on" in df.columns else "")
    df = df.sort_values(["outcome", "_c", "comparator_class", "_a", "_w"]).drop(columns=["_w", "_c", "_a"])
    return df.reset_index(drop=True)


def _window_rank(window) -> int:
    return WINDOWS.index(window) if window in WINDOWS else len(WINDOWS)


def _key_order(key) -> tuple:
    """Sort order of a cell key: outcome, comparator (in :data:`COMPARATORS` order), head to head
    before add-on, window."""
    k = dict(zip(GROUP_BY, key))
    comp = str(k.get("comparator_class"))
    return (str(k.get("outcome")), COMPARATORS.index(comp) if comp in COMPARATORS else 9, comp, str(k.get("add_on")),
            _window_rank(k.get("window")))


def with_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``comparison`` column in words ("acupuncture + usual care vs usual care")
    from its ``comparator_class`` and ``add_on``, in place of those two columns' position."""
    if df is None or len(df) == 0 or "comparator_class" not in df.columns:
        return df
    words = [comparison_label(c, a) for c, a in zip(df["comparator_class"], df["add_on"] if "add_on" in df.columns
                                                     else [False] * len(df))]
    out = df.copy()
    pos = list(out.columns).index("comparator_class")
    out.insert(pos, "comparison", words)
    return out


def heterogeneity_table(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """tau2, I2, Q and the prediction interval per group, with the Q-profile CI of tau2 and I2 when k >= 2."""
    rows = []
    for key, res in sorted(an.results().items(), key=lambda kv: _key_order(kv[0])):
        if outcome and key[0] != outcome:
            continue
        row = {"comparison": comparison_label(key[1], key[2]), **dict(zip(GROUP_BY, key))}
        row.update(k=res.k, tau2=res.tau2, i2=res.i2, q=res.q, q_p_value=res.q_p_value, pi_low=res.pi_low, pi_high=res.pi_high)
        if res.k >= 2:
            try:
                hci = res.heterogeneity_ci()
                row["tau2_ci"] = f"{hci.loc['tau2', 'ci_low']:.3f} to {hci.loc['tau2', 'ci_high']:.3f}"
                row["i2_ci"] = f"{hci.loc['i2', 'ci_low']:.1f} to {hci.loc['i2', 'ci_high']:.1f}"
            except Exception:  # noqa: BLE001 - the CI is extra information
                pass
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.drop(columns=[c for c in ("comparator_class", "add_on") if c in out.columns])


#: the columns a reader sees of a pooled frame (``effect`` and ``pi`` are formatted cells)
POOLED_VIEW = ["outcome", "comparison", "window", "k", "effect", "pi", "i2", "tau2",
               "conclusion_depends_on_method", "conclusion_depends_on_sensitivity", "study_ids", "method_classes",
               "sensitivity_changes"]
#: the same with the Bayesian row beside the frequentist one (``pooled_view(..., bayes=True)``;
#: notebook 04 shows every cell's Bayesian analysis in full, :func:`trialsynth.report.bayes_views.bayes_table`)
POOLED_VIEW_BAYES = ["outcome", "comparison", "window", "k", "effect", "pi", "bayes_effect", "bayes_p",
                     "conclusion_depends_on_method", "study_ids", "method_classes"]


def pooled_view(an: Analysis, outcome: str | None = None, *, bayes: bool = False):
    """:func:`pooled_table` as a reader sees it (one formatted effect per row, ratios as ratios,
    the method dependence as a footnote); ``bayes=True`` puts each cell's Bayesian estimate and
    probabilities beside the frequentist one instead of the heterogeneity columns, so that the
    table still fits a page."""
    df = with_comparison(pooled_table(an, outcome))
    if len(df):  # one study: heterogeneity is not estimable (RevMan: "Not applicable"), not 0
        one = pd.to_numeric(df["k"], errors="coerce") < 2
        df = df.assign(i2=df["i2"].where(~one), tau2=df["tau2"].where(~one))
        if "bayes_estimate" in df.columns:  # the Bayesian row (issue 16): k >= 2 only
            from trialsynth.effects.scales import format_effect

            df = df.assign(
                bayes_effect=[format_effect(r["measure"], r["bayes_estimate"], r["bayes_ci_low"], r["bayes_ci_high"])
                              if pd.notna(r.get("bayes_estimate")) else "" for r in df.to_dict("records")],
                bayes_p=[f"{_percent(r['p_benefit'])} / {_percent(r['p_beyond_mid'])}"
                         if pd.notna(r.get("p_benefit")) and pd.notna(r.get("p_beyond_mid")) else "" for r in df.to_dict("records")])
    return table(df, columns=POOLED_VIEW_BAYES if bayes else POOLED_VIEW, notes=("method_classes", "sensitivity_changes"),
                 rename={"conclusion_depends_on_method": "Depends on method", "method_classes": "How",
                         "conclusion_depends_on_sensitivity": "Sensitive", "sensitivity_changes": "Which analysis",
                         "bayes_effect": "Bayesian (95% CrI)", "bayes_p": "P(benefit) / P(> MID)"})


def _percent(p: float) -> str:
    """A probability as a reader sees it: whole percents, never a rounded 0% or 100%."""
    from trialsynth.display import format_probability

    return format_probability(p, 0)


def pooled_export(pooled: pd.DataFrame) -> pd.DataFrame:
    """The pooled frame as ``reports/tables/pooled_estimates.csv`` holds it: ``estimate`` ...
    ``pi_high`` on the display scale (ratios as ratios, as ``measure`` says), and for ratio
    measures their analysis-scale values in ``log_estimate`` ... ``log_pi_high``."""
    from trialsynth.effects.scales import display_frame_columns, is_ratio

    if len(pooled) == 0:
        return pooled.assign(**{f"log_{c}": [] for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")})
    rows = []
    # the Bayesian columns (issue 16) are effects too: ratios as ratios
    shown = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high",
             *[c for c in ("bayes_estimate", "bayes_ci_low", "bayes_ci_high", "bayes_pi_low", "bayes_pi_high")
               if c in pooled.columns])
    for rec in pooled.to_dict("records"):
        row = display_frame_columns(rec.get("measure"), rec, shown)
        for c in shown:
            row.setdefault(f"log_{c}", float("nan"))
            if not is_ratio(rec.get("measure")):
                row[f"log_{c}"] = float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def reviews_beside_ours(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """Published pooled estimates (``data/reviews.csv``) beside our re-pooling of the same cell."""
    from trialsynth.claims import normalise_reviews
    from trialsynth.effects.scales import format_effect

    rev = normalise_reviews(an.reviews)
    if len(rev) == 0:
        return pd.DataFrame()
    if outcome:
        rev = rev[rev["outcome"].astype(str) == outcome]
    rows = []
    for r in rev.to_dict("records"):
        ours = an.pooled
        for col in ("outcome", "comparator_class", "window"):  # a review's comparison names no add-on
            ours = ours[ours[col].astype(str) == str(r.get(col))] if len(ours) else ours
        measure = r.get("measure") if isinstance(r.get("measure"), str) else "SMD"
        base = {
            "review": r.get("review_id"), "outcome": r.get("outcome"), "comparator_class": r.get("comparator_class"),
            "window": r.get("window"), "condition": r.get("condition"),
            "published": format_effect(measure, r.get("estimate"), r.get("ci_low"), r.get("ci_high")),
            "published_k": r.get("k"), "certainty": r.get("certainty"),
        }
        if len(ours) == 0:
            rows.append({**base, "our_comparison": "", "ours": "not pooled", "ours_k": 0, "ours_studies": ""})
        for o in ours.to_dict("records"):  # our add-on and head-to-head cells each beside it
            rows.append({**base, "our_comparison": comparison_label(o["comparator_class"], o.get("add_on")),
                         "ours": format_effect(o["measure"], o["estimate"], o["ci_low"], o["ci_high"]),
                         "ours_k": int(o["k"]), "ours_studies": o["study_ids"]})
    return pd.DataFrame(rows)


# Figures: trialsynth.report.figures builds every figure (report, CLI and notebooks alike):
# figures.comparator_jobs(an), figures.figure_jobs(an, kinds), figures.draw(job).


def evidence_grid_figure(an: Analysis, outcome: str = "pain"):
    """The "mixed results" picture (:func:`trialsynth.plots.evidence_grid_plot`) of one outcome:
    comparator x time window, each cell's class, effect with CI and k, with the population in the
    title and the model in the caption; ``None`` when the outcome was not pooled."""
    if len(an.pooled) == 0 or not (an.pooled["outcome"].astype(str) == outcome).any():
        return None
    from trialsynth.claims import evidence_grid
    from trialsynth.plots import evidence_grid_plot
    from trialsynth.report.index_page import _model_line

    comps = [c for c in (*COMPARATORS, "any") if (an.pooled["comparator_class"].astype(str) == c).any()]
    grid = evidence_grid(an.pooled, outcome=outcome, comparators=comps)
    title = f"{outcome.capitalize()}: acupuncture vs each comparison \u2014 {an.population}" + (f" ({an.scope})" if an.scope else "")
    return evidence_grid_plot(grid, title=title, caption="Model: " + _model_line(an))


# --------------------------------------------------------------------------- 04 robustness


def estimator_comparison(an: Analysis, outcome: str | None = None) -> pd.DataFrame:
    """Each pooled cell refitted under every shipped method profile, pivoted: one row per cell,
    one column per profile (the effect with its CI as a reader sees it), whether the cell's class
    changes between them, and the fits' warnings once as footnotes (not one near-identical row
    per fit). Rows are sorted with the largest k first: small cells say least. Cells with one
    trial are left out: every profile gives that trial's own estimate."""
    from trialsynth.claims.effects import method_dependence
    from trialsynth.diagnostics.method_profiles import refit_profiles
    from trialsynth.effects.scales import format_effect
    from trialsynth.pooling.profiles import PROFILES

    names = tuple(PROFILES)
    rows = []
    for key, res in an.results().items():
        if (outcome and key[0] != outcome) or res.k < 2:  # one trial: every profile gives that trial's estimate
            continue
        refit = refit_profiles(res, names)
        md = method_dependence(refit, active=get_profile_name(an.profile), outcome=key[0])
        row = {"comparison": comparison_label(key[1], key[2]), **dict(zip(GROUP_BY, key)), "k": res.k}
        for rec in refit.to_dict("records"):
            row[rec["profile"]] = format_effect(rec["measure"], rec["estimate"], rec["ci_low"], rec["ci_high"])
        row["conclusion_depends_on_method"] = md.depends
        by_note: dict[str, list[str]] = {}
        for rec in refit.to_dict("records"):
            for n in str(rec["note"]).split(" | "):
                if n:
                    by_note.setdefault(n, []).append(rec["profile"])
        notes = [(n if len(who) == len(names) else f"{', '.join(who)}: {n}") for n, who in by_note.items()]
        row["notes"] = " | ".join(dict.fromkeys(([md.text] if md.depends else []) + notes))
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    order = {w: i for i, w in enumerate(WINDOWS)}
    out = out.assign(_w=out["window"].map(order)).sort_values(["k", "outcome", "comparison", "_w"],
                                                              ascending=[False, True, True, True]).drop(columns="_w")
    return out.drop(columns=["comparator_class", "add_on"]).reset_index(drop=True)


def get_profile_name(profile: str) -> str:
    from trialsynth.pooling.profiles import get_profile

    return get_profile(profile).name


def robustness_groups(an: Analysis, min_k: int = 2) -> list[tuple]:
    """Group keys with at least ``min_k`` studies (leave-one-out needs 2, GOSH needs 3), the
    largest k first (the cells where a diagnostic can say something come first)."""
    return sorted((k for k, r in an.results().items() if r.k >= min_k),
                  key=lambda k: (-an.results()[k].k, *_key_order(k)))


#: the fewest studies each diagnostic needs to be computed at all (below: "not computed")
MIN_K = {"leave_one_out": 2, "influence": 3, "egger_test": 3, "rank_test": 3, "trim_and_fill": 3, "gosh": 3}
SMALL_STUDY_CAVEAT = ("k < 10: small-study tests have too little power to tell asymmetry from chance "
                      "(Cochrane Handbook 13.3.5.4); read them as a signal to look, not as a finding")


def diagnostics_for(an: Analysis, key) -> dict:
    """Leave-one-out, influence, small-study tests (with the k < 10 caveat) and GOSH for one group.

    Each entry is a DataFrame, a small result, or a string saying why it was not computed (k
    below :data:`MIN_K`). Warnings the methods raise are collected under ``"notes"`` (never
    printed raw).
    """
    import warnings

    import trialsynth as ts

    res = an.results()[key]
    out: dict = {"notes": []}
    for name in ("leave_one_out", "influence", "egger_test", "rank_test", "trim_and_fill", "gosh"):
        if res.k < MIN_K[name]:
            out[name] = f"not computed because k = {res.k} < {MIN_K[name]}"
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out[name] = getattr(ts, name)(res)
            except Exception as exc:  # noqa: BLE001 - the page says why
                out[name] = f"not computed: {exc}"
        out["notes"] += [f"{name.replace('_', ' ')}: {w.message}" for w in caught]
    out["notes"] = list(dict.fromkeys(out["notes"]))
    out["small_study_caveat"] = "" if res.k >= 10 else SMALL_STUDY_CAVEAT
    return out


def small_study_view(an: Analysis, key) -> pd.DataFrame:
    """Every small-study and publication-bias method for one cell
    (:func:`trialsynth.diagnostics.bias_summary.small_study_summary`): whether it applies, its
    result in words (a statistic with its p-value, or an adjusted estimate with its CI on the
    cell's scale, ratios as ratios) and the caveat or the reason it does not apply."""
    from trialsynth.diagnostics.bias_summary import small_study_summary
    from trialsynth.display import format_p
    from trialsynth.effects.scales import format_effect

    res = an.results().get(tuple(key))
    if res is None:
        return pd.DataFrame(columns=["method", "applies", "result", "note"])
    rows = []
    for r in small_study_summary(res).to_dict("records"):
        result = ""
        if r["applicable"]:
            if pd.notna(r.get("adjusted_estimate")):
                result = format_effect(res.measure, r["adjusted_estimate"], r["adjusted_ci_low"], r["adjusted_ci_high"])
            elif pd.notna(r.get("statistic")):
                stat = r["statistic"]
                text = f"{int(stat)}" if float(stat).is_integer() else f"{stat:.2f}"
                result = f"{r['statistic_name']} = {text}".strip(" =")
                if pd.notna(r.get("p_value")):
                    p_text = format_p(r["p_value"])
                    result += f" (p {p_text[0]} {p_text[1:]})" if p_text[:1] in "<>" else f" (p = {p_text})"
        rows.append({"method": r["method"], "applies": "yes" if r["applicable"] else "no", "result": result,
                     "note": r["why"]})
    return pd.DataFrame(rows)


def robustness_table(an: Analysis, min_k: int = 2) -> pd.DataFrame:
    """One row per cell with k >= ``min_k`` (largest k first): the pooled effect, the range of
    the leave-one-out estimates and the study whose omission moves it most, Egger's and the rank
    test's p, and trim-and-fill's imputed studies with the adjusted effect; "k < 3" where a
    method is not defined. Caveats and the methods' warnings are footnotes."""
    from trialsynth.effects.scales import format_effect, format_interval

    rows = []
    for key in robustness_groups(an, min_k):
        res = an.results()[key]
        d = diagnostics_for(an, key)
        row = {"cell": cell_label(key), "k": res.k,
               "pooled effect (95% CI)": format_effect(res.measure, res.estimate, res.ci_low, res.ci_high)}
        loo = d["leave_one_out"]
        if isinstance(loo, pd.DataFrame) and len(loo):
            far = (loo["estimate"] - res.estimate).abs().idxmax()
            row["leave-one-out range"] = format_interval(loo["estimate"].min(), loo["estimate"].max(), measure=res.measure)
            row["moves most when omitted"] = str(loo.loc[far, "omitted"])
        else:
            row["leave-one-out range"], row["moves most when omitted"] = str(loo), ""
        for name, label in (("egger_test", "Egger p"), ("rank_test", "rank test p")):
            r = d[name]
            row[label] = f"{float(r.p_value):.3f}" if hasattr(r, "p_value") else f"k < {MIN_K[name]}"
        tf = d["trim_and_fill"]
        if hasattr(tf, "k0"):
            row["trim-and-fill"] = (f"+{int(tf.k0)} studies \u2192 {format_effect(res.measure, tf.estimate, tf.ci_low, tf.ci_high)}"
                                    if int(tf.k0) else "no study imputed")
        else:
            row["trim-and-fill"] = f"k < {MIN_K['trim_and_fill']}"
        row["notes"] = " | ".join([d["small_study_caveat"]] + d["notes"] if d["small_study_caveat"] else d["notes"])
        rows.append(row)
    return pd.DataFrame(rows)


def robustness_highlights(an: Analysis, alpha: float = 0.10) -> list[str]:
    """The informative results, in words (Markdown): cells where Egger's test signals
    asymmetry (p < ``alpha``) or trim-and-fill imputes studies that move the effect's class."""
    from trialsynth.claims.effects import classify_effect, mid_for
    from trialsynth.effects.scales import format_effect

    lines = []
    for key in robustness_groups(an, 3):
        res = an.results()[key]
        d = diagnostics_for(an, key)
        eg, tf = d["egger_test"], d["trim_and_fill"]
        bits = []
        if hasattr(eg, "p_value") and float(eg.p_value) < alpha:
            bits.append(f"Egger's test p = {float(eg.p_value):.3f}")
        if hasattr(tf, "k0") and int(tf.k0) > 0:
            mid = mid_for(res.measure, outcome=key[0])
            before = classify_effect(res.estimate, res.ci_low, res.ci_high, mid=mid, measure=res.measure).label
            after = classify_effect(tf.estimate, tf.ci_low, tf.ci_high, mid=mid, measure=res.measure).label
            bits.append(f"trim-and-fill adds {int(tf.k0)} studies and moves the estimate to "
                        f"{format_effect(res.measure, tf.estimate, tf.ci_low, tf.ci_high)}"
                        + (f" ({before} \u2192 {after})" if before != after else ""))
        if bits:
            lines.append(f"**{cell_label(key)}** (k = {res.k}): " + "; ".join(bits)
                         + (f". Caveat: {d['small_study_caveat']}." if d["small_study_caveat"] else "."))
    return lines


# --------------------------------------------------------------------------- 04 sensitivity analyses


#: what a sensitivity cell shows for each status of :func:`trialsynth.diagnostics.cell_sensitivity.cell_sensitivity`
_STATUS_TEXT = {"same trials": "=", "not applicable": "", "no trial left": "no trial left", "not assessed": "not assessed"}


def sensitivity_table(an: Analysis) -> pd.DataFrame:
    """The sensitivity analyses of every pooled cell in one table: one row per cell (its main
    class and k), one column per analysis. A cell reads "=" when the analysis leaves every trial in,
    the class (and k) when it refits, "\u25b2 class" when the class changes, "no trial left" when it
    drops every trial, empty when it does not apply (a sham type absent from the cell). Which
    trials each analysis left out or added is a footnote."""
    from trialsynth.diagnostics.cell_sensitivity import ANALYSES

    sens = an.sensitivity
    if sens is None or len(sens) == 0:
        return pd.DataFrame()
    used = [a for a in ANALYSES if (sens.loc[sens["analysis"] == a.name, "status"] != "not applicable").any()]
    rows = []
    for key, grp in sorted(sens.groupby(list(GROUP_BY), sort=False, dropna=False), key=lambda kv: _key_order(kv[0])):
        by = {r["analysis"]: r for r in grp.to_dict("records")}
        first = grp.iloc[0]
        row = {"cell": cell_label(key), "k": int(first["k_main"]), "main analysis": str(first["class_main"])}
        notes = []
        for a in used:
            r = by.get(a.name)
            if r is None:
                row[a.label] = ""
                continue
            status = str(r["status"])
            if status in _STATUS_TEXT:
                row[a.label] = _STATUS_TEXT[status]
            else:
                mark = "\u25b2 " if bool(r["class_changes"]) else ""
                row[a.label] = f"{mark}{r['effect_class']} (k = {int(r['k'])})"
            moved = "; ".join(x for x in (f"without {r['left_out']}" if r.get("left_out") else "",
                                          f"with {r['added']}" if r.get("added") else "") if x)
            if moved and status not in ("same trials", "not applicable"):
                notes.append(f"{a.label}: {moved}")
            if r.get("note") and status != "not assessed":  # the cell says "not assessed" itself
                notes.append(f"{a.label}: {r['note']}")
        row["changes class"] = bool(grp["class_changes"].astype(bool).any())
        row["notes"] = " | ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity_view(an: Analysis):
    """:func:`sensitivity_table` as a reader sees it (class changes marked \u25b2, the trials each
    analysis moved as footnotes)."""
    df = sensitivity_table(an)
    if len(df) == 0:
        return table(df)
    return table(df, notes=("notes",))


def sensitivity_summary_line(an: Analysis) -> str:
    """One line for the front page: "N of M cells change class in at least one sensitivity
    analysis: cell (analysis: old -> new); ..." (M: the pooled cells)."""
    if an.sensitivity is None or len(an.sensitivity) == 0 or len(an.pooled) == 0:
        return "No pooled cell, so no sensitivity analysis."
    changed = []
    for rec in an.pooled.to_dict("records"):
        if bool(rec.get("conclusion_depends_on_sensitivity")):
            changed.append(f"{cell_label(rec)} ({rec.get('sensitivity_changes')})")
    total = len(an.pooled)
    head = f"{len(changed)} of {total} cells change class in at least one sensitivity analysis"
    return head + (": " + "; ".join(changed) + "." if changed else ".")


def single_session_subgroups(an: Analysis) -> list[tuple[str, pd.DataFrame, str]]:
    """For each cell whose single-session trials were set apart (pooling rule 4): ``(cell, the
    subgroup estimates (course vs single session), the test for subgroup differences in words)``."""
    from trialsynth.pooling.profiles import get_profile

    hksj = get_profile(an.profile).test in ("knha", "adhoc")
    out = []
    for key, res in sorted((an.subgroups or {}).items(), key=lambda kv: _key_order(kv[0])):
        frame = res["frame"]
        rows = pd.DataFrame({
            "subgroup": frame["subgroup"].astype(str).str.replace("_", " "),
            "k": frame["k"],
            "measure": frame["measure"], "estimate": frame["estimate"], "ci_low": frame["ci_low"], "ci_high": frame["ci_high"],
            "trials": [", ".join(res["result"].fits[lvl].labels) for lvl in res["result"].levels],
        })
        t = res["test"]
        test = (f"Test for subgroup differences (separate tau2, RevMan's): Chi\u00b2 = {float(t['statistic']):.2f}, "
                f"df = {int(t['df'])}, p = {float(t['p_value']):.3f}. The subgroup estimates are the {res['result'].method} "
                "fits with Wald (z) intervals that this test compares"
                + (", narrower than the cell's Hartung-Knapp interval." if hksj else "."))
        out.append((cell_label(key), rows, test))
    return out


def set_apart_table(an: Analysis) -> pd.DataFrame:
    """The rows the pooling rules left out of their cell, with the rule and the row's own effect."""
    df = an.set_apart
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=["study_id", "cell", "rule", "measure", "estimate", "ci_low", "ci_high"])
    from trialsynth.effects.scales import wald_interval

    ci = [wald_interval(y, v) for y, v in zip(df["yi"], df["vi"])]
    return pd.DataFrame({
        "study_id": df["study_id"].astype(str).to_numpy(),
        "cell": [cell_label(r) for r in df.to_dict("records")],
        "rule": df["set_apart"].astype(str).to_numpy(),
        "measure": df["measure"].to_numpy(), "estimate": df["yi"].to_numpy(float),
        "ci_low": [c[0] for c in ci], "ci_high": [c[1] for c in ci],
    })


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
             f"{len(an.selected)} rows pooled in {len(an.pooled)} cells. **Profile**: `{an.profile}`. "
             f"**Population**: {an.population}" + (f" \u2014 **{an.scope}**" if an.scope else "") + "."]
    if an.problems:
        lines.append(f"**The data did not validate** ({len(an.problems)} problem(s)); nothing was pooled:")
        lines += [f"* {p}" for p in an.problems]
    if an.notes:  # folded: the reader first sees what was run on, then the results
        rules = sum(1 for n in an.notes if str(n).startswith("Pooling rule"))
        what = f"{len(an.notes)} note(s) on what was and was not pooled" + (f", {rules} of them pooling rules" if rules else "")
        lines += ["", f"<details><summary>{what}</summary>", ""]
        lines += [f"* {n}" for n in an.notes]
        lines += ["", "</details>"]
    return "\n".join(lines)


def methods_markdown(an: Analysis) -> str:
    """The methods paragraph of ``an`` (:meth:`Analysis.methods_text`), folded under "Methods"
    so that a notebook opens on its results."""
    return f"<details><summary>Methods (model, pooling rules, sensitivity analyses)</summary>\n\n{an.methods_text()}\n\n</details>"


def verdict_table(an: Analysis) -> pd.DataFrame:
    """One row per claim: the claim (its id and the article's words), the verdict and a
    one-sentence reason."""
    cols = ["claim_id", "article_text", "verdict", "summary"]
    if len(an.verdicts) == 0:
        return pd.DataFrame(columns=cols)
    v = an.verdicts
    return v[[c for c in cols if c in v.columns]].rename(columns={"article_text": "claim", "summary": "reason"})


def claim_card(an: Analysis, claim_id: str) -> str:
    """One claim's verdict for a notebook (Markdown): the verdict and its one-sentence reason,
    the evidence for and against as lists, and the full reason folded away."""
    if len(an.verdicts) == 0 or claim_id not in set(an.verdicts["claim_id"]):
        return "_No verdict._"
    v = an.verdicts.set_index("claim_id").loc[claim_id]
    lines = [f"**Verdict: {v['verdict']}.** {v['summary']}", ""]
    if v.get("method_dependent"):
        lines += [f"\u2020 _Not robust_: {', '.join(v['method_dependent'])} depend(s) on the method profile.", ""]
    for title, key in (("Evidence for", "evidence_for"), ("Evidence against", "evidence_against"), ("Not tested", "evidence_untested")):
        items = list(v.get(key) or [])
        if items:
            lines.append(f"*{title}:*")
            lines += [f"- {item}" for item in items]
            lines.append("")
    lines.append("<details><summary>Full reason</summary>\n\n" + str(v["reason"]).replace(" | ", "\n\n") + "\n\n</details>")
    return "\n".join(lines)


def claim_rule(claim) -> str:
    """The rule the claim's check applies (the check function's docstring, first paragraphs)."""
    import inspect

    from trialsynth.claims.verdicts import CHECKS

    func = CHECKS.get(claim.check)
    if func is None:
        return "No automatic check."
    doc = inspect.getdoc(func) or ""
    return doc



def information_table(an: Analysis, outcome: str | None = None, *, claim=None) -> pd.DataFrame:
    """Is more research needed? One row per pooled cell: the cell, its trials and participants, the
    diversity D2, the required information size at power 80% and 90% (D2-adjusted), the share
    accrued, the trial sequential analysis (a sensitivity analysis) and what the two say
    together (:func:`trialsynth.grade.information_size.assess_cells`). ``claim``: only the cells
    that claim reads (its outcomes, comparator classes and windows)."""
    info = an.information
    if info is None or len(info) == 0:
        return pd.DataFrame()
    if outcome is not None:
        info = info[info["outcome"] == outcome]
    if claim is not None:
        info = _claim_rows(info, claim, windows=True)
    keys = list(info.columns[: list(info.columns).index("measure")])
    out = with_comparison(info[keys].copy())  # the comparison in words, not its key columns
    out = out.drop(columns=[c for c in ("comparator_class", "add_on") if c in out.columns and "comparison" in out.columns])
    out["trials"] = info["k"].to_numpy()
    out["participants"] = info["participants"].to_numpy()
    out["D\u00b2"] = info["diversity"].map(lambda d: f"{d:.0%}" if pd.notna(d) else "")
    out["RIS (80% power)"] = info["ris"]
    out["RIS (90% power)"] = info["ris_power90"]
    out["accrued"] = info["fraction"].map(lambda f: f"{f:.0%}" if pd.notna(f) else "")
    out["TSA (sensitivity analysis)"] = info["tsa_summary"]
    out["is more research needed?"] = info["more_research"]
    return out.reset_index(drop=True)


def sequential_keys(an: Analysis, outcome: str = "pain") -> list[tuple]:
    """Up to two cells worth a trial sequential analysis plot: the one with the most trials, and
    the open cell that needs the most participants."""
    info = an.information
    if info is None or len(info) == 0:
        return []
    keys = list(info.columns[: list(info.columns).index("measure")])
    rows = info[(info["outcome"] == outcome) & info["tsa_status"].astype(bool)]
    picked = []
    if len(rows):
        picked.append(tuple(rows.sort_values(["k", "participants"], ascending=False).iloc[0][keys]))
        gaps = rows[rows["more_research"].astype(str).str.startswith("more trials needed") & rows["remaining"].gt(0)]
        if len(gaps):
            gap = tuple(gaps.sort_values("remaining", ascending=False).iloc[0][keys])
            if gap not in picked:
                picked.append(gap)
    return [k for k in picked if k in an.sequential]


def sequential_figure(an: Analysis, key: tuple, **kw):
    """The trial sequential analysis plot of one cell (:func:`trialsynth.plots.sequential_plot`)."""
    from trialsynth.grade.sof import _outcome_label  # the SoF's name of a cell ("Pain: vs sham, immediate")
    from trialsynth.plots import sequential_plot

    analysis = an.sequential.get(tuple(key))
    if analysis is None:
        return None
    columns = list(an.information.columns[: list(an.information.columns).index("measure")])
    return sequential_plot(analysis, title=_outcome_label(dict(zip(columns, key))), **kw)


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
    if claim.check == "research_needed":
        return information_table(an, claim=claim) if len(an.information) else pd.DataFrame()
    if claim.check in ("source_statement", "documentary"):
        rows = [{"quote": st.get("quote"), "must contain": st.get("contains"), "quote text": an.quotes.get(str(st.get("quote")), "(not found)")}
                for st in claim.params.get("statements", [])]
        return pd.DataFrame(rows)
    frames = []
    pooled = an.subset_pooled.get(claim.id) if claim.check == "review_result" and claim.id in an.subset_pooled else an.pooled
    if len(pooled):
        m = _claim_rows(pooled, claim, windows=True)
        cols = ["outcome", "comparison", "window", "k", "measure", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2",
                "study_ids", "conclusion_depends_on_method", "conclusion_depends_on_sensitivity"]
        m = with_comparison(m)
        frames.append(m[[c for c in cols if c in m.columns]]
                      .assign(source="our re-pooling" + (" (restricted as the claim says)" if pooled is not an.pooled else "")))
    rev = normalise_reviews(an.reviews)
    if len(rev):
        m = _claim_rows(rev, claim, windows=False)
        frames.append(m[["outcome", "comparator_class", "window", "k", "measure", "estimate", "ci_low", "ci_high", "certainty"]]
                      .assign(source="published " + m["review_id"].astype(str)))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- 02 does the effect fade?


def durability(an: Analysis, outcome: str = "pain"):
    """The joint analysis of ``outcome`` over time
    (:func:`trialsynth.report.stages.durability_stage`): contrasts per comparator, time-response
    curves and the rho sensitivity table; computed once per analysis and outcome."""
    from trialsynth.report.stages import Effects, durability_stage

    cache = an.stages.setdefault("durability", {})
    if outcome not in cache:
        effects = an.stages.get("effects")
        if effects is None:
            effects = Effects(effects=an.effects, selected=an.selected, conditions=an.conditions)
        cache[outcome] = durability_stage(effects, an.stages.get("pooled"), outcome=outcome,
                                          correlations=an.stages.get("correlations"))
    return cache[outcome]


def _ci_text(est, lo, hi, measure) -> str:
    from trialsynth.effects.scales import format_effect

    if not np.isfinite(est):
        return ""
    return format_effect(measure, est, lo, hi)


def _window_words(window) -> str:
    from trialsynth.display import value_words

    return value_words("window", window)


def _contrast_words(later, earlier, measure) -> str:
    from trialsynth.effects.scales import is_ratio

    join = " / " if is_ratio(measure) else " minus "
    return f"{_window_words(later)}{join}{_window_words(earlier)}"


def _contrast_header(measure) -> str:
    from trialsynth.effects.scales import is_ratio

    return ("Later / earlier (ratio of ratios, 95% CI)" if is_ratio(measure)
            else "Later minus earlier (95% CI)")


def durability_contrasts_table(an: Analysis, outcome: str = "pain", *, missing: bool = True) -> pd.DataFrame:
    """Per comparison (in words): the joint model's later-minus-earlier contrasts (long term
    minus short term, intermediate term minus immediate; for a ratio measure, later / earlier),
    with CI, p, the trials in each window and in both, and what the contrast says about the
    benefit (the sign read from the outcome's direction). ``missing=False`` leaves out the
    contrasts that cannot be estimated (:func:`durability_missing_text` names them)."""
    d = durability(an, outcome)
    head = _contrast_header(d.measure)
    cols = ["comparison", "contrast", head, "p_value", "Trials (later / earlier / both)", "Reading"]
    if len(d.contrasts) == 0:
        return pd.DataFrame(columns=cols)
    rows = []
    for r in d.contrasts.itertuples():
        estimable = bool(np.isfinite(r.estimate))
        if not estimable and not missing:
            continue
        if not estimable:
            reading = r.note
        elif r.ci_low <= 0 <= r.ci_high:
            reading = "no clear change (the CI includes no change)"
        else:
            reading = "less benefit later" if r.fades else "more benefit later"
        if estimable and r.k_both == 0:
            reading += "; no trial reports both windows, so it rests on differences between trials only"
        rows.append({"comparison": r.comparator, "contrast": _contrast_words(r.later, r.earlier, r.measure),
                     head: _ci_text(r.estimate, r.ci_low, r.ci_high, r.measure), "p_value": r.p_value,
                     "Trials (later / earlier / both)": f"{r.k_later} / {r.k_earlier} / {r.k_both}",
                     "Reading": reading})
    return pd.DataFrame(rows, columns=cols)


def durability_missing_text(an: Analysis, outcome: str = "pain") -> str:
    """The contrasts the joint model of ``outcome`` cannot estimate, per comparison, with the
    reason (a window no trial of the comparison reports), as one Markdown paragraph."""
    d = durability(an, outcome)
    if len(d.contrasts) == 0:
        return ""
    miss = d.contrasts[~np.isfinite(d.contrasts["estimate"].astype(float))]
    if len(miss) == 0:
        return ""
    parts = []
    for comp, g in miss.groupby("comparator", sort=True):
        texts = []
        for r in g.itertuples():
            gone = [w for w, k in ((r.later, r.k_later), (r.earlier, r.k_earlier)) if k == 0]
            where = " or ".join(_window_words(w).replace(" ", "-") for w in gone) or "one"
            texts.append(f"{_contrast_words(r.later, r.earlier, r.measure)} (no trial in the {where} window)")
        parts.append(f"{comp}: " + ", ".join(texts))
    return "_Not estimable: " + "; ".join(parts) + "._"


def joint_vs_separate_table(an: Analysis, outcome: str = "pain") -> pd.DataFrame:
    """Per comparison x window: the separate pool (the report's pooled cell, one estimate per trial
    and window) beside the joint model (every follow-up, one model)."""
    d = durability(an, outcome)
    if len(d.cells) == 0:
        return pd.DataFrame()
    c = d.cells

    def texts(prefix):
        if f"{prefix}estimate" not in c:
            return [""] * len(c)
        return [_ci_text(e, lo, hi, d.measure) if np.isfinite(e) else "no separate pool"
                for e, lo, hi in zip(c[f"{prefix}estimate"], c[f"{prefix}ci_low"], c[f"{prefix}ci_high"])]

    return pd.DataFrame({
        "comparison": c["comparator"], "window": [_window_words(w) for w in c["window"]],
        "Separate pool (95% CI)": texts("separate_"),
        "Studies (separate)": c["separate_k"] if "separate_k" in c else np.nan,
        "Joint model (95% CI)": texts(""),
        "Trials (joint)": c["k_trials"], "Estimates (joint)": c["rows"],
    })


def rho_sensitivity_table(an: Analysis, outcome: str = "pain") -> pd.DataFrame:
    """The estimable contrasts at every assumed within-person correlation rho (columns), one row
    per comparison and contrast."""
    d = durability(an, outcome)
    s = d.sensitivity
    if len(s) == 0:
        return pd.DataFrame()
    s = s[np.isfinite(s["estimate"])]
    if len(s) == 0:
        return pd.DataFrame()
    cells = s.assign(text=[_ci_text(e, lo, hi, d.measure) for e, lo, hi in zip(s["estimate"], s["ci_low"], s["ci_high"])],
                     contrast=[_contrast_words(a, b, d.measure) for a, b in zip(s["later"], s["earlier"])])
    table = cells.pivot_table(index=["comparator", "contrast"], columns="rho", values="text", aggfunc="first")
    table.columns = [f"\u03c1 = {c:g}" for c in table.columns]
    return table.reset_index().rename(columns={"comparator": "comparison"})


def durability_curves_table(an: Analysis, outcome: str = "pain") -> pd.DataFrame:
    """Per comparison and curve form: the test of change over time, the slope (log form: change
    of the effect per unit of log(1 + weeks)), what the curve says, and where it crosses the
    minimal important difference."""
    d = durability(an, outcome)
    t = d.curve_table()
    cols = ["comparison", "Curve", "Trials (estimates)", "Change over time", "p_value", "Reading",
            "Minimal important difference"]
    if len(t) == 0:
        return pd.DataFrame(columns=cols)
    rows = []
    for r in t.itertuples():
        if r.form == "log":
            change = (f"slope {r.slope:.3f} per log(1 + weeks) ({r.slope_ci_low:.3f} to {r.slope_ci_high:.3f}); "
                      f"{'z' if r.decay_df == 1 else 'chi2'} = {r.decay_statistic:.2f}")
        else:
            change = f"Wald chi2 = {r.decay_statistic:.2f} on {int(r.decay_df)} df (spline terms)"
        clear = np.isfinite(r.decay_p_value) and r.decay_p_value < 0.05
        lean = "less benefit later" if str(r.direction).startswith("less benefit") else "a larger benefit later"
        reading = lean if clear else f"no clear change over time (the estimate leans to {lean})"
        rows.append({"comparison": r.comparator,
                     "Curve": "linear in log(1 + weeks)" if r.form == "log" else "restricted cubic spline",
                     "Trials (estimates)": f"{r.trials} ({r.k})", "Change over time": change,
                     "p_value": r.decay_p_value, "Reading": reading, "Minimal important difference": r.mid_text})
    return pd.DataFrame(rows, columns=cols)


def time_response_figures(an: Analysis, outcome: str = "pain", form: str = "log") -> list:
    """One :func:`trialsynth.plots.time_response.time_response_plot` per comparator with a curve."""
    from trialsynth.plots.time_response import time_response_plot

    d = durability(an, outcome)
    figs = []
    for (comp, f), tr in d.curves.items():
        if f == form:
            arms = str(comp).split(" vs ", 1)
            favours = (f"Favours {arms[0]}", f"Favours {arms[1]}") if len(arms) == 2 else ("Favours acupuncture",
                                                                                            "Favours control")
            figs.append(time_response_plot(tr, favours=favours,
                                           title=f"{outcome.capitalize()}: {comp}, by weeks after treatment ended"
                                           f" \u2014 {an.population}"))
    return figs


def _mid_words(d) -> str:
    """The minimal important difference the curves of ``d`` were drawn with, on the display scale."""
    from trialsynth.effects.scales import is_ratio

    mids = [tr.mid for tr in d.curves.values() if np.isfinite(tr.mid)]
    if not mids:
        return "not set for this measure"
    mid = mids[0]
    if is_ratio(d.measure):
        return f"a ratio of {math.exp(abs(mid)):.2f} (or {math.exp(-abs(mid)):.2f})"
    return f"{abs(mid):g} SD" if str(d.measure).upper() == "SMD" else f"{abs(mid):g} on the {d.measure} scale"


def durability_methods(an: Analysis, outcome: str = "pain") -> str:
    """What the joint model of ``outcome`` did, in words (Markdown): model, covariance, the
    within-person correlation and its source, what was assumed, and the fit's caveats."""
    d = durability(an, outcome)
    if d.window is None:
        return f"_No joint model for {outcome}: " + "; ".join(d.notes) + "_"
    fit = d.window.fit
    cov = d.covariance
    counts = cov.tag_counts()
    declared = cov.rho[cov.rho["source"].astype(str).str.startswith("declared")]
    multi = cov.rho[cov.rho["rho"].notna()]
    parts = [
        f"**Joint model ({outcome}, {d.measure}; {an.population}).** Every usable follow-up of every trial "
        f"({fit.k} estimates, {fit.n_outer} trial-comparisons) in one {fit.method} model: a mean per comparison "
        "(add-on and head-to-head apart) and time window, a trial's true effects correlated between windows "
        f"(compound symmetry: between-trial variance \u03c4\u00b2 = {fit.tau2:.4f}, correlation {fit.rho:.2f}"
        + (" at its upper bound: a trial that does better than average in one window is estimated to do so in "
           "every window, so a sparse window borrows strongly from the trial's other windows"
           if "rho" in fit.boundary and np.isfinite(fit.rho) and fit.rho > 0.99 else
           " at its bound" if "rho" in fit.boundary else "") + ").",
        f"**Within-trial covariance** (Wei & Higgins 2013; Gleser & Olkin 2009): comparisons sharing an arm covary "
        f"exactly through it; follow-ups of the same participants through a within-person correlation of "
        f"{d.rho:g} ({len(multi)} trial(s) with several follow-ups; "
        + (f"{len(declared)} declared in data/correlations.csv" if len(declared) else
           "none declared: no trial reports it, so it is an assumption, varied from 0 to 0.9 below")
        + f"). Elements: {counts['exact']} exact, {counts['assumed']} assumed, {counts['repaired']} repaired.",
        "**Curves**: the effect against weeks after treatment ended, linear in log(1 + weeks) (and a restricted cubic "
        "spline where three or more distinct follow-up times allow), a continuous-time AR(1) correlation between a "
        "trial's true effects at its follow-ups and a random intercept between trials (a random slope where enough "
        f"trials report several follow-ups); the dashed line is the minimal important difference ({_mid_words(d)}).",
    ]
    caveats = [n for n in d.notes if not n.startswith("assumed covariances")]
    if caveats:
        parts.append("Notes: " + "; ".join(caveats) + ".")
    return "\n\n".join(parts)
