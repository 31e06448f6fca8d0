# courseware: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK  := $(BIN)/flask --app app

.PHONY: run test test-sqlite test-pg e2e bench lint check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[pg,dev]'
	touch $@

## run: install, migrate, sync the course, create demo accounts, serve on http://$(HOST):$(PORT)
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) courseware sync
	$(FLASK) demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/gunicorn --workers 1 --threads 8 \
		--bind $(HOST):$(PORT) --access-logfile - app:app

## test: everything the suite needs (Chromium for the browser tests), then the suite on
## SQLite and, where PostgreSQL's binaries are installed, on a throwaway cluster
test: $(STAMP)
	bash scripts/test-suite.sh

## bench: performance figures (never part of make test)
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

check: $(STAMP)
	$(FLASK) courseware check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
