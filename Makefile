# `make run`: set up everything, then serve the demo clinic on http://127.0.0.1:5000
# `make test`: set up everything, then run the whole suite (on PostgreSQL too when TEST_DATABASE_URL is set)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export FLASK_APP := wsgi
LOCALSTRIPE_PORT ?= 8420
MAIL_SINK_PORT ?= 8025

.PHONY: setup run test soak system-packages bench clean axe

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
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@mkdir -p .run/mail
	@$(BIN)/python -m billing.localstripe_server --port $(LOCALSTRIPE_PORT) > .run/localstripe.log 2>&1 & echo $$! > .run/localstripe.pid
	@$(BIN)/python -m billing.localstripe_server --port $(LOCALSTRIPE_PORT) --register-webhook http://127.0.0.1:5000/webhooks/stripe
	@$(BIN)/python -m clinic.dev_mail_sink --port $(MAIL_SINK_PORT) --folder .run/mail > .run/mail-sink.log 2>&1 & echo $$! > .run/mail-sink.pid
	@SMTP_HOST=127.0.0.1 SMTP_PORT=$(MAIL_SINK_PORT) DEV_MAIL_DIR=$(CURDIR)/.run/mail $(BIN)/flask outbox send --loop > .run/outbox.log 2>&1 & echo $$! > .run/outbox.pid
	@$(BIN)/flask superbills work --loop > .run/superbills.log 2>&1 & echo $$! > .run/superbills.pid
	@trap 'kill $$(cat .run/localstripe.pid .run/mail-sink.pid .run/outbox.pid .run/superbills.pid) 2>/dev/null' EXIT; \
	  echo "Clinic on http://127.0.0.1:5000 (Stripe emulator on 127.0.0.1:$(LOCALSTRIPE_PORT), webhook registered)"; \
	  echo "Mail the app sends: http://127.0.0.1:5000/dev/mail (SMTP sink on 127.0.0.1:$(MAIL_SINK_PORT); logs in .run/)"; \
	  echo "Superbill batches from /billing/superbills are issued by the worker beside it (.run/superbills.log)"; \
	  SMTP_HOST=127.0.0.1 SMTP_PORT=$(MAIL_SINK_PORT) DEV_MAIL_DIR=$(CURDIR)/.run/mail \
	  STRIPE_API_BASE=http://127.0.0.1:$(LOCALSTRIPE_PORT) $(BIN)/flask run --host 127.0.0.1 --port 5000

# axe-core, pinned, injected into every page the browser journeys (tests/test_journeys.py) visit.
AXE_VERSION := 4.14.1
axe: .axe/node_modules/axe-core/.installed-$(AXE_VERSION)

.axe/node_modules/axe-core/.installed-$(AXE_VERSION):
	npm install --no-save --no-audit --no-fund --prefix .axe axe-core@$(AXE_VERSION)
	touch $@

test: setup axe
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL ($$TEST_DATABASE_URL)"; \
	  CLINIC_TEST_DB=postgresql $(BIN)/python -m pytest -q -p no:cacheprovider; \
	fi

# The race-and-soak test, longer: 3000 operations by sixteen clients (SOAK_SEED picks the sequence), none started
# after SOAK_SECONDS (an hour here; ten minutes in `make test`).
soak: setup
	SOAK_OPERATIONS=$${SOAK_OPERATIONS:-3000} SOAK_SECONDS=$${SOAK_SECONDS:-3600} $(BIN)/python -m pytest -q -p no:cacheprovider -s tests/billing/test_soak.py

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .run instance
