# The two commands of the README. Both build ./.venv from scratch when needed, so a fresh clone
# needs nothing but Python >= 3.11 (the tests also want Debian's chromium and gammu: see .ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench fuzz deb clean

# Runs the daemon on the embedded default: two simulated modems, data under ./var, console on
# http://127.0.0.1:8080/.
demo: $(VENV)/.demo
	$(BIN)/gatewayd run --simulate

# The lint and type gates (mypy --strict over gatewayd and console, configured in pyproject.toml),
# then the whole suite: unit, integration (pty + simulator + SQLite + HTTP) and browser tests.
test: $(VENV)/.test
	$(BIN)/ruff check gatewayd console tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Every benchmark in one table (see bench/README or `bench/run --help`).
bench: $(VENV)/.test
	$(BIN)/python -m bench

# The long fuzz run, left out of `make test`: every fuzzer at 5,000 examples and schemathesis for
# 15 minutes (100 examples per operation) against a live daemon, conformance checks included.
fuzz: $(VENV)/.test
	GATEWAYD_FUZZ=long $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider

# The Debian package dist/gatewayd_<version>_<arch>.deb for the machine it is built on (needs
# dpkg-dev and python3-venv; see packaging/deb/build).
deb:
	packaging/deb/build

$(VENV)/.venv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	touch $@

$(VENV)/.demo: $(VENV)/.venv pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.venv pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.demo

clean:
	rm -rf $(VENV) build dist *.egg-info
