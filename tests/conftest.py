from pathlib import Path

import pytest

from ethoflow.synth import CONDITIONS, write_recording


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
def prefect_harness():
    """One temporary Prefect API (SQLite) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
