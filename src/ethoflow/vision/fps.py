"""Frame-rate standardisation (the study's Algorithm 1, extended to slow cameras).

The target clock has a slot every ``1 / target_fps`` s; ``n`` source frames span
``ceil(n * target_fps / source_fps)`` slots, so ``rows / target_fps`` is the recording's duration
for any camera. Slower to the target (the study's rule): each slot takes the first frame at or
after its start, so 30 → 10 fps keeps every third frame, 25 → 10 keeps 0, 3, 5, 8, 10, … and
10 → 10 keeps all. Faster (a 5 or 7.5 fps camera): each slot takes the frame showing at its start,
a frame standing for its time span (5 → 10: 0, 0, 1, 1, 2, 2, …). The matching label rows are kept,
or repeated, with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
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
    return target_fps / source_fps


def kept_frame_indices(n_frames: int, source_fps: float, target_fps: float) -> np.ndarray:
    """Source frame index (and label row) of each target-clock slot, in order."""
    ratio = _check_rates(source_fps, target_fps)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    slots = np.arange(_slot_count(n_frames, ratio))
    indices = np.ceil(slots / ratio - _EPS) if ratio <= 1 else np.floor(slots / ratio + _EPS)
    # A slot that starts within the last frame's span but after its start takes that frame.
    return np.minimum(indices.astype(np.int64), n_frames - 1)


def standardize_fps(
    frames: Iterable[T], source_fps: float, target_fps: float
) -> Iterator[tuple[int, T]]:
    """Stream ``(source_index, frame)`` for each target-clock slot (see the module)."""
    ratio = _check_rates(source_fps, target_fps)
    slot, index = 0, -1
    frame: T  # bound whenever a slot remains after the loop: there was a frame
    for index, frame in enumerate(frames):
        while _source_index(slot, ratio) == index:
            yield index, frame
            slot += 1
    while slot < _slot_count(index + 1, ratio):
        yield index, frame
        slot += 1


def shown_frames(source_fps: float, target_fps: float) -> Callable[[int], bool]:
    """Whether source frame ``index`` fills a slot of the target clock (30 → 10 fps: one frame in
    three): the frames a video reader must turn into pictures, while it decodes them all. A slot
    after the end that shows the last frame (25 → 10 fps, 3 frames: frames 0, 2) is not
    counted: which frame is last, a stream learns only after it."""
    ratio = _check_rates(source_fps, target_fps)
    if ratio > 1:
        return lambda index: True

    def shown(index: int) -> bool:
        # The slots that can take frame ``index``, judged by the function the stream uses, so
        # no rounding can tell them apart.
        first = max(math.floor((index - 1) * ratio) - 1, 0)
        slots = range(first, math.ceil(index * ratio) + 1)
        return any(_source_index(slot, ratio) == index for slot in slots)

    return shown


def _source_index(slot: int, ratio: float) -> int:
    if ratio <= 1:
        return math.ceil(slot / ratio - _EPS)
    return math.floor(slot / ratio + _EPS)


def _slot_count(n_frames: int, ratio: float) -> int:
    """Target-clock slots that start within ``n_frames`` source frames."""
    return math.ceil(n_frames * ratio - _EPS)
