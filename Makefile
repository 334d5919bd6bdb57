# Two entry points: `make demo` (set up + run the pipeline end to end) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MLFLOW_PORT ?= 5000

.PHONY: setup demo test lint repro mlflow-ui browser-deps postgres-deps clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/ethoflow demo

repro: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

# The MLflow UI on the embedded store (mlflow/mlflow.db, artifacts in mlflow/artifacts).
mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

# The browser tests (tests/browser) drive Debian's chromium through Playwright, which is pinned in
# the dev extras and pointed at /usr/bin/chromium: `playwright install` would download a browser.
browser-deps:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# tests/test_servers.py runs MLflow and Optuna on a throwaway cluster of Debian's PostgreSQL.
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser-deps postgres-deps
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) runs .dvcstore mlflow/mlflow.db mlflow/artifacts reports
