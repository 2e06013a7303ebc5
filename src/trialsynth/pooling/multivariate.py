r"""Multivariate and multilevel meta-analysis: :func:`pool_multivariate` (metafor's ``rma.mv``).

Several effect estimates per trial (time points, outcomes, comparisons sharing an arm) are pooled
in one linear mixed model (Berkey et al. 1998; Kalaian & Raudenbush 1996)

.. math:: y = X\beta + \sum_l Z_l u_l + w + e,\qquad e \sim N(0, V),

where ``V`` is the sampling covariance of the estimates (block diagonal by trial; build it with
:func:`trialsynth.effects.covariance.within_trial_cov`), ``levels`` adds nested random intercepts
(``sigma2``, one variance per level: Konstantopoulos 2011's three-level model is
``levels=[district, school]``), and ``outer``/``inner``/``struct`` add one structured random effect
``w`` whose covariance within an outer group (a trial) between inner levels (time points,
outcomes) ``i`` and ``j`` is

======  =====================================================================================
ID      ``tau2`` when the inner levels are the same, else 0
DIAG    ``tau2[i]`` when the same, else 0
CS      ``tau2`` on the diagonal, ``rho * tau2`` off it (compound symmetry)
HCS     ``tau_i tau_j`` times 1 or ``rho`` (heteroscedastic compound symmetry)
UN      ``tau_i tau_j rho_ij`` (unstructured; ``rho`` is the correlation matrix)
AR      ``tau2 * rho**|r_i - r_j|``, r = rank of the inner level among the sorted levels (AR(1))
HAR     ``tau_i tau_j rho**|r_i - r_j|`` (heteroscedastic AR(1))
CAR     ``tau2 * rho**|t_i - t_j|`` with numeric ``times`` (continuous-time AR(1); Ishak et al.
        2007 for follow-ups at irregular times)
======  =====================================================================================

Estimation is by ML or REML (Harville 1977), inference on the coefficients by Wald z or t tests
with k - p df, QE (residual heterogeneity with M = V) and QM (the coefficients other than the
intercept) as metafor reports them. Profile-likelihood CIs of the variance components and
correlations (Hardy & Thompson 1996, Stat Med 15:619-629) are given by
:meth:`MultivariateResult.heterogeneity_ci`. The numerical core (:mod:`._mvcore`) exploits the
block structure of the model: no k x k matrix is ever inverted.

References
----------
* Berkey CS, Hoaglin DC, Antczak-Bouckoms A, Mosteller F, Colditz GA (1998). Meta-analysis of
  multiple outcomes by regression with random effects. Stat Med 17:2537-2550.
* Ishak KJ, Platt RW, Joseph L, Hanley JA, Caro JJ (2007). Meta-analysis of longitudinal studies.
  Clin Trials 4:525-539.
* Konstantopoulos S (2011). Fixed effects and variance components estimation in three-level
  meta-analysis. Res Synth Methods 2:61-76.
* Kalaian HA, Raudenbush SW (1996). A multivariate mixed linear model for meta-analysis. Psychol
  Methods 1:227-235.
* Harville DA (1977). Maximum likelihood approaches to variance component estimation and to
  related problems. J Am Stat Assoc 72:320-338.
* Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3)
  (the parametrisation and output this module is checked against: ``rma.mv``).
"""

from __future__ import annotations

import html
import math
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from trialsynth.errors import ArgumentError
from trialsynth.pooling import _mvcore as core
from trialsynth.pooling.fit import MetaWarning, check_level

STRUCTS: tuple[str, ...] = ("ID", "CS", "HCS", "UN", "DIAG", "AR", "HAR", "CAR")
METHODS: tuple[str, ...] = ("REML", "ML")
TESTS: tuple[str, ...] = ("z", "t")
#: structures with one variance per inner level, and how many outer groups each level needs
MIN_OUTER_PER_LEVEL = 2
COEF_COLUMNS = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high"]


# ----------------------------------------------------------------------------- inputs
def _as_yi(yi) -> np.ndarray:
    try:
        y = np.asarray(yi, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError("yi: expected numbers") from None
    if y.ndim != 1:
        raise ArgumentError(f"yi: expected a 1-D array of effect estimates; got shape {y.shape}")
    if y.size == 0:
        raise ArgumentError("yi: no estimates")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ArgumentError(f"yi: not a finite number at position(s) {bad[:5].tolist()}; drop those rows first")
    return y


def _as_triplets(V, k: int):
    """V (k x k dense or scipy.sparse, or a length-k vector of variances; or anything with a
    ``matrix`` attribute) -> symmetric non-zero triplets (i, j, v) including the diagonal."""
    if hasattr(V, "matrix") and not isinstance(V, np.ndarray):
        V = V.matrix
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy is a dependency
        sparse = None
    if sparse is not None and sparse.issparse(V):
        if V.shape != (k, k):
            raise ArgumentError(f"V: expected shape ({k}, {k}) to match yi (k = {k}); got {V.shape}")
        coo = sparse.coo_matrix(V)
        i, j, x = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float)
        keep = x != 0
        i, j, x = i[keep], j[keep], x[keep]
        diag = np.asarray(V.diagonal(), dtype=float)
        asym = abs(sparse.csr_matrix(V) - sparse.csr_matrix(V).T)
        if asym.nnz and asym.max() > 1e-10 * max(1.0, float(np.max(np.abs(x)))):
            raise ArgumentError("V: not symmetric")
    else:
        try:
            arr = np.asarray(V, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError("V: expected numbers (a covariance matrix or a vector of variances)") from None
        if arr.ndim == 1:
            if arr.size != k:
                raise ArgumentError(f"V: {arr.size} variances but yi has {k} estimates; lengths must match")
            diag = arr
            i = j = np.arange(k, dtype=np.int64)
            x = arr.copy()
        elif arr.ndim == 2:
            if arr.shape != (k, k):
                raise ArgumentError(f"V: expected shape ({k}, {k}) to match yi (k = {k}); got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                bad = np.argwhere(~np.isfinite(arr))[0]
                raise ArgumentError(f"V: not a finite number at [{bad[0]}, {bad[1]}]")
            scale = max(1.0, float(np.max(np.abs(arr))))
            if np.max(np.abs(arr - arr.T)) > 1e-10 * scale:
                bad = np.unravel_index(np.argmax(np.abs(arr - arr.T)), arr.shape)
                raise ArgumentError(f"V: not symmetric (V[{bad[0]}, {bad[1]}] = {arr[bad]!r} but "
                                    f"V[{bad[1]}, {bad[0]}] = {arr[bad[::-1]]!r})")
            arr = 0.5 * (arr + arr.T)
            diag = np.diagonal(arr).copy()
            i, j = np.nonzero(arr)
            x = arr[i, j]
            missing = np.setdiff1d(np.arange(k), i[i == j])
            if missing.size:
                i = np.concatenate([i, missing]); j = np.concatenate([j, missing]); x = np.concatenate([x, np.zeros(missing.size)])
        else:
            raise ArgumentError(f"V: expected a (k, k) matrix or a vector of k variances; got shape {arr.shape}")
    if not np.all(np.isfinite(diag)):
        bad = np.flatnonzero(~np.isfinite(diag))
        raise ArgumentError(f"V: the variance at position(s) {bad[:5].tolist()} is not a finite number")
    if np.any(diag <= 0):
        bad = np.flatnonzero(diag <= 0)
        raise ArgumentError(f"V: sampling variances must be positive; got {diag[bad[0]]!r} at position(s) "
                            f"{bad[:5].tolist()} (V is not positive definite)")
    return (np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64), np.asarray(x, dtype=float)), diag


def _labels_array(values, name: str, k: int) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values, dtype=object)
    if arr.ndim != 1 or arr.size != k:
        raise ArgumentError(f"{name}: expected {k} labels (one per estimate, as yi); got {arr.size}")
    missing = np.flatnonzero(pd.isna(arr))
    if missing.size:
        raise ArgumentError(f"{name}: missing label at position(s) {missing[:5].tolist()}")
    return arr


def _codes(arr: np.ndarray) -> tuple[np.ndarray, list]:
    """Integer codes in sorted order of the labels (numbers numerically, else as text)."""
    try:
        uniq, inv = np.unique(np.asarray(arr, dtype=float), return_inverse=True)
        return inv.astype(np.int64), _original_values(arr, inv, len(uniq))
    except (TypeError, ValueError):
        pass
    text = np.array([str(v) for v in arr.tolist()], dtype=object)
    uniq, inv = np.unique(text, return_inverse=True)
    return inv.astype(np.int64), _original_values(arr, inv, len(uniq))


def _label_text(value) -> str:
    """A label as text: whole numbers without a decimal point (3.0 -> "3")."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _original_values(arr, inv, n):
    """The caller's label for each code (its first occurrence)."""
    first = np.full(n, -1, dtype=np.int64)
    first[inv[::-1]] = np.arange(inv.size - 1, -1, -1)
    values = np.asarray(arr, dtype=object)[first]
    return values.tolist()


def _levels(levels, k: int, level_names):
    """Nested levels -> per level: integer codes of the nested groups (a, a/b, ...), the number
    of groups, the level's name ("district/school") and the groups' labels per row."""
    if levels is None:
        return [], [], [], []
    if isinstance(levels, dict):
        names = [str(n) for n in levels]
        arrays = list(levels.values())
    elif isinstance(levels, pd.DataFrame):
        names = [str(c) for c in levels.columns]
        arrays = [levels[c] for c in levels.columns]
    elif isinstance(levels, (list, tuple)) and len(levels) and not np.isscalar(levels[0]):
        arrays = list(levels)
        names = [str(getattr(a, "name", None) or f"level{n + 1}") for n, a in enumerate(arrays)]
    else:
        arrays = [levels]
        names = [str(getattr(levels, "name", None) or "level1")]
    if level_names is not None:
        if len(level_names) != len(arrays):
            raise ArgumentError(f"level_names: {len(level_names)} names for {len(arrays)} levels")
        names = [str(n) for n in level_names]
    arrays = [_labels_array(a, f"levels[{n}] ({names[n]})", k) for n, a in enumerate(arrays)]
    codes, counts, full, keys = [], [], [], []
    combined = np.zeros(k, dtype=np.int64)
    for n, arr in enumerate(arrays):
        own, _ = _codes(arr)
        _, combined = np.unique(combined * (int(own.max()) + 1) + own, return_inverse=True)
        combined = combined.astype(np.int64)
        codes.append(combined)
        counts.append(int(combined.max()) + 1)
        full.append("/".join(names[: n + 1]))
        keys.append(arrays[: n + 1])
    return codes, counts, full, keys


@dataclass
class _Spec:
    params: list
    struct: str | None
    inner_levels: list
    n_outer: int
    pairs: list
    outer_codes: np.ndarray | None
    inner_codes: np.ndarray | None
    lags: np.ndarray | None
    keys: list = field(default_factory=list)


def _structure(outer, inner, struct, times, k, min_per_level) -> _Spec:
    if outer is None and inner is None:
        if times is not None:
            raise ArgumentError("times: only used with outer, inner and struct='CAR'")
        return _Spec([], None, [], 0, [], None, None, None)
    if outer is None or inner is None:
        raise ArgumentError("outer and inner: give both (metafor's random = ~ inner | outer), or neither")
    if not isinstance(struct, str) or struct.upper() not in STRUCTS:
        raise ArgumentError(f"struct: expected one of {', '.join(STRUCTS)}; got {struct!r}")
    struct = struct.upper()
    outer_arr = _labels_array(outer, "outer", k)
    inner_arr = _labels_array(inner, "inner", k)
    outer_codes, outer_levels = _codes(np.array([str(v) for v in outer_arr], dtype=object))
    if struct == "CAR":
        source = inner_arr if times is None else times
        name = "inner (numeric times for struct='CAR')" if times is None else "times"
        try:
            t = np.asarray(source, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError(f"{name}: struct='CAR' needs numeric times") from None
        if t.shape != (k,):
            raise ArgumentError(f"{name}: expected {k} times (one per estimate, as yi); got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ArgumentError(f"{name}: times must be finite numbers")
        lags = t
    elif times is not None:
        raise ArgumentError(f"times: only used with struct='CAR' (struct is {struct!r})")
    try:
        inner_num = np.asarray(inner_arr, dtype=float)
        inner_codes, inner_levels = _codes(inner_num)
    except (TypeError, ValueError):
        inner_codes, inner_levels = _codes(np.array([str(v) for v in inner_arr], dtype=object))
    if struct in ("AR", "HAR"):
        lags = inner_codes.astype(float)
    elif struct != "CAR":
        lags = None
    m = len(inner_levels)
    pairs = [(a, b) for a in range(m) for b in range(a + 1, m)] if struct == "UN" else []
    if struct in core.HETERO:
        for c in range(m):
            n_out = np.unique(outer_codes[inner_codes == c]).size
            if n_out < min_per_level:
                raise ArgumentError(
                    f"struct={struct!r}: inner level {inner_levels[c]!r} occurs in {n_out} outer group(s); "
                    f"its own variance needs at least {min_per_level} (use a structure with one tau2, such as "
                    "CS, AR or CAR)")
    if struct == "UN":
        for a, b in pairs:
            both = np.intersect1d(outer_codes[inner_codes == a], outer_codes[inner_codes == b]).size
            if both < 1:
                raise ArgumentError(
                    f"struct='UN': inner levels {inner_levels[a]!r} and {inner_levels[b]!r} never occur in the "
                    "same outer group, so their correlation cannot be estimated (use CS, HCS, AR or CAR)")
    params = []
    if struct in core.HETERO:
        for c in range(m):
            params.append(core.Param(f"tau2.{c + 1}", core.VAR, "tau2", c))
    else:
        params.append(core.Param("tau2", core.VAR, "tau2", 0))
    if struct in ("CS", "HCS", "AR", "HAR"):
        params.append(core.Param("rho", core.COR, "rho", 0))
    elif struct == "CAR":
        params.append(core.Param("rho", core.COR01, "rho", 0))
    elif struct == "UN":
        for n, (a, b) in enumerate(pairs):
            params.append(core.Param(f"rho.{a + 1}.{b + 1}", core.COR, "rho", (a, b)))
    keys = [f"{_label_text(i)} | {_label_text(o)}" for i, o in zip(inner_arr.tolist(), outer_arr.tolist())]
    return _Spec(params, struct, list(inner_levels), len(outer_levels), pairs, outer_codes, inner_codes, lags, keys)


def _fixed_values(fixed, params) -> dict:
    """``fixed`` ({"sigma2": [..], "tau2": x, "rho": 0.5, "sigma2.2": 0, ...}) -> {index: value}."""
    if not fixed:
        return {}
    if not isinstance(fixed, dict):
        raise ArgumentError("fixed: expected a dict such as {'rho': 0.5} or {'sigma2': [0.1, None]}")
    out = {}
    for key, value in fixed.items():
        group = [n for n, p in enumerate(params) if p.group == key]
        named = [n for n, p in enumerate(params) if p.name == key]
        if not group and not named:
            names = ", ".join(p.name for p in params) or "none"
            raise ArgumentError(f"fixed: {key!r} is not a parameter of this model (parameters: {names})")
        targets = named or group
        values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * len(targets)
        if len(values) != len(targets):
            raise ArgumentError(f"fixed[{key!r}]: expected {len(targets)} value(s), got {len(values)}")
        for n, v in zip(targets, values):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            v = float(v)
            kind = params[n].kind
            if (kind == core.VAR and v < 0) or (kind == core.COR and not -1 <= v <= 1) or (
                    kind == core.COR01 and not 0 <= v <= 1):
                raise ArgumentError(f"fixed[{params[n].name!r}] = {v!r} is outside its range")
            out[n] = v
    return out


# ----------------------------------------------------------------------------- the model
def pool_multivariate(yi, V, *, moderators=None, intercept=True, levels=None, outer=None, inner=None,
                      struct="CS", times=None, method="REML", test="z", level: float = 95.0,
                      fixed: dict | None = None, labels=None, level_names=None,
                      min_per_level: int = MIN_OUTER_PER_LEVEL, max_iter: int = 200,
                      random_slopes: dict | None = None, warn: bool = True) -> "MultivariateResult":
    """Fit a multivariate / multilevel meta-analysis model (metafor's ``rma.mv``).

    Parameters
    ----------
    yi : array of k floats
        The effect estimates.
    V : (k, k) array or scipy.sparse matrix, or k variances
        Their sampling covariance (a vector means independent estimates); e.g.
        :func:`trialsynth.effects.covariance.within_trial_cov`. Must be positive definite.
    moderators : (k, p) array, DataFrame or dict, optional
        Columns of the design (non-numeric columns are dummy-coded, first sorted level as
        reference when there is an intercept; with ``intercept=False`` a categorical gives one
        column per level, i.e. cell means).
    intercept : bool, default True
        Add an intercept column (``intrcpt``).
    levels : array, list of arrays or dict name -> array, optional
        Nested random intercepts, outermost first (metafor ``random = ~ 1 | a/b``): one variance
        ``sigma2`` per level (a, then b within a).
    outer, inner, struct, times
        One structured random effect (metafor ``random = ~ inner | outer, struct = ...``); struct in
        ``ID, CS, HCS, UN, DIAG, AR, HAR, CAR`` (module docstring); ``times`` the numeric times of
        CAR (default: ``inner`` read as numbers).
    method : {"REML", "ML"}
    test : {"z", "t"}
        Normal or t (k - p df) inference for coefficients, contrasts and predictions; QM is a
        chi-square or, under "t", an F test.
    level : float, default 95
        Confidence level in percent.
    fixed : dict, optional
        Variance components / correlations held at given values instead of estimated, e.g.
        ``{"rho": 0.5}``, ``{"sigma2": [None, 0]}``, ``{"tau2.2": 0.01}``.
    labels : sequence, optional
        Row labels (for :meth:`MultivariateResult.blup` and errors).
    min_per_level : int, default 2
        The fewest outer groups an inner level needs under HCS, HAR, UN and DIAG.
    random_slopes : dict name -> (groups, x), optional
        Random slopes on a covariate ``x`` within ``groups`` (one variance each, independent of
        the other random effects: metafor's ``struct = "GDIAG"`` with the intercept's variance
        given by ``levels``); they follow the levels in ``sigma2``.

    Returns
    -------
    MultivariateResult

    Raises
    ------
    trialsynth.errors.ArgumentError
        Lengths that do not match, V not symmetric or not positive definite (naming the rows of the
        offending block), an unknown struct or method, inner levels with too few outer groups for
        a heteroscedastic structure, a design that is not of full rank.
    """
    y = _as_yi(yi)
    k = y.size
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ArgumentError(f"method: expected one of {', '.join(METHODS)}; got {method!r}")
    method = method.upper()
    if test not in TESTS:
        raise ArgumentError(f"test: expected 'z' or 't'; got {test!r}")
    level = check_level(level)
    triplets, diag = _as_triplets(V, k)
    if labels is None:
        row_labels = [str(i) for i in range(k)]
    else:
        row_labels = [str(v) for v in _labels_array(labels, "labels", k)]

    # design
    if moderators is None:
        if not intercept:
            raise ArgumentError("intercept=False needs moderators (the model would have no coefficients)")
        X = np.ones((k, 1))
        names = ["intrcpt"]
    else:
        from trialsynth.pooling.regression import design_matrix

        X, names, keep = design_matrix(moderators, k, intercept=intercept)
        if not keep.all():
            bad = np.flatnonzero(~keep)
            raise ArgumentError(f"moderators: missing value in row(s) {[row_labels[i] for i in bad[:5]]}; "
                                "drop those rows first")
    p = X.shape[1]
    if (p == 1 and not np.any(X[:, 0] != 0)) or (p > 1 and np.linalg.matrix_rank(X) < p):
        raise ArgumentError(f"moderators: the design ({', '.join(names)}) is not of full column rank; "
                            "drop redundant columns")
    if k <= p and method == "REML":
        raise ArgumentError(f"REML needs more estimates than coefficients (k = {k}, p = {p})")

    level_codes, level_counts, level_full, level_keys = _levels(levels, k, level_names)
    for name, pair in (random_slopes or {}).items():
        try:
            groups, x = pair
        except (TypeError, ValueError):
            raise ArgumentError(f"random_slopes[{name!r}]: expected (groups, x)") from None
        g = _labels_array(groups, f"random_slopes[{name!r}] groups", k)
        xv = np.asarray(x, dtype=float)
        if xv.shape != (k,) or not np.all(np.isfinite(xv)):
            raise ArgumentError(f"random_slopes[{name!r}]: x must be {k} finite numbers")
        codes, uniq = _codes(g)
        level_codes.append((codes, xv))
        level_counts.append(len(uniq))
        level_full.append(f"slope on {name}")
        level_keys.append([g])
    spec = _structure(outer, inner, struct, times, k, int(min_per_level))
    params = [core.Param(f"sigma2.{n + 1}", core.VAR, "sigma2", n) for n in range(len(level_codes))] + spec.params
    fixed_idx = _fixed_values(fixed, params)

    cm = core.Core(y, X, triplets, level_codes=level_codes, outer_codes=spec.outer_codes,
                   inner_codes=spec.inner_codes, lags=spec.lags, struct=spec.struct, params=params,
                   n_inner=len(spec.inner_levels), pairs=spec.pairs, reml=method == "REML")
    bad = cm.v_blocks_pd()
    if bad is not None:
        rows, w = bad
        raise ArgumentError(f"V is not positive definite: the block of rows {[row_labels[i] for i in rows[:8]]} has "
                            f"smallest eigenvalue {w:.3g} (check the assumed correlations, or repair it with "
                            "within_trial_cov(..., on_not_pd='repair'))")

    theta0, scale = _start(y, X, diag, params, spec)
    for n, v in fixed_idx.items():
        theta0[n] = v
    free = np.array([n not in fixed_idx for n in range(len(params))], dtype=bool)
    if spec.struct == "UN" and not any(params[n].group in ("tau2", "rho") for n in fixed_idx):
        state = _fit_un_cholesky(cm, y, X, triplets, level_codes, spec, params, theta0, free, fixed_idx, scale,
                                 method, max_iter, dict(V=V, moderators=moderators, intercept=intercept, levels=levels,
                                                        outer=outer, inner=inner, level=level, level_names=level_names,
                                                        min_per_level=min_per_level))
    else:
        state = _fit_with_starts(cm, spec, params, theta0, free, scale, max_iter)
    if state.evaluation is None:
        raise ArgumentError(f"the model could not be evaluated: {state.message}")
    res = MultivariateResult._build(
        cm, state, spec, params, free, names=names, method=method, test=test, level=level, k=k,
        level_counts=level_counts, level_full=level_full, row_labels=row_labels, scale=scale,
        max_iter=max_iter)
    res._lk, res._sk = level_keys, spec.keys
    if warn:
        for w in res.warnings:
            _warnings.warn(w, MetaWarning, stacklevel=2)
    return res


def _better(a, b) -> bool:
    """Is fit ``a`` better than ``b`` (higher likelihood beyond rounding)?"""
    if a is None or a.evaluation is None:
        return False
    return b is None or b.evaluation is None or a.ll > b.ll + 1e-12 * max(1.0, abs(b.ll))


def _fit_with_starts(cm, spec, params, theta0, free, scale, max_iter):
    """Fit from the default start and, for a structure with a correlation, from a second start
    near its upper end (a correlation's likelihood can have a local maximum short of 1); then, when
    the fit ends on a flat ridge or with a correlation at a bound, try each variance at 0 with the
    others re-estimated (a variance made redundant by another, such as CAR's tau2 beside a random
    intercept when rho = 1, is best set to 0). The best fit is kept."""
    starts = [theta0]
    rho_idx = [n for n, q in enumerate(params) if q.group == "rho" and free[n]]
    if rho_idx and spec.struct in ("CS", "HCS", "AR", "HAR", "CAR"):
        alt = np.array(theta0, dtype=float)
        high = 0.9 if spec.struct != "CAR" else 0.9 ** (1.0 / max(_median_positive_lag(spec), 1e-12))
        alt[rho_idx] = high
        starts.append(alt)
    state = None
    for start in starts:
        st = core.fit(cm, start, free, scale=scale, max_iter=max_iter)
        if state is None or _better(st, state):
            state = st
    at_bound = [n for n, q in enumerate(params) if q.name in state.boundary]
    ridge = state.message.startswith("flat") or any(params[n].group == "rho" for n in at_bound)
    if ridge and state.evaluation is not None:
        for n, q in enumerate(params):
            if q.kind != core.VAR or not free[n] or n in at_bound:
                continue
            start = np.array(state.theta, dtype=float)
            start[n] = 0.0
            fr = free.copy()
            fr[n] = False
            st = core.fit(cm, start, fr, scale=scale, max_iter=max_iter)
            if st.evaluation is not None and st.ll >= state.ll - 1e-12 * max(1.0, abs(state.ll)):
                st.boundary = sorted(set(st.boundary) | {q.name})
                # a correlation of a structure whose variance is 0 is not identified: not "on a bound"
                if q.group == "tau2" and spec.struct is not None:
                    st.boundary = [b for b in st.boundary if not b.startswith("rho")]
                    st.message = "tau2 = 0: rho not identified"
                state = st
                break
    return state


def _fit_un_cholesky(cm, y, X, triplets, level_codes, spec, params, theta0, free, fixed_idx, scale, method,
                     max_iter, args):
    """UN fitted through the Cholesky factor of its matrix (always positive semi-definite, so
    that a singular optimum is reachable), from the default start and from the HCS fit (its
    variances and common correlation); the better optimum is returned on the natural scale
    (variances and correlations) of ``cm``."""
    m = len(spec.inner_levels)
    n_lv = len(level_codes)
    tril = list(zip(*np.tril_indices(m)))
    chol_params = params[:n_lv] + [core.Param(f"L.{a + 1}.{c + 1}", core.FREE, "tau2", (a, c)) for a, c in tril]
    cc = core.Core(y, X, triplets, level_codes=level_codes, outer_codes=spec.outer_codes,
                   inner_codes=spec.inner_codes, lags=None, struct="UNC", params=chol_params, n_inner=m, pairs=[],
                   reml=method == "REML")
    sig_free = free[:n_lv]
    cfree = np.concatenate([sig_free, np.ones(len(tril), dtype=bool)])

    def chol_start(sigma2, tau2, rho):
        S = np.sqrt(np.outer(tau2, tau2)) * (rho + (1 - rho) * np.eye(m))
        w = np.linalg.eigvalsh(S)
        L = np.linalg.cholesky(S + max(0.0, 1e-8 * max(w.max(), 1e-12) - w.min()) * np.eye(m))
        return np.concatenate([sigma2, L[np.tril_indices(m)]])

    tau0 = np.array([theta0[n] for n, q in enumerate(params) if q.group == "tau2"])
    starts = []
    try:
        fixed_sig = {params[n].name: v for n, v in fixed_idx.items()}
        hcs = pool_multivariate(y, args["V"], moderators=args["moderators"], intercept=args["intercept"],
                                levels=args["levels"], outer=args["outer"], inner=args["inner"], struct="HCS",
                                method=method, level=args["level"], fixed=fixed_sig or None,
                                level_names=args["level_names"], min_per_level=args["min_per_level"],
                                max_iter=max_iter, warn=False)
        starts.append(chol_start(hcs.sigma2, np.maximum(np.atleast_1d(hcs.tau2), 1e-6 * scale),
                                 float(np.clip(hcs.rho, -0.95, 0.95))))
    except ArgumentError:
        pass
    starts.append(chol_start(theta0[:n_lv], tau0, 0.0))
    best = None
    for st0 in starts:  # the default start only when the start from HCS did not converge
        if best is not None and best.converged:
            break
        st = core.fit(cc, st0, cfree, scale=scale, max_iter=max_iter)
        if st.evaluation is not None and (best is None or st.ll > best.ll + 1e-12 * max(1.0, abs(st.ll))):
            best = st
    if best is None:
        return core.fit(cm, theta0, free, scale=scale, max_iter=max_iter)
    L = cc.cholesky_factor(best.theta)
    Sigma = L @ L.T
    tau2 = np.diag(Sigma).copy()
    d = np.sqrt(np.where(tau2 > 0, tau2, 1.0))
    R = Sigma / np.outer(d, d)
    theta = np.array(theta0, dtype=float)
    theta[:n_lv] = best.theta[:n_lv]
    for n, q in enumerate(params):
        if q.group == "tau2":
            theta[n] = tau2[q.index]
        elif q.group == "rho":
            a, b = q.index
            theta[n] = float(np.clip(R[a, b], -1.0, 1.0)) if tau2[a] > 0 and tau2[b] > 0 else 0.0
    ev = cm.evaluate(theta, 0)
    boundary = list(best.boundary)
    w = np.linalg.eigvalsh(Sigma)
    rank = int(np.sum(w > 1e-8 * max(w.max(), 1e-300)))
    if rank < m:
        boundary.append(f"UN matrix (rank {rank} of {m})")
    return core.FitState(theta, best.ll if ev is None else ev["ll"], best.converged, best.iterations, boundary,
                         best.message, ev if ev is not None else best.evaluation)


def _start(y, X, diag, params, spec):
    """Starting values: the residual variance of the unweighted fit beyond the mean sampling
    variance, split equally between the variance components; rho 0.5 (CAR: 0.5 at the median
    lag), UN correlations 0."""
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    resid = y - X @ beta
    k, p = X.shape
    mean_v = float(np.mean(diag))
    total = float(resid @ resid) / max(k - p, 1) - mean_v
    scale = max(mean_v, float(np.var(y)), 1e-12)
    n_var = sum(1 for q in params if q.group in ("sigma2",)) + (1 if spec.struct else 0)
    each = max(total, 0.25 * mean_v, 1e-8 * scale) / max(n_var, 1)
    theta = np.zeros(len(params))
    for n, q in enumerate(params):
        if q.kind == core.VAR:
            theta[n] = each
        elif q.kind == core.COR:
            theta[n] = 0.0 if spec.struct == "UN" else 0.5
        else:
            lag = _median_positive_lag(spec)
            theta[n] = 0.5 ** (1.0 / lag) if lag > 0 else 0.5
    return theta, scale


def _median_positive_lag(spec) -> float:
    t, o = spec.lags, spec.outer_codes
    if t is None:
        return 1.0
    lags = []
    for g in np.unique(o):
        tt = np.unique(t[o == g])
        if tt.size > 1:
            lags.extend(np.diff(tt).tolist())
    return float(np.median(lags)) if lags else 1.0


# ----------------------------------------------------------------------------- result
def _crit(level, dfs):
    """The two-sided critical value: normal, or t with ``dfs`` df (scipy.special: the same
    functions as scipy.stats without its per-call overhead)."""
    q = 1 - (1 - level / 100) / 2
    return float(special.ndtri(q) if dfs is None else special.stdtrit(dfs, q))


def _p_two_sided(stat, dfs):
    stat = np.abs(np.asarray(stat, dtype=float))
    return 2 * (special.ndtr(-stat) if dfs is None else special.stdtr(dfs, -stat))


@dataclass
class MultivariateResult:
    """A fitted multivariate / multilevel model (:func:`pool_multivariate`).

    Attributes
    ----------
    coefficients : DataFrame
        Indexed by term: ``estimate, se, statistic, p_value, ci_low, ci_high``.
    sigma2 : ndarray
        One variance per nested level (empty without ``levels``).
    tau2 : float or ndarray
        The structured term's variance (one per inner level, in sorted order, for HCS, HAR, UN
        and DIAG); NaN without a structured term.
    rho : float or ndarray
        Its correlation (for UN the correlation matrix over the sorted inner levels); NaN for
        ID and DIAG or without a structured term.
    ll : float
        The maximised (restricted) log-likelihood.
    qe, qe_p_value : float
        Test for residual heterogeneity (df = k - p).
    qm, qm_p_value : float
        Omnibus test of the coefficients other than the intercept (chi-square on m df; under
        ``test="t"`` an F statistic on (m, k - p) df).
    k : int
        Number of estimates.
    converged : bool
    boundary : list of str
        Parameters estimated on the boundary of their range (a variance of 0, |rho| = 1).
    vcov : ndarray
        Covariance of the coefficients.
    fit_stats : dict
        ``ll, dev, AIC, BIC, AICc`` (metafor's definitions; parameters counted are the
        coefficients and the free variance components).
    """

    coefficients: pd.DataFrame
    sigma2: np.ndarray
    tau2: object
    rho: object
    ll: float
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float
    qm_df: tuple
    qm_p_value: float
    k: int
    p: int
    converged: bool
    method: str
    test: str
    level: float
    struct: str | None
    vcov: np.ndarray
    fit_stats: dict
    boundary: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    iterations: int = 0
    dfs: int | None = None
    level_names: list = field(default_factory=list)
    level_counts: list = field(default_factory=list)
    inner_levels: list = field(default_factory=list)
    n_outer: int = 0
    fixed: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    _core: object = field(default=None, repr=False)
    _theta: np.ndarray = field(default=None, repr=False)
    _free: np.ndarray = field(default=None, repr=False)
    _params: list = field(default_factory=list, repr=False)
    _scale: float = field(default=1.0, repr=False)
    _max_iter: int = field(default=200, repr=False)
    _lk: list = field(default_factory=list, repr=False)
    _sk: list = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _build(cls, cm, state, spec, params, free, *, names, method, test, level, k, level_counts,
               level_full, row_labels, scale, max_iter):
        ev = cm.evaluate(state.theta, 0)
        beta, C = ev["beta"], ev["C"]
        p = len(names)
        dfs = k - p if test == "t" else None
        se = np.sqrt(np.diag(C))
        stat = beta / se
        crit = _crit(level, dfs)
        table = np.column_stack([beta, se, stat, _p_two_sided(stat, dfs), beta - crit * se, beta + crit * se])
        coef = pd.DataFrame(table, columns=COEF_COLUMNS, index=pd.Index(names, name="term"))
        theta = state.theta
        sigma2 = np.array([theta[n] for n, q in enumerate(params) if q.group == "sigma2"])
        tau2v = np.array([theta[n] for n, q in enumerate(params) if q.group == "tau2"])
        rhov = np.array([theta[n] for n, q in enumerate(params) if q.group == "rho"])
        st = spec.struct
        if st is None:
            tau2, rho = math.nan, math.nan
        else:
            tau2 = tau2v if st in core.HETERO else float(tau2v[0])
            if st == "UN":
                m = len(spec.inner_levels)
                rho = np.eye(m)
                for n, (a, b) in enumerate(spec.pairs):
                    rho[a, b] = rho[b, a] = rhov[n]
            elif st in ("ID", "DIAG"):
                rho = math.nan
            else:
                rho = float(rhov[0])
        qe = cm.qe()
        qe_df = k - p
        qe_p = float(special.chdtrc(qe_df, qe)) if qe_df > 0 else math.nan
        btt = list(range(1, p)) if names[0] == "intrcpt" else list(range(p))
        if btt:
            bm = beta[btt]
            qm = float(bm @ np.linalg.solve(C[np.ix_(btt, btt)], bm))
            m = len(btt)
            if dfs is None:
                qm_df, qm_p = (m, None), float(special.chdtrc(m, qm))
            else:
                qm = qm / m
                qm_df, qm_p = (m, dfs), float(special.fdtrc(m, dfs, qm))
        else:
            qm, qm_df, qm_p = math.nan, (0, None), math.nan
        n_free = int(free.sum())
        ll = float(state.ll)
        parms = p + n_free
        n_eff = k - p if method == "REML" else k
        denom = max(n_eff, parms + 2)
        # deviance: -2 ll under REML; under ML against the saturated model (every estimate its own
        # mean, M = V), as metafor reports it
        dev = -2 * ll if method == "REML" else -2 * ll - (k * core.LOG_2PI + cm.logdet_v())
        fit_stats = {"ll": ll, "dev": dev, "AIC": -2 * ll + 2 * parms,
                     "BIC": -2 * ll + parms * math.log(n_eff),
                     "AICc": -2 * ll + 2 * parms * denom / (denom - parms - 1)}
        warn = []
        if not state.converged:
            warn.append("the optimiser did not converge" + (f" ({state.message})" if state.message else "")
                        + "; the estimates are not reliable")
        if state.converged and state.message.startswith("flat"):
            warn.append(_ridge_warning(cm, state, params, free))
        if state.boundary:
            warn.append("estimated on the boundary of the parameter space: " + ", ".join(state.boundary)
                        + " (a variance of 0 or a correlation of +-1); profile the likelihood before reading it")
        fixed = {params[n].name: float(theta[n]) for n in np.flatnonzero(~free)}
        res = cls(coefficients=coef, sigma2=sigma2, tau2=tau2, rho=rho, ll=ll, qe=qe, qe_df=qe_df,
                  qe_p_value=qe_p, qm=qm, qm_df=qm_df, qm_p_value=qm_p, k=k, p=p, converged=bool(state.converged),
                  method=method, test=test, level=level, struct=st, vcov=C, fit_stats=fit_stats,
                  boundary=list(state.boundary), warnings=warn, iterations=state.iterations, dfs=dfs,
                  level_names=level_full, level_counts=level_counts, inner_levels=list(spec.inner_levels),
                  n_outer=spec.n_outer, fixed=fixed, labels=row_labels)
        res._core, res._theta, res._free, res._params = cm, theta.copy(), free.copy(), params
        res._scale, res._max_iter = scale, max_iter
        return res

    # ------------------------------------------------------------------ basics
    @property
    def coef_names(self) -> list:
        return list(self.coefficients.index)

    @property
    def beta(self) -> np.ndarray:
        return self.coefficients["estimate"].to_numpy()

    def conf_int(self) -> pd.DataFrame:
        """CIs of the coefficients (columns ci_low, ci_high)."""
        return self.coefficients[["ci_low", "ci_high"]].copy()

    def _crit(self, level=None):
        return _crit(self.level if level is None else check_level(level), self.dfs)

    def _L_matrix(self, L):
        names = self.coef_names
        if isinstance(L, dict):
            unknown = [t for t in L if t not in names]
            if unknown:
                raise ArgumentError(f"contrast: unknown term(s) {unknown}; terms are {names}")
            row = np.array([float(L.get(t, 0.0)) for t in names])
            label = " ".join(f"{'+' if w > 0 else '-'} {'' if abs(w) == 1 else f'{abs(w):g}*'}{t}"
                             for t, w in L.items() if w != 0).lstrip("+ ").strip()
            return row[None, :], [label]
        if isinstance(L, pd.DataFrame):
            unknown = [c for c in L.columns if c not in names]
            if unknown:
                raise ArgumentError(f"contrast: unknown term(s) {unknown}; terms are {names}")
            mat = L.reindex(columns=names, fill_value=0.0).to_numpy(dtype=float)
            return mat, [str(i) for i in L.index]
        mat = np.atleast_2d(np.asarray(L, dtype=float))
        if mat.ndim != 2 or mat.shape[1] != self.p:
            raise ArgumentError(f"contrast: L needs {self.p} columns ({', '.join(names)}); got shape {mat.shape}")
        return mat, [f"L{n + 1}" for n in range(mat.shape[0])]

    def contrast(self, L, *, names=None, level=None) -> pd.DataFrame:
        """Linear combinations ``L @ beta`` of the coefficients with their SE, Wald z (or t with
        k - p df) statistic, two-sided p-value and CI.

        ``L``: a dict {term: weight} (e.g. ``{"window[long]": 1, "window[short]": -1}``), a
        vector of p weights, a (m, p) matrix or a DataFrame whose columns are terms.
        """
        mat, labels = self._L_matrix(L)
        if names is not None:
            labels = [str(n) for n in names]
            if len(labels) != mat.shape[0]:
                raise ArgumentError(f"names: {len(labels)} names for {mat.shape[0]} contrasts")
        est = mat @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", mat, self.vcov, mat))
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        crit = self._crit(level)
        return pd.DataFrame({"estimate": est, "se": se, "statistic": stat, "p_value": _p_two_sided(stat, self.dfs),
                             "ci_low": est - crit * se, "ci_high": est + crit * se},
                            index=pd.Index(labels, name="contrast"))

    def _pi_variance(self, tau2_levels, m):
        extra = float(np.sum(self.sigma2)) if self.sigma2.size else 0.0
        if self.struct is None:
            return np.full(m, extra)
        if self.struct in core.HETERO:
            if tau2_levels is None:
                return np.full(m, np.nan)
            levels = list(np.atleast_1d(np.asarray(tau2_levels, dtype=object)))
            if len(levels) == 1 and m > 1:
                levels = levels * m
            if len(levels) != m:
                raise ArgumentError(f"tau2_levels: {len(levels)} levels for {m} predictions")
            idx = []
            for lv in levels:
                match = [n for n, v in enumerate(self.inner_levels) if v == lv or str(v) == str(lv)]
                if not match:
                    raise ArgumentError(f"tau2_levels: {lv!r} is not an inner level ({self.inner_levels})")
                idx.append(match[0])
            return extra + np.asarray(self.tau2)[idx]
        return np.full(m, extra + float(self.tau2))

    def predict(self, newmods=None, *, tau2_levels=None, level=None) -> pd.DataFrame:
        """Predicted average true effects with CI and prediction interval (metafor's
        ``predict.rma.mv``).

        ``newmods``: None gives the fitted value of every row (one row for an intercept-only
        model); otherwise a (m, p') array or DataFrame of moderator values for the coefficients
        other than the intercept (or all p columns). The PI adds the sum of ``sigma2`` and
        ``tau2`` (for a heteroscedastic structure the inner level given by ``tau2_levels``;
        without it the PI is NaN) to the squared SE; t quantiles under ``test="t"``.
        """
        names = self.coef_names
        has_int = names[0] == "intrcpt"
        if newmods is None:
            Xn = self._core.X if self.p > 1 or not has_int else np.ones((1, 1))
        else:
            if isinstance(newmods, pd.DataFrame):
                cols = [c for c in names if c in newmods.columns]
                if has_int and "intrcpt" not in newmods.columns:
                    Xn = np.column_stack([np.ones(len(newmods)), newmods[[c for c in names[1:]]].to_numpy(float)])
                else:
                    Xn = newmods[cols].to_numpy(float)
            else:
                Xn = np.asarray(newmods, dtype=float)
                if Xn.ndim == 0:
                    Xn = Xn.reshape(1, 1)
                if Xn.ndim == 1:
                    Xn = Xn[None, :] if self.p - has_int != 1 else Xn[:, None]
                if has_int and Xn.shape[1] == self.p - 1:
                    Xn = np.column_stack([np.ones(Xn.shape[0]), Xn])
            if Xn.shape[1] != self.p:
                raise ArgumentError(f"newmods: expected {self.p - has_int} moderator columns "
                                    f"({', '.join(names[1:] if has_int else names)}); got {Xn.shape[1]}")
        pred = Xn @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vcov, Xn))
        crit = self._crit(level)
        pi_half = crit * np.sqrt(se ** 2 + self._pi_variance(tau2_levels, len(pred)))
        return pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se, "ci_high": pred + crit * se,
                             "pi_low": pred - pi_half, "pi_high": pred + pi_half})

    # ------------------------------------------------------------------ random effects
    def _random_parts(self):
        """Per bucket: the stacks of the model at the estimates, with P y."""
        cm = self._core
        beta = self.beta
        C = self.vcov
        out = []
        sigma2, tau2, rho = cm._split(self._theta)
        for b, (M, _, _) in zip(cm.buckets, cm._Ms(self._theta, 0)):
            Minv = np.linalg.inv(M)
            r = b.y - b.X @ beta
            Py = np.einsum("nij,nj->ni", Minv, r)
            comps = [s2 * S for s2, S in zip(sigma2, b.S)]
            if b.O is not None:
                comps.append(cm._struct(b, tau2, rho, 0)[0])
            out.append((b, Minv, Py, comps))
        return out, C

    def blup(self, *, level=None) -> pd.DataFrame:
        """Best linear unbiased predictions of each row's true effect (``X beta`` plus its random
        effects; Henderson 1975, Biometrics 31:423-447), with the SE of the prediction error
        (which accounts for estimating beta) and a CI: one row per estimate, e.g. per trial and
        time point."""
        parts, C = self._random_parts()
        k = self.k
        pred = np.zeros(k)
        se = np.zeros(k)
        for b, Minv, Py, comps in parts:
            Gt = sum(comps) if comps else np.zeros_like(Minv)
            u = np.einsum("nij,nj->ni", Gt, Py)
            fixed = b.X @ self.beta
            GM = Gt @ Minv  # (n, s, s)
            a = b.X - GM @ b.X  # (n, s, p)
            pev = (np.diagonal(Gt, axis1=1, axis2=2) - np.einsum("nij,nij->ni", GM, Gt)
                   + np.einsum("nsp,pq,nsq->ns", a, C, a))
            rows = b.rows[b.real]
            pred[rows] = (fixed + u)[b.real]
            se[rows] = np.sqrt(np.maximum(pev, 0))[b.real]
        crit = self._crit(level)
        return pd.DataFrame({"label": self.labels, "pred": pred, "se": se, "ci_low": pred - crit * se,
                             "ci_high": pred + crit * se})

    def ranef(self, *, level=None) -> dict:
        """The predicted random effects per level (metafor's ``ranef``): a dict of DataFrames,
        one per nested level (index: the group) and one for the structured term (index
        ``inner | outer``), with ``estimate, se, pi_low, pi_high``; the SE is that of the
        prediction error (conditional on the variance components)."""
        parts, C = self._random_parts()
        crit = self._crit(level)
        cm = self._core
        out = {}
        n_comp = len(self.sigma2) + (1 if self.struct else 0)
        names = list(self.level_names) + ([f"{self.struct}: inner | outer"] if self.struct else [])
        for c in range(n_comp):
            est, var, keys = {}, {}, {}
            for b, Minv, Py, comps in parts:
                Gc = comps[c]
                u = np.einsum("nij,nj->ni", Gc, Py)
                # prediction-error variance of u given the data (P accounts for estimating beta)
                A = Minv @ b.X
                GP = Gc @ Minv - (Gc @ A) @ C @ np.swapaxes(A, 1, 2)
                pev = np.diagonal(Gc, axis1=1, axis2=2) - np.einsum("nij,nij->ni", GP, Gc)
                for n in range(b.rows.shape[0]):
                    for s_ in np.flatnonzero(b.real[n]):
                        row = int(b.rows[n, s_])
                        key = self._group_key(c, row)
                        if key not in est:
                            est[key], var[key] = float(u[n, s_]), float(pev[n, s_])
            keys = sorted(est, key=lambda t: (str(type(t)), t))
            e = np.array([est[t] for t in keys])
            s = np.sqrt(np.maximum([var[t] for t in keys], 0))
            out[names[c]] = pd.DataFrame({"estimate": e, "se": s, "pi_low": e - crit * s, "pi_high": e + crit * s},
                                         index=pd.Index([str(t) for t in keys], name="group"))
        return out

    def _group_key(self, c, row):
        if c < len(self.sigma2):
            return "/".join(_label_text(a[row]) for a in self._lk[c])
        return self._sk[row]

    # ------------------------------------------------------------------ profile likelihood
    def profile(self, name: str, values) -> np.ndarray:
        """The profile (restricted) log-likelihood of parameter ``name`` (``sigma2.1``, ``tau2``,
        ``rho``, ...) at ``values``: the other free parameters re-estimated at each value."""
        idx = self._param_index(name)
        return np.array([self._profile_ll(idx, float(v)) for v in np.atleast_1d(values)])

    def _param_index(self, name):
        for n, q in enumerate(self._params):
            if q.name == name or (q.group == name and sum(1 for r in self._params if r.group == name) == 1):
                return n
        raise ArgumentError(f"{name!r} is not a parameter of this model ({', '.join(q.name for q in self._params)})")

    def _profile_ll(self, idx, value):
        theta0 = self._theta.copy()
        theta0[idx] = value
        free = self._free.copy()
        free[idx] = False
        if not free.any():
            ev = self._core.evaluate(theta0, 0)
            return -math.inf if ev is None else ev["ll"]
        st = core.fit(self._core, theta0, free, scale=self._scale, max_iter=self._max_iter)
        return st.ll if st.evaluation is not None else -math.inf

    def heterogeneity_ci(self, level=None, *, params=None) -> pd.DataFrame:
        """Profile-likelihood CIs of the variance components and correlations (Hardy & Thompson
        1996): the values where the profile log-likelihood is ``chi2_1(level)/2`` below its
        maximum (metafor's ``confint.rma.mv``). A bound that reaches the edge of the parameter
        space (0 for a variance, +-1 or 0/1 for a correlation) is that edge, one where the model
        stops being defined (M not positive definite) is that value; ``note`` says which.
        Columns ``estimate, ci_low, ci_high, note``, rows named as the parameters."""
        lvl = self.level if level is None else check_level(level)
        target = self.ll - 0.5 * float(stats.chi2.ppf(lvl / 100, 1))
        rows = []
        wanted = params if params is not None else [q.name for n, q in enumerate(self._params) if self._free[n]]
        for name in wanted:
            idx = self._param_index(name)
            q = self._params[idx]
            est = float(self._theta[idx])
            f = lambda v: self._profile_ll(idx, v) - target  # noqa: E731
            if q.kind == core.VAR:
                lo_edge, hi_edge = 0.0, math.inf
            elif q.kind == core.COR:
                lo_edge, hi_edge = -1.0, 1.0
            else:
                lo_edge, hi_edge = 0.0, 1.0
            lo, lo_note = self._bound(f, est, lo_edge, down=True, kind=q.kind)
            hi, hi_note = self._bound(f, est, hi_edge, down=False, kind=q.kind)
            note = "; ".join(n for n in (f"lower: {lo_note}" if lo_note else "", f"upper: {hi_note}" if hi_note else "")
                             if n)
            rows.append({"parameter": q.name, "estimate": est, "ci_low": lo, "ci_high": hi, "note": note})
        return pd.DataFrame(rows, columns=["parameter", "estimate", "ci_low", "ci_high", "note"]).set_index("parameter")

    def _bound(self, f, est, edge, *, down, kind):
        """One bound of the profile CI and a note: "" for a root of the profile, "edge of the
        parameter space", "edge of the region where the model is defined" (beyond it M is not
        positive definite), or "not found" (an upper variance bound beyond 2^80 times the estimate)."""
        eps = 1e-10
        if kind == core.VAR and not down:
            step = max(est, 1e-4 * self._scale, 1e-8)
            hi = est + step
            for _ in range(80):
                if f(hi) < 0:
                    return optimize.brentq(f, est, hi, xtol=1e-12 * max(1.0, hi), rtol=1e-12, maxiter=200), ""
                hi = est + (hi - est) * 2
            return math.inf, "not found"
        if kind == core.VAR:
            if est <= 0 or f(0.0) >= 0:
                return 0.0, "edge of the parameter space"
            return optimize.brentq(f, 0.0, est, xtol=1e-14 * max(1.0, est), rtol=1e-12, maxiter=200), ""
        end = edge + (eps if down else -eps)
        if (down and est <= end) or (not down and est >= end):
            return edge, "edge of the parameter space"
        fe = f(end)
        if np.isfinite(fe) and fe >= 0:
            return edge, "edge of the parameter space"
        if not np.isfinite(fe):
            # beyond some value M is not positive definite: find where the model stops
            a, bnd = est, end
            for _ in range(60):
                mid = 0.5 * (a + bnd)
                if np.isfinite(f(mid)):
                    a = mid
                else:
                    bnd = mid
            end = a
            if f(end) >= 0:
                return end, "edge of the region where the model is defined"
        a, b_ = (end, est) if down else (est, end)
        return optimize.brentq(f, a, b_, xtol=1e-12, rtol=1e-12, maxiter=200), ""

    # ------------------------------------------------------------------ frames and text
    def variance_components(self) -> pd.DataFrame:
        """One row per variance component / correlation: name, estimate, whether fixed or on the
        boundary, the number of levels (groups) it varies over."""
        rows = []
        for n, q in enumerate(self._params):
            if q.group == "sigma2":
                info = f"{self.level_names[q.index]} ({self.level_counts[q.index]} groups)"
            elif q.group == "tau2":
                info = (f"inner level {self.inner_levels[q.index]!r}" if self.struct in core.HETERO
                        else f"{self.struct} over {self.n_outer} outer groups")
            else:
                info = (f"{self.inner_levels[q.index[0]]!r}-{self.inner_levels[q.index[1]]!r}"
                        if isinstance(q.index, tuple) else self.struct)
            rows.append({"parameter": q.name, "estimate": float(self._theta[n]), "fixed": not bool(self._free[n]),
                         "boundary": q.name in self.boundary, "describes": info})
        return pd.DataFrame(rows, columns=["parameter", "estimate", "fixed", "boundary", "describes"])

    def to_frame(self) -> pd.DataFrame:
        """A tidy frame: one row per coefficient (``kind = coefficient``) and per variance
        component or correlation (``kind = sigma2 / tau2 / rho``), with estimate, se, statistic,
        p_value, ci_low, ci_high (NaN where not defined: call :meth:`heterogeneity_ci` for the
        profile CIs) and the model's k, method, struct and test."""
        coef = self.coefficients.reset_index().rename(columns={"term": "name"})
        coef.insert(0, "kind", "coefficient")
        vc = self.variance_components()
        vc = pd.DataFrame({"kind": [q.group for q in self._params], "name": vc["parameter"],
                           "estimate": vc["estimate"]})
        out = pd.concat([coef, vc], ignore_index=True)
        out["k"] = self.k
        out["method"] = self.method
        out["struct"] = self.struct or ""
        out["test"] = self.test
        return out

    def summary(self) -> str:
        """A text summary in the layout of metafor's ``print.rma.mv``."""
        f4 = lambda x: "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"  # noqa: E731
        lines = [f"Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})", "",
                 f"logLik = {f4(self.ll)}   AIC = {f4(self.fit_stats['AIC'])}   BIC = {f4(self.fit_stats['BIC'])}", "",
                 "Variance Components:", ""]
        vc = self.variance_components()
        if len(vc):
            for r in vc.itertuples():
                flag = " (fixed)" if r.fixed else (" (boundary)" if r.boundary else "")
                lines.append(f"  {r.parameter:<12} {f4(r.estimate):>10}  {r.describes}{flag}")
        else:
            lines.append("  none (common-effect model with the given V)")
        if self.struct:
            lines.append(f"  structure {self.struct}: inner levels {', '.join(str(v) for v in self.inner_levels)}; "
                         f"{self.n_outer} outer groups")
        lines += ["", "Test for Residual Heterogeneity:",
                  f"QE(df = {self.qe_df}) = {f4(self.qe)}, p-val {_ptext(self.qe_p_value)}", ""]
        if self.qm_df[0]:
            if self.qm_df[1] is None:
                lines.append(f"Test of Moderators: QM(df = {self.qm_df[0]}) = {f4(self.qm)}, p-val {_ptext(self.qm_p_value)}")
            else:
                lines.append(f"Test of Moderators: F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {f4(self.qm)}, "
                             f"p-val {_ptext(self.qm_p_value)}")
            lines.append("")
        lines += ["Model Results:", ""]
        table = self.coefficients.copy()
        table["p_value"] = table["p_value"].map(lambda v: "<.0001" if v < 1e-4 else f"{v:.4f}")
        lines.append(table.to_string(float_format=lambda x: f"{x:.4f}"))
        lines += ["", f"Inference: {'Wald z' if self.dfs is None else f't with {self.dfs} df'}, level {self.level:g}%;"
                      f" converged: {self.converged} ({self.iterations} iterations)"]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        coef = self.coefficients
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ("term", *coef.columns))
        body = "".join(
            "<tr><th style='text-align:left'>" + html.escape(str(t)) + "</th>"
            + "".join(f"<td>{v:.4f}</td>" if c != "p_value" else f"<td>{'&lt;.0001' if v < 1e-4 else f'{v:.4f}'}</td>"
                      for c, v in row.items()) + "</tr>"
            for t, row in coef.iterrows())
        vc = self.variance_components()
        vrows = "".join(f"<tr><th style='text-align:left'>{html.escape(r.parameter)}</th><td>{r.estimate:.4f}</td>"
                        f"<td>{html.escape(r.describes)}{' (fixed)' if r.fixed else ''}"
                        f"{' (boundary)' if r.boundary else ''}</td></tr>" for r in vc.itertuples())
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div class='trialsynth-mvresult'><p><b>Multivariate meta-analysis</b> (k = {self.k}; "
                f"{html.escape(self.method)}; struct {html.escape(str(self.struct or 'none'))}; "
                f"logLik {self.ll:.4f}; QE({self.qe_df}) = {self.qe:.2f}, p {self.qe_p_value:.4g})</p>"
                f"<table><tr>{head}</tr>{body}</table><table>{vrows}</table>"
                + (f"<ul style='color:#a33'>{warn}</ul>" if warn else "") + "</div>")


def _ridge_warning(cm, state, params, free) -> str:
    """Name the parameters along which the likelihood is flat (the near-null eigenvector of the
    Hessian of the free, interior parameters)."""
    text = "the likelihood is flat along a combination of parameters, which are not separately identified"
    ev = cm.evaluate(state.theta, 3)
    if ev is None:
        return text
    idx = [n for n in range(len(params)) if free[n] and params[n].name not in state.boundary]
    if len(idx) < 2:
        return text
    H = -ev["hessian"][np.ix_(idx, idx)]
    w, Q = np.linalg.eigh(H)
    vec = np.abs(Q[:, 0])
    names = [params[idx[n]].name for n in np.flatnonzero(vec > 0.1)]
    return text + (f" ({', '.join(names)}: only their combination is estimated)" if names else "")


def _ptext(p):
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


__all__ = ["METHODS", "MultivariateResult", "STRUCTS", "TESTS", "pool_multivariate"]
