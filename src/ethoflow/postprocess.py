"""From a head's per-frame scores to its labels: the threshold, hysteresis, median smoothing and
the shortest bout, as labelling applies them and evaluation scores them."""

from __future__ import annotations

import numpy as np

from ethoflow.config import PostProcessing
from ethoflow.io.labels import as_binary, bouts


def as_scores(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as 1-D float64 scores; ValueError naming ``what`` unless 1-D and finite."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite")
    return array


def postprocess(predicted: np.ndarray, setting: PostProcessing) -> np.ndarray:
    """Median-filter one video's 0/1 predictions, then drop positive bouts that are too short."""
    from scipy.ndimage import median_filter

    smoothed = as_binary(predicted, "predicted")
    if setting.median_frames > 1 and len(smoothed):
        # "nearest" repeats the edge frames, so the first and last frames are not biased to 0.
        smoothed = median_filter(smoothed, size=setting.median_frames, mode="nearest")
    for start, stop in bouts(smoothed):
        if stop - start < setting.min_bout_frames:
            smoothed[start:stop] = 0
    return smoothed


def label_frames(scores: np.ndarray, threshold: float, setting: PostProcessing) -> np.ndarray:
    """One video's int8 labels from its per-frame scores: frames scoring ``>= threshold``, each
    bout grown into the adjacent frames scoring at least ``setting.low_threshold_share`` of it
    (hysteresis), then :func:`postprocess`."""
    from scipy.ndimage import label

    scores = as_scores(scores, "scores")
    predicted = scores >= threshold
    if setting.low_threshold_share < 1:
        # A bout's first and last frames are ambiguous (a body half raised, a stroke beginning):
        # on a set-up not trained on they score a little under the cut that its core clears.
        runs, _ = label(scores >= setting.low_threshold_share * threshold)
        predicted = np.isin(runs, runs[predicted])
    return postprocess(predicted.astype(np.int8), setting)
