# Two commands matter: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: demo test lint bench-ingest bench-llm bench-csconv bench-cli clean install

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/csc demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-llm: $(STAMP)
	$(BIN)/python bench/llm_overhead.py

bench-csconv: $(STAMP)
	$(BIN)/python bench/csconv_stage.py

bench-cli: $(STAMP)
	$(BIN)/python bench/cli_latency.py

clean:
	rm -rf $(VENV) warehouse/*.duckdb* warehouse/out out
