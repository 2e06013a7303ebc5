"""metafor's dat.bcg (13 BCG trials) as the forest plot's inputs, read from the metafor oracle.

Study rows: log risk ratios (yi, vi) from ``trialsynth.effect_sizes("RR", ...)``,
checked against metafor's escalc values in the oracle; the per-study Wald CI
yi +/- z(0.975) * sqrt(vi) is what metafor's forest() draws. Pooled row: metafor's
rma(yi, vi, method="REML") record (estimate, CI, PI, tau2, I2, Q, z, weights).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

ORACLE = Path(os.environ.get("TRIALSYNTH_ORACLE", "/work/shared/oracle/metafor"))
Z975 = 1.959963984540054


def oracle_available() -> bool:
    return (ORACLE / "dat.bcg.json").exists()


def bcg():
    """(study frame, pooled dict) for dat.bcg, RR, REML."""
    record = json.loads((ORACLE / "dat.bcg.json").read_text())
    table = pd.read_csv(ORACLE / "dat.bcg.csv")
    escalc = record["measures"]["RR"]["escalc"]
    fit = record["measures"]["RR"]["rma"]["REML"]["z"]
    from trialsynth import effect_sizes

    effects = effect_sizes("RR", events1=table["ai"], n1=table["n1i"], events2=table["ci"], n2=table["n2i"])
    yi = effects["yi"].to_numpy(dtype=float)
    vi = effects["vi"].to_numpy(dtype=float)
    np.testing.assert_allclose(yi, escalc["yi"], rtol=1e-10)
    np.testing.assert_allclose(vi, escalc["vi"], rtol=1e-10)
    frame = pd.DataFrame(
        {
            "label": table["study"],
            "estimate": yi,
            "ci_low": yi - Z975 * np.sqrt(vi),
            "ci_high": yi + Z975 * np.sqrt(vi),
            "weight": fit["weights"],
            "events1": table["ai"],
            "n1": table["n1i"],
            "events2": table["ci"],
            "n2": table["n2i"],
            "year": [int(s.split()[-1]) for s in table["study"]],
        }
    )
    pooled = {
        "estimate": fit["b"],
        "ci_low": fit["ci.lb"],
        "ci_high": fit["ci.ub"],
        "pi_low": fit["predict"]["pi.lb"],
        "pi_high": fit["predict"]["pi.ub"],
        "tau2": fit["tau2"],
        "i2": fit["I2"],
        "q": fit["QE"],
        "q_df": fit["k"] - 1,
        "q_p_value": fit["QEp"],
        "statistic": fit["zval"],
        "p_value": fit["pval"],
        "test": "z",
        "method": "REML",
        "k": fit["k"],
        "methods_text": "Random-effects model, REML estimate of tau\u00b2, Wald-type z test and CI; "
        "95% prediction interval. Numbers from R metafor 3.8-1 (dat.bcg, measure RR).",
    }
    return frame, pooled


def synthetic(k: int, seed: int = 1):
    """k made-up studies for geometry checks only (no statistical claim is tested with them)."""
    rng = np.random.default_rng(seed)
    yi = rng.normal(-0.3, 0.4, size=k)
    se = rng.uniform(0.1, 0.6, size=k)
    weight = 100 * (1 / se**2) / np.sum(1 / se**2)
    frame = pd.DataFrame(
        {
            "label": [f"Trial number {i + 1} et al. {1990 + i % 30}" for i in range(k)],
            "estimate": yi,
            "ci_low": yi - 1.96 * se,
            "ci_high": yi + 1.96 * se,
            "weight": weight,
            "n1": rng.integers(20, 400, size=k),
            "mean1": np.round(rng.normal(3, 1, size=k), 1),
            "sd1": np.round(rng.uniform(1, 2.5, size=k), 1),
            "n2": rng.integers(20, 400, size=k),
            "mean2": np.round(rng.normal(3.5, 1, size=k), 1),
            "sd2": np.round(rng.uniform(1, 2.5, size=k), 1),
            "year": 1990 + np.arange(k) % 30,
        }
    )
    pooled = {
        "estimate": -0.3, "ci_low": -0.45, "ci_high": -0.15, "pi_low": -1.0, "pi_high": 0.4,
        "tau2": 0.12, "i2": 61.0, "q": 2.5 * k, "q_df": k - 1, "q_p_value": 0.001,
        "statistic": -3.9, "p_value": 0.0001, "test": "z", "method": "REML",
    }
    return frame, pooled


def bcg_subgroups():
    """dat.bcg split by allocation (alternate, random, systematic): per-level REML fits from the oracle,
    and the test for subgroup differences with a separate tau2 per subgroup (RevMan's), from the oracle."""
    record = json.loads((ORACLE / "dat.bcg.json").read_text())
    frame, _ = bcg()
    table = pd.read_csv(ORACLE / "dat.bcg.csv")
    subgroups = record["primary"]["subgroups"]
    sections = {}
    for fit in subgroups["per_level"]["REML"]:
        mask = (table["alloc"] == fit["level"]).to_numpy()
        studies = frame[mask].drop(columns=["weight"]).reset_index(drop=True)
        pooled = {
            "estimate": fit["b"], "ci_low": fit["ci.lb"], "ci_high": fit["ci.ub"], "tau2": fit["tau2"],
            "i2": fit["I2"], "q": fit["QE"], "q_df": fit["k"] - 1, "q_p_value": fit["QEp"],
            "statistic": fit["zval"], "p_value": fit["pval"], "test": "z", "method": "REML",
        }
        sections[f"{fit['level'].capitalize()} allocation"] = (studies, pooled)
    between = subgroups["separate_tau2"]["REML"]
    test = (between["QE"], between["k"] - 1, between["QEp"])
    return sections, test
