# Two entry points: `make demo` (set up + run the pipeline end to end) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION ?= 0.13.9
PIP_VERSION ?= 26.3
SETUPTOOLS_VERSION ?= 80.9.0
MLFLOW_PORT ?= 5000
# The lab server's services on loopback (docker/README.md): SQLite under runs/ and mlflow/ by
# default, PostgreSQL when given a URL, e.g. make mlflow-server MLFLOW_BACKEND=postgresql://…/mlflow
# Prefect under /prefect and MLflow under /mlflow, as behind the lab's proxy (docker/Caddyfile).
PREFECT_PORT ?= 4200
PREFECT_HOME ?= $(CURDIR)/runs/prefect
PREFECT_DATABASE ?=
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/prefect/api
# Where the Prefect UI in a browser finds the API: behind make lab-proxy, https://LAB_SITE/prefect/api.
PREFECT_UI_API_URL ?= $(PREFECT_API_URL)
MLFLOW_BACKEND ?= sqlite:///mlflow/mlflow.db
MLFLOW_ARTIFACTS ?= $(CURDIR)/mlflow/artifacts
# The door on this PC (make lab-proxy): its address, TLS ("internal" or "<cert> <key>"), users.
LAB_SITE ?= localhost:8443
LAB_TLS ?= internal
LAB_USERS ?= $(CURDIR)/docker/lab-users
UI_PORT ?= 8501

.PHONY: setup demo test test-fast test-servers lint audit repro mlflow-ui system-deps clean
.PHONY: prefect-server prefect-worker mlflow-server lab-proxy docs docs-serve

setup: $(VENV)/.installed

# uv installs the pinned set in ~20 s where pip took ~2 min (parallel downloads, no per-wheel
# byte-compiling); the versions are the same, pyproject.toml's pins. The pip and setuptools a
# Python 3.11 venv starts with (23.2, 65.5) have published advisories: the audit covers the venv.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION) setuptools==$(SETUPTOOLS_VERSION) \
		uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev,docs]"
	touch $@

demo: setup
	$(BIN)/ethoflow demo

repro: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

# The MLflow UI on the embedded store (mlflow/mlflow.db, artifacts in mlflow/artifacts).
mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

# Prefect's server (UI and API) on PREFECT_DATABASE, a postgresql+asyncpg:// URL, or SQLite in
# PREFECT_HOME. Commands and flows use it when PREFECT_API_URL is exported. With
# PREFECT_SERVER_API_AUTH_STRING in the environment it asks every client for it (clients:
# PREFECT_API_AUTH_STRING).
prefect-server: setup
	mkdir -p $(PREFECT_HOME)
	PREFECT_HOME=$(PREFECT_HOME) PREFECT_SERVER_ANALYTICS_ENABLED=false \
		PREFECT_SERVER_API_BASE_PATH=/prefect/api PREFECT_UI_SERVE_BASE=/prefect \
		PREFECT_UI_API_URL='$(PREFECT_UI_API_URL)' \
		$(if $(PREFECT_DATABASE),PREFECT_API_DATABASE_CONNECTION_URL='$(PREFECT_DATABASE)') \
		$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

# A worker on the process work pool `ethoflow`, running the deployments `ethoflow deploy` builds
# from params.yaml (nightly label on label.cron, on-demand retrain) against the server at
# PREFECT_API_URL.
prefect-worker: setup
	export PREFECT_HOME=$(PREFECT_HOME) PREFECT_API_URL=$(PREFECT_API_URL); \
	{ $(BIN)/prefect work-pool inspect ethoflow >/dev/null 2>&1 || \
		$(BIN)/prefect work-pool create ethoflow --type process; } && \
	$(BIN)/ethoflow deploy --pool ethoflow --params params.yaml && \
	exec $(BIN)/prefect worker start --pool ethoflow --type process

# MLflow's tracking server, serving its artifacts; params.yaml then names it:
# train.tracking_uri: http://127.0.0.1:$(MLFLOW_PORT)/mlflow. Without MLflow's GenAI job runners
# (eight processes ethoflow never uses) and with one web worker, it leaves the cores to training.
# With MLFLOW_AUTH_ADMIN_PASSWORD in the environment (and MLFLOW_FLASK_SERVER_SECRET_KEY), it is
# MLflow's basic-auth app: users in mlflow/auth.db, permissions of docker/mlflow-auth.ini.
mlflow-server: setup
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false MLFLOW_AUTH_CONFIG_PATH=docker/mlflow-auth.ini \
		$(BIN)/mlflow server $${MLFLOW_AUTH_ADMIN_PASSWORD:+--app-name basic-auth} \
		--static-prefix /mlflow --backend-store-uri '$(MLFLOW_BACKEND)' \
		--artifacts-destination $(MLFLOW_ARTIFACTS) --serve-artifacts --workers 1 \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

# The lab's door on this PC (docker/Caddyfile, Debian's caddy) in front of make prefect-server,
# make mlflow-server and `ethoflow ui` on loopback: https://LAB_SITE. Needs PREFECT_AUTH_STRING
# (the Prefect server's) and ETHOFLOW_MAINTAINERS in the environment, the users in LAB_USERS.
lab-proxy:
	@[ -n "$$PREFECT_AUTH_STRING" ] && [ -n "$$ETHOFLOW_MAINTAINERS" ] && [ -f "$(LAB_USERS)" ] || \
		{ echo "lab-proxy: export PREFECT_AUTH_STRING and ETHOFLOW_MAINTAINERS; write $(LAB_USERS)"; exit 1; }
	ETHOFLOW_SITE='$(LAB_SITE)' ETHOFLOW_TLS='$(LAB_TLS)' ETHOFLOW_USERS_FILE='$(LAB_USERS)' \
		ETHOFLOW_PREFECT_AUTH=$$(printf %s "$$PREFECT_AUTH_STRING" | base64 -w0) \
		ETHOFLOW_UI_UPSTREAM=127.0.0.1:$(UI_PORT) \
		ETHOFLOW_PREFECT_UPSTREAM=127.0.0.1:$(PREFECT_PORT) \
		ETHOFLOW_MLFLOW_UPSTREAM=127.0.0.1:$(MLFLOW_PORT) \
		caddy run --config docker/Caddyfile --adapter caddyfile

# Debian packages the tests drive, installed in one apt-get run when missing: chromium for the
# browser tests (through Playwright, pinned in the dev extras: `playwright install` would download
# a browser), postgresql for tests/e2e/test_servers.py's throwaway cluster, docker-compose to
# validate docker/compose.yaml (tests/integration/test_docker.py; no Docker engine needed), caddy
# for the lab's door (tests/e2e/test_lab_security.py, make lab-proxy).
system-deps:
	@missing=""; \
	command -v caddy >/dev/null || missing="$$missing caddy"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	[ -z "$$missing" ] || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Known vulnerabilities in the venv's packages (pip-audit, advisories from PyPI), less those
# audit-allowlist.toml accepts with a reason until a date (tools/audit.py). Fails when any
# package's advisories cannot be read. `make test` runs it with AUDIT_UNREACHABLE=warn: where no
# advisory can be read at all (a network that reaches PyPI's package index but not its JSON API,
# as on this project's CI machines) it warns that nothing was audited instead of failing every run;
# a vulnerability found, a partial audit or a bad allow-list entry still fail it.
AUDIT_UNREACHABLE ?= fail
audit: setup
	$(BIN)/python tools/audit.py --unreachable $(AUDIT_UNREACHABLE)

# Every tier (tests/unit, tests/integration, tests/e2e: real servers and the browser included).
test: lint system-deps
	$(MKDOCS) build --strict --quiet
	$(MAKE) --no-print-directory audit AUDIT_UNREACHABLE=warn
	$(BIN)/python -m pytest

# The unit and integration tiers without the tests marked slow: under 3 minutes, no system
# packages.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow" tests/unit tests/integration

# Only the retraining and labelling on real Prefect and MLflow servers (marker `servers`;
# docs/servers.md).
test-servers: setup system-deps
	$(BIN)/python -m pytest -m servers tests/e2e/test_servers.py

# The documentation site (mkdocs.yml) into site/, warnings as errors: a broken link or anchor, a
# page left out of the navigation, a reference page that fails to generate. `make test` runs it.
# Without the banner Material and ProperDocs print about MkDocs 2 on every build.
MKDOCS := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs
docs: setup
	$(MKDOCS) build --strict

# The site at http://127.0.0.1:8000, rebuilt as pages change.
docs-serve: setup
	$(MKDOCS) serve --dev-addr 127.0.0.1:8000

clean:
	rm -rf $(VENV) runs .dvcstore mlflow/mlflow.db mlflow/artifacts reports
