"""A forest plot's footnote in plain words, each thing said once.

The methods belong in the report's Methods section, not under every figure: a figure gets a
one-line caption (model, number of studies, method profile) and small-k caveats as symbols
with one legend line each (``‡`` one study, not pooled; ``§`` two studies; ``¶`` a
Hartung-Knapp interval narrower than the Wald interval; ``†`` an approximated effect). Warnings that
the symbols already explain are not repeated; any other warning of a fit is printed once,
naming the sections it applies to. Display only: everything is read from the results.
"""

from __future__ import annotations

import re

ONE_STUDY = "\u2021"  # ‡
TWO_STUDIES = "\u00a7"  # §
APPROXIMATE = "\u2020"  # †
NARROWED = "\u00b6"  # ¶

ONE_STUDY_LEGEND = f"{ONE_STUDY} One study: its own effect and {{level}}% CI are shown; nothing is pooled."
TWO_STUDIES_LEGEND = f"{TWO_STUDIES} Two studies: \u03c4\u00b2 and the prediction interval are very imprecise."
NARROWED_LEGEND = (f"{NARROWED} Narrower than the standard (Wald) interval: with so few studies this interval "
                   "may be too narrow (Jackson et al. 2017).")
APPROXIMATE_LEGEND = f"{APPROXIMATE} Effect size approximated (from a p-value, a test statistic or an adjusted standard error)."

#: warnings of :func:`trialsynth.pool` that the k symbols already say
_EXPLAINED = (
    re.compile(r"^only one study \(k = 1\)"),
    re.compile(r"needs k >= 2; the Wald \(z\) interval is reported$"),
    re.compile(r"^only two studies \(k = 2\)"),
    re.compile(r"^HKSJ narrows the confidence interval"),
)
_NARROWED = _EXPLAINED[-1]

_CI_NAMES = {
    "knha": "Hartung-Knapp-Sidik-Jonkman",
    "adhoc": "Hartung-Knapp (never narrower than Wald)",
    "z": "Wald",
    "t": "t-based",
}
_COMMON = {"EE": "inverse variance", "FE": "inverse variance", "MH": "Mantel-Haenszel", "PETO": "Peto"}


def is_single(pooled) -> bool:
    return pooled is not None and pooled.k == 1


def is_pair(pooled) -> bool:
    """Two studies in a random-effects fit (the fit warns that tau2 and the PI are imprecise)."""
    if pooled is None or pooled.k != 2:
        return False
    return str(pooled.fitted_method or pooled.method or "").upper() not in _COMMON


def is_narrowed(pooled) -> bool:
    """The Hartung-Knapp interval came out narrower than the Wald interval (the fit warns)."""
    return pooled is not None and any(_NARROWED.search(w) for w in pooled.warnings)


def marks(pooled) -> str:
    """The symbols of a pooled row's label: " §" (two studies), " ¶" (interval narrowed)."""
    return "".join(f" {m}" for m, on in ((TWO_STUDIES, is_pair(pooled)), (NARROWED, is_narrowed(pooled))) if on)


def model_text(pooled) -> str | None:
    """"Random effects (REML estimate of τ²), Hartung-Knapp-Sidik-Jonkman 95% CI", or None for one study."""
    if pooled is None or is_single(pooled):
        return None
    method = str(pooled.fitted_method or pooled.method or "")
    level = f"{pooled.level or 95:g}%"
    test = str(pooled.test or "").lower()
    if test == "knha" and pooled.dfs is None:
        test = "z"
    ci = _CI_NAMES.get(test)
    ci_text = f"{ci} {level} CI" if ci else f"{level} CI"
    if not method:
        return None
    if method.upper() in _COMMON:
        return f"Common effect ({_COMMON[method.upper()]}), {ci_text}"
    return f"Random effects ({method} estimate of \u03c4\u00b2), {ci_text}"


def _k_text(ks: list[int]) -> str:
    ks = sorted(k for k in ks if k is not None)
    if not ks:
        return ""
    return f"k = {ks[0]}" if ks[0] == ks[-1] else f"k = {ks[0]} to {ks[-1]}"


def caption_lines(sections, overall=None, *, approximate: bool = False) -> list[str]:
    """The footnote of a forest plot of ``sections`` (each with ``heading`` and ``pooled``)."""
    pooled = [(s.heading, s.pooled) for s in sections if s.pooled is not None]
    if overall is not None:
        pooled.append(("Overall", overall))
    several = len(pooled) > 1
    lines: list[str] = []
    # one caption line per distinct model (usually one), with k and the profile
    models: dict[str, list] = {}
    fallback = []
    for heading, p in pooled:
        text = model_text(p)
        if text is None:
            if not is_single(p) and p.methods_text:
                fallback.append(p.methods_text)
            continue
        models.setdefault(text, []).append((heading, p))
    profiles = sorted({p.profile for _, p in pooled if p.profile})
    profile_text = f"profile {', '.join(profiles)}" if profiles else ""
    for text, members in models.items():
        where = ""
        if several and len(models) > 1:
            where = ", ".join(str(h) for h, _ in members if h) + ": "
        elif several and len(members) > 1:
            text += " in each " + ("subgroup" if overall is None else "subgroup and overall")
        parts = [where + text, _k_text([p.k for _, p in members]), profile_text]
        lines.append("; ".join(part for part in parts if part) + ".")
    lines += [t for t in dict.fromkeys(fallback)]
    level = next((p.level for _, p in pooled if p.level), None) or 95
    if any(is_single(p) for _, p in pooled):
        lines.append(ONE_STUDY_LEGEND.format(level=f"{level:g}"))
    if any(is_pair(p) for _, p in pooled):
        lines.append(TWO_STUDIES_LEGEND)
    if any(is_narrowed(p) for _, p in pooled):
        lines.append(NARROWED_LEGEND)
    if approximate:
        lines.append(APPROXIMATE_LEGEND)
    # other warnings, once each, naming where they apply
    notes: dict[str, list] = {}
    for heading, p in pooled:
        for warning in p.warnings:
            if any(rx.search(warning) for rx in _EXPLAINED):
                continue
            notes.setdefault(warning, []).append(heading)
    for warning, headings in notes.items():
        named = [str(h) for h in headings if h]
        prefix = f"Note ({'; '.join(named)}): " if several and named else "Note: "
        lines.append(prefix + warning[:1].upper() + warning[1:] + ("" if warning.endswith(".") else "."))
    return lines
