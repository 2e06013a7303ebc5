"""Trial sequential analysis: alpha-spending monitoring boundaries over the cumulative z-curve.

A cumulative meta-analysis tests again each time a trial is added; a fixed 1.96 then spends far
more than the nominal 5% (Armitage, McPherson & Rowe 1969, J R Stat Soc A 132:235-244). Trial
sequential analysis (Wetterslev, Thorlund, Brok & Gluud 2008, J Clin Epidemiol 61:64-75; the TSA
manual, Thorlund et al. 2011, Copenhagen Trial Unit) treats every trial as an interim look of a
group-sequential test whose maximum information is the meta-analysis' required information size
(:mod:`trialsynth.grade.information_size`), and compares the cumulative z with boundaries that
spend the type I error as information accrues.

**It is a sensitivity analysis.** The Cochrane Handbook (version 6.4, chapter 22, section 22.3.2)
discourages formal sequential methods for the main analyses of updated Cochrane reviews and for
drawing the main conclusions; this module's results are labelled so wherever they are shown.

Spending convention (pinned)
----------------------------
The Lan-DeMets O'Brien-Fleming-type spending function (Lan KKG, DeMets DL. Discrete sequential
boundaries for clinical trials. Biometrika 1983;70:659-663), two-sided and symmetric, with the
total two-sided ``alpha`` split equally between the two sides and each side spending its
``alpha / 2`` as a one-sided Lan-DeMets O'Brien-Fleming function::

    alpha_side(t) = 2 - 2 Phi(z_{1 - alpha/4} / sqrt(t)),   alpha_total(t) = 2 alpha_side(t)

for information fraction ``0 < t <= 1`` (``alpha_total(1) = alpha``). This is the convention of
the TSA program, of the ld98 programs of Reboussin, DeMets, Kim & Lan (Control Clin Trials
2000;21:190-207) and of Jennison & Turnbull (Group Sequential Methods, 2000, section 7.2). The
other reading, ``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))`` for the two-sided total, gives a first
boundary of 2.77 instead of 2.96 at t = 0.5 with three looks; :data:`SPENDING_CONVENTION` says
which one is used wherever a boundary is printed.

Boundaries are computed by the recursive numerical integration of Armitage, McPherson & Rowe
(1969), in the form of Jennison & Turnbull (2000, chapter 19): the sub-density of the score
statistic ``S_k = Z_k sqrt(t_k)`` on the continuation region is carried from look to look by
Simpson's rule, and each boundary is the root of "probability of first crossing at look k =
alpha spent between looks k - 1 and k".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from trialsynth.errors import ArgumentError

__all__ = [
    "SPENDING_CONVENTION", "SENSITIVITY_NOTE", "SequentialAnalysis", "obrien_fleming_spending", "spending_boundaries",
    "crossing_probabilities", "sequential_analysis",
]

#: the spending convention, in words, for every page that prints a boundary
SPENDING_CONVENTION = (
    "Lan-DeMets O'Brien-Fleming-type alpha spending (Lan & DeMets 1983, Biometrika 70:659-663), two-sided and "
    "symmetric: each side spends alpha/2 as 2 \u2212 2\u03a6(z(1 \u2212 \u03b1/4)/\u221at), as the TSA program "
    "(Thorlund et al. 2011) and Reboussin et al. 2000 (Control Clin Trials 21:190-207) do; boundaries by the recursive "
    "numerical integration of Armitage, McPherson & Rowe (1969)."
)

#: how every trial sequential analysis is labelled (Cochrane Handbook 6.4, chapter 22)
SENSITIVITY_NOTE = (
    "Sensitivity analysis: the Cochrane Handbook (chapter 22, section 22.3.2) discourages formal sequential methods "
    "for the main analyses and conclusions of updated reviews; the main result is the pooled estimate."
)

#: the outcomes of a trial sequential analysis
BENEFIT_CROSSED = "benefit boundary crossed"
HARM_CROSSED = "harm boundary crossed"
FUTILE = "information size reached, no boundary crossed"
INCONCLUSIVE = "inconclusive"
STATUSES = (BENEFIT_CROSSED, HARM_CROSSED, FUTILE, INCONCLUSIVE)

_TAIL_SD = 8.5  # the continuation region of an unbounded look is cut at +-8.5 SD (mass < 1e-16)


def _check_alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ArgumentError(f"alpha: expected a number strictly between 0 and 1, got {alpha!r}") from None
    if not 0 < a < 1:
        raise ArgumentError(f"alpha: expected a number strictly between 0 and 1, got {alpha!r}")
    return a


def _fractions(fractions) -> np.ndarray:
    t = np.atleast_1d(np.asarray(fractions, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ArgumentError("fractions: expected a non-empty sequence of information fractions")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ArgumentError(f"fractions: expected positive finite information fractions, got {list(t)}")
    if np.any(np.diff(t) <= 0):
        raise ArgumentError(f"fractions: expected strictly increasing information fractions, got {list(t)}")
    return t


def obrien_fleming_spending(t, alpha: float = 0.05):
    """The two-sided type I error spent by information fraction ``t`` (see the module docstring):
    ``4 (1 - Phi(z_{1-alpha/4} / sqrt(t)))``, ``alpha`` from ``t = 1`` on, 0 at ``t = 0``.

    >>> round(float(obrien_fleming_spending(1.0)), 10)
    0.05
    >>> float(obrien_fleming_spending(0.5)) < 0.05 / 2
    True
    """
    a = _check_alpha(alpha)
    tt = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(tt)) or np.any(tt < 0):
        raise ArgumentError(f"t: expected information fractions >= 0, got {t!r}")
    z = stats.norm.isf(a / 4)
    with np.errstate(divide="ignore"):
        spent = 4 * special.ndtr(-z / np.sqrt(np.minimum(tt, 1.0)))
    spent = np.where(tt >= 1, a, np.where(tt == 0, 0.0, spent))
    return spent if spent.ndim else float(spent)


def _simpson(a: float, b: float, sd: float, *, min_points: int = 801, max_points: int = 6001):
    """Grid and Simpson weights on [a, b], fine enough for a normal kernel of standard deviation ``sd``."""
    n = int(math.ceil((b - a) / max(sd / 6.0, 1e-9))) + 1
    n = min(max(n, min_points), max_points)
    n += 1 - n % 2  # odd
    x = np.linspace(a, b, n)
    w = np.full(n, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return x, w * (b - a) / (3.0 * (n - 1))


def _convolve(x_new, x_old, w_old, f_old, sd, chunk: int = 400) -> np.ndarray:
    """``f_new(s) = sum_i w_i f_old(u_i) phi((s - u_i) / sd) / sd`` (chunked, to bound memory)."""
    out = np.empty(x_new.size)
    wf = w_old * f_old
    for lo in range(0, x_new.size, chunk):
        d = (x_new[lo:lo + chunk, None] - x_old[None, :]) / sd
        out[lo:lo + chunk] = (np.exp(-0.5 * d * d) @ wf) / (sd * math.sqrt(2 * math.pi))
    return out


def _exit(c: float, t_k: float, sd: float, x, w, f) -> float:
    """Probability of first leaving ``(-c, c)`` (z scale) at look k from the carried sub-density."""
    b = c * math.sqrt(t_k)
    return float(np.sum(w * f * (special.ndtr((-b - x) / sd) + special.ndtr((x - b) / sd))))


def spending_boundaries(fractions: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Two-sided symmetric boundaries ``c_k`` (reject at look k when ``|Z_k| >= c_k``) of the
    pinned Lan-DeMets O'Brien-Fleming spending function at information ``fractions``.

    Parameters
    ----------
    fractions : sequence of float
        Strictly increasing information fractions ``t_k > 0`` (accrued / required information).
        Fractions above 1 are allowed: the spending function is ``alpha`` from ``t = 1`` on, so
        the first look at or beyond 1 spends what is left and any later look spends nothing
        (its boundary is ``inf``).
    alpha : float
        The total two-sided type I error.

    Returns
    -------
    ndarray
        One boundary per look on the z scale; ``inf`` where a look spends no alpha.

    Notes
    -----
    Recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
    chapter 19) with Simpson's rule on the score scale; accurate to about 1e-5 in ``c_k``.
    Four equally spaced looks at alpha 0.05 give 4.333, 2.963, 2.359, 2.014.
    """
    a = _check_alpha(alpha)
    t = _fractions(fractions)
    spent = np.asarray(obrien_fleming_spending(t, a), dtype=float)
    increments = np.diff(np.concatenate([[0.0], spent]))
    bounds = np.empty(t.size)
    # look 1: P(|Z_1| >= c_1) = alpha(t_1)
    bounds[0] = stats.norm.isf(increments[0] / 2) if increments[0] > 0 else math.inf
    sd1 = math.sqrt(t[0])
    half = (bounds[0] * sd1) if math.isfinite(bounds[0]) else _TAIL_SD * sd1
    x, w = _simpson(-half, half, sd1)
    f = stats.norm.pdf(x, scale=sd1)
    for k in range(1, t.size):
        sd = math.sqrt(t[k] - t[k - 1])
        target = increments[k]
        if target <= 0:
            c = math.inf
        else:
            top = _exit(0.0, t[k], sd, x, w, f)  # all the mass still in play
            if target >= top:
                c = 0.0
            else:
                hi = 1.0
                while _exit(hi, t[k], sd, x, w, f) > target and hi < 60:
                    hi *= 2.0
                c = optimize.brentq(lambda cc: _exit(cc, t[k], sd, x, w, f) - target, 0.0, hi, xtol=1e-12, rtol=1e-12)
        bounds[k] = c
        if k == t.size - 1:
            break
        half = c * math.sqrt(t[k]) if math.isfinite(c) else _TAIL_SD * math.sqrt(t[k])
        x_new, w_new = _simpson(-half, half, sd)
        f = _convolve(x_new, x, w, f, sd)
        x, w = x_new, w_new
    return bounds


def crossing_probabilities(boundaries: Sequence[float], fractions: Sequence[float], drift: float = 0.0) -> np.ndarray:
    """The probability of first crossing ``|Z_k| >= c_k`` at each look when the score statistic
    drifts by ``drift`` per unit information (``E S_t = drift t``; 0 under the null).

    The same recursion as :func:`spending_boundaries`, run forwards: under the null the values
    add up to the alpha spent; with a drift they give the power of the sequential design.
    """
    t = _fractions(fractions)
    c = np.asarray(boundaries, dtype=float)
    if c.shape != t.shape:
        raise ArgumentError(f"boundaries: expected {t.size} values (one per look), got {c.size}")
    mu = float(drift)
    out = np.empty(t.size)
    sd1 = math.sqrt(t[0])
    b = c[0] * sd1
    out[0] = special.ndtr((-b - mu * t[0]) / sd1) + special.ndtr((mu * t[0] - b) / sd1) if math.isfinite(b) else 0.0
    half = b if math.isfinite(b) else _TAIL_SD * sd1 + abs(mu) * t[0]
    x, w = _simpson(-half, half, sd1)
    f = stats.norm.pdf(x, loc=mu * t[0], scale=sd1)
    for k in range(1, t.size):
        sd = math.sqrt(t[k] - t[k - 1])
        step = mu * (t[k] - t[k - 1])
        bk = c[k] * math.sqrt(t[k])
        if math.isfinite(bk):
            out[k] = float(np.sum(w * f * (special.ndtr((-bk - x - step) / sd) + special.ndtr((x + step - bk) / sd))))
        else:
            out[k] = 0.0
        if k == t.size - 1:
            break
        half = bk if math.isfinite(bk) else _TAIL_SD * math.sqrt(t[k]) + abs(mu) * t[k]
        x_new, w_new = _simpson(-half, half, sd)
        f = _convolve(x_new - step, x, w, f, sd)
        x, w = x_new, w_new
    return out


@dataclass
class SequentialAnalysis:
    """A trial sequential analysis of one pooled cell (a sensitivity analysis; see
    :data:`SENSITIVITY_NOTE`).

    ``looks`` has one row per trial added, in the order added: ``look``, ``added`` (label),
    ``order_key`` (e.g. the year), ``participants`` (of the trial), ``cumulative_participants``,
    ``fraction`` (of the required information size), ``estimate``, ``se``, ``z`` (oriented so
    that positive favours the intervention), ``boundary`` (the benefit boundary; the harm
    boundary is its negative), ``spent`` (two-sided alpha spent so far) and ``crossed``
    (``benefit``, ``harm`` or empty).
    """

    looks: pd.DataFrame
    required: float
    alpha: float
    method: str
    status: str
    first_crossing: int | None = None
    notes: list = field(default_factory=list)
    convention: str = SPENDING_CONVENTION

    @property
    def conventional(self) -> float:
        """The fixed-sample two-sided critical value ``z_{1-alpha/2}`` (1.96 at alpha 0.05), drawn
        beside the boundaries as the naive test of every look."""
        return float(stats.norm.isf(self.alpha / 2))

    @property
    def accrued(self) -> float:
        return float(self.looks["cumulative_participants"].iloc[-1]) if len(self.looks) else 0.0

    @property
    def fraction(self) -> float:
        return self.accrued / self.required if self.required else math.nan

    @property
    def reached(self) -> bool:
        return self.accrued >= self.required

    @property
    def remaining(self) -> int:
        """Participants still to accrue before the required information size is reached (0 when reached)."""
        return max(0, int(math.ceil(self.required - self.accrued)))

    @property
    def z(self) -> float:
        return float(self.looks["z"].iloc[-1]) if len(self.looks) else math.nan

    @property
    def boundary(self) -> float:
        return float(self.looks["boundary"].iloc[-1]) if len(self.looks) else math.nan

    @property
    def firm(self) -> bool:
        """A boundary was crossed or the information size was reached (the TSA manual's "firm evidence")."""
        return self.status != INCONCLUSIVE

    def to_frame(self) -> pd.DataFrame:
        return self.looks.copy()

    def summary(self) -> str:
        """A short line: the status and where the z-curve ends against its boundary, e.g.
        "benefit boundary crossed at Molsberger2002 (look 2); z = 3.14, boundary \u00b12.01"."""
        where = (f"z = {self.z:.2f}, boundary \u00b1{self.boundary:.2f}" if math.isfinite(self.boundary) else
                 f"z = {self.z:.2f}, no alpha spent yet")
        if self.status in (BENEFIT_CROSSED, HARM_CROSSED):
            row = self.looks.iloc[self.first_crossing]
            return f"{self.status} at {row['added']} (look {int(row['look'])}); {where}"
        return f"{self.status}: {where}"


def sequential_analysis(yi, vi, participants, *, required: float, labels=None, order=None, method: str = "REML",
                        alpha: float = 0.05, benefit_sign: int = -1) -> SequentialAnalysis:
    """Trial sequential analysis of one meta-analysis.

    Parameters
    ----------
    yi, vi : array-like
        The trials' effects and sampling variances on the analysis scale (log for ratios).
    participants : array-like
        Participants randomised per trial (the information axis, as in the TSA program).
    required : float
        The required information size in participants
        (:func:`trialsynth.grade.information_size.information_size`).
    labels : sequence of str, optional
        Trial labels (default "1".."k").
    order : array-like, optional
        Sort keys (e.g. publication years) by which trials are added, sorted stably; default the
        input order.
    method : str
        The tau2 estimator of each cumulative random-effects fit (:func:`trialsynth.pool`); the
        z-curve uses the Wald statistic ``estimate / se`` of that fit (the TSA program's z).
    alpha : float
        Two-sided type I error of the boundaries.
    benefit_sign : int
        -1 when negative effects favour the intervention (oriented SMD/MD), +1 for log ratios of
        a good outcome; the z-curve is multiplied by it so that up is benefit.

    Returns
    -------
    SequentialAnalysis

    Notes
    -----
    The boundaries come from :func:`spending_boundaries` at ``fraction_k = N_k / required``.
    Looks after the first one that reaches the required information size spend no further alpha;
    they are compared with the boundary of that look (this module's convention, stated in the
    result's notes). The status is read at the first crossing, as a sequential monitor would
    stop there; a later look that falls back inside is noted.
    """
    from trialsynth.diagnostics._inputs import cumulative_order
    from trialsynth.diagnostics.sensitivity import cumulative

    a = _check_alpha(alpha)
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    n = np.asarray(participants, dtype=float).ravel()
    if not (y.size == v.size == n.size) or y.size == 0:
        raise ArgumentError(f"yi, vi, participants: expected the same non-zero length, got {y.size}, {v.size}, {n.size}")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise ArgumentError("participants: every trial needs a positive number of participants (the information axis)")
    try:
        req = float(required)
    except (TypeError, ValueError):
        raise ArgumentError(f"required: expected a positive number of participants, got {required!r}") from None
    if not (math.isfinite(req) and req > 0):
        raise ArgumentError(f"required: expected a positive number of participants, got {required!r}")
    if benefit_sign not in (-1, 1):
        raise ArgumentError(f"benefit_sign: expected -1 or +1, got {benefit_sign!r}")
    lab = [str(x) for x in (labels if labels is not None else range(1, y.size + 1))]
    if len(lab) != y.size:
        raise ArgumentError(f"labels: expected {y.size} labels, got {len(lab)}")
    index = cumulative_order(order, y.size)
    keys = list(np.asarray(order)[index]) if order is not None else [None] * y.size
    cum = cumulative(y[index], v[index], method=method, test="z", labels=[lab[i] for i in index])
    n_cum = np.cumsum(n[index])
    frac = n_cum / req
    z = benefit_sign * cum["estimate"].to_numpy() / cum["se"].to_numpy()
    notes = []
    # boundaries up to the first look at or beyond the required information; later looks reuse it
    last = int(np.argmax(frac >= 1)) if np.any(frac >= 1) else frac.size - 1
    bounds = np.full(frac.size, np.nan)
    bounds[: last + 1] = spending_boundaries(frac[: last + 1], a)
    if last < frac.size - 1:
        bounds[last + 1:] = bounds[last]
        notes.append(f"the required information size was reached at look {last + 1}; the {frac.size - 1 - last} later "
                     "look(s) are compared with that look's boundary (no alpha is left to spend)")
    spent = np.asarray(obrien_fleming_spending(np.minimum(frac, 1.0), a), dtype=float)
    crossed = np.where(z >= bounds, "benefit", np.where(z <= -bounds, "harm", ""))
    looks = pd.DataFrame({
        "look": np.arange(1, y.size + 1), "added": [lab[i] for i in index], "order_key": keys,
        "participants": n[index], "cumulative_participants": n_cum, "fraction": frac,
        "estimate": cum["estimate"].to_numpy(), "se": cum["se"].to_numpy(), "z": z, "boundary": bounds,
        "spent": spent, "crossed": crossed,
    })
    hits = np.flatnonzero(crossed != "")
    first = int(hits[0]) if hits.size else None
    if first is not None:
        status = BENEFIT_CROSSED if crossed[first] == "benefit" else HARM_CROSSED
        if crossed[-1] != crossed[first]:
            notes.append(f"the z-curve crossed at look {first + 1} but is inside the boundaries at the last look")
    elif frac[-1] >= 1:
        status = FUTILE
    else:
        status = INCONCLUSIVE
    return SequentialAnalysis(looks=looks, required=req, alpha=a, method=str(method), status=status,
                              first_crossing=first, notes=notes)
