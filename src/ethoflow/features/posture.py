"""Per-frame posture and motion features from the mouse track, appended to the CNN features.

The detector's blob already measures what an ethologist would look at first: a rearing mouse
foreshortens (a shorter, smaller blob), a grooming one hunches (shorter and wider) and stays in
place. Sizes are divided by the video's medians, so they compare across cameras, zoom levels and
mice, and the per-video augmentations (brightness, zoom, flip) leave them unchanged.

A camera tilted off straight down foreshortens the floor along one image axis, so a mouse facing
along it looks short and hunched: lengths, widths and steps would depend on where the mouse
faces. The foreshortening is measured per video from the track itself (:func:`floor_unsquash`)
and undone before anything is measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POSTURE_FEATURES = ("area", "length", "width", "elongation", "speed")
# Changes whenever what the posture features measure changes: part of the featurisation id.
# v1 (ids without a version): image pixels; v2: a tilted camera's foreshortening undone.
POSTURE_VERSION = "v2"
_BINS = 12  # orientation bins over 180°
_MIN_PER_BIN = 10  # frames an orientation bin needs to count
_MIN_BINS = 6  # counted bins needed to measure the foreshortening at all
_STRETCHED = 1.5  # length/width from which a blob counts as a stretched body
_UPRIGHT = 0.92  # a foreshortening milder than this (a tilt under ~23°) is left alone
_STRETCH_PERCENTILE = 90  # of the lengths in a bin: the body at full stretch


def floor_unsquash(track: pd.DataFrame) -> np.ndarray:
    """The 2×2 map (image x right, y down; determinant 1) that undoes the camera's tilt.

    A stretched mouse's body has the same length whichever way it faces on the floor, so in the
    image its length traced over its orientation is the floor's circle seen through the camera:
    an ellipse. The 90th percentile of stretched frames' lengths in each orientation bin (the body
    at full stretch) gives points on it (per bin, not all frames together, so a mouse that mostly
    runs along one wall does not read as a tilt). The identity when the track is too short or
    turns too little to tell, or the camera looks straight enough down.
    """
    length, width, angle = (track[c].to_numpy(float) for c in ("length", "width", "angle"))
    ok = np.isfinite(length) & np.isfinite(width) & np.isfinite(angle) & (width > 0)
    ok[ok] &= length[ok] / width[ok] >= _STRETCHED
    # The track's angle is counter-clockwise with y up: flip it into image (y down) axes.
    phi = np.radians(-angle[ok]) % np.pi
    bins = np.minimum((phi / np.pi * _BINS).astype(int), _BINS - 1)
    points = []
    for b in range(_BINS):
        mine = bins == b
        if mine.sum() >= _MIN_PER_BIN:
            centre = np.median(phi[mine])
            points.append(
                np.percentile(length[ok][mine], _STRETCH_PERCENTILE)
                * np.array([np.cos(centre), np.sin(centre)])
            )
    if len(points) < _MIN_BINS:
        return np.eye(2)
    p = np.array(points)
    # The ellipse pᵀ Q p = 1 (Q symmetric) by least squares on its three coefficients.
    design = np.column_stack([p[:, 0] ** 2, 2 * p[:, 0] * p[:, 1], p[:, 1] ** 2])
    (a, b, c), *_ = np.linalg.lstsq(design, np.ones(len(p)), rcond=None)
    q = np.array([[a, b], [b, c]])
    values, vectors = np.linalg.eigh(q)
    if values[0] <= 0:  # not an ellipse: the lengths are too noisy to tell
        return np.eye(2)
    if np.sqrt(values[0] / values[1]) >= _UPRIGHT:
        return np.eye(2)
    # Q = (S Sᵀ)⁻¹ for the floor→image map S, so Q^½ takes the image back to the floor.
    root: np.ndarray = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    return root / float(np.sqrt(np.linalg.det(root)))


def _unsquashed(shape: pd.DataFrame, angle: np.ndarray, unsquash: np.ndarray) -> pd.DataFrame:
    """``shape``'s length and width after ``unsquash``, from each frame's moment ellipse."""
    theta = np.radians(-angle)  # image axes, y down
    axis = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    across = np.stack([-np.sin(theta), np.cos(theta)], axis=-1)
    length, width = shape.length.to_numpy(), shape.width.to_numpy()
    # The ellipse's covariance, mapped: U (l² a aᵀ + w² b bᵀ) Uᵀ.
    u_axis, u_across = axis @ unsquash.T, across @ unsquash.T
    cov = (length**2)[:, None, None] * np.einsum("ni,nj->nij", u_axis, u_axis) + (width**2)[
        :, None, None
    ] * np.einsum("ni,nj->nij", u_across, u_across)
    values = np.linalg.eigvalsh(cov)
    return shape.assign(length=np.sqrt(values[:, 1]), width=np.sqrt(values[:, 0]))


def posture_features(track: pd.DataFrame, fps: float) -> np.ndarray:
    """(frames, 5) float32: area, length and width relative to the video's medians, length/width,
    and speed in body lengths per second, a tilted camera's foreshortening undone.

    ``track`` has one row per frame with ``x, y`` (pixels) and the blob's ``area, length, width``
    and ``angle`` (NaN where the mouse was not found: those frames take the last shape and
    position found, or the first one before any).
    """
    missing = {"x", "y", "area", "length", "width", "angle"} - set(track.columns)
    if missing:
        raise ValueError(f"track lacks columns {sorted(missing)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if track.empty:
        return np.zeros((0, len(POSTURE_FEATURES)), np.float32)
    shape = track[["area", "length", "width", "angle"]].astype(float).ffill().bfill()
    if shape.isna().all().all():  # no mouse found in the whole video: nothing to measure
        return np.zeros((len(track), len(POSTURE_FEATURES)), np.float32)
    unsquash = floor_unsquash(track)
    if not np.allclose(unsquash, np.eye(2)):
        shape = _unsquashed(shape, shape.angle.to_numpy(), unsquash)
    shape = shape[["area", "length", "width"]]
    medians = shape.median()
    relative = shape / medians
    # Frames without a mouse keep the last position (the first found before it): no motion.
    x, y = track.x.ffill().bfill(), track.y.ffill().bfill()
    steps = np.column_stack([np.diff(x, prepend=x.iloc[0]), np.diff(y, prepend=y.iloc[0])])
    step = np.hypot(*(steps @ unsquash.T).T)
    columns = [
        relative.area,
        relative.length,
        relative.width,
        shape.length / shape.width.clip(lower=1.0),
        step * fps / medians.length,
    ]
    return np.column_stack(columns).astype(np.float32)
