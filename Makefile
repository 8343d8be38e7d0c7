# The two commands of the README: `make serve` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make serve` keeps its policy, store and first admin key here (git ignores it)
SERVE ?= .agentguard
SERVE_STORE = sqlite:///$(SERVE)/agentguard.db
SERVE_PORT ?= 8700

.PHONY: serve demo test lint browser bench bench-detectors bench-content bench-linear bench-gateway train-detectors clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	@mkdir -p $(SERVE)
	@test -f $(SERVE)/policy.yaml || $(BIN)/agentguard init $(SERVE)/policy.yaml --store $(SERVE_STORE)
	@test -s $(SERVE)/admin.key || (umask 077 && $(BIN)/agentguard keys create --approver admin \
		--policy $(SERVE)/policy.yaml --store $(SERVE_STORE) --label "make serve" > $(SERVE)/admin.key)
	@echo "dashboard: http://127.0.0.1:$(SERVE_PORT)/ui/ (sign in with the key in $(SERVE)/admin.key)"
	$(BIN)/agentguard serve --policy $(SERVE)/policy.yaml --store $(SERVE_STORE) --port $(SERVE_PORT)

demo: $(STAMP)
	$(BIN)/agentguard demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

# the dashboard's browser tests drive Debian's chromium (Playwright never downloads one)
browser:
	@command -v chromium >/dev/null || sh scripts/install-chromium.sh

test: lint browser
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pytest -q -n 2

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

# rebuild data/injection/{train,dev} from its sources and the shipped weights from train;
# the PERSON tagger's weights from data/person (its data: training/build_person_data.py)
train-detectors: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python training/build_injection_data.py
	$(BIN)/python training/train_injection.py
	$(BIN)/python training/train_person.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
