# `make run`: set up everything, then serve the demo clinic on http://127.0.0.1:5000
# `make test`: set up everything, then run the whole suite (on PostgreSQL too when TEST_DATABASE_URL is set)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export FLASK_APP := wsgi
LOCALSTRIPE_PORT ?= 8420

.PHONY: setup run test system-packages bench clean

setup: $(VENV)/.installed system-packages

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# wkhtmltopdf renders receipts and superbills; Chromium drives the page tests. Installed only when missing.
system-packages:
	@missing=""; \
	command -v wkhtmltopdf >/dev/null || missing="$$missing wkhtmltopdf"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@mkdir -p .run
	@$(BIN)/python -m billing.localstripe_server --port $(LOCALSTRIPE_PORT) > .run/localstripe.log 2>&1 & echo $$! > .run/localstripe.pid
	@$(BIN)/flask outbox send --loop > .run/outbox.log 2>&1 & echo $$! > .run/outbox.pid
	@trap 'kill $$(cat .run/localstripe.pid .run/outbox.pid) 2>/dev/null' EXIT; \
	  echo "Clinic on http://127.0.0.1:5000 (Stripe emulator on 127.0.0.1:$(LOCALSTRIPE_PORT); mail log in .run/outbox.log)"; \
	  STRIPE_API_BASE=http://127.0.0.1:$(LOCALSTRIPE_PORT) $(BIN)/flask run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL ($$TEST_DATABASE_URL)"; \
	  CLINIC_TEST_DB=postgresql $(BIN)/python -m pytest -q -p no:cacheprovider; \
	fi

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .run instance
