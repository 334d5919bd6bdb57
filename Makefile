# Two entry points: `make demo` (set up + run the pipeline end to end) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MLFLOW_PORT ?= 5000
# The lab server's services on loopback (docker/README.md): SQLite under runs/ and mlflow/ by
# default, PostgreSQL when given a URL, e.g. make mlflow-server MLFLOW_BACKEND=postgresql://…/mlflow
PREFECT_PORT ?= 4200
PREFECT_HOME ?= $(CURDIR)/runs/prefect
PREFECT_DATABASE ?=
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api
MLFLOW_BACKEND ?= sqlite:///mlflow/mlflow.db
MLFLOW_ARTIFACTS ?= $(CURDIR)/mlflow/artifacts

.PHONY: setup demo test test-servers lint repro mlflow-ui browser-deps postgres-deps clean
.PHONY: prefect-server prefect-worker mlflow-server compose-deps

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

# Prefect's server (UI and API) on PREFECT_DATABASE, a postgresql+asyncpg:// URL, or SQLite in
# PREFECT_HOME. Commands and flows use it when PREFECT_API_URL is exported.
prefect-server: setup
	mkdir -p $(PREFECT_HOME)
	PREFECT_HOME=$(PREFECT_HOME) PREFECT_SERVER_ANALYTICS_ENABLED=false \
		$(if $(PREFECT_DATABASE),PREFECT_API_DATABASE_CONNECTION_URL='$(PREFECT_DATABASE)') \
		$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

# A worker on the process work pool `ethoflow`, running prefect.yaml's deployments (nightly label,
# on-demand retrain) from this folder against the server at PREFECT_API_URL.
prefect-worker: setup
	export PREFECT_HOME=$(PREFECT_HOME) PREFECT_API_URL=$(PREFECT_API_URL) ETHOFLOW_HOME=$(CURDIR); \
	{ $(BIN)/prefect work-pool inspect ethoflow >/dev/null 2>&1 || \
		$(BIN)/prefect work-pool create ethoflow --type process; } && \
	$(BIN)/prefect --no-prompt deploy --all && \
	exec $(BIN)/prefect worker start --pool ethoflow --type process

# MLflow's tracking server, serving its artifacts; params.yaml then names it:
# train.tracking_uri: http://127.0.0.1:$(MLFLOW_PORT)
mlflow-server: setup
	$(BIN)/mlflow server --backend-store-uri '$(MLFLOW_BACKEND)' \
		--artifacts-destination $(MLFLOW_ARTIFACTS) --serve-artifacts \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

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

# tests/test_docker.py validates docker/compose.yaml with Debian's docker-compose (no daemon needed).
compose-deps:
	@command -v docker-compose >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q docker-compose; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser-deps postgres-deps compose-deps
	$(BIN)/python -m pytest

# Retrain and label on real Prefect and MLflow servers (pytest marker `servers`, left out of
# `make test`: minutes of training; docs/servers.md).
test-servers: setup
	$(BIN)/python -m pytest -m servers tests/test_servers.py

clean:
	rm -rf $(VENV) runs .dvcstore mlflow/mlflow.db mlflow/artifacts reports
