"""Is more research needed? The required (optimal) information size of a meta-analysis.

The required information size (RIS) is the number of participants a meta-analysis needs to
detect a minimal important difference with type I error ``alpha`` and the given power: the
sample size of one adequately powered trial (GRADE's optimal information size criterion, Guyatt
GH et al. GRADE guidelines 6. J Clin Epidemiol 2011;64:1283-1293, section 6.4), enlarged for the
between-trial heterogeneity of a random-effects meta-analysis by the diversity ``D2`` (Wetterslev
J, Thorlund K, Brok J, Gluud C. Estimating required information size by quantifying diversity in
random-effects model meta-analyses. BMC Med Res Methodol 2009;9:86)::

    RIS       = 4 (z_{1-alpha/2} + z_{1-beta})^2 nu / delta^2      (two equal arms, in total)
    RIS_D2    = RIS / (1 - D2),   D2 = (V_R - V_F) / V_R

with ``nu = sd^2`` and ``delta`` the MID for a continuous outcome (``sd = 1`` on the SMD scale),
and ``nu = p (1 - p)``, ``p = (p_C + p_E) / 2``, ``delta = p_C - p_E`` for a binary outcome with
control risk ``p_C`` and ``p_E = p_C (1 + relative change)`` (Wetterslev et al. 2008, J Clin
Epidemiol 61:64-75; the TSA manual, Thorlund et al. 2011). ``V_F`` and ``V_R`` are the variances
of the pooled estimate under the common-effect and the random-effects model. The required size is
rounded up once, at the end (the TSA manual's worked example: 5217.3 -> 5218).

:func:`assess_cells` applies this to every pooled cell and runs the trial sequential analysis of
:mod:`trialsynth.diagnostics.sequential` against it (a sensitivity analysis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.pooling.grouped import split_study_ids

__all__ = [
    "InformationSize", "ris_continuous", "ris_binary", "diversity", "information_size", "research_status", "assess_cells",
    "INFORMATION_COLUMNS", "RIS_SOURCE", "SETTLED",
]

RIS_SOURCE = ("required information size: 4 (z\u2081\u208b\u2090\u2082 + z\u2081\u208b\u1d66)\u00b2 \u03bd / \u03b4\u00b2 "
              "for two equal arms (Wetterslev et al. 2008, J Clin Epidemiol 61:64-75), divided by 1 - D\u00b2 "
              "(Wetterslev et al. 2009, BMC Med Res Methodol 9:86); GRADE's optimal information size criterion "
              "(Guyatt et al. 2011, J Clin Epidemiol 64:1283-1293)")

_z = NormalDist().inv_cdf


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _check_error_rates(alpha, power) -> tuple[float, float]:
    if not (_finite(alpha) and 0 < float(alpha) < 1):
        raise ArgumentError(f"alpha: expected a number strictly between 0 and 1, got {alpha!r}")
    if not (_finite(power) and 0 < float(power) < 1):
        raise ArgumentError(f"power: expected a number strictly between 0 and 1, got {power!r}")
    return float(alpha), float(power)


def ris_continuous(mid: float, sd: float = 1.0, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Participants (both arms) to detect a mean difference ``mid`` with outcome SD ``sd``:
    ``4 (z_{1-alpha/2} + z_{power})^2 sd^2 / mid^2`` (unrounded). On the SMD scale ``sd = 1``.

    >>> round(ris_continuous(0.5), 2)
    125.58
    """
    a, p = _check_error_rates(alpha, power)
    if not (_finite(mid) and float(mid) > 0):
        raise ArgumentError(f"mid: expected a positive minimal important difference, got {mid!r}")
    if not (_finite(sd) and float(sd) > 0):
        raise ArgumentError(f"sd: expected a positive standard deviation, got {sd!r}")
    return 4.0 * (_z(1 - a / 2) + _z(p)) ** 2 * float(sd) ** 2 / float(mid) ** 2


def ris_binary(control_risk: float, relative_change: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Participants (both arms) to detect a relative change of a risk: ``p_E = p_C (1 + change)``,
    ``4 (z_{1-alpha/2} + z_{power})^2 p (1 - p) / (p_C - p_E)^2`` with ``p = (p_C + p_E) / 2``
    (unrounded; Wetterslev et al. 2008). A negative ``relative_change`` is a risk reduction.

    The TSA manual's worked example (control risk 14%, a 20% relative increase, alpha 5%, power
    80%) gives 5217.3, i.e. 5218 participants:

    >>> math.ceil(ris_binary(0.14, 0.20))
    5218
    """
    a, p = _check_error_rates(alpha, power)
    if not (_finite(control_risk) and 0 < float(control_risk) < 1):
        raise ArgumentError(f"control_risk: expected a proportion strictly between 0 and 1, got {control_risk!r}")
    if not (_finite(relative_change) and float(relative_change) != 0 and float(relative_change) > -1):
        raise ArgumentError(f"relative_change: expected a non-zero number above -1, got {relative_change!r}")
    pc = float(control_risk)
    pe = pc * (1 + float(relative_change))
    if not 0 < pe < 1:
        raise ArgumentError(f"relative_change: {relative_change!r} takes the control risk {pc:g} to {pe:g}, outside (0, 1)")
    pbar = (pc + pe) / 2
    return 4.0 * (_z(1 - a / 2) + _z(p)) ** 2 * pbar * (1 - pbar) / (pc - pe) ** 2


def diversity(vi, tau2: float) -> float:
    """The diversity ``D2 = (V_R - V_F) / V_R`` of a meta-analysis (Wetterslev et al. 2009,
    equation in section "Diversity"): ``V_F = 1 / sum(1 / v_i)`` and ``V_R = 1 / sum(1 / (v_i +
    tau2))`` are the variances of the common-effect and random-effects pooled estimates. 0 when
    ``tau2 = 0`` or there is one trial; always at least I2 / 100 (Wetterslev et al. 2009)."""
    v = np.asarray(vi, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ArgumentError("vi: expected positive finite sampling variances")
    if not (_finite(tau2) and float(tau2) >= 0):
        raise ArgumentError(f"tau2: expected a between-trial variance >= 0, got {tau2!r}")
    if v.size == 1 or float(tau2) == 0:
        return 0.0
    v_fixed = 1.0 / np.sum(1.0 / v)
    v_random = 1.0 / np.sum(1.0 / (v + float(tau2)))
    return float((v_random - v_fixed) / v_random)


@dataclass(frozen=True)
class InformationSize:
    """A required information size and what it rests on.

    ``unadjusted`` is the single-trial sample size (unrounded), ``adjusted`` that size divided by
    ``1 - diversity``; ``required`` is ``adjusted`` rounded up. ``accrued`` (optional) is the
    number of participants the meta-analysis holds.
    """

    kind: str  # "continuous" or "binary"
    unadjusted: float
    diversity: float
    alpha: float
    power: float
    mid: float | None = None
    sd: float | None = None
    control_risk: float | None = None
    relative_change: float | None = None
    accrued: float | None = None

    @property
    def adjusted(self) -> float:
        return self.unadjusted / (1.0 - self.diversity)

    @property
    def required(self) -> int:
        return int(math.ceil(self.adjusted - 1e-9))

    @property
    def fraction(self) -> float:
        return float(self.accrued) / self.required if _finite(self.accrued) else math.nan

    @property
    def reached(self) -> bool:
        return _finite(self.accrued) and float(self.accrued) >= self.required

    @property
    def remaining(self) -> int | None:
        return max(0, int(math.ceil(self.required - float(self.accrued)))) if _finite(self.accrued) else None

    def basis(self) -> str:
        """What the size detects, in words: "MID 0.5 SD (SD 1)", "a 25% relative increase of a control risk of 22.6%"."""
        if self.kind == "binary":
            word = "increase" if (self.relative_change or 0) > 0 else "reduction"
            return f"a {abs(self.relative_change or 0):.0%} relative {word} of a control risk of {self.control_risk:.1%}"
        return f"MID {self.mid:g} SD" if self.sd == 1 else f"MID {self.mid:g} with SD {self.sd:g}"

    def describe(self) -> str:
        """"RIS 252: MID 0.5 SD, alpha 5%, power 80%, D2 50%"."""
        return (f"RIS {self.required:,}: {self.basis()}, alpha {self.alpha:.0%}, power {self.power:.0%}, "
                f"D\u00b2 {self.diversity:.0%}")


def information_size(kind: str, *, mid: float | None = None, sd: float = 1.0, control_risk: float | None = None,
                     relative_change: float | None = None, alpha: float = 0.05, power: float = 0.8,
                     diversity: float = 0.0, accrued: float | None = None) -> InformationSize:
    """The required information size of a ``continuous`` outcome (``mid``, ``sd``) or a ``binary``
    one (``control_risk``, ``relative_change``), adjusted for ``diversity`` (D2, 0 <= D2 < 1).

    >>> information_size("binary", control_risk=0.14, relative_change=0.20).required
    5218
    >>> information_size("continuous", mid=0.5, diversity=0.5).describe()
    'RIS 252: MID 0.5 SD, alpha 5%, power 80%, D\u00b2 50%'
    """
    if not (_finite(diversity) and 0 <= float(diversity) < 1):
        raise ArgumentError(f"diversity: expected D2 in [0, 1), got {diversity!r}")
    if kind == "continuous":
        base = ris_continuous(mid, sd, alpha=alpha, power=power)
        return InformationSize("continuous", base, float(diversity), float(alpha), float(power), mid=float(mid), sd=float(sd),
                               accrued=accrued)
    if kind == "binary":
        base = ris_binary(control_risk, relative_change, alpha=alpha, power=power)
        return InformationSize("binary", base, float(diversity), float(alpha), float(power), control_risk=float(control_risk),
                               relative_change=float(relative_change), accrued=accrued)
    raise ArgumentError(f"kind: expected 'continuous' or 'binary', got {kind!r}")


# ------------------------------------------------------------------------ every pooled cell

#: the columns of :func:`assess_cells` after the cell's own key columns
INFORMATION_COLUMNS = [
    "measure", "k", "participants", "basis", "diversity", "ris_unadjusted", "ris", "ris_power90", "fraction", "reached",
    "remaining", "tsa_status", "tsa_z", "tsa_boundary", "tsa_summary", "more_research", "settled", "more_research_text",
]

#: what the information size, the boundaries and the pooled CI say together, per cell
FIRM_IMPORTANT = "firm evidence of an important benefit"
FIRM_SMALL = "firm evidence of a benefit smaller than the MID"
FIRM_HARM = "firm evidence of harm"
FIRM_NO_IMPORTANT = "firm evidence of no important effect"
OPEN_INFORMATION = "more trials needed: the required information size is not reached"
OPEN_MID = "more trials needed: the CI still spans the MID"
OPEN_NULL = "more trials needed: the pooled CI includes no effect"
NOT_ASSESSABLE = "not assessable"
SETTLED = (FIRM_IMPORTANT, FIRM_SMALL, FIRM_HARM, FIRM_NO_IMPORTANT)


def research_status(tsa_status: str, ci_low, ci_high, *, mid: float, harm_mid: float | None = None,
                    benefit_sign: int = -1) -> str:
    """Is the cell's question settled? The trial sequential analysis and the main analysis' CI together.

    A sequential test (:mod:`trialsynth.diagnostics.sequential`) says whether the accrued
    information rejects "no effect" (a boundary crossed) or suffices to detect the MID (the
    required information size reached without a crossing). The question a reader asks is
    answered against the MID, so a cell is settled only when the pooled CI of the main analysis
    also decides it (the GRADE imprecision criteria, Guyatt 2011):

    * benefit boundary crossed and the CI excludes no effect: an *important benefit* when the
      whole CI lies beyond the MID, a *benefit smaller than the MID* when it lies below it, else
      open (the CI spans the MID);
    * harm boundary crossed and the CI excludes no effect on the harm side: *harm*;
    * information size reached without a crossing: *no important effect* when the CI lies
      between -MID and +MID, else open;
    * a crossing whose main CI (e.g. Hartung-Knapp with few trials) still includes no effect,
      or an inconclusive sequential test: open.

    ``ci_low``/``ci_high`` are on the analysis scale; ``benefit_sign`` -1 when negative favours
    the intervention; ``harm_mid`` defaults to ``mid``.
    """
    from trialsynth.diagnostics import sequential as S

    harm = mid if harm_mid is None else harm_mid
    if tsa_status == S.INCONCLUSIVE:
        return OPEN_INFORMATION
    if not (_finite(ci_low) and _finite(ci_high)):
        return NOT_ASSESSABLE
    lo, hi = sorted((benefit_sign * float(ci_low), benefit_sign * float(ci_high)))  # benefit-positive
    if tsa_status == S.BENEFIT_CROSSED:
        if lo <= 0:
            return OPEN_NULL
        return FIRM_IMPORTANT if lo >= mid else (FIRM_SMALL if hi < mid else OPEN_MID)
    if tsa_status == S.HARM_CROSSED:
        return FIRM_HARM if hi < 0 else OPEN_NULL
    if tsa_status == S.FUTILE:
        return FIRM_NO_IMPORTANT if (lo > -harm and hi < mid) else OPEN_MID
    return NOT_ASSESSABLE


def _cell_rows(studies: pd.DataFrame | None, rec: Mapping, keys: Sequence[str]) -> pd.DataFrame:
    """The cell's trial rows (:func:`trialsynth.grade.sof._group_studies`) in the order of its
    ``study_ids``, which is the order of the pooled result's ``yi``."""
    from trialsynth.grade.sof import _group_studies

    ids = split_study_ids(rec.get("study_ids"))
    m = _group_studies(studies, rec, ids, columns=keys)
    name = "label" if "label" in m.columns else "study_id"
    if ids and name in m.columns:
        present = set(m[name].astype(str))
        m = m.set_index(m[name].astype(str)).loc[[i for i in ids if i in present]]
    return m


def _control_risk(rows: pd.DataFrame) -> float | None:
    """The comparator arms' pooled risk (sum of events / sum of participants), as the TSA manual
    suggests when no external estimate is given."""
    if not {"events2", "n2"} <= set(rows.columns) or len(rows) == 0:
        return None
    ev = pd.to_numeric(rows["events2"], errors="coerce")
    nn = pd.to_numeric(rows["n2"], errors="coerce")
    ok = ev.notna() & nn.notna() & (nn > 0)
    if not ok.any():
        return None
    risk = float(ev[ok].sum() / nn[ok].sum())
    return risk if 0 < risk < 1 else None


def assess_cells(pooled: pd.DataFrame, results: Mapping, studies: pd.DataFrame | None, *, key_columns: Sequence[str],
                 mid: float = 0.5, ratio_change: float = 0.25, alpha: float = 0.05, power: float = 0.8,
                 order_column: str = "year") -> tuple[pd.DataFrame, dict]:
    """The required information size and the trial sequential analysis of every pooled cell.

    Parameters
    ----------
    pooled : DataFrame
        The pooled cells (``GroupedResults.to_frame()`` plus ``effect_class``), one row per cell.
    results : mapping
        Cell key tuple (in ``key_columns`` order) -> :class:`trialsynth.MetaResult`.
    studies : DataFrame
        The rows that entered the pools (``study_id``, the key columns, ``n1``, ``n2``,
        ``events2``, ``year``).
    key_columns : sequence of str
        The pooled frame's own key columns (outcome, comparator class, window, ...).
    mid : float
        The MID on the SMD scale (ratios: a ``ratio_change`` relative change of the comparator
        arms' pooled risk, in the direction of benefit; GRADE's 25%).
    alpha, power : float
        Error rates of the required information size; the table also gives it at power 0.90.

    Returns
    -------
    (DataFrame, dict)
        One row per cell (the key columns, then :data:`INFORMATION_COLUMNS`) and cell key ->
        :class:`trialsynth.diagnostics.sequential.SequentialAnalysis` (for the plots).
    """
    from trialsynth.claims.effects import benefit_sign, ratio_harm, ratio_mid
    from trialsynth.diagnostics import sequential as S
    from trialsynth.effects.scales import format_effect, is_ratio

    keys = list(key_columns)
    rows, analyses = [], {}
    for rec in (pooled.to_dict("records") if pooled is not None else []):
        key = tuple(rec.get(c) for c in keys)
        res = results.get(tuple(str(k) for k in key), results.get(key))
        measure = str(rec.get("measure") or "SMD")
        sign = benefit_sign(measure)
        grp = _cell_rows(studies, rec, keys)
        out = {c: rec.get(c) for c in keys}
        out.update({"measure": measure, "k": rec.get("k"), "participants": math.nan, "basis": "", "diversity": math.nan,
                    "ris_unadjusted": math.nan, "ris": math.nan, "ris_power90": math.nan, "fraction": math.nan,
                    "reached": False, "remaining": math.nan, "tsa_status": "", "tsa_z": math.nan, "tsa_boundary": math.nan,
                    "tsa_summary": "", "more_research": NOT_ASSESSABLE, "settled": False, "more_research_text": ""})
        n = None
        if {"n1", "n2"} <= set(grp.columns) and len(grp) and res is not None and len(grp) == int(res.k):
            nn = pd.to_numeric(grp["n1"], errors="coerce") + pd.to_numeric(grp["n2"], errors="coerce")
            n = nn.to_numpy(dtype=float) if nn.notna().all() else None
        if res is None or n is None:
            out["more_research_text"] = "participants per trial not known for every trial of the cell"
            rows.append(out)
            continue
        d2 = diversity(res.vi, res.tau2) if int(res.k) > 1 else 0.0
        try:
            if is_ratio(measure):
                risk = _control_risk(grp)
                if risk is None:
                    raise ArgumentError("no comparator-arm event counts to set the control risk")
                change = ratio_change if sign > 0 else -ratio_change
                size = information_size("binary", control_risk=risk, relative_change=change, alpha=alpha, power=power,
                                        diversity=d2, accrued=float(n.sum()))
                size90 = information_size("binary", control_risk=risk, relative_change=change, alpha=alpha, power=0.9,
                                          diversity=d2)
            elif measure.upper() == "SMD":
                size = information_size("continuous", mid=mid, sd=1.0, alpha=alpha, power=power, diversity=d2,
                                        accrued=float(n.sum()))
                size90 = information_size("continuous", mid=mid, sd=1.0, alpha=alpha, power=0.9, diversity=d2)
            else:
                raise ArgumentError(f"no MID and outcome SD for the measure {measure}")
        except ArgumentError as exc:
            out["more_research_text"] = f"information size not computable: {exc}"
            rows.append(out)
            continue
        order = pd.to_numeric(grp[order_column], errors="coerce").fillna(9999).to_numpy() if order_column in grp.columns else None
        labels = [str(x) for x in (res.labels or grp.get("study_id", pd.Series(range(len(n)))))]
        tsa = S.sequential_analysis(res.yi, res.vi, n, required=size.required, labels=labels, order=order,
                                    method=res.method, alpha=alpha, benefit_sign=sign)
        analyses[key] = tsa
        if is_ratio(measure):
            cell_mid, cell_harm = ratio_mid(sign), ratio_harm(sign)
        else:
            cell_mid = cell_harm = mid
        verdict = research_status(tsa.status, rec.get("ci_low"), rec.get("ci_high"), mid=cell_mid, harm_mid=cell_harm,
                                  benefit_sign=sign)
        ci = format_effect(measure, rec.get("estimate"), rec.get("ci_low"), rec.get("ci_high"))
        text = f"{ci}; {float(n.sum()):,.0f} participants of the {size.describe()}"
        if verdict == OPEN_INFORMATION:
            text += f"; about {size.remaining:,} more participants needed"
        out.update({"participants": float(n.sum()), "basis": size.basis(), "diversity": d2, "ris_unadjusted": size.unadjusted,
                    "ris": size.required, "ris_power90": size90.required, "fraction": size.fraction, "reached": size.reached,
                    "remaining": size.remaining, "tsa_status": tsa.status, "tsa_z": tsa.z, "tsa_boundary": tsa.boundary,
                    "tsa_summary": tsa.summary(), "more_research": verdict, "settled": verdict in SETTLED,
                    "more_research_text": text})
        rows.append(out)
    return pd.DataFrame(rows, columns=[*keys, *INFORMATION_COLUMNS]), analyses
