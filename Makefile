# parindex — two commands on a fresh machine:
#   make report   set everything up and run the 2023 yearly run on the shipped demo data → reports/2023/
#                 (2021 and 2022 are published first, quickly, when they are not yet: the report's trend)
#   make test     set everything up (Debian's chromium and LibreOffice Writer included) and run the tests
# Also: make lab (JupyterLab on the notebooks), make bench (benchmarks), make demo-data (regenerate data/raw;
# 2023 then gets a TCVN3 workbook and layout quirks from parindex.demo_quirks),
#       make documents-pdf (the drafts of reports/<year>/van_ban as PDF and PNG pages, with LibreOffice).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
YEAR ?= 2023
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: report test lab bench demo-data setup setup-test chromium office clean-reports notebooks documents-pdf

# Earlier demo years published before the 2023 demo run (only when not yet published), without the Monte Carlo
# stage and in process: they give the report its baseline and its multi-year trend.
DEMO_EARLIER := 2021 2022

report: setup chromium
	@if [ "$(YEAR)" = 2023 ]; then for y in $(DEMO_EARLIER); do \
	  [ -e reports/$$y/LATEST ] || $(VENV)/bin/parindex run --year $$y --no-robustness --no-notebooks --publish \
	    || exit 1; \
	done; fi
	$(VENV)/bin/parindex run --year $(YEAR)

test: setup-test chromium office
	$(VENV)/bin/pytest

# JupyterLab on notebooks/: each notebook listed once (the paired .py sources are hidden), root allowed.
# A notebook opened here runs as a trial in scratch/<year>/ (never the published reports).
LAB_HIDE := '["__pycache__","*.pyc","*.py",".ipynb_checkpoints","*~"]'
lab: $(VENV)/.installed-lab
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ContentsManager.hide_globs=$(LAB_HIDE) \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

$(VENV)/.installed-lab: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[lab]'
	touch $@

# Benchmarks (on demand): prints a table and writes benchmarks/results.json (see benchmarks/README.md).
bench: setup
	$(PY) benchmarks/bench_pipeline.py

demo-data: setup
	$(PY) -m parindex.demo --year 2021 --seed 2021 --out data/raw/2021
	$(PY) -m parindex.demo --year 2022 --seed 2022 --out data/raw/2022
	$(PY) -m parindex.demo --year 2023 --seed 2023 --out data/raw/2023
	$(PY) -m parindex.demo_quirks --year 2023 --raw data/raw/2023

# Re-create the .ipynb files from their paired py:percent sources (commit both, without outputs).
notebooks: setup
	for f in notebooks/*.py; do $(VENV)/bin/jupytext --to ipynb --update --quiet "$$f"; done

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Browser tests use Debian's chromium (Playwright's own browser download is not used).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium (apt)…"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

# The .docx drafts of the latest run (reports/$(YEAR)/van_ban, written by `make report`) as PDF (van_ban/pdf/)
# and PNG pages (van_ban/png/) to look at them: LibreOffice Writer, poppler-utils and the Liberation fonts
# (metric-compatible with Times New Roman, with the Vietnamese letters) are installed with apt when missing.
# `make test` installs them too: tests/test_documents.py converts a draft and checks its pages.
DOC_PACKAGES := libreoffice-writer poppler-utils fonts-liberation2
office:
	@if ! dpkg -s $(DOC_PACKAGES) >/dev/null 2>&1; then \
	  echo "Installing $(DOC_PACKAGES) (apt)…"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $(DOC_PACKAGES) >/dev/null; \
	fi

documents-pdf: setup office
	$(PY) -m parindex.documents.pdf reports/$(YEAR)/van_ban

clean-reports:
	rm -rf reports/20* data/processed/20* scratch/
