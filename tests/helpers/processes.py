"""Servers the end-to-end tests start as real processes: a free loopback port, their own process
group and log, a clean environment, and waiting until they answer."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return f"--- {path} (last {lines} lines) ---\n" + "\n".join(text.splitlines()[-lines:])


def child_env(**extra: str) -> dict[str, str]:
    """This environment without the MLflow and Prefect targets other test modules may leave."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


def start(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start ``command`` in its own process group (its children are stopped with it)."""
    with log.open("w") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, then SIGKILL if it has not exited within 30 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    # Children that outlived their leader (uvicorn workers, a flow run) go too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(
    check: Callable[[], bool],
    process: subprocess.Popen,
    log: Path,
    what: str,
    timeout_s: float = 180,
) -> None:
    """Poll ``check`` until it holds; fail with the log's tail if ``process`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before {what}\n{log_tail(log)}")
        with contextlib.suppress(httpx.TransportError, OSError):
            if check():
                return
        time.sleep(0.5)
    raise RuntimeError(f"no {what} within {timeout_s:.0f} s\n{log_tail(log)}")


def answers_200(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until ``url`` answers 200 (a server's health route)."""
    wait_until(lambda: answers_200(url), process, log, url)
