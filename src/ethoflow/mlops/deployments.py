"""Prefect for the lab: the project's own Prefect home, the deployments, and serving them.

The nightly label and on-demand retrain deployments are built here alone, from params.yaml: the
nightly cron (``label.cron``, ``label.timezone``) and the retrain form's budget (``train``).
``ethoflow serve`` serves them from one long-running process (a Prefect server for the UI is
started too unless ``PREFECT_API_URL`` points at one); ``ethoflow deploy --pool NAME`` registers
them on a process work pool, whose ``prefect worker`` runs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ethoflow.config import Settings

LABEL_DEPLOYMENT = "nightly"
RETRAIN_DEPLOYMENT = "on-demand"


def use_local_prefect(settings: Settings) -> None:
    """Point Prefect at the project's own folder unless the user configured a server.

    For entry points, before Prefect is imported (it reads these environment variables then);
    imports it.
    """
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.paths.runs / "prefect")))
    home.mkdir(parents=True, exist_ok=True)  # Prefect's SQLite cannot create missing folders
    # Library progress messages (per video, per frame batch) show in the Prefect run logs.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "ethoflow")
    # Their notes outside a flow run (the CLI's checks before it) go to the log file alone.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # The in-process API server starts slowly on a busy 2-core machine; the default 20 s is short.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # No telemetry from a lab machine; its heartbeat also contends for the SQLite lock.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect sets up its logging on import, from these: the run's log file then takes it over.
    import prefect.main  # noqa: F401


def start_temporary_server() -> None:
    """Start Prefect's temporary API server now, unless ``PREFECT_API_URL`` names a server.

    Prefect would start the same server at the first API call, in the command's process group,
    where a Ctrl-C in the terminal stops it under the flow (httpx tracebacks, a command that never
    ends). Started here, it has a session of its own: the command stops its work, reports through
    the API, and Prefect stops the server when the command exits. On Linux the server also ends
    with the command's main thread when that is killed.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return

    class OwnSessionServer(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen:
            # SubprocessASGIServer's own command (Prefect 3.9), in a session of its own.
            import prefect
            from prefect.settings import get_current_settings

            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(prefect.__module_path__.parent),
                    "--factory",
                    "prefect.server.api.server:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "error",
                    "--lifespan",
                    "on",
                ],
                env={
                    **os.environ,
                    "PREFECT_UI_ENABLED": "0",
                    "PREFECT__SERVER_EPHEMERAL": "1",
                    "PREFECT__SERVER_FINAL": "1",
                    **get_current_settings().to_environment_variables(exclude_unset=True),
                },
                start_new_session=True,
                preexec_fn=_end_with_parent if sys.platform == "linux" else None,
            )

    # Prefect keeps one temporary server per process, under the port None: this instance is the
    # one its client then finds running.
    OwnSessionServer().start()


def _end_with_parent() -> None:
    """In the server's process before it runs: SIGTERM when the thread that started it ends."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def build_deployments(settings: Settings, params: Path) -> list:
    """``[label nightly, retrain on demand]`` as Prefect ``RunnerDeployment`` objects.

    The retrain deployment passes params.yaml's training budget, which its "Custom run" form then
    shows to change per run; it is read here, so a changed budget needs the deployments built
    again (``ethoflow serve`` or ``ethoflow deploy`` restarted). Entrypoints are module paths: the
    flows run from the installed package, whatever the worker's folder.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from ethoflow.flows.label import label_flow
    from ethoflow.flows.retrain import retrain_flow

    parameters = {"params": str(Path(params).resolve())}
    label = label_flow.to_deployment(
        name=LABEL_DEPLOYMENT,
        schedules=[Cron(settings.label.cron, timezone=settings.label.timezone)],
        parameters=parameters,
        description="Label every new recording in the inbox with the champion models.",
        tags=["ethoflow", "nightly"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    retrain = retrain_flow.to_deployment(
        name=RETRAIN_DEPLOYMENT,
        parameters=parameters | {"budget": settings.train.budget.model_dump()},
        description="Ingest → train → evaluate → promote; heads, architectures, trials, epochs "
        "and patience can be set per run.",
        tags=["ethoflow", "retrain"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return [label, retrain]


def deploy(settings: Settings, params: Path, pool: str) -> list[str]:
    """Register the deployments on the process work pool ``pool`` of the Prefect server at
    ``PREFECT_API_URL`` (``prefect work-pool create NAME --type process`` makes one); return
    their names."""
    deployments = build_deployments(settings, params)
    for deployment in deployments:
        deployment.apply(work_pool_name=pool)
    return [f"{d.flow_name}/{d.name}" for d in deployments]


def serve(settings: Settings, params: Path, port: int) -> None:
    """Serve the deployments until stopped, with a Prefect server on ``port`` unless
    ``PREFECT_API_URL`` points at one already."""
    use_local_prefect(settings)
    server = None
    if "PREFECT_API_URL" not in os.environ:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)]
        )
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        wait_for_server(os.environ["PREFECT_API_URL"], server)
        print(f"Prefect UI: http://127.0.0.1:{port}", flush=True)
        # A service manager stops us with SIGTERM: unwind so the server is stopped too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        from prefect import serve as serve_deployments

        serve_deployments(*build_deployments(settings, params))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def wait_for_server(api_url: str, server: subprocess.Popen, timeout_s: float = 180.0) -> None:
    """Return once ``api_url`` answers; RuntimeError if the server exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2):
                return
        except OSError:
            time.sleep(1)
    server.terminate()
    raise RuntimeError(f"the Prefect server did not answer at {api_url} within {timeout_s:.0f} s")
