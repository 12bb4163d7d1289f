# The two entry points: `make run` (app on embedded defaults) and `make test`. Both set up from scratch.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT    ?= 8501
# Loopback only unless told otherwise: `make run HOST=0.0.0.0` (then turn access control on, see README).
HOST    ?= 127.0.0.1
API_HOST ?= 127.0.0.1
API_PORT ?= 8000

.PHONY: run api lint test test-fast test-random screenshots bench bench-history setup setup-dev browser clean-data

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -q -r requirements-dev.txt
	touch $@

$(VENV)/.bench: requirements-bench.txt $(VENV)/.dev
	$(PIP) install -q -r requirements-bench.txt
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

# Debian's Chromium for the browser tests (never `playwright install`: no browser downloads here).
browser:
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

run: setup
	$(PY) -m streamlit run streamlit_app.py --server.address $(HOST) --server.port $(PORT)

# The REST API on the same embedded defaults (shares .data/ with a running dashboard). Beyond loopback
# (API_HOST=0.0.0.0) it needs API_KEYS.
api: setup
	$(PY) -m core.api --host $(API_HOST) --port $(API_PORT)

# Style, types and the import boundary first (pyproject.toml): a violation fails the build like a failing test.
lint: setup-dev
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

# Everything, as CI runs it: two workers (one per core), each with its own data folder, database, servers and
# browser, each running whole files in file order (pytest-randomly off: a failing file reruns alone as it ran).
test: lint browser
	EGLO_SCREENSHOTS=0 $(PY) -m pytest -p no:randomly -n 2 --dist loadfile

# The browser tests again, writing whole-page screenshots at 1600 and 390 px to screenshots/ (to look at).
screenshots: setup-dev browser
	$(PY) -m pytest -p no:randomly -n 2 --dist loadfile -m browser

# The inner loop: no browser, no extra processes or servers (about a minute).
test-fast: setup-dev
	$(PY) -m pytest -p no:randomly -m "not browser and not slow"

# Everything in a random order (the seed is printed: `make test-random ARGS=--randomly-seed=N` repeats an order).
test-random: lint browser
	$(PY) -m pytest $(ARGS)

bench: $(VENV)/.bench
	$(PY) -m bench.storage
	$(PY) -m bench.grid
	$(PY) -m bench.forecast
	$(PY) -m bench.forecast_simbench
	$(PY) -m bench.forecast_household
	$(PY) -m bench.similarity
	$(PY) -m bench.anomalies
	$(PY) -m bench.pages
	$(PY) -m bench.load
	$(PY) -m bench.api
	$(PY) -m bench.browser
	$(PY) -m bench.plan

# Seeds 10 000 and 100 000 runs (about 15 minutes the first time; the seeded data is kept in $$TMPDIR).
bench-history: $(VENV)/.bench
	$(PY) -m bench.history

clean-data:
	rm -rf .data
