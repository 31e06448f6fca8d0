# courseware: `make run` to try it, `make test` to check it, `make check` before each commit.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK  := $(BIN)/flask --app app

.PHONY: run test check bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[pg,dev]'
	touch $@

## run: install, migrate, sync the course, create demo accounts (random passwords, printed; only
## on a loopback HOST with the embedded database), serve on http://$(HOST):$(PORT) with a job
## worker beside the server (mail is printed here: MAIL_BACKEND=console)
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) courseware sync
	-$(FLASK) demo --host $(HOST)
	@echo "Serving on http://$(HOST):$(PORT) with a job worker beside it (Ctrl-C stops both)"
	@export BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)}; \
	export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/instance/metrics}; \
	$(FLASK) jobs worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	BIND=$(HOST):$(PORT) WEB_CONCURRENCY=1 GUNICORN_THREADS=8 \
		$(BIN)/gunicorn -c gunicorn.conf.py app:app

## test: the static checks, then the suite on SQLite (with branch coverage) and, where
## PostgreSQL's binaries are installed, again on a throwaway cluster
test: $(STAMP)
	bash scripts/test-suite.sh

## check: lint, strict types, import contracts and the course content, in seconds
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(FLASK) courseware check

## bench: performance figures (never part of make test)
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .mypy_cache .coverage
