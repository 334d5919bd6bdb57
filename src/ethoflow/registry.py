"""MLflow tracking and model registry: where runs go, how Keras models are logged and loaded back.

Models are logged with ``mlflow.keras``, MLflow's Keras 3 flavor: it saves ``data/model.keras``
beside the ``MLmodel`` file and records the signature, so a registered version is a plain
``.keras`` file plus metadata. (``mlflow.tensorflow`` would pickle custom objects with cloudpickle;
a custom pyfunc would only re-implement this.) Loading goes around the flavor's loader on purpose:
``load_keras_model`` downloads the artifacts and hands the ``.keras`` file to
``ethoflow.models.load_model``, the one place that knows our custom layers and that always loads in
Keras safe mode (no deserialised Python code such as ``Lambda`` layers).

MLflow is imported inside the functions: it takes seconds to import and most callers of this
package never touch it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import numpy as np
    from mlflow.entities.model_registry import ModelVersion

    from ethoflow.config import Settings

# Pinned into each model's requirements.txt. Passing them explicitly also skips MLflow's
# requirement inference, which reloads the model in a subprocess (~8 s) and cannot load models
# with custom layers anyway.
_MODEL_DISTRIBUTIONS = ("keras", "tensorflow", "keras-tcn")


def local_tracking_uri(runs_dir: Path) -> str:
    """``sqlite:///`` URI of ``<runs_dir>/mlflow.db`` (absolute), creating ``runs_dir``.

    ``configure_tracking`` puts the artifacts of experiments it creates in
    ``<runs_dir>/mlartifacts``.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(runs_dir / 'mlflow.db').resolve()}"


def _artifact_location(tracking_uri: str) -> str | None:
    """``mlartifacts`` beside a SQLite database; None (the server decides) for other stores."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])
    return (database.resolve().parent / "mlartifacts").as_uri()


def configure_tracking(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and ``experiment`` (created if missing); return its id.

    For entry points only: it changes process-wide MLflow state. It also turns MLflow's usage
    telemetry off unless ``MLFLOW_DISABLE_TELEMETRY`` is already set, because a lab pipeline must
    not contact outside servers. The model registry follows the tracking URI unless
    ``MLFLOW_REGISTRY_URI`` is set.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        # Without an explicit location, a SQLite store puts artifacts in the CWD's ./mlruns.
        try:
            experiment_id = mlflow.create_experiment(
                experiment, artifact_location=_artifact_location(tracking_uri)
            )
        except MlflowException as error:  # another worker created it since we looked
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def start_tracking(settings: Settings) -> str:
    """``configure_tracking`` with the settings' tracking URI (SQLite under ``paths.runs`` by
    default) and experiment; returns the URI."""
    uri = settings.train.tracking_uri or local_tracking_uri(settings.paths.runs)
    configure_tracking(uri, settings.train.experiment)
    return uri


def git_commit(repo: Path) -> str | None:
    """HEAD's hash, suffixed ``-dirty`` if tracked files changed; None outside git (or no git).

    Untracked files do not count as dirty, as with ``git describe --dirty``.
    """
    # No optional locks: `git status` would otherwise rewrite the index of a repo others use.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["git", "-C", str(repo), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    try:
        head = git("rev-parse", "--verify", "HEAD")
    except FileNotFoundError:  # git is not installed
        return None
    if head.returncode != 0:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    return head.stdout.strip() + ("-dirty" if changes.stdout.strip() else "")


def log_keras_model(
    model: keras.Model,
    *,
    name: str,
    example_input: np.ndarray,
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelVersion | None:
    """Log ``model`` to the active run as MLflow model ``name``; register it if asked.

    The signature is inferred from ``example_input`` (batch first) and the model's prediction on
    it. ``tags`` go on the logged model and, when ``registered_model_name`` is given, on the new
    model version, which is returned.
    """
    import mlflow
    from mlflow.models import infer_signature

    if mlflow.active_run() is None:
        raise RuntimeError("log_keras_model needs an active MLflow run (mlflow.start_run())")
    if example_input.ndim < 2:
        raise ValueError(f"example_input must be a batch, got shape {example_input.shape}")
    signature = infer_signature(example_input, model.predict(example_input, verbose=0))
    requirements = [f"{dist}=={version(dist)}" for dist in _MODEL_DISTRIBUTIONS]
    info = mlflow.keras.log_model(
        model, name=name, signature=signature, pip_requirements=requirements, tags=tags
    )
    if registered_model_name is None:
        return None
    return mlflow.register_model(info.model_uri, registered_model_name, tags=tags)


def load_keras_model(model_uri: str) -> keras.Model:
    """Load the Keras model at ``model_uri`` in safe mode, uncompiled.

    Accepts any MLflow model URI: ``runs:/<run_id>/<name>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>``, ``models:/<model_id>``.
    """
    import mlflow

    from ethoflow.models import load_model

    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        files = sorted(local.rglob("*.keras"))
        if len(files) != 1:
            raise ValueError(f"{model_uri}: expected one .keras file, found {len(files)}")
        # Keras reads the whole file, so the temporary copy can go once this returns.
        return load_model(files[0])
