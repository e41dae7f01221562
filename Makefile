# Violet Connect for BigCommerce. `make run` serves the portal; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT   ?= 8000

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Set up, migrate, seed the demo, and start the web server, a Celery worker and beat.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/run_dev.py --port $(PORT)

## Set up and run the whole test suite.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmarks against the sandbox, PostgreSQL, Redis and real workers (never part of `make test`).
## `make bench BENCH_QUICK=1` runs the same figures at about a tenth of the size.
bench: install
	@bash scripts/services.sh
	$(BIN)/python -m bench $(if $(BENCH_QUICK),--quick,)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
