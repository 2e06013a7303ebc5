r"""The sampling covariance of a trial's effect estimates: :func:`within_trial_cov`.

A trial reporting several follow-ups, or several comparisons that share an arm, gives estimates
that are correlated because they come from the same participants. Pooling them jointly
(:func:`trialsynth.pooling.multivariate.pool_multivariate`) needs their covariance matrix V.

Every covariance is built from the arms the two estimates share. Write an estimate as a contrast of
arm summaries, ``y = g(arm 1) - g(arm 2)`` (a mean, a standardised mean, a log risk or log odds), and
let ``a`` be an arm's share of the estimate's variance (``sd^2/n`` for a mean difference,
``1/x - 1/n`` for a log risk ratio, ``1/x + 1/(n - x)`` for a log odds ratio, ``p(1-p)/n`` for a risk
difference). For two estimates ``i`` and ``j`` of the same trial, each physical arm they share
contributes (delta method; Gleser & Olkin 2009, section 19.3; Wei & Higgins 2013, section 2)

.. math:: s_i s_j\, r\, \sqrt{a_i a_j}\; m / \sqrt{n_i n_j},

where ``s`` is the arm's sign in the contrast (+1 for arm 1, -1 for arm 2), ``n_i, n_j`` the arm's
size in each estimate, ``m = min(n_i, n_j)`` the participants measured for both (attrition is
taken as monotone: those measured later are a subset of those measured earlier), and ``r`` the
correlation of a participant's two measurements: 1 for the same measurement (comparisons sharing
an arm at the same time point: the **exact** covariance of a multi-arm trial), the within-person
correlation ``rho`` between two time points (**assumed**, per trial, declared with its source or
the default), ``rho_outcomes`` between two outcomes. For the standardised mean difference the
estimated SDs are correlated too, which adds (Gleser & Olkin 2009, eq. 19.19, for SDs pooled per
comparison; Wei & Higgins 2013, eq. 7, for two time points)

.. math:: d_i d_j\, r^2 \sum_{\text{shared arms}} m / (2 N_i N_j), \qquad N = n_1 + n_2,

so that with ``i = j`` both formulas give back the usual variances (``1/n_1 + 1/n_2 + d^2/(2N)``).
An estimate whose arm-level data are not reported (a contrast with its CI, an SMD from a p-value)
has its variance split between the arms in proportion to ``1/n`` (equal SDs); a covariance that
relies on that split is **assumed**. Estimates of different trials, or of comparisons of one trial
that share no arm, are independent (covariance 0, **exact**).

The matrix is checked for positive definiteness block by block; ``on_not_pd="repair"`` replaces a
failing block's correlation matrix by the nearest one with eigenvalues at least ``1e-6`` (clipping
eigenvalues, then rescaling to a unit diagonal: Higham 1988/2002) keeping every variance, and tags
the changed covariances **repaired**.

References
----------
* Gleser LJ, Olkin I (2009). Stochastically dependent effect sizes. In Cooper H, Hedges LV,
  Valentine JC (eds), The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 19,
  pp. 357-376 (multiple-treatment studies: eqs. 19.15-19.19).
* Wei Y, Higgins JPT (2013). Estimating within-study covariances in multivariate meta-analysis with
  multiple outcomes. Stat Med 32:1191-1205.
* Higham NJ (2002). Computing the nearest correlation matrix - a problem from finance. IMA J Numer
  Anal 22:329-343.
* Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023), section 23.3.4
  (multi-arm studies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError

__all__ = ["DEFAULT_RHO", "DEFAULT_RHO_SOURCE", "TAGS", "WithinTrialCov", "within_trial_cov"]

#: the default within-person correlation between two follow-ups of a trial, used when the data
#: declare none; an assumption, to be varied (0 to 0.9) in a sensitivity analysis
DEFAULT_RHO = 0.5
DEFAULT_RHO_SOURCE = (
    "assumed (no trial in the data reports the correlation of its participants' scores between "
    "follow-ups); vary it in a sensitivity analysis")
TAGS = ("exact", "assumed", "repaired")
_STUDY, _COMP = "study_id", "comparison_id"


@dataclass
class WithinTrialCov:
    """The sampling covariance of a set of effect estimates (:func:`within_trial_cov`).

    Attributes
    ----------
    matrix : ndarray (k, k)
        V, in the order of the input rows.
    tags : ndarray of str (k, k)
        ``exact``, ``assumed`` or ``repaired`` for every element (the diagonal and covariances
        between independent estimates are ``exact``).
    index : pandas.Index
        The input's index (row labels).
    rho : DataFrame
        Per trial: the within-person correlation used (``rho``) and where it comes from
        (``source``); NaN for trials with one time point.
    blocks : list of ndarray
        The positions of each trial's rows.
    notes : list of str
        What was assumed or repaired.
    """

    matrix: np.ndarray
    tags: np.ndarray
    index: pd.Index
    rho: pd.DataFrame
    blocks: list
    notes: list = field(default_factory=list)

    def __array__(self, dtype=None, copy=None):
        return self.matrix if dtype is None else self.matrix.astype(dtype)

    @property
    def shape(self):
        return self.matrix.shape

    def to_frame(self) -> pd.DataFrame:
        """The non-zero covariances of every trial (upper triangle and diagonal) as rows:
        ``row_i, row_j`` (index labels), ``cov``, ``corr``, ``tag``."""
        rows = []
        V, T = self.matrix, self.tags
        d = np.sqrt(np.diag(V))
        for blk in self.blocks:
            for a in range(len(blk)):
                for b in range(a, len(blk)):
                    i, j = blk[a], blk[b]
                    rows.append({"row_i": self.index[i], "row_j": self.index[j], "cov": V[i, j],
                                 "corr": V[i, j] / (d[i] * d[j]), "tag": T[i, j]})
        return pd.DataFrame(rows, columns=["row_i", "row_j", "cov", "corr", "tag"])

    def tag_counts(self) -> dict:
        """How many elements of the trials' blocks (upper triangle with the diagonal) carry each tag."""
        counts = dict.fromkeys(TAGS, 0)
        for blk in self.blocks:
            sub = self.tags[np.ix_(blk, blk)][np.triu_indices(len(blk))]
            for t in TAGS:
                counts[t] += int(np.sum(sub == t))
        return counts


# ----------------------------------------------------------------------------- helpers
def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), "", dtype=object)
    s = df[col].astype(object)
    return s.where(s.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _where(df, pos) -> str:
    lab = df.index[pos]
    sid = df[_STUDY].iloc[pos] if _STUDY in df.columns else ""
    return f"{sid} (row {lab})"


def _rho_table(rho, correlations):
    """The default (rho, source) and the declared ones: {(study_id, outcome or ""): (rho, source)}."""
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating)) or not -1 < float(rho) < 1:
        raise ArgumentError(f"rho: expected a correlation in (-1, 1), got {rho!r}")
    default = (float(rho), DEFAULT_RHO_SOURCE if float(rho) == DEFAULT_RHO
               else f"assumed rho = {float(rho):g} (sensitivity analysis)")
    declared = {}
    if correlations is None:
        return default, declared
    if isinstance(correlations, dict):
        items = [(s, "", v, "given in correlations=") for s, v in correlations.items()]
    elif isinstance(correlations, pd.DataFrame):
        need = {"study_id", "rho"}
        if not need <= set(correlations.columns):
            raise ArgumentError(f"correlations: needs columns {sorted(need)}; got {list(correlations.columns)}")
        n = len(correlations)
        src = correlations["source"] if "source" in correlations.columns else pd.Series([""] * n, index=correlations.index)
        out = correlations["outcome"] if "outcome" in correlations.columns else pd.Series([""] * n, index=correlations.index)
        items = list(zip(correlations["study_id"], out.fillna("").astype(str), correlations["rho"], src.fillna("")))
    else:
        raise ArgumentError("correlations: expected a dict {study_id: rho} or a DataFrame with study_id, rho, source")
    for s, o, v, src in items:
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ArgumentError(f"correlations: rho of {s!r} is not a number ({v!r})") from None
        if not -1 < v < 1:
            raise ArgumentError(f"correlations: rho of {s!r} must be in (-1, 1), got {v!r}")
        declared[(str(s), str(o).strip())] = (v, f"declared: {src}" if src else "declared")
    return default, declared


def _arm_parts(df: pd.DataFrame):
    """Per row and arm: the arm's share of the variance ``a`` on the estimate's scale, whether it
    comes from the arm's own data (True) or from splitting vi by 1/n (False), and the arm size."""
    from trialsynth.effects.records import _arm_sd

    k = len(df)
    measure = _text(df, "measure")
    shape = _text(df, "data_shape")
    vi = _num(df, "vi")
    n = {a: _num(df, "n" + a) for a in ("1", "2")}
    split = {a: vi * (1 / n[a]) / (1 / n["1"] + 1 / n["2"]) for a in ("1", "2")}
    parts = {a: split[a].copy() for a in ("1", "2")}
    own = {a: np.zeros(k, dtype=bool) for a in ("1", "2")}
    cols = ("n1", "n2", "sd1", "sd2", "se1", "se2", "ci_low1", "ci_high1", "ci_low2", "ci_high2")
    num = {c: _num(df, c) for c in cols}
    cont = (shape == "arm_continuous") & (measure == "MD")
    if cont.any():
        for a in ("1", "2"):
            sd, _ = _arm_sd(cont, num, a)
            ok = cont & np.isfinite(sd)
            parts[a][ok] = sd[ok] ** 2 / n[a][ok]
            own[a][ok] = True
    binary = (shape == "arm_binary") & np.isin(measure, ("RR", "OR", "RD"))
    if binary.any():
        e1, e2 = _num(df, "events1"), _num(df, "events2")
        zero = (e1 == 0) | (e2 == 0) | (e1 == n["1"]) | (e2 == n["2"])
        plus = np.where(zero, 0.5, 0.0)
        for a, e in (("1", e1), ("2", e2)):
            x = e + plus
            m = n[a] + 2 * plus
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.select([measure == "RR", measure == "OR"], [1 / x - 1 / m, 1 / x + 1 / (m - x)],
                                  default=(x / m) * (1 - x / m) / m)
            parts[a][binary] = share[binary]
            own[a][binary] = True
    smd = measure == "SMD"
    for a in ("1", "2"):  # the SMD's mean part is 1/n per arm whatever the data shape
        own[a][smd] = True
    return parts, own, n


# ----------------------------------------------------------------------------- the matrix
def within_trial_cov(effects: pd.DataFrame, *, rho: float = DEFAULT_RHO, correlations=None,
                     rho_outcomes: float | None = None, time: str = "timepoint_weeks",
                     on_not_pd: str = "raise", min_eigenvalue: float = 1e-6) -> WithinTrialCov:
    r"""The sampling covariance matrix V of a set of effect estimates (module docstring).

    Parameters
    ----------
    effects : DataFrame
        Rows with effect sizes, as :func:`trialsynth.effects.records.effects_from_trials` returns
        them: ``study_id, comparison_id, outcome, yi, vi, measure, n1, n2`` and the time column;
        ``shared_arm``/``shared_arm_id`` (data/README.md) mark an arm that is also an arm of
        another comparison of the study; the arm-level columns (``sd1``, ``events1``, ...) give
        exact arm variances where present.
    rho : float, default 0.5
        The within-person correlation between two time points of a trial when ``correlations``
        declares none (an assumption: vary it).
    correlations : dict or DataFrame, optional
        Per trial ``{study_id: rho}``, or a frame with ``study_id, rho`` and ``source`` (e.g.
        ``data/correlations.csv`` through :func:`trialsynth.data.correlations.load_correlations`).
    rho_outcomes : float, optional
        The correlation between two outcomes (or scales) measured on the same participants; needed
        when a trial has rows of several outcomes.
    time : str, default "timepoint_weeks"
        The column that says when an estimate was measured.
    on_not_pd : {"raise", "repair"}
        What to do with a trial whose block is not positive definite.

    Returns
    -------
    WithinTrialCov
        ``matrix`` (V), ``tags`` (exact / assumed / repaired per element), ``rho`` per trial with
        its source, ``blocks``, ``notes``.

    Raises
    ------
    trialsynth.errors.ArgumentError
        Missing columns; rows without ``vi`` or with n missing where a covariance needs it;
        several outcomes in a trial without ``rho_outcomes``; a block that is not positive
        definite with ``on_not_pd="raise"`` (naming the trial and rows).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"study_id": ["A", "A"], "comparison_id": ["c", "c"], "outcome": ["pain"] * 2,
    ...                      "timepoint_weeks": [6, 26], "measure": ["SMD"] * 2, "yi": [-0.4, -0.2],
    ...                      "vi": [0.04, 0.04], "n1": [50, 50], "n2": [50, 50]})
    >>> cov = within_trial_cov(rows, rho=0.5)
    >>> round(float(cov.matrix[0, 1]), 5), cov.tags[0, 1]
    (0.0201, 'assumed')
    """
    if not isinstance(effects, pd.DataFrame):
        raise ArgumentError(f"effects: expected a DataFrame, got {type(effects).__name__}")
    need = [_STUDY, _COMP, "yi", "vi", "measure", time]
    missing = [c for c in need if c not in effects.columns]
    if missing:
        raise ArgumentError(f"effects: missing column(s) {missing} (see data/README.md and effects_from_trials)")
    if on_not_pd not in ("raise", "repair"):
        raise ArgumentError(f"on_not_pd: expected 'raise' or 'repair', got {on_not_pd!r}")
    if rho_outcomes is not None and not -1 < float(rho_outcomes) < 1:
        raise ArgumentError(f"rho_outcomes: expected a correlation in (-1, 1), got {rho_outcomes!r}")
    df = effects
    k = len(df)
    vi = _num(df, "vi")
    bad = np.flatnonzero(~(np.isfinite(vi) & (vi > 0)) | ~np.isfinite(_num(df, "yi")))
    if bad.size:
        raise ArgumentError(f"effects: row {_where(df, bad[0])} has no usable yi/vi; drop unusable rows first")
    study = _text(df, _STUDY)
    comp = _text(df, _COMP)
    outcome = _text(df, "outcome") + "/" + _text(df, "scale")
    when = _num(df, time)
    if np.any(~np.isfinite(when)):
        bad = np.flatnonzero(~np.isfinite(when))[0]
        raise ArgumentError(f"effects: row {_where(df, bad)} has no {time}")
    measure = _text(df, "measure")
    yi = _num(df, "yi")
    shared_arm = _text(df, "shared_arm")
    shared_id = _text(df, "shared_arm_id")
    parts, own, n = _arm_parts(df)
    N = n["1"] + n["2"]
    studies = list(dict.fromkeys(study.tolist()))
    default_rho, declared = _rho_table(rho, correlations)
    outcome_only = _text(df, "outcome")

    V = np.diag(vi.astype(float))
    tags = np.full((k, k), "exact", dtype=object)
    notes = []
    blocks = []
    rho_rows = []
    for s in studies:
        blk = np.flatnonzero(study == s)
        blocks.append(blk)
        outs = set(outcome_only[blk].tolist())
        key = (s, next(iter(outs))) if len(outs) == 1 else None
        r_time, r_src = declared.get(key) or declared.get((s, "")) or default_rho
        has_times = np.unique(when[blk]).size > 1
        rho_rows.append({"study_id": s, "rho": r_time if has_times else math.nan,
                         "source": r_src if has_times else "one time point"})
        if blk.size < 2:
            continue
        if rho_outcomes is None and np.unique(outcome[blk]).size > 1:
            raise ArgumentError(f"effects: trial {s} has rows of several outcomes/scales "
                                f"({sorted(set(outcome[blk].tolist()))}); give rho_outcomes or pool one outcome at a time")
        if np.unique(measure[blk]).size > 1:
            raise ArgumentError(f"effects: trial {s} mixes measures ({sorted(set(measure[blk].tolist()))})")
        for a_pos in range(blk.size):
            for b_pos in range(a_pos + 1, blk.size):
                i, j = blk[a_pos], blk[b_pos]
                cov, tag = _pair(i, j, comp, shared_arm, shared_id, parts, own, n, N, yi, measure, when, outcome,
                                 r_time, rho_outcomes, s)
                if tag is None:
                    continue
                if not np.isfinite(cov):
                    raise ArgumentError(f"effects: the covariance of rows {_where(df, i)} and {_where(df, j)} "
                                        "needs both arms' sizes (n1, n2)")
                V[i, j] = V[j, i] = cov
                tags[i, j] = tags[j, i] = tag
        sub = V[np.ix_(blk, blk)]
        w = np.linalg.eigvalsh(sub / np.sqrt(np.outer(np.diag(sub), np.diag(sub))))
        if w.min() < min_eigenvalue:
            labels = [str(df.index[p]) for p in blk]
            if on_not_pd == "raise":
                raise ArgumentError(
                    f"within_trial_cov: the covariance block of trial {s} (rows {labels}) is not positive definite "
                    f"(smallest eigenvalue of its correlation matrix {w.min():.3g}); lower rho or use on_not_pd='repair'")
            fixed = _nearest_pd(sub, min_eigenvalue)
            changed = ~np.isclose(fixed, sub, rtol=1e-12, atol=0)
            V[np.ix_(blk, blk)] = fixed
            t = tags[np.ix_(blk, blk)]
            t[changed] = "repaired"
            tags[np.ix_(blk, blk)] = t
            notes.append(f"{s}: covariance block repaired to the nearest positive-definite matrix "
                         f"(smallest eigenvalue was {w.min():.3g}); variances kept")
    assumed = sorted({s for s, blk in zip(studies, blocks) if np.any(tags[np.ix_(blk, blk)] == "assumed")})
    if assumed:
        notes.append(f"assumed covariances (within-person correlation or arm variances split by 1/n) in: {', '.join(assumed)}")
    return WithinTrialCov(matrix=V, tags=tags, index=df.index, rho=pd.DataFrame(rho_rows, columns=["study_id", "rho", "source"]),
                          blocks=blocks, notes=notes)


def _pair(i, j, comp, shared_arm, shared_id, parts, own, n, N, yi, measure, when, outcome, r_time, r_out, study):
    """(covariance, tag) of rows i and j of one trial; (0, None) when they share no arm."""
    arms_i = _physical_arms(i, comp, shared_arm, shared_id, study)
    arms_j = _physical_arms(j, comp, shared_arm, shared_id, study)
    shared = [(ai, aj) for ai, pid_i in arms_i.items() for aj, pid_j in arms_j.items() if pid_i == pid_j]
    if not shared:
        return 0.0, None
    same_time = when[i] == when[j]
    same_outcome = outcome[i] == outcome[j]
    r = 1.0
    assumed = False
    if not same_time:
        r *= r_time
        assumed = True
    if not same_outcome:
        r *= float(r_out)
        assumed = True
    cov = 0.0
    m_sum = 0.0
    for ai, aj in shared:
        sign = (1 if ai == "1" else -1) * (1 if aj == "1" else -1)
        ni, nj = n[ai][i], n[aj][j]
        m = min(ni, nj)
        if measure[i] == "SMD":
            cov += sign * r * m / (ni * nj)
        else:
            cov += sign * r * math.sqrt(parts[ai][i] * parts[aj][j]) * m / math.sqrt(ni * nj)
        m_sum += m
        if not (own[ai][i] and own[aj][j]):
            assumed = True
    if measure[i] == "SMD":
        cov += yi[i] * yi[j] * r * r * m_sum / (2 * N[i] * N[j])
    return float(cov), ("assumed" if assumed else "exact")


def _physical_arms(i, comp, shared_arm, shared_id, study) -> dict:
    """Arm ("1"/"2") -> the physical arm's name: the shared arm's id, else study/comparison/arm."""
    out = {a: f"{study}/{comp[i]}/arm{a}" for a in ("1", "2")}
    if shared_arm[i] in ("arm1", "arm2") and shared_id[i]:
        out[shared_arm[i][-1]] = shared_id[i]
    return out


def _nearest_pd(block: np.ndarray, min_eigenvalue: float) -> np.ndarray:
    """The covariance with the block's variances whose correlation matrix is the nearest (after
    clipping eigenvalues at ``min_eigenvalue`` and rescaling to a unit diagonal) to the block's."""
    d = np.sqrt(np.diag(block))
    R = block / np.outer(d, d)
    for _ in range(100):
        w, Q = np.linalg.eigh(R)
        if w.min() >= min_eigenvalue * 0.999:
            break
        R = (Q * np.maximum(w, min_eigenvalue)) @ Q.T
        s = np.sqrt(np.diag(R))
        R = R / np.outer(s, s)
    return R * np.outer(d, d)
