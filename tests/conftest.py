import hashlib
import os
import shutil
import sys
from pathlib import Path

import cv2
import pandas as pd
import pytest

from ethoflow.synth.conditions import CONDITIONS, Condition
from ethoflow.synth.lab import synthesize_lab
from ethoflow.synth.recording import write_recording


@pytest.fixture(scope="session")
def tiny_recording(tmp_path_factory) -> dict[str, Path]:
    """A 3-second condition-2 recording (30 fps, 90 frames) with labels and ground truth."""
    folder = tmp_path_factory.mktemp("tiny")
    paths = {
        "video": folder / "rec.mp4",
        "labels": folder / "rec.csv",
        "truth": folder / "rec.truth.csv",
    }
    write_recording(
        paths["video"], paths["labels"], paths["truth"], condition=CONDITIONS[1], seconds=3, seed=7
    )
    return paths


# --- the same real walk at several resolutions (tests/data/real) --------------------------------

REAL_VIDEO = Path(__file__).parent / "data" / "real" / "tracktor_mouse_video.mp4"
# 3 s where the mouse walks slowly and turns (frames 7500-7589, 4:10-4:13): its steps are a few
# pixels, so the jitter of a small image added 14 % to the summed steps at 160x120.
WALK_START, WALK_FRAMES = 7500, 90
WALK_SIZES = [(640, 480), (320, 240), (160, 120), (64, 48)]


@pytest.fixture(scope="session")
def real_walk_clips(tmp_path_factory) -> dict[tuple[int, int], Path]:
    """The 3 s of the real round-arena video at each of WALK_SIZES (30 fps, mp4v), written
    frame by frame as it is read."""
    folder = tmp_path_factory.mktemp("real-walk")
    reader = cv2.VideoCapture(str(REAL_VIDEO))
    reader.set(cv2.CAP_PROP_POS_FRAMES, WALK_START)
    paths = {size: folder / f"walk_{size[0]}x{size[1]}.mp4" for size in WALK_SIZES}
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
    writers = {size: cv2.VideoWriter(str(p), fourcc, 30, size) for size, p in paths.items()}
    for _ in range(WALK_FRAMES):
        ok, frame = reader.read()
        assert ok, f"{REAL_VIDEO} ended early"
        for size, writer in writers.items():
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    reader.release()
    for writer in writers.values():
        writer.release()
    return paths


# --- small synthetic labs ------------------------------------------------------------------------

_LABS: Path | None = None  # each lab drawn this session, by its arguments' digest


@pytest.fixture(scope="session", autouse=True)
def _small_labs(tmp_path_factory):
    global _LABS
    _LABS = tmp_path_factory.mktemp("small-labs")
    yield
    _LABS = None


def small_lab(
    raw: Path,
    truth: Path,
    conditions: tuple[Condition, ...] = CONDITIONS,
    *,
    videos: int,
    minutes: float,
    seed: int,
    light_mouse_fraction: float = 0.25,
) -> pd.DataFrame:
    """``synthesize_lab``'s recordings of ``conditions`` in ``raw`` (``<condition>/<video_id>``)
    and their truth in ``truth``; returns the lab's inventory.

    A lab is drawn once a session and copied for each later test that asks for the same one: the
    same bytes (a recording depends only on its seed, tests/test_synth.py), without the seconds of
    drawing them again.
    """
    kwargs = dict(
        videos_per_condition=videos,
        minutes=minutes,
        seed=seed,
        light_mouse_fraction=light_mouse_fraction,
        conditions=conditions,
    )
    if _LABS is None:  # outside a test session
        return synthesize_lab(raw, truth, **kwargs)
    drawn = _LABS / hashlib.sha256(repr(sorted(kwargs.items())).encode()).hexdigest()[:16]
    if not (drawn / "done").is_file():
        shutil.rmtree(drawn, ignore_errors=True)  # a draw cut short
        synthesize_lab(drawn / "raw", drawn / "truth", **kwargs)
        (drawn / "done").touch()
    shutil.copytree(drawn / "raw", raw, dirs_exist_ok=True)
    shutil.copytree(drawn / "truth", truth, dirs_exist_ok=True)
    return pd.read_csv(Path(truth) / "lab.csv")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API (SQLite) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api(prefect_harness) -> str:
    """The test Prefect API's URL, for ``ethoflow`` commands run in subprocesses: as
    ``PREFECT_API_URL`` it spares each the seconds of starting (and migrating) a temporary Prefect
    server of its own. ``ethoflow label``'s own temporary server: test_label_flow's kill test."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


# MLflow keeps the tracking URI and active experiment in globals and mirrors them here.
_MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_DISABLE_TELEMETRY")


@pytest.fixture(autouse=True, scope="module")
def _restore_mlflow_state():
    """Leave no tracking URI or experiment of one test module behind for the next."""
    saved = {var: os.environ.get(var) for var in _MLFLOW_ENV}
    yield
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(saved["MLFLOW_TRACKING_URI"])
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


# --- a browser, for the web app's tests (tests/browser) and the servers' UIs (test_servers.py) ---

# Debian's chromium, driven by Playwright (`playwright install` would download a browser).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The app's first labelling loads TensorFlow and the models in its server; Prefect's and MLflow's
# UIs are single-page apps: all slow to answer on a busy 2-core machine.
BROWSER_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def browser():
    """Headless chromium; ``expect`` waits up to ``BROWSER_TIMEOUT_MS`` (pages: set their own)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: `make system-deps` installs Debian's")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
