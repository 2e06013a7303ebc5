r"""Combining correlated estimates within a trial into one (metafor's ``aggregate.escalc``).

A trial that reports several estimates of the same comparison (two pain scales,
several time points in one window, several doses against one control) must enter a
univariate meta-analysis once. Averaging them as if they were independent
understates the variance; the estimates share participants, so their sampling
errors are correlated. :func:`aggregate_effects` combines them by generalised least
squares under an assumed correlation structure, or averages them without weights,
as ``metafor::aggregate.escalc`` (3.8) does.

Within a cluster (trial) of m estimates :math:`y` with sampling covariance
:math:`V` (:math:`V_{ij} = r_{ij}\sqrt{v_i v_j}`), the combined estimate and its
variance are

* weighted (default): :math:`\bar y = (1'V^{-1}1)^{-1} 1'V^{-1}y`,
  :math:`var(\bar y) = (1'V^{-1}1)^{-1}` (the generalised least squares, or BLUE,
  estimate of a common effect; Borenstein et al. 2009, *Introduction to
  Meta-Analysis*, ch. 24, for two outcomes; Gleser & Olkin 2009, in *The Handbook
  of Research Synthesis and Meta-Analysis*, 2nd ed., ch. 19);
* unweighted: :math:`\bar y = 1'y/m`, :math:`var(\bar y) = 1'V1/m^2` (the variance
  of a mean of correlated outcomes; Borenstein et al. 2009, ch. 24, for m = 2).

The correlations :math:`r_{ij}` (``struct``): ``"ID"`` independent; ``"CS"``
compound symmetry, ``rho`` for every pair; ``"CAR"`` continuous-time
autoregressive, :math:`\phi^{|t_i - t_j|}`; ``"CS+CAR"``
:math:`\rho + (1-\rho)\phi^{|t_i-t_j|}`; ``"CS*CAR"`` with outcomes ``obs`` at times
``time``: :math:`\phi^{|t_i-t_j|}` for one outcome at two times, :math:`\rho` for two
outcomes at one time, :math:`\rho\phi^{|t_i-t_j|}` otherwise. Or a whole matrix
``V``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.effects._validate import as_float_array, positions
from trialsynth.errors import ArgumentError

__all__ = ["AGGREGATE_STRUCTURES", "aggregate_effects"]

#: Correlation structures of :func:`aggregate_effects`.
AGGREGATE_STRUCTURES = ("ID", "CS", "CAR", "CS+CAR", "CS*CAR")


def _per_cluster(name, value, n_clusters, lo, hi):
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.repeat(arr, n_clusters)
    if arr.size != n_clusters:
        raise ArgumentError(f"{name}: expected one value or one per cluster ({n_clusters}), got {arr.size}")
    bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
    if bad.any():
        raise ArgumentError(f"{name}: expected values in [{lo:g}, {hi:g}], violated for cluster(s) at {positions(bad)}")
    return arr


def _correlation(struct, members, rho, phi, time, obs):
    m = members.size
    if struct == "ID":
        return np.eye(m)
    if struct == "CS":
        return np.where(np.eye(m, dtype=bool), 1.0, rho)
    lag = np.abs(time[members][:, None] - time[members][None, :])
    car = phi**lag
    if struct == "CAR":
        return car
    if struct == "CS+CAR":
        return np.where(np.eye(m, dtype=bool), 1.0, rho + (1 - rho) * car)
    same_obs = obs[members][:, None] == obs[members][None, :]
    same_time = lag == 0
    r = np.where(same_obs, car, np.where(same_time, rho, rho * car))
    return np.where(np.eye(m, dtype=bool), 1.0, r)


def aggregate_effects(
    yi,
    vi,
    cluster,
    *,
    struct: str = "CS",
    rho=None,
    phi=None,
    time=None,
    obs=None,
    V=None,
    weighted: bool = True,
) -> pd.DataFrame:
    """Combine the estimates of each cluster (trial) into one, allowing for their correlation.

    Parameters
    ----------
    yi, vi : array-like
        Estimates and sampling variances. A NaN estimate (for example a study given
        NaN by ``drop00``) is left out of its cluster, as metafor's ``na.rm=TRUE``;
        a cluster with no estimate left is NaN.
    cluster : array-like
        The cluster (trial) of each estimate; clusters come out in the order they
        first appear.
    struct : {"ID", "CS", "CAR", "CS+CAR", "CS*CAR"}
        Correlation structure of the sampling errors within a cluster (module notes).
    rho : float or array-like, optional
        Correlation for ``"CS"``, ``"CS+CAR"``, ``"CS*CAR"``: one value, or one per
        cluster in order of appearance. Required for those structures (it is an
        assumption the review must state and vary in a sensitivity analysis).
    phi : float or array-like, optional
        Autocorrelation per unit of ``time`` for the ``CAR`` structures.
    time, obs : array-like, optional
        Time point (``CAR`` structures) and outcome (``"CS*CAR"``) of each estimate.
    V : array-like, optional
        The full sampling covariance matrix (k x k); ``struct``, ``rho``, ``phi``
        are then not used. Only its within-cluster blocks are read.
    weighted : bool
        Generalised least squares (True, default) or the plain mean (False).

    Returns
    -------
    pandas.DataFrame
        One row per cluster: ``cluster``, ``yi``, ``vi``, ``k`` (estimates combined).

    Raises
    ------
    trialsynth.errors.ArgumentError
        Naming the argument: mismatched lengths, variances <= 0, a correlation outside
        [-1, 1], a missing ``rho``/``phi``/``time``/``obs``, or a within-cluster
        covariance matrix that is not positive definite (naming the cluster).

    Examples
    --------
    >>> aggregate_effects([0.2, 0.4, 0.1], [0.04, 0.05, 0.02], ["A", "A", "B"], rho=0.5).round(4)
      cluster      yi      vi  k
    0       A  0.2625  0.0344  2
    1       B  0.1000  0.0200  1
    """
    y = as_float_array("yi", yi, allow_nan=True)
    v = as_float_array("vi", vi)
    if np.isinf(y).any():
        raise ArgumentError(f"yi: expected finite numbers or NaN, found infinity at position(s) {positions(np.isinf(y))}")
    clusters = np.asarray(cluster, dtype=object).reshape(-1)
    k = y.size
    if v.size != k or clusters.size != k:
        raise ArgumentError(f"yi, vi, cluster: must have the same length, got {k}, {v.size} and {clusters.size}")
    if k == 0:
        raise ArgumentError("yi: expected at least one estimate")
    if (v <= 0).any():
        raise ArgumentError(f"vi: expected variances > 0, violated at position(s) {positions(v <= 0)}")
    if pd.isna(clusters).any():
        raise ArgumentError(f"cluster: missing at position(s) {positions(pd.isna(clusters).astype(bool))}")
    if not isinstance(weighted, bool | np.bool_):
        raise ArgumentError(f"weighted: expected True or False, got {weighted!r}")
    codes, labels = pd.factorize(pd.Series(clusters), sort=False)
    n_clusters = labels.size

    full_v = None
    if V is not None:
        full_v = np.asarray(V, dtype=float)
        if full_v.shape != (k, k):
            raise ArgumentError(f"V: expected a {k} x {k} matrix, got shape {full_v.shape}")
        if not np.allclose(full_v, full_v.T, rtol=1e-10, atol=1e-14):
            raise ArgumentError("V: expected a symmetric matrix")
    else:
        if struct not in AGGREGATE_STRUCTURES:
            raise ArgumentError(f"struct: expected one of {', '.join(AGGREGATE_STRUCTURES)}, got {struct!r}")
        if struct in ("CS", "CS+CAR", "CS*CAR"):
            if rho is None:
                raise ArgumentError(
                    f"rho: struct {struct!r} needs the within-trial correlation rho (there is no default: "
                    "state the assumption, and vary it in a sensitivity analysis)"
                )
            rho = _per_cluster("rho", rho, n_clusters, -1.0, 1.0)
        if struct in ("CAR", "CS+CAR", "CS*CAR"):
            if phi is None:
                raise ArgumentError(f"phi: struct {struct!r} needs the autocorrelation phi")
            phi = _per_cluster("phi", phi, n_clusters, 0.0, 1.0)
            if time is None:
                raise ArgumentError(f"time: struct {struct!r} needs the time point of each estimate")
            time = as_float_array("time", time)
            if time.size != k:
                raise ArgumentError(f"time: expected {k} values, got {time.size}")
        if struct == "CS*CAR":
            if obs is None:
                raise ArgumentError("obs: struct 'CS*CAR' needs the outcome of each estimate")
            obs = np.asarray(obs, dtype=object).reshape(-1)
            if obs.size != k:
                raise ArgumentError(f"obs: expected {k} values, got {obs.size}")

    out_y = np.full(n_clusters, np.nan)
    out_v = np.full(n_clusters, np.nan)
    out_k = np.zeros(n_clusters, dtype=int)
    for c in range(n_clusters):
        members = np.flatnonzero((codes == c) & ~np.isnan(y))
        if members.size == 0:
            continue
        sd = np.sqrt(v[members])
        if full_v is not None:
            cov = full_v[np.ix_(members, members)]
            if not np.allclose(np.diag(cov), v[members], rtol=1e-8):
                raise ArgumentError(f"V: its diagonal must equal vi (cluster {labels[c]!r})")
        else:
            corr = _correlation(struct, members, None if rho is None else rho[c],
                                None if phi is None else phi[c], time, obs)
            cov = corr * np.outer(sd, sd)
        ones = np.ones(members.size)
        if weighted:
            try:
                chol = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                raise ArgumentError(
                    f"rho: the sampling covariance matrix of cluster {labels[c]!r} is not positive definite "
                    "(a correlation this strong is impossible for these estimates, or rho = 1: use "
                    "weighted=False for estimates that are the same measurement)"
                ) from None
            solve_ones = np.linalg.solve(chol.T, np.linalg.solve(chol, ones))
            precision = ones @ solve_ones
            out_y[c] = solve_ones @ y[members] / precision
            out_v[c] = 1 / precision
        else:
            eigen = np.linalg.eigvalsh(cov)
            if eigen.min() < -1e-12 * max(1.0, eigen.max()):
                raise ArgumentError(
                    f"rho: the sampling covariance matrix of cluster {labels[c]!r} is not positive "
                    "semi-definite (a correlation this strong is impossible for these estimates)"
                )
            out_y[c] = y[members].mean()
            out_v[c] = ones @ cov @ ones / members.size**2
        out_k[c] = members.size
    return pd.DataFrame({"cluster": list(labels), "yi": out_y, "vi": out_v, "k": out_k})
