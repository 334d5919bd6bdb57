"""Evaluate flow: score registered model versions per recording condition, log it to MLflow."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, load_settings
from ethoflow.evaluation import evaluate_version, versions_to_evaluate, worst_condition
from ethoflow.flows.train import load, start_tracking
from ethoflow.promotion import model_name
from ethoflow.training.fit import Split
from ethoflow.versioning import dataset_lineage


@task(cache_policy=NO_CACHE)
def features_version(settings: Settings) -> str:
    return dataset_lineage(settings.paths.raw, settings.paths.features)["features_version"]


@task(cache_policy=NO_CACHE)
def pending_versions(head: str, features: str) -> list[str]:
    return versions_to_evaluate(model_name(head), features)


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{head}-v{version}")
def evaluate(head: str, version: str, test: Split, validation: Split, settings: Settings) -> dict:
    table = evaluate_version(
        model_name(head),
        version,
        test,
        validation,
        setting=settings.postprocess,
        fps=settings.ingest.target_fps,
    )
    conditions = table[(table.scope == "condition") & ~table.postprocessed]
    return {
        "head": head,
        "version": version,
        "worst_condition_pr_auc": worst_condition(table, "pr_auc"),
        **{f"{row.name} pr_auc": round(row.pr_auc, 3) for row in conditions.itertuples()},
    }


@flow(name="evaluate", log_prints=True)
def evaluate_flow(
    params: str = "params.yaml",
    heads: list[str] | None = None,
    versions: list[str] | None = None,
) -> list[dict]:
    """Evaluate model versions on the validation videos, per recording condition.

    By default every not-yet-evaluated version trained on the current features is evaluated;
    ``versions`` (with one head) re-evaluates chosen versions.
    """
    settings = load_settings(params)
    heads = heads or settings.train.heads
    if versions and len(heads) != 1:
        raise ValueError("versions can only be given together with exactly one head")
    start_tracking(settings)
    test, validation = load(settings, "test"), load(settings, "validation")
    # Hashing every feature matrix once, not once per head.
    features = None if versions else features_version(settings)
    rows = [
        evaluate(head, version, test, validation, settings)
        for head in heads
        for version in versions or pending_versions(head, features)
    ]
    if rows:
        create_table_artifact(key="evaluation", table=rows, description="Validation PR-AUC")
    get_run_logger().info("evaluated %d model versions", len(rows))
    return rows
