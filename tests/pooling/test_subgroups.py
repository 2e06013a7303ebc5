"""Subgroup analysis against metafor 3.8: every ``primary.subgroups`` block of the oracle.

Per-level fits (REML at 1e-5, DL at 1e-8), the RevMan-style test from separate
fits (``separate_tau2``), the mixed-effects QM with a common tau2 (``mixed_REML``,
``mixed_DL``) and the fixed-effect partition (``between_EE``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.pooling.subgroups import subgroups

ORACLE = Path(os.environ.get("TRIALSYNTH_ORACLE", "/work/shared/oracle/metafor"))
CASES = []
if ORACLE.is_dir():
    for path in sorted(ORACLE.glob("*.json")):
        if json.loads(path.read_text())["primary"].get("subgroups"):
            CASES.append(pytest.param(path, id=path.stem))
skip_without_oracle = pytest.mark.skipif(not ORACLE.is_dir(), reason="metafor oracle not found")
FIT_FIELDS = {
    "b": "estimate", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low",
    "ci.ub": "ci_high", "tau2": "tau2", "se.tau2": "se_tau2", "I2": "i2", "H2": "h2", "QE": "q",
    "QEp": "q_p_value",
}
MODEL_FIELDS = {
    "b": "b", "se": "se", "zval": "statistic", "pval": "p_value", "ci.lb": "ci_low", "ci.ub": "ci_high",
    "tau2": "tau2", "se.tau2": "se_tau2", "I2": "i2", "H2": "h2", "QE": "q", "QEp": "q_p_value",
}


def _close(ours, theirs, name, rtol, atol):
    if theirs is None:
        assert ours is None or np.all(np.isnan(np.asarray(ours, float))), f"{name}: R gives NA, ours {ours}"
        return
    theirs = np.asarray(theirs, float)
    if name == "tau2" and theirs.size == 1 and theirs < 1e-10:  # boundary estimate
        atol = max(atol, 1e-10)
    np.testing.assert_allclose(np.asarray(ours, float), theirs, rtol=rtol, atol=atol, err_msg=name)


def _run(path, method):
    ref = json.loads(path.read_text())
    block = ref["primary"]["subgroups"]
    escalc = ref["measures"][ref["primary_measure"]]["escalc"]
    dat = pd.read_csv(path.with_suffix(".csv"))
    result = subgroups(escalc["yi"], escalc["vi"], dat[block["moderator"]], method=method,
                       moderator=block["moderator"])
    return block, result


@skip_without_oracle
def test_oracle_has_subgroup_cases():
    assert len(CASES) >= 9


@skip_without_oracle
@pytest.mark.parametrize("method", ["REML", "DL"])
@pytest.mark.parametrize("path", CASES)
def test_subgroups_match_metafor(path, method):
    block, result = _run(path, method)
    tol = dict(rtol=1e-5, atol=1e-8) if method == "REML" else dict(rtol=1e-8, atol=1e-10)
    assert [str(x) for x in result.levels] == [str(x) for x in block["levels"]]
    # one fit per level
    for record in block["per_level"][method]:
        assert record["error"] is None
        level = next(x for x in result.levels if str(x) == str(record["level"]))
        fit = result.fits[level]
        assert fit.k == record["k"]
        for field, attribute in FIT_FIELDS.items():
            _close(getattr(fit, attribute), record[field], f"{level}.{field}", **tol)
    # test for subgroup differences from separate fits (each level its own tau2)
    separate = block["separate_tau2"][method]
    assert [str(x) for x in separate["sg"]["level"]] == [str(x) for x in result.levels]
    _close(result.between_fit.yi, separate["sg"]["est"], "sg.est", **tol)
    _close(np.sqrt(result.between_fit.vi), separate["sg"]["se"], "sg.se", **tol)
    assert [result.fits[x].k for x in result.levels] == separate["sg"]["k"]
    for field, attribute in FIT_FIELDS.items():
        if field in separate:
            _close(getattr(result.between_fit, attribute), separate[field], f"separate.{field}", **tol)
    _close(result.between_separate.statistic, separate["QE"], "separate.QE", **tol)
    _close(result.between_separate.p_value, separate["QEp"], "separate.QEp", **tol)
    assert result.between_separate.df == separate["k"] - 1
    # mixed-effects model with a common tau2
    mixed = block[f"mixed_{method}"]
    assert mixed["error"] is None
    for field, attribute in MODEL_FIELDS.items():
        _close(getattr(result.mixed_fit, attribute), mixed[field], f"mixed.{field}", **tol)
    _close(result.mixed.statistic, mixed["QM"], "mixed.QM", **tol)
    _close(result.mixed.p_value, mixed["QMp"], "mixed.QMp", **tol)
    assert [result.mixed.df, result.mixed.df2] == mixed["QMdf"]
    _close(result.r2, mixed["R2"], "mixed.R2", **tol)
    for likelihood, values in mixed["fit.stats"].items():
        for name, value in values.items():
            _close(result.mixed_fit.fit_stats[likelihood][name], value, f"mixed.{likelihood}.{name}", **tol)
    # fixed-effect partition of Q (closed form)
    fixed = block["between_EE"]
    exact = dict(rtol=1e-8, atol=1e-10)
    _close(result.fixed_between.statistic, fixed["QM"], "between_EE.QM", **exact)
    _close(result.fixed_between.p_value, fixed["QMp"], "between_EE.QMp", **exact)
    _close(result.fixed_within.statistic, fixed["QE"], "between_EE.QE", **exact)
    _close(result.fixed_within.p_value, fixed["QEp"], "between_EE.QEp", **exact)
    for field, attribute in MODEL_FIELDS.items():
        _close(getattr(result.fixed_fit, attribute), fixed[field], f"between_EE.{field}", **exact)
    _close(result.fixed_r2, fixed["R2"], "between_EE.R2", **exact)


@skip_without_oracle
def test_frames():
    block, result = _run(CASES[0].values[0], "REML")
    frame = result.to_frame()
    assert frame["subgroup"].tolist() == result.levels
    assert {"estimate", "ci_low", "ci_high", "tau2", "i2", "k"} <= set(frame.columns)
    tests = result.tests_frame()
    assert len(tests) == 4 and tests["p_value"].between(0, 1).all()
    assert "mixed-effects" in result.summary()


def test_knha_gives_f_test():
    yi = np.array([0.1, 0.4, 0.3, 0.9, 1.1, 0.7, 0.2, 0.8])
    vi = np.array([0.05, 0.1, 0.08, 0.06, 0.2, 0.1, 0.07, 0.09])
    groups = ["a", "a", "a", "b", "b", "b", "c", "c"]
    result = subgroups(yi, vi, groups, method="DL", test="knha")
    assert result.mixed.df == 2 and result.mixed.df2 == 5
    assert 0 < result.mixed.p_value < 1


@pytest.mark.parametrize(
    "groups, match",
    [(None, "groups"), (["a", "a", "a"], "at least 2 subgroups"), (["a", None, "b"], "missing"),
     (["a", "b"], "lengths")],
)
def test_bad_groups(groups, match):
    with pytest.raises(ArgumentError, match=match):
        subgroups([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], groups)
