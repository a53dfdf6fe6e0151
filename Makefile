# Every target sets up what it needs first, so `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONTEND_STAMP := frontend/dist/.built
FRONTEND_SOURCES := $(shell find frontend/src frontend/scripts frontend/index.html frontend/graphiql.html frontend/package.json frontend/package-lock.json frontend/vite.config.js -type f 2>/dev/null)

.PHONY: run test test-frontend lint schema bench install frontend clean

run: $(STAMP) $(FRONTEND_STAMP)
	@echo "Starting the LLM gateway and the API at http://$${API_HOST:-127.0.0.1}:$${API_PORT:-8000} (Ctrl-C stops both)"
	@$(PY) -m llm_gateway & gateway=$$!; \
	trap 'kill $$gateway 2>/dev/null; wait $$gateway 2>/dev/null' EXIT INT TERM; \
	$(PY) -m graphql_api serve

test: $(STAMP) $(FRONTEND_STAMP) lint test-frontend
	$(PY) -m pytest

# The frontend's unit tests (vitest, no browser): src/lib and the controllers.
test-frontend: $(FRONTEND_STAMP)
	cd frontend && npm test

lint: $(STAMP) $(FRONTEND_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench
	cd frontend && npm run lint

schema: $(STAMP)
	$(PY) -m graphql_api export-schema > schema.graphql

bench: $(STAMP) $(FRONTEND_STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "Installing Python packages. The first time, llama-cpp-python (the embedded model's"
	@echo "runtime) is compiled from source: about 5 minutes on 2 cores; pip caches it afterwards."
	$(PY) -m pip install --progress-bar on -e '.[local,dev]'
	@touch $@

frontend: $(FRONTEND_STAMP)

$(FRONTEND_STAMP): $(FRONTEND_SOURCES) Makefile
	@if [ -f frontend/package.json ]; then \
		cd frontend && npm ci --no-audit --no-fund && npm run build && touch dist/.built; \
	else mkdir -p frontend/dist && touch $@; fi

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
