# Each target creates .venv from pyproject.toml when it is missing or older than pyproject.toml.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable).
CHROMIUM := /usr/bin/chromium
# The Spark tests run a local pyspark, which needs a Java runtime (Debian's default: OpenJDK 17).
JAVA := /usr/bin/java

.PHONY: demo test ui bench venv clean

# pip's own progress (a line per package it collects, downloads and installs) instead of minutes of silence.
$(STAMP): pyproject.toml
	@echo "== creating $(VENV) (Python 3.11) when missing"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "== upgrading pip"
	$(BIN)/python -m pip install --upgrade pip
	@echo "== installing stripe-close and its dependencies from pyproject.toml (a few minutes the first time)"
	$(BIN)/python -m pip install -e '.[dev,spark]'
	touch $(STAMP)
	@echo "== $(VENV) is ready"

$(CHROMIUM):
	apt-get update
	apt-get install -y chromium

$(JAVA):
	apt-get update
	apt-get install -y default-jre-headless

venv: $(STAMP)

demo: $(STAMP)
	@echo "== closing a simulated month: progress on stderr, dbt and Dagster logs in .close/logs/, the summary last"
	$(BIN)/stripe-close demo

# Two pytest-xdist workers, one per core (tests/conftest.py decides which files share a worker).
test: $(STAMP) $(CHROMIUM) $(JAVA)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2

ui: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close ui

# The issues' benchmarks at their sizes, one after the other, then the fault-injection sweep
# (about an hour on 2 cores).
bench: $(STAMP) $(JAVA)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench --transactions 1000000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench ingest --source-objects off
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench ingest --objects 20000 --requests-per-second 25
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench ingest --source data_pipeline
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench close --sizes 1000000,10000000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench close --transactions 1000000 --source-objects
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench close --transactions 100000 --engine spark
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench continuous --histories 100000,300000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench continuous --histories 1000000,11000000 --transactions-per-day 30000 --simulated-days 33
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench match --payouts 100000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench match --payouts 1000000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench parse
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close bench anomalies
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stripe-close chaos --points 12

clean:
	rm -rf .close exports dbt_project/target dbt_project/logs
