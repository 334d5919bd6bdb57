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
SERVERS = {
    "prefect-server": "/api/health",
    "mlflow": "/health",
    "ui": "/_stcore/health",
    "prefect-worker": "/health",
}


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.fail("no docker-compose: `make system-deps` installs Debian's")
    command = ["docker-compose", "-f", str(DOCKER / "compose.yaml"), "--env-file", str(env_file)]
    # Only the env file's settings: a variable exported in this shell would override it.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run([*command, "config"], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def compose() -> dict:
    result = _compose_config(DOCKER / ".env.example")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _env_references(path: Path) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", path.read_text()))


def test_services_and_their_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "prefect-worker", "mlflow", "ui"}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name, path in SERVERS.items():
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{_container_port(services[name])}{path}'" in check, name


def _container_port(service: dict) -> int:
    if "ports" in service:
        [port] = service["ports"]
        return port["target"]
    return 8080  # the Prefect worker's health server (--with-healthcheck)


def test_every_dependency_waits_for_a_healthy_service(compose):
    services = compose["services"]
    for name, service in services.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, needed)
            assert "healthcheck" in services[needed], needed
    assert set(services["prefect-worker"]["depends_on"]) == {"postgres", "prefect-server", "mlflow"}


def test_servers_listen_on_all_interfaces_and_publish_their_ports(compose):
    services = compose["services"]
    assert "--host 0.0.0.0" in services["prefect-server"]["command"]
    assert "--host=0.0.0.0" in services["mlflow"]["command"]
    assert "--host 0.0.0.0" in services["ui"]["command"]
    published = {name: s["ports"][0]["published"] for name, s in services.items() if "ports" in s}
    assert published == {"prefect-server": 4200, "mlflow": 5000, "ui": 8501}


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
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
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
    }


def test_containers_set_every_variable_the_settings_name(compose, monkeypatch):
    names = _env_references(ROOT / "params.yaml")
    assert names == {"ETHOFLOW_TRACKING_URI", "ETHOFLOW_OPTUNA_STORAGE"}
    for name in ("prefect-worker", "ui"):
        environment = compose["services"][name]["environment"]
        assert names <= set(environment), name
        assert environment["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    for name in names:
        monkeypatch.setenv(name, compose["services"]["prefect-worker"]["environment"][name])
    settings = load_settings(ROOT / "params.yaml")
    assert settings.tracking_uri == "http://mlflow:5000"
    assert settings.optuna_storage_uri.endswith("@postgres:5432/optuna")


def test_outside_the_containers_the_settings_use_local_stores(monkeypatch):
    for name in _env_references(ROOT / "params.yaml"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ROOT / "params.yaml")
    assert settings.train.tracking_uri is None and settings.train.optuna_storage is None
    assert settings.tracking_uri.startswith("sqlite:///")
    assert settings.optuna_storage_uri.startswith("sqlite:///")


def test_a_missing_password_is_refused(tmp_path):
    env_file = tmp_path / ".env"
    lines = (DOCKER / ".env.example").read_text().splitlines()
    env_file.write_text("\n".join(x for x in lines if not x.startswith("POSTGRES_PASSWORD=")))
    result = _compose_config(env_file)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in docker/.env" in result.stderr


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
