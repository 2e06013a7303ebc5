"""Execute the notebooks of ``notebooks/`` with injected parameters and export them as HTML.

Parameters are injected papermill-style: a new code cell tagged ``injected-parameters`` is
inserted right after the cell tagged ``parameters`` and overrides its assignments. Each notebook
runs in one kernel (nbclient), notebooks run concurrently in threads (kernel start-up and import
time dominate and overlap well), and the HTML is written atomically.

:func:`notebooks_key` and :func:`cached_runs` let the report skip executing the notebooks when
nothing they read has changed since the previous run into the same folder (see their docs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialsynth.errors import ArgumentError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass
class NotebookRun:
    """The outcome of one notebook: ``status`` ``ok`` or ``failed`` (with ``error``), timings, output."""

    name: str
    source: str
    html_path: str | None
    status: str
    seconds: float
    kernel_start_seconds: float = 0.0
    export_seconds: float = 0.0
    error: str = ""
    cells: int = 0
    #: True when the HTML is the previous run's (nothing the notebook reads had changed)
    cached: bool = False


def parameters_source(params: Mapping[str, Any]) -> str:
    """Python assignments for ``params`` (values written with ``repr``; names must be identifiers)."""
    lines = ["# Parameters injected by trialsynth report"]
    for name, value in params.items():
        if not str(name).isidentifier():
            raise ArgumentError(f"params: {name!r} is not a valid Python name")
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n"


def inject_parameters(nb, params: Mapping[str, Any]):
    """Return ``nb`` with an ``injected-parameters`` cell after the ``parameters`` cell (or first)."""
    import nbformat

    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    new = nbformat.v4.new_code_cell(parameters_source(params))
    new.metadata["tags"] = [INJECTED_TAG]
    if "id" in new and not any(c.get("id") == INJECTED_TAG for c in cells):
        new["id"] = INJECTED_TAG  # a fixed cell id (not a random one): the same parameters give the same HTML
    at = 0
    for i, cell in enumerate(cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            at = i + 1
            break
    cells.insert(at, new)
    nb.cells = cells
    return nb


def execute_notebook(path: str | Path, params: Mapping[str, Any] | None = None, *, cwd: str | Path | None = None,
                     timeout: int = 600, kernel_name: str = "python3"):
    """Execute one notebook in one kernel; return ``(executed_nb, seconds, kernel_start_seconds, error)``.

    Execution stops at the first failing cell; the partially executed notebook is returned and
    ``error`` holds the cell error's name and value.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if params:
        nb = inject_parameters(nb, params)
    from jupyter_client.manager import KernelManager

    # IPC transport: no TCP ports to find, and no "running over TCP without encryption" noise
    km = KernelManager(kernel_name=kernel_name, transport="tcp")
    client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=kernel_name,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"], shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    t0 = time.perf_counter()
    error = ""
    kernel_start = 0.0
    try:
        with client.setup_kernel(env=kernel_env()):
            kernel_start = time.perf_counter() - t0
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except CellExecutionError as exc:
        error = _short_error(exc)
    except Exception as exc:  # noqa: BLE001 - a kernel that dies or times out is reported, not raised
        error = f"{type(exc).__name__}: {exc}"
    return nb, time.perf_counter() - t0, kernel_start, error


def kernel_env() -> dict:
    """The environment for a kernel: ours, with ``PYTHONPATH`` entries made absolute (the kernel
    runs in the notebook's folder, where a relative ``src`` would point elsewhere)."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _short_error(exc) -> str:
    ename = getattr(exc, "ename", "") or type(exc).__name__
    evalue = getattr(exc, "evalue", "") or ""
    return f"{ename}: {evalue}".strip()


_EXPORTER = None


def notebook_html(nb) -> str:
    """nbconvert's HTML (lab template) of an executed notebook, images embedded."""
    global _EXPORTER
    from nbconvert import HTMLExporter

    if _EXPORTER is None:
        _EXPORTER = HTMLExporter(template_name="lab")
        _EXPORTER.exclude_input_prompt = False
    body, _ = _EXPORTER.from_notebook_node(nb)
    return body


RESET_SOURCE = "get_ipython().run_line_magic('reset', '-f')\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"


def execute_notebooks_shared(paths: Sequence[str | Path], params: Mapping[str, Any] | None = None, *,
                             cwd: str | Path | None = None, timeout: int = 600, kernel_name: str = "python3"):
    """Execute several notebooks one after another in **one** kernel, resetting its namespace
    (``%reset -f``, figures closed) between them.

    The kernel start and the imports (pandas, matplotlib, scipy, trialsynth) are paid once instead
    of once per notebook; notebooks must not depend on state left by another (they do not: each
    starts from its parameters). Yields ``(path, executed_nb, seconds, kernel_start_seconds, error)``
    as each notebook finishes, so its HTML can be exported while the next one runs.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    paths = [Path(p) for p in paths]
    if not paths:
        return
    km = KernelManager(kernel_name=kernel_name, transport="tcp")
    first = NotebookClient(nbformat.v4.new_notebook(), km=km, timeout=timeout, kernel_name=kernel_name,
                           extra_arguments=["--IPKernelApp.log_level=ERROR"], shutdown_kernel="immediate",
                           resources={"metadata": {"path": str(cwd or paths[0].parent)}})
    t0 = time.perf_counter()
    with first.setup_kernel(env=kernel_env()):
        kernel_start = time.perf_counter() - t0
        for n, path in enumerate(paths):
            t1 = time.perf_counter()
            nb = nbformat.read(path, as_version=4)
            if params:
                nb = inject_parameters(nb, params)
            client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=kernel_name)
            client.kc = first.kc
            error = ""
            try:
                if n:  # a throwaway notebook: nbclient writes each executed cell back into its notebook
                    reset_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET_SOURCE)])
                    resetter = NotebookClient(reset_nb, km=km, timeout=timeout, kernel_name=kernel_name)
                    resetter.kc = first.kc
                    resetter.execute_cell(reset_nb.cells[0], 0, store_history=False)
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
            except CellExecutionError as exc:
                error = _short_error(exc)
            except Exception as exc:  # noqa: BLE001
                error = f"{type(exc).__name__}: {exc}"
            yield path, nb, time.perf_counter() - t1, (kernel_start if n == 0 else 0.0), error


def run_notebooks(paths: Sequence[str | Path], params: Mapping[str, Any], out_dir: str | Path, *,
                  jobs: int | None = None, cwd: str | Path | None = None, timeout: int = 600,
                  mode: str = "shared", progress=None) -> list[NotebookRun]:
    """Execute ``paths`` and write ``<out_dir>/<name>.html`` for each; one :class:`NotebookRun` per
    notebook, in order.

    ``mode="shared"`` (default): one kernel runs the notebooks in turn (namespace reset between
    them) while a thread exports each finished notebook to HTML, paying kernel start-up and imports
    once; ``mode="parallel"``: one kernel per notebook, ``jobs`` at once (default all, at most 8).
    Both are timed in ``timings.json``.
    """
    from trialsynth.data.io import atomic_write_text

    if mode not in ("shared", "parallel"):
        raise ArgumentError(f"mode: expected 'shared' or 'parallel', got {mode!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in paths]
    if not paths:
        return []

    def export(path: Path, nb, seconds: float, kstart: float, error: str) -> NotebookRun:
        t0 = time.perf_counter()
        html_path = out / f"{path.stem}.html"
        try:
            atomic_write_text(html_path, notebook_html(nb))
        except Exception as exc:  # noqa: BLE001
            error = error or f"HTML export failed: {type(exc).__name__}: {exc}"
            html_path = None
        run = NotebookRun(path.stem, str(path), str(html_path) if html_path else None, "failed" if error else "ok",
                          seconds, kstart, time.perf_counter() - t0, error, len(nb.cells))
        done.append(run)
        if progress is not None:
            progress(f"notebooks {len(done)}/{len(paths)}: {path.stem} {'ok' if not error else 'FAILED'} ({seconds:.1f} s)")
        return run

    done: list = []

    if mode == "shared":
        with ThreadPoolExecutor(max_workers=1) as exporter:
            futures = [exporter.submit(export, *item) for item in execute_notebooks_shared(paths, params, cwd=cwd, timeout=timeout)]
            return [f.result() for f in futures]

    def one(path: Path) -> NotebookRun:
        return export(path, *execute_notebook(path, params, cwd=cwd, timeout=timeout))

    workers = max(1, min(jobs or len(paths), 8, len(paths)))
    # nbclient drives each kernel with its own event loop; threads keep that per-thread
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, paths))


# --------------------------------------------------------------------------- cache

NOTEBOOKS_MANIFEST = Path(".cache") / "notebooks.json"
NOTEBOOKS_MANIFEST_VERSION = 1


def notebooks_key(paths: Sequence[str | Path], params: Mapping[str, Any], input_dirs: Sequence[str | Path]) -> str:
    """SHA-256 over everything the notebooks' outputs depend on.

    The notebooks (every file of their folder: the ``.ipynb`` and their paired ``.py``), the
    injected parameters, every file under ``input_dirs`` (the data folder and ``evidence/``:
    all the notebooks read, through :func:`trialsynth.report.analysis.run_analysis`), every file
    of the ``trialsynth`` package, the Python version, the name and version of every installed
    distribution, ``PYTHONPATH`` (which ``trialsynth`` the kernel imports) and the font files
    matplotlib knows.  The simulation notebook is seeded; nothing else is random.
    """
    import hashlib
    import importlib.metadata
    import sys

    import trialsynth

    h = hashlib.sha256()
    h.update(f"notebooks cache {NOTEBOOKS_MANIFEST_VERSION}; python {sys.version}\n".encode())
    h.update(f"params {sorted((str(k), repr(v)) for k, v in params.items())!r}\n".encode())
    h.update(f"PYTHONPATH {os.environ.get('PYTHONPATH', '')}\n".encode())
    folders = sorted({Path(p).resolve().parent for p in paths})
    for p in paths:
        h.update(f"notebook {Path(p).name}\n".encode())
    for folder in [*folders, *(Path(d) for d in input_dirs), Path(trialsynth.__file__).resolve().parent]:
        _hash_tree(Path(folder), h)
    dists = sorted((d.metadata["Name"] or "", d.version or "") for d in importlib.metadata.distributions())
    h.update(repr(dists).encode())
    try:
        from trialsynth.report.figures import _fonts_hash

        h.update(_fonts_hash().encode())
    except ImportError:  # no matplotlib: the notebooks draw nothing either
        pass
    return h.hexdigest()


def _hash_tree(folder: Path, h) -> None:
    h.update(f"tree {folder}\n".encode())
    if not folder.is_dir():
        h.update(b"missing\n")
        return
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # .ipynb_checkpoints, editor files: not read by anything
        h.update(f"{path.relative_to(folder).as_posix()} {path.stat().st_size}\n".encode())
        h.update(path.read_bytes())


def _output_hashes(out_dir: Path, folders: Sequence[str]) -> dict:
    import hashlib

    hashes = {}
    for name in folders:
        folder = out_dir / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    hashes[path.relative_to(out_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def cached_runs(out_dir: str | Path, key: str) -> list[NotebookRun] | None:
    """The previous run's :class:`NotebookRun` list (``cached=True``) when its key was ``key``,
    every notebook succeeded and every file it wrote (``notebooks/``, ``exports/``) is still
    there with the recorded SHA-256; else ``None``."""
    import json

    out = Path(out_dir)
    try:
        data = json.loads((out / NOTEBOOKS_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != NOTEBOOKS_MANIFEST_VERSION or data.get("key") != key:
        return None
    recorded = data.get("hashes") or {}
    if not recorded or _output_hashes(out, ("notebooks", "exports")) != recorded:
        return None
    try:
        runs = [NotebookRun(**{**r, "cached": True}) for r in data.get("runs", [])]
    except TypeError:
        return None
    for r in runs:  # the folder may have moved since: point at the files that were checked
        r.html_path = str(out / "notebooks" / f"{r.name}.html")
    return runs if runs and all(r.status == "ok" for r in runs) else None


def record_runs(out_dir: str | Path, key: str, runs: Sequence[NotebookRun]) -> None:
    """Write the cache manifest of a run (only when every notebook succeeded)."""
    import dataclasses
    import json

    from trialsynth.data.io import atomic_write_text

    out = Path(out_dir)
    path = out / NOTEBOOKS_MANIFEST
    if not runs or any(r.status != "ok" for r in runs):
        path.unlink(missing_ok=True)
        return
    payload = {"version": NOTEBOOKS_MANIFEST_VERSION, "key": key,
               "runs": [{**dataclasses.asdict(r), "cached": False} for r in runs],
               "hashes": _output_hashes(out, ("notebooks", "exports"))}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def run_notebooks_cached(paths: Sequence[str | Path], params: Mapping[str, Any], out_dir: str | Path,
                         input_dirs: Sequence[str | Path], *, use_cache: bool = True, progress=None, **kwargs) -> list[NotebookRun]:
    """:func:`run_notebooks` into ``<out_dir>/notebooks``, unless the previous run into
    ``out_dir`` had the same :func:`notebooks_key` and its files are intact: then its runs are
    returned (``cached=True``) and nothing is executed."""
    out = Path(out_dir)
    key = notebooks_key(paths, params, input_dirs) if use_cache else None
    if key is not None:
        runs = cached_runs(out, key)
        if runs is not None:
            if progress is not None:
                progress(f"notebooks {len(runs)}/{len(runs)}: unchanged since the previous run, not executed again")
            return runs
    runs = run_notebooks(paths, params, out / "notebooks", progress=progress, **kwargs)
    if key is not None:
        record_runs(out, key, runs)
    else:
        (out / NOTEBOOKS_MANIFEST).unlink(missing_ok=True)
    return runs
