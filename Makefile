# Two commands a newcomer needs: `make run` and `make test` (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export BATON_HOME ?= $(CURDIR)/.baton

.PHONY: run test setup dev-setup spark-setup data build lint docs clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

dev-setup: $(VENV)/.dev-installed

## The Spark engine (BATON_ENGINE=spark) on top: dbt-spark, pyspark and the localspark adapter.
## Needs Java 17 (Debian: openjdk-17-jre-headless). Not part of `make run`; see docs/spark.md.
$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.txt $(wildcard plugins/dbt-localspark/pyproject.toml plugins/dbt-localspark/dbt/*/*/*.py plugins/dbt-localspark/dbt/include/*/*)
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $@

spark-setup: $(VENV)/.spark-installed

## Demo data, only when there is no raw data yet.
data: setup
	@test -f "$(BATON_HOME)/raw.duckdb" || $(BIN)/python -m pipeline demo

## The first build, only when nothing has been published yet.
build: data
	@test -f "$(BATON_HOME)/current.json" || $(BIN)/python -m pipeline rebuild

## Set up, make demo data if needed, build if needed, and serve the app on 127.0.0.1:8501.
run: build
	$(BIN)/streamlit run app.py

lint: dev-setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd dbt_project && ../$(BIN)/sqlfluff lint models
	# Flat-file models are disabled under the default vars: lint them with dataset_kind=flat.
	cd dbt_project && ../$(BIN)/sqlfluff lint --config flat.sqlfluff models/*/flat

## Lint, then every test (unit, dbt, app, e2e in headless Chromium), in TEST_WORKERS processes
## (pytest-xdist; each test file stays in one process, so its fixtures are built once).
TEST_WORKERS ?= 2
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## dbt docs of the serving build: lineage from raw data to predictions, every model's columns.
docs: build
	$(BIN)/python -m pipeline docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
