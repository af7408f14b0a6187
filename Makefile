# Two commands set everything up: `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PY_STAMP := $(VENV)/.installed
JS_STAMP := node_modules/.installed

.PHONY: help setup book test lint serve lab pdf publish notebooks assignments grade points clean distclean lock

help:
	@echo "make book        set up (.venv, node_modules) and build the site in _build/html"
	@echo "make test        set up and run the whole test suite (lint, helpers, chapters, site)"
	@echo "make serve       serve _build/html on http://127.0.0.1:$(PORT) (PORT=... to change)"
	@echo "make lab         JupyterLab on http://127.0.0.1:8888 with the chapters opening as notebooks"
	@echo "make pdf         the whole book as one PDF in _build/pdf/book.pdf (after make book)"
	@echo "make publish     the notebooks the launch buttons open, in _build/publish/ (after make book)"
	@echo "make notebooks   write a plain .ipynb of every chapter to _build/notebooks/"
	@echo "make assignments student and autograder versions in _build/assignments/"
	@echo "                 (SHARED=1: one data set for the class instead of one per student)"
	@echo "make grade A=a1-complete-pooling DIR=~/course/a1/   grade a folder of notebooks (_build/grades/)"
	@echo "make points A=a1-complete-pooling   each question's kind, points, test cases and rubric"
	@echo "make clean       remove _build/ (the next build executes every chapter)"
	@echo "make distclean   also remove .venv/ and node_modules/"
	@echo "make lock        re-resolve the Python dependencies into requirements.lock"

# Python packages at the exact versions of requirements.lock, and helpers itself (editable;
# reinstalled when its version in helpers/__init__.py changes, so the metadata agrees).
$(PY_STAMP): requirements.lock pyproject.toml helpers/__init__.py tools/lab_settings.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	$(BIN)/python tools/lab_settings.py >/dev/null
	touch $@

# Browser assets the site serves itself (MathJax, widget renderer), from package-lock.json.
$(JS_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(JS_STAMP)

book: setup
	$(BIN)/python tools/build_book.py

LINTED := $(wildcard helpers tests benchmarks tools data book/_ext)

lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

test: lint
	$(BIN)/python -m pytest

serve:
	@test -f _build/html/index.html || { echo "No site yet: run 'make book' first."; exit 1; }
	@echo "Serving _build/html on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

LAB_PORT ?= 8888

# JupyterLab of .venv, listening on 127.0.0.1 only; .md chapters open as notebooks.
lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.root_dir=. \
	  $(if $(filter 0,$(shell id -u)),--allow-root) chapters/01-complete-pooling.md

pdf: book
	$(BIN)/python tools/pdf.py

publish: book
	rm -rf _build/publish
	$(BIN)/python tools/publish.py notebooks _build/publish

notebooks: setup
	$(BIN)/python tools/notebooks.py _build/notebooks

# SHARED=1: one data set for the whole class (STUDENT_ID = "shared" filled in).
assignments: setup
	$(BIN)/python tools/assignments.py build $(if $(filter 1 yes true,$(SHARED)),--shared)

grade: assignments
	@test -n "$(A)" -a -n "$(DIR)" || { echo "usage: make grade A=<assignment> DIR=<folder of .ipynb>"; exit 1; }
	$(BIN)/python tools/assignments.py grade $(A) $(DIR) $(GRADE_ARGS)

points: setup
	@test -n "$(A)" || { echo "usage: make points A=<assignment>"; exit 1; }
	@$(BIN)/python tools/assignments.py build $(A) >/dev/null
	$(BIN)/python tools/assignments.py points $(A)

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV) node_modules

# Re-resolve dependencies from pyproject.toml in a scratch environment and pin them.
lock:
	rm -rf _build/lock-venv
	$(PYTHON) -m venv _build/lock-venv
	_build/lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	_build/lock-venv/bin/python -m pip install --quiet ".[book,test,lab,student]"
	{ echo "# Exact versions installed by 'make setup'. Regenerate with 'make lock'."; \
	  _build/lock-venv/bin/python -m pip freeze --all --exclude-editable \
	    | grep -v -i '^multilevel-book-helpers' ; } > requirements.lock
	rm -rf _build/lock-venv
