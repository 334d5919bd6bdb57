"""Each head's champion: the registered version aliased ``champion``, which labelling serves,
loaded with the tags that say how to use it.

The ``label`` command, the label flow and the web UI all start labelling at
:func:`champions_for_labelling`, so each refuses the same cases with the same message: no
champion yet (:class:`~ethoflow.errors.NoChampionError`), champions trained on features the
settings no longer make (ValueError), a registry that cannot be read
(:class:`RegistryUnreadable`, the one a retry may fix).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ethoflow.config import Settings
from ethoflow.errors import NoChampionError
from ethoflow.features.featurization import Featurization
from ethoflow.labelling.recording import HeadModel, check_featurization
from ethoflow.mlops.mlflow_store import client_or_default, start_tracking
from ethoflow.mlops.registered_models import load_keras_model, logged_training_profile, model_name
from ethoflow.runtime.redact import redact_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

CHAMPION = "champion"
PREVIOUS = "previous"
_REQUIRED_TAGS = ("window", "featurization", "threshold")


def model_aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """Alias -> version of registered model ``name``; empty if the model does not exist."""
    from mlflow.exceptions import MlflowException

    # get_registered_model rather than get_model_version_by_alias: the latter reports a missing
    # alias as INVALID_PARAMETER_VALUE, indistinguishable from other bad requests.
    try:
        registered = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise
    # Versions come back as ints from the SQL store; keep one type throughout.
    return {alias: str(version) for alias, version in registered.aliases.items()}


def champion_version(head: str, client: MlflowClient | None = None) -> ModelVersion | None:
    """The version aliased ``champion`` of ``head``'s registered model; None if there is none."""
    client = client_or_default(client)
    name = model_name(head)
    version = model_aliases(client, name).get(CHAMPION)
    return None if version is None else client.get_model_version(name, version)


def _usable_tags(name: str, version: str, tags: dict[str, str]) -> tuple[float, int, str]:
    """The champion's threshold, window and featurisation tags, or a NoChampionError."""
    missing = [tag for tag in _REQUIRED_TAGS if tag not in tags]
    if not missing:
        try:
            threshold, window = float(tags["threshold"]), int(tags["window"])
        except ValueError:
            threshold, window = math.nan, 0
        if math.isfinite(threshold) and window >= 1:
            return threshold, window, tags["featurization"]
    problem = f"lacks the tag(s) {missing}" if missing else "has an unusable threshold or window"
    raise NoChampionError(
        f"{name} version {version} (the {CHAMPION!r}) {problem}; training sets "
        "window and featurization, evaluation sets threshold. Run `ethoflow retrain` to train and "
        "evaluate models, then `ethoflow promote` to make an evaluated one champion"
    )


def load_champions(
    heads: Sequence[str],
    *,
    client: MlflowClient | None = None,
    models: bool = True,
    cache: Path | None = None,
) -> dict[str, HeadModel]:
    """Load each head's ``champion`` version with its window, featurisation and threshold tags.

    ``client`` finds the champion; the model itself is downloaded through MLflow's current
    tracking/registry URI, so both must point at the same store. ``models=False`` reads the
    tags only (``model`` None): a check in a fraction of a second, before any work. With the
    models comes each version's training profile
    (:func:`~ethoflow.mlops.registered_models.logged_training_profile`; None for a version logged
    without one). With a ``cache`` folder, each model runs in OpenVINO from its copy there
    (:func:`champion_model`).
    """
    loaded = {}
    for head in heads:
        name = model_name(head)
        champion = champion_version(head, client)
        if champion is None:
            raise NoChampionError(
                f"{name} has no {CHAMPION!r} version, so {head!r} cannot be labelled: train and "
                "evaluate models with `ethoflow retrain`, then choose one with `ethoflow promote`"
            )
        version = str(champion.version)
        threshold, window, featurization = _usable_tags(name, version, champion.tags)
        # By version, not alias: the alias may move between reading the tags and the download.
        assert champion.run_id is not None  # versions are registered from runs
        model = champion_model(champion, cache) if models else None
        profile = logged_training_profile(champion.run_id, client) if models else None
        loaded[head] = HeadModel(
            head, name, version, model, threshold, window, featurization, profile
        )
        log.info("%s: champion version %s, threshold %.4g", name, version, threshold)
    return loaded


def champions_cache(settings: Settings) -> Path:
    """Where the champions' OpenVINO copies are kept: ``paths.runs/champions/``."""
    return settings.paths.runs / "champions"


def copy_champion(head: str, version: str, settings: Settings) -> None:
    """Make version ``version`` of ``head``'s model's OpenVINO copy now (at its promotion), so
    that the first labelling with it need not import TensorFlow either; checked on the
    evaluation recordings (the validation split's features) when the project has them."""
    from ethoflow.training.fit import load_split

    try:
        recordings = load_split(settings.paths.features, "validation").features
    except (FileNotFoundError, ValueError):  # no ingest here, or no validation videos
        recordings = []
    client = client_or_default(None)
    champion = client.get_model_version(model_name(head), version)
    champion_model(champion, champions_cache(settings), recordings)


def champion_model(
    champion: ModelVersion, cache: Path | None, recordings: Sequence[np.ndarray] = ()
) -> Any:
    """The champion's model: its OpenVINO copy in ``cache`` (no TensorFlow imported), else the
    Keras model, copied there for the next runs when OpenVINO's outputs equal Keras' (on windows
    of ``recordings``' features, or random ones).

    A copy's folder is named by the version and its run: a version's model never changes, and
    another store's version of the same number comes from another run.
    """
    from ethoflow.models.openvino_model import OpenVinoModel, openvino_copy

    # By version, not alias: the alias may move between reading the tags and the download.
    uri = f"models:/{champion.name}/{champion.version}"
    if cache is None:
        return load_keras_model(uri)
    copy = _copy_of(champion, cache)
    if copy.is_file():
        return OpenVinoModel(copy)
    model = load_keras_model(uri)
    return openvino_copy(model, copy.parent, recordings) or model


def _copy_of(champion: ModelVersion, cache: Path) -> Path:
    """Where ``champion``'s OpenVINO copy is kept (whether or not it was made)."""
    return cache / champion.name / f"v{champion.version}-{champion.run_id}" / "model.xml"


def champions_copied(settings: Settings) -> bool:
    """Whether every head's champion has its OpenVINO copy, so labelling need not import
    TensorFlow; False also when a head has no champion."""
    from mlflow import MlflowClient

    uri, cache = settings.tracking_uri, champions_cache(settings)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champions = [champion_version(head, client) for head in settings.train.heads]
    return all(c is not None and _copy_of(c, cache).is_file() for c in champions)


class RegistryUnreadable(RuntimeError):
    """The model registry did not answer or could not be read (a server down, a store locked)."""


def champions_for_labelling(settings: Settings, *, models: bool = True) -> dict[str, HeadModel]:
    """Each of ``train.heads``' champion from the settings' registry, trained on the features the
    settings make; ``models=False`` reads their tags only (a check in a fraction of a second).
    The models run in OpenVINO from their copies under ``paths.runs/champions/``, made at the
    first load of a version (:func:`champion_model`).

    Raises :class:`~ethoflow.errors.NoChampionError`, ValueError or :class:`RegistryUnreadable`,
    each saying what to do.
    """
    from mlflow.exceptions import MlflowException

    try:
        start_tracking(settings, create=False)
        heads = load_champions(settings.train.heads, models=models, cache=champions_cache(settings))
    except MlflowException as error:
        # MLflow's message may repeat the URL: the whole message is redacted.
        message = f"the model registry at {settings.tracking_uri} cannot be read: {error.message}"
        raise RegistryUnreadable(redact_credentials(message)) from error
    check_featurization(heads, Featurization.from_settings(settings).id)
    return heads
