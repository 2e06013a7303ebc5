"""Re-pool every analysis of an imported review file with the method the file names, beside the
file's own stored results (the parity report of ``trialsynth import-revman``).

Methods, as RevMan 5 computes them (Deeks JJ, Higgins JPT. *Statistical algorithms in Review
Manager 5*, Cochrane Statistical Methods Group 2010; Cochrane Handbook 5.1, section 9.4,
table 9.4.a):

* **IV, fixed**: inverse-variance weighted mean, Wald z CI (:func:`trialsynth.pooling.fit.pool`,
  ``method="EE"``); **IV, random**: DerSimonian-Laird tau2, Wald z CI (profile
  ``revman5-legacy``). A data package from RevMan Web that names another estimator or the
  Hartung-Knapp-Sidik-Jonkman CI is re-pooled with those (``estimator``, ``ci_method``);
* **M-H, fixed**: :func:`trialsynth.pooling.mantel_haenszel.pool_mh`; heterogeneity Q of the
  study effects (1/2 added to zero cells) about the Mantel-Haenszel estimate;
* **M-H, random**: DerSimonian-Laird with tau2 from that Q,
  :math:`\\tau^2 = \\max(0, (Q - df)/(\\sum w - \\sum w^2/\\sum w))`, :math:`w = 1/v_i`, then the
  inverse-variance mean with weights :math:`1/(v_i + \\tau^2)`;
* **Peto, fixed**: :func:`trialsynth.pooling.mantel_haenszel.pool_peto`;
* **test for subgroup differences**: :math:`Q = \\sum_s (\\hat\\theta_s - \\bar\\theta)^2/se_s^2` on
  the subgroups' pooled estimates (analysis scale), S - 1 df, I2 from Q (Borenstein et al.
  2009, *Introduction to Meta-Analysis*, ch. 19; RevMan 5 for fixed and random effects).

Study effects are :func:`trialsynth.effects.revman5.revman5_effects` (RevMan's SMD and zero-cell
rules); the Mantel-Haenszel estimate is computed with 1/2 added to the cells of the tables with a
zero cell, as RevMan 5 does (``pool_mh(add_to_zero=0.5)``: with the counts as they are, Q of
analysis 1.5 of the public file CD000023 is 38.667, RevMan's 38.593 is reproduced only with the
correction). A stored value agrees when it is within half a unit of its last stored digit of ours
(a printed number, e.g. a hand-built file from a published forest plot), or within a relative
1e-6 when the file stores full precision (p-values: 1e-4, RevMan's tail areas are approximations).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.effects.revman5 import revman5_effects
from trialsynth.errors import ArgumentError

__all__ = ["ParityReport", "repool_rows", "revman_parity", "stored_tolerance", "PARITY_COLUMNS"]

#: columns of :attr:`ParityReport.values`
PARITY_COLUMNS = ("analysis_id", "scope", "quantity", "method", "stored_text", "stored", "ours", "difference",
                  "tolerance", "agrees")

_QUANTITIES = ("estimate", "ci_low", "ci_high", "tau2", "q", "df", "p_q", "i2", "z", "p_z", "k", "n1", "n2",
               "events1", "events2")
_FULL_PRECISION_SIGNIFICANT = 10
_RELATIVE = 1e-6
#: p-values: RevMan's chi-squared and normal tail areas agree with scipy's to about 1e-6 relative
_P_VALUES = frozenset({"p_q", "p_z", "p"})
_P_RELATIVE = 1e-4


def stored_tolerance(text: str, value: float) -> float:
    """Half a unit of the last digit ``text`` keeps (``"-10.21"`` -> 0.005, ``"2.7E-5"`` ->
    5e-7); for a full-precision double (10 or more significant digits) a relative 1e-6."""
    t = (text or "").strip()
    m = re.fullmatch(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", t)
    if not m or not (m.group(1) or m.group(2)):
        return _RELATIVE * max(1.0, abs(value))
    integer, frac, exp = m.group(1) or "", m.group(2) or "", int(m.group(3) or 0)
    significant = len((integer + frac).lstrip("0"))
    if significant >= _FULL_PRECISION_SIGNIFICANT:
        return _RELATIVE * max(abs(value), 1e-300) + 1e-12
    return 0.5 * 10.0 ** (exp - len(frac)) + 1e-12


def _display(measure_is_log: bool, x: float) -> float:
    return math.exp(x) if measure_is_log and math.isfinite(x) else x


def repool_rows(analysis, rows: pd.DataFrame) -> dict:
    """Our pooled result for ``rows`` of ``analysis`` with the method it names.

    Returns a dict with the keys of the stored results (display scale; ``z`` signed) plus
    ``log_estimate``/``se`` (analysis scale), ``studies`` (a DataFrame of per-study effect, CI and
    percent weight on the display scale, on the index of ``rows``) and ``method`` (text).
    """
    level = float(getattr(analysis, "ci_level", 95.0) or 95.0)
    crit = float(stats.norm.ppf(0.5 + level / 200))
    log = bool(analysis.log_scale)
    measure = analysis.measure
    kind = analysis.data_type
    if kind == "dichotomous" and analysis.method == "PETO":
        measure = "PETO_OR"
    effects = revman5_effects(kind, measure if kind != "generic" else analysis.measure, rows)
    ok = effects["estimable"].to_numpy(bool)
    yi, vi = effects["yi"].to_numpy(float)[ok], effects["vi"].to_numpy(float)[ok]
    used = rows[ok]
    k = int(ok.sum())
    out = {key: math.nan for key in _QUANTITIES}
    out["k"] = float(rows["study"].nunique())  # RevMan counts a study once (it may sit in two subgroups)
    for col, key in (("n1", "n1"), ("n2", "n2"), ("events1", "events1"), ("events2", "events2")):
        vals = pd.to_numeric(rows[col], errors="coerce")
        out[key] = float(vals.sum()) if vals.notna().any() and (kind != "generic" or col in ("n1", "n2")) else math.nan
    if kind != "dichotomous":
        out["events1"] = out["events2"] = math.nan
    method_text = analysis.method_text
    weights = np.full(k, np.nan)
    if k == 0:
        out.update(log_estimate=math.nan, se=math.nan, method=method_text,
                   studies=_study_table(rows, effects, ok, weights, log, crit))
        return out
    tau2 = math.nan
    hksj = False
    if kind == "dichotomous" and analysis.method in ("MH", "PETO"):
        from trialsynth.pooling.mantel_haenszel import pool_mh, pool_peto

        counts = {c: pd.to_numeric(used[c], errors="coerce").to_numpy(float) for c in ("events1", "n1", "events2", "n2")}
        counts = {c: v.astype(int) for c, v in counts.items()}
        if analysis.method == "PETO":
            res = pool_peto(counts["events1"], counts["n1"], counts["events2"], counts["n2"], level=level, warn=False)
        else:
            res = pool_mh(measure, counts["events1"], counts["n1"], counts["events2"], counts["n2"], level=level,
                          warn=False, add_to_zero=0.5)
        q, df = float(res.q), int(res.q_df)
        if analysis.model == "random" and analysis.method == "MH":
            w = 1.0 / vi
            centre = float(res.estimate)
            q = float(np.sum(w * (yi - centre) ** 2))
            df = k - 1
            denom = w.sum() - (w**2).sum() / w.sum()
            tau2 = max(0.0, (q - df) / denom) if df > 0 and denom > 0 else 0.0
            wr = 1.0 / (vi + tau2)
            est = float(np.sum(wr * yi) / wr.sum())
            se = float(1 / math.sqrt(wr.sum()))
            weights = 100 * wr / wr.sum()
        else:
            if analysis.model == "random":
                method_text += " (Peto has no random-effects model in RevMan: fixed effect)"
            est, se = float(res.estimate), float(res.se)
            weights = np.asarray(res.weights, float)
        p_q = float(stats.chi2.sf(q, df)) if df > 0 else math.nan
        i2 = 100 * max(0.0, (q - df) / q) if df > 0 and q > 0 else (0.0 if df > 0 else math.nan)
    else:
        from trialsynth.pooling.fit import pool

        if analysis.model == "random":
            method = analysis.estimator if analysis.estimator not in ("EE", "") else "DL"
            test = "knha" if str(analysis.ci_method).upper() == "HKSJ" else "z"
        else:
            method, test = "EE", "z"
        res = pool(yi, vi, method=method, test=test, level=level, warn=False)
        est, se = float(res.estimate), float(res.se)
        q, df = float(res.q), int(res.q_df)
        tau2 = float(res.tau2) if analysis.model == "random" else math.nan
        p_q = float(res.q_p_value) if df > 0 else math.nan
        if analysis.model == "random" and method != "DL":
            i2 = float(res.i2)  # I2 from tau2 (for DL it equals (Q - df)/Q)
        else:
            i2 = 100 * max(0.0, (q - df) / q) if df > 0 and q > 0 else (0.0 if df > 0 else math.nan)
        weights = np.asarray(res.weights, float)
        if test == "knha":
            hksj = True
            out.update(estimate=_display(log, est), ci_low=_display(log, float(res.ci_low)),
                       ci_high=_display(log, float(res.ci_high)))
            hksj_test = (float(res.statistic), float(res.p_value))
    z = est / se if se > 0 else math.nan
    if not hksj:
        out.update(estimate=_display(log, est), ci_low=_display(log, est - crit * se),
                   ci_high=_display(log, est + crit * se))
    out.update(tau2=tau2 if analysis.model == "random" else math.nan, q=q, df=float(df), p_q=p_q,
               i2=i2 if df > 0 else math.nan, z=z, p_z=float(2 * stats.norm.sf(abs(z))) if math.isfinite(z) else math.nan,
               log_estimate=est, se=se, method=method_text,
               studies=_study_table(rows, effects, ok, weights, log, crit))
    if hksj:  # the t statistic (k - 1 df) and its P, as the file stores them ("Effect T")
        out["z"], out["p_z"] = hksj_test
    return out


def _study_table(rows, effects, ok, weights, log, crit) -> pd.DataFrame:
    yi, vi = effects["yi"].to_numpy(float), effects["vi"].to_numpy(float)
    se = np.sqrt(vi)
    full_w = np.full(len(rows), np.nan)
    full_w[ok] = weights
    conv = (lambda x: np.exp(x)) if log else (lambda x: x)
    return pd.DataFrame({"effect": conv(yi), "ci_low": conv(yi - crit * se), "ci_high": conv(yi + crit * se),
                         "weight": full_w}, index=rows.index)


@dataclass
class ParityReport:
    """The re-pooling of every analysis beside the file's stored results.

    Attributes
    ----------
    values : DataFrame
        One row per compared value (:data:`PARITY_COLUMNS`): analysis, scope ("overall",
        "subgroup 1: ...", "subgroup differences", "study Kerr 2003"), quantity, the stored text
        and value, ours, the difference, the tolerance and whether they agree.
    analyses : DataFrame
        One row per analysis: method, k, stored and our estimate and CI, values compared and agreeing.
    notes : list of str
    """

    file: str
    values: pd.DataFrame
    analyses: pd.DataFrame
    notes: list = field(default_factory=list)

    @property
    def n_compared(self) -> int:
        return int(len(self.values))

    @property
    def n_agree(self) -> int:
        return int(self.values["agrees"].sum()) if len(self.values) else 0

    @property
    def all_agree(self) -> bool:
        return self.n_compared > 0 and self.n_agree == self.n_compared

    def summary(self) -> str:
        a = self.analyses
        agree = int(a["agrees"].sum()) if len(a) else 0
        return (f"parity: {agree} of {len(a)} analyses re-pool to the file's stored results "
                f"({self.n_agree} of {self.n_compared} stored values agree)")

    def to_markdown(self) -> str:
        """A Markdown report: the analyses table, then every value that disagrees."""
        lines = [f"# Parity report: {self.file}", "", self.summary() + ".", "",
                 "Every analysis re-pooled with the method the file names (RevMan 5: inverse variance, "
                 "Mantel-Haenszel or Peto, fixed effect or DerSimonian-Laird random effects, Wald z), "
                 "beside the results the file stores. A value agrees within half a unit of its last "
                 "stored digit, or a relative 1e-6 when the file stores full precision.", "",
                 "| analysis | method | k | stored | ours | values agreeing | agrees |", "|---|---|---|---|---|---|---|"]
        for r in self.analyses.to_dict("records"):
            lines.append(f"| {r['analysis_id']} {r['name']} | {r['method']} | {r['k']} | {r['stored_text']} | "
                         f"{r['ours_text']} | {r['n_agree']}/{r['n_compared']} | {'yes' if r['agrees'] else '**no**'} |")
        bad = self.values[~self.values["agrees"]] if len(self.values) else self.values
        if len(bad):
            lines += ["", "## Values that disagree", "", "| analysis | scope | quantity | stored | ours | difference |",
                      "|---|---|---|---|---|---|"]
            for r in bad.to_dict("records"):
                lines.append(f"| {r['analysis_id']} | {r['scope']} | {r['quantity']} | {r['stored_text']} | "
                             f"{_g(r['ours'])} | {_g(r['difference'])} |")
        if self.notes:
            lines += ["", "## Notes", ""] + [f"* {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _g(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "" if not math.isfinite(x) else f"{x:.6g}"


def _compare(values: list, aid: str, scope: str, method: str, stored: dict, stored_text: dict, ours: dict,
             quantities=_QUANTITIES) -> None:
    for qty in quantities:
        s = stored.get(qty, math.nan)
        o = ours.get(qty, math.nan)
        if s is None or not math.isfinite(float(s)):
            continue
        text = str(stored_text.get(qty, "") or "")
        mine = float(o) if o is not None else math.nan
        if qty == "z":
            s, mine = abs(float(s)), abs(mine)
        tol = stored_tolerance(text, float(s))
        if qty in _P_VALUES:
            tol = max(tol, _P_RELATIVE * abs(float(s)))
        diff = mine - float(s) if math.isfinite(mine) else math.nan
        values.append({"analysis_id": aid, "scope": scope, "quantity": qty, "method": method, "stored_text": text,
                       "stored": float(s), "ours": mine, "difference": diff, "tolerance": tol,
                       "agrees": bool(math.isfinite(diff) and abs(diff) <= tol)})


def _subgroup_difference(subs: list[dict]) -> dict:
    est = np.array([s["log_estimate"] for s in subs], float)
    se = np.array([s["se"] for s in subs], float)
    keep = np.isfinite(est) & np.isfinite(se) & (se > 0)
    est, se = est[keep], se[keep]
    if est.size < 2:
        return {"q": math.nan, "df": math.nan, "p": math.nan, "i2": math.nan}
    w = 1 / se**2
    centre = np.sum(w * est) / w.sum()
    q = float(np.sum(w * (est - centre) ** 2))
    df = est.size - 1
    return {"q": q, "df": float(df), "p": float(stats.chi2.sf(q, df)),
            "i2": 100 * max(0.0, (q - df) / q) if q > 0 else 0.0}


def revman_parity(review) -> ParityReport:
    """Re-pool every analysis of ``review`` (an :class:`~trialsynth.data.importers.ImportedReview`)
    and compare with its stored results: overall, each subgroup, the test for subgroup differences
    and every study's effect, CI and weight."""
    if not hasattr(review, "analyses") or not hasattr(review, "rows"):
        raise ArgumentError(f"review: expected an ImportedReview, got {type(review).__name__}")
    values: list[dict] = []
    summary: list[dict] = []
    notes: list[str] = []
    for a in review.analyses:
        rows = review.rows[review.rows["analysis_id"] == a.analysis_id]
        start = len(values)
        try:
            ours = repool_rows(a, rows)
        except ArgumentError as exc:
            notes.append(f"analysis {a.analysis_id}: not re-pooled ({exc})")
            continue
        method = ours["method"]
        if a.totals:
            _compare(values, a.analysis_id, "overall", method, a.overall, a.overall_text, ours)
        sub_results = []
        for s in a.subgroups:
            s_rows = rows[rows["subgroup_no"] == s["subgroup_no"]]
            if not len(s_rows):
                notes.append(f"analysis {a.analysis_id}: subgroup {s['subgroup_no']} has stored results but no rows")
                continue
            mine = repool_rows(a, s_rows)
            sub_results.append(mine)
            _compare(values, a.analysis_id, f"subgroup {s['subgroup_no']}: {s['name']}", method, s["stored"],
                     s["stored_text"], mine)
        if a.subgroup_test and len(sub_results) >= 2:
            diff = _subgroup_difference(sub_results)
            _compare(values, a.analysis_id, "subgroup differences", method, a.subgroup_difference,
                     a.subgroup_difference_text, diff, quantities=("q", "df", "p", "i2"))
        # studies: each row's effect and CI; weights within the pool the file computed them in
        scope_results = sub_results if a.subgroups and not a.totals else [ours]
        if a.subgroups and not a.totals:
            study_tables = pd.concat([r["studies"] for r in sub_results]) if sub_results else pd.DataFrame()
        else:
            study_tables = ours["studies"]
        del scope_results
        for idx, rec in rows.iterrows():
            if idx not in study_tables.index:
                continue
            mine = study_tables.loc[idx]
            stored = {"effect": rec["effect"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "weight": rec["weight"]}
            text = _row_texts(rec)
            _compare(values, a.analysis_id, f"study {rec['study']}", method, stored, text, mine.to_dict(),
                     quantities=("effect", "ci_low", "ci_high", "weight"))
        mine_vals = values[start:]
        stored_est = a.overall if a.totals else (a.subgroups[0]["stored"] if a.subgroups else {})
        our_est = ours if a.totals else (sub_results[0] if sub_results else {})
        summary.append({
            "analysis_id": a.analysis_id, "name": f"{a.comparison_name}; {a.outcome_name}".strip("; "),
            "data_type": a.data_type, "measure": a.measure, "method": method, "k": int(len(rows)),
            "scope": "overall" if a.totals else ("subgroup 1" if a.subgroups else ""),
            "stored_text": _est_text(a.measure, stored_est), "ours_text": _est_text(a.measure, our_est),
            "n_compared": len(mine_vals), "n_agree": sum(v["agrees"] for v in mine_vals),
            "agrees": bool(mine_vals) and all(v["agrees"] for v in mine_vals),
            "max_abs_difference": max((abs(v["difference"]) for v in mine_vals if math.isfinite(v["difference"])), default=math.nan),
        })
    frame = pd.DataFrame(values, columns=list(PARITY_COLUMNS))
    return ParityReport(file=review.file, values=frame, analyses=pd.DataFrame(summary), notes=notes)


def _row_texts(rec) -> dict:
    texts = rec.get("value_texts")
    return dict(texts) if isinstance(texts, dict) else {}


def _est_text(measure: str, res: dict) -> str:
    est, lo, hi = (res.get(k, math.nan) if res else math.nan for k in ("estimate", "ci_low", "ci_high"))
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (est, lo, hi)):
        return "not stored"
    return f"{measure} {est:.4g} ({lo:.4g} to {hi:.4g})"
