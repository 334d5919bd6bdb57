"""Cut per-video feature sequences into fixed-length windows for the sequence models.

Windows never cross videos. The last, partial window of a video is zero-padded and its padding is
masked (weight 0), so with ``stride == window`` every frame appears in exactly one window — which is
how predictions are made — while training may overlap windows (``stride < window``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # (n, window, features) float32
    y: np.ndarray  # (n, window, 1) float32 targets, 0 on padding
    mask: np.ndarray  # (n, window) bool, False on padding
    video: np.ndarray  # (n,) index of the source sequence
    start: np.ndarray  # (n,) first frame of the window in its sequence


def make_windows(
    features: Sequence[np.ndarray],
    targets: Sequence[np.ndarray] | None = None,
    *,
    window: int,
    stride: int | None = None,
) -> Windows:
    """Windows of ``window`` frames every ``stride`` frames (default: ``window``) per sequence."""
    stride = window if stride is None else stride
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be positive, got {window} and {stride}")
    if stride > window:
        raise ValueError(f"stride {stride} > window {window} would skip frames")
    if targets is not None and len(targets) != len(features):
        raise ValueError(f"{len(features)} feature sequences but {len(targets)} target sequences")
    if not features:
        raise ValueError("no sequences to window")
    n_features = features[0].shape[1]
    starts = []
    for index, sequence in enumerate(features):
        if sequence.ndim != 2 or sequence.shape[1] != n_features:
            raise ValueError(
                f"sequence {index} has shape {sequence.shape}, expected (n, {n_features})"
            )
        if targets is not None and len(targets[index]) != len(sequence):
            raise ValueError(
                f"sequence {index} has {len(sequence)} frames but {len(targets[index])} targets"
            )
        # Starts every `stride` frames, plus one covering the tail if the stride skipped it.
        last = max(len(sequence) - window, 0)
        video_starts = list(range(0, last + 1, stride))
        if video_starts[-1] + window < len(sequence):
            video_starts.append(video_starts[-1] + stride)
        starts += [(index, start) for start in video_starts if start < len(sequence)]

    n = len(starts)
    x = np.zeros((n, window, n_features), np.float32)
    y = np.zeros((n, window, 1), np.float32)
    mask = np.zeros((n, window), bool)
    for row, (index, start) in enumerate(starts):
        chunk = features[index][start : start + window]
        x[row, : len(chunk)] = chunk
        mask[row, : len(chunk)] = True
        if targets is not None:
            y[row, : len(chunk), 0] = targets[index][start : start + window]
    videos, firsts = (np.array(column, dtype=np.int64) for column in zip(*starts, strict=True))
    return Windows(x=x, y=y, mask=mask, video=videos, start=firsts)


def balanced_weights(windows: Windows) -> np.ndarray:
    """Per-frame sample weights, (n, window): positives and negatives count equally; padding 0."""
    from sklearn.utils.class_weight import compute_sample_weight

    labels = windows.y[..., 0][windows.mask]
    if len(np.unique(labels)) < 2:
        raise ValueError("need both positive and negative frames to balance the classes")
    weights = np.zeros(windows.mask.shape, np.float32)
    weights[windows.mask] = compute_sample_weight("balanced", labels > 0.5)
    return weights


def frames_from_windows(
    values: np.ndarray, windows: Windows, lengths: Sequence[int]
) -> list[np.ndarray]:
    """Per-frame values of each sequence from per-window values (n, window[, 1]).

    Overlapping windows are averaged; with ``stride == window`` each frame has exactly one value.
    """
    values = values.reshape(windows.mask.shape)
    sums = [np.zeros(length, np.float64) for length in lengths]
    counts = [np.zeros(length, np.int64) for length in lengths]
    for row, (index, start) in enumerate(zip(windows.video, windows.start, strict=True)):
        valid = windows.mask[row]
        end = start + int(valid.sum())
        sums[index][start:end] += values[row][valid]
        counts[index][start:end] += 1
    if any((c == 0).any() for c in counts):
        raise ValueError("some frames are in no window")
    return [(s / c).astype(np.float32) for s, c in zip(sums, counts, strict=True)]
