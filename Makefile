# The two commands of the README: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-detectors bench-content bench-linear bench-gateway clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentguard demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench_pipeline.py

bench-detectors: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench_detectors.py
	$(BIN)/python bench/eval_detectors.py

bench-content: $(STAMP)
	$(BIN)/python bench/bench_content.py

bench-linear: $(STAMP)
	$(BIN)/python bench/bench_linear.py

bench-gateway: $(STAMP)
	$(BIN)/python bench/bench_gateway.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
