"""A tiny labelling project: posture-only settings (``features.cnn: false``: no ResNet50) and an
untrained TCN per head, registered as ``champion`` in a real MLflow store, so that a batch takes
seconds; synthetic recordings to label with it, and ``ethoflow label`` run in this process."""

from __future__ import annotations

import importlib
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner, Result

from ethoflow.cli import app
from ethoflow.config import Settings
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import render_recording

HEADS = ("grooming", "rearing")
WINDOW = 16
HP = {"window": WINDOW, "kernel_size": 3, "dilation_depth": 2, "stacks": 1, "causal": False}
HP |= {"layers": 1, "units": 8, "dropout": 0.0}
EXPERIMENT = "faults"

runner = CliRunner()


def write_params(folder: Path, tracking_uri: str, **sections: dict) -> Path:
    """A params.yaml in ``folder`` (its paths resolve there): posture-only features, the given
    tracking store, and ``sections`` merged over the defaults here."""
    settings = {
        "seed": 1,
        "ingest": {"crop_size": 64},
        "features": {"cnn": False},
        "train": {"experiment": EXPERIMENT, "tracking_uri": tracking_uri},
        "postprocess": {"median_frames": 3, "min_bout_frames": 2},
        "label": {"arena_side_cm": 40.0, "settle_seconds": 60},
    }
    for name, values in sections.items():
        settings[name] = settings.get(name, {}) | values
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def synthetic_frames(seconds: float, fps: float, seed: int = 1) -> list[np.ndarray]:
    """A recording of a moving mouse the tracker finds (condition 1, 320x320) at ``fps``."""
    condition = replace(CONDITIONS[0], fps=fps)
    return [frame for frame, _ in render_recording(condition, seconds=seconds, seed=seed)]


def write_video(path: Path, frames: list[np.ndarray], fps: float, fourcc: str = "mp4v") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    colour = frames[0].ndim == 3
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height), colour
    )
    assert writer.isOpened(), f"OpenCV cannot write {path.name} ({fourcc}, {fps} fps)"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@dataclass(frozen=True)
class Project:
    root: Path
    params: Path
    settings: Settings
    tracking_uri: str
    good: Path  # 3 s at 10 fps (30 frames), mp4v

    def copy_good(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.good, target)
        return target

    def write_params(self, folder: Path, **sections: dict) -> Path:
        """``write_params`` in ``folder`` on this project's champions store, with a copy of their
        OpenVINO copies under its ``paths.runs``: a first label there converts nothing."""
        champions = self.root / "runs" / "champions"
        shutil.copytree(champions, folder / "runs" / "champions", dirs_exist_ok=True)
        return write_params(folder, self.tracking_uri, **sections)


def register_champions(params: Path) -> None:
    """An untrained TCN per head in the tracking store of ``params`` (``write_params``'), each
    registered with the settings' featurisation id, aliased ``champion`` and copied to OpenVINO
    under ``paths.runs``."""
    import keras
    import mlflow

    from ethoflow.config import load_settings
    from ethoflow.features.featurization import Featurization
    from ethoflow.mlops.champions import copy_champion
    from ethoflow.mlops.mlflow_store import configure_tracking
    from ethoflow.mlops.registered_models import log_keras_model, model_name
    from ethoflow.models import build_model

    settings = load_settings(params)
    featurization = Featurization.from_settings(settings)
    assert featurization.id.startswith("no-cnn-10fps+posture-v2+motion")
    n_features = featurization.feature_count(None)
    example = np.zeros((1, WINDOW, n_features), np.float32)
    tags = {"window": str(WINDOW), "featurization": featurization.id, "threshold": "0.5"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(params.parent)  # nothing of MLflow's lands in the repository
        configure_tracking(settings.tracking_uri, EXPERIMENT)
        client = mlflow.MlflowClient()
        with mlflow.start_run():
            for seed, head in enumerate(HEADS):
                keras.utils.set_random_seed(seed)
                model = build_model("tcn", HP, n_features)
                version = log_keras_model(
                    model,
                    name=head,
                    example_input=example,
                    registered_model_name=model_name(head),
                    tags=tags,
                )
                client.set_registered_model_alias(model_name(head), "champion", version.version)
                copy_champion(head, version.version, settings)  # as promotion makes it


def empty_store(folder: Path) -> str:
    """A tracking store that exists (its database made) but holds no model."""
    import mlflow

    from ethoflow.mlops.mlflow_store import local_tracking_uri

    uri = local_tracking_uri(folder)
    mlflow.MlflowClient(uri).search_experiments()  # creates the database
    return uri


def run_label(project: Project, *paths: Path, out: Path, params: Path | None = None) -> Result:
    """``ethoflow label PATHS --params … --out OUT`` in this process.

    Prefect's flow machinery is imported before the call: its import sets Prefect's console log
    handlers on the sys.stderr of that moment, and CliRunner closes its own after the call.
    """
    importlib.import_module("ethoflow.flows.label")
    arguments = ["label", *map(str, paths), "--params", str(params or project.params)]
    # The CLI sets Prefect's, MLflow's and TensorFlow's variables with setdefault (PREFECT_HOME
    # into this project, …): none may reach later tests or their subprocesses.
    saved = dict(os.environ)
    try:
        return runner.invoke(app, [*arguments, "--out", str(out)])
    finally:
        os.environ.clear()
        os.environ.update(saved)


def assert_exit(result: Result, code: int) -> None:
    """Exit status ``code``, through typer.Exit, with no traceback."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"uncaught {type(result.exception).__name__}:\n{trace}\n{result.output}")
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, result.output


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if ".tmp" in p.name or p.name.startswith(".write-check")]
