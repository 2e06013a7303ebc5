"""notebooks/06_simulation: the .py/.ipynb pair agree, the .ipynb has no outputs, and it runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / "notebooks" / "06_simulation.py"
IPYNB = ROOT / "notebooks" / "06_simulation.ipynb"


def _code_sources(nb) -> list[str]:
    return [cell.source.strip() for cell in nb.cells if cell.cell_type == "code"]


def test_pair_in_sync_and_stored_without_outputs():
    jupytext = pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")
    stored = nbformat.read(IPYNB, as_version=4)
    assert all(cell.get("outputs", []) == [] for cell in stored.cells if cell.cell_type == "code")
    assert all(cell.get("execution_count") is None for cell in stored.cells if cell.cell_type == "code")
    assert _code_sources(stored) == _code_sources(jupytext.read(PY))


@pytest.mark.slow
def test_notebook_runs_and_the_cluster_reproduces_the_local_table(tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nb = jupytext.read(PY)
    # the kernel inherits PYTHONPATH: it imports this checkout's package
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - started
    texts = [out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert any("identical to the local run: True" in t for t in texts), texts
    figures = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
               if "image/png" in out.get("data", {})]
    assert len(figures) == 1
    print(f"06_simulation executed in {elapsed:.1f} s")
