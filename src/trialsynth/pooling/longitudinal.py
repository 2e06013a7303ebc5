r"""Does the effect fade? Joint models of the effect over follow-up time.

Two models built on :func:`trialsynth.pooling.multivariate.pool_multivariate`, with the trials'
within-trial sampling covariance (:func:`trialsynth.effects.covariance.within_trial_cov`):

:func:`window_model`
    One model for every time window and comparator (Ishak et al. 2007's "time-specific" model):
    cell means ``comparator x window``, and a trial's true effects in different windows correlated
    (``struct = "CS"`` over windows within a trial-comparison). It gives each window's pooled
    effect, borrowing strength across windows through the trials that report several, and the
    *contrasts* the separate pools cannot give: long minus short, intermediate minus immediate,
    with their CIs (:meth:`WindowModel.contrasts`).

:func:`time_response`
    The effect as a function of weeks after the end of treatment (Ishak et al. 2007, section 4;
    the dose-response meta-analysis of Orsini et al. 2012 with time for dose): linear in
    ``log(1 + weeks)`` or a restricted cubic spline of it (Harrell 2015, section 2.4.5), with a
    continuous-time AR(1) correlation between a trial's true effects at its follow-ups (CAR,
    ``rho ** |weeks_i - weeks_j|``), a random intercept between trials, and a random slope when at
    least ``min_trials_slope`` trials report several follow-ups. It returns the pooled curve with
    its CI and prediction bands, the trials' points, the test of no change over time (decay), and
    the weeks at which the curve crosses the minimal important difference, with a CI found by
    inverting the pointwise test (Fieller 1954: the weeks whose CI contains the MID).

Sign conventions follow ``data/README.md``: a negative SMD/MD favours acupuncture, a log ratio
above 0 favours it. A contrast is "later minus earlier"; the columns ``fades`` / ``direction`` say
what its sign means for the benefit.

References
----------
* Ishak KJ, Platt RW, Joseph L, Hanley JA, Caro JJ (2007). Meta-analysis of longitudinal studies.
  Clin Trials 4:525-539.
* Orsini N, Li R, Wolk A, Khudyakov P, Spiegelman D (2012). Meta-analysis for linear and nonlinear
  dose-response relations: examples, an evaluation of approximations, and software. Am J Epidemiol
  175:66-73.
* Harrell FE (2015). Regression Modeling Strategies, 2nd ed., Springer (restricted cubic splines,
  section 2.4.5; knots at the 10th, 50th and 90th percentiles, table 2.3).
* Fieller EC (1954). Some problems in interval estimation. J R Stat Soc B 16:175-185.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from trialsynth.errors import ArgumentError
from trialsynth.pooling.multivariate import MultivariateResult, pool_multivariate

__all__ = ["CONTRASTS", "Durability", "SENSITIVITY_RHOS", "TimeResponse", "WindowModel", "durability_analysis", "rcs_basis",
           "time_response", "window_model"]

#: the contrasts a window model reports: (later, earlier)
CONTRASTS = (("long", "short"), ("intermediate", "immediate"))
WINDOW_ORDER = ("immediate", "short", "intermediate", "long")


def _benefit_sign(measure: str) -> int:
    """-1 when a negative estimate favours the intervention (differences), +1 for log ratios."""
    from trialsynth.effects.scales import is_ratio

    return 1 if is_ratio(measure) else -1


def _trial_ids(df: pd.DataFrame, trial_cols) -> np.ndarray:
    missing = [c for c in trial_cols if c not in df.columns]
    if missing:
        raise ArgumentError(f"effects: missing column(s) {missing}")
    return df[list(trial_cols)].astype(str).agg("/".join, axis=1).to_numpy(dtype=object)


def _matrix(V, k):
    M = np.asarray(V, dtype=float)
    if M.shape != (k, k):
        raise ArgumentError(f"V: expected shape ({k}, {k}) to match the {k} rows; got {M.shape}")
    return M


# ----------------------------------------------------------------------------- window model
@dataclass
class WindowModel:
    """A joint model of every comparator x window cell (:func:`window_model`).

    Attributes
    ----------
    fit : MultivariateResult
        The fitted model; its coefficients are the cells ``cell[<comparator>:<window>]``.
    cells : DataFrame
        Per cell: comparator, window, estimate, se, ci_low, ci_high, p_value, k_trials (trials with
        a row in the cell), rows, study_ids.
    measure : str
    notes : list of str
    """

    fit: MultivariateResult
    cells: pd.DataFrame
    measure: str
    trial_windows: pd.DataFrame
    notes: list = field(default_factory=list)

    def contrasts(self, pairs=CONTRASTS, *, level=None) -> pd.DataFrame:
        """Later-minus-earlier contrasts per comparator: one row per comparator x pair with
        estimate, se, statistic, p_value, ci_low, ci_high, the trials in each window, the trials
        with both (whose within-trial change informs the contrast directly), ``fades`` (True
        when the estimate is on the side of less benefit later) and ``note`` (why a contrast is
        missing)."""
        rows = []
        sign = _benefit_sign(self.measure)
        for comp in sorted(self.cells["comparator"].unique()):
            cells = self.cells[self.cells["comparator"] == comp].set_index("window")
            for later, earlier in pairs:
                row = {"comparator": comp, "contrast": f"{later} - {earlier}", "later": later, "earlier": earlier,
                       "measure": self.measure}
                missing = [w for w in (later, earlier) if w not in cells.index]
                if missing:
                    row.update(estimate=math.nan, se=math.nan, statistic=math.nan, p_value=math.nan,
                               ci_low=math.nan, ci_high=math.nan, k_later=int(cells["k_trials"].get(later, 0)),
                               k_earlier=int(cells["k_trials"].get(earlier, 0)), k_both=0, fades=None,
                               note="no trial in the " + " or ".join(missing) + " window")
                    rows.append(row)
                    continue
                L = {cells.loc[later, "term"]: 1.0, cells.loc[earlier, "term"]: -1.0}
                c = self.fit.contrast(L, level=level).iloc[0]
                both = self.trial_windows[(self.trial_windows["comparator"] == comp)
                                          & self.trial_windows[later] & self.trial_windows[earlier]]
                est = float(c["estimate"])
                row.update(estimate=est, se=float(c["se"]), statistic=float(c["statistic"]),
                           p_value=float(c["p_value"]), ci_low=float(c["ci_low"]), ci_high=float(c["ci_high"]),
                           k_later=int(cells.loc[later, "k_trials"]), k_earlier=int(cells.loc[earlier, "k_trials"]),
                           k_both=int(len(both)), fades=bool(sign * est < 0),
                           note="" if len(both) else "no trial reports both windows: the contrast rests on "
                                                     "between-trial differences only")
                rows.append(row)
        cols = ["comparator", "contrast", "later", "earlier", "measure", "estimate", "se", "statistic", "p_value",
                "ci_low", "ci_high", "k_later", "k_earlier", "k_both", "fades", "note"]
        return pd.DataFrame(rows, columns=cols)


def window_model(effects: pd.DataFrame, V, *, comparator: str = "comparator_class", window: str = "window",
                 trial_cols=("study_id", "comparison_id"), struct: str = "CS", method: str = "REML",
                 test: str = "z", fixed: dict | None = None) -> WindowModel:
    """Pool every comparator x window cell in one model (module docstring).

    Parameters
    ----------
    effects : DataFrame
        One row per estimate (several per trial allowed, also several in one window), with
        ``yi``, ``measure``, the comparator and window columns and the trial id columns.
    V : array (k, k) or WithinTrialCov
        Their sampling covariance (:func:`trialsynth.effects.covariance.within_trial_cov`).
    struct : str, default "CS"
        How a trial-comparison's true effects in different windows are correlated (``CS``: one
        between-trial variance and one correlation; ``HCS`` a variance per window, needs two
        trials in every window).
    """
    if len(effects) == 0:
        raise ArgumentError("effects: no rows")
    measures = sorted(set(effects["measure"].astype(str)))
    if len(measures) != 1:
        raise ArgumentError(f"effects: one measure at a time, got {measures}")
    k = len(effects)
    M = _matrix(V, k)
    comp = effects[comparator].astype(str).to_numpy(dtype=object)
    win = effects[window].astype(str).to_numpy(dtype=object)
    unknown = sorted(set(win) - set(WINDOW_ORDER))
    trial = _trial_ids(effects, trial_cols)
    cell = np.array([f"{c}:{w}" for c, w in zip(comp, win)], dtype=object)
    moderators = pd.DataFrame({"cell": cell})
    n_outer = len(set(trial))
    notes = []
    if unknown:
        notes.append(f"windows outside the usual four kept as they are: {unknown}")
    kw = dict(moderators=moderators, intercept=False, outer=trial if n_outer > 1 else None,
              inner=win if n_outer > 1 else None, struct=struct, method=method, test=test,
              labels=effects.index.astype(str), warn=False)
    res = pool_multivariate(effects["yi"].to_numpy(float), M, fixed=fixed, **kw)
    if (n_outer > 1 and struct in ("CS", "HCS") and not (fixed and "rho" in fixed)
            and np.isfinite(res.rho) and res.rho < 0):
        # a trial's true effects in two windows are not expected to be negatively correlated, and
        # below -1/(m - 1) the structure is not a covariance at all: held at 0 (its bound)
        notes.append(f"the correlation of a trial's true effects between windows was estimated below 0 "
                     f"(rho = {res.rho:.2f}); it is held at 0, the edge of its admissible range")
        res = pool_multivariate(effects["yi"].to_numpy(float), M, fixed={**(fixed or {}), "rho": 0.0}, **kw)
    notes.extend(res.warnings)
    coef = res.coefficients
    rows = []
    for term in coef.index:
        c, w = term[len("cell["):-1].split(":", 1)
        mask = (comp == c) & (win == w)
        studies = sorted(set(effects.loc[mask, "study_id"].astype(str)))
        rows.append({"comparator": c, "window": w, "term": term, **coef.loc[term].to_dict(),
                     "k_trials": len(set(trial[mask])), "rows": int(mask.sum()), "study_ids": ", ".join(studies)})
    order = {w: n for n, w in enumerate(WINDOW_ORDER)}
    cells = pd.DataFrame(rows).sort_values(["comparator", "window"], key=lambda s: s.map(order) if s.name == "window" else s)
    tw = pd.DataFrame({"trial": trial, "comparator": comp, "window": win})
    trial_windows = pd.crosstab([tw["trial"], tw["comparator"]], tw["window"]).astype(bool).reset_index()
    for w in WINDOW_ORDER:
        if w not in trial_windows.columns:
            trial_windows[w] = False
    return WindowModel(fit=res, cells=cells.reset_index(drop=True), measure=measures[0], trial_windows=trial_windows,
                       notes=notes)


# ----------------------------------------------------------------------------- splines
def rcs_basis(x, knots) -> np.ndarray:
    """Restricted cubic spline basis (Harrell 2015, eq. 2.25): the columns ``x`` and, for
    j = 1..K-2, ``(x - t_j)_+^3 - (x - t_{K-1})_+^3 (t_K - t_j)/(t_K - t_{K-1}) + (x - t_K)_+^3
    (t_{K-1} - t_j)/(t_K - t_{K-1})``, divided by ``(t_K - t_1)^2`` so the columns are on the
    scale of x; linear beyond the outer knots."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    K = t.size
    if K < 3 or np.any(np.diff(t) <= 0):
        raise ArgumentError(f"knots: expected at least 3 increasing knots, got {list(knots)}")
    cols = [x]
    norm = (t[-1] - t[0]) ** 2

    def p3(u):
        return np.maximum(u, 0.0) ** 3

    for j in range(K - 2):
        term = (p3(x - t[j]) - p3(x - t[K - 2]) * (t[K - 1] - t[j]) / (t[K - 1] - t[K - 2])
                + p3(x - t[K - 1]) * (t[K - 2] - t[j]) / (t[K - 1] - t[K - 2]))
        cols.append(term / norm)
    return np.column_stack(cols)


# ----------------------------------------------------------------------------- time response
@dataclass
class TimeResponse:
    """The pooled effect against weeks after the end of treatment (:func:`time_response`).

    Attributes
    ----------
    fit : MultivariateResult
    form : str
        ``"log"`` (linear in log(1 + weeks)) or ``"spline"`` (restricted cubic spline of it).
    curve : DataFrame
        ``weeks, estimate, se, ci_low, ci_high, pi_low, pi_high`` on a grid over the observed weeks.
    points : DataFrame
        The trials' estimates: ``study_id, trial, weeks, yi, ci_low, ci_high``.
    decay : dict
        The test of no change over time: ``statistic, df, p_value`` (a z/t test of the slope
        for ``log``, a Wald chi-square over the spline terms), ``slope`` and its CI for ``log``
        (change per unit of log(1 + weeks)), and ``direction`` in words.
    mid : float
        The threshold on the analysis scale: a benefit of ``mid`` (SMD 0.5, or the log of a ratio).
    mid_crossing : dict
        ``weeks`` where the pooled curve crosses the MID (NaN when it does not within the observed
        weeks), ``ci_low, ci_high`` (the weeks whose CI contains the MID; inf when the set reaches
        past the last observed follow-up) and ``text``.
    measure : str
    random_slope : bool
    notes : list of str
    """

    fit: MultivariateResult
    form: str
    curve: pd.DataFrame
    points: pd.DataFrame
    decay: dict
    mid: float
    mid_crossing: dict
    measure: str
    random_slope: bool
    knots: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row: the form, the decay test and the MID crossing."""
        return pd.DataFrame([{"form": self.form, "measure": self.measure, "k": self.fit.k,
                              "trials": self.points["trial"].nunique(), **{f"decay_{k}": v for k, v in self.decay.items()},
                              **{f"mid_{k}": v for k, v in self.mid_crossing.items()}}])


def time_response(effects: pd.DataFrame, V, *, weeks: str = "weeks_after", form: str = "log",
                  trial_cols=("study_id", "comparison_id"), knots=None, mid: float | None = None,
                  random_slope="auto", min_trials_slope: int = 3, method: str = "REML", test: str = "z",
                  level: float = 95.0, grid: int = 121, intercept_level: bool = True) -> TimeResponse:
    """Fit the effect against weeks after treatment (module docstring).

    Parameters
    ----------
    effects : DataFrame
        The rows of one comparator (and outcome, measure) with ``yi`` and ``weeks``.
    V : array or WithinTrialCov
        Their sampling covariance.
    form : {"log", "spline"}
        Linear in ``log(1 + weeks)``, or a restricted cubic spline of ``log(1 + weeks)`` with
        ``knots`` (default: 3 knots at the 10th, 50th and 90th percentiles of the distinct
        observed values, Harrell 2015).
    mid : float, optional
        The minimal important difference on the analysis scale as a positive size (default:
        :func:`trialsynth.claims.effects.mid_for` of the measure: 0.5 SD for an SMD, the GRADE
        ratio thresholds for RR/OR).
    random_slope : "auto", True or False
        A random slope on the time term between trials; "auto" adds it when at least
        ``min_trials_slope`` trials report two or more follow-ups.
    intercept_level : bool, default True
        A random intercept between trials besides the CAR term.
    """
    if form not in ("log", "spline"):
        raise ArgumentError(f"form: expected 'log' or 'spline', got {form!r}")
    if weeks not in effects.columns:
        raise ArgumentError(f"effects: missing column {weeks!r}")
    k = len(effects)
    if k < 3:
        raise ArgumentError(f"time_response needs at least 3 estimates, got {k}")
    measures = sorted(set(effects["measure"].astype(str)))
    if len(measures) != 1:
        raise ArgumentError(f"effects: one measure at a time, got {measures}")
    measure = measures[0]
    M = _matrix(V, k)
    w = pd.to_numeric(effects[weeks], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        bad = effects.index[~np.isfinite(w) | (w < 0)][0]
        raise ArgumentError(f"effects: row {bad} has no usable {weeks} (need weeks >= 0)")
    trial = _trial_ids(effects, trial_cols)
    x = np.log1p(w)
    distinct = np.unique(x)
    notes = []
    if distinct.size < 2:
        raise ArgumentError("time_response: every estimate is at the same time point; nothing to model")
    if form == "spline":
        if knots is None:
            if distinct.size < 3:
                raise ArgumentError("time_response: a spline needs at least 3 distinct follow-up times")
            knots = list(np.quantile(distinct, [0.10, 0.50, 0.90]))
        else:
            knots = list(np.log1p(np.asarray(knots, dtype=float)))
        basis = lambda v: rcs_basis(v, knots)  # noqa: E731
    else:
        knots = []
        basis = lambda v: np.asarray(v, dtype=float)[:, None]  # noqa: E731
    B = basis(x)
    names = ["log1p_weeks"] + [f"rcs{j + 1}" for j in range(B.shape[1] - 1)]
    moderators = pd.DataFrame(B, columns=names)
    multi = pd.Series(x).groupby(trial).nunique()
    n_multi = int((multi >= 2).sum())
    use_slope = (n_multi >= min_trials_slope) if random_slope == "auto" else bool(random_slope)
    if random_slope == "auto" and not use_slope:
        notes.append(f"no random slope: {n_multi} trial(s) report two or more follow-ups "
                     f"(at least {min_trials_slope} are needed to estimate its variance)")
    n_trials = len(set(trial))
    kw = dict(moderators=moderators, method=method, test=test, level=level, labels=effects.index.astype(str),
              warn=False)
    if n_trials > 1:
        kw.update(outer=trial, inner=w, struct="CAR")
        if intercept_level:
            kw["levels"] = [trial]
            kw["level_names"] = ["trial"]
        if use_slope:
            kw["random_slopes"] = {"log1p_weeks": (trial, x)}
    res = pool_multivariate(effects["yi"].to_numpy(float), M, **kw)
    notes.extend(res.warnings)
    # the curve
    grid_w = np.unique(np.concatenate([np.linspace(0.0, float(w.max()), grid), w]))
    Bg = basis(np.log1p(grid_w))
    Xg = np.column_stack([np.ones(len(grid_w)), Bg])
    beta, C = res.beta, res.vcov
    est = Xg @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xg, C, Xg))
    crit = float(special.ndtri(1 - (1 - level / 100) / 2) if res.dfs is None else special.stdtrit(res.dfs, 1 - (1 - level / 100) / 2))
    sig = res.sigma2
    between = float(sig[0]) if (n_trials > 1 and intercept_level and sig.size) else 0.0
    if use_slope and sig.size:
        slope_var = float(sig[-1])
    else:
        slope_var = 0.0
    tau2 = 0.0 if res.struct is None else float(res.tau2)
    pi_var = se ** 2 + between + tau2 + slope_var * np.log1p(grid_w) ** 2
    curve = pd.DataFrame({"weeks": grid_w, "estimate": est, "se": se, "ci_low": est - crit * se,
                          "ci_high": est + crit * se, "pi_low": est - crit * np.sqrt(pi_var),
                          "pi_high": est + crit * np.sqrt(pi_var)})
    sd = np.sqrt(np.diag(M))
    z = float(special.ndtri(1 - (1 - level / 100) / 2))
    points = pd.DataFrame({"study_id": effects["study_id"].astype(str).to_numpy(), "trial": trial, "weeks": w,
                           "yi": effects["yi"].to_numpy(float), "ci_low": effects["yi"].to_numpy(float) - z * sd,
                           "ci_high": effects["yi"].to_numpy(float) + z * sd}, index=effects.index)
    # decay
    sign = _benefit_sign(measure)
    terms = names
    coef = res.coefficients
    if form == "log":
        row = coef.loc["log1p_weeks"]
        decay = {"test": "slope of log(1 + weeks)", "statistic": float(row["statistic"]), "df": 1,
                 "p_value": float(row["p_value"]), "slope": float(row["estimate"]), "slope_ci_low": float(row["ci_low"]),
                 "slope_ci_high": float(row["ci_high"])}
        fading = sign * float(row["estimate"]) < 0
    else:
        L = np.zeros((len(terms), res.p))
        for j, t in enumerate(terms):
            L[j, res.coef_names.index(t)] = 1.0
        b = L @ beta
        Q = float(b @ np.linalg.solve(L @ C @ L.T, b))
        decay = {"test": "Wald test of the spline terms", "statistic": Q, "df": len(terms),
                 "p_value": float(special.chdtrc(len(terms), Q)), "slope": math.nan, "slope_ci_low": math.nan,
                 "slope_ci_high": math.nan}
        fading = sign * (est[-1] - est[0]) < 0
    decay["direction"] = ("less benefit later (the effect moves towards no effect)" if fading
                          else "no less benefit later")
    # MID crossing
    if mid is None:
        from trialsynth.claims.effects import mid_for

        mid = mid_for(measure)
    threshold = sign * float(mid)
    crossing = _crossing(grid_w, est, curve["ci_low"].to_numpy(), curve["ci_high"].to_numpy(), threshold,
                         lambda ww: float((np.column_stack([np.ones(1), basis(np.log1p(np.atleast_1d(ww)))]) @ beta)[0]),
                         sign)
    return TimeResponse(fit=res, form=form, curve=curve, points=points, decay=decay, mid=float(mid),
                        mid_crossing=crossing, measure=measure, random_slope=use_slope,
                        knots=[float(np.expm1(k_)) for k_ in knots], notes=notes)


def _crossing(w, est, lo, hi, threshold, curve_at, sign) -> dict:
    """Where the pooled curve crosses ``threshold`` (the MID on the benefit side) and the weeks
    whose CI contains it (Fieller 1954)."""
    beyond = sign * (est - threshold) >= 0  # at least the MID's benefit
    covers = (lo <= threshold) & (threshold <= hi)
    out = {"threshold": threshold, "weeks": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    change = np.flatnonzero(beyond[1:] != beyond[:-1])
    if change.size:
        j = int(change[0])
        try:
            root = optimize.brentq(lambda ww: curve_at(ww) - threshold, w[j], w[j + 1], xtol=1e-10)
        except ValueError:
            root = float(w[j])
        out["weeks"] = float(root)
        # the contiguous run of covered weeks around the crossing
        idx = np.flatnonzero(covers)
        if idx.size:
            near = int(np.argmin(np.abs(w - root)))
            run = _run_around(covers, near)
            out["ci_low"] = float(w[run[0]])
            out["ci_high"] = math.inf if run[1] == len(w) - 1 else float(w[run[1]])
        gone = "reaches" if beyond[j] and not beyond[j + 1] else "first reaches"
        if beyond[j] and not beyond[j + 1]:
            out["text"] = (f"the pooled benefit falls below the MID at about {root:.0f} {_weeks(root)} after treatment "
                           f"(95% CI {out['ci_low']:.0f} weeks to "
                           + ("beyond the last follow-up" if math.isinf(out["ci_high"]) else f"{out['ci_high']:.0f} weeks")
                           + ")")
        else:
            out["text"] = f"the pooled benefit {gone} the MID at about {root:.0f} {_weeks(root)} after treatment"
    elif beyond.all():
        out["text"] = "the pooled benefit stays at or beyond the MID over the observed follow-up"
    else:
        out["text"] = "the pooled benefit stays below the MID over the observed follow-up (it never reaches it)"
    out["covers_mid_weeks"] = float(np.sum(np.diff(w)[covers[1:] & covers[:-1]])) if covers.any() else 0.0
    return out


def _weeks(value) -> str:
    return "week" if round(float(value)) == 1 else "weeks"


def _run_around(mask, i):
    if not mask[i]:
        cand = np.flatnonzero(mask)
        i = int(cand[np.argmin(np.abs(cand - i))])
    a = i
    while a > 0 and mask[a - 1]:
        a -= 1
    b = i
    while b < len(mask) - 1 and mask[b + 1]:
        b += 1
    return a, b


# ----------------------------------------------------------------------------- all together
#: the within-person correlations of the sensitivity analysis
SENSITIVITY_RHOS = (0.0, 0.3, 0.5, 0.7, 0.9)


@dataclass
class Durability:
    """Does the effect fade? The joint window model's contrasts per comparator, the time-response
    curves and the sensitivity of the contrasts to the assumed within-person correlation
    (:func:`durability_analysis`).

    Attributes
    ----------
    contrasts : DataFrame
        :meth:`WindowModel.contrasts` at the main ``rho`` (one row per comparator x contrast).
    cells : DataFrame
        The joint model's estimate of every comparator x window cell.
    sensitivity : DataFrame
        The contrasts refitted at every rho of ``rhos`` (column ``rho``), with the model's
        between-trial variance and correlation at each.
    curves : dict
        ``{(comparator, form): TimeResponse}``.
    window : WindowModel or None
    covariance : WithinTrialCov or None
        The within-trial covariance at the main rho.
    rho : float
    measure : str
    notes : list of str
    """

    contrasts: pd.DataFrame
    cells: pd.DataFrame
    sensitivity: pd.DataFrame
    curves: dict
    window: WindowModel | None
    covariance: object
    rho: float
    measure: str
    notes: list = field(default_factory=list)

    def curve_table(self) -> pd.DataFrame:
        """One row per curve: comparator, form, the decay test and the MID crossing."""
        rows = []
        for (comp, form), tr in self.curves.items():
            d, m = tr.decay, tr.mid_crossing
            rows.append({"comparator": comp, "form": form, "k": tr.fit.k, "trials": tr.points["trial"].nunique(),
                         "decay_test": d["test"], "decay_statistic": d["statistic"], "decay_df": d["df"],
                         "decay_p_value": d["p_value"], "slope": d["slope"], "slope_ci_low": d["slope_ci_low"],
                         "slope_ci_high": d["slope_ci_high"], "direction": d["direction"],
                         "mid_weeks": m["weeks"], "mid_ci_low": m["ci_low"], "mid_ci_high": m["ci_high"],
                         "mid_text": m["text"], "random_slope": tr.random_slope,
                         "boundary": ", ".join(tr.fit.boundary)})
        return pd.DataFrame(rows)


def durability_analysis(rows: pd.DataFrame, *, rho: float | None = None, rhos=SENSITIVITY_RHOS, correlations=None,
                        forms=("log", "spline"), comparator: str = "comparator_class", weeks: str = "weeks_after",
                        struct: str = "CS", method: str = "REML") -> Durability:
    """The joint analysis of one outcome's rows over time: :func:`window_model` (all comparators in
    one model) at ``rho`` and at every rho of ``rhos``, and :func:`time_response` per comparator
    (each form of ``forms``) at ``rho``.

    ``rows``: the usable rows of one outcome and measure, every follow-up of every trial (not one
    per window), with ``window`` and ``weeks`` set. ``rho``: the within-person correlation of
    trials that ``correlations`` does not cover (default
    :data:`trialsynth.effects.covariance.DEFAULT_RHO`).
    """
    from trialsynth.effects.covariance import DEFAULT_RHO, within_trial_cov

    rho = DEFAULT_RHO if rho is None else float(rho)
    notes = []
    measures = sorted(set(rows["measure"].astype(str))) if len(rows) else []
    measure = measures[0] if measures else ""
    empty = pd.DataFrame()
    if len(rows) < 2 or len(measures) != 1:
        notes.append("too few rows (or several measures) for a joint model")
        return Durability(empty, empty, empty, {}, None, None, rho, measure, notes)
    cov = within_trial_cov(rows, rho=rho, correlations=correlations, on_not_pd="repair")
    notes.extend(cov.notes)
    try:
        wm = window_model(rows, cov, comparator=comparator, struct=struct, method=method)
        contrasts = wm.contrasts()
        contrasts.insert(0, "rho", rho)
        cells = wm.cells
        notes.extend(f"window model: {n}" for n in wm.notes)
    except ArgumentError as exc:
        wm, contrasts, cells = None, empty, empty
        notes.append(f"window model not fitted: {exc}")
    sens = []
    for r in rhos:
        try:
            c_r = within_trial_cov(rows, rho=float(r), correlations=correlations, on_not_pd="repair")
            w_r = window_model(rows, c_r, comparator=comparator, struct=struct, method=method)
        except ArgumentError as exc:
            notes.append(f"rho = {r:g}: window model not fitted: {exc}")
            continue
        t = w_r.contrasts()
        t.insert(0, "rho", float(r))
        t["tau2"] = w_r.fit.tau2
        t["model_rho"] = w_r.fit.rho
        t["boundary"] = ", ".join(w_r.fit.boundary)
        sens.append(t)
    sensitivity = pd.concat(sens, ignore_index=True) if sens else empty
    curves = {}
    comp_values = rows[comparator].astype(str)
    for comp in sorted(comp_values.unique()):
        mask = (comp_values == comp).to_numpy()
        sub = rows[mask]
        pos = np.flatnonzero(mask)
        if len(sub) < 3 or pd.to_numeric(sub[weeks], errors="coerce").nunique() < 2:
            notes.append(f"{comp}: no time-response curve ({len(sub)} rows, "
                         f"{pd.to_numeric(sub[weeks], errors='coerce').nunique()} distinct follow-up times)")
            continue
        V = cov.matrix[np.ix_(pos, pos)]
        for form in forms:
            try:
                curves[(comp, form)] = time_response(sub, V, weeks=weeks, form=form, method=method)
            except ArgumentError as exc:
                notes.append(f"{comp}: no {form} curve: {exc}")
    return Durability(contrasts=contrasts, cells=cells, sensitivity=sensitivity, curves=curves, window=wm,
                      covariance=cov, rho=rho, measure=measure, notes=notes)
