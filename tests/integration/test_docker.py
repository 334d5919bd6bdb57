"""The lab server's files (docker/): the compose file as Compose reads it, the image's sources and
extras, and the settings the containers load (the project's params.yaml). No Docker engine needed:
`docker-compose config` only parses and interpolates (`make system-deps` installs Debian's
docker-compose)."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from ethoflow.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
HOME = "/srv/ethoflow"  # ETHOFLOW_HOME in the image
# Each server's health check: its port in the container and the path.
SERVERS = {
    "prefect-server": (4200, "/prefect/api/health"),
    "mlflow": (5000, "/mlflow/health"),
    "ui": (8501, "/_stcore/health"),
    "prefect-worker": (8080, "/health"),  # the worker's health server (--with-healthcheck)
}
# The passwords and keys docker/.env.example lists without a value: a lab sets its own.
SECRETS = {
    "POSTGRES_PASSWORD": "pg0secret",
    "PREFECT_AUTH_STRING": "ethoflow:prefect-secret",
    "MLFLOW_PIPELINE_PASSWORD": "mlflow-secret-12",
    "MLFLOW_SECRET_KEY": "signing-secret",
    "ETHOFLOW_MAINTAINERS": "maya",
}


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.fail("no docker-compose: `make system-deps` installs Debian's")
    command = ["docker-compose", "-f", str(DOCKER / "compose.yaml"), "--env-file", str(env_file)]
    # Only the env file's settings: a variable exported in this shell would override it.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run([*command, "config"], capture_output=True, text=True, env=env)


def _lab_env_file(folder: Path, leave_out: str = "") -> Path:
    """docker/.env.example with SECRETS filled in, as a lab's docker/.env (but ``leave_out``)."""
    lines = [
        f"{name}={SECRETS[name]}" if (name := line.partition("=")[0]) in SECRETS else line
        for line in (DOCKER / ".env.example").read_text().splitlines()
    ]
    env_file = folder / ".env"
    env_file.write_text("\n".join(x for x in lines if not x.startswith(f"{leave_out}=")) + "\n")
    return env_file


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    result = _compose_config(_lab_env_file(tmp_path_factory.mktemp("env")))
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _env_references(path: Path) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", path.read_text()))


def test_services_and_their_health_checks(compose):
    services = compose["services"]
    assert set(services) == {
        "proxy",
        "postgres",
        "prefect-server",
        "prefect-worker",
        "mlflow",
        "ui",
    }
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name, (port, path) in SERVERS.items():
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}{path}'" in check, name


def test_every_dependency_waits_for_a_healthy_service(compose):
    services = compose["services"]
    for name, service in services.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, needed)
            assert "healthcheck" in services[needed], needed
    assert set(services["prefect-worker"]["depends_on"]) == {"postgres", "prefect-server", "mlflow"}
    assert set(services["proxy"]["depends_on"]) == {"prefect-server", "mlflow", "ui"}


def test_only_the_proxy_publishes_a_port(compose):
    services = compose["services"]
    assert "--host 0.0.0.0" in services["prefect-server"]["command"]
    assert "--host=0.0.0.0" in services["mlflow"]["command"]
    assert "--host 0.0.0.0" in services["ui"]["command"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"proxy": [{"published": 443, "target": 443}]}


def test_the_proxy_routes_to_each_server_on_its_port_and_path(compose):
    proxy = compose["services"]["proxy"]
    environment = proxy["environment"]
    upstreams = {
        name: environment[f"ETHOFLOW_{key}_UPSTREAM"]
        for name, key in (("ui", "UI"), ("prefect-server", "PREFECT"), ("mlflow", "MLFLOW"))
    }
    assert upstreams == {name: f"{name}:{SERVERS[name][0]}" for name in upstreams}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in [
        v.replace(str(DOCKER), ".") for v in proxy["volumes"]
    ]
    assert environment["ETHOFLOW_USERS_FILE"] == "/run/secrets/lab_users"
    assert compose["secrets"]["lab_users"]["file"] == str(DOCKER / "lab-users")
    caddyfile = (DOCKER / "Caddyfile").read_text()
    assert set(re.findall(r"\{\$(ETHOFLOW_\w+)\}", caddyfile)) <= set(environment) | {
        "ETHOFLOW_PREFECT_AUTH"  # made from PREFECT_AUTH_STRING when the proxy starts
    }
    prefect = compose["services"]["prefect-server"]["environment"]
    assert prefect["PREFECT_SERVER_API_BASE_PATH"] == "/prefect/api"
    assert prefect["PREFECT_UI_SERVE_BASE"] == "/prefect"
    assert prefect["PREFECT_UI_API_URL"] == "https://localhost:443/prefect/api"
    assert "--static-prefix=/mlflow" in compose["services"]["mlflow"]["command"]


def test_every_server_asks_for_credentials(compose):
    services = compose["services"]
    prefect = services["prefect-server"]["environment"]
    assert prefect["PREFECT_SERVER_API_AUTH_STRING"] == SECRETS["PREFECT_AUTH_STRING"]
    mlflow = services["mlflow"]
    assert "--app-name=basic-auth" in mlflow["command"]
    assert (
        mlflow["environment"]["MLFLOW_AUTH_ADMIN_PASSWORD"] == SECRETS["MLFLOW_PIPELINE_PASSWORD"]
    )
    config = mlflow["environment"]["MLFLOW_AUTH_CONFIG_PATH"]
    assert f"{DOCKER / 'mlflow-auth.ini'}:{config}:ro" in mlflow["volumes"]
    for name in ("prefect-worker", "ui"):
        environment = services[name]["environment"]
        assert environment["PREFECT_API_AUTH_STRING"] == SECRETS["PREFECT_AUTH_STRING"]
        assert (
            environment["MLFLOW_TRACKING_USERNAME"]
            == mlflow["environment"]["MLFLOW_AUTH_ADMIN_USERNAME"]
        )
        assert environment["MLFLOW_TRACKING_PASSWORD"] == SECRETS["MLFLOW_PIPELINE_PASSWORD"]
    # The web UI lets the proxy's maintainers alone start a review round.
    assert services["ui"]["environment"]["ETHOFLOW_MAINTAINERS"] == "maya"
    assert services["proxy"]["environment"]["ETHOFLOW_MAINTAINERS"] == "maya"


def test_passwords_come_from_the_env_file_only():
    """docker/.env.example names every secret with no value; params.yaml names none."""
    example = dict(
        line.split("=", 1)
        for line in (DOCKER / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {name: example[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")
    params = (ROOT / "params.yaml").read_text()
    assert not re.search(r"password|secret|auth_string|token", params, re.IGNORECASE)


def test_one_postgres_holds_a_database_per_service(compose):
    services = compose["services"]
    created = re.findall(r"CREATE DATABASE (\w+);", (DOCKER / "postgres-init.sql").read_text())
    mlflow_backend = next(
        arg.split("=", 1)[1]
        for arg in services["mlflow"]["command"]
        if arg.startswith("--backend-store-uri=")
    )
    urls = {
        "prefect": services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"],
        "mlflow": mlflow_backend,
        "optuna": services["prefect-worker"]["environment"]["ETHOFLOW_OPTUNA_STORAGE"],
    }
    assert sorted(created) == sorted(urls)
    password = SECRETS["POSTGRES_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for database, url in urls.items():
        parsed = urlparse(url)
        assert parsed.scheme.startswith("postgresql"), url
        assert (parsed.hostname, parsed.port, parsed.path) == ("postgres", 5432, f"/{database}")
        assert parsed.password == password
    assert urls["prefect"].startswith("postgresql+asyncpg://")  # Prefect's server is async


def test_mlflow_serves_its_artifacts_from_a_volume(compose):
    mlflow = compose["services"]["mlflow"]
    assert "--serve-artifacts" in mlflow["command"]
    destination = next(
        arg.split("=", 1)[1]
        for arg in mlflow["command"]
        if arg.startswith("--artifacts-destination=")
    )
    assert f"mlflow-artifacts:{destination}:rw" in mlflow["volumes"]


def test_the_pipeline_containers_share_the_data_volumes_where_params_puts_them(compose):
    """Worker and UI see the same data; the inbox and outbox are volumes of their own."""
    paths = yaml.safe_load((ROOT / "params.yaml").read_text())["paths"]
    expected = {
        f"data:{HOME}/data:rw",
        f"inbox:{HOME}/{paths['inbox']}:rw",
        f"outbox:{HOME}/{paths['outbox']}:rw",
        f"dvc:{HOME}/.dvc:rw",
        f"dvc-remote:{HOME}/dvcstore:rw",
    }
    for name in ("prefect-worker", "ui"):
        assert set(compose["services"][name]["volumes"]) == expected, name
    assert paths["raw"].startswith("data/") and paths["features"].startswith("data/")
    assert set(compose["volumes"]) == {
        "postgres",
        "data",
        "inbox",
        "outbox",
        "dvc",
        "dvc-remote",
        "mlflow-artifacts",
        "mlflow-users",
        "caddy",
    }


def test_containers_set_every_variable_the_settings_name(compose, monkeypatch):
    names = _env_references(ROOT / "params.yaml")
    assert names == {"ETHOFLOW_TRACKING_URI", "ETHOFLOW_OPTUNA_STORAGE"}
    for name in ("prefect-worker", "ui"):
        environment = compose["services"][name]["environment"]
        assert names <= set(environment), name
        assert environment["PREFECT_API_URL"] == "http://prefect-server:4200/prefect/api"
    for name in names:
        monkeypatch.setenv(name, compose["services"]["prefect-worker"]["environment"][name])
    settings = load_settings(ROOT / "params.yaml")
    assert settings.tracking_uri == "http://mlflow:5000/mlflow"
    assert settings.optuna_storage_uri.endswith("@postgres:5432/optuna")


def test_outside_the_containers_the_settings_use_local_stores(monkeypatch):
    for name in _env_references(ROOT / "params.yaml"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ROOT / "params.yaml")
    assert settings.train.tracking_uri is None and settings.train.optuna_storage is None
    assert settings.tracking_uri.startswith("sqlite:///")
    assert settings.optuna_storage_uri.startswith("sqlite:///")


@pytest.mark.parametrize(
    "name", ["POSTGRES_PASSWORD", "PREFECT_AUTH_STRING", "MLFLOW_PIPELINE_PASSWORD"]
)
def test_a_missing_password_is_refused(tmp_path, name):
    result = _compose_config(_lab_env_file(tmp_path, leave_out=name))
    assert result.returncode != 0
    assert f"set {name} in docker/.env" in result.stderr


def test_worker_runs_the_deployments_it_registers_on_its_pool(compose):
    worker = compose["services"]["prefect-worker"]
    script = worker["command"][-1]
    [pool] = set(re.findall(r"prefect worker start --pool (\S+)", script))
    assert f"prefect work-pool create {pool} --type process" in script
    assert f"ethoflow deploy --pool {pool}" in script


def _dockerfile_instructions(name: str) -> list[str]:
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(f"{name} ")]


def test_dockerfile_installs_extras_that_pyproject_defines():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    [default] = [
        arg.split("=", 1)[1] for arg in _dockerfile_instructions("ARG") if "EXTRAS=" in arg
    ]
    assert set(default.split(",")) <= set(extras)
    assert "server" in default.split(",")
    assert any('pip install ".[${EXTRAS}]"' in run for run in _dockerfile_instructions("RUN"))


def test_dockerfile_copies_only_paths_that_exist_and_are_not_ignored():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    copies = _dockerfile_instructions("COPY")
    assert copies
    for copy in copies:
        sources = [part for part in copy.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") not in ignored, source
    params = next(c for c in copies if c.endswith(" params.yaml"))
    assert params.split()[-2] == "params.yaml"  # the project's one settings file
