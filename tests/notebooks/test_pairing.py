"""The notebooks are stored without outputs, paired with their jupytext text, thin, and parameterised."""

import json
import re

import jupytext
import pytest

from nb_paths import NAMES, NOTEBOOK_DIR


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_has_no_outputs(name):
    nb = json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{name}: a code cell has stored outputs"
            assert cell.get("execution_count") is None, f"{name}: a code cell has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_pair_in_sync(name):
    ipynb = jupytext.read(NOTEBOOK_DIR / f"{name}.ipynb")
    text = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    assert ipynb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    a = [(c.cell_type, c.source.strip()) for c in ipynb.cells]
    b = [(c.cell_type, c.source.strip()) for c in text.cells]
    assert a == b, f"{name}.ipynb and {name}.py differ: run `jupytext --sync notebooks/{name}.py`"


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell(name):
    nb = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: exactly one cell must be tagged 'parameters'"
    for param in ("DATA_PATH", "PROFILE", "WINDOWS", "EXPORT_DIR"):
        assert re.search(rf"^{param} = ", tagged[0].source, re.M), f"{name}: parameter {param} missing"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_thin_and_prints_methods(name):
    source = "\n".join(c.source for c in jupytext.read(NOTEBOOK_DIR / f"{name}.py").cells if c.cell_type == "code")
    for banned in ("import numpy", "import scipy", "import statsmodels", "np.", ".mean(", ".std(", "sqrt(", "pool(", "pool_groups("):
        assert banned not in source, f"{name}: statistics belong in the package, found {banned!r}"
    assert "views.methods_markdown(analysis)" in source  # the methods paragraph, folded under "Methods"
    assert "run_analysis(DATA_PATH, PROFILE, WINDOWS)" in source
