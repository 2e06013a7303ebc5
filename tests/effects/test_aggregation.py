"""aggregate_effects against metafor 3.8's aggregate.escalc (``reference/aggregate.json``, written by
``reference/make_aggregate.R``): Assink et al. 2016 (the example of metafor's documentation, rho =
0.6), Konstantopoulos 2011 (independent schools within districts) and a constructed trial with
outcomes at time points, a missing estimate and a full covariance matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trialsynth.effects import aggregate_effects
from trialsynth.errors import ArgumentError

REF = json.loads((Path(__file__).parent / "reference/aggregate.json").read_text())


def _arr(values):
    return np.array([np.nan if v in (None, "NA") else v for v in values], dtype=float)


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_aggregate_matches_metafor(case):
    x = case["inputs"]
    args = dict(case["args"] or {})
    args.pop("addk", None)
    kwargs = {}
    if "rho" in args:
        kwargs["rho"] = x.get("rho_per_cluster", args["rho"])
    for name in ("struct", "phi", "weighted"):
        if name in args:
            kwargs[name] = args[name]
    if "CAR" in case["name"]:
        kwargs["time"] = x["time"]
    if "*CAR" in case["name"]:
        kwargs["obs"] = x["obs"]
    if "V" in x:
        kwargs["V"] = np.array(x["V"], dtype=float)
    got = aggregate_effects(_arr(x["yi"]), _arr(x["vi"]), x["cluster"], **kwargs)
    assert got["cluster"].astype(str).tolist() == case["cluster_out"]
    np.testing.assert_allclose(got["yi"], _arr(case["yi"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["vi"], _arr(case["vi"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(got["k"], _arr(case["ki"]))


def test_independent_estimates_give_the_inverse_variance_mean():
    got = aggregate_effects([1.0, 3.0], [1.0, 3.0], ["t", "t"], struct="ID")
    assert got.loc[0, "yi"] == pytest.approx((1 / 1 + 3 / 3) / (1 + 1 / 3))
    assert got.loc[0, "vi"] == pytest.approx(1 / (1 + 1 / 3))


def test_perfectly_correlated_equal_estimates_keep_their_variance():
    # two outcomes that are the same measurement: rho = 1 adds no information (unweighted mean)
    got = aggregate_effects([0.3, 0.3], [0.04, 0.04], ["t", "t"], rho=1.0, weighted=False)
    assert got.loc[0, "vi"] == pytest.approx(0.04)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"]), "rho: struct 'CS' needs"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"], rho=1.5), r"rho: expected values in \[-1, 1\]"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"], rho=[0.2, 0.3]), "one per cluster"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.0], cluster=["a", "a"], rho=0.2), "vi: expected variances > 0"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.01, 0.02, 0.03], cluster=["a", "a", "a"], rho=-0.9), "cluster 'a' is not positive definite"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"], struct="CAR", phi=0.5), "time: struct 'CAR' needs"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a"], rho=0.5), "same length"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"], struct="AR"), "struct: expected one of"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], cluster=["a", "a"], V=[[0.01, 0.0], [0.0, 0.03]]), "diagonal must equal vi"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        aggregate_effects(**kwargs)
