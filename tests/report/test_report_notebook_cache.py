"""The report re-executes its notebooks only when something they read changed."""

from __future__ import annotations

import json

import nbformat
import pytest

from trialsynth.report.notebooks import NOTEBOOKS_MANIFEST, notebooks_key, run_notebooks_cached


def make_notebook(folder):
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("DATA_PATH = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(open(DATA_PATH).read().strip())")]
    path = folder / "01_tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_notebooks_run_again_only_when_an_input_changes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "trials.csv").write_text("first\n", encoding="utf-8")
    nb = make_notebook(tmp_path / "notebooks")
    out = tmp_path / "out"
    params = {"DATA_PATH": str(data / "trials.csv")}

    def run():
        return run_notebooks_cached([nb], params, out, [data], cwd=nb.parent)

    first = run()
    assert [r.status for r in first] == ["ok"] and not first[0].cached
    html = (out / "notebooks" / "01_tiny.html").read_text(encoding="utf-8")
    assert "first" in html and "injected-parameters" in html
    assert json.loads((out / NOTEBOOKS_MANIFEST).read_text(encoding="utf-8"))["key"]

    again = run()
    assert again[0].cached and again[0].html_path == str(out / "notebooks" / "01_tiny.html")

    (data / "trials.csv").write_text("second\n", encoding="utf-8")  # an input changed
    third = run()
    assert not third[0].cached
    assert "second" in (out / "notebooks" / "01_tiny.html").read_text(encoding="utf-8")

    (out / "notebooks" / "01_tiny.html").write_text("edited", encoding="utf-8")  # an output was touched
    fourth = run()
    assert not fourth[0].cached
    assert "second" in (out / "notebooks" / "01_tiny.html").read_text(encoding="utf-8")

    # without the cache the notebook always runs, and the manifest is dropped
    fifth = run_notebooks_cached([nb], params, out, [data], cwd=nb.parent, use_cache=False)
    assert not fifth[0].cached and not (out / NOTEBOOKS_MANIFEST).exists()


def test_key_follows_notebooks_params_and_inputs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "trials.csv").write_text("a\n", encoding="utf-8")
    nb = make_notebook(tmp_path / "notebooks")
    key = notebooks_key([nb], {"DATA_PATH": "x"}, [data])
    assert key == notebooks_key([nb], {"DATA_PATH": "x"}, [data])
    assert key != notebooks_key([nb], {"DATA_PATH": "y"}, [data])
    (data / "reviews.csv").write_text("b\n", encoding="utf-8")
    key2 = notebooks_key([nb], {"DATA_PATH": "x"}, [data])
    assert key2 != key
    (nb.parent / "01_tiny.py").write_text("# paired\n", encoding="utf-8")
    assert notebooks_key([nb], {"DATA_PATH": "x"}, [data]) != key2
