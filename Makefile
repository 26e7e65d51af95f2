# Inference Dashboard. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench format messages screenshots system-packages browser vendor-htmx vendor-uplot vendor-axe clean

run: $(STAMP) system-packages
	$(PY) scripts/dev.py run

test: $(STAMP) system-packages browser lint
	$(PY) scripts/dev.py test $(PYTEST_ARGS)

# Refresh the README's pictures in docs/screenshots/ (tests alone write them under var/).
screenshots: $(STAMP) system-packages browser
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(PY) scripts/dev.py test -m browser $(PYTEST_ARGS)

# mypy (with django-stubs) over the product packages; its cache in .mypy_cache keeps it quick.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) system-packages
	$(PY) scripts/dev.py bench $(BENCH_ARGS)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# gettext compiles the Vietnamese catalog (msgfmt).
system-packages:
	@bash scripts/apt-ensure.sh msgfmt:gettext

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
browser:
	@bash scripts/apt-ensure.sh chromium:chromium

# Refresh the vendored htmx from the npm registry (run by hand; the result is committed).
vendor-htmx:
	cd $$(mktemp -d) && npm pack --silent htmx.org@2 && tar xzf htmx.org-*.tgz && \
	  cp package/dist/htmx.min.js package/LICENSE $(CURDIR)/static/vendor/htmx/

# Refresh the vendored uPlot, the monitoring charts' library, from the npm registry (by hand; the
# result is committed).
vendor-uplot:
	cd $$(mktemp -d) && npm pack --silent uplot@1 && tar xzf uplot-*.tgz && \
	  cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE \
	  $(CURDIR)/static/vendor/uplot/

# Refresh axe-core, the accessibility checker the browser tests run in each page (tests only: never
# served), from the npm registry (by hand; the result is committed).
vendor-axe:
	mkdir -p $(CURDIR)/tests/vendor/axe && cd $$(mktemp -d) && npm pack --silent axe-core@4 && \
	  tar xzf axe-core-*.tgz && cp package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt \
	  $(CURDIR)/tests/vendor/axe/ && sed -n 's/^  "version": "\(.*\)",/\1/p' package/package.json \
	  > $(CURDIR)/tests/vendor/axe/VERSION

# Collect translatable strings into each app's catalog (locale/ for templates/ and webapp/).
messages: $(STAMP)
	$(PY) manage.py makemessages -l vi --no-obsolete --ignore=.venv --ignore=var \
	  --ignore=localplatform --ignore=tests --ignore=bench --ignore=scripts

clean:
	rm -rf $(VENV) var
