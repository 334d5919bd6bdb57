"""Train flow: per behaviour head and architecture, an Optuna search tracked in MLflow."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, load_settings
from ethoflow.evaluation.reports import write_train_report
from ethoflow.features.drift import training_profile
from ethoflow.flows.tasks import load, start_tracking
from ethoflow.mlops.versioning import training_lineage
from ethoflow.training.fit import Budget, Split
from ethoflow.training.search import search_and_register


@task(cache_policy=NO_CACHE)
def lineage(settings: Settings) -> dict[str, str]:
    return training_lineage(settings)


@task(cache_policy=NO_CACHE)
def setup_profile(settings: Settings) -> dict:
    return training_profile(settings.paths.features)


@task(cache_policy=NO_CACHE, task_run_name="search-{head}-{architecture}")
def search(
    head: str,
    architecture: str,
    train: Split,
    test: Split,
    n_trials: int,
    budget: Budget,
    tags: dict[str, str],
    profile: dict,
    settings: Settings,
) -> dict:
    result = search_and_register(
        head,
        architecture,
        train,
        test,
        space=settings.train.search_space,
        n_trials=n_trials,
        storage=settings.optuna_storage_uri,
        budget=budget,
        lineage=tags,
        profile=profile,
        workers=settings.parallel.trial_workers,
    )
    return asdict(result)


@task(cache_policy=NO_CACHE)
def report(results: list[dict], settings: Settings) -> None:
    write_train_report(results, settings.paths.reports)


@flow(name="train", log_prints=True)
def train_flow(
    params: str = "params.yaml",
    heads: list[str] | None = None,
    architectures: list[str] | None = None,
    n_trials: int | None = None,
    max_epochs: int | None = None,
    patience: int | None = None,
) -> list[dict]:
    """Search each (head, architecture) pair and register its best model in MLflow.

    Parameters left empty take their defaults from params.yaml (train section).
    """
    settings = load_settings(params)
    t = settings.train
    budget = Budget(
        max_epochs or t.max_epochs, patience or t.patience, t.stride_fraction, settings.seed
    )
    start_tracking(settings)
    train, test = load(settings, "train"), load(settings, "test")
    tags = lineage(settings)
    profile = setup_profile(settings)
    results = [
        search(
            head,
            architecture,
            train,
            test,
            n_trials or t.n_trials,
            budget,
            tags,
            profile,
            settings,
        )
        for head in heads or settings.train.heads
        for architecture in architectures or settings.train.architectures
    ]
    report(results, settings)
    rows = [
        {k: r[k] for k in ("head", "architecture", "n_trials", "best_pr_auc", "model_version")}
        for r in results
    ]
    create_table_artifact(key="train-summary", table=rows, description="Best model per search")
    get_run_logger().info("\n".join(str(row) for row in rows))
    return results
