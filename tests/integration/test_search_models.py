"""A search registers its best trial's own model: no second training, unless that trial ran in
an earlier, interrupted search."""

import numpy as np
import pytest

from ethoflow.training import search
from ethoflow.training.fit import Budget, load_split
from helpers.features import SPACE, write_features

pytestmark = pytest.mark.slow  # a search of several trials


@pytest.fixture
def tracking(tmp_path):
    import mlflow

    from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri

    configure_tracking(local_tracking_uri(tmp_path / "runs"), "test")
    yield
    mlflow.set_tracking_uri(None)


def test_the_best_trial_is_registered_without_training_it_again(tmp_path, tracking, monkeypatch):
    from ethoflow.mlops.registered_models import load_keras_model
    from ethoflow.models.prediction import predict_frames
    from ethoflow.training.fit import pr_auc

    root = write_features(tmp_path / "features")
    train, test = load_split(root, "train"), load_split(root, "test")
    trainings = []
    train_head = search.train_head
    monkeypatch.setattr(
        search, "train_head", lambda *a, **k: trainings.append(a[0]) or train_head(*a, **k)
    )
    setup = search.Search(
        "grooming",
        "transformer",
        train,
        test,
        space=SPACE,
        n_trials=2,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        budget=Budget(max_epochs=2, patience=1, stride_fraction=1.0, seed=0),
    )
    lineage = {"features_version": "v"}
    first = search.search_and_register(setup, lineage=lineage)
    assert len(trainings) == 2  # the two trials; the best one's model is kept, not refitted
    model = load_keras_model(f"models:/ethoflow-grooming/{first.model_version}")
    scores = predict_frames(model, test.features, first.best_hp["window"])
    targets = np.concatenate(test.targets("grooming"))
    assert pr_auc(targets, np.concatenate(scores)) == pytest.approx(first.best_pr_auc, abs=1e-4)
    # The same study again: its trials are done, so the best one is trained again. Training on
    # CPU is not bit-reproducible (threaded reductions), so the refit is checked to be what is
    # registered, not to equal the first model.
    again = search.search_and_register(setup, lineage=lineage)
    assert len(trainings) == 3 and again.model_version == "2"
    refitted = load_keras_model(f"models:/ethoflow-grooming/{again.model_version}")
    scores = predict_frames(refitted, test.features, again.best_hp["window"])
    assert pr_auc(targets, np.concatenate(scores)) == pytest.approx(again.best_pr_auc, abs=1e-4)
