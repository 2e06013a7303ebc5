"""``reports/index.html``: a front page that answers the article first.

In reading order:

1. **Findings**: each of the article's claims in its own words, the verdict as a badge, one
   sentence of reason (at most about 40 words) and, folded away, the evidence for and against as
   a list, with a link to the claim's section of notebook 03;
2. **the "mixed results" picture**: the comparison x time-window grid of the pooled pain effect
   (class, effect with its CI, k; a dagger where the class depends on the method profile, a double
   dagger where it changes in a sensitivity analysis), then one line: how many cells change class
   in at least one sensitivity analysis, and which;
3. **what changed** since the previous run, in one line, with a link to the change report;
4. then the pooled estimates (formatted), the notes, the methods, the notebooks, tables and
   figures, and, last, folded away, where the time went.

Every text is escaped; the page links only files inside the report folder.
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path

import pandas as pd

e = html.escape

BADGES = {
    "supported": ("#1b7837", "white"),
    "contradicted": ("#b2182b", "white"),
    "mixed": ("#e08214", "white"),
    "insufficient evidence": ("#777777", "white"),
}

STYLE = (
    "body{font:15px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:72em;margin:1.2em auto;padding:0 1em;color:#222}"
    "h1{margin:0 0 .2em}h2{margin:1.4em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}"
    ".lede{color:#444;margin:.2em 0 1em}"
    ".claims{display:grid;grid-template-columns:1fr;gap:.6em}"
    ".claim{border:1px solid #ddd;border-radius:6px;padding:.55em .8em;background:#fafafa}"
    ".claim q{font-style:italic}.claim .why{margin:.3em 0 0}"
    ".badge{display:inline-block;border-radius:4px;padding:.05em .5em;font-weight:600;font-size:13px;margin-right:.5em;"
    "vertical-align:1px;white-space:nowrap}"
    ".warn{color:#8a4b00;font-size:13px;margin:.25em 0 0}"
    "details{margin:.3em 0 0}summary{cursor:pointer;color:#0a58ca;font-size:13px}"
    "details ul{margin:.3em 0;padding-left:1.3em;font-size:13px}details h4{margin:.4em 0 0;font-size:13px}"
    ".grid img{max-width:100%;border:1px solid #eee}"
    ".change{background:#f3f7ff;border:1px solid #cfdcf5;border-radius:6px;padding:.5em .8em}"
    ".living{background:#eef8f0;border:1px solid #b9dfc2;border-radius:6px;padding:.5em .8em;font-size:14px}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}"
    "th{background:#f0f0f0}.fail{color:#b00}.ok{color:#070}img.thumb{max-width:22em;border:1px solid #ddd}"
    ".figs{display:flex;flex-wrap:wrap;gap:1em}.fig{font-size:12px}"
    "footer{margin-top:2em;color:#555;font-size:13px}"
)


def badge(verdict: str) -> str:
    bg, fg = BADGES.get(str(verdict), ("#777777", "white"))
    return f"<span class='badge' style='background:{bg};color:{fg}'>{e(str(verdict))}</span>"


def anchor(claim_id: str) -> str:
    """The id of a claim's section in notebook 03's HTML (nbconvert turns a Markdown heading into
    an id with its text, spaces as dashes)."""
    return re.sub(r"\s+", "-", str(claim_id).strip())


def _items(values) -> list[str]:
    if values is None or (isinstance(values, float) and pd.isna(values)):
        return []
    if isinstance(values, str):
        return [v for v in values.split("\n") if v.strip()]
    return [str(v) for v in values]


def findings_html(verdicts: pd.DataFrame, *, notebook_link: str | None = None) -> str:
    """The claims block: article words, badge, one-sentence reason, folded evidence lists."""
    if verdicts is None or len(verdicts) == 0:
        return "<p>No claim verdicts (no claims file, or nothing to check).</p>"
    parts = ["<div class='claims'>"]
    for rec in verdicts.to_dict("records"):
        cid = str(rec.get("claim_id"))
        text = " ".join(str(rec.get("article_text") or cid).split())
        summary = str(rec.get("summary") or "")
        parts.append(f"<div class='claim' id='claim-{e(cid)}'>")
        parts.append(f"<div>{badge(rec.get('verdict'))}<q>{e(text)}</q></div>")
        parts.append(f"<p class='why'>{e(summary)}</p>")
        unstable = _items(rec.get("method_dependent"))
        if unstable:
            parts.append(f"<p class='warn'>\u2020 Rests partly on estimates whose conclusion depends on the method profile "
                         f"(not robust): {e('; '.join(unstable))}.</p>")
        parts.append("<details><summary>Evidence for and against</summary>")
        for title, key in (("For", "evidence_for"), ("Against", "evidence_against"), ("Not tested", "evidence_untested")):
            items = _items(rec.get(key))
            if items:
                parts.append(f"<h4>{title} ({len(items)})</h4><ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")
        if notebook_link:
            parts.append(f"<p style='font-size:13px'><a href='{e(notebook_link)}#{e(anchor(cid))}'>The rule and the data in "
                         "notebook 03</a></p>")
        parts.append("</details></div>")
    parts.append("</div>")
    return "".join(parts)


def _rel(path: Path, out: Path) -> str:
    return e(os.path.relpath(path, out).replace(os.sep, "/"), quote=True)


def render_index(an, out: Path, *, tables, figures, runs, changes, timings, nb_dir, grid_files=(), extra_figures=()) -> str:
    """The page's HTML (see the module docstring)."""
    from trialsynth.report.views import html as table_html
    from trialsynth.report.views import pooled_view

    from trialsynth.report.views import sensitivity_summary_line

    n_studies = an.trials["study_id"].nunique() if len(an.trials) else 0
    scope = getattr(an, "scope", "")
    suffix = f" ({scope})" if scope else ""
    parts = ["<!doctype html><html><head><meta charset='utf-8'>"
             f"<title>trialsynth report: acupuncture for back pain{e(suffix)}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>Acupuncture for back pain: the article's claims against the trials{e(suffix)}</h1>",
             f"<p class='lede'>{n_studies} studies, {len(an.trials)} trial rows; pooled population: <b>{e(an.population)}</b>"
             + (f" (<b class='fail'>{e(scope)}</b>)" if scope else "")
             + f"; method profile <b>{e(an.profile)}</b>. Data: <code>{e(an.data_path)}</code>.</p>"]
    if not an.has_data:
        parts.append("<p class='fail'><b>No trial data to analyse.</b> The report below says what is missing.</p>")
    if an.problems:
        parts.append("<h2 class='fail'>The data did not validate</h2><ul>" + "".join(f"<li>{e(p)}</li>" for p in an.problems) + "</ul>")
    nb03 = next((r for r in runs if r.name.startswith("03") and r.html_path), None)
    parts.append("<h2>Findings: the article's claims</h2>")
    parts.append(findings_html(an.verdicts, notebook_link=_rel(Path(nb03.html_path), out) if nb03 else None))
    if grid_files:
        svg = next((f for f in grid_files if str(f).endswith(".svg")), grid_files[0])
        parts.append("<h2>Where the \u201cmixed results\u201d come from: pain, by comparison and time after treatment</h2>")
        parts.append(f"<div class='grid'><img src='{_rel(Path(svg), out)}' alt='Pooled pain effect by comparison and time window'></div>")
        parts.append(f"<p style='font-size:13px'>Model: {e(_model_line(an))}. Files: "
                     + " \u00b7 ".join(f"<a href='{_rel(Path(f), out)}'>{e(Path(f).suffix[1:].upper())}</a>" for f in grid_files)
                     + "</p>")
    if len(an.pooled):
        nb04 = next((r for r in runs if r.name.startswith("04") and r.html_path), None)
        link = (f" <a href='{_rel(Path(nb04.html_path), out)}#Sensitivity-analyses-of-every-cell'>The table, in notebook 04</a>"
                if nb04 else "")
        parts.append(f"<p class='change' id='sensitivity'><b>Sensitivity analyses.</b> {e(sensitivity_summary_line(an))}{link}</p>")
    parts.append("<h2>What changed since the previous run</h2>")
    if getattr(changes, "run", None):
        from trialsynth.report.changes import living_status_html

        parts.append(living_status_html(changes))
    parts.append(f"<p class='change'>{e(changes.summary())} <a href='changes.html'>Details</a> \u00b7 "
                 "<a href='changes.md'>changes.md</a></p>")
    if len(an.pooled):
        parts.append("<h2>Pooled estimates</h2>")
        parts.append("<p style='font-size:13px'>Negative SMDs and risk ratios above 1 favour acupuncture. One row per outcome "
                     "x comparison (acupuncture + usual care vs usual care is a different comparison from acupuncture vs usual "
                     "care) x time window; a cell with one trial shows that trial.</p>")
        parts.append(pooled_view(an).to_html())
    if an.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in an.notes) + "</ul>")
    parts.append(f"<h2>Methods</h2><p>{e(an.methods_text())}</p>")
    parts.append("<h2>Notebooks</h2><ul>")
    if not runs:
        parts.append(f"<li>No notebooks executed ({'folder not found' if nb_dir is None else 'none selected'}).</li>")
    for r in runs:
        status = "<span class='ok'>ok</span>" if r.status == "ok" else f"<span class='fail'>failed: {e(r.error)}</span>"
        link = f"<a href='{_rel(Path(r.html_path), out)}'>{e(r.name)}</a>" if r.html_path else e(r.name)
        parts.append(f"<li>{link}: {status}</li>")
    parts.append("</ul>")
    from trialsynth.report.exports import EXPORT_NAMES  # listed under Tables

    ours = {Path(n).name for n in EXPORT_NAMES}
    exports = sorted(p for p in (out / "exports").glob("*") if p.is_file() and p.name not in ours) \
        if (out / "exports").is_dir() else []
    if exports:
        parts.append("<p>Notebook exports: " + " \u00b7 ".join(f"<a href='{_rel(p, out)}'>{e(p.name)}</a>" for p in exports) + "</p>")
    parts.append("<h2>Tables</h2><ul>" + "".join(f"<li><a href='{_rel(p, out)}'>{e(p.name)}</a></li>" for p in tables) + "</ul>")
    parts.append("<h2>Figures</h2>")
    if figures or extra_figures:
        parts.append("<div class='figs'>")
        for f in [*extra_figures, *figures]:
            svg = next((x for x in f["files"] if x.endswith(".svg")), None)
            thumb = f"<img class='thumb' src='figures/{e(svg)}' alt='{e(f['stem'])}'><br>" if svg else ""
            links = " \u00b7 ".join(f"<a href='figures/{e(x)}'>{e(x.rsplit('.', 1)[-1].upper())}</a>" for x in f["files"])
            parts.append(f"<div class='fig'>{thumb}{e(f['stem'])}: {links}</div>")
        parts.append("</div>")
    else:
        parts.append("<p>No figures (nothing pooled, or the plots stage is missing).</p>")
    parts.append("<footer><details><summary>Where the time went</summary>")
    parts.append(table_html(pd.DataFrame([{"stage": k, "seconds": round(v, 2)} for k, v in timings.items() if ".count_" not in k])))
    if "figures.count_rendered" in timings:
        drawn, unchanged = int(timings["figures.count_rendered"]), int(timings.get("figures.count_cached", 0))
        workers = int(timings.get("figures.count_workers", 0))
        where = f"in {workers} worker processes" if workers else "in this process"
        parts.append(f"<p>Figures: {drawn} drawn ({e(where)}), {unchanged} unchanged since the previous run (not redrawn).</p>")
    for r in runs:
        if not r.cached:
            parts.append(f"<p>{e(r.name)}: {r.seconds:.1f} s (kernel start {r.kernel_start_seconds:.1f} s, HTML {r.export_seconds:.1f} s)</p>")
        else:
            parts.append(f"<p>{e(r.name)}: not executed again (nothing it reads changed since the previous run)</p>")
    parts.append(f"</details><p>trialsynth, Python {e(sys.version.split()[0])}.</p></footer>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _model_line(an) -> str:
    from trialsynth.pooling.profiles import get_profile

    prof = get_profile(an.profile)
    scope = getattr(an, "scope", "")
    joint = sorted((getattr(an, "stages", None) or {}).get("durability") or ())
    return (f"separate random-effects pools per cell ({prof.method}, {'HKSJ' if prof.test == 'knha' else prof.test} CI; profile "
            f"{prof.name}); SMD, negative favours acupuncture; classes against the MID 0.5 SD; population {an.population}"
            + (f"; {scope}" if scope else "")
            + (f"; whether the effect fades is read from the joint model of every follow-up ({', '.join(joint)}; "
               "notebook 02)" if joint else ""))


__all__ = ["anchor", "badge", "findings_html", "render_index"]
