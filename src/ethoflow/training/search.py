"""Bayesian hyper-parameter search per (behaviour head, architecture) with Optuna, in MLflow.

Each study uses the TPE sampler and a median pruner and lives in an RDB storage (SQLite by default),
so an interrupted search resumes where it stopped and several processes can run its trials at once
(``workers``; on more machines, a PostgreSQL storage they all reach). Each trial is a nested MLflow
run with its parameters, per-epoch metrics and duration; the best trial's model (kept on disk
while the search runs; refitted only when that trial ran in an earlier, interrupted search) is
then logged, with the search's parent run, as a registered model.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ethoflow.config import SearchSpace
from ethoflow.runtime.progress import Progress, Reporter
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


@dataclass(frozen=True)
class Search:
    """One (head, architecture) search: its data, space and budget, and where its trials go."""

    head: str
    architecture: str
    train: Split
    test: Split
    space: SearchSpace
    n_trials: int  # finished trials the study ends with
    storage: str  # Optuna's RDB storage URL
    budget: Budget  # of each trial's training
    workers: int = 1  # processes running the trials at once


@dataclass(frozen=True)
class StudyJob:
    """One study's trials and where they are recorded: all a trial-running process needs (it is
    pickled to each spawned worker)."""

    search: Search
    study_name: str
    tracking_uri: str  # MLflow's, with the experiment and the parent run of the trials' runs
    experiment_id: str
    parent_run_id: str
    # Where a trial better than its worker's earlier ones saves its model (trial-<number>.keras),
    # so the best one is registered without training it again; None: no models kept.
    models_dir: str | None = None


# How long a process waits for a SQLite database another process is writing, instead of failing.
_SQLITE_LOCK_TIMEOUT_S = 60
# How often a search run by worker processes counts their finished trials (each takes minutes).
_PROGRESS_POLL_S = 5.0


def _load_study(job: StudyJob, worker: int):
    """The job's study (created if new) with a TPE sampler seeded per worker: workers with one
    seed would propose the same first configurations."""
    import optuna

    # Optuna's notes (a trial finished or failed) go through logging like every library's, to
    # where the run logs (the CLI's log file, Prefect's run log), not to a handler of its own.
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    url = job.search.storage
    storage: str | optuna.storages.RDBStorage = url
    if url.startswith("sqlite:///"):  # SQLite creates the database but not its folder
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": _SQLITE_LOCK_TIMEOUT_S}}
        )
    return optuna.create_study(
        study_name=job.study_name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=job.search.budget.seed + worker),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2),
        load_if_exists=True,
    )


def run_trials(
    job: StudyJob, worker: int, n_trials: int, trial_ended: Callable[[], None] | None = None
) -> None:
    """Run ``n_trials`` trials of the job's study in this process, each a run nested under the
    job's parent run, calling ``trial_ended`` after each. ``worker`` (0, 1, …) seeds this
    process's sampler."""
    import mlflow
    import optuna

    mlflow.set_tracking_uri(job.tracking_uri)
    study = _load_study(job, worker)
    search = job.search
    best_here = -float("inf")  # this worker's best score: the study's best is one of theirs

    def objective(trial: optuna.Trial) -> float:
        nonlocal best_here
        hp = suggest_hp(trial, search.architecture, search.space)
        started = time.perf_counter()
        with mlflow.start_run(
            run_name=f"trial-{trial.number}",
            experiment_id=job.experiment_id,
            parent_run_id=job.parent_run_id,
            nested=True,
        ):
            searched = {"architecture": search.architecture, "head": search.head}
            mlflow.log_params({**hp, **searched, "trial": trial.number})

            def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
                mlflow.log_metrics(metrics, step=epoch)
                trial.report(metrics["test_pr_auc"], epoch)
                if trial.should_prune():
                    mlflow.set_tag("state", "pruned")
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}")

            try:
                model, score, epoch = train_head(
                    search.architecture,
                    hp,
                    search.train,
                    search.test,
                    search.head,
                    replace(search.budget, seed=search.budget.seed + trial.number),
                    on_epoch=on_epoch,
                )
            finally:
                mlflow.log_metric("duration_s", time.perf_counter() - started)
            mlflow.log_metrics({"best_test_pr_auc": score, "best_epoch": epoch})
            mlflow.set_tag("state", "complete")
        trial.set_user_attr("best_epoch", epoch)
        if job.models_dir is not None and score > best_here:
            model.save(trial_model_path(job.models_dir, trial.number))
        best_here = max(best_here, score)
        return score

    callbacks = [] if trial_ended is None else [lambda study, trial: trial_ended()]
    study.optimize(objective, n_trials=n_trials, catch=(), callbacks=callbacks)


def trial_model_path(models_dir: str | Path, number: int) -> Path:
    """Where trial ``number`` of a search keeps its model (:attr:`StudyJob.models_dir`)."""
    return Path(models_dir) / f"trial-{number}.keras"


def _finished_trials(study) -> int:
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=finished))


def run_search(
    search: Search,
    *,
    study_name: str,
    models_dir: str | Path | None = None,
    report: Reporter | None = None,
):
    """Run the study ``study_name`` until it holds ``search.n_trials`` finished trials; return it.

    Trials already in the storage (from an earlier, interrupted run) count, so a re-run continues
    the search instead of restarting it. With ``search.workers`` > 1, that many spawned processes
    run the remaining trials at once (each a share of them), reading and writing the one study in
    ``search.storage``. Must be called inside an active MLflow run, which becomes the trials'
    parent. With ``models_dir``, each trial that beats its worker's earlier trials saves its model
    there (:func:`trial_model_path`). The trials done and the time left are told as the search's
    :class:`~ethoflow.runtime.progress.Progress` (to ``report`` too).
    """
    import mlflow

    parent = mlflow.active_run()
    if parent is None:
        raise RuntimeError("run_search needs an active MLflow run: the trials' runs nest under it")
    workers = search.workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    job = StudyJob(
        search,
        study_name,
        mlflow.get_tracking_uri(),
        parent.info.experiment_id,
        parent.info.run_id,
        None if models_dir is None else str(models_dir),
    )
    study = _load_study(job, worker=0)
    finished = _finished_trials(study)
    trials = Progress(
        f"search {search.head}/{search.architecture}",
        search.n_trials,
        unit="trial",
        done=finished,
        report=report,
    )
    remaining = search.n_trials - finished
    # Each worker gets its share up front: the study ends with exactly n_trials, with no race
    # between workers over whether one more trial is needed.
    shares = [remaining // workers + (w < remaining % workers) for w in range(workers)]
    shares = [share for share in shares if share > 0]
    if len(shares) == 1:
        # In this process, as without workers: a spawned one spends seconds importing TensorFlow.
        run_trials(job, 0, shares[0], trial_ended=lambda: trials.advance(_finished_trials(study)))
    elif shares:
        # Spawned, not forked: a fork of a process running TensorFlow's threads can deadlock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(shares), mp_context=context) as pool:
            running = [pool.submit(run_trials, job, w, share) for w, share in enumerate(shares)]
            unfinished = set(running)
            while unfinished:
                unfinished = wait(unfinished, timeout=_PROGRESS_POLL_S).not_done
                trials.advance(_finished_trials(study))
            for worker in running:
                worker.result()  # a worker's failure fails the search, as a trial's does
    return study


def search_and_register(
    search: Search,
    *,
    lineage: dict[str, str],
    profile: dict | None = None,
    report: Reporter | None = None,
) -> SearchResult:
    """Search, then register the best trial's model as a version of ``ethoflow-<head>``.

    The model is the one the best trial trained and scored, kept from the search (trained again,
    same seed, only when that trial ran in an earlier, interrupted search).

    ``lineage`` (data version, git commit, feature extractor, …) is set as tags on the run and on
    the model version; ``profile`` (:func:`ethoflow.features.drift.training_profile`), the training
    recordings' set-up numbers and feature summaries, is logged as the run's ``profile.json``,
    which labelling scores new recordings against. The study is named after the head,
    architecture, features version and search set-up, so new data or a new search space starts a
    new study while an interrupted one resumes (see :func:`run_search`). ``report`` is told the
    trials done and the time left after each trial.
    """
    import mlflow

    from ethoflow.mlops.registered_models import PROFILE_ARTIFACT, log_keras_model, model_name
    from ethoflow.models.windows import make_windows

    head, architecture, budget = search.head, search.architecture, search.budget
    # A changed search space or budget makes earlier trials incomparable: it starts a new study.
    setup = hashlib.sha256(
        f"{search.space.model_dump_json()}{budget.max_epochs}{budget.patience}".encode()
    ).hexdigest()
    study_name = (
        f"{head}-{architecture}-{lineage.get('features_version', 'unversioned')}-{setup[:8]}"
    )
    tags = {"head": head, "architecture": architecture, "study": study_name, **lineage}
    with (
        mlflow.start_run(run_name=f"search-{head}-{architecture}", tags=tags) as run,
        tempfile.TemporaryDirectory(prefix="ethoflow-trials-") as models_dir,
    ):
        study = run_search(search, study_name=study_name, models_dir=models_dir, report=report)
        best = study.best_trial
        hp = dict(best.params)
        kept = trial_model_path(models_dir, best.number)
        if kept.is_file():  # the best trial ran now: its model, as it was scored
            from ethoflow.models import load_model

            model, score, epoch = load_model(kept), float(best.value), best.user_attrs["best_epoch"]
        else:
            # The best trial ran in an earlier, interrupted search: repeat it (same seed).
            model, score, epoch = train_head(
                architecture,
                hp,
                search.train,
                search.test,
                head,
                replace(budget, seed=budget.seed + best.number),
            )
        mlflow.log_params(hp)
        if profile is not None:
            mlflow.log_dict(profile, PROFILE_ARTIFACT)
        mlflow.log_metrics(
            {
                "test_pr_auc": score,
                "best_epoch": epoch,
                "search_best_pr_auc": best.value,
                "trials": len(study.trials),
            }
        )
        example = make_windows(search.test.features[:1], window=int(hp["window"])).x[:1]
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
