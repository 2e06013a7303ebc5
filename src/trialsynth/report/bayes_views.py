"""What the notebooks show of the Bayesian pooling (issue 16): tables and figures from an
:class:`~trialsynth.report.analysis.Analysis`, nothing computed that the stages did not.

* :func:`bayes_table` - every pooled cell (k >= 2): the frequentist effect and class beside the
  Bayesian one under the default prior and under half-normal(0.5), with the probabilities;
* :func:`bayes_differences_markdown` - the cells whose Bayesian class differs, in words;
* :func:`prior_sensitivity_figure` / :func:`shrinkage_forest_figure` - one cell's panel under
  several priors, and its forest plot with each trial's shrunken estimate;
* :func:`published_example` - Röver 2020's worked example, recomputed beside the printed values.
"""

from __future__ import annotations

import pandas as pd

from trialsynth.data.cells import WINDOW_WORDS, as_add_on, cell_label, comparison_label
from trialsynth.display import format_probability as _pct
from trialsynth.report.stages import GROUP_BY, bayes_class_differences

_WINDOWS = ("immediate", "short", "intermediate", "long")




def bayes_table(an) -> pd.DataFrame:
    """One row per pooled cell with k >= 2 (largest k first): the frequentist effect and class
    (active profile), the Bayesian effect (posterior median, 95% credible interval) and class
    under the default prior (named by its paper),
    P(benefit), P(beyond the MID), the predictive probability that a new trial's true effect is
    beyond the MID, tau's posterior median beside its prior's (``*``: k <= 3, the posterior of
    tau is essentially its prior), and the effect under half-normal(0.5)."""
    from trialsynth.effects.scales import format_effect

    bayes = getattr(an, "bayes", None)
    if bayes is None or not len(bayes) or not len(an.pooled):
        return pd.DataFrame()
    pooled = an.pooled.set_index(list(GROUP_BY))
    rows = []
    for key, group in bayes.groupby(list(GROUP_BY), sort=False):
        by_role = {r["prior_role"]: r for r in group.to_dict("records")}
        default, sens = by_role.get("default"), by_role.get("sensitivity")
        if default is None or key not in pooled.index:
            continue
        freq = pooled.loc[key]
        measure = default["measure"] or "SMD"
        cell = dict(zip(GROUP_BY, key))
        row = {"outcome": cell["outcome"], "comparison": comparison_label(cell["comparator_class"], cell["add_on"]),
               "window": WINDOW_WORDS.get(cell["window"], cell["window"]), "k": int(default["k"]),
               "frequentist": format_effect(measure, freq["estimate"], freq["ci_low"], freq["ci_high"]),
               "class": freq["effect_class"], "prior": str(default["prior"]).split(" (")[0],
               "Bayesian (95% CrI)": format_effect(measure, default["estimate"], default["ci_low"], default["ci_high"]),
               "Bayesian class": freq.get("bayes_class"),
               "P(benefit)": _pct(default["p_benefit"]), "P(beyond MID)": _pct(default["p_beyond_mid"]),
               "new trial beyond MID": _pct(default["p_new_beyond_mid"]),
               "tau: posterior (prior) median": f"{default['tau_median']:.2f} ({default['prior_tau_median']:.2f})"
                                                + (" *" if default["tau_is_prior"] else "")}
        if sens is not None:
            row[f"{sens['prior']} (95% CrI)"] = format_effect(measure, sens["estimate"], sens["ci_low"], sens["ci_high"])
        rows.append(row)
    out = pd.DataFrame(rows)
    if not len(out):
        return out
    order = {WINDOW_WORDS.get(w, w): i for i, w in enumerate(_WINDOWS)}
    out = out.assign(_w=out["window"].map(order)).sort_values(["k", "outcome", "comparison", "_w"],
                                                              ascending=[False, True, True, True])
    return out.drop(columns="_w").reset_index(drop=True)


def bayes_differences_markdown(an) -> str:
    """The cells whose Bayesian class differs from the frequentist one, one bullet each."""
    lines = bayes_class_differences(an.pooled)
    if not lines:
        return "_In every pooled cell the Bayesian answer has the same class as the frequentist one._"
    return "\n".join(f"* {line}" for line in lines)


def sensitivity_cells(an) -> list[tuple]:
    """The cells whose prior-sensitivity panel the notebook shows: the largest pooled cell, and
    every cell whose conclusion depends on the method (the Bayesian answer included), largest k
    first."""
    if not len(an.pooled):
        return []
    frame = an.pooled[an.pooled["k"] >= 2]
    if not len(frame):
        return []
    order = {w: i for i, w in enumerate(_WINDOWS)}
    frame = frame.assign(_w=frame["window"].map(order)).sort_values(["k", "outcome", "comparator_class", "_w"],
                                                                    ascending=[False, True, True, True])
    keys = [_key_of(r) for r in frame.to_dict("records")]
    flagged = [_key_of(r) for r in frame.to_dict("records") if r["conclusion_depends_on_method"]]
    return list(dict.fromkeys([keys[0], *flagged]))


def _key_of(rec) -> tuple:
    """A pooled row's cell key as :meth:`Analysis.results` holds it (``add_on`` a bool)."""
    return tuple(as_add_on(rec[c]) if c == "add_on" else rec[c] for c in GROUP_BY)


def _cell(an, key):
    res = an.results().get(tuple(key))
    if res is None:
        raise KeyError(f"no pooled cell {key!r}")
    return res


def _title(key, k) -> str:
    """"Pain: acupuncture vs sham, intermediate term (k = 2)"."""
    return f"{cell_label(key)} (k = {k})"


def prior_sensitivity_figure(an, key, **kw):
    """The prior-sensitivity panel of one cell (:func:`trialsynth.plots.prior_sensitivity_plot`
    of :func:`trialsynth.diagnostics.bayes_cells.prior_sensitivity`: the default prior,
    half-normal 0.5 and 1.0, half-Cauchy 0.5, and the frequentist fit)."""
    from trialsynth.diagnostics.bayes_cells import prior_sensitivity
    from trialsynth.plots.bayes import prior_sensitivity_plot
    from trialsynth.report.stages import cell_mid

    res = _cell(an, key)
    table = prior_sensitivity(res, mid=lambda measure: cell_mid(key, measure))
    kw.setdefault("title", f"Prior sensitivity: {_title(key, res.k)}")
    return prior_sensitivity_plot(table, **kw)


def shrinkage_forest_figure(an, key, **kw):
    """The cell's forest plot with each trial's shrunken estimate under the default prior."""
    from trialsynth.diagnostics.bayes_cells import default_tau_prior, sensitivity_tau_prior
    from trialsynth.plots.forest import forest_plot
    from trialsynth.pooling.bayes import pool_bayes
    from trialsynth.report.figures import arm_labels

    res = _cell(an, key)
    prior = default_tau_prior(res.measure) or sensitivity_tau_prior()
    bayes = pool_bayes(res.yi, res.vi, tau_prior=prior, labels=list(res.labels), measure=res.measure)
    kw.setdefault("title", _title(key, res.k))
    cell = dict(zip(GROUP_BY, key))  # favours sides from the result's direction, in the comparison's words
    kw.setdefault("arm_labels", arm_labels(cell["comparator_class"], cell["add_on"]))
    return forest_plot(res, shrinkage=bayes.shrinkage, **kw)


#: Röver 2020, J Stat Softw 93(6), Table 3 (Crins et al. 2014, Pediatr Transplant 18:839-850):
#: acute rejection events / patients, IL-2RA vs control
CRINS_2014 = {"study": ["Heffron 2003", "Gibelli 2004", "Schuller 2005", "Ganschow 2005", "Spada 2006", "Gras 2008"],
              "events1": [14, 16, 3, 9, 4, 0], "n1": [61, 28, 18, 54, 36, 50],
              "events2": [15, 19, 8, 29, 11, 3], "n2": [20, 28, 12, 54, 36, 34]}
#: the values printed on pp. 21-28 of the paper (half-normal(0.5) on tau, normal(0, 4) on mu)
CRINS_PRINTED = {"tau median": 0.3445022, "tau mean": 0.3810562, "tau sd": 0.2593672, "tau 95% upper": 0.8607305,
                 "mu median": -1.5734823, "mu mean": -1.5764366, "mu sd": 0.3295298, "mu 95% lower": -2.2312306,
                 "mu 95% upper": -0.9264079, "theta_new 95% lower": -2.7661319, "theta_new 95% upper": -0.4072970,
                 "P(mu > 0)": 6.187343e-05, "P(tau > 1)": 0.02097488}


def published_example() -> pd.DataFrame:
    """Röver 2020's paediatric liver-transplant example recomputed by :func:`trialsynth.pool_bayes`,
    beside the printed values and their difference (tau to 1e-6; mu within 1e-3, the size of the
    paper's discrete mixture approximation), as text at the printed precision (seven
    significant digits) so that a table shows the digits, not a rounded 0.00."""
    import numpy as np

    from trialsynth.effects.measures import effect_sizes
    from trialsynth.pooling.bayes import pool_bayes
    from trialsynth.pooling.priors import HalfNormal, Normal

    es = effect_sizes("OR", **{k: np.asarray(v, float) for k, v in CRINS_2014.items() if k != "study"})
    res = pool_bayes(es["yi"].to_numpy(), es["vi"].to_numpy(), tau_prior=HalfNormal(0.5), mu_prior=Normal(0, 4),
                     labels=CRINS_2014["study"], measure="OR")
    ours = {"tau median": res.tau.median, "tau mean": res.tau.mean, "tau sd": res.tau.sd,
            "tau 95% upper": res.tau.interval()[1], "mu median": res.mu.median, "mu mean": res.mu.mean,
            "mu sd": res.mu.sd, "mu 95% lower": res.mu.interval()[0], "mu 95% upper": res.mu.interval()[1],
            "theta_new 95% lower": res.theta_new.interval()[0], "theta_new 95% upper": res.theta_new.interval()[1],
            "P(mu > 0)": res.mu.prob_above(0.0), "P(tau > 1)": res.tau.prob_above(1.0)}
    return pd.DataFrame({"quantity": list(CRINS_PRINTED),
                         "printed (Röver 2020)": [f"{CRINS_PRINTED[k]:.7g}" for k in CRINS_PRINTED],
                         "trialsynth": [f"{ours[k]:.7g}" for k in CRINS_PRINTED],
                         "difference": [f"{ours[k] - CRINS_PRINTED[k]:+.1e}" for k in CRINS_PRINTED]})


__all__ = ["bayes_differences_markdown", "bayes_table", "prior_sensitivity_figure", "published_example",
           "sensitivity_cells", "shrinkage_forest_figure"]
