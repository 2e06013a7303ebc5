"""Prior distributions for Bayesian random-effects meta-analysis (:func:`trialsynth.pool_bayes`).

The normal-normal hierarchical model has two parameters: the mean effect ``mu`` and the
between-study standard deviation ``tau`` (Röver 2020, *J Stat Softw* 93(6), section 2). Priors
for ``tau`` are given on ``tau`` itself (half-normal, half-Cauchy, half-Student-t, uniform,
exponential, Jeffreys) or on ``tau^2`` (log-normal, log-Student-t, the empirical priors of
Turner et al. 2015 and Rhodes et al. 2015); every one exposes its density *on tau*, so that the
posterior of ``tau`` is computed on one axis. The prior for ``mu`` is :class:`Normal` or ``None``
(flat, improper uniform).

Every prior prints what it is (:meth:`TauPrior.describe`) and where it comes from
(:attr:`TauPrior.source`), so that a result can show the prior beside every number.

References
----------
* Friede T, Röver C, Wandel S, Neuenschwander B (2017). Meta-analysis of few small studies in
  orphan diseases. *Res Synth Methods*, doi:10.1002/jrsm.1217 (half-normal priors with scale 0.5
  or 1 for log odds ratios).
* Röver C, Bender R, Dias S, Schmid CH, Schmidli H, Sturtz S, Weber S, Friede T (2021). On
  weakly informative prior distributions for the heterogeneity parameter in Bayesian
  random-effects meta-analysis. *Res Synth Methods* 12:448-474 (half-normal, half-Student-t,
  half-Cauchy, exponential and log-normal families on tau).
* Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
  between-study heterogeneity and simple methods for their application in Bayesian
  meta-analysis. *Stat Med* 34:984-998 (log-normal priors for tau^2, log odds ratios; Table IV).
* Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the
  extent of heterogeneity in meta-analyses of continuous outcome data. *J Clin Epidemiol*
  68:52-60 (log-t priors with 5 df for tau^2, standardised mean differences; Table 3).
* Tibshirani R (1989). Noninformative priors for one parameter of many. *Biometrika* 76:604-608;
  Bodnar O, Link A, Arendacká B, Possolo A, Elster C (2017). Bayesian estimation in random
  effects meta-analysis using a non-informative prior. *Stat Med* 36:378-399 (the Jeffreys prior
  for tau: the square root of its Fisher information, ``sqrt(sum_i (tau / (s_i^2 + tau^2))^2)``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import special

from trialsynth.errors import ArgumentError

_LOG2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _positive(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: expected a positive number, got {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise ArgumentError(f"{name}: expected a positive finite number, got {value!r}")
    return x


def _finite(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ArgumentError(f"{name}: expected a finite number, got {value!r}")
    return x


def _g(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class TauPrior:
    """A prior for the heterogeneity standard deviation ``tau`` (base class).

    Subclasses give the log density on ``tau`` (:meth:`logpdf`), and for proper priors the
    distribution function and quantiles. ``tail`` describes the upper tail of the density,
    ``p(tau) ~ tau^-a (log tau)^-b`` as ``(a, b)`` (``a = inf`` for tails lighter than any power),
    which decides which posterior moments exist.
    """

    #: True when the prior integrates to one (improper priors give no marginal likelihood)
    proper = True
    #: True when the density depends on the trials' variances (the Jeffreys prior)
    needs_vi = False
    #: True for priors given on log tau^2, whose mass near tau = 0 spreads over many orders of
    #: magnitude (the quadrature then works on log tau there)
    log_scale = False

    # ----------------------------------------------------------------- interface
    def logpdf(self, tau, vi=None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def pdf(self, tau, vi=None) -> np.ndarray:
        """Density on ``tau`` (0 outside the support)."""
        return np.exp(self.logpdf(tau, vi))

    def cdf(self, tau) -> np.ndarray:  # pragma: no cover - overridden by proper priors
        raise ArgumentError(f"{self.describe()} is improper: it has no distribution function")

    def quantile(self, p) -> np.ndarray:  # pragma: no cover - overridden by proper priors
        raise ArgumentError(f"{self.describe()} is improper: it has no quantiles")

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    @property
    def tail(self) -> tuple[float, float]:
        return (math.inf, 0.0)

    @property
    def is_point_mass(self) -> bool:
        return False

    def scale_hint(self) -> float:
        """A typical value of tau under the prior (its median when proper), for placing
        quadrature breakpoints; NaN when the prior has no scale."""
        if self.proper:
            return float(self.quantile(0.5))
        return math.nan

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def source(self) -> str:
        return ""

    @property
    def short(self) -> str:
        """A compact label for tables and figure legends (``HN(0.5)``)."""
        return self.describe()

    def __str__(self) -> str:
        return self.describe()

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _tau(tau) -> np.ndarray:
        return np.asarray(tau, dtype=float)


@dataclass(frozen=True)
class HalfNormal(TauPrior):
    """Half-normal prior on tau with scale ``scale``: density ``2/scale * phi(tau/scale)``.

    Friede et al. (2017) recommend scales 0.5 or 1.0 for log odds ratios; Röver (2020) uses 0.5
    in the paediatric liver-transplant example.
    """

    scale: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive("HalfNormal scale", self.scale))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        z = t / self.scale
        out = _LOG2 - _LOG_SQRT_2PI - math.log(self.scale) - 0.5 * z * z
        return np.where(t >= 0, out, -np.inf)

    def cdf(self, tau):
        t = np.maximum(self._tau(tau), 0.0)
        return special.erf(t / (self.scale * math.sqrt(2.0)))

    def quantile(self, p):
        return self.scale * special.ndtri((1.0 + np.asarray(p, float)) / 2.0)

    def describe(self):
        return f"half-normal(scale {_g(self.scale)}) on tau"

    @property
    def short(self):
        return f"HN({_g(self.scale)})"

    @property
    def source(self):
        return "Friede et al. 2017, Res Synth Methods, doi:10.1002/jrsm.1217; Röver et al. 2021, Res Synth Methods 12:448-474"


@dataclass(frozen=True)
class HalfStudentT(TauPrior):
    """Half-Student-t prior on tau with ``df`` degrees of freedom and scale ``scale``."""

    df: float = 3.0
    scale: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "df", _positive("HalfStudentT df", self.df))
        object.__setattr__(self, "scale", _positive("HalfStudentT scale", self.scale))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        nu, s = self.df, self.scale
        z = t / s
        out = (_LOG2 + special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
               - math.log(s) - (nu + 1) / 2 * np.log1p(z * z / nu))
        return np.where(t >= 0, out, -np.inf)

    def cdf(self, tau):
        t = np.maximum(self._tau(tau), 0.0)
        return 2.0 * special.stdtr(self.df, t / self.scale) - 1.0

    def quantile(self, p):
        return self.scale * special.stdtrit(self.df, (1.0 + np.asarray(p, float)) / 2.0)

    @property
    def tail(self):
        return (self.df + 1.0, 0.0)

    def describe(self):
        return f"half-Student-t(df {_g(self.df)}, scale {_g(self.scale)}) on tau"

    @property
    def short(self):
        return f"HT{_g(self.df)}({_g(self.scale)})"

    @property
    def source(self):
        return "Röver et al. 2021, Res Synth Methods 12:448-474"


@dataclass(frozen=True)
class HalfCauchy(TauPrior):
    """Half-Cauchy prior on tau with scale ``scale`` (half-Student-t with 1 df); its mean is
    infinite, so posterior means of tau exist only when the data make the tail lighter."""

    scale: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive("HalfCauchy scale", self.scale))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        z = t / self.scale
        out = _LOG2 - math.log(math.pi * self.scale) - np.log1p(z * z)
        return np.where(t >= 0, out, -np.inf)

    def cdf(self, tau):
        t = np.maximum(self._tau(tau), 0.0)
        return (2.0 / math.pi) * np.arctan(t / self.scale)

    def quantile(self, p):
        return self.scale * np.tan(math.pi * np.asarray(p, float) / 2.0)

    @property
    def tail(self):
        return (2.0, 0.0)

    def describe(self):
        return f"half-Cauchy(scale {_g(self.scale)}) on tau"

    @property
    def short(self):
        return f"HC({_g(self.scale)})"

    @property
    def source(self):
        return "Gelman 2006, Bayesian Anal 1:515-534; Röver et al. 2021, Res Synth Methods 12:448-474"


@dataclass(frozen=True)
class Uniform(TauPrior):
    """Uniform prior on tau over ``[low, high]``; ``high=inf`` gives the improper uniform prior
    (a proper posterior then needs at least three trials with a flat prior on mu)."""

    low: float = 0.0
    high: float = 2.0

    def __post_init__(self):
        try:
            low, high = float(self.low), float(self.high)
        except (TypeError, ValueError):
            raise ArgumentError(f"Uniform: expected numbers low < high, got {self.low!r}, {self.high!r}") from None
        if not (math.isfinite(low) and low >= 0 and high > low) or math.isnan(high):
            raise ArgumentError(f"Uniform: expected 0 <= low < high (high may be inf), got low={self.low!r}, high={self.high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def proper(self):  # type: ignore[override]
        return math.isfinite(self.high)

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        inside = (t >= self.low) & (t <= self.high)
        value = -math.log(self.high - self.low) if self.proper else 0.0
        return np.where(inside, value, -np.inf)

    def cdf(self, tau):
        if not self.proper:
            return super().cdf(tau)
        t = self._tau(tau)
        return np.clip((t - self.low) / (self.high - self.low), 0.0, 1.0)

    def quantile(self, p):
        if not self.proper:
            return super().quantile(p)
        return self.low + np.asarray(p, float) * (self.high - self.low)

    @property
    def support(self):
        return (self.low, self.high)

    @property
    def tail(self):
        return (math.inf, 0.0) if self.proper else (0.0, 0.0)

    def scale_hint(self):
        return (self.low + self.high) / 2 if self.proper else math.nan

    def describe(self):
        hi = "inf (improper)" if not self.proper else _g(self.high)
        return f"uniform({_g(self.low)}, {hi}) on tau"

    @property
    def short(self):
        return f"U({_g(self.low)}, {'inf' if not self.proper else _g(self.high)})"


@dataclass(frozen=True)
class Exponential(TauPrior):
    """Exponential prior on tau with rate ``rate`` (mean ``1/rate``)."""

    rate: float = 2.0

    def __post_init__(self):
        object.__setattr__(self, "rate", _positive("Exponential rate", self.rate))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        return np.where(t >= 0, math.log(self.rate) - self.rate * t, -np.inf)

    def cdf(self, tau):
        t = np.maximum(self._tau(tau), 0.0)
        return -np.expm1(-self.rate * t)

    def quantile(self, p):
        return -np.log1p(-np.asarray(p, float)) / self.rate

    def describe(self):
        return f"exponential(rate {_g(self.rate)}) on tau"

    @property
    def short(self):
        return f"Exp({_g(self.rate)})"

    @property
    def source(self):
        return "Röver et al. 2021, Res Synth Methods 12:448-474"


@dataclass(frozen=True)
class Jeffreys(TauPrior):
    """The Jeffreys prior for tau, ``p(tau) ∝ sqrt(sum_i (tau / (v_i + tau^2))^2)``: the square root
    of the Fisher information for tau in ``y_i ~ N(mu, v_i + tau^2)`` (Tibshirani 1989; Bodnar et
    al. 2017). Improper and data-dependent: it depends on the trials' variances ``vi``."""

    needs_vi = True
    proper = False

    def logpdf(self, tau, vi=None):
        if vi is None:
            raise ArgumentError("Jeffreys: the Jeffreys prior depends on the trials' variances; give vi")
        t = self._tau(tau)
        v = np.asarray(vi, dtype=float)
        ratio = t[..., None] / (v + t[..., None] ** 2)
        with np.errstate(divide="ignore"):
            out = 0.5 * np.log(np.sum(ratio * ratio, axis=-1))
        return np.where(t >= 0, out, -np.inf)

    @property
    def tail(self):
        return (1.0, 0.0)

    def describe(self):
        return "Jeffreys prior on tau (improper; depends on the trials' variances)"

    @property
    def short(self):
        return "Jeffreys"

    @property
    def source(self):
        return "Tibshirani 1989, Biometrika 76:604-608; Bodnar et al. 2017, Stat Med 36:378-399"


@dataclass(frozen=True)
class LogNormal(TauPrior):
    """Log-normal prior on tau^2: ``log(tau^2) ~ Normal(mean, sd^2)`` (the form of Turner et al.
    2015). On tau: ``log(tau) ~ Normal(mean/2, (sd/2)^2)``."""

    mean: float = -2.56
    sd: float = 1.74
    label: str = field(default="", compare=False)
    citation: str = field(default="", compare=False)
    log_scale = True

    def __post_init__(self):
        object.__setattr__(self, "mean", _finite("LogNormal mean", self.mean))
        object.__setattr__(self, "sd", _positive("LogNormal sd", self.sd))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = 2.0 * np.log(t)  # log tau^2
            z = (x - self.mean) / self.sd
            out = -_LOG_SQRT_2PI - math.log(self.sd) - 0.5 * z * z + _LOG2 - np.log(t)
        return np.where(t > 0, out, -np.inf)

    def cdf(self, tau):
        t = self._tau(tau)
        with np.errstate(divide="ignore"):
            x = np.where(t > 0, 2.0 * np.log(np.maximum(t, 1e-300)), -np.inf)
        return special.ndtr((x - self.mean) / self.sd)

    def quantile(self, p):
        return np.exp((self.mean + self.sd * special.ndtri(np.asarray(p, float))) / 2.0)

    def describe(self):
        text = f"log-normal on tau^2 (log tau^2 ~ N({_g(self.mean)}, {_g(self.sd)}^2))"
        return f"{self.label}: {text}" if self.label else text

    @property
    def short(self):
        return self.label or f"LN({_g(self.mean)}, {_g(self.sd)})"

    @property
    def source(self):
        return self.citation


@dataclass(frozen=True)
class LogStudentT(TauPrior):
    """Log-Student-t prior on tau^2: ``log(tau^2) = location + scale * T_df`` (the form of Rhodes et
    al. 2015, with 5 df). Its tail is heavier than any power of tau, so the prior has no mean."""

    df: float = 5.0
    location: float = -3.44
    scale: float = 2.59
    label: str = field(default="", compare=False)
    citation: str = field(default="", compare=False)
    log_scale = True

    def __post_init__(self):
        object.__setattr__(self, "df", _positive("LogStudentT df", self.df))
        object.__setattr__(self, "location", _finite("LogStudentT location", self.location))
        object.__setattr__(self, "scale", _positive("LogStudentT scale", self.scale))

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        nu, s = self.df, self.scale
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (2.0 * np.log(t) - self.location) / s
            out = (special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
                   - math.log(s) - (nu + 1) / 2 * np.log1p(z * z / nu) + _LOG2 - np.log(t))
        return np.where(t > 0, out, -np.inf)

    def cdf(self, tau):
        t = self._tau(tau)
        with np.errstate(divide="ignore"):
            x = np.where(t > 0, 2.0 * np.log(np.maximum(t, 1e-300)), -np.inf)
        return special.stdtr(self.df, (x - self.location) / self.scale)

    def quantile(self, p):
        return np.exp((self.location + self.scale * special.stdtrit(self.df, np.asarray(p, float))) / 2.0)

    @property
    def tail(self):
        # density ~ tau^-1 (log tau)^-(df+1): integrable, but no moment of tau is finite
        return (1.0, self.df + 1.0)

    def describe(self):
        text = (f"log-Student-t on tau^2 (log tau^2 = {_g(self.location)} + {_g(self.scale)} x t, "
                f"{_g(self.df)} df)")
        return f"{self.label}: {text}" if self.label else text

    @property
    def short(self):
        return self.label or f"LT{_g(self.df)}({_g(self.location)}, {_g(self.scale)})"

    @property
    def source(self):
        return self.citation


@dataclass(frozen=True)
class Fixed(TauPrior):
    """A point mass at ``tau = value``: the posterior of mu is then the conditional one, normal
    with the inverse-variance mean and variance at that tau (``Fixed(0)`` is the common-effect
    model). For identities and sensitivity analyses, not as a belief."""

    value: float = 0.0

    def __post_init__(self):
        try:
            v = float(self.value)
        except (TypeError, ValueError):
            raise ArgumentError(f"Fixed: expected a tau >= 0, got {self.value!r}") from None
        if not (math.isfinite(v) and v >= 0):
            raise ArgumentError(f"Fixed: expected a finite tau >= 0, got {self.value!r}")
        object.__setattr__(self, "value", v)

    def logpdf(self, tau, vi=None):
        t = self._tau(tau)
        return np.where(t == self.value, 0.0, -np.inf)

    def cdf(self, tau):
        return (self._tau(tau) >= self.value).astype(float)

    def quantile(self, p):
        return np.full(np.shape(p), self.value) if np.ndim(p) else self.value

    @property
    def is_point_mass(self):
        return True

    def scale_hint(self):
        return self.value

    def describe(self):
        return f"point mass at tau = {_g(self.value)}" + (" (common-effect model)" if self.value == 0 else "")

    @property
    def short(self):
        return f"tau={_g(self.value)}"


#: an alias of :class:`Fixed`
PointMass = Fixed


# --------------------------------------------------------------------------- mu


@dataclass(frozen=True)
class Normal:
    """Normal prior for the mean effect mu (on the analysis scale: log for ratios)."""

    mean: float = 0.0
    sd: float = 4.0

    def __post_init__(self):
        object.__setattr__(self, "mean", _finite("Normal mean", self.mean))
        object.__setattr__(self, "sd", _positive("Normal sd", self.sd))

    def logpdf(self, x):
        z = (np.asarray(x, float) - self.mean) / self.sd
        return -_LOG_SQRT_2PI - math.log(self.sd) - 0.5 * z * z

    def describe(self) -> str:
        return f"normal(mean {_g(self.mean)}, sd {_g(self.sd)}) on mu"

    @property
    def short(self) -> str:
        return f"N({_g(self.mean)}, {_g(self.sd)})"

    def __str__(self) -> str:
        return self.describe()


def describe_mu_prior(prior) -> str:
    """``"flat (improper uniform) on mu"`` for None, else the prior's description."""
    return "flat (improper uniform) on mu" if prior is None else prior.describe()


def check_mu_prior(prior):
    """None or a :class:`Normal`; anything else is an ArgumentError naming ``mu_prior``."""
    if prior is None or isinstance(prior, Normal):
        return prior
    raise ArgumentError(f"mu_prior: expected trialsynth.priors.Normal(mean, sd) or None (flat), got {prior!r}")


def check_tau_prior(prior):
    """A :class:`TauPrior`; a bare number ``x`` is read as ``Fixed(x)``."""
    if isinstance(prior, TauPrior):
        return prior
    if isinstance(prior, (int, float)) and not isinstance(prior, bool):
        return Fixed(prior)
    raise ArgumentError(
        "tau_prior: expected a prior from trialsynth.priors (HalfNormal(0.5), HalfCauchy(0.5), "
        f"Turner2015(...), Rhodes2015(...), Fixed(tau) ...), got {prior!r}")


# --------------------------------------------------------------------------- empirical priors

_TABLE_PATH = Path(__file__).with_name("heterogeneity_priors.json")


@lru_cache(maxsize=1)
def _table() -> dict:
    with open(_TABLE_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def empirical_prior_table():
    """Every shipped cell of the Turner 2015 and Rhodes 2015 tables as a DataFrame (prior, table,
    outcome, comparison, area, cell, location, scale, df, verified_against_paper, read_from)."""
    import pandas as pd

    return pd.DataFrame(_table()["rows"])


def _norm(text: str) -> str:
    return " ".join(str(text).lower().replace("/", " / ").replace(".", " ").split())


def _match(rows: list[dict], key: str, wanted: str | None, prior: str) -> list[dict]:
    choices = sorted({r[key] for r in rows})
    if wanted is None:
        wanted = "general"
    w = _norm(wanted)
    exact = [r for r in rows if _norm(r[key]) == w]
    if exact:
        return exact
    partial = [r for r in rows if w in _norm(r[key])]
    if partial and len({r[key] for r in partial}) == 1:
        return partial
    raise ArgumentError(f"{prior}: {key} {wanted!r} is not among the shipped cells ({'; '.join(choices)})"
                        + (" (ambiguous)" if partial else ""))


def _empirical_row(prior: str, outcome, comparison, area=None) -> dict:
    rows = [r for r in _table()["rows"] if r["prior"] == prior]
    if area is not None:
        rows = _match(rows, "area", area, prior)
    rows = _match(rows, "outcome", outcome, prior)
    rows = _match(rows, "comparison", comparison, prior)
    return rows[0]


def _empirical_citation(prior: str, row: dict) -> str:
    paper = _table()["papers"][prior]
    text = f"{paper['citation']} doi:{paper['doi']}, {row['table']}, {row['cell']}"
    if not row.get("verified_against_paper"):
        text += (f" [secondary transcription, read from {row['read_from']}; "
                 "not yet checked against the paper's table]")
    return text


def Turner2015(outcome: str | None = "general", comparison: str | None = "general") -> LogNormal:
    """The log-normal prior for tau^2 of Turner et al. (2015, *Stat Med* 34:984-998, Table IV) for
    log odds ratios, for one outcome type and type of comparison.

    Shipped cells (:func:`empirical_prior_table`): the general setting and the *pain* row for
    pharmacological vs placebo/control and for non-pharmacological vs placebo/control,
    pharmacological or non-pharmacological comparisons. Matching ignores case; a unique
    substring is enough (``comparison="non-pharmacological vs placebo"``).

    The result is a :class:`LogNormal` labelled with the paper, table and cell.
    """
    row = _empirical_row("Turner2015", outcome, comparison)
    label = "Turner 2015" + ("" if row["outcome"] == "general" else f" ({row['outcome']}; {row['comparison']})")
    return LogNormal(mean=row["location"], sd=row["scale"], label=label,
                     citation=_empirical_citation("Turner2015", row))


def Rhodes2015(outcome: str | None = "general", comparison: str | None = "general", area: str = "other") -> LogStudentT:
    """The log-Student-t prior (5 df) for tau^2 of Rhodes et al. (2015, *J Clin Epidemiol*
    68:52-60, Table 3) for standardised mean differences.

    Shipped cells: the general setting and the row "general physical health and adverse event
    and pain and quality of life/functioning" for non-pharmacological vs any, pharmacological vs
    placebo/control and pharmacological vs pharmacological comparisons, medical areas other than
    respiratory and cancer (``area="other"``). ``outcome="pain"`` selects that row.
    """
    if outcome is not None and _norm(outcome) in ("pain", "function", "functioning", "quality of life"):
        outcome = "general physical health and adverse event and pain and quality of life/functioning"
    row = _empirical_row("Rhodes2015", outcome, comparison, area)
    label = "Rhodes 2015" + ("" if row["outcome"] == "general" else f" (pain/function; {row['comparison']})")
    return LogStudentT(df=float(row["df"]), location=row["location"], scale=row["scale"], label=label,
                       citation=_empirical_citation("Rhodes2015", row))


__all__ = [
    "Exponential", "Fixed", "HalfCauchy", "HalfNormal", "HalfStudentT", "Jeffreys", "LogNormal", "LogStudentT",
    "Normal", "PointMass", "Rhodes2015", "TauPrior", "Turner2015", "Uniform", "check_mu_prior", "check_tau_prior",
    "describe_mu_prior", "empirical_prior_table",
]
