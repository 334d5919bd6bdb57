"""Training: windows → Optuna search → MLflow runs and registry, on tiny synthetic features."""

import json
from dataclasses import replace

import pytest

from ethoflow.config import load_settings
from ethoflow.training.fit import Budget, load_split, train_head
from ethoflow.training.search import Search, run_search, search_and_register
from helpers.features import SPACE, write_features


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = write_features(tmp_path_factory.mktemp("features"))
    return load_split(root, "train"), load_split(root, "test")


def test_training_is_reproducible_and_learns(splits):
    train, test = splits
    hp = {
        "window": 16,
        "batch_size": 8,
        "layers": 1,
        "units": 16,
        "dropout": 0.0,
        "learning_rate": 0.005,
        "kernel_size": 3,
        "dilation_depth": 3,
        "stacks": 1,
        "causal": False,
    }
    budget = Budget(max_epochs=6, patience=3, stride_fraction=0.5, seed=3)
    _, first, _ = train_head("tcn", hp, train, test, "grooming", budget)
    _, again, _ = train_head("tcn", hp, train, test, "grooming", budget)
    assert first == pytest.approx(again, abs=1e-3)
    assert first > 0.6  # positives are ~15 %: chance level is 0.15


def test_ctrl_c_stops_training_after_the_batch_in_hand(splits):
    """A SIGINT under the CLI's handler: the fit stops at the end of its first batch."""
    import os
    import signal
    import time

    from ethoflow.runtime.interrupt import Interrupted, stop_on_sigint

    train, test = splits
    hp = {"window": 16, "batch_size": 8, "layers": 1, "units": 8, "dropout": 0.0}
    hp |= {"learning_rate": 0.005, "kernel_size": 3, "dilation_depth": 2, "stacks": 1}
    budget = Budget(max_epochs=50, patience=50, stride_fraction=0.5, seed=3)
    batches = []
    with stop_on_sigint(), pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # Python runs the handler between bytecodes of the main thread
        train_head(
            "tcn", hp | {"causal": False}, train, test, "grooming", budget,
            on_epoch=lambda epoch, metrics: batches.append(epoch),
        )  # fmt: skip
    assert batches == []  # not one epoch finished


@pytest.mark.slow
def test_search_logs_nested_trials_and_registers_the_best(splits, tracking, tmp_path):
    import mlflow

    train, test = splits
    search = Search(
        "grooming",
        "tcn",
        train,
        test,
        space=SPACE,
        n_trials=3,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        budget=Budget(max_epochs=3, patience=2, stride_fraction=0.5, seed=0),
    )
    result = search_and_register(
        search, lineage={"features_version": "abc", "git_commit": "deadbeef"}
    )
    assert result.n_trials == 3 and result.model_version == "1"
    assert result.study_name.startswith("grooming-tcn-abc-")  # + a digest of the search set-up
    trials = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'", output_format="list"
    )
    assert len(trials) == 3
    client = mlflow.MlflowClient()
    for trial in trials:
        assert trial.data.params["architecture"] == "tcn"
        assert {"window", "units", "kernel_size", "learning_rate"} <= set(trial.data.params)
        assert "duration_s" in trial.data.metrics
        history = client.get_metric_history(trial.info.run_id, "test_pr_auc")
        assert 1 <= len(history) <= 3 and [m.step for m in history] == list(range(len(history)))
    version = client.get_model_version("ethoflow-grooming", "1")
    assert version.tags["architecture"] == "tcn" and version.tags["head"] == "grooming"
    assert version.tags["features_version"] == "abc" and version.tags["git_commit"] == "deadbeef"
    parent = client.get_run(result.run_id)
    assert parent.data.metrics["test_pr_auc"] == pytest.approx(result.best_pr_auc)


@pytest.mark.slow
def test_registered_model_loads_back_in_safe_mode(splits, tracking, tmp_path):
    from ethoflow.mlops.registered_models import load_keras_model
    from ethoflow.models.prediction import predict_frames

    train, test = splits
    search = Search(
        "rearing",
        "transformer",
        train,
        test,
        space=SPACE,
        n_trials=1,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        budget=Budget(max_epochs=2, patience=1, stride_fraction=1.0, seed=0),
    )
    result = search_and_register(search, lineage={})
    model = load_keras_model(f"models:/ethoflow-rearing/{result.model_version}")
    scores = predict_frames(model, test.features, result.best_hp["window"])
    assert [len(s) for s in scores] == [len(f) for f in test.features]


@pytest.mark.slow
def test_resuming_a_study_continues_it(splits, tracking, tmp_path):
    import mlflow

    train, test = splits
    search = Search(
        "grooming",
        "lstm",
        train,
        test,
        space=SPACE,
        n_trials=2,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        budget=Budget(max_epochs=1, patience=1, stride_fraction=1.0, seed=0),
    )
    more = replace(search, n_trials=3)
    with mlflow.start_run():
        first = run_search(search, study_name="resume")
        numbers = [t.number for t in first.trials]
        statuses = []
        second = run_search(more, study_name="resume", report=statuses.append)
        assert [t.number for t in second.trials] == [*numbers, 2]
        # Told at the start (2 trials from the first run: no pace yet) and after the new trial.
        assert [(s.done, s.total, s.left_s) for s in statuses] == [(2, 3, None), (3, 3, 0.0)]
        assert statuses[-1].text().startswith("search grooming/lstm: 3 of 3 trials done in ")
        third = run_search(more, study_name="resume")
        assert len(third.trials) == 3  # already complete: nothing re-run


@pytest.mark.slow
def test_flow_trains_from_params(tmp_path, prefect_harness):
    from ethoflow.flows.train import train_flow

    write_features(tmp_path / "data" / "features")
    params = tmp_path / "params.yaml"
    params.write_text(
        "train:\n  max_epochs: 2\n  patience: 1\n  search_space:\n    window: [16]\n"
        "    units: [8, 8]\n    layers: [1, 1]\n"
    )
    budget = load_settings(params).train.budget.override(
        heads=["grooming", "rearing"], architectures=["lstm"], n_trials=1
    )
    state = train_flow(params=str(params), budget=budget, return_state=True)
    assert state.is_completed()
    results = state.result()
    assert [(r["head"], r["architecture"], r["model_version"]) for r in results] == [
        ("grooming", "lstm", "1"),
        ("rearing", "lstm", "1"),
    ]
    assert (tmp_path / "mlflow" / "mlflow.db").is_file()
    assert (tmp_path / "runs" / "optuna.db").is_file()
    # The train report (a DVC output) names the versions this training registered.
    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert [(r["head"], r["model_version"]) for r in report] == [
        ("grooming", "1"),
        ("rearing", "1"),
    ]


def test_unknown_architecture_is_refused(splits):
    import optuna

    with pytest.raises(ValueError, match="unknown architecture 'gru'"):
        from ethoflow.training.search import suggest_hp

        suggest_hp(optuna.trial.FixedTrial({}), "gru", SPACE)
