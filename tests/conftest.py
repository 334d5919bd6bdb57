"""Fixtures every tier shares, and each test's tier marker (``unit``, ``integration``, ``e2e``)
from the folder it sits in."""

import gc
import os
import shutil
import sys
from pathlib import Path

import cv2
import pytest

from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from helpers.champions import (
    Project,
    register_champions,
    synthetic_frames,
    write_params,
    write_video,
)
from helpers.labs import draw_labs_in
from helpers.real import REAL_VIDEO, WALK_FRAMES, WALK_SIZES, WALK_START

TESTS = Path(__file__).parent
TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        assert tier in TIERS, f"{item.nodeid}: a test module belongs in one of {TIERS}"
        item.add_marker(tier)


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


@pytest.fixture(scope="session", autouse=True)
def _small_labs(tmp_path_factory):
    """helpers.labs.small_lab draws each lab once this session, in a folder of its own."""
    draw_labs_in(tmp_path_factory.mktemp("small-labs"))
    yield
    draw_labs_in(None)


@pytest.fixture(scope="module")
def frozen_heap() -> None:
    """Streamlit clears Keras' session after every script run once Keras is imported, and that
    runs a full ``gc.collect()``: 0.5-3 s in a test process holding TensorFlow and earlier tests'
    models, minutes over an AppTest module's runs. What is alive now is left out of the scans."""
    gc.collect()
    gc.freeze()


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


# --- the tiny labelling project (helpers.champions) ----------------------------------------------


@pytest.fixture(scope="session")
def tiny_champions(tmp_path_factory) -> Path:
    """A folder holding the tiny project's champions store (``mlflow/``) and a good recording
    (``good.mp4``: 3 s at 10 fps, 30 frames, mp4v), made once a session."""
    from ethoflow.mlops.mlflow_store import local_tracking_uri

    root = tmp_path_factory.mktemp("champions")
    register_champions(write_params(root, local_tracking_uri(root / "mlflow")))
    write_video(root / "good.mp4", synthetic_frames(3, 10), 10)
    return root


@pytest.fixture(scope="module")
def project(tiny_champions, tmp_path_factory, prefect_harness) -> Project:
    """A tiny project of the module's own: params.yaml (posture-only) and a copy of the session's
    champions store, which the module may change (thresholds, …) without reaching another."""
    from ethoflow.config import load_settings
    from ethoflow.mlops.mlflow_store import local_tracking_uri

    root = tmp_path_factory.mktemp("project")
    # The copied database still names the session's artifacts: read, never changed.
    shutil.copytree(tiny_champions / "mlflow", root / "mlflow")
    # The champions' OpenVINO copies (named by version and run, the same in the copied store):
    # no module converts them again.
    shutil.copytree(tiny_champions / "runs" / "champions", root / "runs" / "champions")
    tracking_uri = local_tracking_uri(root / "mlflow")
    params = write_params(root, tracking_uri)
    good = root / "videos" / "good.mp4"
    good.parent.mkdir()
    shutil.copy(tiny_champions / "good.mp4", good)
    return Project(root, params, load_settings(params), tracking_uri, good)


@pytest.fixture
def tracking(tmp_path):
    """An MLflow store in the test's folder, set as the tracking URI (experiment ``test``)."""
    import mlflow

    from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri

    uri = local_tracking_uri(tmp_path / "runs")
    configure_tracking(uri, "test")
    yield uri
    mlflow.set_tracking_uri(None)


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
