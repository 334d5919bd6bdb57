"""Fixed-size crops centred on the mouse, padded where they run past the frame."""

from __future__ import annotations

import math

import cv2
import numpy as np


def crop_around(frame: np.ndarray, center: tuple[float, float], size: int = 160) -> np.ndarray:
    """size×size crop centred on `center`; parts outside the frame are padded (edge replicated).

    ``center`` is ``(x, y)`` in pixels; the crop's pixel ``[size // 2, size // 2]`` is the frame
    pixel nearest to it. Works for grey (H×W) and colour (H×W×C) frames of any size, including
    frames smaller than ``size`` and centres on or beyond the frame edge.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or 0 in frame.shape[:2]:
        shape = getattr(frame, "shape", None)
        raise ValueError(f"frame must be a non-empty H×W or H×W×C array, got shape {shape}")
    x, y = (float(c) for c in center)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"center must be finite, got {center!r}")
    h, w = frame.shape[:2]
    left = math.floor(x + 0.5) - size // 2
    top = math.floor(y + 0.5) - size // 2
    if left >= 0 and left + size <= w and top >= 0 and top + size <= h:
        return frame[top : top + size, left : left + size].copy()
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + size, w), min(top + size, h)
    if x0 < x1 and y0 < y1:
        # OpenCV pads in C: ~40x faster than indexing, and a mouse near a wall is common.
        padded = cv2.copyMakeBorder(
            frame[y0:y1, x0:x1],
            y0 - top,
            top + size - y1,
            x0 - left,
            left + size - x1,
            cv2.BORDER_REPLICATE,
        )
        return padded.reshape((size, size, *frame.shape[2:]))  # OpenCV drops a single channel
    # No overlap at all: clipping the indices into the frame repeats its edge pixels outward.
    rows = np.clip(np.arange(top, top + size), 0, h - 1)
    cols = np.clip(np.arange(left, left + size), 0, w - 1)
    return frame[rows[:, None], cols[None, :]]
