from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri
from ethoflow.mlops.registered_models import load_keras_model, log_keras_model

EXPERIMENT = "test-registry"
MODEL_NAME = "ethoflow-grooming"
TAGS = {"architecture": "lstm", "head": "grooming"}


def _tiny_model():
    import keras

    return keras.Sequential(
        [
            keras.Input((16, 8)),
            keras.layers.LSTM(4, return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid")),
        ]
    )


@dataclass
class Registered:
    tracking_uri: str
    cwd: Path
    model: object
    example: np.ndarray
    versions: list


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> Registered:
    """Two registered versions of one tiny model, logged from an empty working directory."""
    import mlflow

    root = tmp_path_factory.mktemp("registry")
    cwd = root / "cwd"
    cwd.mkdir()
    model = _tiny_model()
    example = np.random.default_rng(0).normal(size=(3, 16, 8)).astype("float32")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        tracking_uri = local_tracking_uri(root / "runs")
        configure_tracking(tracking_uri, EXPERIMENT)
        with mlflow.start_run():
            versions = [
                log_keras_model(
                    model,
                    name="model",
                    example_input=example,
                    registered_model_name=MODEL_NAME,
                    tags=TAGS,
                )
                for _ in range(2)
            ]
    return Registered(tracking_uri, cwd, model, example, versions)


@pytest.fixture
def tracking(registered: Registered) -> Registered:
    """The registered models, with MLflow pointed at their store (other tests move it)."""
    configure_tracking(registered.tracking_uri, EXPERIMENT)
    return registered


def test_local_tracking_uri_is_absolute_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = local_tracking_uri(Path("runs"))
    assert uri == f"sqlite:///{tmp_path.resolve()}/runs/mlflow.db"
    assert (tmp_path / "runs").is_dir()


def test_configure_tracking_creates_then_reuses_experiment(tmp_path):
    import mlflow

    uri = local_tracking_uri(tmp_path / "runs")
    experiment_id = configure_tracking(uri, EXPERIMENT)
    experiment = mlflow.get_experiment(experiment_id)
    assert experiment.name == EXPERIMENT
    assert experiment.artifact_location == (tmp_path / "runs" / "artifacts").resolve().as_uri()
    assert mlflow.get_tracking_uri() == uri
    assert configure_tracking(uri, EXPERIMENT) == experiment_id


def test_versions_are_numbered_and_tagged(tracking):
    from mlflow import MlflowClient

    assert [v.version for v in tracking.versions] == [1, 2]
    for stored in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"):
        assert stored.tags == TAGS


def test_signature_describes_windows(tracking):
    from mlflow.models import get_model_info

    signature = get_model_info(f"models:/{MODEL_NAME}/1").signature
    assert signature.inputs.inputs[0].shape == (-1, 16, 8)
    assert signature.outputs.inputs[0].shape == (-1, 16, 1)


@pytest.mark.parametrize("reference", ["/1", "@champion"])
def test_load_registered_model_predicts_like_original(tracking, reference):
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", 1)
    loaded = load_keras_model(f"models:/{MODEL_NAME}{reference}")
    np.testing.assert_allclose(
        loaded.predict(tracking.example, verbose=0),
        tracking.model.predict(tracking.example, verbose=0),
        atol=1e-6,
    )


def test_load_refuses_unsafe_model(tracking):
    import keras
    import mlflow

    unsafe = keras.Sequential([keras.Input((16, 8)), keras.layers.Lambda(lambda x: x * 2.0)])
    with mlflow.start_run() as run:
        assert log_keras_model(unsafe, name="unsafe", example_input=tracking.example) is None
    with pytest.raises(ValueError, match="arbitrary code execution"):
        load_keras_model(f"runs:/{run.info.run_id}/unsafe")


def test_log_needs_active_run(tracking):
    with pytest.raises(RuntimeError, match="active MLflow run"):
        log_keras_model(tracking.model, name="model", example_input=tracking.example)


def test_nothing_written_to_working_directory(tracking, monkeypatch):
    monkeypatch.chdir(tracking.cwd)
    load_keras_model(f"models:/{MODEL_NAME}/2")
    assert list(tracking.cwd.iterdir()) == []
