"""Fit one binary head: load a split, train on windows, score PR-AUC on whole videos."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ethoflow.io.labels import label_targets
from ethoflow.models.windows import (
    balanced_weights,
    frames_from_windows,
    make_windows,
    with_labelled_frames,
)
from ethoflow.runtime import interrupt


@dataclass(frozen=True)
class Split:
    """The feature matrices and labels of one split, one entry per video (augmented copies too)."""

    video_ids: list[str]
    conditions: list[str]
    features: list[np.ndarray]
    labels: list[pd.DataFrame]  # frame, time_s, x, y, grooming, rearing (empty: unknown)

    def targets(self, head: str) -> list[np.ndarray]:
        """Per video, ``head``'s float32 0/1 targets, NaN on unknown frames."""
        return [label_targets(table[head]) for table in self.labels]

    @property
    def n_features(self) -> int:
        return int(self.features[0].shape[1])


def load_split(features_dir: Path, split: str) -> Split:
    """Read the ingest manifest's ``split`` rows (``train`` includes the augmented copies)."""
    manifest_path = Path(features_dir) / "manifest.csv"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: no manifest; run the ingest flow first")
    manifest = pd.read_csv(manifest_path)
    rows = manifest[manifest.split == split]
    if rows.empty:
        raise ValueError(f"{manifest_path}: no videos in split {split!r}")
    videos = Path(features_dir) / "videos"
    return Split(
        video_ids=rows.video_id.tolist(),
        conditions=rows.condition.tolist(),
        features=[np.load(videos / name) for name in rows.features],
        labels=[pd.read_csv(videos / name) for name in rows.labels],
    )


def pr_auc(targets: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision); NaN without positives."""
    from sklearn.metrics import average_precision_score

    targets = np.asarray(targets).ravel()
    if targets.sum() == 0:
        return math.nan
    return float(average_precision_score(targets, np.asarray(scores).ravel()))


def with_standardization(model, features: list[np.ndarray]):
    """Prefix ``model`` with a z-scoring layer fitted on ``features`` (the training frames).

    ResNet features differ in scale by orders of magnitude between channels; the statistics travel
    inside the saved model, so inference needs nothing else.
    """
    import keras

    stacked = np.concatenate(features)
    normalize = keras.layers.Normalization(
        axis=-1, mean=stacked.mean(axis=0), variance=stacked.var(axis=0) + 1e-6, name="standardize"
    )
    inputs = keras.Input(model.input_shape[1:], name="features")
    return keras.Model(inputs, model(normalize(inputs)), name=model.name)


EpochHook = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class Budget:
    """How one model is trained: the epoch limit, early stopping, window overlap and seed."""

    max_epochs: int
    patience: int  # epochs without a better test PR-AUC before stopping
    stride_fraction: float  # training windows start every ``window × stride_fraction`` frames
    seed: int


def train_head(
    architecture: str,
    hp: Mapping[str, Any],
    train: Split,
    test: Split,
    head: str,
    budget: Budget,
    *,
    on_epoch: EpochHook | None = None,
) -> tuple[Any, float, int]:
    """Train ``architecture`` with ``hp`` on ``train``; keep the epoch with the best test PR-AUC.

    Unknown frames weigh nothing in training and are not scored. Every epoch the whole test split
    is predicted and its labelled frames scored; training stops after ``patience``
    epochs without improvement. ``on_epoch(epoch, metrics)`` sees each epoch's metrics and may raise
    (Optuna's pruning does). Returns ``(model with the best weights, best PR-AUC, best epoch)``.
    """
    import keras

    from ethoflow.models import build_model

    window = int(hp["window"])
    keras.utils.set_random_seed(budget.seed)
    windows = with_labelled_frames(
        make_windows(
            train.features,
            train.targets(head),
            window=window,
            stride=max(1, round(window * budget.stride_fraction)),
        )
    )
    weights = balanced_weights(windows, f"the training split's {head} labels")
    test_targets = np.concatenate(test.targets(head))
    test_labelled = ~np.isnan(test_targets)
    if not test_targets[test_labelled].any():
        raise ValueError(f"the test split has no labelled {head} frames: PR-AUC is undefined")

    model = with_standardization(build_model(architecture, hp, train.n_features), train.features)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="binary_crossentropy",
    )
    # The optimizer's and the loss's state built now, on one window's shapes, as Keras builds it
    # itself under a distribution strategy: left to the first step, it is created inside the
    # traced train step, which TensorFlow then traces a second time (3-4 s of each trial's first
    # epoch on 2 cores, measured for every architecture).
    model._symbolic_build(data_batch=(windows.x[:1], windows.y[:1], weights[:1]))

    # The test split's windows are cut once; each epoch predicts them in one call (what
    # predict_frames does, without its per-call set-up of batches and iterators).
    test_windows = make_windows(test.features, window=window)
    test_lengths = [len(f) for f in test.features]

    class TestPrAuc(keras.callbacks.Callback):
        """Adds the whole test split's PR-AUC to each epoch's logs, for early stopping."""

        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            probabilities = np.asarray(self.model.predict_on_batch(test_windows.x))
            frames = frames_from_windows(probabilities, test_windows, test_lengths)
            scores = np.concatenate(frames)
            logs["test_pr_auc"] = pr_auc(test_targets[test_labelled], scores[test_labelled])

    stopping = keras.callbacks.EarlyStopping(
        monitor="test_pr_auc", mode="max", patience=budget.patience, restore_best_weights=True
    )

    class StopOnCtrlC(keras.callbacks.Callback):
        """A Ctrl-C stops training after the batch in hand: the trial fails, nothing registered."""

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            interrupt.check()

    callbacks = [TestPrAuc(), stopping, StopOnCtrlC()]
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(
                    epoch, {"loss": float(logs["loss"]), "test_pr_auc": logs["test_pr_auc"]}
                )
            )
        )
    model.fit(
        windows.x,
        windows.y,
        sample_weight=weights,
        batch_size=int(hp["batch_size"]),
        epochs=budget.max_epochs,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    return model, float(stopping.best), stopping.best_epoch
