"""Promote flow: per head, the best evaluated model becomes `champion` only if it beats it."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, load_settings
from ethoflow.features.drift import DriftLimits
from ethoflow.flows.tasks import start_tracking
from ethoflow.mlops.champion_changes import promote_if_better
from ethoflow.mlops.champions import copy_champion
from ethoflow.mlops.model_card_writer import write_model_card


@task(cache_policy=NO_CACHE, task_run_name="promote-{head}")
def promote(head: str, settings: Settings) -> dict:
    p = settings.promote
    decision = promote_if_better(
        head, architecture=p.architecture, metric=p.metric, min_improvement=p.min_improvement
    )
    return decision.as_dict()


@task(cache_policy=NO_CACHE, task_run_name="model-card-{head}-v{version}")
def model_card(head: str, version: str, settings: Settings) -> str:
    return write_model_card(head, version, DriftLimits.from_settings(settings))


@task(cache_policy=NO_CACHE, task_run_name="openvino-copy-{head}-v{version}")
def openvino_copy(head: str, version: str, settings: Settings) -> None:
    copy_champion(head, version, settings)


@flow(name="promote", log_prints=True)
def promote_flow(params: str = "params.yaml", heads: list[str] | None = None) -> list[dict]:
    """Compare each head's best evaluated candidate with its champion; record every decision;
    write each new champion's model card and its OpenVINO copy, which labelling runs."""
    settings = load_settings(params)
    start_tracking(settings)
    decisions = [promote(head, settings) for head in heads or settings.train.heads]
    for d in decisions:
        if d["promoted"]:
            model_card(d["head"], d["candidate_version"], settings)
            openvino_copy(d["head"], d["candidate_version"], settings)
    create_table_artifact(key="promotion", table=decisions, description="Promotion decisions")
    for d in decisions:
        get_run_logger().info("%s: %s", d["head"], d["reason"])
    return decisions
