"""A head's per-frame probabilities for whole videos, as evaluation and labelling predict them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ethoflow.models.windows import frames_from_windows, make_windows

if TYPE_CHECKING:
    import keras

# Windows go through a model in batches of this size, the last one padded: one traced graph per
# model whatever a video's length (Keras' predict traces again for each new number of windows,
# seconds per head and recording).
_PREDICT_BATCH = 64


def predict_frames(model: keras.Model, features: list[np.ndarray], window: int) -> list[np.ndarray]:
    """Per-frame probabilities for whole videos: non-overlapping windows, each frame once."""
    windows = make_windows(features, window=window)
    batches = []
    for start in range(0, len(windows.x), _PREDICT_BATCH):
        batch = windows.x[start : start + _PREDICT_BATCH]
        padding = np.zeros((_PREDICT_BATCH - len(batch), *batch.shape[1:]), batch.dtype)
        predicted = np.asarray(model.predict_on_batch(np.concatenate([batch, padding])))
        batches.append(predicted[: len(batch)])
    return frames_from_windows(np.concatenate(batches), windows, [len(f) for f in features])
