"""The result of a pooled meta-analysis: :class:`MetaResult`."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:  # pandas is imported where a frame is built: it costs ~0.2 s at import
    import pandas as pd

from trialsynth.errors import ArgumentError
from trialsynth.pooling._lazy import LazyField

from trialsynth.effects.scales import RATIO_MEASURES  # measures analysed on the log scale (exp to read)

_METHOD_NAMES = {
    "EE": "common-effect (inverse-variance)",
    "DL": "DerSimonian-Laird",
    "HE": "Hedges",
    "HS": "Hunter-Schmidt",
    "HSk": "Hunter-Schmidt (small-sample corrected)",
    "SJ": "Sidik-Jonkman",
    "ML": "maximum-likelihood",
    "REML": "restricted maximum-likelihood",
    "EB": "empirical Bayes",
    "PM": "Paule-Mandel",
    "PMM": "median-unbiased Paule-Mandel",
    "GENQ": "generalised Q-statistic",
    "GENQM": "median-unbiased generalised Q-statistic",
    "DLIT": "iterated DerSimonian-Laird",
    "SJIT": "iterated Sidik-Jonkman",
}


def _fmt(x, digits=4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _pval_text(p) -> str:
    """'< .0001' or '= 0.1234', as metafor prints p-values after a statistic."""
    text = _fmt_p(p)
    return "< .0001" if text == "<.0001" else f"= {text}"


class SummaryText(str):
    """The text of :meth:`MetaResult.summary`: a ``str`` that displays as its text.

    ``print(res.summary())``, ``"Q(df" in res.summary()`` and every other string use work as for
    a plain ``str``; only the *display* differs: in the REPL, IPython and Jupyter, a bare
    ``res.summary()`` shows the table itself (as R shows ``print.rma``) instead of a quoted,
    escaped one-line string.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython / Jupyter text display
        printer.text(str.__str__(self))


@dataclass
class MetaResult:
    """A pooled meta-analysis (common-effect or random-effects).

    Attributes follow the shared contract: ``estimate, se, ci_low, ci_high, statistic,
    p_value`` (the pooled effect on the analysis scale), ``tau2, se_tau2, tau, i2, h2``
    (heterogeneity; I2 in percent, never negative), ``q, q_df, q_p_value`` (Cochran's Q with
    weights 1/v_i), ``k``, ``pi_low, pi_high`` (prediction interval; NaN for common-effect
    fits), ``weights`` (percent per study), ``yi, vi, labels, method, test, measure, profile,
    dfs`` (t df or None), ``converged``, ``warnings`` (list of str), ``level`` (percent).
    Extra: ``s2w`` (Knapp-Hartung scale), ``fit_stats`` (ll, dev, AIC, BIC, AICc under ML and
    REML), ``pi_method``, ``pi_df``.  ``weights`` and ``fit_stats`` may be computed on first
    read (they read exactly as if computed eagerly).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    tau2: float
    se_tau2: float | None
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    k: int
    pi_low: float
    pi_high: float
    #: percent weights per study (computed on first read when :func:`pool` defers them)
    weights: np.ndarray = LazyField()
    yi: np.ndarray
    vi: np.ndarray
    #: study labels ("1".."k" by default, then built on first read)
    labels: list = LazyField()
    method: str
    test: str
    measure: str | None = None
    profile: str | None = None
    dfs: float | None = None
    converged: bool = True
    warnings: list = field(default_factory=list)
    level: float = 95.0
    s2w: float = 1.0
    #: ll, dev, AIC, BIC, AICc under ML and REML (computed on first read when deferred)
    fit_stats: dict = LazyField(default_factory=dict)
    pi_method: str = "auto"
    pi_df: float | None = None
    iterations: int = 0
    user_weights: np.ndarray | None = None
    s2: float = float("nan")
    crit: float = float("nan")
    fitted_method: str | None = None
    #: labels of the studies dropped for missing values (``pool(..., na_action="omit")``)
    omitted: list = field(default_factory=list)
    #: the ``tau2_init`` the fit was given (None: the estimator's default start)
    tau2_init: float | None = None

    # ------------------------------------------------------------------ basics
    @property
    def is_ratio(self) -> bool:
        """True when the measure is analysed on the log scale (OR, RR, IRR, ROM, PETO, HR)."""
        from trialsynth.effects.scales import is_ratio

        return is_ratio(self.measure)

    @property
    def random_effects(self) -> bool:
        return (self.fitted_method or self.method) != "EE"

    def exp(self) -> dict:
        """Back-transformed (exponentiated) estimate, CI and PI for ratio measures."""
        if not self.is_ratio:
            raise ArgumentError(
                f"exp() applies to ratio measures ({', '.join(sorted(RATIO_MEASURES))}); "
                f"measure is {self.measure!r}"
            )
        return {
            "estimate": math.exp(self.estimate),
            "ci_low": math.exp(self.ci_low),
            "ci_high": math.exp(self.ci_high),
            "pi_low": math.exp(self.pi_low) if not math.isnan(self.pi_low) else float("nan"),
            "pi_high": math.exp(self.pi_high) if not math.isnan(self.pi_high) else float("nan"),
        }

    def conf_int(self) -> tuple[float, float]:
        """The confidence interval of the pooled effect (analysis scale)."""
        return (self.ci_low, self.ci_high)

    def predict(self) -> dict:
        """As metafor's ``predict()``: pred, se, ci_low, ci_high, pi_low, pi_high."""
        return {"pred": self.estimate, "se": self.se, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "pi_low": self.pi_low, "pi_high": self.pi_high}

    def heterogeneity_ci(self, type: str | None = None) -> pd.DataFrame:
        """CIs for tau2, tau, I2 and H2 (rows) with columns estimate, ci_low, ci_high.

        ``type="QP"``: Q-profile (Viechtbauer 2007), the default except for GENQ/GENQM fits;
        ``"PL"``: profile likelihood for ML/REML fits; ``"GENQ"``: the generalised Q interval
        (Jackson 2013) with the fit's weights (1/v_i unless user weights were given), the
        default for GENQ and GENQM fits, as in metafor; ``"Wald"``: tau2 -+ z se(tau2).
        """
        from trialsynth.pooling.confint import heterogeneity_ci

        if self.k < 2:
            raise ArgumentError("a CI for tau2 needs at least two studies (k >= 2)")
        if (self.fitted_method or self.method) == "EE":
            raise ArgumentError("a common-effect (EE) fit has no tau2; refit with a random-effects method")
        if type is None:
            type = "GENQ" if self.method in ("GENQ", "GENQM") else "QP"
        return heterogeneity_ci(self.yi, self.vi, tau2=self.tau2, method=self.method,
                                level=self.level, type=type, se_tau2=self.se_tau2,
                                weights=self.user_weights)

    # ------------------------------------------------------------------ frames
    def to_frame(self) -> pd.DataFrame:
        """A tidy one-row DataFrame of the pooled result."""
        row = {
            "k": self.k, "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "statistic": self.statistic, "p_value": self.p_value,
            "pi_low": self.pi_low, "pi_high": self.pi_high, "tau2": self.tau2,
            "se_tau2": self.se_tau2, "tau": self.tau, "i2": self.i2, "h2": self.h2, "q": self.q,
            "q_df": self.q_df, "q_p_value": self.q_p_value, "dfs": self.dfs,
            "method": self.method, "test": self.test, "level": self.level,
            "measure": self.measure, "profile": self.profile, "converged": self.converged,
        }
        if self.is_ratio:
            for key, value in self.exp().items():
                row[f"exp_{key}"] = value
        import pandas as pd

        return pd.DataFrame([row])

    def study_frame(self) -> pd.DataFrame:
        """Per study: label, yi, vi, se, ci_low, ci_high (normal, at ``level``), weight (%)."""
        import pandas as pd

        z = float(special.ndtri(1 - (1 - self.level / 100) / 2))  # = stats.norm.ppf
        se = np.sqrt(self.vi)
        return pd.DataFrame({
            "label": list(self.labels), "yi": self.yi, "vi": self.vi, "se": se,
            "ci_low": self.yi - z * se, "ci_high": self.yi + z * se, "weight": self.weights,
        })

    # ------------------------------------------------------------------ text
    def _model_line(self) -> str:
        fm = self.fitted_method or self.method
        if fm == "EE":
            return f"Common-Effect Model (k = {self.k})"
        return f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"

    def summary(self) -> SummaryText:
        """A text table in the layout of metafor's ``print.rma``.

        Returns a :class:`SummaryText`: a ``str`` (print it, search it, write it to a file) that
        IPython and Jupyter display as the table."""
        lines = [self._model_line(), ""]
        fm = self.fitted_method or self.method
        if fm != "EE":
            se_t = "" if self.se_tau2 is None else f" (SE = {_fmt(self.se_tau2)})"
            lines += [
                f"tau^2 (estimated amount of total heterogeneity): {_fmt(self.tau2)}{se_t}",
                f"tau (square root of estimated tau^2 value):      {_fmt(self.tau)}",
                f"I^2 (total heterogeneity / total variability):   {_fmt(self.i2, 2)}%",
                f"H^2 (total variability / sampling variability):  {_fmt(self.h2, 2)}",
            ]
        else:
            lines += [
                f"I^2 (total heterogeneity / total variability):  {_fmt(self.i2, 2)}%",
                f"H^2 (total variability / sampling variability): {_fmt(self.h2, 2)}",
            ]
        lines += ["", "Test for Heterogeneity:",
                  f"Q(df = {self.q_df}) = {_fmt(self.q)}, p-val {_pval_text(self.q_p_value)}", "",
                  "Model Results:", ""]
        stat_name = "zval" if self.dfs is None else "tval"
        head = f"{'estimate':>9} {'se':>8} {stat_name:>8} "
        if self.dfs is not None:
            head += f"{'df':>4} "
        head += f"{'pval':>8} {'ci.lb':>9} {'ci.ub':>9}"
        vals = f"{_fmt(self.estimate):>9} {_fmt(self.se):>8} {_fmt(self.statistic):>8} "
        if self.dfs is not None:
            vals += f"{int(self.dfs):>4} "
        vals += f"{_fmt_p(self.p_value):>8} {_fmt(self.ci_low):>9} {_fmt(self.ci_high):>9}"
        lines += [head, vals]
        if fm != "EE" and not math.isnan(self.pi_low):
            lines += ["", f"{self.level:g}% prediction interval: [{_fmt(self.pi_low)}, {_fmt(self.pi_high)}]"
                      + ("" if self.pi_df is None else f" (t, df = {int(self.pi_df)})")]
        if self.is_ratio:
            e = self.exp()
            lines += [f"Back-transformed ({self.measure}): {_fmt(e['estimate'])} "
                      f"[{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}]"
                      + ("" if math.isnan(e["pi_low"]) else
                         f"; prediction interval [{_fmt(e['pi_low'])}, {_fmt(e['pi_high'])}]")]
        test_name = {"z": "Wald z", "knha": "Hartung-Knapp-Sidik-Jonkman (t)",
                     "adhoc": "Hartung-Knapp ad hoc (never narrower than z)"}[self.test]
        lines += ["", f"Profile: {self.profile or 'none (explicit arguments)'}; method {self.method}, "
                      f"test {test_name}, level {self.level:g}%"]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        return SummaryText("\n".join(lines))

    def __str__(self) -> str:
        return str.__str__(self.summary())

    def __repr__(self) -> str:
        """One line: model, k, estimate with CI (and back-transformed for ratios), tau2, I2, profile."""
        fm = self.fitted_method or self.method
        model = "common-effect" if fm == "EE" else f"random-effects {self.method}"
        text = f"MetaResult({model}, test {self.test}, k={self.k}: "
        if self.is_ratio:  # a ratio shown as a ratio, its log beside it
            e = self.exp()
            text += (f"{self.measure} {_fmt(e['estimate'])} [{self.level:g}% CI {_fmt(e['ci_low'])}, "
                     f"{_fmt(e['ci_high'])}] (log {_fmt(self.estimate)})")
        else:
            text += (f"{self.measure or 'estimate'} {_fmt(self.estimate)} [{self.level:g}% CI "
                     f"{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]")
        text += f", p={_fmt_p(self.p_value)}"
        if fm != "EE":
            text += f", tau2={_fmt(self.tau2)}, I2={_fmt(self.i2, 1)}%"
        text += f", profile={self.profile or 'none'}"
        if self.warnings:
            text += f", {len(self.warnings)} warning(s)"
        return text + ")"

    def methods_text(self) -> str:
        """A sentence stating method, test, CI and PI rules, and the profile."""
        fm = self.fitted_method or self.method
        # a t-based test that could not be applied (k = 1) falls back to z: dfs is None then
        test = self.test if self.dfs is not None else "z"
        ci = {"z": "Wald-type confidence intervals based on the normal distribution",
              "knha": (f"Hartung-Knapp-Sidik-Jonkman confidence intervals (t distribution with "
                       f"{self.k - 1} degrees of freedom)"),
              "adhoc": ("Hartung-Knapp confidence intervals with the ad hoc correction that never "
                        "makes them narrower than the Wald interval")}[test]
        if fm == "EE":
            text = (f"A common-effect (inverse-variance) meta-analysis of {self.k} "
                    f"{'study' if self.k == 1 else 'studies'} was performed with {ci}.")
        else:
            if self.pi_df is None:
                pi = "a prediction interval based on the normal distribution"
            elif self.pi_method == "hts":
                pi = (f"a prediction interval based on the t distribution with {int(self.pi_df)} "
                      "degrees of freedom (k - 2; Higgins, Thompson & Spiegelhalter 2009)")
            else:
                pi = (f"a prediction interval based on the t distribution with {int(self.pi_df)} "
                      "degrees of freedom (k - 1, the HKSJ degrees of freedom, as metafor's predict() "
                      "under test='knha')")
            text = (f"A random-effects meta-analysis of {self.k} studies was performed with the "
                    f"{_METHOD_NAMES[self.method]} ({self.method}) estimator of the between-study "
                    f"variance tau2, {ci}, {pi} and a "
                    "Q-profile confidence interval for tau2 (Viechtbauer 2007).")
        if self.profile:
            text += f" Method profile: {self.profile}."
        return text

    def _repr_html_(self) -> str:
        rows = [
            ("Model", html.escape(self._model_line())),
            ("Estimate [CI]", f"{_fmt(self.estimate)} [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"),
        ]
        if self.is_ratio:
            e = self.exp()
            rows.append((f"{html.escape(str(self.measure))} (exp)",
                         f"{_fmt(e['estimate'])} [{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}]"))
        rows += [
            ("p-value", _fmt_p(self.p_value)),
            ("Prediction interval", f"[{_fmt(self.pi_low)}, {_fmt(self.pi_high)}]"),
            ("tau² / I²", f"{_fmt(self.tau2)} / {_fmt(self.i2, 1)}%"),
            ("Q (df), p", f"{_fmt(self.q, 2)} ({self.q_df}), {_fmt_p(self.q_p_value)}"),
            ("Profile", html.escape(self.profile or "none")),
            ("Method / test", html.escape(f"{self.method} / {self.test}")),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{a}</th><td>{b}</td></tr>" for a, b in rows)
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        warn_html = f"<ul style='color:#a33'>{warn}</ul>" if warn else ""
        return f"<div class='trialsynth-metaresult'><table>{body}</table>{warn_html}</div>"


__all__ = ["MetaResult", "RATIO_MEASURES", "SummaryText"]
