"""A password in a configured URL is never shown: the real command line against stores that
refuse the connection, then every message, log file, MLflow record and Prefect record it left
is searched for the password."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from ethoflow.cli import app
from ethoflow.flows.label import label_flow  # noqa: F401 - Prefect's handlers before CliRunner's

PASSWORD = "s3cret-pw"
runner = CliRunner()


def invoke(*arguments: str) -> Result:
    """``ethoflow ARGUMENTS`` in this process; the variables the CLI sets do not outlive it."""
    saved = dict(os.environ)
    try:
        return runner.invoke(app, list(arguments))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def write_params(folder: Path, train: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    settings = {"seed": 1, "features": {"cnn": False}, "train": train}
    path.write_text(yaml.safe_dump(settings))
    return path


def write_features(features: Path) -> None:
    """The smallest ingest output the train flow reads: a manifest, features and labels."""
    rng = np.random.default_rng(0)
    videos = features / "videos"
    videos.mkdir(parents=True)
    rows = []
    for split in ("train", "test"):
        n = 80
        labels = (np.arange(n) // 10) % 2
        np.save(videos / f"{split}.npy", rng.normal(size=(n, 6)).astype(np.float32))
        frame = {"frame": np.arange(n), "time_s": np.arange(n) / 10, "x": 0.0, "y": 0.0}
        table = pd.DataFrame(frame | {"grooming": labels, "rearing": 1 - labels})
        table.to_csv(videos / f"{split}.csv", index=False)
        setup = {"fps": 10.0}
        (videos / f"{split}.json").write_text(json.dumps({"video_id": split, "setup": setup}))
        rows.append(
            {
                "video_id": split,
                "source_video": split,
                "condition": "c1",
                "split": split,
                "frames": n,
                "features": f"{split}.npy",
                "labels": f"{split}.csv",
                "augmented": False,
            }
        )
    pd.DataFrame(rows).to_csv(features / "manifest.csv", index=False)
    (features / "summary.json").write_text(json.dumps({"featurization": "redaction-test"}))


def files_showing_the_password(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]


def prefect_records_showing_the_password() -> list[str]:
    """Flow and task runs (parameters, state messages) and logs in the Prefect API."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        records = [
            *(run.model_dump_json() for run in client.read_flow_runs()),
            *(run.model_dump_json() for run in client.read_task_runs()),
            *(log.message for log in client.read_logs()),
            *(artifact.model_dump_json() for artifact in client.read_artifacts()),
        ]
    return [record for record in records if PASSWORD in record]


@pytest.mark.slow  # the whole command, Prefect included
def test_tracking_server_password_is_not_shown(tmp_path, monkeypatch, prefect_harness):
    """``ethoflow label`` against a refused tracking server: the one error line names the
    server, without its password; nothing written shows it."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    # From the environment, as on the lab server: params.yaml holds no password.
    monkeypatch.setenv("ETHOFLOW_TRACKING_URI", f"http://lab:{PASSWORD}@127.0.0.1:9")  # refused
    project = tmp_path / "project"
    params = write_params(project, {"tracking_uri": "${ETHOFLOW_TRACKING_URI}"})
    video = project / "data" / "inbox" / "rec.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"not read: the registry is checked first")
    result = invoke("label", str(video), "--params", str(params), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert PASSWORD not in result.output
    assert "http://lab:***@127.0.0.1:9" in result.output
    assert files_showing_the_password(tmp_path) == []
    assert prefect_records_showing_the_password() == []


@pytest.mark.slow  # the whole command, Prefect included
def test_optuna_storage_password_is_not_shown(tmp_path, monkeypatch, prefect_harness):
    """``ethoflow train`` with an Optuna storage that refuses the connection: the run fails, and
    neither its error, its log file, its MLflow runs nor Prefect's records show the password."""
    project = tmp_path / "project"
    monkeypatch.setenv("ETHOFLOW_OPTUNA_STORAGE", f"postgresql://lab:{PASSWORD}@127.0.0.1:1/x")
    train = {"optuna_storage": "${ETHOFLOW_OPTUNA_STORAGE}", "max_epochs": 1}
    params = write_params(project, train)
    write_features(project / "data" / "features")
    result = invoke(
        "train", "--params", str(params), "--head", "grooming", "--architecture", "lstm"
    )
    assert result.exit_code != 0, result.output
    assert result.exception is not None
    import traceback

    trace = "".join(traceback.format_exception(result.exception))
    assert "OperationalError" in trace  # the storage was really tried, and refused
    assert PASSWORD not in trace and PASSWORD not in result.output
    logs = list((project / "runs" / "logs").glob("train-*.log"))
    assert logs, "the run wrote no log"
    assert "postgresql" in logs[0].read_text() or "OperationalError" in logs[0].read_text()
    assert (project / "mlflow" / "mlflow.db").is_file()  # the search's run was recorded
    assert files_showing_the_password(tmp_path) == []
    assert prefect_records_showing_the_password() == []


@pytest.mark.parametrize("where", ["message", "query"])
def test_run_log_redacts_library_records(tmp_path, where):
    """A library logging a URL with its password (as MLflow or SQLAlchemy may): the run's log
    file shows it redacted."""
    import logging

    from ethoflow.runtime.run_log import log_to_file

    url = {
        "message": f"postgresql://lab:{PASSWORD}@db/x",
        "query": f"postgresql://db/x?user=lab&password={PASSWORD}",
    }[where]
    saved_factory = logging.getLogRecordFactory()
    log = tmp_path / "logs" / "run.log"
    close = log_to_file(log, terminal=False)
    try:
        # A logger of its own: a library's may have been disabled by an earlier test's
        # logging.config (Prefect's and MLflow's disable the loggers that exist then).
        logging.getLogger(f"a_library.{where}").warning("cannot connect to %s", url)
    finally:
        close()
        logging.setLogRecordFactory(saved_factory)
    text = log.read_text()
    assert "cannot connect to postgresql://" in text
    assert PASSWORD not in text


@pytest.mark.slow  # the whole command, Prefect included
def test_a_traceback_that_ends_the_command_shows_no_password(tmp_path):
    """``ethoflow rollback`` does not turn a refused tracking server into one line: Python's
    traceback ends it (MLflow's error repeats the URL), redacted."""
    import subprocess
    import sys

    project = tmp_path / "project"
    params = write_params(project, {"tracking_uri": "${ETHOFLOW_TRACKING_URI}"})
    environment = os.environ | {
        "ETHOFLOW_TRACKING_URI": f"http://lab:{PASSWORD}@127.0.0.1:9",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    command = [sys.executable, "-m", "ethoflow.cli", "rollback", "grooming"]
    done = subprocess.run(
        [*command, "--params", str(params)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "http://lab:***@127.0.0.1:9" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
