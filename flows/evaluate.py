"""Evaluate flow: score registered model versions per recording condition, log it to MLflow."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, load_settings
from ethoflow.evaluation.reports import trained_versions, write_evaluation_report
from ethoflow.flows.tasks import load, start_tracking
from ethoflow.mlops import logged_evaluations
from ethoflow.mlops.registered_models import model_name
from ethoflow.mlops.versioning import dataset_lineage
from ethoflow.training.fit import Split


@task(cache_policy=NO_CACHE)
def features_version(settings: Settings) -> str:
    return dataset_lineage(settings.paths.raw, settings.paths.features)["features_version"]


@task(cache_policy=NO_CACHE)
def pending_versions(head: str, features: str, settings: Settings) -> list[str]:
    return logged_evaluations.versions_to_evaluate(model_name(head), features, settings.postprocess)


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{head}-v{version}")
def evaluate(head: str, version: str, test: Split, validation: Split, settings: Settings) -> dict:
    evaluation = logged_evaluations.evaluate_version(
        model_name(head),
        version,
        test,
        validation,
        setting=settings.postprocess,
        fps=settings.ingest.target_fps,
    )
    return {"head": head, "version": version, **evaluation.summary()}


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def report(settings: Settings) -> dict:
    evaluated = logged_evaluations.evaluations_of(trained_versions(settings.paths.reports))
    return write_evaluation_report(evaluated, settings.paths.reports)


@flow(name="evaluate", log_prints=True)
def evaluate_flow(
    params: str = "params.yaml",
    heads: list[str] | None = None,
    versions: list[str] | None = None,
) -> list[dict]:
    """Evaluate model versions on the validation videos, per recording condition.

    By default every version trained on the current features that is not evaluated yet (or was
    evaluated with other post-processing) is evaluated; ``versions`` (with one head) re-evaluates
    chosen versions. The last training's versions are then reported in ``paths.reports``.
    """
    settings = load_settings(params)
    heads = heads or list(settings.train.heads)
    if versions and len(heads) != 1:
        raise ValueError("versions can only be given together with exactly one head")
    start_tracking(settings)
    test, validation = load(settings, "test"), load(settings, "validation")
    # Hashing every feature matrix once, not once per head.
    features = None if versions else features_version(settings)
    rows = [
        evaluate(head, version, test, validation, settings)
        for head in heads
        for version in (
            pending_versions(head, features, settings) if features is not None else versions or []
        )
    ]
    report(settings)
    if rows:
        create_table_artifact(key="evaluation", table=rows, description="Validation PR-AUC")
    get_run_logger().info("evaluated %d model versions", len(rows))
    return rows
