"""Frame-rate standardisation (the study's Algorithm 1).

Frame ``i`` of a ``source_fps`` video sits at position ``i * target_fps / source_fps`` on the target
clock; it is kept when that position's integer part advances. 30 → 10 fps keeps every third frame,
25 → 10 keeps 0, 3, 5, 8, 10, …, and 10 → 10 keeps all. The matching label rows are kept with them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

T = TypeVar("T")

# Containers store rates like 29.97 as rationals; a tiny slack keeps i*ratio from landing just
# below an integer through float error.
_EPS = 1e-9


def _check_rates(source_fps: float, target_fps: float) -> float:
    if not (math.isfinite(source_fps) and source_fps > 0):
        raise ValueError(f"source_fps must be a positive number, got {source_fps}")
    if not (math.isfinite(target_fps) and target_fps > 0):
        raise ValueError(f"target_fps must be a positive number, got {target_fps}")
    if target_fps > source_fps * (1 + 1e-6):
        raise ValueError(
            f"cannot raise the frame rate from {source_fps:g} to {target_fps:g} fps; "
            "record at or above the target fps"
        )
    return target_fps / source_fps


def kept_frame_indices(n_frames: int, source_fps: float, target_fps: float) -> np.ndarray:
    """Indices of the frames (and label rows) that standardisation keeps."""
    ratio = _check_rates(source_fps, target_fps)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    slots = np.floor(np.arange(n_frames) * ratio + _EPS).astype(np.int64)
    keep = np.ones(n_frames, dtype=bool)
    keep[1:] = slots[1:] > slots[:-1]
    return np.flatnonzero(keep)


def standardize_fps(
    frames: Iterable[T], source_fps: float, target_fps: float
) -> Iterator[tuple[int, T]]:
    """Stream ``(source_index, frame)`` for the frames kept at ``target_fps``."""
    ratio = _check_rates(source_fps, target_fps)
    last_slot = -1
    for index, frame in enumerate(frames):
        slot = math.floor(index * ratio + _EPS)
        if slot > last_slot:
            last_slot = slot
            yield index, frame
