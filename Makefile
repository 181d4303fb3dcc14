# One command each: `make demo` runs the example, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev
# The demo's web server port: make demo PORT=8001
PORT ?= 8000

.PHONY: test test-browser demo lint docs bench clean

# .venv/bin/.installed-<extra>: the package and one extra of pyproject.toml.
$(BIN)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

test: $(BIN)/.installed-$(EXTRAS)  ## run the whole test suite (embedded default)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-browser: $(BIN)/.installed-$(EXTRAS)  ## install Chromium + local CSS if missing, run the browser tests
	.ci/steps/browser-setup.sh
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

demo: $(BIN)/.installed-demo  ## run the example project (web server + worker) on PORT; Ctrl-C stops
	$(BIN)/python example/run_demo.py --port $(PORT) $(DEMO_ARGS)

docs: $(BIN)/.installed-$(EXTRAS)  ## build the documentation site into site/ (strict)
	$(BIN)/mkdocs build --strict

lint: $(BIN)/.installed-$(EXTRAS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench:  ## benchmarks on PostgreSQL + Redis and the embedded default; writes docs/benchmarks.md
	$(MAKE) $(BIN)/.installed-bench EXTRAS=bench
	$(BIN)/python -m benchmarks.run --output docs/benchmarks.md $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .tmp site
