# Two commands: `make run` (the whole stack, embedded) and `make test`. Both build .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-postgres lint bench demo clean messages translations diagram browser screenshots screenshots-oversight bench-dasbor bench-kasus

# The read model and API tests again on PostgreSQL (CI starts it; each run makes and drops its own database).
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
DB_TESTS := tests/test_api.py tests/test_happy_path.py tests/test_projection.py tests/test_evidence.py \
  tests/test_access_matrix.py tests/test_separation_of_duties.py tests/test_audit.py tests/test_drafts.py \
  tests/test_ceremony.py tests/test_documents.py tests/test_cohort.py tests/test_dashboard.py tests/test_notifications.py tests/test_migrations.py tests/test_concurrency.py \
  tests/test_read_rules.py tests/test_penugasan.py tests/test_archive.py

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# dclint, the linter and Compose-schema check of docker-compose.yml (tests/test_compose.py), at the version pinned in
# deploy/package-lock.json; needs node >= 20.19 and npm.
DCLINT := deploy/node_modules/.bin/dclint
$(DCLINT): deploy/package.json deploy/package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq nodejs npm; } || \
	  { echo "The compose checks need Node.js 20 and npm: sudo apt-get install -y nodejs npm"; exit 1; }
	npm ci --prefix deploy --no-audit --no-fund
	touch $@

run: $(BIN)/.installed
	$(BIN)/p2ham dev

test: $(BIN)/.installed browser $(DCLINT)
	$(BIN)/python -m pytest

# The browser tests drive the system Chromium (Debian package); Playwright's own browser download is not used.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq chromium; } || \
	  { echo "The browser tests need Chromium: sudo apt-get install -y chromium"; exit 1; }
	@test -x $(CHROMIUM) || { echo "The browser tests need Chromium: sudo apt-get install -y chromium"; exit 1; }

test-postgres: $(BIN)/.installed
	P2HAM_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest $(DB_TESTS)

# The service against the Temporal floor, the dashboard, a cohort (README, "Scale"); e.g. BENCH_ARGS="--idle 3000".
bench: $(BIN)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# The dashboard page over 20,000 synthetic cases: server time against the JSON dashboard and Beranda (bench/dasbor.py).
bench-dasbor: $(BIN)/.installed
	$(BIN)/python -m bench.dasbor

# The case page of a case with 40 history entries over 20,000 synthetic cases: server time against the JSON reads of
# the same case (bench/kasus.py); fails when the page takes 50 ms or more.
bench-kasus: $(BIN)/.installed
	$(BIN)/python -m bench.kasus

# docs/dasbor.png and docs/verifikasi-predikat.png, in the system Chromium over synthetic cases (tests/screenshots.py).
screenshots-oversight: $(BIN)/.installed browser
	$(BIN)/python -m tests.screenshots

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Message catalogues (service/locales): extract the ids the code and templates use (and the display names derived
# from the lifecycle and the registry: service/messages.py), add them to both catalogues
# (new ones untranslated, for you to fill), and compile them as a check. The service compiles them itself at start.
LOCALES_DIR := service/locales
messages: $(BIN)/.installed
	$(BIN)/python -m service.messages $(LOCALES_DIR)/messages.pot  # extracted as babel.cfg says, and derived ids
	$(BIN)/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) --no-fuzzy-matching --ignore-obsolete
	sed -i '/^"POT-Creation-Date/d' $(LOCALES_DIR)/*/LC_MESSAGES/messages.po  # no churn: the date is in git

# The lifecycle diagram of the web pages, drawn from workflows/lifecycle.py (a test keeps the committed files current).
diagram: $(BIN)/.installed
	$(BIN)/python -m service.pages.diagram

# The main pages as PNGs under docs/screenshots, saved by the browser tests of a whole case, a ceremony and a plan.
screenshots: $(BIN)/.installed browser
	P2HAM_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/test_web_case.py tests/test_web_upacara.py \
	  tests/test_web_rencana.py -q -k "(whole_case and not nojs and not keyboard) or ceremony_for or returned_revised"

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d $(LOCALES_DIR)

demo: $(BIN)/.installed
	$(BIN)/p2ham demo

clean:
	rm -rf $(VENV) .data
