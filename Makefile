# Two commands matter: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: demo test lint bench-ingest bench-llm bench-csconv bench-cli bench-metrics clean install mutate

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/csc demo

# Two pytest-xdist workers: most slow tests wait on subprocesses and servers, so two run well
# side by side on two cores (~10 min instead of ~14). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

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

bench-metrics: $(STAMP)
	$(BIN)/python bench/metrics.py

# Mutation testing of the pure modules ([tool.mutmut] in pyproject.toml; docs/testing.md).
# Slow and CPU-heavy, so not part of `make test`. One worker (MUTATE_WORKERS=2 for two).
# `make mutate MODULE=csc/llm/parsing.py` runs one module's mutants. Of csc/llm/gateway.py only
# cache_key's mutants run (the rest of that module is I/O, tested over HTTP instead).
# Log: mutants/run.log; a mutant's diff: .venv/bin/mutmut show <name>.
MUTATE_WORKERS ?= 1
MUTATE_ALL := csc.pii.* csc.rules.* csc.llm.parsing.* csc.csconv.postfilter.* csc.framework.* \
	csc.eval.context.* csc.eval.baselines.* csc.eval.registry.* csc.language.* \
	csc.llm.gateway.x_cache_key__mutmut_*
MUTATE_NAMES = $(if $(MODULE),$(if $(filter csc/llm/gateway.py,$(MODULE)),\
	csc.llm.gateway.x_cache_key__mutmut_*,$(subst /,.,$(MODULE:.py=)).*),$(MUTATE_ALL))

mutate: $(STAMP)
	@mkdir -p mutants
	@echo "mutmut run $(MUTATE_NAMES) (log: mutants/run.log)"
	@$(BIN)/mutmut run --max-children $(MUTATE_WORKERS) $(foreach n,$(MUTATE_NAMES),'$(n)') \
		> mutants/run.log 2>&1 || { tail -40 mutants/run.log; exit 1; }
	@$(BIN)/mutmut results --all true | sed 's/^ *//' \
		| grep -F $(foreach n,$(MUTATE_NAMES),-e '$(firstword $(subst *, ,$(n)))') \
		| awk -F': ' '{m = $$1; sub(/[.]x.*/, "", m); n[m]++; s[m, $$2]++; \
			if ($$2 != "killed" && $$2 != "timeout") print "  " $$2 ": " $$1} \
			END {for (k in n) printf "%s: killed %d / %d (%d by timeout), survived %d\n", \
				k, s[k, "killed"] + s[k, "timeout"], n[k], s[k, "timeout"], s[k, "survived"]}'

clean:
	rm -rf $(VENV) warehouse/*.duckdb* warehouse/out out
