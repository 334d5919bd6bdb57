"""The MLflow store ethoflow writes to: its tracking URI, the experiment, a default client.

Entry points call :func:`start_tracking` (or :func:`configure_tracking`) once; the other modules
of this package take an optional ``MlflowClient`` and fall back on :func:`client_or_default`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ethoflow.config import Settings
from ethoflow.errors import NoChampionError

if TYPE_CHECKING:
    from mlflow import MlflowClient


def local_tracking_uri(folder: Path) -> str:
    """``sqlite:///`` URI of ``<folder>/mlflow.db`` (absolute), creating ``folder``.

    ``configure_tracking`` puts the artifacts of experiments it creates in ``<folder>/artifacts``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'mlflow.db').resolve()}"


def _artifact_location(tracking_uri: str) -> str | None:
    """``artifacts`` beside a SQLite database; None (the server decides) for other stores."""
    database = _sqlite_database(tracking_uri)
    return None if database is None else (database.resolve().parent / "artifacts").as_uri()


def experiment_id(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created (or restored, if deleted) when needed."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            # Without an explicit location a SQLite store writes artifacts to the CWD's ./mlruns.
            return client.create_experiment(
                name, artifact_location=_artifact_location(client.tracking_uri)
            )
        except MlflowException as error:  # another worker created it since we looked
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            found = client.get_experiment_by_name(name)
            assert found is not None  # creating it failed because it exists
    if found.lifecycle_stage == "deleted":
        # Deleted experiments accept no runs, and the pipeline must not stop for that.
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def configure_tracking(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and ``experiment`` (created if missing); return its id.

    For entry points only: it changes process-wide MLflow state. It also turns MLflow's usage
    telemetry off unless ``MLFLOW_DISABLE_TELEMETRY`` is already set, because a lab pipeline must
    not contact outside servers. The model registry follows the tracking URI unless
    ``MLFLOW_REGISTRY_URI`` is set.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    found = experiment_id(mlflow.MlflowClient(), experiment)
    mlflow.set_experiment(experiment_id=found)
    return found


def start_tracking(settings: Settings, *, create: bool = True) -> str:
    """``configure_tracking`` with the settings' tracking URI (SQLite under ``paths.mlflow`` by
    default) and experiment; returns the URI.

    ``create=False`` (labelling: it only reads champions) refuses a SQLite store that does not
    exist yet with :class:`NoChampionError`, rather than create an empty one at a mistyped path.
    """
    uri = settings.tracking_uri
    database = _sqlite_database(uri)
    if not create and database is not None and not database.is_file():
        raise NoChampionError(
            f"no MLflow store at {database} (train.tracking_uri {uri}): nothing was trained "
            "there yet. Run `ethoflow retrain`, or point train.tracking_uri at the lab's store"
        )
    if settings.train.tracking_uri is None:
        settings.paths.mlflow.mkdir(parents=True, exist_ok=True)
    configure_tracking(uri, settings.train.experiment)
    return uri


def _sqlite_database(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])


def client_or_default(client: MlflowClient | None) -> MlflowClient:
    """``client``, or a client on MLflow's current tracking and registry URIs."""
    if client is not None:
        return client
    from mlflow import MlflowClient

    return MlflowClient()
