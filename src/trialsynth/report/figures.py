"""The report's figures: rendered in worker processes, and only when their inputs changed.

Each figure of the report (one forest plot per pooled group, one panel per outcome x comparator
across windows) is a :class:`FigureJob`: what to draw (the pooled results and the title) and
the file stem.  :func:`write_figures` writes SVG, PDF and PNG for every job:

* **no re-rendering of unchanged figures**: a job's *key* is a SHA-256 over everything its
  files depend on: the results drawn (every field, arrays bit for bit), the title, the formats,
  the matplotlib settings in force, the source of the plotting code (``trialsynth/plots``,
  the report views and this module), the versions of trialsynth, matplotlib, fontTools,
  Pillow and numpy, and the font files matplotlib knows (path, size, modification time).  The
  keys and the SHA-256 of the files written are kept in ``<out>/.cache/figures.json``; a job
  whose key is unchanged and whose files are still there with the recorded hashes is skipped.
  Anything else (no manifest, a different key, a file edited or deleted) renders it again.
* **worker processes**: figures left to draw are rendered in a process pool (``forkserver``
  where available, else ``spawn``; never ``fork``, as the notebooks' kernel client runs in a
  thread), so drawing and font subsetting run beside the notebooks' kernel instead of
  competing with the notebook client for this process's GIL.  The workers apply this process's
  matplotlib settings, so the files are byte-identical to rendering here (tested).  By default
  there are ``min(2, CPUs - 1)`` workers (one CPU is left to the notebooks' kernel): on 2 CPUs
  one worker, which still takes the drawing off this process's GIL.  With one job, one CPU,
  ``workers=0`` or a pool that cannot start, figures are rendered in this process.

The bytes of every file come from :func:`trialsynth.plots.save_figure` in all cases.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
import os
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = Path(".cache") / "figures.json"
MANIFEST_VERSION = 1
#: modules whose source decides what a figure looks like (hashed into every key)
_CODE_PACKAGES = ("trialsynth.plots",)
_CODE_MODULES = ("trialsynth.report.views", "trialsynth.report.figures", "trialsynth.data.io")


@dataclass(frozen=True)
class FigureJob:
    """One figure of the report: ``content`` (a MetaResult, or a list of ``(heading,
    MetaResult)`` sections) drawn by :func:`trialsynth.plots.forest_plot` with ``title``,
    written as ``<folder>/<stem>.<format>``."""

    kind: str
    key: tuple
    stem: str
    title: str
    content: Any


def figure_jobs(an) -> list[FigureJob]:
    """The report's figures for an :class:`~trialsynth.report.analysis.Analysis`, in order: one
    forest plot per pooled cell, then one panel per outcome x comparison (comparator and add-on)
    with >= 2 windows."""
    from trialsynth.data.io import safe_filename
    from trialsynth.report.views import forest_figure_spec, window_panel_spec

    from trialsynth.data.cells import as_add_on

    keys = sorted(an.results(), key=lambda k: tuple(str(x) for x in k))
    # a cell key is (outcome, comparator_class, add_on, window); file stems keep the head-to-head
    # cells' old names and mark add-on cells ("forest_pain_usual_care_addon_intermediate")
    specs = [("forest", k, forest_figure_spec(an, k[0], k[1], k[3], k[2])) for k in keys]
    for outcome, comp, add_on in sorted({(k[0], k[1], k[2]) for k in keys}, key=lambda t: tuple(map(str, t))):
        if sum(1 for k in keys if k[:3] == (outcome, comp, add_on)) >= 2:  # one window: the forest plot is the panel
            specs.append(("panel", (outcome, comp, add_on), window_panel_spec(an, outcome, comp, add_on)))
    jobs = []
    for kind, key, spec in specs:
        if spec is None:
            continue
        content, title = spec
        parts = [str(key[0]), str(key[1])]
        flag = as_add_on(key[2])
        if flag:
            parts.append("addon" if flag is True else str(flag))
        parts += [str(x) for x in key[3:]]
        stem = safe_filename(f"{kind}_" + "_".join(parts))
        jobs.append(FigureJob(kind, key, stem, title, content))
    return jobs


# --------------------------------------------------------------------------- rendering


def current_rc() -> dict:
    """This process's matplotlib settings (what a worker applies before drawing)."""
    import matplotlib

    # Read the raw values: rcParams["backend"] would resolve the automatic backend through pyplot,
    # which probes IPython while the notebook thread of the report may be importing it ("partially
    # initialized module 'IPython'" on a fresh install). The backend is not a drawing setting.
    return {key: dict.__getitem__(matplotlib.rcParams, key) for key in matplotlib.rcParams.keys() if key != "backend"}


def render_job(job: FigureJob, folder: str, formats: tuple, rc: dict | None = None) -> dict:
    """Draw ``job`` and write its files (in a worker or here); returns ``{"stem", "files",
    "hashes", "error"}`` with the SHA-256 of each file written."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    from trialsynth.plots import forest_plot, save_figure

    fig = None
    try:
        with matplotlib.rc_context(rc or {}):
            fig = forest_plot(job.content, title=job.title)
            paths = save_figure(fig, Path(folder) / job.stem, formats)
    except Exception as exc:  # noqa: BLE001 - one bad figure must not sink the report
        return {"stem": job.stem, "files": [], "hashes": {}, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if fig is not None:
            plt.close(fig)
    hashes = {Path(p).name: _file_sha256(Path(p)) for p in paths}
    return {"stem": job.stem, "files": [Path(p).name for p in paths], "hashes": hashes, "error": None}


def _warm_up() -> int:
    """Run first in every worker: the imports its figures need (done already when the worker
    was forked from a ``forkserver`` that preloaded them)."""
    import trialsynth.report._figure_worker  # noqa: F401

    return os.getpid()


class FigurePool:
    """A lazily started process pool for :func:`render_job` (see the module docstring).

    :meth:`start` begins starting the workers (so that they import matplotlib while the
    analysis runs); :meth:`submit` starts them if needed. If the pool cannot be created the
    caller renders in its own process.
    """

    def __init__(self, workers: int | None = None):
        cpus = os.cpu_count() or 1
        if workers is None:
            # one CPU is left to the notebooks' kernel, which runs at the same time
            workers = min(2, cpus - 1)
        self.workers = max(0, min(int(workers), cpus))
        self._executor = None
        self._failed: str | None = None
        self._warm: list[Future] = []

    @property
    def usable(self) -> bool:
        return self.workers >= 1 and self._failed is None

    def start(self) -> bool:
        if self._executor is not None:
            return True
        if not self.usable:
            return False
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(["trialsynth.report._figure_worker"])
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            self._warm = [self._executor.submit(_warm_up) for _ in range(self.workers)]
        except Exception as exc:  # noqa: BLE001 - no pool: render in this process
            self._failed = f"{type(exc).__name__}: {exc}"
            self._executor = None
            return False
        return True

    def submit(self, *args) -> Future | None:
        if not self.start():
            return None
        try:
            return self._executor.submit(render_job, *args)
        except Exception as exc:  # noqa: BLE001 - a broken pool: the caller renders here
            self._failed = f"{type(exc).__name__}: {exc}"
            return None

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers (``wait=False``: do not wait for them, e.g. after an error)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None


def write_figures(jobs: list[FigureJob], folder: Path, formats, *, out_dir: Path | None = None,
                  pool: FigurePool | None = None, use_cache: bool = True, notes: list | None = None,
                  stats: dict | None = None, progress=None) -> list[dict]:
    """Write every job's files into ``folder``; return ``[{"kind", "key", "stem", "files"}]`` in
    job order (failed figures are left out and described in ``notes``).

    ``out_dir`` holds the manifest of the cache (``<out_dir>/.cache/figures.json``; no cache
    when None or ``use_cache`` is False).  ``stats`` (a dict) receives the counts
    ``rendered``, ``cached`` and ``failed`` and ``workers`` (0: rendered in this process).
    """
    formats = tuple(formats)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes = notes if notes is not None else []
    rc = current_rc()
    manifest_path = Path(out_dir) / MANIFEST if (out_dir is not None and use_cache) else None
    previous = _read_manifest(manifest_path) if manifest_path else {}
    env_key = _environment_key(rc, formats) if manifest_path else ""
    results: dict[str, dict] = {}
    keys: dict[str, str] = {}
    todo: list[FigureJob] = []
    for job in jobs:
        if manifest_path:
            keys[job.stem] = job_key(job, env_key)
            entry = previous.get(job.stem)
            if entry and entry.get("key") == keys[job.stem] and _files_intact(folder, entry.get("hashes", {})):
                results[job.stem] = {"stem": job.stem, "files": list(entry["hashes"]), "hashes": entry["hashes"],
                                     "error": None, "cached": True}
                continue
        todo.append(job)
    if progress is not None and len(todo) < len(jobs):
        progress(f"figures {len(jobs) - len(todo)}/{len(jobs)}: unchanged since the previous run, not redrawn")
    used_workers = 0
    futures: dict[str, Future | None] = {}
    if pool is not None and len(todo) >= 2 and pool.usable:  # one figure: not worth starting a process
        for job in todo:
            futures[job.stem] = pool.submit(job, str(folder), formats, rc)
        if any(f is not None for f in futures.values()):
            used_workers = pool.workers
    for job in todo:
        future = futures.get(job.stem)
        result = None
        if future is not None:
            try:
                result = future.result()
            except Exception:  # noqa: BLE001 - a worker died: draw this one here
                result = None
        if result is None:
            result = render_job(job, str(folder), formats, rc)
        results[job.stem] = result
        if progress is not None:
            progress(f"figures {len(results)}/{len(jobs)}: {job.stem}")
    made = []
    manifest = {}
    failed = 0
    for job in jobs:
        result = results[job.stem]
        if result["error"]:
            failed += 1
            notes.append(f"Figure {job.stem} failed: {result['error']}")
            continue
        made.append({"kind": job.kind, "key": job.key, "stem": job.stem, "files": result["files"]})
        if manifest_path:
            manifest[job.stem] = {"key": keys[job.stem], "hashes": result["hashes"]}
    if manifest_path:
        from trialsynth.data.io import atomic_write_text

        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(manifest_path, json.dumps({"version": MANIFEST_VERSION, "figures": manifest},
                                                    indent=1, sort_keys=True) + "\n")
    if stats is not None:
        cached = sum(1 for r in results.values() if r.get("cached"))
        stats.update(rendered=len(todo), cached=cached, failed=failed, workers=used_workers)
    return made


# --------------------------------------------------------------------------- cache keys


def job_key(job: FigureJob, environment_key: str) -> str:
    """SHA-256 over the job's inputs and ``environment_key`` (see :func:`_environment_key`)."""
    h = hashlib.sha256()
    h.update(environment_key.encode())
    _fingerprint(("job", job.kind, job.key, job.stem, job.title, job.content), h)
    return h.hexdigest()


def _fingerprint(obj, h) -> None:
    """Feed an unambiguous encoding of ``obj`` (results, arrays, numbers, text) into ``h``."""
    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"<{type(obj).__module__}.{type(obj).__qualname__}".encode())
        for f in dataclasses.fields(obj):
            h.update(f"|{f.name}=".encode())
            _fingerprint(getattr(obj, f.name), h)  # lazily computed fields are evaluated
        h.update(b">")
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        h.update(f"<nd {arr.dtype.str} {arr.shape}".encode())
        if arr.dtype == object:
            for item in arr.ravel():
                _fingerprint(item, h)
        else:
            h.update(arr.tobytes())
        h.update(b">")
    elif isinstance(obj, dict):
        h.update(b"<dict")
        for k in sorted(obj, key=repr):
            _fingerprint(k, h)
            _fingerprint(obj[k], h)
        h.update(b">")
    elif isinstance(obj, (list, tuple)):
        h.update(f"<{type(obj).__name__} {len(obj)}".encode())
        for item in obj:
            _fingerprint(item, h)
        h.update(b">")
    elif isinstance(obj, (float, np.floating)):
        value = float(obj)
        h.update(f"<f {value.hex() if math.isfinite(value) else repr(value)}>".encode())
    else:
        h.update(f"<{type(obj).__name__} {obj!r}>".encode())


def _environment_key(rc: dict, formats: tuple) -> str:
    """SHA-256 over what every figure depends on besides its own inputs."""
    h = hashlib.sha256()
    h.update(f"manifest {MANIFEST_VERSION}; formats {formats}\n".encode())
    h.update(_code_hash().encode())
    for name in ("trialsynth", "matplotlib", "fontTools", "PIL", "numpy"):
        try:
            module = importlib.import_module(name)
            h.update(f"{name} {getattr(module, '__version__', '?')}\n".encode())
        except ImportError:
            h.update(f"{name} missing\n".encode())
    _fingerprint(sorted((k, repr(v)) for k, v in rc.items()), h)
    h.update(_fonts_hash().encode())
    return h.hexdigest()


def _code_hash() -> str:
    """SHA-256 of the source files of the plotting code (their paths and bytes)."""
    import importlib.util

    h = hashlib.sha256()
    files: list[Path] = []
    for package in _CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            files += sorted(Path(location).glob("*.py"))
    for module in _CODE_MODULES:
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            files.append(Path(spec.origin))
    for path in files:
        h.update(f"{path.name}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _fonts_hash() -> str:
    """SHA-256 over the font files matplotlib knows (path, size, modification time)."""
    from matplotlib import font_manager

    h = hashlib.sha256()
    for fname in sorted({entry.fname for entry in font_manager.fontManager.ttflist}):
        try:
            st = os.stat(fname)
            h.update(f"{fname} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{fname} missing\n".encode())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_intact(folder: Path, hashes: dict) -> bool:
    if not hashes:
        return False
    for name, digest in hashes.items():
        path = folder / name
        try:
            if _file_sha256(path) != digest:
                return False
        except OSError:
            return False
    return True


def _read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}
    figures = data.get("figures")
    return figures if isinstance(figures, dict) else {}


__all__ = ["FigureJob", "FigurePool", "figure_jobs", "render_job", "write_figures", "job_key"]
