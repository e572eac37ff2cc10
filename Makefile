# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install messages pdf-libraries lint bench clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP) messages pdf-libraries

# WeasyPrint (the PDF of a case, referrals/printing.py) draws with Debian's pango and harfbuzz and needs a font.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
pdf-libraries:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(PDF_PACKAGES) >/dev/null)

# Compiled message catalogs are built here, never committed (nothing to do while there is no .po file:
# compilemessages refuses to run without a locale folder, and git keeps no empty folder).
messages: $(STAMP)
	@if find . -path ./.venv -prune -o -path ./node_modules -prune -o -name '*.po' -print -quit | grep -q .; then \
		command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null); \
		DEBUG=true $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v0; \
	fi

run: install
	@DEBUG=$${DEBUG:-true} ./bin/run

# One pytest worker per core (PYTEST_WORKERS=0 runs in one process). worksteal gives each worker a
# contiguous half and lets an idle one take from the other's end: the permission matrix (half the
# suite's time) is shared instead of keeping one worker busy alone; a module-scoped world is built once
# per worker that runs the module's tests.
#
# Each worker starts faster: the plugins the suite uses are loaded by name (PYTEST_DISABLE_PLUGIN_AUTOLOAD),
# because pytest rewrites the asserts of every module of an auto-loaded plugin's package — faker (through
# factory_boy), hypothesis, schemathesis: hundreds of modules — and the bytecode of the run is kept
# (PYTHONDONTWRITEBYTECODE cleared; __pycache__ is ignored by git), so a later run reads it instead of
# compiling the apps and the rewritten tests again. Measured for collecting the suite: 9.3 s before, 6.9 s
# on a fresh checkout, 2.7 s with the bytecode kept. The schemathesis, browser and integration runs of
# .ci/run load their plugins as before.
PYTEST_WORKERS ?= auto
TEST_PLUGINS := -p pytest_django.plugin -p xdist.plugin -p pytest_env.plugin -p time_machine
test: install
	PYTHONDONTWRITEBYTECODE= PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 $(PY) -m pytest $(TEST_PLUGINS) \
		-m "not integration and not browser and not schemathesis" -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	DEBUG=true $(PY) -m benchmarks.run
	@case "$${DATABASE_URL:-}" in postgres*) DEBUG=true $(PY) -m benchmarks.reference && DEBUG=true $(PY) -m benchmarks.submission ;; \
		*) echo "benchmarks.reference (pages and dashboards) and .submission need DATABASE_URL=postgres://...: skipped" ;; esac

clean:
	rm -rf var
