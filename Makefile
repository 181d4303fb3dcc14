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

# The cookiecutter-django mirror is a project of its own: a second pytest process.
MIRROR := --confcutdir=tests/cookiecutter --ds=tests.cookiecutter.config.settings tests/cookiecutter
# COVERAGE=1: measure both runs (worker processes included) and hold the gate.
ifeq ($(COVERAGE),1)
COV_ARGS := --cov=celery_progress_tracker --cov-append --cov-report= --cov-fail-under=0
endif
# Exit status 5 ("no tests collected", e.g. -k matching one project only) is fine.
OK_IF_NONE := || [ $$? -eq 5 ]

test: $(BIN)/.installed-$(EXTRAS)  ## run the whole test suite (embedded default; DATABASE_URL/CELERY_BROKER_URL for services)
	@if [ "$(COVERAGE)" = 1 ]; then $(BIN)/coverage erase; fi
	$(BIN)/python -m pytest $(COV_ARGS) $(PYTEST_ARGS) $(OK_IF_NONE)
	$(BIN)/python -m pytest $(COV_ARGS) $(MIRROR) $(PYTEST_ARGS) $(OK_IF_NONE)
	@if [ "$(COVERAGE)" = 1 ]; then $(BIN)/coverage combine -q 2>/dev/null || true; $(BIN)/coverage report; fi

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
