"""Ctrl-C through the real command line, in subprocesses: SIGINT to the process group (as a
terminal sends it) or to the process alone, while the second of two recordings is in flight.

The first SIGINT stops after the frame batch in hand: the finished recording is reported and
kept, the interrupted one leaves no output and no temporary file, one line says what was done,
exit 130; a second SIGINT exits at once; the same command again does the rest. The runs also
show the quiet terminal: progress bars and result lines, the logs in the file named at the end.

The project is helpers.champions' (posture-only, untrained champions): a batch takes seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ethoflow.config import load_settings
from ethoflow.runtime.interrupt import EXIT_STATUS
from ethoflow.synth.conditions import CONDITIONS
from helpers.champions import Project, synthetic_frames, temp_files, write_video
from helpers.labs import small_lab

# Exit well within this after the SIGINT.
STOP_SECONDS = 60


@pytest.fixture(scope="module")
def videos(project: Project) -> list[Path]:
    """``a`` (3 s) is done first; ``z`` (9,000 frames: seconds of work even on idle cores) is in
    flight when the test interrupts, as soon as ``a`` has its record."""
    folder = project.root / "interrupt-videos"
    a = project.copy_good(folder / "a.mp4")
    z = write_video(folder / "z.mp4", synthetic_frames(10, 10, seed=5) * 90, 10)
    return [a, z]


def start(arguments: list[str], env: dict[str, str]) -> subprocess.Popen:
    """``ethoflow ARGUMENTS`` in a process group of its own, as a terminal starts a command."""
    command = [sys.executable, "-m", "ethoflow.cli", *arguments]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def interrupt_when(
    process: subprocess.Popen, ready: Callable[[], bool], signals: int = 1, to_group: bool = True
) -> tuple[str, str, float]:
    """SIGINT (``signals`` times) once ``ready()``; (stdout, stderr, seconds to exit)."""
    deadline = time.monotonic() + 600
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first recording took too long"
        time.sleep(0.02)
    sent = time.monotonic()
    send = os.killpg if to_group else os.kill
    send(process.pid, signal.SIGINT)
    heard = ""
    if signals == 2:  # the second once the first was heard (two at once are one for Python)
        while "Ctrl-C again" not in heard:
            assert process.poll() is None, heard
            heard += process.stderr.readline()
        send(process.pid, signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running {STOP_SECONDS} s after SIGINT:\n{process.communicate()}")
    return stdout, heard + stderr, time.monotonic() - sent


def log_file(stderr: str) -> Path:
    """The log file the command names at its end."""
    found = re.search(r"^log: (.+)$", stderr, re.MULTILINE)
    assert found, stderr
    return Path(found.group(1))


def assert_quiet(stdout: str, stderr: str) -> None:
    """Progress bars, result lines and the log's name: no log records, no traceback."""
    for text in (stdout, stderr):
        assert "INFO" not in text and "Traceback" not in text, text
        assert not re.search(r"\d\d:\d\d:\d\d\.\d+ \|", text), text  # Prefect's log format


def check_stopped(out: Path, stdout: str, stderr: str, command: str, done: str) -> None:
    """``a`` ``done`` and reported; ``z`` reported as interrupted, without outputs or temporaries;
    one line says so."""
    lines = [line for line in stderr.splitlines() if line.startswith(("stopping", "interrupted"))]
    assert lines == [
        "stopping after the current frame batch (Ctrl-C again: at once)",
        f"interrupted: 1 of 2 recordings {done}; re-run the same command to {command} the rest",
    ], stderr
    assert_quiet(stdout, stderr)
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    assert report.status.to_dict() == {"a": done, "z": "interrupted"}
    assert (out / "a" / "record.json").is_file()
    assert not (out / "z").exists()
    assert temp_files(out) == []


def test_ctrl_c_to_the_group_stops_label_and_a_rerun_labels_the_rest(
    project, videos, tmp_path, prefect_api
):
    """As in a terminal on a lab PC without a Prefect server: the batch runs in the command's
    process (no temporary server); the re-run is recorded on the test's Prefect API."""
    out = tmp_path / "out"
    arguments = ["label", *map(str, videos), "--params", str(project.params), "--out", str(out)]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    process = start(arguments, env)
    stdout, stderr, seconds = interrupt_when(process, (out / "a" / "record.json").exists)
    assert process.returncode == EXIT_STATUS, stderr
    check_stopped(out, stdout, stderr, "label", "labelled")
    # The batch's progress: z, stopped, is not done.
    assert "label: 1 of 2 recordings done" in stderr and "2 of 2" not in stderr, stderr
    log = log_file(stderr).read_text()
    assert "labelling without Prefect" in log and "Starting temporary server" not in log
    print(f"label stopped {seconds:.1f} s after SIGINT to the group")

    # The re-run, on the test's Prefect API (no second temporary server to wait for).
    again = subprocess.run(
        [sys.executable, "-m", "ethoflow.cli", *arguments],
        env={**env, "PREFECT_API_URL": prefect_api},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"a: skipped {out / 'a'} unchanged since last labelled",
        f"z: labelled {out / 'z'}",
    ]
    assert "z: " in again.stderr and "frames/s" in again.stderr  # z's progress bar
    assert_quiet(again.stdout, again.stderr)
    log = log_file(again.stderr).read_text()
    assert "Finished in state Completed" in log and "z: 9000 frames labelled" in log


def test_ctrl_c_to_the_process_alone_stops_label(project, videos, tmp_path, prefect_api):
    out = tmp_path / "out"
    arguments = ["label", *map(str, videos), "--params", str(project.params), "--out", str(out)]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api}
    process = start(arguments, env)
    stdout, stderr, _ = interrupt_when(process, (out / "a" / "record.json").exists, to_group=False)
    assert process.returncode == EXIT_STATUS, stderr
    check_stopped(out, stdout, stderr, "label", "labelled")


def test_a_second_ctrl_c_exits_at_once(project, videos, tmp_path, prefect_api):
    out = tmp_path / "out"
    arguments = ["label", *map(str, videos), "--params", str(project.params), "--out", str(out)]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api}
    process = start(arguments, env)
    _, stderr, seconds = interrupt_when(process, (out / "a" / "record.json").exists, signals=2)
    assert process.returncode == EXIT_STATUS, stderr
    assert "interrupted again: stopped at once" in stderr and "Traceback" not in stderr
    assert "interrupted: " not in stderr  # no report: it left at once
    assert seconds < 10
    assert not (out / "z" / "record.json").exists()


def test_ctrl_c_stops_track_and_a_rerun_tracks_the_rest(project, videos, tmp_path):
    out = tmp_path / "out"
    arguments = ["track", *map(str, videos), "--params", str(project.params), "--out", str(out)]
    process = start(arguments, dict(os.environ))
    stdout, stderr, _ = interrupt_when(process, (out / "a" / "record.json").exists)
    assert process.returncode == EXIT_STATUS, stderr
    check_stopped(out, stdout, stderr, "track", "tracked")

    again = subprocess.run(
        [sys.executable, "-m", "ethoflow.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"a: skipped {out / 'a'} unchanged since last tracked",
        f"z: tracked {out / 'z'}",
    ]
    assert_quiet(again.stdout, again.stderr)


def test_ctrl_c_stops_ingest_and_a_rerun_featurises_the_rest(tmp_path, prefect_api):
    """Posture-only features of a small lab: the manifest stays unwritten until all are done."""
    params = tmp_path / "params.yaml"
    params.write_text("seed: 5\ningest: {crop_size: 64}\nfeatures: {cnn: false}\n")
    settings = load_settings(params)
    # helpers.ingest's lab (drawn once a session).
    small_lab(
        settings.paths.raw,
        settings.paths.truth,
        videos=2,
        minutes=0.1,
        seed=5,
        light_mouse_fraction=0.5,
    )
    features = settings.paths.features
    arguments = ["ingest", "--params", str(params)]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api}
    process = start(arguments, env)
    # At the first recording's record: the others are still to come.
    stdout, stderr, _ = interrupt_when(process, lambda: any((features / "videos").glob("*.json")))
    assert process.returncode == EXIT_STATUS, stderr
    stopped = re.search(r"^interrupted: (\d+) of (\d+) recordings featurised;", stderr, re.M)
    assert stopped, stderr
    assert f"ingest: {stopped[1]} of {stopped[2]} recordings done" in stderr, stderr
    done, total = map(int, stopped.groups())
    assert 1 <= done < total == 2 * len(CONDITIONS)
    assert len(list((features / "videos").glob("*.json"))) == done
    assert not (features / "manifest.csv").exists()
    assert_quiet(stdout, stderr)
    assert temp_files(features) == []

    again = subprocess.run(
        [sys.executable, "-m", "ethoflow.cli", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert f"({done} unchanged, reused)" in again.stdout
    assert len(pd.read_csv(features / "manifest.csv")) >= total


def test_ctrl_c_stops_retrain_and_registers_nothing(tmp_path, prefect_api):
    """SIGINT once the search made its Optuna study: the first trial stops at the end of a
    batch; no model is registered, so no half-trained model can become champion."""
    import mlflow

    params = tmp_path / "params.yaml"
    params.write_text(
        "seed: 3\ningest: {crop_size: 64}\nfeatures: {cnn: false}\n"
        "train: {architectures: [tcn], n_trials: 1, max_epochs: 50, patience: 50}\n"
    )
    settings = load_settings(params)
    lab = (CONDITIONS[0], CONDITIONS[2])
    small_lab(settings.paths.raw, settings.paths.truth, lab, videos=3, minutes=0.5, seed=2)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api}
    process = start(["retrain", "--params", str(params)], env)
    study = settings.paths.runs / "optuna.db"
    stdout, stderr, seconds = interrupt_when(process, study.exists)
    assert process.returncode == EXIT_STATUS, stderr
    assert re.search(r"^interrupted: .*; re-run the same command to finish", stderr, re.M), stderr
    assert_quiet(stdout, stderr)
    log = log_file(stderr).read_text()
    assert "Interrupted" in log and "Task run 'search-" in log
    registered = mlflow.MlflowClient(settings.tracking_uri).search_registered_models()
    assert [model.name for model in registered] == []
    print(f"retrain stopped {seconds:.1f} s after SIGINT")
