"""pool_multivariate: the contract (attributes, methods), refusals, boundaries, and the block algorithm
against a direct dense computation of the likelihood."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import trialsynth as ts
from trialsynth.errors import ArgumentError
from trialsynth.pooling import _mvcore as core
from trialsynth.pooling.multivariate import MultivariateResult, pool_multivariate


def _data(seed=7, n_trials=12, times=(0.0, 4.0, 13.0, 26.0), drop=0.2):
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_trials):
        kept = [x for x in times if rng.random() > drop] or [times[0]]
        for x in kept:
            rows.append((f"T{t:02d}", x))
    study = np.array([r[0] for r in rows], dtype=object)
    time = np.array([r[1] for r in rows])
    k = len(rows)
    v = rng.uniform(0.02, 0.1, k)
    V = np.diag(v)
    for s in np.unique(study):  # AR(1)-like sampling correlation 0.6 ** |lag in occasions|
        idx = np.flatnonzero(study == s)
        for a in idx:
            for b in idx:
                if a != b:
                    V[a, b] = 0.6 ** abs(list(times).index(time[a]) - list(times).index(time[b])) * math.sqrt(v[a] * v[b])
    u = dict(zip(np.unique(study), rng.normal(0, 0.3, n_trials)))
    y = -0.3 + 0.01 * time + np.array([u[s] for s in study]) + rng.multivariate_normal(np.zeros(k), V + 0.02 * np.eye(k))
    return y, V, study, time


def test_result_contract():
    y, V, study, time = _data()
    res = ts.pool_multivariate(y, V, moderators={"weeks": time}, outer=study, inner=time, struct="CAR")
    assert isinstance(res, MultivariateResult)
    assert list(res.coefficients.columns) == ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high"]
    assert list(res.coefficients.index) == ["intrcpt", "weeks"]
    for attr in ("sigma2", "tau2", "rho", "ll", "qe", "qe_p_value", "qm", "qm_p_value", "k", "converged"):
        assert hasattr(res, attr), attr
    assert res.k == len(y) and res.converged and res.sigma2.size == 0
    assert isinstance(res.tau2, float) and 0 < res.rho < 1
    c = res.contrast({"weeks": 26})
    assert list(c.columns) == ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high"]
    assert c["estimate"].iloc[0] == pytest.approx(26 * res.coefficients.loc["weeks", "estimate"])
    assert c["se"].iloc[0] == pytest.approx(26 * res.coefficients.loc["weeks", "se"])
    p = res.predict([0.0, 26.0])
    assert list(p.columns) == ["pred", "se", "ci_low", "ci_high", "pi_low", "pi_high"]
    assert (p["pi_low"] < p["ci_low"]).all() and (p["pi_high"] > p["ci_high"]).all()
    b = res.blup()
    assert len(b) == res.k and (b["se"] > 0).all()
    ci = res.heterogeneity_ci()
    assert list(ci.index) == ["tau2", "rho"]
    assert (ci["ci_low"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["ci_high"]).all()
    frame = res.to_frame()
    assert set(frame["kind"]) == {"coefficient", "tau2", "rho"}
    text = res.summary()
    assert "Multivariate Meta-Analysis Model" in text and "weeks" in text and "QE(df" in text
    assert "<table>" in res._repr_html_()
    assert str(res) == text


def test_qm_is_the_wald_test_and_t_test_uses_k_minus_p():
    y, V, study, time = _data()
    z = pool_multivariate(y, V, moderators={"weeks": time}, levels=[study])
    t = pool_multivariate(y, V, moderators={"weeks": time}, levels=[study], test="t")
    stat = z.coefficients.loc["weeks", "statistic"]
    assert z.qm == pytest.approx(stat ** 2) and z.qm_df == (1, None)
    assert t.dfs == z.k - 2 and t.qm_df == (1, z.k - 2)
    assert t.coefficients.loc["weeks", "p_value"] > z.coefficients.loc["weeks", "p_value"]


def _dense_reml(y, X, M):
    """The REML log-likelihood written out with dense matrices (Harville 1977), as metafor states it."""
    W = np.linalg.inv(M)
    xtwx = X.T @ W @ X
    beta = np.linalg.solve(xtwx, X.T @ W @ y)
    r = y - X @ beta
    k, p = X.shape
    return -0.5 * ((k - p) * math.log(2 * math.pi) - np.linalg.slogdet(X.T @ X)[1] + np.linalg.slogdet(M)[1]
                   + np.linalg.slogdet(xtwx)[1] + r @ W @ r)


def test_block_likelihood_equals_the_dense_formula():
    y, V, study, time = _data(seed=3)
    res = pool_multivariate(y, V, moderators={"weeks": time}, levels=[study], outer=study, inner=time, struct="CAR")
    s2, tau2, rho = res.sigma2[0], res.tau2, res.rho
    same = study[:, None] == study[None, :]
    M = V + s2 * same + tau2 * rho ** np.abs(time[:, None] - time[None, :]) * same
    X = np.column_stack([np.ones(len(y)), time])
    assert res.ll == pytest.approx(_dense_reml(y, X, M), rel=1e-12)
    W = np.linalg.inv(M)
    vb = np.linalg.inv(X.T @ W @ X)
    assert np.allclose(res.vcov, vb, rtol=1e-10)
    # the rows' order does not matter (blocks are found, not assumed)
    perm = np.random.default_rng(1).permutation(len(y))
    res2 = pool_multivariate(y[perm], V[np.ix_(perm, perm)], moderators={"weeks": time[perm]}, levels=[study[perm]],
                             outer=study[perm], inner=time[perm], struct="CAR")
    assert res2.ll == pytest.approx(res.ll, rel=1e-10)
    assert np.allclose(res2.coefficients["estimate"], res.coefficients["estimate"], rtol=1e-7)


def test_gradient_and_hessian_are_exact_for_every_structure():
    y, V, study, time = _data(seed=11, n_trials=14)
    occ = np.searchsorted([0.0, 4.0, 13.0, 26.0], time) + 1
    for struct in ("ID", "CS", "HCS", "UN", "DIAG", "AR", "HAR", "CAR"):
        inner = time if struct == "CAR" else occ
        levels = [study] if struct in ("ID", "DIAG", "AR", "CAR") else None
        res = pool_multivariate(y, V, levels=levels, outer=study, inner=inner, struct=struct, warn=False)
        cm = res._core
        kinds = [p.kind for p in cm.params]
        eta = np.array([core.to_eta(k, t) for k, t in zip(kinds, res._theta)])
        eta = np.where(np.isfinite(eta), eta, -3.0)
        eta = np.where(np.array(kinds) == core.VAR, eta + 0.05, 0.9 * eta)  # off the optimum, inside the region

        def nat(e):
            return np.array([core.to_natural(k, x) for k, x in zip(kinds, e)])

        ev = cm.evaluate(nat(eta), 3)
        assert ev is not None, struct
        for i in range(len(eta)):
            h = 1e-5
            ep, em = eta.copy(), eta.copy()
            ep[i] += h
            em[i] -= h
            g_fd = (cm.evaluate(nat(ep), 0)["ll"] - cm.evaluate(nat(em), 0)["ll"]) / (2 * h)
            h_fd = (cm.evaluate(nat(ep), 1)["grad"] - cm.evaluate(nat(em), 1)["grad"]) / (2 * h)
            assert ev["grad"][i] == pytest.approx(g_fd, abs=1e-6 * max(1, abs(g_fd))), (struct, i)
            assert np.allclose(ev["hessian"][:, i], h_fd, atol=1e-5 * max(1, np.abs(h_fd).max())), (struct, i)


def test_refuses_non_positive_definite_V_naming_the_rows():
    y, V, study, time = _data()
    V = V.copy()
    i, j = 0, 1
    assert study[i] == study[j]
    V[i, j] = V[j, i] = 1.5 * math.sqrt(V[i, i] * V[j, j])
    labels = [f"{s}@{t:g}" for s, t in zip(study, time)]
    with pytest.raises(ArgumentError, match="not positive definite") as err:
        pool_multivariate(y, V, levels=[study], labels=labels)
    assert labels[0] in str(err.value)
    with pytest.raises(ArgumentError, match="positive"):
        pool_multivariate(y, np.r_[-0.1, np.diag(V)[1:]])


def test_refuses_mismatched_lengths_and_asymmetric_V():
    y, V, study, time = _data()
    with pytest.raises(ArgumentError, match="lengths must match|to match yi"):
        pool_multivariate(y, np.diag(V)[:-1])
    with pytest.raises(ArgumentError, match="shape"):
        pool_multivariate(y, V[:-1, :-1])
    with pytest.raises(ArgumentError, match="labels"):
        pool_multivariate(y, V, levels=[study[:-1]])
    with pytest.raises(ArgumentError, match="moderators has"):
        pool_multivariate(y, V, moderators={"x": time[:-1]})
    with pytest.raises(ArgumentError, match="outer"):
        pool_multivariate(y, V, outer=study[:-1], inner=time[:-1])
    with pytest.raises(ArgumentError, match="give both"):
        pool_multivariate(y, V, outer=study)
    bad = V.copy()
    bad[0, 1] += 0.01
    with pytest.raises(ArgumentError, match="not symmetric"):
        pool_multivariate(y, bad)
    with pytest.raises(ArgumentError, match="struct"):
        pool_multivariate(y, V, outer=study, inner=time, struct="TOEP")
    with pytest.raises(ArgumentError, match="method"):
        pool_multivariate(y, V, method="DL")


def test_refuses_un_and_har_with_too_few_trials_per_level():
    y, V, study, time = _data(n_trials=8, drop=0.0)
    only_one = (study == "T00") | (time < 26)  # the 26-week level occurs in one trial only
    y, V, study, time = y[only_one], V[np.ix_(only_one, only_one)], study[only_one], time[only_one]
    for struct in ("UN", "HAR", "HCS", "DIAG"):
        with pytest.raises(ArgumentError, match="occurs in 1 outer group"):
            pool_multivariate(y, V, outer=study, inner=time, struct=struct)
    # one tau2 for all levels is fine
    assert pool_multivariate(y, V, outer=study, inner=time, struct="CS").converged


def test_boundary_estimates_are_reported_and_exactly_zero():
    rng = np.random.default_rng(5)
    study = np.repeat([f"S{i}" for i in range(10)], 2)
    y = rng.normal(0, 0.05, 20)  # far less spread than the sampling variances: no heterogeneity
    v = np.full(20, 0.2)
    with pytest.warns(UserWarning, match="boundary"):
        res = pool_multivariate(y, v, levels=[study, np.arange(20)])
    assert res.sigma2[0] == 0.0 and res.sigma2[1] == 0.0
    assert set(res.boundary) == {"sigma2.1", "sigma2.2"}
    assert res.converged
    assert res.variance_components()["boundary"].all()
    assert "boundary" in res.summary()


def test_non_convergence_is_reported():
    y, V, study, time = _data()
    res = pool_multivariate(y, V, levels=[study], outer=study, inner=time, struct="CAR", max_iter=1, warn=False)
    assert not res.converged
    assert any("did not converge" in w for w in res.warnings)


def test_fixed_parameters_and_profile():
    y, V, study, time = _data()
    res = pool_multivariate(y, V, outer=study, inner=time, struct="CS")
    fixed = pool_multivariate(y, V, outer=study, inner=time, struct="CS", fixed={"rho": 0.2})
    assert fixed.rho == 0.2 and fixed.fixed == {"rho": 0.2}
    assert fixed.ll <= res.ll + 1e-9
    assert res.profile("rho", [0.2])[0] == pytest.approx(fixed.ll, rel=1e-9)
    ci = res.heterogeneity_ci()
    target = res.ll - 0.5 * 3.841458820694124
    for name in ("tau2", "rho"):
        for bound in ("ci_low", "ci_high"):
            value = ci.loc[name, bound]
            if 0 < value < (1 if name == "rho" else math.inf) and value > -1:
                assert res.profile(name, [value])[0] == pytest.approx(target, abs=1e-6)
    with pytest.raises(ArgumentError, match="not a parameter"):
        pool_multivariate(y, V, outer=study, inner=time, struct="CS", fixed={"gamma": 1})


def test_sparse_V_and_vector_V_give_the_dense_answer():
    from scipy import sparse

    y, V, study, time = _data()
    dense = pool_multivariate(y, V, levels=[study])
    sp = pool_multivariate(y, sparse.csr_matrix(V), levels=[study])
    assert sp.ll == pytest.approx(dense.ll, rel=1e-12)
    diag = pool_multivariate(y, np.diag(V), levels=[study])
    diag2 = pool_multivariate(y, np.diag(np.diag(V)), levels=[study])
    assert diag.ll == pytest.approx(diag2.ll, rel=1e-12)


def test_random_slopes_enter_the_likelihood():
    y, V, study, time = _data(seed=2, n_trials=20, drop=0.0)
    x = np.log1p(time)
    res = pool_multivariate(y, V, moderators={"x": x}, levels=[study], random_slopes={"x": (study, x)})
    s2, s2x = res.sigma2
    same = study[:, None] == study[None, :]
    M = V + s2 * same + s2x * np.outer(x, x) * same
    X = np.column_stack([np.ones(len(y)), x])
    assert res.ll == pytest.approx(_dense_reml(y, X, M), rel=1e-12)
    assert res.level_names[-1] == "slope on x"
