"""Publishing a model card: in the registry as the version's description, and in its run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ethoflow.features.drift import DriftLimits
from ethoflow.mlops.logged_evaluations import evaluation_table
from ethoflow.mlops.mlflow_store import client_or_default
from ethoflow.mlops.model_card import model_card, registry_description
from ethoflow.mlops.registered_models import logged_training_profile, model_name
from ethoflow.runtime.redact import redact_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

MODEL_CARD_ARTIFACT = "model_card.md"  # in a model's run, written on promotion


def write_model_card(
    head: str, version: str, limits: DriftLimits, *, client: MlflowClient | None = None
) -> str:
    """Write the model card of ``head``'s version ``version`` (:func:`ethoflow.mlops.model_card.
    model_card`, with the drift ``limits`` labelling applies) as the version's description in
    the registry and as ``model_card.md`` in its run; return the card."""
    client = client_or_default(client)
    name = model_name(head)
    model_version = client.get_model_version(name, version)
    assert model_version.run_id is not None  # versions are registered from runs
    metrics = evaluation_table(name, version, client=client)
    profile = logged_training_profile(model_version.run_id, client)
    tags = model_version.tags
    # Published where every registry reader sees it: no tag may show a password.
    card = redact_credentials(model_card(head, name, version, tags, metrics, profile, limits))
    client.log_text(model_version.run_id, card, MODEL_CARD_ARTIFACT)
    where = f"{MODEL_CARD_ARTIFACT} in run {model_version.run_id}"
    client.update_model_version(name, version, description=registry_description(card, where))
    return card
