"""Motion inside the mouse's body, frame to frame: where grooming shows.

A grooming mouse and a resting one have the same hunched silhouette and neither moves across
the floor; only the strokes of head and forepaws tell them apart. So each kept frame is compared
with the previous one, both cut out around the mouse's own centre (the body's travel cancels), and
the change is measured inside the body ellipse, separately in its front and back halves (which end
is the head is not known, so the busier half and the stiller half are reported). The tracker's
centre wobbles by a pixel as a resting mouse breathes (its outline, and so its centroid, moves):
each pixel's change is the smaller of the change as cut and the change after the best small
realignment of the two cut-outs, so a wobble does not read as a stroke, and a realignment
misled by the strokes themselves cannot add change. The lamp's
flicker is divided out first (frame means), and the change is expressed in units of the mouse's
contrast against the floor (the video's median), so it compares across cameras, lighting, black
and white mice and the brightness augmentation.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from ethoflow.vision.crop import crop_around

MOTION_FEATURES = ("motion_busy_half", "motion_still_half")
# Changes whenever what the motion features measure changes: part of the featurisation id.
# v1 (ids without a version): mean change as cut; v2: realigned, root mean square; v3: the noise
# floor removed in quadrature.
MOTION_VERSION = "v3"
_INSIDE = 0.85  # share of the body ellipse measured: its rim moves whenever the centre jitters
_RING = (1.3, 1.8)  # the floor around the body, in body-ellipse radii: the contrast reference
_SMOOTHING = 0.03  # Gaussian sigma over body length, applied before frames are compared
_REALIGN = 0.05  # the largest realignment, over body length (a wobble is ~1-2 % of it)


class BodyMotion:
    """Stateful, per video: call it on each kept frame in order with that frame's detection.

    Returns ``(busy, still, contrast)``: the root-mean-square grey-level change in the busier
    and the stiller half of the body since the previous frame, and the body's contrast against
    the floor around it (NaN where the mouse or the previous frame's mouse was not found).
    """

    def __init__(self) -> None:
        self._previous: tuple[np.ndarray, float, float, float] | None = None

    def __call__(
        self, frame: np.ndarray, x: float, y: float, length: float, width: float, angle: float
    ) -> tuple[float, float, float]:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        level = float(cv2.mean(gray)[0])
        previous, self._previous = self._previous, None
        if not all(math.isfinite(v) for v in (x, y, length, width, angle)) or length < 2:
            return math.nan, math.nan, math.nan
        self._previous = (gray, level, x, y)
        size = 2 * int(math.ceil(_RING[1] * length / 2)) + 1
        # Smoothing over a few pixels keeps strokes (paws are ~5 % of the body long) and drops
        # most sensor noise and compression blocks.
        sigma = max(1.0, _SMOOTHING * length)
        here = cv2.GaussianBlur(crop_around(gray, (x, y), size).astype(np.float32), (0, 0), sigma)
        inside, front, ring = _regions(size, length, width, angle)
        contrast = abs(float(here[inside].mean()) - float(here[ring].mean()))
        if previous is None:
            return math.nan, math.nan, contrast
        before_gray, before_level, bx, by = previous
        before_crop = crop_around(before_gray, (bx, by), size).astype(np.float32)
        before: np.ndarray = cv2.GaussianBlur(before_crop, (0, 0), sigma)
        before *= level / max(before_level, 1.0)
        change = np.minimum(np.abs(here - before), np.abs(here - _realigned(before, here, length)))
        # Root mean square, not mean: a paw is a small part of a half, and under sensor noise the
        # mean absolute change hardly grows with a small stroke, while squares add up.
        square = change * change
        halves = (
            math.sqrt(float(square[inside & front].mean())),
            math.sqrt(float(square[inside & ~front].mean())),
        )
        return max(halves), min(halves), contrast


def _realigned(before: np.ndarray, here: np.ndarray, length: float) -> np.ndarray:
    """``before`` shifted onto ``here`` by their phase correlation, at most ``_REALIGN`` body
    lengths each way."""
    size = here.shape[1], here.shape[0]
    (dx, dy), _ = cv2.phaseCorrelate(before, here, _hanning(size))
    limit = _REALIGN * length
    shift = np.array(
        [[1, 0, np.clip(dx, -limit, limit)], [0, 1, np.clip(dy, -limit, limit)]], np.float32
    )
    realigned: np.ndarray = cv2.warpAffine(
        before, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return realigned


@functools.lru_cache(maxsize=8)
def _hanning(size: tuple[int, int]) -> np.ndarray:
    """The phase correlation's window for a patch of ``size``, made once per size."""
    window = cv2.createHanningWindow(size, cv2.CV_32F)
    window.flags.writeable = False
    return window


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (y, x) from the centre of a size×size patch; a body's size barely changes
    from frame to frame, so the same few grids serve a whole video."""
    half = size // 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def _regions(
    size: int, length: float, width: float, angle: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks of a size×size patch centred on the body: inside the body ellipse, the
    front half along its long axis, and the ring of floor around it."""
    yy, xx = _grid(size)
    theta = math.radians(angle)
    # The track's angle is counter-clockwise with image y pointing down.
    along = xx * math.cos(theta) - yy * math.sin(theta)
    across = xx * math.sin(theta) + yy * math.cos(theta)
    radius = np.hypot(along / max(length / 2, 1.0), across / max(width / 2, 1.0))
    inside = radius <= _INSIDE
    if inside.sum() < 4:  # a tiny blob: keep the centre pixels
        inside = radius <= np.sort(radius.ravel())[3]
    return inside, along >= 0, (radius >= _RING[0]) & (radius <= _RING[1])


def motion_features(raw: np.ndarray) -> np.ndarray:
    """(frames, 2) float32 from :class:`BodyMotion`'s (frames, 3) outputs, per recording: the
    busy and still halves' change above the camera's noise floor (the video's median change in
    the still half), divided by the video's median contrast; frames without a measure get 0.

    Noise and strokes add in squares, so the floor is removed in quadrature: subtracting it
    shrank a stroke to s²/2n under strong noise n, and a noisy camera's grooming scored low."""
    raw = np.asarray(raw, np.float64).reshape(-1, 3)
    contrast, still = (raw[:, i][np.isfinite(raw[:, i])] for i in (2, 1))
    scale = max(float(np.median(contrast)), 1.0) if contrast.size else 1.0
    noise = float(np.median(still)) if still.size else 0.0
    above = np.sqrt(np.clip(raw[:, :2] ** 2 - noise**2, 0.0, None))
    return np.nan_to_num(above / scale, nan=0.0).astype(np.float32)
