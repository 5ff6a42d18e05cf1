# Two commands: `make run` (the whole CRM with a demo dealer group) and `make test` (the whole suite).
# DATABASE_URL / REDIS_URL, when set, are used; otherwise embedded PostgreSQL and Redis start under .data/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test bench install browser stop-services demo-keys lint clean-data

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

run: install
	$(PY) scripts/dev.py run

test: install browser
	$(PY) scripts/dev.py test $(if $(ARGS),-- $(ARGS),)

bench: install
	$(PY) scripts/dev.py bench $(ARGS)

demo-keys: install
	@$(PY) scripts/dev.py demo-keys

stop-services:
	$(PY) scripts/devservices.py stop

clean-data: stop-services
	rm -rf .data
