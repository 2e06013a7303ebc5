"""Meta-regression: the mixed-effects model y = X b + u + e with study-level moderators.

The fit is :func:`trialsynth.pooling.fit.fit_model` (any tau2 estimator, z / knha / adhoc
inference).  On top of it:

* the omnibus test of the moderators QM (Raudenbush 2009, in Cooper, Hedges & Valentine (eds),
  The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 16, eq. 16.17): the Wald
  statistic b_m' V_m^{-1} b_m on m df (chi-square) or, under Knapp-Hartung, QM/m on (m, k - p)
  df (F; Knapp & Hartung 2003, eq. 9);
* the residual heterogeneity test QE (weights 1/v_i, k - p df);
* the pseudo-R2 of Raudenbush (2009, eq. 16.19): the proportional reduction in tau2 relative to
  the intercept-only random-effects model fitted with the same estimator,
  R2 = max(0, (tau2_RE - tau2_ME)/tau2_RE) in percent (0 when tau2_RE = 0), as metafor reports;
* :func:`permutation_test` of QM (Higgins & Thompson 2004, Stat Med 23:1663-1682), with all
  permutations fitted at once (vectorised over permutations), exact or random, and sign flips
  for intercept-only models;
* on the result: the omnibus test of any subset of coefficients (``btt=``), user weights,
  :meth:`RegressionResult.anova` (joint and Holm-adjusted tests of linear combinations),
  :meth:`~RegressionResult.vcov` (fixed, fitted, obs, resid), :meth:`~RegressionResult.vif`,
  :meth:`~RegressionResult.blup`, :meth:`~RegressionResult.ranef`,
  :meth:`~RegressionResult.rstandard`, :meth:`~RegressionResult.rstudent` and
  :meth:`~RegressionResult.heterogeneity_ci`; :func:`trialsynth.influence` accepts the result.

Moderators may be a DataFrame, a dict of columns, a 1-D or 2-D array.  Non-numeric columns (and
those named in ``categorical``) are dummy-coded with the first sorted level as the reference;
an intercept is added.  Studies with a missing moderator value are dropped with a warning
(as metafor does).
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling.estimators import EXTRA_METHODS, normalise_method
from trialsynth.pooling.fit import (
    MetaWarning,
    check_level,
    fit_model,
    knapp_hartung_scale,
    normalise_test,
    validate_inputs,
)


# ----------------------------------------------------------------------------- design
def design_matrix(moderators, k: int, *, categorical=(), intercept: bool = True):
    """Build the model matrix from moderators.

    Returns ``(X, coef_names, keep)`` where ``keep`` marks the rows with complete moderators.
    """
    if isinstance(moderators, pd.DataFrame):
        frame = moderators.reset_index(drop=True)
    elif isinstance(moderators, pd.Series):
        frame = moderators.reset_index(drop=True).to_frame(name=moderators.name or "x")
    elif isinstance(moderators, dict):
        frame = pd.DataFrame({str(key): list(val) for key, val in moderators.items()})
    else:
        arr = np.asarray(moderators, dtype=object)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ArgumentError(f"moderators must be 1-D or 2-D; got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"x{i + 1}" for i in range(arr.shape[1])])
        frame = frame.infer_objects()
    if len(frame) != k:
        raise ArgumentError(f"moderators has {len(frame)} rows but yi has {k}; lengths must match")
    if frame.shape[1] == 0:
        raise ArgumentError("moderators has no columns")
    categorical = {str(c) for c in (categorical or ())}
    unknown = categorical - {str(c) for c in frame.columns}
    if unknown:
        raise ArgumentError(f"categorical names columns not in moderators: {sorted(unknown)}")
    keep = ~frame.isna().any(axis=1).to_numpy()
    cols: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(k))
        names.append("intrcpt")
    for col in frame.columns:
        series = frame[col]
        is_cat = (str(col) in categorical or not pd.api.types.is_numeric_dtype(series)
                  or pd.api.types.is_bool_dtype(series))
        if is_cat:
            levels = sorted(pd.unique(series[keep]), key=lambda x: (str(type(x)), x))
            if len(levels) < 2:
                raise ArgumentError(f"categorical moderator {col!r} has fewer than two levels")
            start = 1 if intercept else 0
            for level in levels[start:]:
                cols.append((series == level).to_numpy(dtype=float))
                names.append(f"{col}[{level}]")
        else:
            cols.append(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float))
            names.append(str(col))
    X = np.column_stack(cols)
    return X, names, keep


# ----------------------------------------------------------------------------- result
@dataclass
class RegressionResult:
    """A fitted meta-regression (attributes are arrays over ``coef_names``)."""

    coef_names: list
    b: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    qm: float
    qm_df: tuple
    qm_p_value: float
    qe: float
    qe_df: int
    qe_p_value: float
    tau2: float
    se_tau2: float | None
    tau: float
    i2: float
    h2: float
    r2: float
    k: int
    p: int
    method: str
    test: str
    level: float
    dfs: float | None
    s2w: float
    fit_stats: dict
    converged: bool
    X: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    vb: np.ndarray
    tau2_re: float
    btt: tuple = ()
    measure: str | None = None
    warnings: list = field(default_factory=list)
    kept: np.ndarray | None = None
    #: user weights a_i (metafor's ``weights=``), None for inverse-variance weights
    user_weights: np.ndarray | None = None
    tau2_init: float | None = None
    intercept: bool = True
    labels: list | None = None

    # ------------------------------------------------------------------ inference tools
    def _crit(self) -> float:
        alpha = 1 - self.level / 100
        return float(stats.norm.ppf(1 - alpha / 2) if self.dfs is None
                     else stats.t.ppf(1 - alpha / 2, self.dfs))

    def _scale(self) -> float:
        """The Knapp-Hartung factor applied to the model variances (1 for z)."""
        return knapp_hartung_scale(self.test, self.s2w)

    def anova(self, X, adjust: str = "holm") -> ContrastTest:
        """Joint and individual Wald tests of linear combinations L b (metafor's ``anova(X=)``).

        ``X`` is a (q x p) matrix whose rows are the combinations (a 1-D array is one row).
        The joint statistic is QM = (Lb)'(L V L')^{-1}(Lb) on rank(L) df: chi-square for z, F
        = QM/q on (q, k - p) df under Knapp-Hartung (Knapp & Hartung 2003, eq. 9); each row
        gets its own z (or t) test, with p-values adjusted by Holm's (1979, Scand J Stat
        6:65-70) step-down method (``adjust="holm"``; ``"none"`` for raw p-values).
        """
        L = np.atleast_2d(np.asarray(X, dtype=float))
        if L.shape[1] != self.p:
            raise ArgumentError(f"X must have {self.p} columns ({', '.join(self.coef_names)}); "
                                f"got shape {L.shape}")
        if adjust not in ("holm", "none"):
            raise ArgumentError(f"adjust must be 'holm' or 'none'; got {adjust!r}")
        est = L @ self.b
        var = L @ self.vb @ L.T
        se = np.sqrt(np.diag(var))
        stat = est / se
        if self.dfs is None:
            p_raw = 2 * stats.norm.sf(np.abs(stat))
        else:
            p_raw = 2 * stats.t.sf(np.abs(stat), self.dfs)
        p_adj = holm(p_raw) if adjust == "holm" else p_raw.copy()
        q = int(np.linalg.matrix_rank(L))
        qm = float(est @ np.linalg.pinv(var) @ est)
        if self.test == "z":
            qm_df, qm_p = (q, None), float(stats.chi2.sf(qm, q))
        else:
            qm = qm / q
            qm_df, qm_p = (q, self.k - self.p), float(stats.f.sf(qm, q, self.k - self.p))
        return ContrastTest(L=L, estimate=est, se=se, statistic=stat, p_value=p_raw,
                            p_adjusted=p_adj, adjust=adjust, qm=qm, qm_df=qm_df, qm_p_value=qm_p)

    def vcov(self, type: str = "fixed") -> np.ndarray:
        """Variance-covariance matrices, as metafor's ``vcov(type=)``.

        ``"fixed"``: of the coefficients (the Knapp-Hartung-scaled one under knha/adhoc);
        ``"fitted"``: of the fitted values X b, X V_b X'; ``"obs"``: the marginal one of the
        observed effects, diag(v_i + tau2); ``"resid"``: of the residuals y - X b,
        M - X V_b X' with M = diag(v_i + tau2) (Viechtbauer & Cheung 2010, eq. 6).
        """
        kind = str(type).lower()
        if kind == "fixed":
            return self.vb.copy()
        if kind == "fitted":
            return self.X @ self.vb @ self.X.T
        obs = np.diag(self.vi + self.tau2)
        if kind == "obs":
            return obs
        if kind == "resid":
            return obs - self.X @ self._vb_unscaled() @ self.X.T
        raise ArgumentError(f"type must be 'fixed', 'fitted', 'obs' or 'resid'; got {type!r}")

    def _vb_unscaled(self) -> np.ndarray:
        return self.vb / self._scale()

    def vif(self, btt=None) -> pd.DataFrame | dict:
        """Variance inflation factors of the coefficients (without the intercept): the diagonal
        of R^{-1}, R the correlation matrix of the coefficient estimates (Belsley, Kuh & Welsch
        1980; for meta-regression as metafor's ``vif``), with SIF = sqrt(VIF).  With ``btt``
        (names or 0-based positions of a set of coefficients) the generalised VIF of that set,
        GVIF = det(R_11) det(R_22)/det(R), and GSIF = GVIF^(1/(2m)) (Fox & Monette 1992, JASA
        87:178-183)."""
        names = list(self.coef_names)
        idx = [j for j in range(self.p) if not (self.intercept and j == 0)]
        if len(idx) < 1:
            raise ArgumentError("variance inflation factors need at least one moderator")
        vb = self.vb[np.ix_(idx, idx)]
        d = np.sqrt(np.diag(vb))
        R = vb / np.outer(d, d)
        if btt is None:
            v = np.diag(np.linalg.inv(R)) if len(idx) > 1 else np.ones(1)
            return pd.DataFrame({"vif": v, "sif": np.sqrt(v)},
                                index=pd.Index([names[j] for j in idx], name="coef"))
        chosen = _coef_positions(btt, names)
        if any(j not in idx for j in chosen):
            raise ArgumentError("btt for a generalised VIF may not include the intercept")
        inner = [idx.index(j) for j in chosen]
        rest = [i for i in range(len(idx)) if i not in inner]
        det_r = np.linalg.det(R)
        gvif = float(np.linalg.det(R[np.ix_(inner, inner)])
                     * (np.linalg.det(R[np.ix_(rest, rest)]) if rest else 1.0) / det_r)
        return {"coefs": [names[j] for j in chosen], "gvif": gvif,
                "gsif": gvif ** (1 / (2 * len(chosen)))}

    def ranef(self) -> pd.DataFrame:
        """Best linear unbiased predictions of the random effects u_i (Raudenbush & Bryk 1985;
        Robinson 1991, Stat Sci 6:15-51): u_i = lambda_i (y_i - x_i b), lambda_i = tau2/(tau2 +
        v_i); prediction variance tau2 - tau2^2 P_ii with P = W - W X (X'WX)^{-1} X'W,
        W = diag(1/(v_i + tau2)) (under knha times s2w); interval pred -+ crit se."""
        w = 1.0 / (self.vi + self.tau2)
        lam = self.tau2 * w
        resid = self.yi - self.X @ self.b
        xvx = np.einsum("ij,jk,ik->i", self.X, self.vb, self.X)
        p_diag = w - w * w * xvx
        var = self.tau2 - self.tau2 ** 2 * p_diag
        return self._interval_frame(lam * resid, np.sqrt(np.maximum(var, 0.0)))

    def blup(self) -> pd.DataFrame:
        """Best linear unbiased predictions of the true effects theta_i = x_i b + u_i:
        lambda_i y_i + (1 - lambda_i) x_i b, with prediction variance lambda_i v_i
        + (1 - lambda_i)^2 x_i V_b x_i' (Raudenbush & Bryk 1985, eq. 6; Robinson 1991)."""
        lam = self.tau2 / (self.tau2 + self.vi)
        fitted = self.X @ self.b
        xvx = np.einsum("ij,jk,ik->i", self.X, self.vb, self.X)
        var = lam * self.vi + (1 - lam) ** 2 * xvx
        return self._interval_frame(lam * self.yi + (1 - lam) * fitted, np.sqrt(var))

    def _interval_frame(self, pred, se) -> pd.DataFrame:
        crit = self._crit()
        return pd.DataFrame({"pred": pred, "se": se, "pi_low": pred - crit * se,
                             "pi_high": pred + crit * se}, index=self._labels())

    def _labels(self):
        return pd.Index(self.labels if self.labels is not None
                        else [str(i + 1) for i in range(self.k)], name="study")

    def rstandard(self) -> pd.DataFrame:
        """Standardised residuals (y_i - x_i b)/sqrt(diag(M - X V_b X')) (Viechtbauer & Cheung
        2010, eq. 6, internally studentised), V_b = (X'WX)^{-1} unscaled also under knha (as
        metafor's ``rstandard``)."""
        resid = self.yi - self.X @ self.b
        se = np.sqrt(np.diag(self.vcov("resid")))
        return pd.DataFrame({"resid": resid, "se": se, "z": resid / se}, index=self._labels())

    def rstudent(self) -> pd.DataFrame:
        """Studentised deleted residuals (Viechtbauer & Cheung 2010, eq. 11): each study
        against the model refitted without it, (y_i - x_i b(-i))/sqrt(s(-i) (v_i + tau2(-i))
        + x_i V_b(-i) x_i'), s(-i) the deleted fit's Knapp-Hartung factor (1 for z)."""
        from trialsynth.diagnostics.sensitivity import _deleted_fits

        rows = _deleted_fits(self)
        resid = np.array([r["resid"] for r in rows])
        se = np.array([r["se_resid"] for r in rows])
        return pd.DataFrame({"resid": resid, "se": se, "z": resid / se}, index=self._labels())

    def heterogeneity_ci(self, type: str | None = None) -> pd.DataFrame:
        """CIs for the residual tau2, tau, I2 and H2, as :meth:`MetaResult.heterogeneity_ci`
        (Q-profile by default; ``"GENQ"`` with the model's weights, the default for GENQ and
        GENQM fits; ``"Wald"``; ``"PL"`` for ML/REML)."""
        from trialsynth.pooling.confint import heterogeneity_ci

        if type is None:
            type = "GENQ" if self.method in ("GENQ", "GENQM") else "QP"
        return heterogeneity_ci(self.yi, self.vi, self.X, tau2=self.tau2, method=self.method,
                                level=self.level, type=type, se_tau2=self.se_tau2,
                                weights=self.user_weights)

    def coef_table(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, statistic, p_value, ci_low, ci_high."""
        return pd.DataFrame({"estimate": self.b, "se": self.se, "statistic": self.statistic,
                             "p_value": self.p_value, "ci_low": self.ci_low,
                             "ci_high": self.ci_high}, index=pd.Index(self.coef_names, name="coef"))

    def to_frame(self) -> pd.DataFrame:
        """One tidy row of model-level quantities."""
        return pd.DataFrame([{
            "k": self.k, "p": self.p, "qm": self.qm, "qm_df1": self.qm_df[0],
            "qm_df2": self.qm_df[1], "qm_p_value": self.qm_p_value, "qe": self.qe,
            "qe_df": self.qe_df, "qe_p_value": self.qe_p_value, "tau2": self.tau2,
            "i2": self.i2, "h2": self.h2, "r2": self.r2, "method": self.method, "test": self.test,
        }])

    def predict(self, newmods=None) -> pd.DataFrame:
        """Predicted (average true) effects for rows of a design matrix.

        ``newmods`` is a (n x p) design (with the intercept column) or None for the studies'
        own fitted values.  Columns pred, se, ci_low, ci_high, pi_low, pi_high; the PI uses the
        normal quantile for z and t with k - p df otherwise (as metafor's predict).
        """
        Xn = self.X if newmods is None else np.atleast_2d(np.asarray(newmods, dtype=float))
        if Xn.shape[1] != self.p:
            raise ArgumentError(f"newmods must have {self.p} columns ({', '.join(self.coef_names)})")
        pred = Xn @ self.b
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vb, Xn))
        alpha = 1 - self.level / 100
        crit = (stats.norm.ppf(1 - alpha / 2) if self.dfs is None
                else stats.t.ppf(1 - alpha / 2, self.dfs))
        half_pi = crit * np.sqrt(se * se + self.tau2)
        return pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se,
                             "ci_high": pred + crit * se, "pi_low": pred - half_pi,
                             "pi_high": pred + half_pi})

    def summary(self) -> "SummaryText":
        """Text in the layout of metafor's print.rma for mixed-effects models."""
        lines = [f"Mixed-Effects Model (k = {self.k}; tau^2 estimator: {self.method})", "",
                 f"tau^2 (estimated amount of residual heterogeneity):     {self.tau2:.4f}"
                 + ("" if self.se_tau2 is None else f" (SE = {self.se_tau2:.4f})"),
                 f"tau (square root of estimated tau^2 value):             {self.tau:.4f}",
                 f"I^2 (residual heterogeneity / unaccounted variability): {self.i2:.2f}%",
                 f"H^2 (unaccounted variability / sampling variability):   {self.h2:.2f}",
                 f"R^2 (amount of heterogeneity accounted for):            {self.r2:.2f}%", "",
                 "Test for Residual Heterogeneity:",
                 f"QE(df = {self.qe_df}) = {self.qe:.4f}, p-val {_pv(self.qe_p_value)}", "",
                 "Test of Moderators:"]
        if self.qm_df[1] is None:
            lines.append(f"QM(df = {self.qm_df[0]}) = {self.qm:.4f}, p-val {_pv(self.qm_p_value)}")
        else:
            lines.append(f"F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {self.qm:.4f}, "
                         f"p-val {_pv(self.qm_p_value)}")
        lines += ["", "Model Results:", ""]
        table = self.coef_table()
        table["p_value"] = table["p_value"].map(_p)
        lines.append(table.to_string(float_format=lambda x: f"{x:.4f}"))
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        from trialsynth.pooling.results import SummaryText

        return SummaryText("\n".join(lines))  # displays as text in Jupyter

    def __str__(self) -> str:
        return self.summary()


@dataclass
class ContrastTest:
    """Tests of linear combinations of meta-regression coefficients (:meth:`RegressionResult.anova`)."""

    L: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    adjust: str
    qm: float
    qm_df: tuple
    qm_p_value: float

    def to_frame(self) -> pd.DataFrame:
        """One row per combination: estimate, se, statistic, p_value, p_adjusted."""
        return pd.DataFrame({"estimate": self.estimate, "se": self.se,
                             "statistic": self.statistic, "p_value": self.p_value,
                             "p_adjusted": self.p_adjusted})


def holm(p) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: sorted ascending, p_(j) (m - j + 1) made
    monotone by a running maximum and capped at 1."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adj
    return out


def _coef_positions(btt, names) -> list[int]:
    """Coefficient names or 0-based positions -> sorted unique positions (ArgumentError else)."""
    items = [btt] if isinstance(btt, (str, int, np.integer)) else list(btt)
    if not items:
        raise ArgumentError("btt must name at least one coefficient")
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ArgumentError(f"btt: no coefficient named {item!r}; the coefficients are "
                                    f"{', '.join(names)}")
            out.append(names.index(item))
        else:
            j = int(item)
            if not 0 <= j < len(names):
                raise ArgumentError(f"btt: position {item!r} is outside 0..{len(names) - 1} "
                                    f"(0-based; the coefficients are {', '.join(names)})")
            out.append(j)
    return sorted(set(out))


def _pv(p):
    text = _p(p)
    return "< .0001" if text == "<.0001" else f"= {text}"


def _p(p):
    if p is None or p != p:
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


# ----------------------------------------------------------------------------- fitting
def _qm(b, vb, btt, test, k, p):
    bm = b[list(btt)]
    vm = vb[np.ix_(btt, btt)]
    qm = float(bm @ np.linalg.solve(vm, bm))
    m = len(btt)
    if test == "z":
        return qm, (m, None), float(stats.chi2.sf(qm, m))
    f = qm / m
    return f, (m, k - p), float(stats.f.sf(f, m, k - p))


def meta_regression(
    yi,
    vi=None,
    moderators=None,
    *,
    sei=None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    categorical=(),
    intercept: bool = True,
    measure: str | None = None,
    tol: float = 1e-12,
    maxiter: int = 10000,
    warn: bool = True,
    btt=None,
    weights=None,
    tau2_init: float | None = None,
    labels=None,
) -> RegressionResult:
    """Fit a meta-regression (mixed-effects meta-analysis model with moderators).

    Parameters
    ----------
    yi, vi (or sei)
        Effects and sampling variances.
    moderators : DataFrame, dict, Series or array
        Study-level covariates, one row per study.  Non-numeric columns and the columns named
        in ``categorical`` are dummy-coded (first sorted level = reference).
    method, test, level
        As in :func:`trialsynth.pool`; ``test="knha"`` gives t tests for coefficients and an F
        test for the moderators.
    intercept : bool
        Add an intercept column (default True); QM then tests all other coefficients.
    btt : names or 0-based positions, optional
        The coefficients the omnibus test QM covers (metafor's ``btt``, whose positions are
        1-based: metafor's ``btt = 2`` is ``btt=1`` or the coefficient's name here); default
        every coefficient but the intercept.
    weights : array, optional
        User weights a_i (metafor's ``weights=``): b = (X'AX)^{-1} X'A y with the sandwich
        variance; tau2 is estimated as without them (GENQ/GENQM use them in their equation).
    tau2_init : float, optional
        metafor's ``tau2.init``: start of ML/REML, initial estimate of SJ.
    labels : sequence, optional
        Study labels (kept for the rows of blup, ranef and the residuals).

    Returns
    -------
    RegressionResult
    """
    method = normalise_method(method)
    test = normalise_test(test)
    level = check_level(level)
    y, v = validate_inputs(yi, vi, sei)
    if moderators is None:
        raise ArgumentError("moderators is required (a DataFrame, dict or array of covariates)")
    X, names, keep = design_matrix(moderators, y.size, categorical=categorical, intercept=intercept)
    a = None
    if weights is not None:
        a = np.asarray(weights, dtype=float).reshape(-1)
        if a.size != y.size:
            raise ArgumentError(f"weights has {a.size} values but yi has {y.size}; lengths must match")
        if not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ArgumentError("weights must be positive and finite")
    lab = None if labels is None else [str(x) for x in labels]
    if lab is not None and len(lab) != y.size:
        raise ArgumentError(f"labels has {len(lab)} entries but yi has {y.size}; lengths must match")
    msgs = []
    if not keep.all():
        msgs.append(f"{int((~keep).sum())} studies with missing moderator values were dropped")
        y, v, X = y[keep], v[keep], X[keep]
        a = None if a is None else a[keep]
        lab = None if lab is None else [x for x, kp in zip(lab, keep) if kp]
    k, p = X.shape
    if np.linalg.matrix_rank(X) < p:
        raise ArgumentError("moderators are collinear: the model matrix is not of full column rank")
    if k - p < 1:
        raise ArgumentError(f"too few studies ({k}) for {p} coefficients; need k > p")
    core = fit_model(y, v, X, method=method, test=test, level=level, tol=tol, maxiter=maxiter,
                     weights=a, tau2_init=tau2_init)
    msgs.extend(core.warnings)
    if btt is None:
        btt = tuple(range(1, p)) if intercept else tuple(range(p))
    else:
        btt = tuple(_coef_positions(btt, names))
    if btt:
        qm, qm_df, qm_p = _qm(core.b, core.vb, btt, test, k, p)
    else:
        qm, qm_df, qm_p = float("nan"), (0, None), float("nan")
    # pseudo-R2 against the intercept-only model with the same estimator
    if method == "EE" or not intercept:
        tau2_re, r2 = float("nan"), float("nan")
    else:
        re = fit_model(y, v, None, method=method, test="z", level=level, tol=tol, maxiter=maxiter,
                       tau2_init=tau2_init)
        tau2_re = re.tau2
        r2 = 0.0 if tau2_re <= 0 else max(0.0, 100.0 * (tau2_re - core.tau2) / tau2_re)
    result = RegressionResult(
        coef_names=names, b=core.b, se=core.se, statistic=core.statistic, p_value=core.p_value,
        ci_low=core.ci_low, ci_high=core.ci_high, qm=qm, qm_df=qm_df, qm_p_value=qm_p,
        qe=core.q, qe_df=core.q_df, qe_p_value=core.q_p_value, tau2=core.tau2,
        se_tau2=core.se_tau2, tau=math.sqrt(core.tau2), i2=core.i2, h2=core.h2, r2=r2, k=k, p=p,
        method=method, test=test, level=level, dfs=core.dfs, s2w=core.s2w,
        fit_stats=core.fit_stats, converged=core.converged, X=X, yi=y, vi=v, vb=core.vb,
        tau2_re=tau2_re, btt=btt, measure=measure, warnings=msgs, kept=keep, user_weights=a,
        tau2_init=tau2_init, intercept=intercept, labels=lab,
    )
    if warn:
        for m in msgs:
            _warnings.warn(m, MetaWarning, stacklevel=2)
    return result


# ----------------------------------------------------------------------------- batch over designs
def _batch_fit_fixed_design(Y, V, X, method, test, tol=1e-12, maxiter=10000):
    """Fit B models sharing the design X (k x p) with outcomes Y and variances V (B x k).

    Vectorised over the B rows (batched p x p solves).  Returns b (B x p), vb (B x p x p),
    tau2 (B,), converged (B,).  Supports every estimator except HE and SJ, whose OLS step is
    also vectorised here (the OLS hat matrix does not depend on the row).
    """
    B, k = Y.shape
    p = X.shape[1]
    if method in EXTRA_METHODS:  # root-finding estimators: one fit per row
        fits = [fit_model(Y[i], V[i], X, method=method, test=test, tol=tol, maxiter=maxiter)
                for i in range(B)]
        return (np.array([f.b for f in fits]), np.array([f.vb for f in fits]),
                np.array([f.tau2 for f in fits]), np.array([f.converged for f in fits]))

    def wls_parts(w):
        xtwx = np.einsum("bi,ij,ik->bjk", w, X, X)
        inv = np.linalg.inv(xtwx)
        xtwy = np.einsum("bi,ij,bi->bj", w, X, Y)
        b = np.einsum("bjk,bk->bj", inv, xtwy)
        r = Y - b @ X.T
        return b, inv, r

    def traces(w, inv):
        # H_ii = x_i' inv x_i ; tr(P) = sum w - sum w_i^2 H_ii ; tr(PP) via the full P
        xh = np.einsum("ij,bjk->bik", X, inv)            # (B, k, p)
        H = np.einsum("bik,lk->bil", xh, X)               # (B, k, k)
        P = -w[:, :, None] * H * w[:, None, :]
        idx = np.arange(k)
        P[:, idx, idx] += w
        return P

    w0 = 1.0 / V
    _, inv0, r0 = wls_parts(w0)
    q = np.einsum("bi,bi->b", w0 * r0, r0)
    dfr = k - p
    converged = np.ones(B, dtype=bool)
    if method == "EE":
        tau2 = np.zeros(B)
    elif method in ("DL", "GENQ", "HS", "HSk"):
        P0 = traces(w0, inv0)
        trp = np.einsum("bii->b", P0)
        if method in ("DL", "GENQ"):
            tau2 = np.maximum(0.0, (q - dfr) / trp)
        else:
            factor = k / dfr if method == "HSk" else 1.0
            tau2 = np.maximum(0.0, (factor * q - k) / w0.sum(axis=1))
    elif method in ("HE", "SJ"):
        ones = np.ones((B, k))
        _, _, r_ols = wls_parts(ones)
        if method == "HE":
            hat = X @ np.linalg.inv(X.T @ X) @ X.T
            p0_diag = 1.0 - np.diag(hat)
            tau2 = np.maximum(0.0, (np.sum(r_ols ** 2, axis=1) - V @ p0_diag) / dfr)
        else:
            # Sidik & Jonkman's crude tau0 from the unweighted mean (estimators.sj_initial)
            dev = Y - Y.mean(axis=1, keepdims=True)
            tau0 = np.sum(dev * dev, axis=1) / k
            tau0 = np.where(tau0 > 0, tau0, 1e-10)
            w = 1.0 / (V + tau0[:, None])
            _, _, r = wls_parts(w)
            tau2 = tau0 * np.einsum("bi,bi->b", w * r, r) / dfr
    elif method in ("ML", "REML", "EB", "PM", "PMM"):
        tau2, converged = _iterate_tau2(Y, V, X, method, q, dfr, tol, maxiter)
        if method in ("ML", "REML"):  # keep tau2 = 0 where its likelihood is higher (defect 1)
            def loglik(t):
                w = 1.0 / (V + t[:, None])
                _, inv, r = wls_parts(w)
                val = np.sum(np.log(V + t[:, None]), axis=1) + np.einsum("bi,bi->b", w * r, r)
                if method == "REML":
                    val -= np.linalg.slogdet(inv)[1]
                return -0.5 * val

            ll_t, ll_0 = loglik(tau2), loglik(np.zeros(B))
            tau2 = np.where((tau2 > 0) & (ll_0 > ll_t + 1e-10 * np.maximum(1.0, np.abs(ll_t))),
                            0.0, tau2)
    if method == "GENQ":
        b, inv, _ = wls_parts(w0)
        mid = np.einsum("bi,ij,ik->bjk", w0 * w0 * (V + tau2[:, None]), X, X)
        vb = inv @ mid @ inv
    else:
        w = 1.0 / (V + tau2[:, None])
        b, vb, _ = wls_parts(w)
    if test != "z":
        w = 1.0 / (V + tau2[:, None])
        _, _, r = wls_parts(w)
        s2w = np.einsum("bi,bi->b", w * r, r) / dfr
        scale = s2w if test == "knha" else np.maximum(1.0, s2w)
        vb = vb * scale[:, None, None]
    return b, vb, tau2, converged


def _iterate_tau2(Y, V, X, method, q, dfr, tol, maxiter):
    """ML/REML (Fisher scoring, then secant steps) and EB/PM/PMM (Newton on the generalised Q)
    for rows sharing the design X; only rows not yet converged are updated."""
    B, k = Y.shape
    idx_k = np.arange(k)

    def pmat(w, rows):
        xtwx = np.einsum("bi,ij,ik->bjk", w, X, X)
        inv = np.linalg.inv(xtwx)
        H = np.einsum("ij,bjk,lk->bil", X, inv, X)
        P = -w[:, :, None] * H * w[:, None, :]
        P[:, idx_k, idx_k] += w
        return P

    if method in ("EB", "PM", "PMM"):
        target = dfr if method in ("EB", "PM") else float(special.chdtri(dfr, 0.5))
        tau2 = np.zeros(B)
        conv = q <= target
    else:
        w0 = 1.0 / V
        P0 = pmat(w0, None)
        tau2 = np.maximum(0.0, (q - dfr) / np.einsum("bii->b", P0))
        conv = np.zeros(B, dtype=bool)
    floor = np.maximum(1e-12, V.mean(axis=1))  # noise scale of tau2, as estimators._tau2_floor
    prev_t = np.full(B, np.nan)
    prev_u = np.full(B, np.nan)
    for it in range(maxiter):
        act = np.flatnonzero(~conv)
        if act.size == 0:
            break
        t = tau2[act]
        y = Y[act]
        w = 1.0 / (V[act] + t[:, None])
        P = pmat(w, act)
        py = np.einsum("bij,bj->bi", P, y)
        if method in ("EB", "PM", "PMM"):
            u = np.einsum("bi,bi->b", y, py) - target
            new = t + u / np.einsum("bi,bi->b", py, py)
        else:
            if method == "ML":
                # P y = W r, so y'PPy = sum w^2 r^2
                u = np.einsum("bi,bi->b", py, py) - w.sum(axis=1)
                info = np.sum(w * w, axis=1)
            else:
                u = np.einsum("bi,bi->b", py, py) - np.einsum("bii->b", P)
                info = np.einsum("bij,bij->b", P, P)
            new = t + u / info
            if it >= 3:
                du = u - prev_u[act]
                with np.errstate(all="ignore"):
                    sec = t - u * (t - prev_t[act]) / du
                ok = np.isfinite(sec) & (du != 0) & (sec > 0)
                new = np.where(ok, sec, new)
        new = np.maximum(0.0, new)
        prev_t[act], prev_u[act] = t, u
        done = (np.abs(new - t) <= tol * np.maximum(new, floor[act])) | ((t == 0) & (new == 0))
        tau2[act] = new
        conv[act[done]] = True
    return tau2, conv


def _sign_flip_test(yi, vi, method, test, statistic, n, seed, exact):
    """Permutation test of an intercept-only model: the signs of the effects are flipped at
    random (or in all 2^k ways when ``exact``), which is the permutation distribution of the
    effects around 0 under H0: mu = 0 (Follmann & Proschan 1999, Stat Med 18:2015-2028,
    section 2; metafor's ``permutest`` for models without moderators)."""
    from trialsynth.pooling.batch import pool_batch

    k = yi.size
    if exact:
        if k > 20:
            raise ArgumentError(f"an exact sign-flip test enumerates 2^k = 2^{k} fits; use "
                                "exact=False (random flips) for k > 20")
        codes = np.arange(2 ** k, dtype=np.int64)
        signs = 1.0 - 2.0 * ((codes[:, None] >> np.arange(k)) & 1)
    else:
        rng = np.random.default_rng(seed)
        signs = np.where(rng.random((n, k)) < 0.5, -1.0, 1.0)
    stat_perm = np.empty(signs.shape[0])
    chunk = 50_000
    for start in range(0, signs.shape[0], chunk):
        part = signs[start:start + chunk]
        res = pool_batch(part * yi[None, :], np.broadcast_to(vi, part.shape).copy(),
                         method=method, test=test)
        stat_perm[start:start + chunk] = res.statistic
    obs = abs(float(statistic))
    hits = int(np.sum(np.abs(stat_perm) >= obs - 1e-12 * max(1.0, obs)))
    p = hits / signs.shape[0] if exact else (1 + hits) / (1 + signs.shape[0])
    return {"statistic": float(statistic), "p_value": float(p), "coef_p_values": np.array([p]),
            "coef_names": ["intrcpt"], "qm": float("nan"), "qm_p_value": float("nan"),
            "n_permutations": int(signs.shape[0]), "exact": bool(exact), "seed": seed,
            "statistic_permuted": stat_perm}


def permutation_test(result, n_permutations: int = 1000, seed=None, exact: bool = False) -> dict:
    """Permutation test of a meta-regression's QM (and of each coefficient), or of the pooled
    effect of an intercept-only model.

    With moderators, the rows of the model matrix are permuted relative to (yi, vi) (Higgins &
    Thompson 2004, section 3; as metafor's ``permutest``), the model is refitted with the same
    estimator and test for every permutation at once, and the p-value is
    (1 + #{QM* >= QM})/(1 + n) (Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39, eq. 2),
    never 0.  Coefficient p-values use |z*| >= |z| in the same way.

    For an intercept-only model (a :class:`~trialsynth.MetaResult` from :func:`trialsynth.pool`,
    or a meta-regression without moderators) the signs of the effects are flipped instead
    (:func:`_sign_flip_test`) and |z*| >= |z| (or |t*| under knha) is counted.

    ``exact=True`` enumerates every permutation (k! of them, k <= 10) or every sign flip
    (2^k, k <= 20); the p-value is then the exact proportion #{stat* >= stat}/N, the
    identity included (as metafor's ``permutest(exact=TRUE)``).

    Returns a dict with ``qm``, ``qm_p_value`` (permutation), ``coef_p_values`` (array),
    ``n_permutations``, ``seed``, ``exact`` and ``qm_permuted`` (the null distribution); for an
    intercept-only model ``statistic``, ``p_value`` and ``statistic_permuted``.
    """
    from trialsynth.pooling.results import MetaResult

    if not isinstance(result, (RegressionResult, MetaResult)):
        raise ArgumentError("result must be a RegressionResult from meta_regression() or a "
                            "MetaResult from pool()")
    try:
        n = int(n_permutations)
    except (TypeError, ValueError):
        raise ArgumentError(f"n_permutations must be a positive integer; got {n_permutations!r}") from None
    if n < 1:
        raise ArgumentError(f"n_permutations must be a positive integer; got {n_permutations!r}")
    if isinstance(result, MetaResult):
        if result.user_weights is not None:
            raise ArgumentError("the permutation test of a pool() fit with user weights is not "
                                "available")
        method = result.fitted_method or result.method
        return _sign_flip_test(result.yi, result.vi, method, result.test, result.statistic, n,
                               seed, exact)
    if not result.btt:
        if result.p == 1 and result.intercept:
            return _sign_flip_test(result.yi, result.vi, result.method, result.test,
                                   result.statistic[0], n, seed, exact)
        raise ArgumentError("the model has no moderators to test")
    k = result.k
    if exact:
        if k > 10:
            raise ArgumentError(f"an exact permutation test enumerates k! = {math.factorial(k)} "
                                "fits; use exact=False for k > 10")
        import itertools

        perms = np.array(list(itertools.permutations(range(k))), dtype=np.intp)
    else:
        rng = np.random.default_rng(seed)
        perms = np.argsort(rng.random((n, k)), axis=1)
    n_fits = perms.shape[0]
    # permuting X's rows against (y, v) == applying the inverse permutation to (y, v)
    inv = np.argsort(perms, axis=1)
    Y = result.yi[inv]
    V = result.vi[inv]
    chunk = max(1, int(2e7 // max(1, k * k * 8)))
    qms, stats_abs = [], []
    btt = list(result.btt)
    for start in range(0, n_fits, chunk):
        b, vb, _, _ = _batch_fit_fixed_design(Y[start:start + chunk], V[start:start + chunk],
                                              result.X, result.method, result.test)
        bm = b[:, btt]
        vm = vb[:, btt][:, :, btt]
        qm = np.einsum("bi,bi->b", bm, np.linalg.solve(vm, bm[:, :, None])[:, :, 0])
        if result.test != "z":
            qm = qm / len(btt)
        qms.append(qm)
        se = np.sqrt(np.einsum("bii->bi", vb))
        stats_abs.append(np.abs(b / se))
    qm_perm = np.concatenate(qms)
    z_perm = np.concatenate(stats_abs)
    tol = 1e-12 * max(1.0, abs(result.qm))
    obs = np.abs(result.statistic)
    hits_qm = np.sum(qm_perm >= result.qm - tol)
    hits_z = np.sum(z_perm >= obs[None, :] - 1e-12 * np.maximum(1, obs)[None, :], axis=0)
    if exact:
        p_qm, p_coef = hits_qm / n_fits, hits_z / n_fits
    else:
        p_qm, p_coef = (1 + hits_qm) / (1 + n_fits), (1 + hits_z) / (1 + n_fits)
    return {"qm": result.qm, "qm_p_value": float(p_qm), "coef_p_values": p_coef,
            "coef_names": list(result.coef_names), "n_permutations": int(n_fits), "seed": seed,
            "exact": bool(exact), "qm_permuted": qm_perm}


__all__ = ["meta_regression", "RegressionResult", "ContrastTest", "permutation_test",
           "design_matrix", "holm"]
