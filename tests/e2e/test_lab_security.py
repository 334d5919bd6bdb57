"""The lab server's one door on loopback: real Caddy (docker/Caddyfile), a real ``mlflow server
--app-name basic-auth``, a real ``prefect server`` with its auth string and the real web UI.

Who may do what (docs/maintainers/lab-server.md): without credentials nothing answers; a
researcher reads the registry and reaches the web UI but may not move an alias, delete a version
or start a retrain; a maintainer may; ``ethoflow deploy`` and a worker reach Prefect with the
pipeline's own credential, on the inside and through the door. At the end no password is in any
log or file the servers wrote, nor in any MLflow run.

Needs Debian's caddy (``make system-deps``); every process started here is stopped in teardown.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helpers.processes import child_env, free_port, start, stop, wait_healthy, wait_until

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "docker" / "Caddyfile"
MLFLOW_AUTH_CONFIG = ROOT / "docker" / "mlflow-auth.ini"
MODEL = "ethoflow-grooming"
POOL = "ethoflow"
# A flow run created here waits until then: no worker starts a retrain during the test.
FAR_FUTURE = "2100-01-01T00:00:00Z"

if shutil.which("caddy") is None:
    pytest.skip("no caddy: `make system-deps` installs Debian's", allow_module_level=True)


# --- the lab -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    root: Path
    door: str  # https://127.0.0.1:PORT, Caddy
    ca: Path  # Caddy's internal CA: the door's certificate checks against it
    mlflow: str  # http://127.0.0.1:PORT/mlflow, inside
    prefect_api: str  # http://127.0.0.1:PORT/prefect/api, inside
    pipeline: tuple[str, str]  # MLflow's admin: the worker's and the deployments' MLflow user
    prefect_auth: str  # PREFECT_SERVER_API_AUTH_STRING
    researcher: tuple[str, str]
    maintainer: tuple[str, str]

    def passwords(self) -> list[str]:
        prefect_password = self.prefect_auth.partition(":")[2]
        return [self.pipeline[1], prefect_password, self.researcher[1], self.maintainer[1]]

    def through_door(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        tls = ssl.create_default_context(cafile=self.ca)
        return httpx.Client(base_url=self.door, verify=tls, auth=auth, timeout=30)


def password() -> str:
    return secrets.token_urlsafe(18)  # MLflow wants at least 12 characters


def caddy_hash(plaintext: str) -> str:
    done = subprocess.run(
        ["caddy", "hash-password", "--plaintext", plaintext],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def mlflow_user(lab_mlflow: str, admin: tuple[str, str], user: tuple[str, str], is_admin: bool):
    """Create ``user`` as MLflow's admin, as docs/maintainers/lab-server.md shows."""
    api = f"{lab_mlflow}/api/2.0/mlflow/users"
    username, secret = user
    created = httpx.post(
        f"{api}/create", json={"username": username, "password": secret}, auth=admin
    )
    assert created.status_code == 200, created.text
    if is_admin:
        made = httpx.patch(
            f"{api}/update-admin", json={"username": username, "is_admin": True}, auth=admin
        )
        assert made.status_code == 200, made.text


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    ports = {name: free_port() for name in ("door", "mlflow", "prefect", "ui")}
    door = f"https://127.0.0.1:{ports['door']}"
    researcher, maintainer = ("rita", password()), ("maya", password())
    pipeline, prefect_auth = ("ethoflow", password()), f"ethoflow:{password()}"
    users = root / "caddy-users"
    users.write_text("".join(f"{u} {caddy_hash(p)}\n" for u, p in (researcher, maintainer)))
    (root / "mlflow").mkdir()  # mlflow-auth.ini's users store: mlflow/auth.db

    mlflow_env = child_env(
        MLFLOW_AUTH_CONFIG_PATH=str(MLFLOW_AUTH_CONFIG),
        MLFLOW_AUTH_ADMIN_USERNAME=pipeline[0],
        MLFLOW_AUTH_ADMIN_PASSWORD=pipeline[1],
        MLFLOW_FLASK_SERVER_SECRET_KEY=password(),
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
    )
    mlflow_command = [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth"]
    mlflow_command += ["--static-prefix", "/mlflow", "--workers", "1"]
    mlflow_command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"]
    mlflow_command += ["--artifacts-destination", str(root / "mlartifacts"), "--serve-artifacts"]
    mlflow_command += ["--host", "127.0.0.1", "--port", str(ports["mlflow"])]
    prefect_env = child_env(
        PREFECT_HOME=str(root / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_AUTH_STRING=prefect_auth,
        PREFECT_SERVER_API_BASE_PATH="/prefect/api",
        PREFECT_UI_SERVE_BASE="/prefect",
        PREFECT_UI_API_URL=f"{door}/prefect/api",
    )
    prefect_command = [sys.executable, "-m", "prefect", "server", "start"]
    prefect_command += ["--host", "127.0.0.1", "--port", str(ports["prefect"])]
    ui_command = [sys.executable, "-m", "ethoflow.cli", "ui", "--params", str(ROOT / "params.yaml")]
    ui_command += ["--host", "127.0.0.1", "--port", str(ports["ui"])]
    caddy_env = child_env(
        XDG_DATA_HOME=str(root / "caddy-data"),  # its CA and certificates
        XDG_CONFIG_HOME=str(root / "caddy-config"),
        ETHOFLOW_SITE=door,
        ETHOFLOW_TLS="internal",
        ETHOFLOW_USERS_FILE=str(users),
        ETHOFLOW_MAINTAINERS=maintainer[0],
        ETHOFLOW_PREFECT_AUTH=base64.b64encode(prefect_auth.encode()).decode(),
        ETHOFLOW_UI_UPSTREAM=f"127.0.0.1:{ports['ui']}",
        ETHOFLOW_PREFECT_UPSTREAM=f"127.0.0.1:{ports['prefect']}",
        ETHOFLOW_MLFLOW_UPSTREAM=f"127.0.0.1:{ports['mlflow']}",
    )
    caddy_command = ["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]

    logs = {name: root / f"{name}.log" for name in ("mlflow", "prefect", "ui", "caddy")}
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["mlflow"] = start(mlflow_command, logs["mlflow"], mlflow_env, root)
        processes["prefect"] = start(prefect_command, logs["prefect"], prefect_env, root)
        processes["ui"] = start(ui_command, logs["ui"], child_env(), root)
        processes["caddy"] = start(caddy_command, logs["caddy"], caddy_env, root)
        mlflow = f"http://127.0.0.1:{ports['mlflow']}/mlflow"
        prefect_api = f"http://127.0.0.1:{ports['prefect']}/prefect/api"
        health = {
            "mlflow": f"{mlflow}/health",
            "prefect": f"{prefect_api}/health",
            "ui": f"http://127.0.0.1:{ports['ui']}/_stcore/health",
        }
        for name, url in health.items():
            wait_healthy(url, processes[name], logs[name])
        ca = root / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        wait_until(ca.is_file, processes["caddy"], logs["caddy"], "Caddy's CA")
        wait_until(
            lambda: (
                httpx.get(door, verify=ssl.create_default_context(cafile=ca)).status_code == 401
            ),
            processes["caddy"],
            logs["caddy"],
            "the door",
        )
        for user, is_admin in ((researcher, False), (maintainer, True)):
            mlflow_user(mlflow, pipeline, user, is_admin)
        yield Lab(
            root, door, ca, mlflow, prefect_api, pipeline, prefect_auth, researcher, maintainer
        )
    finally:
        for process in processes.values():
            stop(process)


@pytest.fixture(scope="module")
def deployments(lab) -> dict[str, str]:
    """``ethoflow deploy`` on the inside, as the compose file's worker runs it: the nightly label
    and the on-demand retrain deployments, by the pipeline's Prefect credential."""
    env = child_env(
        PREFECT_HOME=str(lab.root / "client-home"),
        PREFECT_API_URL=lab.prefect_api,
        PREFECT_API_AUTH_STRING=lab.prefect_auth,
    )
    create_pool = [sys.executable, "-m", "prefect", "work-pool", "create", POOL]
    deploy = [sys.executable, "-m", "ethoflow.cli", "deploy", "--pool", POOL]
    deploy += ["--params", str(ROOT / "params.yaml")]
    for command in (create_pool + ["--type", "process"], deploy):
        done = subprocess.run(command, env=env, cwd=lab.root, capture_output=True, text=True)
        (lab.root / "deploy.log").open("a").write(done.stdout + done.stderr)
        assert done.returncode == 0, done.stdout + done.stderr
    found = {}
    for name in ("retrain/on-demand", "label/nightly"):
        answer = httpx.get(
            f"{lab.prefect_api}/deployments/name/{name}", headers=prefect_header(lab.prefect_auth)
        )
        assert answer.status_code == 200, answer.text
        found[name] = answer.json()["id"]
    return found


def prefect_header(auth_string: str) -> dict[str, str]:
    """Prefect's Basic header: the auth string whole, base64-encoded."""
    return {"Authorization": "Basic " + base64.b64encode(auth_string.encode()).decode()}


@pytest.fixture
def version(lab) -> str:
    """A fresh version of the grooming model, registered by the pipeline's MLflow user."""
    api = f"{lab.mlflow}/api/2.0/mlflow"
    httpx.post(f"{api}/registered-models/create", json={"name": MODEL}, auth=lab.pipeline)
    run = httpx.post(f"{api}/runs/create", json={"experiment_id": "0"}, auth=lab.pipeline)
    assert run.status_code == 200, run.text
    info = run.json()["run"]["info"]
    source = {"source": f"{info['artifact_uri']}/model", "run_id": info["run_id"]}
    created = httpx.post(
        f"{api}/model-versions/create", json={"name": MODEL, **source}, auth=lab.pipeline
    )
    assert created.status_code == 200, created.text
    number = created.json()["model_version"]["version"]
    aliased = httpx.post(
        f"{api}/registered-models/alias",
        json={"name": MODEL, "alias": "champion", "version": number},
        auth=lab.pipeline,
    )
    assert aliased.status_code == 200, aliased.text
    return number


def set_alias(client: httpx.Client, version: str) -> httpx.Response:
    body = {"name": MODEL, "alias": "previous", "version": version}
    return client.post("/mlflow/api/2.0/mlflow/registered-models/alias", json=body)


def delete_version(client: httpx.Client, version: str) -> httpx.Response:
    return client.request(
        "DELETE",
        "/mlflow/api/2.0/mlflow/model-versions/delete",
        json={"name": MODEL, "version": version},
    )


def start_retrain(client: httpx.Client, deployment_id: str) -> httpx.Response:
    state = {"type": "SCHEDULED", "state_details": {"scheduled_time": FAR_FUTURE}}
    return client.post(
        f"/prefect/api/deployments/{deployment_id}/create_flow_run", json={"state": state}
    )


# --- who may do what -----------------------------------------------------------------------------


def test_without_credentials_every_route_is_refused(lab, version, deployments):
    retrain = deployments["retrain/on-demand"]
    routes = [
        ("GET", "/", None),
        ("GET", "/_stcore/health", None),
        ("GET", "/prefect/", None),
        ("GET", "/prefect/api/health", None),
        ("POST", "/prefect/api/flow_runs/filter", {}),
        ("POST", f"/prefect/api/deployments/{retrain}/create_flow_run", {}),
        ("GET", f"/mlflow/api/2.0/mlflow/registered-models/get?name={MODEL}", None),
        ("GET", f"/mlflow/ajax-api/2.0/mlflow/registered-models/get?name={MODEL}", None),
        ("POST", "/mlflow/api/2.0/mlflow/runs/search", {}),
        ("POST", "/mlflow/api/2.0/mlflow/users/create", {"username": "eve", "password": "x" * 12}),
    ]
    nobody, stranger = lab.through_door(), lab.through_door(("rita", "not-her-password"))
    for client in (nobody, stranger):
        for method, path, body in routes:
            answer = client.request(method, path, json=body)
            assert answer.status_code in (401, 403), (method, path, answer.status_code)
    assert set_alias(nobody, version).status_code == 401
    assert delete_version(nobody, version).status_code == 401
    assert start_retrain(nobody, retrain).status_code == 401


def test_a_researcher_reads_the_registry_and_reaches_the_web_ui(lab, version):
    researcher = lab.through_door(lab.researcher)
    model = researcher.get(f"/mlflow/api/2.0/mlflow/registered-models/get?name={MODEL}")
    assert model.status_code == 200, model.text
    aliases = {a["alias"]: a["version"] for a in model.json()["registered_model"]["aliases"]}
    assert aliases["champion"] == version
    page = researcher.get("/")
    assert page.status_code == 200 and "<title>Streamlit</title>" in page.text
    assert researcher.get("/_stcore/health").text == "ok"


def test_a_researcher_may_not_move_an_alias_delete_a_version_or_retrain(lab, version, deployments):
    researcher = lab.through_door(lab.researcher)
    assert set_alias(researcher, version).status_code == 403
    assert delete_version(researcher, version).status_code == 403
    answer = start_retrain(researcher, deployments["retrain/on-demand"])
    assert answer.status_code == 403 and answer.text == "Prefect is for maintainers."
    assert researcher.get("/prefect/").status_code == 403
    # The registry is as it was.
    pipeline = httpx.Client(auth=lab.pipeline)
    kept = pipeline.get(
        f"{lab.mlflow}/api/2.0/mlflow/registered-models/alias",
        params={"name": MODEL, "alias": "champion"},
    )
    assert kept.status_code == 200 and kept.json()["model_version"]["version"] == version


def test_a_maintainer_may(lab, version, deployments):
    maintainer = lab.through_door(lab.maintainer)
    assert set_alias(maintainer, version).status_code == 200
    run = start_retrain(maintainer, deployments["retrain/on-demand"])
    assert run.status_code == 201, run.text
    assert run.json()["deployment_id"] == deployments["retrain/on-demand"]
    # Prefect's UI too, with the API address the browser is to call: the door's.
    settings = maintainer.get("/prefect/ui-settings").json()
    assert settings["api_url"] == f"{lab.door}/prefect/api" and settings["auth"] == "BASIC"
    assert delete_version(maintainer, version).status_code == 200


def test_a_worker_on_another_machine_comes_through_the_door(lab, deployments):
    """The pipeline's Prefect credential, through TLS: the worker registers on the pool."""
    env = child_env(
        PREFECT_HOME=str(lab.root / "worker-home"),
        PREFECT_API_URL=f"{lab.door}/prefect/api",
        PREFECT_API_AUTH_STRING=lab.prefect_auth,
        PREFECT_API_SSL_CERT_FILE=str(lab.ca),
    )
    log = lab.root / "worker.log"
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
    command += ["--type", "process", "--name", "worker-b"]
    worker = start(command, log, env, lab.root)
    try:

        def registered() -> bool:
            found = httpx.post(
                f"{lab.prefect_api}/work_pools/{POOL}/workers/filter",
                headers=prefect_header(lab.prefect_auth),
                json={},
            )
            return "worker-b" in {w["name"] for w in found.json()}

        wait_until(registered, worker, log, "worker-b on the pool", timeout_s=90)
    finally:
        stop(worker)
    # Without the credential, the same command is turned away.
    refused = subprocess.run(
        [sys.executable, "-m", "prefect", "work-pool", "inspect", POOL],
        env=env | {"PREFECT_API_AUTH_STRING": "ethoflow:guess"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0


def test_no_password_is_written_anywhere(lab, version, deployments):
    """Every file the servers and clients wrote here (logs, databases, Caddy's state), and every
    MLflow run's params and tags, is free of the passwords (hashes are not passwords)."""
    runs = httpx.post(
        f"{lab.mlflow}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": ["0"], "max_results": 1000},
        auth=lab.pipeline,
    )
    assert runs.status_code == 200, runs.text
    outputs = [runs.text]
    files = [p for p in lab.root.rglob("*") if p.is_file()]
    assert {"caddy.log", "mlflow.log", "prefect.log", "ui.log"} <= {p.name for p in files}
    outputs += [p.read_bytes().decode("latin-1") for p in files]
    for secret in lab.passwords():
        leaks = [
            str(p) for p, text in zip(["runs"] + files, outputs, strict=True) if secret in text
        ]
        assert not leaks, f"a password is written in {leaks}"
