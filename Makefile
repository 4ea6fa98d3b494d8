# Two commands: `make run` (the whole stack, embedded) and `make test`. Both build .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-postgres lint bench demo clean messages translations

# The read model and API tests again on PostgreSQL (CI starts it; each run makes and drops its own database).
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
DB_TESTS := tests/test_api.py tests/test_happy_path.py tests/test_projection.py tests/test_evidence.py \
  tests/test_access_matrix.py tests/test_separation_of_duties.py tests/test_audit.py tests/test_drafts.py \
  tests/test_ceremony.py tests/test_documents.py tests/test_cohort.py tests/test_dashboard.py tests/test_notifications.py tests/test_migrations.py tests/test_concurrency.py

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# dclint, the linter and Compose-schema check of docker-compose.yml (tests/test_compose.py), at the version pinned in
# deploy/package-lock.json; needs node >= 20.19 and npm.
DCLINT := deploy/node_modules/.bin/dclint
$(DCLINT): deploy/package.json deploy/package-lock.json
	npm ci --prefix deploy --no-audit --no-fund
	touch $@

run: $(BIN)/.installed
	$(BIN)/p2ham dev

test: $(BIN)/.installed $(DCLINT)
	$(BIN)/python -m pytest

test-postgres: $(BIN)/.installed
	P2HAM_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest $(DB_TESTS)

# The service against the Temporal floor, the dashboard, a cohort (README, "Scale"); e.g. BENCH_ARGS="--idle 3000".
bench: $(BIN)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Message catalogues (service/locales): extract the ids the code and templates use, add them to both catalogues
# (new ones untranslated, for you to fill), and compile them as a check. The service compiles them itself at start.
LOCALES_DIR := service/locales
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k reason -k gettext:2 -k ngettext:2,3 --no-location --sort-output \
	  --omit-header -o $(LOCALES_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) --no-fuzzy-matching --ignore-obsolete
	sed -i '/^"POT-Creation-Date/d' $(LOCALES_DIR)/*/LC_MESSAGES/messages.po  # no churn: the date is in git

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d $(LOCALES_DIR)

demo: $(BIN)/.installed
	$(BIN)/p2ham demo

clean:
	rm -rf $(VENV) .data
