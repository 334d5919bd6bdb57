"""Cut per-video feature sequences into fixed-length windows for the sequence models.

Windows never cross videos. The last, partial window of a video is zero-padded and its padding is
masked (weight 0), so with ``stride == window`` every frame appears in exactly one window — which is
how predictions are made — while training may overlap windows (``stride < window``). Unknown
frames (NaN targets, :func:`ethoflow.io.labels.label_targets`) are not labelled: like padding they
weigh nothing in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # (n, window, features) float32
    y: np.ndarray  # (n, window, 1) float32 targets, 0 on padding and unknown frames
    mask: np.ndarray  # (n, window) bool, False on padding
    labelled: np.ndarray  # (n, window) bool, mask and target known (mask without targets)
    video: np.ndarray  # (n,) index of the source sequence
    start: np.ndarray  # (n,) first frame of the window in its sequence


def make_windows(
    features: Sequence[np.ndarray],
    targets: Sequence[np.ndarray] | None = None,
    *,
    window: int,
    stride: int | None = None,
) -> Windows:
    """Windows of ``window`` frames every ``stride`` frames (default: ``window``) per sequence.

    ``targets`` are 0/1 per frame, NaN where unknown.
    """
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
    labelled = np.zeros((n, window), bool)
    for row, (index, start) in enumerate(starts):
        chunk = features[index][start : start + window]
        x[row, : len(chunk)] = chunk
        mask[row, : len(chunk)] = True
        if targets is None:
            labelled[row] = mask[row]
        else:
            chunk_targets = np.asarray(targets[index][start : start + window], np.float32)
            known = ~np.isnan(chunk_targets)
            y[row, : len(chunk), 0] = np.where(known, chunk_targets, 0.0)
            labelled[row, : len(chunk)] = known
    videos, firsts = (np.array(column, dtype=np.int64) for column in zip(*starts, strict=True))
    return Windows(x=x, y=y, mask=mask, labelled=labelled, video=videos, start=firsts)


def with_labelled_frames(windows: Windows) -> Windows:
    """The windows holding at least one labelled frame: the others weigh nothing in training and
    would only add steps of zero gradient to each epoch."""
    rows = windows.labelled.any(axis=1)
    return Windows(
        x=windows.x[rows],
        y=windows.y[rows],
        mask=windows.mask[rows],
        labelled=windows.labelled[rows],
        video=windows.video[rows],
        start=windows.start[rows],
    )


def balanced_weights(windows: Windows, what: str = "the training frames") -> np.ndarray:
    """Per-frame sample weights, (n, window): labelled positives and negatives count equally;
    padding and unknown frames 0. ValueError naming ``what`` without both classes."""
    from sklearn.utils.class_weight import compute_sample_weight

    labels = windows.y[..., 0][windows.labelled] > 0.5
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise ValueError(
            f"need both positive and negative labelled frames to balance the classes: {what} "
            f"hold {positives} positive and {len(labels) - positives} negative labelled frames "
            f"({int(windows.mask.sum()) - len(labels)} unknown)"
        )
    weights = np.zeros(windows.mask.shape, np.float32)
    weights[windows.labelled] = compute_sample_weight("balanced", labels)
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
