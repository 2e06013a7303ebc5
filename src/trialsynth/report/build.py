"""Build ``reports/``: the entry point behind ``make report`` and ``trialsynth report``.

:func:`build_report` validates the data, runs the analysis (:func:`trialsynth.report.analysis.run_analysis`),
executes every notebook of ``notebooks/`` with injected parameters (concurrently with the
analysis, one kernel per notebook), and writes, inside ``out_dir`` only and every file atomically::

    index.html               links to everything below, the verdicts, the notes and the timings
    notebooks/<name>.html    the executed notebooks (nbconvert, lab template)
    figures/*.{svg,pdf,png}  the figures of trialsynth.report.figures (forest plots per group and per
                             outcome x comparator across windows, funnel, leave-one-out, cumulative
                             and GOSH plots where k >= 3, ...); figures.json lists them and what was
                             not drawn and why
    tables/*.csv (+ .md, .html for the SoF)   pooled estimates, claim verdicts, GRADE SoF draft...
    exports/                 what the notebooks export (05: SoF CSV/Markdown/HTML), the SoF in
                             GRADEpro's layout (DOCX, HTML) and the pooled tables as RevMan CSV
    changes.md, changes.html what changed since the previous run, cell by cell, with the version
    history/                 every version's change report (<version>.md/.html), versions.json, index.html
    timings.json             wall time per stage
    .state/state.json        this run's state, the baseline of the next change report
    .previous/tables/        the previous run's tables
"""

from __future__ import annotations

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.report.analysis import DEFAULT_PROFILE, Analysis, run_analysis

FIGURE_FORMATS = ("svg", "pdf", "png")


def default_notebooks_dir() -> Path | None:
    """``./notebooks`` when it exists, else the ``notebooks/`` folder of the source checkout."""
    here = Path("notebooks")
    if here.is_dir():
        return here
    repo = Path(__file__).resolve().parents[3] / "notebooks"
    return repo if repo.is_dir() else None


def list_notebooks(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def build_report(data_path: str | Path = "data/trials.csv", out_dir: str | Path = "reports", *, profile: str = DEFAULT_PROFILE,
                 notebooks_dir: str | Path | None = None, windows=None, execute_notebooks: bool = True, jobs: int | None = None,
                 formats=FIGURE_FORMATS, raise_on_failure: bool = True, notebook_mode: str = "shared",
                 figure_workers: int | None = None, figure_cache: bool = True, notebook_cache: bool = True,
                 progress=None) -> Path:
    """Write the report folder and return the path of its ``index.html``.

    ``notebook_mode``: ``shared`` (default: one kernel runs the notebooks in turn, namespace reset
    between them, so kernel start-up and imports are paid once; on 2 cores 6-8 s against 9-10 s)
    or ``parallel`` (one kernel per notebook, ``jobs`` at once; for many cores).

    Figures (see :mod:`trialsynth.report.figures`) are drawn in ``figure_workers`` worker
    processes (default ``min(2, CPUs - 1)``; 0 draws them in this process) and only
    when their inputs changed since the previous run into the same ``out_dir``
    (``figure_cache=False`` draws them all). Either way the files are byte-identical.
    Likewise the notebooks are not executed again when nothing they read changed since the
    previous run into ``out_dir`` (``notebook_cache=False`` executes them; see
    :func:`trialsynth.report.notebooks.notebooks_key`).

    ``progress`` (e.g. ``print``) receives one line per stage as it goes: load, pool, figures n/m,
    notebooks n/m, and where the report is at the end.

    Invalid data still gives a report (the index lists every problem); the
    :class:`~trialsynth.errors.TrialDataError` is raised afterwards (``raise_on_failure``) so the
    command exits non-zero. A notebook that fails is reported in the index and raises a
    ``RuntimeError`` afterwards, for the same reason.
    """
    from trialsynth.data.io import file_lock

    t_start = time.perf_counter()
    say = progress or (lambda _line: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with file_lock(out / ".build", timeout=600):
        nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
        notebooks = list_notebooks(nb_dir) if execute_notebooks else []
        params = {"DATA_PATH": str(Path(data_path).resolve()), "PROFILE": profile, "WINDOWS": windows,
                  "EXPORT_DIR": str((out / "exports").resolve())}
        # notebooks first: their kernels start while the analysis runs here
        from trialsynth.report.figures import MANIFEST, FigurePool

        figure_pool = FigurePool(figure_workers)
        try:
            if Path(data_path).is_file() and not (figure_cache and (out / MANIFEST).is_file()):
                # a first run draws every figure: the workers import matplotlib during the analysis
                figure_pool.start()
            executor = ThreadPoolExecutor(max_workers=1)
            t_nb = time.perf_counter()
            nb_future = None
            if notebooks:
                from trialsynth.report.analysis import project_paths
                from trialsynth.report.notebooks import run_notebooks_cached

                inputs = [Path(data_path).resolve().parent, project_paths(Path(data_path).resolve())["evidence"]]
                nb_future = executor.submit(run_notebooks_cached, notebooks, params, out, inputs, use_cache=notebook_cache,
                                            jobs=jobs, cwd=nb_dir, mode=notebook_mode, progress=say)
                say(f"notebooks: executing {len(notebooks)} in the background")

            t0 = time.perf_counter()
            an = run_analysis(data_path, profile, windows)
            timings["analysis"] = time.perf_counter() - t0
            for k, v in an.timings.items():
                timings[f"analysis.{k}"] = v
            n_studies = an.trials["study_id"].nunique() if len(an.trials) else 0
            say(f"load: {len(an.trials)} trial rows from {n_studies} studies"
                + (f" ({len(an.problems)} problem(s): the data did not validate)" if an.problems else ""))
            say(f"pool: {len(an.pooled)} cells ({an.population}; profile {an.profile}); "
                f"{int(an.pooled['conclusion_depends_on_method'].sum()) if len(an.pooled) else 0} depend on the method; "
                f"{len(an.verdicts)} claims judged")

            t0 = time.perf_counter()
            _keep_previous_tables(out)
            tables = _write_tables(an, out / "tables")
            timings["tables"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            figure_stats: dict = {}
            grid = _write_grid(an, out / "figures", formats)
            figures = _write_figures(an, out / "figures", formats, out_dir=out, pool=figure_pool,
                                     use_cache=figure_cache, stats=figure_stats, progress=say)
            figure_pool.shutdown(wait=False)  # every job is done; warm-up imports need no waiting
            timings["figures"] = time.perf_counter() - t0
            for name in ("rendered", "cached", "workers"):
                if name in figure_stats:
                    timings[f"figures.count_{name}"] = figure_stats[name]

            runs = []
            if nb_future is not None:
                t0 = time.perf_counter()
                runs = nb_future.result()
                timings["notebooks_wait_after_figures"] = time.perf_counter() - t0
                timings["notebooks_wall"] = time.perf_counter() - t_nb
                timings["notebooks.count_cached"] = sum(1 for r in runs if r.cached)
                for r in runs:
                    if r.cached:
                        continue
                    timings[f"notebook.{r.name}"] = r.seconds
                    timings[f"notebook.{r.name}.kernel_start"] = r.kernel_start_seconds
                    timings[f"notebook.{r.name}.html_export"] = r.export_seconds
            executor.shutdown()

            t0 = time.perf_counter()
            changes = _write_changes(an, out)
            timings["changes"] = time.perf_counter() - t0

            timings["total"] = time.perf_counter() - t_start
            index = _write_index(an, out, tables, figures, runs, changes, timings, nb_dir, grid)
            from trialsynth.data.io import atomic_write_text

            atomic_write_text(out / "timings.json", json.dumps({k: round(v, 4) for k, v in timings.items()}, indent=2) + "\n")
        finally:
            figure_pool.shutdown(wait=False)
    say(f"changes: {changes.summary()}")
    say(f"report written: {index} ({timings['total']:.1f} s)")
    if raise_on_failure:
        if an.problems:
            raise TrialDataError(an.problem_items)
        failed = [r for r in runs if r.status != "ok"]
        if failed:
            raise RuntimeError("notebook(s) failed: " + "; ".join(f"{r.name}: {r.error}" for r in failed) + f" (see {index})")
    return index


# --------------------------------------------------------------------------- tables


def _keep_previous_tables(out: Path) -> None:
    src = out / "tables"
    if not src.is_dir():
        return
    dst = out / ".previous" / "tables"
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy2(f, dst / f.name)


def _write_tables(an: Analysis, folder: Path) -> list[Path]:
    from trialsynth.claims import evidence_pattern
    from trialsynth.data.io import atomic_write_text, write_csv_safely
    from trialsynth.grade import sof_to_csv, sof_to_html, sof_to_markdown
    from trialsynth.report.views import pooled_export, pooled_table

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    pooled = pooled_table(an)
    if len(pooled) == 0:
        from trialsynth.report.analysis import POOLED_COLUMNS

        pooled = pd.DataFrame(columns=POOLED_COLUMNS)
    # ratios as ratios (measure RR holds ratios); their logs in log_estimate ... log_pi_high
    written.append(write_csv_safely(_csv_ready(pooled_export(pooled)), folder / "pooled_estimates.csv"))
    from trialsynth.claims.verdicts import VERDICT_COLUMNS

    verdicts = an.verdicts if len(an.verdicts) else pd.DataFrame(columns=VERDICT_COLUMNS)
    written.append(write_csv_safely(_csv_ready(verdicts), folder / "claims_verdicts.csv"))
    written.append(sof_to_csv(an.sof, folder / "sof.csv"))
    written.append(atomic_write_text(folder / "sof.md", sof_to_markdown(an.sof)))
    written.append(atomic_write_text(folder / "sof.html", sof_to_html(an.sof)))
    written.append(write_csv_safely(_csv_ready(evidence_pattern(an.pooled, outcome="pain")), folder / "evidence_pattern_pain.csv"))
    sel_cols = ["study_id", "comparison_id", "label", "outcome", "comparator_class", "add_on", "window", "weeks_after",
                "timepoint_weeks", "value_type", "treatment_course", "sham_type", "shared_arm_id", "yi", "vi",
                "measure", "approximate", "rob", "n1", "n2", "derivation"]
    selected = an.selected[[c for c in sel_cols if c in an.selected.columns]] if len(an.selected) else pd.DataFrame(columns=sel_cols)
    if "measure" in selected.columns:  # yi and vi are on the analysis scale: a ratio's row says logRR
        from trialsynth.effects.scales import log_name

        selected = selected.assign(measure=selected["measure"].map(lambda m: log_name(str(m)) if isinstance(m, str) else m))
    written.append(write_csv_safely(_csv_ready(selected), folder / "pooled_rows.csv"))
    # the rows the pooling rules left out of their cell, and every cell x sensitivity analysis
    from trialsynth.report.views import set_apart_table

    written.append(write_csv_safely(_csv_ready(set_apart_table(an)), folder / "set_apart_rows.csv"))
    sens = an.sensitivity if an.sensitivity is not None and len(an.sensitivity) else pd.DataFrame()
    if len(sens):
        from trialsynth.effects.scales import display_frame_columns

        sens = pd.DataFrame([display_frame_columns(r.get("measure"), r, ("estimate", "ci_low", "ci_high"))
                             for r in sens.to_dict("records")])
    written.append(write_csv_safely(_csv_ready(sens), folder / "sensitivity_analyses.csv"))
    # for other tools: the SoF in GRADEpro's layout (DOCX, HTML), the pooled tables as RevMan CSV
    from trialsynth.report.exports import write_exports

    written += write_exports(an, folder.parent / "exports")
    return [Path(p) for p in written]


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return out.astype(object).where(out.notna(), None)


# --------------------------------------------------------------------------- figures


def _write_grid(an: Analysis, folder: Path, formats) -> list[Path]:
    """The front page's "mixed results" picture: the comparator x window grid of pain
    (:func:`trialsynth.claims.evidence_grid` drawn by :func:`trialsynth.plots.evidence_grid_plot`)."""
    from trialsynth.report.views import evidence_grid_figure

    fig = evidence_grid_figure(an, "pain")
    if fig is None:
        return []
    from matplotlib import pyplot as plt

    from trialsynth.plots import save_figure

    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [Path(p) for p in save_figure(fig, folder / "evidence_grid_pain", tuple(formats))]
    finally:
        plt.close(fig)


def _write_figures(an: Analysis, folder: Path, formats, *, out_dir: Path | None = None, pool=None,
                   use_cache: bool = True, stats: dict | None = None, progress=None) -> list[dict]:
    """The figures of :func:`trialsynth.report.figures.plan_figures` (the same builder as the CLI
    and the notebooks), drawn by :func:`trialsynth.report.figures.write_figures`."""
    if not an.results():
        return []
    try:
        import trialsynth.plots  # noqa: F401
        from trialsynth.report.figures import plan_figures, write_figures, write_manifest
    except ImportError as exc:
        an.notes.append(f"Figures skipped: the plots stage is not installed ({exc}).")
        return []
    # a one-trial cell's own forest plot repeats a row of its comparison's figure of every window
    plan = plan_figures(an, single_trial_cells=False)
    made = write_figures(plan.jobs, folder, formats, out_dir=out_dir, pool=pool, use_cache=use_cache,
                         notes=an.notes, stats=stats, progress=progress)
    write_manifest(folder, plan, made, profile=an.profile, style="cochrane")  # what was drawn, what not and why
    return made


# --------------------------------------------------------------------------- change report


def _write_changes(an: Analysis, out: Path) -> object:
    """``changes.md``/``.html`` against the previous run's state, this run's version record
    (:func:`trialsynth.report.changes.run_record`: a new version when anything or the data file
    changed), and ``history/``: every version's change report and an index of the versions."""
    from datetime import datetime, timezone

    from trialsynth.data.io import atomic_write_text
    from trialsynth.report.changes import (changes_html, changes_markdown, data_hash, diff_states, make_state,
                                           run_record)

    state_path = out / ".state" / "state.json"
    previous = None
    if state_path.is_file():
        try:
            previous = json.loads(state_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            an.notes.append(f"The previous run's state ({state_path}) could not be read; the change report starts afresh.")
    current = make_state(an.trials, an.pooled, an.verdicts, profile=an.profile, sof=an.sof, selected=an.selected)
    changes = diff_states(previous, current)
    digest = data_hash(an.data_path)
    prev_run = (previous or {}).get("run") or {}
    kept = _history_last(out / "history")
    if kept and int(prev_run.get("number") or 0) < kept["number"]:
        # the state was lost (deleted, unreadable) but history/ keeps later versions: go on from
        # them rather than start again at v1 and overwrite the earlier change reports
        an.notes.append(f"No state of the previous run matches reports/history (last version {kept['version']}); "
                        f"this run is compared with nothing and numbered after {kept['version']}.")
        previous_for_run = {"run": kept}
        changed = True
    else:
        previous_for_run = previous
        changed = changes.any or changes.first_run or prev_run.get("data_sha256") != digest
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    run = run_record(previous_for_run, changed, data_sha256=digest, now=now)
    current["run"] = changes.run = run
    label = "the previous run"
    if prev_run:
        label += f" ({prev_run.get('version')}, {str(prev_run.get('created', ''))[:10]})"
    elif previous and previous.get("created"):
        label += f" ({previous['created']})"
    markdown, page = changes_markdown(changes, previous_label=label), changes_html(changes, previous_label=label)
    atomic_write_text(out / "changes.md", markdown)
    atomic_write_text(out / "changes.html", page)
    _write_history(out / "history", run, changes, markdown, page,
                   new=run.get("number") != (previous_for_run or {}).get("run", {}).get("number"))
    state_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_path, json.dumps(current, indent=1, sort_keys=True) + "\n")
    return changes


def _history_last(folder: Path) -> dict | None:
    """The newest version ``history/`` holds (``{"version": "v3", "number": 3}``), from
    ``versions.json`` and the ``v<N>.md`` files kept there; None when there is none."""
    numbers = []
    if folder.is_dir():
        numbers += [int(m.group(1)) for f in folder.glob("v*.md") if (m := re.fullmatch(r"v(\d+)\.md", f.name))]
        try:
            listed = json.loads((folder / "versions.json").read_text(encoding="utf-8"))
            numbers += [int(m.group(1)) for v in listed if isinstance(v, dict)
                        and (m := re.fullmatch(r"v(\d+)", str(v.get("version", ""))))]
        except (OSError, ValueError, TypeError):
            pass
    if not numbers:
        return None
    return {"version": f"v{max(numbers)}", "number": max(numbers)}


def _write_history(folder: Path, run: dict, changes, markdown: str, page: str, *, new: bool) -> None:
    """``history/<version>.md``/``.html`` (the change report that made each version, kept when
    later runs overwrite ``changes.md``), ``history/versions.json`` and ``history/index.html``."""
    import html as _html

    from trialsynth.data.io import atomic_write_text
    from trialsynth.report.changes import living_status

    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "versions.json"
    try:
        versions = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else []
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        versions = None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        # kept beside, never overwritten: the index is rebuilt from this run on
        index_path.replace(folder / f"versions.unreadable-{run.get('created', 'now')}.json".replace(":", ""))
        versions = []
    name = str(run.get("version"))
    if new or not any(v.get("version") == name for v in versions):
        atomic_write_text(folder / f"{name}.md", markdown)
        atomic_write_text(folder / f"{name}.html", page)
        versions = [v for v in versions if v.get("version") != name]
        versions.append({"version": name, "created": run.get("created"), "data_sha256": run.get("data_sha256"),
                         "summary": changes.summary(), "status": living_status(changes)})
        atomic_write_text(index_path, json.dumps(versions, indent=1) + "\n")
    rows = "".join(
        f"<tr><td><a href='{_html.escape(str(v['version']))}.html'>{_html.escape(str(v['version']))}</a></td>"
        f"<td>{_html.escape(str(v.get('created', '')))}</td><td><code>{_html.escape(str(v.get('data_sha256', ''))[:12])}</code></td>"
        f"<td>{_html.escape(str(v.get('summary', '')))}</td></tr>" for v in reversed(versions))
    atomic_write_text(folder / "index.html", (
        "<!doctype html><html><head><meta charset='utf-8'><title>trialsynth: versions of the review</title>"
        "<style>body{font:14px sans-serif;max-width:70em;margin:2em auto}td,th{border:1px solid #ccc;padding:3px 6px;"
        "vertical-align:top}table{border-collapse:collapse}</style></head><body><h1>Versions of the review</h1>"
        "<p>Newest first; each version's change report is kept as it was written. <a href='../index.html'>Back to the "
        f"report</a></p><table><tr><th>Version</th><th>Made (UTC)</th><th>Data SHA-256</th><th>What changed</th></tr>{rows}"
        "</table></body></html>\n"))


# --------------------------------------------------------------------------- index


def _write_index(an: Analysis, out: Path, tables, figures, runs, changes, timings, nb_dir, grid=()) -> Path:
    """``index.html`` (:func:`trialsynth.report.index_page.render_index`): the claims first."""
    from trialsynth.data.io import atomic_write_text
    from trialsynth.report.index_page import render_index

    index = out / "index.html"
    atomic_write_text(index, render_index(an, out, tables=tables, figures=figures, runs=runs, changes=changes,
                                          timings=timings, nb_dir=nb_dir, grid_files=list(grid)))
    return index
