"""Per-video augmentation: one brightness / zoom / horizontal-flip setting for every frame.

A whole recording gets the same setting, as another camera or lamp would. Never rotation: arenas
are filmed upright, and rotated copies would teach the models views they never meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentSetting:
    brightness: float  # gain on pixel values
    zoom: float  # > 1 zooms in on the crop centre, < 1 zooms out
    flip: bool  # mirror left-right


def sample_augmentation(
    rng: np.random.Generator,
    *,
    brightness_range: tuple[float, float] = (0.75, 1.25),
    zoom_range: tuple[float, float] = (0.9, 1.15),
) -> AugmentSetting:
    """Draw one setting for a video from ``rng``."""
    for name, (low, high) in (("brightness_range", brightness_range), ("zoom_range", zoom_range)):
        if not 0 < low <= high:
            raise ValueError(f"{name} must satisfy 0 < low <= high, got {(low, high)}")
    return AugmentSetting(
        brightness=float(rng.uniform(*brightness_range)),
        zoom=float(rng.uniform(*zoom_range)),
        flip=bool(rng.random() < 0.5),
    )


def augment_frame(frame: np.ndarray, setting: AugmentSetting) -> np.ndarray:
    """Apply ``setting`` to one uint8 image, keeping its size."""
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(f"frame must be a 2-D or 3-D uint8 image, got {frame.dtype} {frame.shape}")
    h, w = frame.shape[:2]
    out = frame
    if setting.zoom != 1.0:
        # Scale about the centre; zooming out fills the margin with the replicated border.
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, setting.zoom)
        out = cv2.warpAffine(
            out, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    if setting.flip:
        out = cv2.flip(out, 1)
    if setting.brightness != 1.0:
        out = cv2.convertScaleAbs(out, alpha=setting.brightness)
    return out
