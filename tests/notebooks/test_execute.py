"""Every notebook executes without error on the shipped data (nbclient, one kernel each)."""

from pathlib import Path

import pytest

from trialsynth.report.notebooks import execute_notebook

from nb_paths import NAMES, NOTEBOOK_DIR, ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_on_shipped_data(name, tmp_path, kernel_pythonpath):
    params = {"DATA_PATH": str(ROOT / "data" / "trials.csv"), "PROFILE": "cochrane-2025", "WINDOWS": None,
              "EXPORT_DIR": str(tmp_path / "exports")}
    nb, seconds, kernel_start, error = execute_notebook(NOTEBOOK_DIR / f"{name}.ipynb", params, cwd=NOTEBOOK_DIR, timeout=300)
    assert error == "", f"{name} failed: {error}"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the injected parameters cell follows the tagged one and sets the data path
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and str(ROOT / "data" / "trials.csv") in injected[0].source
    # every notebook shows its methods paragraph (as Markdown, not as a hard-wrapped print), and no raw
    # warning text with install paths reaches a reader
    shown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs if o.get("output_type") == "display_data")
    assert "method profile" in shown
    streams = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Warning" not in streams and "site-packages" not in streams, f"{name} prints raw warnings"
    if name == "05_summary_of_findings":
        written = sorted(p.name for p in (tmp_path / "exports").glob("*"))
        assert written == ["summary_of_findings.csv", "summary_of_findings.html", "summary_of_findings.md"]


def test_injection_overrides_the_parameters_cell(tmp_path, kernel_pythonpath):
    import nbformat

    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("X = 1")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell("Y = 0"), p, nbformat.v4.new_code_cell("print(X * 10, Y)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    executed, *_rest, error = execute_notebook(path, {"X": 7}, cwd=tmp_path)
    assert error == ""
    assert executed.cells[2].metadata["tags"] == ["injected-parameters"]
    assert executed.cells[3].outputs[0]["text"] == "70 0\n"
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")], metadata=nb.metadata)
    nbformat.write(bad, tmp_path / "bad.ipynb")
    *_x, error = execute_notebook(tmp_path / "bad.ipynb", {}, cwd=tmp_path)
    assert error.startswith("ZeroDivisionError")


def test_shared_kernel_runs_notebooks_in_turn_with_a_clean_namespace(tmp_path, kernel_pythonpath):
    import nbformat

    from trialsynth.report.notebooks import run_notebooks

    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    a = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("LEFTOVER = 1\nprint(P)")], metadata=meta)
    b = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('LEFTOVER' in dir(), P)")], metadata=meta)
    nbformat.write(a, tmp_path / "01_a.ipynb")
    nbformat.write(b, tmp_path / "02_b.ipynb")
    runs = run_notebooks([tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"], {"P": 5}, tmp_path / "html", cwd=tmp_path, mode="shared")
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[0].kernel_start_seconds > 0 and runs[1].kernel_start_seconds == 0.0
    html_b = (tmp_path / "html" / "02_b.html").read_text(encoding="utf-8")
    assert "False 5" in html_b
