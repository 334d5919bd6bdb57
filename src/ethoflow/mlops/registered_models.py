"""Keras models in the MLflow registry: their names, logging and registering them, finding their
versions, loading them, and the training profile logged beside them.

Models are logged with ``mlflow.keras``, MLflow's Keras 3 flavor: it saves ``data/model.keras``
beside the ``MLmodel`` file and records the signature, so a registered version is a plain
``.keras`` file plus metadata. (``mlflow.tensorflow`` would pickle custom objects with cloudpickle;
a custom pyfunc would only re-implement this.) Loading goes around the flavor's loader on purpose:
``load_keras_model`` downloads the artifacts and hands the ``.keras`` file to
``ethoflow.models.load_model``, the one place that knows our custom layers and that always loads in
Keras safe mode (no deserialised Python code such as ``Lambda`` layers).
"""

from __future__ import annotations

import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ethoflow.mlops.mlflow_store import client_or_default

if TYPE_CHECKING:
    import keras
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

# Pinned into each model's requirements.txt. Passing them explicitly also skips MLflow's
# requirement inference, which reloads the model in a subprocess (~8 s) and cannot load models
# with custom layers anyway.
_MODEL_DISTRIBUTIONS = ("keras", "tensorflow", "keras-tcn")

# The training recordings' set-up profile in a model's run
# (ethoflow.features.drift.training_profile).
PROFILE_ARTIFACT = "profile.json"


def model_name(head: str) -> str:
    """Registered model name of ``head``'s models."""
    return f"ethoflow-{head}"


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
    requirements = [f"{dist}=={metadata.version(dist)}" for dist in _MODEL_DISTRIBUTIONS]
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


def quoted(value: str) -> str:
    """``value`` in single quotes, for an MLflow search filter."""
    # MLflow's search filter has no escape for quotes; refuse rather than build a wrong query.
    if "'" in value:
        raise ValueError(f"quote in search value: {value!r}")
    return f"'{value}'"


def search_versions(client: MlflowClient, query: str) -> list[ModelVersion]:
    """Every model version matching the search filter ``query``, all pages."""
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(query, page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            return versions


def logged_training_profile(run_id: str, client: MlflowClient | None = None) -> dict | None:
    """The set-up profile of the training recordings logged with a model's run; None when the
    run has none (trained before profiles were stored)."""
    import mlflow

    names = {artifact.path for artifact in client_or_default(client).list_artifacts(run_id)}
    if PROFILE_ARTIFACT not in names:
        return None
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{PROFILE_ARTIFACT}")
