"""Train flow: per behaviour head and architecture, an Optuna search tracked in MLflow."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, TrainingBudget, load_settings
from ethoflow.evaluation.reports import write_train_report
from ethoflow.features.drift import training_profile
from ethoflow.flows.tasks import load, progress_artifact, start_tracking
from ethoflow.mlops.versioning import training_lineage
from ethoflow.training.fit import Budget
from ethoflow.training.search import Search, search_and_register


@task(cache_policy=NO_CACHE)
def lineage(settings: Settings) -> dict[str, str]:
    return training_lineage(settings)


@task(cache_policy=NO_CACHE)
def setup_profile(settings: Settings) -> dict:
    return training_profile(settings.paths.features)


@task(cache_policy=NO_CACHE, task_run_name="search-{search.head}-{search.architecture}")
def search(search: Search, tags: dict[str, str], profile: dict) -> dict:
    progress = progress_artifact(f"search-{search.head}-{search.architecture}-progress")
    return asdict(search_and_register(search, lineage=tags, profile=profile, report=progress))


@task(cache_policy=NO_CACHE)
def report(results: list[dict], settings: Settings) -> None:
    write_train_report(results, settings.paths.reports)


@flow(name="train", log_prints=True)
def train_flow(params: str, budget: TrainingBudget) -> list[dict]:
    """Search each (head, architecture) pair of ``budget`` and register its best model in MLflow.

    ``params``: the settings file; ``budget``: what to search and for how long (the CLI's and the
    deployments' default: params.yaml's train section).
    """
    settings = load_settings(params)
    t = settings.train
    fit_budget = Budget(budget.max_epochs, budget.patience, t.stride_fraction, settings.seed)
    start_tracking(settings)
    train, test = load(settings, "train"), load(settings, "test")
    tags = lineage(settings)
    profile = setup_profile(settings)
    searches = [
        Search(
            head,
            architecture,
            train,
            test,
            space=t.search_space,
            n_trials=budget.n_trials,
            storage=settings.optuna_storage_uri,
            budget=fit_budget,
            workers=settings.parallel.trial_workers,
        )
        for head in budget.heads
        for architecture in budget.architectures
    ]
    results = [search(one, tags, profile) for one in searches]
    report(results, settings)
    rows = [
        {k: r[k] for k in ("head", "architecture", "n_trials", "best_pr_auc", "model_version")}
        for r in results
    ]
    create_table_artifact(key="train-summary", table=rows, description="Best model per search")
    get_run_logger().info("\n".join(str(row) for row in rows))
    return results
