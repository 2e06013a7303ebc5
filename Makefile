# trialsynth: two commands on a fresh clone (`make report`, `make test`).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install report test lab bench validate clean

# (Re)install when pyproject.toml changes; the stamp records the last install.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

install: $(STAMP)

validate: $(STAMP)
	$(PY) -m trialsynth validate data/trials.csv --evidence-dir evidence --provenance

report: $(STAMP)
	$(PY) -m trialsynth report --data data/trials.csv --out reports

test: $(STAMP)
	$(PY) -m pytest

# Extra options for JupyterLab: make lab LAB_ARGS="--allow-root --no-browser --port=8890".
# notebooks/.jupyter holds the server settings that keep the stored notebooks unchanged when they
# are opened and saved (no machine-specific language_info); it is put first on JUPYTER_CONFIG_PATH.
LAB_ARGS ?=
LAB_CONFIG := $(CURDIR)/notebooks/.jupyter

lab: $(STAMP)
	JUPYTER_CONFIG_PATH="$(LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf reports build .pytest_cache
