# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is for maintainers; `make help` lists it all.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
OUTPUT ?= output
CONTENT ?= content
# Pelican with our error handling: a mistake in content/ is one line naming the file
# and the field, and the preview waits for a change after a failed build.
PELICAN := $(BIN)/python scripts/pelican_build.py

.DEFAULT_GOAL := help
.PHONY: help run test build publish preview newpost newreblog lint format clean lock audit security bench bench-quick docs nginx-headers

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# setuptools tells every editable install that it made one ("Editable installation."):
# information only, so it is silenced; any other warning still shows.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

build: $(VENV)/.installed ## Publish current poll results, then build the site into output/
	POLL_SITE_OUTPUT_DIR=$(OUTPUT) $(BIN)/flask --app poll_service poll publish
	LOCAL_ORIGIN=http://127.0.0.1:$(PORT) $(PELICAN) $(CONTENT) -s pelicanconf.py -o $(OUTPUT)

run: build ## Build the site and serve it with a working poll at http://127.0.0.1:8000
	$(BIN)/python -m poll_service.devserver --port $(PORT)

test: $(VENV)/.installed-test ## Install what the tests need and run every test
	scripts/install-system-deps.sh
	$(MAKE) --no-print-directory node_modules/.package-lock.json
	$(BIN)/pytest
	# Again on PostgreSQL: every test that stores votes (not the static site, the browser
	# or SQLite's own files); tests/services.py starts a private server.
	$(BIN)/pytest -m "not browser" --database=postgresql

# The browser-side checkers (axe-core, the Nu Html Checker), pinned in package-lock.json.
# --ignore-scripts: vnu-jar's install script would download a Java runtime; Debian's is used.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

.PHONY: screenshots
screenshots: $(VENV)/.installed-test ## Screenshots of every page type at 375 and 1280 px into docs/screenshots/
	scripts/install-system-deps.sh
	$(BIN)/python scripts/screenshots.py

publish: $(VENV)/.installed ## Production build (publishconf.py; needs real SITEURL and CONTACT_EMAIL)
	POLL_SITE_OUTPUT_DIR=$(OUTPUT) $(BIN)/flask --app poll_service poll publish
	$(PELICAN) $(CONTENT) -s publishconf.py -o $(OUTPUT)

preview: $(VENV)/.installed ## Serve the site, rebuilt on every save, while writing
	$(PELICAN) $(CONTENT) -s pelicanconf.py -o $(OUTPUT) --listen --autoreload --port $(PORT)

newpost: $(VENV)/.installed ## Start a draft post: make newpost TITLE="..."
	$(BIN)/python scripts/new_content.py post "$$TITLE" --content $(CONTENT)

newreblog: $(VENV)/.installed ## Start a draft reblog: make newreblog TITLE="..."
	$(BIN)/python scripts/new_content.py reblog "$$TITLE" --content $(CONTENT)

bench: $(VENV)/.installed-test ## Run the benchmarks and print a summary (docs/reports/benchmarks.md)
	bench/setup.sh
	$(BIN)/python -m bench.run

bench-quick: $(VENV)/.installed-test ## Each benchmark tiny and fast: proves they run, figures mean nothing
	bench/setup.sh
	BENCH_QUICK=1 $(BIN)/python -m bench.run

docs: $(VENV)/.installed ## Regenerate the settings table in docs/operators.md and deploy/poll.env.example
	$(BIN)/python scripts/settings_docs.py

nginx-headers: $(VENV)/.installed ## Write deploy/nginx's header snippets from poll_service/web/headers.py
	$(BIN)/python scripts/nginx_headers.py

lint: $(VENV)/.installed-test ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the build output (not the votes in instance/)
	rm -rf $(OUTPUT) .pytest_cache

lock: $(VENV)/.installed-test ## Pin every dependency (with test tools) into requirements.lock
	{ echo "# Exact versions of every dependency, from 'make lock' (pip freeze of .venv)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^inquiry-campaign'; } > requirements.lock

audit: $(VENV)/.installed-test ## Check requirements.lock for known vulnerabilities (needs PyPI's JSON API)
	$(BIN)/pip-audit --strict --no-deps --disable-pip --requirement requirements.lock

security: $(VENV)/.installed-test ## bandit (medium and high findings fail), then pip-audit
	$(BIN)/bandit --quiet --severity-level medium --recursive poll_service plugins $(wildcard deploy)
	$(MAKE) audit
