"""Per-frame posture and motion features from the mouse track, appended to the CNN features.

The detector's blob already measures what an ethologist would look at first: a rearing mouse
foreshortens (a shorter, smaller blob), a grooming one hunches (shorter and wider) and stays in
place. Sizes are divided by the video's medians, so they compare across cameras, zoom levels and
mice, and the per-video augmentations (brightness, zoom, flip) leave them unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POSTURE_FEATURES = ("area", "length", "width", "elongation", "speed")


def posture_features(track: pd.DataFrame, fps: float) -> np.ndarray:
    """(frames, 5) float32: area, length and width relative to the video's medians, length/width,
    and speed in body lengths per second.

    ``track`` has one row per frame with ``x, y`` (pixels) and the blob's ``area, length, width``
    (NaN where the mouse was not found: those frames take the last shape and position found, or
    the first one before any).
    """
    missing = {"x", "y", "area", "length", "width"} - set(track.columns)
    if missing:
        raise ValueError(f"track lacks columns {sorted(missing)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if track.empty:
        return np.zeros((0, len(POSTURE_FEATURES)), np.float32)
    shape = track[["area", "length", "width"]].astype(float).ffill().bfill()
    if shape.isna().all().all():  # no mouse found in the whole video: nothing to measure
        return np.zeros((len(track), len(POSTURE_FEATURES)), np.float32)
    medians = shape.median()
    relative = shape / medians
    # Frames without a mouse keep the last position (the first found before it): no motion.
    x, y = track.x.ffill().bfill(), track.y.ffill().bfill()
    step = np.hypot(np.diff(x, prepend=x.iloc[0]), np.diff(y, prepend=y.iloc[0]))
    columns = [
        relative.area,
        relative.length,
        relative.width,
        shape.length / shape.width.clip(lower=1.0),
        step * fps / medians.length,
    ]
    return np.column_stack(columns).astype(np.float32)
