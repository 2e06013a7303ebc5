"""Write rma_mv_trials_input.json: our own trials (data/trials.csv) as the multivariate models see them.

Run from the repository root:  .venv/bin/python tests/reference/make_rma_mv_trials_input.py
then, in tests/reference:       Rscript make_rma_mv_trials.R

The input holds, for the usable rows of chronic low back pain (pain and function, SMD): yi, the
row labels and grouping columns, and the within-trial covariance V built by
trialsynth.within_trial_cov at within-person correlations 0.5 and 0.9 (GERAC = Haake2007's two
comparisons share its verum arm; Brinkhaus2006's two comparisons share the acupuncture arm), and
the model specifications that make_rma_mv_trials.R fits with metafor. The test
(tests/pooling/test_multivariate_trials.py) fits the same models from the same input, so the
parity check does not move when data/trials.csv grows; the data commit is recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from trialsynth.effects.covariance import within_trial_cov  # noqa: E402
from trialsynth.report.stages import compute_effects, load_trials_stage  # noqa: E402


def triplets(V):
    i, j = np.nonzero(V)
    return {"i": i.tolist(), "j": j.tolist(), "x": V[i, j].tolist()}


def main() -> None:
    effects = compute_effects(load_trials_stage(ROOT / "data" / "trials.csv"))
    eff = effects.effects
    rows = eff[eff["yi"].notna() & eff["usable"].fillna(False).astype(bool) & eff["window"].notna()
               & eff["condition"].astype(str).isin(list(effects.conditions))
               & eff["outcome"].astype(str).isin(["pain", "function"])]
    rows = rows.sort_values(["outcome", "study_id", "comparison_id", "timepoint_weeks"])
    blocks = {}
    for rho in (0.5, 0.9):
        V = np.zeros((len(rows), len(rows)))
        for outcome in ("pain", "function"):
            pos = np.flatnonzero((rows["outcome"].astype(str) == outcome).to_numpy())
            cov = within_trial_cov(rows.iloc[pos], rho=rho)
            V[np.ix_(pos, pos)] = cov.matrix
        blocks[f"{rho:g}"] = triplets(V)
    columns = {
        "row": [int(i) for i in rows.index],
        "study_id": rows["study_id"].astype(str).tolist(),
        "comparison_id": rows["comparison_id"].astype(str).tolist(),
        "trial": (rows["study_id"].astype(str) + "/" + rows["comparison_id"].astype(str)).tolist(),
        "comparator": rows["comparator_class"].astype(str).tolist(),
        "outcome": rows["outcome"].astype(str).tolist(),
        "window": rows["window"].astype(str).tolist(),
        "cell": (rows["comparator_class"].astype(str) + ":" + rows["window"].astype(str)).tolist(),
        "weeks_after": rows["weeks_after"].astype(float).tolist(),
        "log1p_weeks": np.log1p(rows["weeks_after"].astype(float)).tolist(),
    }
    outcome = np.array(columns["outcome"])
    comp = np.array(columns["comparator"])
    study = np.array(columns["study_id"])

    def where(mask):
        return np.flatnonzero(mask).tolist()

    pain, function = outcome == "pain", outcome == "function"
    models = {
        "pain_windows_CS": dict(rows=where(pain), V="0.5", cells="cell", outer="trial", inner="window", struct="CS",
                                method="REML"),
        "pain_windows_CS_rho0.9": dict(rows=where(pain), V="0.9", cells="cell", outer="trial", inner="window",
                                       struct="CS", method="REML"),
        "pain_windows_CS_ML": dict(rows=where(pain), V="0.5", cells="cell", outer="trial", inner="window", struct="CS",
                                   method="ML"),
        "function_windows_ID": dict(rows=where(function), V="0.5", cells="cell", outer="trial", inner="window",
                                    struct="ID", method="REML"),
        "pain_sham_time_CAR": dict(rows=where(pain & (comp == "sham")), V="0.5", numeric=["log1p_weeks"],
                                   levels=["trial"], outer="trial", inner="weeks_after", struct="CAR", method="REML"),
        "pain_usual_care_time_CAR": dict(rows=where(pain & (comp == "usual_care")), V="0.5", numeric=["log1p_weeks"],
                                         outer="trial", inner="weeks_after", struct="CAR", method="REML"),
        "function_usual_care_time_CAR_ML": dict(rows=where(function & (comp == "usual_care")), V="0.5",
                                                numeric=["log1p_weeks"], outer="trial", inner="weeks_after",
                                                struct="CAR", method="ML"),
        # GERAC (Haake 2007): verum vs sham and verum vs conventional care share the verum arm
        "gerac_pain_comparator_common": dict(rows=where(pain & (study == "Haake2007")), V="0.5", cells="comparator",
                                             method="REML"),
        "gerac_pain_time_sigma2": dict(rows=where(pain & (study == "Haake2007")), V="0.5", numeric=["log1p_weeks"],
                                       levels=["comparison_id"], method="REML"),
    }
    # trialsynth's own estimates of each model, given to R as one more start (make_rma_mv_trials.R):
    # several of these likelihoods are flat or have a correlation at a bound, where metafor's
    # optimisers stop short of (or away from) the maximum from their default starts
    sys.path.insert(0, str(ROOT / "tests" / "pooling"))
    from _mv_reference import trials_spec  # noqa: E402
    from trialsynth.pooling.multivariate import pool_multivariate  # noqa: E402

    probe = {"yi": rows["yi"].astype(float).tolist(), "V": blocks, "columns": columns, "models": models}
    for name, model in models.items():
        res = pool_multivariate(**trials_spec(name, probe), warn=False)
        finite = lambda x: [float(v) for v in np.atleast_1d(x) if np.isfinite(v)]  # noqa: E731
        model["start"] = {"sigma2": finite(res.sigma2), "tau2": finite(res.tau2), "rho": finite(res.rho)}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out = {"generated_by": "tests/reference/make_rma_mv_trials_input.py", "data_commit": commit,
           "measure": "SMD", "yi": rows["yi"].astype(float).tolist(), "vi": rows["vi"].astype(float).tolist(),
           "V": blocks, "columns": columns, "models": models}
    path = ROOT / "tests" / "reference" / "rma_mv_trials_input.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
