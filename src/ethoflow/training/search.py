"""Bayesian hyper-parameter search per (behaviour head, architecture) with Optuna, in MLflow.

Each study uses the TPE sampler and a median pruner and lives in an RDB storage (SQLite by default),
so an interrupted search resumes where it stopped and several workers can share one. Each trial is
a nested MLflow run with its parameters, per-epoch metrics and duration; the study's best
configuration is then refitted and logged, with the search's parent run, as a registered model.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ethoflow.config import SearchSpace
from ethoflow.training.fit import Budget, Split, train_head

# Parameters each architecture reads besides the shared ones (window, batch size, layers, units,
# dropout, learning rate).
_SPECIFIC = {
    "lstm": (),
    "bilstm": (),
    "tcn": ("kernel_size", "dilation_depth", "stacks", "causal"),
    "transformer": ("heads",),
}


def suggest_hp(trial, architecture: str, space: SearchSpace) -> dict[str, Any]:
    """Draw one configuration for ``architecture`` from ``space``."""
    if architecture not in _SPECIFIC:
        raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(_SPECIFIC)}")
    hp: dict[str, Any] = {
        "window": trial.suggest_categorical("window", space.window),
        "batch_size": trial.suggest_categorical("batch_size", space.batch_size),
        "layers": trial.suggest_int("layers", *space.layers),
        "units": trial.suggest_int("units", *space.units, log=True),
        "dropout": trial.suggest_float("dropout", *space.dropout),
        "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
    }
    for name in _SPECIFIC[architecture]:
        value = getattr(space, name)
        if isinstance(value, list):
            hp[name] = trial.suggest_categorical(name, value)
        else:
            hp[name] = trial.suggest_int(name, *value)
    return hp


@dataclass(frozen=True)
class SearchResult:
    head: str
    architecture: str
    study_name: str
    n_trials: int
    best_hp: dict[str, Any]
    best_pr_auc: float
    model_version: str | None
    run_id: str


def run_search(
    head: str,
    architecture: str,
    train: Split,
    test: Split,
    *,
    space: SearchSpace,
    n_trials: int,
    storage: str,
    study_name: str,
    budget: Budget,
):
    """Run the study until it holds ``n_trials`` finished trials; return it.

    Trials already in the storage (from an earlier, interrupted run) count, so a re-run continues
    the search instead of restarting it. Must be called inside an active MLflow run, which becomes
    the trials' parent.
    """
    import mlflow
    import optuna

    if storage.startswith("sqlite:///"):  # SQLite creates the database but not its folder
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=budget.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2),
        load_if_exists=True,
    )
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

    def objective(trial: optuna.Trial) -> float:
        hp = suggest_hp(trial, architecture, space)
        started = time.perf_counter()
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            mlflow.log_params(
                {**hp, "architecture": architecture, "head": head, "trial": trial.number}
            )

            def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
                mlflow.log_metrics(metrics, step=epoch)
                trial.report(metrics["test_pr_auc"], epoch)
                if trial.should_prune():
                    mlflow.set_tag("state", "pruned")
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}")

            try:
                _, score, epoch = train_head(
                    architecture,
                    hp,
                    train,
                    test,
                    head,
                    replace(budget, seed=budget.seed + trial.number),
                    on_epoch=on_epoch,
                )
            finally:
                mlflow.log_metric("duration_s", time.perf_counter() - started)
            mlflow.log_metrics({"best_test_pr_auc": score, "best_epoch": epoch})
            mlflow.set_tag("state", "complete")
        trial.set_user_attr("best_epoch", epoch)
        return score

    remaining = n_trials - sum(t.state in finished for t in study.trials)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, catch=())
    return study


def search_and_register(
    head: str,
    architecture: str,
    train: Split,
    test: Split,
    *,
    space: SearchSpace,
    n_trials: int,
    storage: str,
    budget: Budget,
    lineage: dict[str, str],
) -> SearchResult:
    """Search, refit the best configuration and register it as a version of ``ethoflow-<head>``.

    ``lineage`` (data version, git commit, feature extractor, …) is set as tags on the run and on
    the model version. The study is named after the head, architecture, features version and search
    set-up, so new data or a new search space starts a new study while an interrupted one resumes.
    """
    import mlflow

    from ethoflow.registry import log_keras_model, model_name
    from ethoflow.training.windows import make_windows

    # A changed search space or budget makes earlier trials incomparable: it starts a new study.
    setup = hashlib.sha256(
        f"{space.model_dump_json()}{budget.max_epochs}{budget.patience}".encode()
    ).hexdigest()
    study_name = (
        f"{head}-{architecture}-{lineage.get('features_version', 'unversioned')}-{setup[:8]}"
    )
    tags = {"head": head, "architecture": architecture, "study": study_name, **lineage}
    with mlflow.start_run(run_name=f"search-{head}-{architecture}", tags=tags) as run:
        study = run_search(
            head,
            architecture,
            train,
            test,
            space=space,
            n_trials=n_trials,
            storage=storage,
            study_name=study_name,
            budget=budget,
        )
        best = study.best_trial
        hp = dict(best.params)
        # The refit repeats the best trial (same seed), now keeping the model.
        model, score, epoch = train_head(
            architecture,
            hp,
            train,
            test,
            head,
            replace(budget, seed=budget.seed + best.number),
        )
        mlflow.log_params(hp)
        mlflow.log_metrics(
            {
                "test_pr_auc": score,
                "best_epoch": epoch,
                "search_best_pr_auc": best.value,
                "trials": len(study.trials),
            }
        )
        example = make_windows(test.features[:1], window=int(hp["window"])).x[:1]
        version = log_keras_model(
            model,
            name="model",
            example_input=example,
            registered_model_name=model_name(head),
            tags={**tags, "window": str(hp["window"]), "test_pr_auc": f"{score:.4f}"},
        )
    return SearchResult(
        head=head,
        architecture=architecture,
        study_name=study_name,
        n_trials=len(study.trials),
        best_hp=hp,
        best_pr_auc=score,
        model_version=str(version.version) if version else None,
        run_id=run.info.run_id,
    )
