"""The lab-server set-up with real servers on loopback, checked through their HTTP APIs and UIs.

1. A real ``prefect server`` (SQLite, its own home) and a real ``mlflow server`` (SQLite,
   ``--serve-artifacts`` into a folder here): ``ethoflow retrain`` runs against them, ``ethoflow
   serve`` registers the deployments on the Prefect server and runs the nightly label deployment
   when the test asks for a run through the REST API, as a maintainer does from the UI. Minutes
   of synthesis and training: marked ``servers``, so that ``make test-servers`` runs this part
   alone.
2. A throwaway cluster of Debian's PostgreSQL: two processes share one Optuna study in it while
   logging their trials to an ``mlflow server`` whose backend store is PostgreSQL; a registered
   version gets the ``champion`` alias and it is read back.
3. The UIs of the servers of 1. in Debian's chromium (Playwright, headless): Prefect's shows the
   ``retrain/on-demand`` deployment, its parameters and its "Custom run" form; MLflow's shows the
   ``champion`` alias on ``ethoflow-grooming`` and the experiment's runs. Marked ``servers``:
   they need 1.'s lab. ``ETHOFLOW_SCREENSHOTS=DIR`` saves the pages shown in docs/.

Every process started here is stopped in teardown, whatever happened. Commands and timings:
``docs/servers.md``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from ethoflow.config import load_settings
from ethoflow.synth.conditions import HELD_OUT_CONDITION
from helpers.browser import BROWSER_TIMEOUT_MS
from helpers.features import write_features
from helpers.labs import small_lab
from helpers.processes import child_env, free_port, log_tail, start, stop, wait_healthy
from helpers.retrain import LAB_CONDITIONS
from helpers.retrain import PARAMS as LAB_PARAMS

HEADS = ("grooming", "rearing")
FLOWS = ("retrain", "ingest", "train", "evaluate", "promote", "label")
TERMINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# MLflow's server starts eight job-runner processes for its GenAI jobs by default; ethoflow has
# none, and they would compete for this machine's two cores.
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


# --- processes -----------------------------------------------------------------------------------


def mlflow_server_command(backend: str, artifacts: Path, port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--backend-store-uri", backend),
        *("--artifacts-destination", str(artifacts), "--serve-artifacts"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
    ]


def print_logs_if_failed(request: pytest.FixtureRequest, failed_before: int, logs: list[Path]):
    """Server logs on the terminal when a test of the module failed (teardown output is hidden)."""
    if request.session.testsfailed == failed_before:
        return
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for log in logs:
            print("\n" + log_tail(log), file=sys.stderr)


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ethoflow.cli", *args]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(args)}: exit {done.returncode}\n{done.stderr[-4000:]}"
    return done


# --- 1. Prefect and MLflow servers ---------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    prefect_api: str  # http://127.0.0.1:PORT/api
    mlflow: str  # http://127.0.0.1:PORT
    mlflow_artifacts: Path  # --artifacts-destination


@pytest.fixture(scope="module")
def servers(tmp_path_factory, request) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("servers")
    prefect_port, mlflow_port = free_port(), free_port()
    prefect_log, mlflow_log = root / "prefect-server.log", root / "mlflow-server.log"
    prefect_api = f"http://127.0.0.1:{prefect_port}/api"
    prefect_env = child_env(
        PREFECT_HOME=str(root / "prefect-home"),  # its SQLite database and profiles
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        # The UI (section 3) asks the server where the API is; without this it answers port 4200.
        PREFECT_UI_API_URL=prefect_api,
        # No "Upgrade" banners linking out of a lab's network (and out of the screenshots).
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
    )
    prefect_command = [sys.executable, "-m", "prefect", "server", "start"]
    prefect_command += ["--host", "127.0.0.1", "--port", str(prefect_port)]
    backend = f"sqlite:///{root / 'mlflow.db'}"
    artifacts = root / "mlflow-artifacts"
    failed_before = request.session.testsfailed
    processes = []
    try:
        processes.append(start(prefect_command, prefect_log, prefect_env, root))
        mlflow_command = mlflow_server_command(backend, artifacts, mlflow_port)
        processes.append(start(mlflow_command, mlflow_log, child_env(**MLFLOW_SERVER_ENV), root))
        mlflow = f"http://127.0.0.1:{mlflow_port}"
        wait_healthy(f"{prefect_api}/health", processes[0], prefect_log)
        wait_healthy(f"{mlflow}/health", processes[1], mlflow_log)
        yield Servers(prefect_api, mlflow, artifacts)
    finally:
        for process in processes:
            stop(process)
        print_logs_if_failed(request, failed_before, [prefect_log, mlflow_log])


@dataclass(frozen=True)
class Lab:
    params: Path
    label_run: dict  # the nightly deployment's flow run, as the Prefect API returns it


class _RetryingTransport(httpx.HTTPTransport):
    """Answers 503 again after a pause, as Prefect's own client does: under load the server's
    SQLite is busy for a moment and it says so with 503, not with an error."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(6):
            response = super().handle_request(request)
            if response.status_code != 503:
                break
            response.close()
            time.sleep(0.5 * 2**attempt)
        return response


API = httpx.Client(transport=_RetryingTransport())


def wait_for_flow_run(api: str, run_id: str, runner: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        run = API.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        if run["state_type"] in TERMINAL_STATES:
            return run
        assert runner.poll() is None, "ethoflow serve exited\n" + log_tail(log)
        time.sleep(1)
    raise AssertionError(f"flow run {run_id} unfinished after 600 s\n" + log_tail(log))


def deployment_id(api: str, flow_name: str, name: str) -> str:
    response = API.get(f"{api}/deployments/name/{flow_name}/{name}", timeout=10)
    response.raise_for_status()
    return response.json()["id"]


@pytest.fixture(scope="module")
def lab(servers, tmp_path_factory, request) -> Iterator[Lab]:
    """test_label_flow's small lab (drawn once a session) retrained on the servers, then one
    held-out recording in the inbox labelled by the nightly deployment, run on request by
    ``ethoflow serve``."""
    root = tmp_path_factory.mktemp("lab")
    params = root / "params.yaml"
    settings = yaml.safe_load(LAB_PARAMS)
    settings["train"] |= {
        "tracking_uri": servers.mlflow,
        "optuna_storage": f"sqlite:///{root / 'optuna.db'}",
    }
    params.write_text(yaml.safe_dump(settings))
    s = load_settings(params)
    # Seed 2 puts both behaviours in the training and the test videos (training needs both).
    small_lab(s.paths.raw, s.paths.truth, LAB_CONDITIONS, videos=3, minutes=0.5, seed=2)
    # The flows reach Prefect through PREFECT_API_URL alone, as on a lab server.
    env = child_env(PREFECT_API_URL=servers.prefect_api)
    run_cli(["retrain", "--params", str(params)], env, root)

    inbox = (HELD_OUT_CONDITION,)
    small_lab(s.paths.inbox, s.paths.truth / "inbox", inbox, videos=1, minutes=0.3, seed=11)
    serve_log = root / "ethoflow-serve.log"
    failed_before = request.session.testsfailed
    # The runner looks for runs to start every 10 s by default; 1 s keeps the test short.
    runner = start(
        [sys.executable, "-m", "ethoflow.cli", "serve", "--params", str(params)],
        serve_log,
        env | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"},
        root,
    )
    try:
        api = servers.prefect_api
        deadline = time.monotonic() + 180
        while True:  # `ethoflow serve` registers its deployments when it starts
            response = API.get(f"{api}/deployments/name/label/nightly", timeout=10)
            if response.status_code == 200:
                break
            assert runner.poll() is None, "ethoflow serve exited\n" + log_tail(serve_log)
            assert time.monotonic() < deadline, "no label/nightly deployment\n" + log_tail(
                serve_log
            )
            time.sleep(1)
        nightly = response.json()["id"]
        created = API.post(f"{api}/deployments/{nightly}/create_flow_run", json={}, timeout=10)
        created.raise_for_status()
        label_run = wait_for_flow_run(api, created.json()["id"], runner, serve_log)
        yield Lab(params, label_run)
    finally:
        stop(runner)
        print_logs_if_failed(request, failed_before, [serve_log])


@pytest.mark.servers
def test_flow_runs_completed_on_the_prefect_server(lab, servers):
    api = servers.prefect_api
    flows = API.post(f"{api}/flows/filter", json={}, timeout=10).json()
    flow_names = {flow["id"]: flow["name"] for flow in flows}
    runs = API.post(f"{api}/flow_runs/filter", json={"limit": 200}, timeout=10).json()
    states = {(flow_names[run["flow_id"]], run["state_type"]) for run in runs}
    for name in FLOWS:
        assert (name, "COMPLETED") in states, sorted(states)
    assert not {state for _, state in states} & {"FAILED", "CRASHED"}, sorted(states)

    assert lab.label_run["state_type"] == "COMPLETED", lab.label_run["state"]
    assert lab.label_run["deployment_id"] == deployment_id(api, "label", "nightly")
    outbox = load_settings(lab.params).paths.outbox
    assert (outbox / "c4_v00" / "labels.csv").is_file()
    assert (outbox / "c4_v00" / "record.json").is_file()


@pytest.mark.servers
def test_deployments_on_the_prefect_server(lab, servers):
    api = servers.prefect_api
    flows = API.post(f"{api}/flows/filter", json={}, timeout=10).json()
    flow_names = {flow["id"]: flow["name"] for flow in flows}
    deployments = API.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    by_name = {f"{flow_names[d['flow_id']]}/{d['name']}": d for d in deployments}
    assert {"retrain/on-demand", "label/nightly"} <= set(by_name)
    settings = load_settings(lab.params)
    [schedule] = by_name["label/nightly"]["schedules"]
    assert schedule["active"]
    assert schedule["schedule"]["cron"] == settings.label.cron
    assert schedule["schedule"]["timezone"] == settings.label.timezone
    assert not by_name["retrain/on-demand"]["schedules"]
    params = {"params": str(lab.params.resolve())}
    assert by_name["label/nightly"]["parameters"] == params
    budget = settings.train.budget.model_dump()
    assert by_name["retrain/on-demand"]["parameters"] == params | {"budget": budget}


@pytest.mark.servers
def test_champions_and_runs_in_the_mlflow_server(lab, servers):
    api = f"{servers.mlflow}/api/2.0/mlflow"
    for head in HEADS:
        response = API.get(
            f"{api}/registered-models/alias",
            params={"name": f"ethoflow-{head}", "alias": "champion"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        champion = response.json()["model_version"]
        tags = {tag["key"]: tag["value"] for tag in champion["tags"]}
        assert tags["architecture"] == "tcn" and tags["evaluated"] == "true"
        # Served artifacts: the model file went through the server into its destination folder.
        assert champion["source"].startswith(("mlflow-artifacts:", "models:/"))
    assert list(servers.mlflow_artifacts.rglob("model.keras"))

    experiment = API.get(
        f"{api}/experiments/get-by-name", params={"experiment_name": "ethoflow"}, timeout=10
    ).json()["experiment"]
    runs = API.post(
        f"{api}/runs/search",
        json={"experiment_ids": [experiment["experiment_id"]], "max_results": 1000},
        timeout=10,
    ).json()["runs"]
    names = {run["info"]["run_name"] for run in runs}
    assert {"search-grooming-tcn", "search-rearing-tcn", "trial-0"} <= names, names
    assert {run["info"]["status"] for run in runs} == {"FINISHED"}


# --- 2. PostgreSQL: Optuna and MLflow ------------------------------------------------------------


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres(request) -> Iterator[str]:
    """A throwaway cluster on a free loopback port with databases ``mlflow`` and ``optuna``;
    yields ``postgresql://postgres@127.0.0.1:PORT``."""
    import psycopg

    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed: `make system-deps` installs Debian's")
    # PostgreSQL refuses to run as root: there, the cluster belongs to the `postgres` user, in a
    # folder it owns (pytest's tmp folders are private to root).
    as_owner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="ethoflow-postgres-"))
    if as_owner:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log, port = root / "data", root / "postgres.log", free_port()
    pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data)]
    failed_before = request.session.testsfailed
    try:
        subprocess.run(
            [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
            + ["--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        # Loopback only, the socket in our folder, and no fsync: the cluster is thrown away.
        options = f"-h 127.0.0.1 -p {port} -k {root} -F"
        subprocess.run(
            [*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            check=True,
            capture_output=True,
        )
        url = f"postgresql://postgres@127.0.0.1:{port}"
        # CREATE DATABASE cannot run in a transaction.
        with psycopg.connect(f"{url}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE mlflow")
            connection.execute("CREATE DATABASE optuna")
        yield url
    finally:
        stopped = subprocess.run([*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"], check=False)
        if stopped.returncode != 0 and (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], check=False)
        print_logs_if_failed(request, failed_before, [log])
        shutil.rmtree(root, ignore_errors=True)


# One of two processes sharing one Optuna study: the train flow's search (nested MLflow trial
# runs, refit, registered version) on test_train's tiny features. Both wait for each other at a
# barrier so that their trials overlap.
SEARCH_WORKER = """
import json, sys, time
from pathlib import Path

from ethoflow.mlops.mlflow_store import configure_tracking
from ethoflow.training.fit import Budget, load_split
from ethoflow.training.search import Search, search_and_register
from helpers.features import SPACE

features, tracking_uri, storage, barrier, worker = sys.argv[1:]
configure_tracking(tracking_uri, "postgres")
train, test = load_split(features, "train"), load_split(features, "test")
Path(barrier, worker).touch()
deadline = time.monotonic() + 300
while len(list(Path(barrier).iterdir())) < 2:
    if time.monotonic() > deadline:
        sys.exit("the other worker never reached the barrier")
    time.sleep(0.05)
search = Search(
    "grooming", "tcn", train, test, space=SPACE, n_trials=1, storage=storage,
    budget=Budget(max_epochs=2, patience=1, stride_fraction=1.0, seed=0),
)
result = search_and_register(search, lineage={"features_version": "postgres-test"})
print(json.dumps({"study": result.study_name, "run_id": result.run_id,
                  "version": result.model_version}))
"""


@dataclass(frozen=True)
class SharedSearch:
    postgres: str
    mlflow: str
    results: list[dict]  # each worker's study, parent run and registered version


@pytest.fixture(scope="module")
def shared_search(postgres, tmp_path_factory, request) -> Iterator[SharedSearch]:
    import optuna

    root = tmp_path_factory.mktemp("postgres-search")
    features = write_features(root / "features")
    (root / "barrier").mkdir()
    port, log = free_port(), root / "mlflow-server.log"
    command = mlflow_server_command(f"{postgres}/mlflow", root / "artifacts", port)
    server = start(command, log, child_env(**MLFLOW_SERVER_ENV), root)
    failed_before = request.session.testsfailed
    workers = []
    try:
        mlflow = f"http://127.0.0.1:{port}"
        wait_healthy(f"{mlflow}/health", server, log)
        # Optuna creates its tables on first use; two processes doing that at once on an empty
        # database collide on PostgreSQL's enum types (seen here), so they are created first.
        optuna.storages.RDBStorage(f"{postgres}/optuna")
        tests = str(Path(__file__).parents[1])
        env = child_env(PYTHONPATH=tests, TF_CPP_MIN_LOG_LEVEL="3")
        for worker in ("0", "1"):
            args = [str(features), mlflow, f"{postgres}/optuna", str(root / "barrier"), worker]
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", SEARCH_WORKER, *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=root,
                    start_new_session=True,
                )
            )
        results = []
        for process in workers:
            stdout, stderr = process.communicate(timeout=600)
            assert process.returncode == 0, stderr[-4000:]
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        yield SharedSearch(postgres, mlflow, results)
    finally:
        for process in [*workers, server]:
            stop(process)
        print_logs_if_failed(request, failed_before, [log])


def test_optuna_study_shared_by_two_processes_on_postgres(shared_search):
    import optuna

    [study_name] = {result["study"] for result in shared_search.results}
    study = optuna.load_study(study_name=study_name, storage=f"{shared_search.postgres}/optuna")
    # Both started before either finished a trial: each ran one.
    assert [trial.number for trial in study.trials] == [0, 1]
    finished = {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert {trial.state for trial in study.trials} <= finished

    # Each process logged its trial as a nested run of its own search run.
    api = f"{shared_search.mlflow}/api/2.0/mlflow"
    experiment = API.get(
        f"{api}/experiments/get-by-name", params={"experiment_name": "postgres"}, timeout=10
    ).json()["experiment"]
    for result in shared_search.results:
        search = {
            "experiment_ids": [experiment["experiment_id"]],
            "filter": f"tags.mlflow.parentRunId = '{result['run_id']}'",
        }
        trials = API.post(f"{api}/runs/search", json=search, timeout=10).json()["runs"]
        assert len(trials) == 1


def test_mlflow_registry_on_postgres_sets_and_reads_an_alias(shared_search):
    import psycopg

    api = f"{shared_search.mlflow}/api/2.0/mlflow"
    versions = sorted(result["version"] for result in shared_search.results)
    assert versions == ["1", "2"]
    response = API.post(
        f"{api}/registered-models/alias",
        json={"name": "ethoflow-grooming", "alias": "champion", "version": "2"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    read = API.get(
        f"{api}/registered-models/alias",
        params={"name": "ethoflow-grooming", "alias": "champion"},
        timeout=10,
    ).json()["model_version"]
    assert read["version"] == "2" and read["aliases"] == ["champion"]
    # The registry really is the PostgreSQL database.
    with psycopg.connect(f"{shared_search.postgres}/mlflow") as connection:
        aliases = connection.execute("SELECT alias, version FROM registered_model_aliases")
        assert aliases.fetchall() == [("champion", 2)]
        runs = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
        assert runs == 4  # per worker: a search run and its trial


# --- 3. The Prefect and MLflow UIs in a browser --------------------------------------------------
# e2e/conftest's ``browser``: Debian's chromium, driven by Playwright as in e2e/browser.


@pytest.fixture
def page(browser):
    """A tab in a fresh context: no UI preference of another test remembered."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield page
    context.close()


@contextlib.contextmanager
def screenshot_on_failure(page, folder: Path) -> Iterator[None]:
    """On an exception, what the browser showed, saved in ``folder`` and its path printed."""
    try:
        yield
    except BaseException:
        path = folder / "failure.png"
        page.screenshot(path=str(path))
        print(f"screenshot at failure: {path} ({page.url})")
        raise


def save_screenshot(page, name: str) -> None:
    """``NAME.png`` in ``ETHOFLOW_SCREENSHOTS`` when set, as in e2e/browser (docs/'s come from
    here): a normal run leaves docs/ alone."""
    folder = os.environ.get("ETHOFLOW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.mark.servers
def test_prefect_ui_shows_the_retrain_deployment_and_its_run_form(lab, servers, page, tmp_path):
    from playwright.sync_api import expect

    params = str(lab.params.resolve())
    with screenshot_on_failure(page, tmp_path):
        # The UI at the server's root, as a maintainer opens it, then its list of deployments.
        page.goto(servers.prefect_api.removesuffix("/api"))
        page.get_by_role("link", name="Deployments", exact=True).click()
        retrain_row = page.get_by_role("row").filter(has_text="retrain")
        retrain_row.get_by_role("link", name="on-demand").click()
        expect(page.get_by_role("link", name="retrain", exact=True)).to_be_visible()  # its flow

        page.get_by_role("tab", name="Parameters").click()
        params_row = page.get_by_role("tabpanel").get_by_role("row").filter(has_text="params")
        expect(params_row).to_contain_text(params)

        # "Run" → "Custom run": the form a maintainer submits to retrain, with params and the
        # training budget's fields (params.yaml's values) filled in.
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Custom run").click()
        expect(page.get_by_role("heading", name="Parameters")).to_be_visible()
        expect(page.get_by_role("textbox", name=re.compile(r"^params"))).to_have_value(params)
        for field in ("Heads", "Architectures", "N Trials", "Max Epochs", "Patience"):
            expect(page.get_by_text(re.compile(rf"^{field}")).first).to_be_visible()
        expect(page.get_by_text("Property is type None")).to_have_count(0)
        expect(page.get_by_role("button", name="Submit")).to_be_enabled()
        save_screenshot(page, "prefect_ui_retrain")


@pytest.mark.servers
def test_mlflow_ui_shows_the_champion_and_the_runs(lab, servers, page, tmp_path):
    from playwright.sync_api import expect

    api = f"{servers.mlflow}/api/2.0/mlflow"
    champion = API.get(
        f"{api}/registered-models/alias",
        params={"name": "ethoflow-grooming", "alias": "champion"},
        timeout=10,
    ).json()["model_version"]
    experiment_id = API.get(
        f"{api}/experiments/get-by-name", params={"experiment_name": "ethoflow"}, timeout=10
    ).json()["experiment"]["experiment_id"]
    with screenshot_on_failure(page, tmp_path):
        page.goto(f"{servers.mlflow}/#/models/ethoflow-grooming")
        # MLflow 3.17 opens its assistant panel on a first visit and starts in its GenAI view.
        page.get_by_role("button", name="Close").click()
        page.get_by_role("button", name="Model training").click()
        expect(page.get_by_role("heading", name="ethoflow-grooming")).to_be_visible()
        champion_row = page.get_by_role("row").filter(
            has=page.get_by_role("status", name="champion")
        )
        expect(champion_row).to_have_count(1)
        expect(champion_row).to_contain_text(f"Version {champion['version']}")
        save_screenshot(page, "mlflow_ui_champion")

        page.goto(f"{servers.mlflow}/#/experiments/{experiment_id}/runs")
        for run_name in ("search-grooming-tcn", "search-rearing-tcn"):
            expect(page.get_by_role("link", name=run_name).first).to_be_visible()
        save_screenshot(page, "mlflow_ui_runs")
