"""The champions that label recordings, checked before any video is touched.

The ``label`` command, the label flow and the web UI all start labelling here, so each refuses
the same cases with the same message: no champion yet (``registry.NoChampionError``), champions
trained on features the settings no longer make (ValueError), a registry that cannot be read
(:class:`RegistryUnreadable`, the one a retry may fix).
"""

from __future__ import annotations

from ethoflow.config import Settings
from ethoflow.features.featurization import Featurization
from ethoflow.labelling.recording import HeadModel, check_featurization
from ethoflow.mlops import registry


class RegistryUnreadable(RuntimeError):
    """The model registry did not answer or could not be read (a server down, a store locked)."""


def champions_for_labelling(settings: Settings, *, models: bool = True) -> dict[str, HeadModel]:
    """Each of ``train.heads``' champion from the settings' registry, trained on the features the
    settings make; ``models=False`` reads their tags only (a check in a fraction of a second).

    Raises ``registry.NoChampionError``, ValueError or :class:`RegistryUnreadable`, each saying
    what to do.
    """
    from mlflow.exceptions import MlflowException

    try:
        registry.start_tracking(settings, create=False)
        heads = registry.load_champions(settings.train.heads, models=models)
    except MlflowException as error:
        raise RegistryUnreadable(
            f"the model registry at {settings.tracking_uri} cannot be read: {error.message}"
        ) from error
    check_featurization(heads, Featurization.from_settings(settings).id)
    return heads
