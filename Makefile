# Violet Connect for BigCommerce. `make run` serves the portal; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# uv itself, installed by pip from a hash-checked file, in a venv of its own
# (uv sync keeps .venv exactly as uv.lock says, so it would not keep uv there).
TOOLS  := .venv-tools
UV     := $(TOOLS)/bin/uv
PORT   ?= 8000
SANDBOX_PORT ?= 8100
# Never download a Python: the machine's $(PYTHON) (3.11) is the one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install lock upgrade run test check lint bench clean

$(UV): requirements/uv.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.txt
	@touch $@

## Install exactly what uv.lock says (hashes checked), and remove anything else.
install: $(UV)
	$(UV) sync --locked --quiet --python $(PYTHON)

## Re-resolve uv.lock from pyproject.toml (after changing a dependency), keeping the versions it can.
lock: $(UV)
	$(UV) lock --python $(PYTHON)
	$(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 \
		--custom-compile-command "make lock" requirements/uv.in -o requirements/uv.txt

## Move every dependency (and uv) to its newest allowed version, install it, and run the suite.
upgrade: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	$(UV) pip compile --quiet --upgrade --generate-hashes --universal --python-version 3.11 \
		--custom-compile-command "make lock" requirements/uv.in -o requirements/uv.txt
	$(MAKE) test

## Set up, migrate, and start the sandbox, web server, Celery worker and beat (seeding the demo, printing its logins).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python scripts/run_dev.py --port $(PORT) --sandbox-port $(SANDBOX_PORT)

## Set up and run the whole test suite.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmarks against the sandbox, PostgreSQL, Redis and real workers (never part of `make test`).
## `make bench BENCH_QUICK=1` runs the same figures at about a tenth of the size.
bench: install
	@bash scripts/services.sh
	$(BIN)/python -m bench $(if $(BENCH_QUICK),--quick,)

## What CI checks besides the suite: lint, the deployment checklist, migrations, log lines, pip check.
check: install
	$(UV) pip check --python $(BIN)/python
	$(BIN)/ruff check .
	PYTHON=$(BIN)/python bash scripts/checks.sh

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache
