"""How each metafor ``rma.mv`` reference fit (tests/reference/rma_mv_reference.json and
rma_mv_trials.json) is specified for :func:`trialsynth.pool_multivariate`, and the comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from _pooling_oracle import Mismatch, num
from trialsynth.pooling.multivariate import pool_multivariate

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
RTOL, ATOL = 1e-6, 1e-8


def load(name: str) -> dict:
    return json.loads((REF_DIR / name).read_text())


def sparse_V(block: dict, k: int) -> np.ndarray:
    V = np.zeros((k, k))
    V[np.asarray(block["i"], int), np.asarray(block["j"], int)] = num(block["x"])
    return V


def spec(case: str, name: str, data: dict) -> dict:
    """The pool_multivariate arguments of reference fit ``name`` of ``case``."""
    method = name.split(".")[1] if case != "konstantopoulos2011" else name.split(".")[0]
    y = num(data["yi"])
    k = y.size
    if case == "konstantopoulos2011":
        test = name.split(".")[1]
        kw = dict(yi=y, V=num(data["vi"]), levels=[data["district"], data["school"]],
                  level_names=["district", "school"], method=method, test=test)
        if name.endswith("year"):
            kw["moderators"] = {"year": np.asarray(data["year"], float) - 1990}
        return kw
    if case == "berkey1998":
        struct = name.split(".")[0]
        outcome = np.asarray(data["outcome"], dtype=object)
        kw = dict(yi=y, V=sparse_V(data["V"], k), outer=data["trial"], inner=outcome, struct=struct,
                  method=method)
        if name.endswith("year"):
            year = np.asarray(data["year"], float) - 1983
            kw["moderators"] = pd.DataFrame({"AL": (outcome == "AL") * 1.0, "PD": (outcome == "PD") * 1.0,
                                             "AL:year": (outcome == "AL") * year, "PD:year": (outcome == "PD") * year})
        else:
            kw["moderators"] = pd.DataFrame({"outcome": outcome})
        kw["intercept"] = False
        return kw
    if case == "ishak2007":
        struct = name.split(".")[0]
        time = np.asarray(data["time"], float)
        kw = dict(yi=y, V=sparse_V(data["V"], k), moderators=pd.DataFrame({"time": [f"{t:g}" for t in time]}),
                  intercept=False, outer=data["study"], inner=time, struct=struct, method=method)
        return kw
    if case == "synthetic":
        struct = name.split(".")[0]
        kw = dict(yi=y, V=sparse_V(data["V"], k), moderators={"x": num(data["x"])}, outer=data["study"],
                  method=method)
        if struct == "levels+CAR":
            kw.update(levels=[data["study"]], inner=num(data["time"]), struct="CAR")
        else:
            kw.update(inner=num(data["time"]) if struct == "CAR" else num(data["occ"]), struct=struct)
        return kw
    if case.startswith("trials"):
        return trials_spec(name, data)
    raise KeyError(case)


def trials_spec(name: str, data: dict) -> dict:
    model = data["models"][name]
    y = num(data["yi"])
    V = sparse_V(data["V"][model["V"]], y.size)
    rows = np.asarray(model["rows"], int)
    V = V[np.ix_(rows, rows)]
    kw = dict(yi=y[rows], V=V, method=model["method"], test=model.get("test", "z"))
    frame = pd.DataFrame({c: np.asarray(v, dtype=object)[rows] for c, v in data["columns"].items()})
    if model.get("cells"):
        kw["moderators"] = pd.DataFrame({"cell": frame[model["cells"]].astype(str)})
        kw["intercept"] = False
    if model.get("numeric"):
        kw["moderators"] = pd.DataFrame({c: frame[c].astype(float) for c in model["numeric"]})
    if model.get("levels"):
        kw["levels"] = [frame[c] for c in model["levels"]]
    if model.get("outer"):
        kw["outer"] = frame[model["outer"]]
        inner = frame[model["inner"]]
        kw["inner"] = inner.astype(float) if model["struct"] == "CAR" else inner
        kw["struct"] = model["struct"]
    if model.get("fixed"):
        kw["fixed"] = model["fixed"]
    return kw


def compare(res, rec: dict, m: Mismatch, *, with_ci: bool = True) -> None:
    """Every quantity ``rec`` holds against ``res``."""
    coef = res.coefficients
    m.check("b", coef["estimate"].to_numpy(), rec["b"])
    m.check("se", coef["se"].to_numpy(), rec["se"])
    m.check("zval", coef["statistic"].to_numpy(), rec["zval"])
    m.check("pval", coef["p_value"].to_numpy(), rec["pval"], atol=1e-10)
    m.check("ci.lb", coef["ci_low"].to_numpy(), rec["ci.lb"])
    m.check("ci.ub", coef["ci_high"].to_numpy(), rec["ci.ub"])
    m.check("vb", res.vcov.ravel(), np.asarray(rec["vb"], float).ravel())
    if res.sigma2.size:
        m.check("sigma2", res.sigma2, rec["sigma2"])
    if res.struct is not None:
        m.check("tau2", np.atleast_1d(res.tau2), rec["tau2"])
        if res.struct == "UN":
            R = np.asarray(res.rho)
            # correlations live in [-1, 1]: an entry near 0 of a singular UN matrix to 1e-7 absolute
            m.check("rho", R[np.triu_indices(R.shape[0], 1)], rec["rho"], atol=1e-7)
        elif res.struct not in ("ID", "DIAG") and not (np.all(np.atleast_1d(res.tau2) == 0)
                                                        and np.all(np.atleast_1d(num(rec["tau2"])) < 1e-8)):
            # (with tau2 = 0 the structure's correlation is not identified: nothing to compare)
            m.check("rho", res.rho, rec["rho"], atol=1e-7)
    m.check("ll", res.ll, rec["ll"])
    for key in ("ll", "dev", "AIC", "BIC", "AICc"):
        if rec["fit.stats"][key] is not None:
            m.check(f"fit.stats.{key}", res.fit_stats[key], rec["fit.stats"][key])
    m.check("QE", res.qe, rec["QE"])
    m.check("QEp", res.qe_p_value, rec["QEp"], atol=1e-10)
    if rec["QM"] is not None and res.qm_df[0]:
        m.check("QM", res.qm, rec["QM"])
        m.check("QMp", res.qm_p_value, rec["QMp"], atol=1e-10)
    if "predict" in rec:
        pr = rec["predict"]
        args = pr["args"] if isinstance(pr["args"], dict) else {}
        newmods = None if "newmods" not in args else np.asarray(args["newmods"], float)
        if newmods is not None and newmods.ndim == 1 and res.p == newmods.size and res.coef_names[0] != "intrcpt":
            newmods = newmods[None, :]
        levels = args.get("tau2.levels")
        if levels is not None:
            levels = [lv if isinstance(lv, str) else float(lv) for lv in np.atleast_1d(levels)]
        p = res.predict(newmods, tau2_levels=levels)
        for ours, key in (("pred", "pred"), ("se", "se"), ("ci_low", "ci.lb"), ("ci_high", "ci.ub"),
                          ("pi_low", "pi.lb"), ("pi_high", "pi.ub")):
            if pr[key] is not None:
                m.check(f"predict.{key}", p[ours].to_numpy(), pr[key])
    if "blup" in rec:
        b = res.blup()
        scale = float(np.median(num(rec["blup"]["se"])))
        # predictions near 0: to a millionth of their SE
        m.check("blup.pred", b["pred"].to_numpy(), rec["blup"]["pred"], atol=1e-6 * scale)
        m.check("blup.se", b["se"].to_numpy(), rec["blup"]["se"])
    re = res.ranef()
    reference_ranef = rec["ranef"] if isinstance(rec["ranef"], dict) else {}  # [] without random effects
    for (term, block), (ours_name, ours) in zip(reference_ranef.items(), re.items()):
        names = [str(n).replace(" ", "") for n in block["names"]]
        frame = ours.copy()
        frame.index = [str(i).replace(" ", "") for i in frame.index]
        missing = [n for n in names if n not in frame.index]
        if missing:
            m.failures.append(f"ranef {term}: groups {missing[:3]} not in ours ({list(frame.index[:3])})")
            continue
        frame = frame.loc[names]
        scale = float(np.median(num(block["se"])))
        # random effects scatter around 0: compared to a millionth of their SE
        m.check(f"ranef[{term}].estimate", frame["estimate"].to_numpy(), block["estimate"], atol=1e-6 * scale)
        m.check(f"ranef[{term}].se", frame["se"].to_numpy(), block["se"])
        m.check(f"ranef[{term}].pi.lb", frame["pi_low"].to_numpy(), block["pi.lb"], atol=1e-6 * scale)
    if with_ci and "confint" in rec:
        ci = res.heterogeneity_ci()
        ours_names = list(ci.index)
        for n, block in enumerate(rec["confint"]):
            name = ours_names[n]
            lo, hi = block["ci.lb"], block["ci.ub"]
            lo = lo[0] if isinstance(lo, list) else lo
            hi = hi[0] if isinstance(hi, list) else hi
            # metafor leaves a bound NA when its profile refits fail, and each program stops at its
            # own edge of the region where the model is defined: those bounds are not compared
            note = ci.loc[name, "note"]
            if lo is not None and "lower: edge of the region" not in note:
                m.check(f"confint[{name}].lb", ci.loc[name, "ci_low"], lo, rtol=1e-5, atol=1e-7)
            if hi is not None and "upper: edge of the region" not in note:
                m.check(f"confint[{name}].ub", ci.loc[name, "ci_high"], hi, rtol=1e-5, atol=1e-7)


def fit(case: str, name: str, data: dict):
    return pool_multivariate(**spec(case, name, data), warn=False)


__all__ = ["ATOL", "RTOL", "compare", "fit", "load", "spec"]
