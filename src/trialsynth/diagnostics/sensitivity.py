"""Sensitivity analyses: leave-one-out, cumulative, influence diagnostics and GOSH.

Each function takes ``yi, vi`` (or a fitted :class:`trialsynth.MetaResult`,
whose method and test are reused) and returns a tidy DataFrame, one row per
study (or per subset for :func:`gosh`). They reproduce metafor 3.8's
``leave1out``, ``cumul``, ``influence`` and ``gosh``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.diagnostics._inputs import cumulative_order, fit_options, model_fit, pooled, study_arrays
from trialsynth.diagnostics.mh_sensitivity import cumulative_mh, is_count_model, leave_one_out_mh
from trialsynth.errors import ArgumentError

__all__ = ["leave_one_out", "cumulative", "influence", "gosh"]


_FIT_COLUMNS = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "q", "q_p_value", "tau2", "i2", "h2"]


def _fit_row(result) -> dict:
    row = {column: getattr(result, column) for column in _FIT_COLUMNS}
    if result.k == 1:
        # one study: no heterogeneity can be observed (metafor reports Q = 0, p = 1, I2 = 0, H2 = 1)
        row.update({"q": 0.0, "q_p_value": 1.0, "tau2": 0.0, "i2": 0.0, "h2": 1.0})
    row["k"] = result.k
    return row


def leave_one_out(yi, vi=None, *, sei=None, method=None, test=None, level=None, labels=None) -> pd.DataFrame:
    """Leave-one-out analysis: the meta-analysis refitted without each study in turn.

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult`` (its method and test are reused),
        or a Mantel-Haenszel / Peto result (its model is refitted from the counts, see
        :mod:`trialsynth.diagnostics.mh_sensitivity`).
    sei : array-like, optional
        Standard errors instead of ``vi``.
    method, test, level :
        The model (default: the fitted result's, else REML, z, 95).
    labels : sequence of str, optional

    Returns
    -------
    DataFrame
        One row per omitted study, in input order: ``omitted`` (label),
        ``k``, ``estimate, se, statistic, p_value, ci_low, ci_high, q,
        q_p_value, tau2, i2, h2``.
    """
    if is_count_model(yi):
        return leave_one_out_mh(yi, vi=vi, sei=sei, method=method, test=test, level=level, labels=labels)
    y, v, lab, fit = study_arrays(yi, vi, sei=sei, labels=labels, min_k=2)
    method, test, level = fit_options(fit, method, test, level)
    rows = []
    for i in range(y.size):
        keep = np.arange(y.size) != i
        row = _fit_row(pooled(y[keep], v[keep], method=method, test=test, level=level))
        rows.append({"omitted": lab[i], **row})
    return pd.DataFrame(rows, columns=["omitted", "k", *_FIT_COLUMNS])


def cumulative(
    yi, vi=None, *, sei=None, order=None, method=None, test=None, level=None, labels=None
) -> pd.DataFrame:
    """Cumulative meta-analysis: studies added one at a time (Lau et al. 1992, NEJM 327:248-254).

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult``, or a Mantel-Haenszel / Peto
        result (refitted from its counts, :mod:`trialsynth.diagnostics.mh_sensitivity`).
    order : array-like, optional
        The order in which studies are added: a permutation of 0..k-1, or
        sort keys (such as publication years) of length k, sorted stably. By
        default the input (CSV) order.
    method, test, level :
        The model (default: the fitted result's, else REML, z, 95).

    Returns
    -------
    DataFrame
        One row per step: ``added`` (label of the study added), ``k``, and
        the fit of the studies added so far.
    """
    if is_count_model(yi):
        index = cumulative_order(order, yi.k)
        return cumulative_mh(yi, index, vi=vi, sei=sei, method=method, test=test, level=level, labels=labels)
    y, v, lab, fit = study_arrays(yi, vi, sei=sei, labels=labels, min_k=1)
    method, test, level = fit_options(fit, method, test, level)
    k = y.size
    index = cumulative_order(order, k)
    rows = []
    for step in range(1, k + 1):
        chosen = index[:step]
        row = _fit_row(pooled(y[chosen], v[chosen], method=method, test=test, level=level))
        rows.append({"added": lab[index[step - 1]], **row})
    return pd.DataFrame(rows, columns=["added", "k", *_FIT_COLUMNS])


def _knapp_hartung_scale(fit) -> float:
    """The factor multiplying the model variances: 1 (z), s2w (knha) or max(1, s2w) (adhoc)."""
    from trialsynth.pooling.fit import knapp_hartung_scale

    return knapp_hartung_scale(fit.test, fit.s2w)


def _deleted_fits(reg) -> list[dict]:
    """Study by study, a meta-regression (:class:`~trialsynth.pooling.regression.RegressionResult`)
    refitted without that study with the same estimator, test, level, user weights and
    tau2_init.  Each entry: ``fit`` (a ModelFit, or None when the design without the study is
    rank deficient), ``resid`` (y_i - x_i b(-i)), ``se_resid`` and ``scale`` (the deleted fit's
    Knapp-Hartung factor)."""
    from trialsynth.pooling.fit import fit_model

    rows = []
    for i in range(reg.k):
        keep = np.arange(reg.k) != i
        Xd = reg.X[keep]
        if np.linalg.matrix_rank(Xd) < reg.p or reg.k - 1 - reg.p < 1:
            rows.append({"fit": None, "resid": math.nan, "se_resid": math.nan, "scale": math.nan})
            continue
        fit = fit_model(reg.yi[keep], reg.vi[keep], Xd, method=reg.method, test=reg.test,
                        level=reg.level, tau2_init=reg.tau2_init,
                        weights=None if reg.user_weights is None else reg.user_weights[keep])
        scale = _knapp_hartung_scale(fit)
        xi = reg.X[i]
        resid = float(reg.yi[i] - xi @ fit.b)
        se_resid = math.sqrt(scale * (reg.vi[i] + fit.tau2) + float(xi @ fit.vb @ xi))
        rows.append({"fit": fit, "resid": resid, "se_resid": se_resid, "scale": scale})
    return rows


def _influence_regression(reg) -> pd.DataFrame:
    """:func:`influence` for a meta-regression (the formulas of Viechtbauer & Cheung 2010 with
    the design X: hat values diag(X (X'WX)^-1 X'W), Cook's distance with the full vb,
    DFBETAS per coefficient with (X'W(-i)X)^-1)."""
    k, p, X = reg.k, reg.p, reg.X
    w = 1.0 / (reg.vi + reg.tau2)
    if reg.user_weights is None:
        a = w
        xtax_inv = np.linalg.inv((X.T * a) @ X)
        hat = np.einsum("ij,jk,ik->i", X, xtax_inv, X) * a
    else:
        a = reg.user_weights
        xtax_inv = np.linalg.inv((X.T * a) @ X)
        hat = np.einsum("ij,jk,ik->i", X, xtax_inv, X) * a
    weight = 100 * a / a.sum()
    vb_inv = np.linalg.inv(reg.vb)
    det_vb = np.linalg.det(reg.vb)
    out = {name: np.full(k, np.nan) for name in ("rstudent", "dffits", "cook_d", "cov_r",
                                                  "tau2_del", "qe_del")}
    dfbetas = np.full((k, p), np.nan)
    for i, row in enumerate(_deleted_fits(reg)):
        fit = row["fit"]
        if fit is None:
            continue
        d = reg.b - fit.b
        scale = row["scale"]
        out["rstudent"][i] = row["resid"] / row["se_resid"]
        out["dffits"][i] = float(X[i] @ d) / math.sqrt(scale * hat[i] * (reg.vi[i] + fit.tau2))
        out["cook_d"][i] = float(d @ vb_inv @ d)
        out["cov_r"][i] = np.linalg.det(fit.vb) / det_vb
        out["tau2_del"][i] = fit.tau2
        out["qe_del"][i] = fit.q
        w_del = 1.0 / (reg.vi + fit.tau2)
        dfbetas[i] = d / np.sqrt(scale * np.diag(np.linalg.inv((X.T * w_del) @ X)))
    dffits_cut = 3 * math.sqrt(p / (k - p)) if k > p else math.inf
    with np.errstate(invalid="ignore"):
        infl = ((np.abs(out["dffits"]) > dffits_cut)
                | (stats.chi2.cdf(out["cook_d"], p) > 0.5)
                | (hat > 3 * p / k)
                | np.any(np.abs(dfbetas) > 1, axis=1))
    labels = reg.labels if reg.labels is not None else [str(i + 1) for i in range(k)]
    frame = pd.DataFrame({"label": labels, **out, "hat": hat, "weight": weight})
    for j, name in enumerate(reg.coef_names):
        frame[f"dfbetas_{name}"] = dfbetas[:, j]
    frame["is_influential"] = infl
    return frame


def influence(yi, vi=None, *, sei=None, method=None, test=None, level=None, labels=None) -> pd.DataFrame:
    """Outlier and influence diagnostics (Viechtbauer & Cheung 2010, Res Synth Methods 1:112-125).

    For each study i the model is refitted without it (tau2 re-estimated),
    giving b(-i), its variance vb(-i) and tau2(-i); with the full fit's b,
    vb, tau2, weights w_j = 1/(v_j + tau2) and hat values h_i (diagonal of
    X (X'WX)^-1 X'W):

    * ``rstudent``: (y_i - x_i b(-i)) / sqrt(v_i + tau2(-i) + x_i vb(-i) x_i')
      (studentized deleted residual, eq. 11);
    * ``dffits``: (x_i b - x_i b(-i)) / sqrt(h_i (v_i + tau2(-i))) (eq. 12);
    * ``cook_d``: (b - b(-i))' vb^-1 (b - b(-i)) (eq. 13);
    * ``cov_r``: det vb(-i) / det vb (eq. 14);
    * ``tau2_del``, ``qe_del``: tau2 and Cochran's Q without study i;
    * ``hat``, ``weight`` (percent);
    * ``dfbetas``: (b - b(-i)) / sqrt((X' W(-i) X)^-1), where W(-i) holds
      1/(v_j + tau2(-i)) for all k studies (eq. 15);
    * with ``test="knha"`` (or ``"adhoc"``), the variances in rstudent, dffits
      and dfbetas are multiplied by the deleted fit's Knapp-Hartung factor
      s2w(-i), and vb, vb(-i) are the scaled ones (as metafor);
    * ``is_influential``: |dffits| > 3 sqrt(p/(k-p)), or the chi-square(p)
      cdf of cook_d > .5, or hat > 3p/k, or any |dfbetas| > 1 (the criteria
      of Viechtbauer & Cheung 2010, section 4, as metafor flags them).

    Given a meta-regression (:func:`trialsynth.meta_regression`'s result) the same
    diagnostics are computed with its moderators, estimator, test and weights (each study's
    deleted fit is the meta-regression without it; DFBETAS become one column
    ``dfbetas_<coef>`` per coefficient; criteria use p coefficients).

    Returns
    -------
    DataFrame
        One row per study: ``label, rstudent, dffits, cook_d, cov_r,
        tau2_del, qe_del, hat, weight, dfbetas, is_influential``.
    """
    from trialsynth.pooling.regression import RegressionResult

    if isinstance(yi, RegressionResult):
        return _influence_regression(yi)
    y, v, lab, fit = study_arrays(yi, vi, sei=sei, labels=labels, min_k=2)
    method, test, level = fit_options(fit, method, test, level)
    k = y.size
    p = 1
    full = model_fit(y, v, method=method, test=test, level=level)
    b = float(full.b[0])
    vb = float(full.vb[0, 0])
    w = 1 / (v + full.tau2)
    hat = w / w.sum()
    weight = 100 * w / w.sum()
    out = {name: np.empty(k) for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "dfbetas")}
    for i in range(k):
        keep = np.arange(k) != i
        deleted = model_fit(y[keep], v[keep], method=method, test=test, level=level)
        b_del = float(deleted.b[0])
        vb_del = float(deleted.vb[0, 0])
        tau2_del = float(deleted.tau2)
        scale = _knapp_hartung_scale(deleted)
        out["rstudent"][i] = (y[i] - b_del) / math.sqrt(scale * (v[i] + tau2_del) + vb_del)
        out["dffits"][i] = (b - b_del) / math.sqrt(scale * hat[i] * (v[i] + tau2_del))
        out["cook_d"][i] = (b - b_del) ** 2 / vb
        out["cov_r"][i] = vb_del / vb
        out["tau2_del"][i] = tau2_del
        out["qe_del"][i] = deleted.q
        # scaled by the variance of b with tau2(-i) but all k weights (eq. 15)
        out["dfbetas"][i] = (b - b_del) / math.sqrt(scale / np.sum(1 / (v + tau2_del)))
    dffits_cut = 3 * math.sqrt(p / (k - p)) if k > p else math.inf
    infl = (
        (np.abs(out["dffits"]) > dffits_cut)
        | (stats.chi2.cdf(out["cook_d"], p) > 0.5)
        | (hat > 3 * p / k)
        | (np.abs(out["dfbetas"]) > 1)
    )
    return pd.DataFrame(
        {
            "label": lab,
            "rstudent": out["rstudent"],
            "dffits": out["dffits"],
            "cook_d": out["cook_d"],
            "cov_r": out["cov_r"],
            "tau2_del": out["tau2_del"],
            "qe_del": out["qe_del"],
            "hat": hat,
            "weight": weight,
            "dfbetas": out["dfbetas"],
            "is_influential": infl,
        }
    )


_GOSH_STATS = ["k", "estimate", "se", "tau2", "i2", "h2", "q", "q_p_value"]


def _subset_masks(k: int, subsets: int | None, max_subsets: int, min_k: int, seed) -> tuple[np.ndarray, bool]:
    """Boolean (m x k) membership: every subset, or a random sample of them."""
    total = 2**k - 1
    limit = max_subsets if subsets is None else int(subsets)
    if limit < 1:
        raise ArgumentError(f"subsets: expected a positive number of subsets, got {subsets!r}")
    if total <= limit:
        codes = np.arange(1, total + 1, dtype=np.int64)
        masks = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
        # by subset size, then as R's gosh() lists them
        masks = masks[np.argsort(masks.sum(axis=1), kind="stable")]
        return masks[masks.sum(axis=1) >= min_k], False
    rng = np.random.default_rng(seed)
    masks = np.empty((0, k), dtype=bool)
    while masks.shape[0] < limit:
        draw = rng.random((limit, k)) < 0.5
        draw = draw[draw.sum(axis=1) >= min_k]
        masks = np.unique(np.vstack([masks, draw]), axis=0)
    masks = masks[rng.permutation(masks.shape[0])[:limit]]
    return masks, True


def gosh(
    yi,
    vi=None,
    *,
    sei=None,
    method=None,
    test=None,
    level=None,
    labels=None,
    subsets: int | None = None,
    max_subsets: int = 1_000_000,
    min_k: int = 1,
    seed=None,
    chunk_size: int = 200_000,
) -> pd.DataFrame:
    """Graphical display of study heterogeneity (GOSH; Olkin, Dahabreh & Trikalinos 2012,
    Res Synth Methods 3:214-223).

    The meta-analysis is refitted to every non-empty subset of the k studies
    (2^k - 1 fits), or to a random sample of subsets when there are more than
    ``max_subsets`` (or ``subsets`` is given). Fits are vectorised with
    :func:`trialsynth.pool_batch` (no Python loop over fits).

    Parameters
    ----------
    yi, vi : array-like
        Effects and variances, or a fitted ``MetaResult`` (its method is reused).
    method, test, level :
        The model (default: the fitted result's, else REML, z, 95).
    labels : sequence of str, optional
        Study labels, used as the names of the membership columns.
    subsets : int, optional
        Fit this many randomly chosen distinct subsets instead of all of them.
    max_subsets : int
        Above this number of possible subsets, a random sample of this size is used.
    min_k : int
        Smallest subset size (default 1, as metafor).
    seed : int, optional
        Seed of the random sample.
    chunk_size : int
        Subsets fitted per batch (bounds memory).

    Returns
    -------
    DataFrame
        One row per subset: ``k, estimate, se, tau2, i2, h2, q, q_p_value``
        and one boolean column per study (named by its label) telling whether
        it is in the subset. ``frame.attrs`` holds ``studies`` (the label
        columns), ``method``, ``sampled`` (True for a random sample) and
        ``n_possible`` (2^k - 1). A subset of one study has q = 0,
        q_p_value = 1, tau2 = 0, i2 = 0 and h2 = 1 (as metafor).
    """
    from trialsynth.pooling.batch import pool_batch

    y, v, lab, fit = study_arrays(yi, vi, sei=sei, labels=labels, min_k=1)
    method, test, level = fit_options(fit, method, test, level)
    k = y.size
    if not 1 <= int(min_k) <= k:
        raise ArgumentError(f"min_k: expected 1..{k}, got {min_k!r}")
    if len(set(lab)) != k:
        raise ArgumentError("labels: GOSH names a column after each study, so labels must be unique")
    clash = sorted(set(lab) & set(_GOSH_STATS))
    if clash:
        raise ArgumentError(f"labels: {clash} clash with GOSH result columns; rename those studies")
    masks, sampled = _subset_masks(k, subsets, max_subsets, int(min_k), seed)
    parts = []
    for start in range(0, masks.shape[0], int(chunk_size)):
        block = masks[start : start + int(chunk_size)]
        y_block = np.where(block, y[None, :], np.nan)
        v_block = np.where(block, v[None, :], np.nan)
        res = pool_batch(y_block, v_block, method=method, test=test, level=level)
        part = pd.DataFrame({name: np.asarray(getattr(res, name)) for name in _GOSH_STATS})
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["k"] = frame["k"].astype(int)
    single = frame["k"].to_numpy() == 1
    frame.loc[single, ["q", "tau2", "i2"]] = 0.0
    frame.loc[single, "q_p_value"] = 1.0
    frame.loc[single, "h2"] = 1.0
    membership = pd.DataFrame(masks, columns=lab)
    frame = pd.concat([frame, membership], axis=1)
    frame.attrs.update({"studies": lab, "method": method, "sampled": sampled, "n_possible": 2**k - 1})
    return frame
