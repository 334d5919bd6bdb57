"""Track the mouse through a recording: a per-video background model, then what differs from it.

What lab trackers (EthoVision, ezTrack, idtracker) rely on: the median of frames spread over the
whole video is the empty arena, so walls seen in perspective, dark rings and frame borders, floor
marks and static objects vanish from ``frame - background`` and the mouse is what is left. Per
frame:

* the signed difference (darker than the background for a dark mouse, lighter for a light one;
  ``polarity="auto"`` votes on the first frames) is thresholded at a fixed minimum contrast, and the
  candidate blob is the strongest one (area × contrast), preferring one near the last position;
* inside it, pixels fainter than a share of the blob's own peak contrast are dropped: the mouse's
  shadow on the floor and its reflection on a wall are paler copies of it;
* a morphological opening as wide as the body is thick removes the tail, so the centre is the
  body's area centroid; the blob's moment ellipse gives area, length, width and angle.

A mouse that sat still while the background was sampled is part of the background (and a clip of
a few frames has no clean one); then the mouse is looked for as the strongest compact blob that
stands out from its own surroundings (a morphological top-hat), near its last position. A frame
where neither finds a mouse is reported as not found (``found`` False, no position), never as the
last position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import get_args

import cv2
import numpy as np

from ethoflow.io.video import ImageFolder, VideoReader, check_picture, to_gray
from ethoflow.vision.arena import Polarity, find_arena

# Changes whenever tracking changes what the crops and posture features are: it is part of the
# featurisation id, so no champion is fed features from another tracker.
TRACKER_VERSION = "background-3"
BACKGROUND_FRAMES = 32  # frames spread over a recording whose median is its background
# A track's columns after the frame (or image): a Detection per row.
TRACK_COLUMNS = ["x", "y", "found", "confidence", "area", "length", "width", "angle"]
_POLARITIES: tuple[Polarity, ...] = ("dark_on_light", "light_on_dark")
_MIN_CONTRAST = 25  # grey levels a mouse pixel differs from the background, at least
_KEEP_OF_PEAK = 0.4  # pixels fainter than this share of the blob's peak are shadow/reflection
_KEEP_OF_PEAK_LIGHT = 0.2  # the same for a light mouse (no shadow of its polarity)
_MIN_AREA_FRACTION = 2e-4  # a mouse covers at least this share of the frame ...
_MAX_AREA_FRACTION = 0.15  # ... and at most this share
_POLARITY_VOTES = 15  # frames with a detection before "auto" polarity is fixed
_FALLBACK_REACH = 3.0  # local fallback: body lengths from the last position, at most
_SEARCH_SIDE = 240  # candidates are searched at about this many pixels on the short side
_PART_OF_BODY = 0.3  # a blob below this share of the running body area is part of the mouse
_TOO_LARGE = 2.5  # a blob above this multiple of the running body area is not the mouse
_GHOST_FRACTION = 0.04  # a mouse's ghost in the background covers at most this share of it
_TAIL_OPENING = 0.9  # opening width as a share of the body's half-thickness: below a head's
_BRIEF_SHARE = 0.25  # a pixel changed in at most this share of frames was passed, not sat on
_LOCAL_KERNEL = 0.2  # local fallback: top-hat width as a share of the frame's short side
_LOCAL_WINDOW = 0.12  # local fallback: half-width searched around an anchor, share of long side
# A detection must stand out from the floor around it in the frame itself by this share of the
# minimum contrast: where the background is wrong (it holds the mouse, or the light moved), the
# frame differs from it by a mouse's contrast while showing only floor.
_FLOOR_CONTRAST = 0.5


@dataclass(frozen=True)
class Detection:
    """The mouse in one frame: centre and body ellipse in pixels (NaN when not found)."""

    x: float
    y: float
    found: bool
    area: float
    length: float
    width: float
    angle: float  # degrees, of the ellipse's long axis, counter-clockwise from the image x axis
    confidence: float  # 0..1: the blob's contrast against the minimum, 0 when not found

    @staticmethod
    def missing() -> Detection:
        nan = math.nan
        return Detection(nan, nan, False, nan, nan, nan, nan, 0.0)


def estimate_background(frames: Iterable[np.ndarray]) -> np.ndarray:
    """The arena without the mouse (grey uint8): the per-pixel median of ``frames``.

    Where the mouse sat for more than half of the frames, the median is the mouse (a ghost); but
    in the frames where it was away the pixel is floor. The mouse's polarity shows in the pixels
    it changed only briefly, as it passed (a dark mouse darkens them); where pixels changed the
    other way in a mouse-sized patch, the frames that changed them show the floor.
    """
    stack = np.stack([to_gray(frame) for frame in frames])
    if len(stack) == 0:
        raise ValueError("estimate_background needs at least one frame")
    stack = _same_exposure(stack)
    low, median, high = np.percentile(stack, (10, 50, 90), axis=0)
    # Passing is brief; a ghost changes in every frame the mouse was away (often a third or more
    # of them), so the polarity is read from brief changes alone: on textured bedding a ghost
    # can outweigh the path in area.
    dark_share = (stack < median - _MIN_CONTRAST).mean(axis=0)
    light_share = (stack > median + _MIN_CONTRAST).mean(axis=0)
    brief = 1 / len(stack), _BRIEF_SHARE
    dark_path = np.count_nonzero((dark_share >= brief[0]) & (dark_share <= brief[1]))
    light_path = np.count_nonzero((light_share >= brief[0]) & (light_share <= brief[1]))
    if dark_path >= light_path:  # a dark mouse: its ghosts are darker than the floor
        ghosts, floor = high - median > _MIN_CONTRAST, high
    else:
        ghosts, floor = median - low > _MIN_CONTRAST, low
    # Only mouse-sized patches: a broad change is the light shifting, not a mouse that sat still.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ghosts.astype(np.uint8))
    mouse_sized = stats[:, cv2.CC_STAT_AREA] <= _GHOST_FRACTION * ghosts.size
    mouse_sized[0] = False
    background: np.ndarray = np.where(mouse_sized[labels], floor, median)
    return background.clip(0, 255).round().astype(np.uint8)


def _same_exposure(stack: np.ndarray) -> np.ndarray:
    """``stack`` (frames × H × W grey) with each frame's brightness mapped onto the median
    frame's by a least-squares gain and offset: a camera's exposure that settles or hunts moves
    the whole floor by more than a mouse's contrast in some frames (+28 grey levels in the first
    seconds of a real recording), and then the floor itself reads as a light mouse passing."""
    median = np.median(stack, axis=0)
    every = max(1, median.size // 20_000)  # a sample of pixels fits a gain as well as all do
    reference = median.ravel()[::every]
    spread = reference.var()
    out = np.empty(stack.shape, np.float32)
    for i, frame in enumerate(stack):
        values = frame.ravel()[::every].astype(np.float64)
        # A uniform picture has no gain to fit: its brightness moves as an offset alone.
        gain = np.cov(reference, values)[0, 1] / spread if spread >= 1 else 1.0
        gain = gain if gain > 0.5 else 1.0
        out[i] = (frame - (values.mean() - gain * reference.mean())) / gain
    return out


def _local_contrast(gray: np.ndarray, polarity: Polarity) -> np.ndarray:
    """How much each pixel stands out from its surroundings, darker (``dark_on_light``) or
    lighter: a morphological top-hat wider than any mouse, at half resolution for large frames
    (its cost grows with its width)."""
    h, w = gray.shape
    scale = 2 if min(h, w) > 600 else 1
    small = cv2.resize(gray, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
    size = max(3, int(min(small.shape) * _LOCAL_KERNEL) // 2 * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    operation = cv2.MORPH_BLACKHAT if polarity == "dark_on_light" else cv2.MORPH_TOPHAT
    contrast = cv2.morphologyEx(small, operation, kernel)
    if scale > 1:
        contrast = cv2.resize(contrast, (w, h), interpolation=cv2.INTER_LINEAR)
    return contrast


def body_ellipse(mask: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """(x, y, area, length, width, angle) of a non-empty binary mask's moment ellipse."""
    m = cv2.moments(mask, binaryImage=True)
    area = m["m00"]
    if area == 0:
        raise ValueError("body_ellipse needs a non-empty mask")
    mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
    spread = math.sqrt(((mu20 - mu02) / 2) ** 2 + mu11**2)
    large, small = (mu20 + mu02) / 2 + spread, max((mu20 + mu02) / 2 - spread, 0.0)
    # Image y points down: negate it so the angle reads counter-clockwise as on a plot.
    angle = -math.degrees(0.5 * math.atan2(2 * mu11, mu20 - mu02))
    return (
        m["m10"] / area,
        m["m01"] / area,
        float(area),
        4 * math.sqrt(large),
        4 * math.sqrt(small),
        angle,
    )


class MouseTracker:
    """Per video and stateful: call it on each frame in order; it returns a :class:`Detection`.

    ``background`` is the video's background (:func:`estimate_background`); without one, only
    the local-contrast detector is used. ``position`` is the last found centre.
    """

    def __init__(self, background: np.ndarray | None, *, polarity: Polarity = "auto") -> None:
        if polarity not in get_args(Polarity):
            raise ValueError(f"polarity must be one of {get_args(Polarity)}, got {polarity!r}")
        self.background = None if background is None else to_gray(background)
        self.polarity: Polarity = polarity
        self.position: tuple[float, float] | None = None
        self._votes: list[Polarity] = []
        self._arena_mask: np.ndarray | None = None
        self._body = math.nan  # running body length, for the tail opening and the fallback reach
        self._area = math.nan  # running body area: a much smaller blob is part of the mouse
        self._shape: tuple[int, int] = (0, 0)
        # Evidence for ethoflow.vision.quality: frames whose detection the frame itself did
        # not show (a ghost of the background), and how much of a typical frame differs from
        # the background (noise, a moving camera: the background never settles).
        self.ghost_frames = 0
        self.background_change: float | None = None

    @property
    def arena(self) -> np.ndarray:
        """uint8 mask of the arena floor (the whole frame when none was found)."""
        if self._arena_mask is None:
            raise ValueError("the tracker has seen no frame yet")
        return self._arena_mask

    @property
    def arena_side(self) -> float | None:
        """Short side of the arena's rotated bounding box in pixels (None before any frame)."""
        if self._arena_mask is None:
            return None
        return float(min(cv2.minAreaRect(cv2.findNonZero(self._arena_mask))[1]))

    def __call__(self, frame: np.ndarray) -> Detection:
        gray = to_gray(frame)
        if self.background is not None and gray.shape != self.background.shape:
            raise ValueError(
                f"frame shape {gray.shape} differs from the background's "
                f"{self.background.shape}; use one MouseTracker per video"
            )
        if self._arena_mask is None:
            # The background is the arena without the mouse: the best image to find it in.
            self._arena_mask = find_arena(self.background if self.background is not None else gray)
        self._shape = gray.shape
        detection = (
            self._from_background(gray, self.background) if self.background is not None else None
        )
        if detection is not None and not _stands_out(gray, detection):
            self.ghost_frames += 1
            detection = None
        if detection is None:
            detection = self._local(gray, self._motion(gray))
        elif math.isnan(self._area) or detection.area < _PART_OF_BODY * self._area:
            # Only part of a mouse that is mostly in the background may have moved (a head, a
            # paw): the whole body stands out from its surroundings there.
            local = self._local(gray, (detection.x, detection.y))
            if local.found and local.area > detection.area:
                detection = local
        elif detection.area > _TOO_LARGE * self._area:
            # Not this mouse: a broad change of the background next to where it sits.
            detection = self._local(gray, self.position)
        if detection.found:
            self.position = (detection.x, detection.y)
            self._area = (
                detection.area
                if math.isnan(self._area)
                else 0.9 * self._area + 0.1 * detection.area
            )
            self._body = (
                detection.length
                if math.isnan(self._body)
                else 0.9 * self._body + 0.1 * detection.length
            )
        return detection

    @classmethod
    def for_recording(cls, source: VideoReader | ImageFolder) -> MouseTracker:
        """A tracker for ``source`` (a video or image folder reader): its background from
        ``BACKGROUND_FRAMES`` frames spread over it, warmed up on those frames. Raises
        :class:`~ethoflow.errors.InputError` when they show nothing to track (black, frozen)."""
        sample = source.sample(BACKGROUND_FRAMES)
        check_picture(sample, source.path)
        background = estimate_background(sample)
        tracker = cls(background)
        tracker.background_change = float(
            np.median([_changed_share(to_gray(frame), background) for frame in sample])
        )
        tracker.warm_up(sample)
        tracker.ghost_frames = 0
        return tracker

    def warm_up(self, frames: Iterable[np.ndarray]) -> None:
        """Learn the mouse's polarity and size from ``frames`` (those the background came from,
        spread over the video), so that the first frames are tracked as well as the later
        ones; the position is forgotten."""
        for frame in frames:
            self(frame)
        self.position = None

    def crop_position(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """Where to centre a crop: the last found position, else the frame centre."""
        if self.position is not None:
            return self.position
        return ((shape[1] - 1) / 2, (shape[0] - 1) / 2)

    # --- background subtraction -----------------------------------------------------------

    def _from_background(self, gray: np.ndarray, background: np.ndarray) -> Detection | None:
        if self.polarity != "auto":
            return self._subtract(gray, background, self.polarity)
        found = [
            (polarity, detection)
            for polarity in _POLARITIES
            if (detection := self._subtract(gray, background, polarity)) is not None
        ]
        if not found:
            return None
        # The mouse is the frame's strongest compact difference; a region of the background that
        # changed (a cloth outside the arena, a shift of the light) is broad and pale.
        return self._vote(found, lambda d: d.confidence)

    def _vote(
        self, found: list[tuple[Polarity, Detection]], tie_break: Callable[[Detection], float]
    ) -> Detection:
        """The detection of the polarity chosen most so far (``tie_break`` decides between
        equals); "auto" polarity is fixed after enough frames."""
        counts = {polarity: self._votes.count(polarity) for polarity in _POLARITIES}
        polarity, detection = max(found, key=lambda item: (counts[item[0]], tie_break(item[1])))
        self._votes.append(polarity)
        if len(self._votes) >= _POLARITY_VOTES:
            self.polarity = max(set(self._votes), key=self._votes.count)
        return detection

    def _subtract(
        self, gray: np.ndarray, background: np.ndarray, polarity: Polarity
    ) -> Detection | None:
        if polarity == "dark_on_light":
            diff = cv2.subtract(background, gray)
        else:
            diff = cv2.subtract(gray, background)
        # A light mouse casts no light shadow: only its paler reflection needs cutting away, and
        # bright bedding under it lowers its contrast in places.
        keep = _KEEP_OF_PEAK if polarity == "dark_on_light" else _KEEP_OF_PEAK_LIGHT
        return self._blob(
            diff,
            confidence_scale=1.0,
            anchor=self.position,
            integrate=False,
            keep=keep,
            fill_holes=True,
        )

    def _blob(
        self,
        contrast: np.ndarray,
        *,
        confidence_scale: float,
        anchor: tuple[float, float] | None,
        integrate: bool,
        keep: float = _KEEP_OF_PEAK,
        fill_holes: bool = False,
    ) -> Detection | None:
        """The mouse in a map of how much each pixel stands out (0 = not at all), or None.

        Candidates are ranked by their mean contrast (``integrate``: summed over the blob), and
        one near ``anchor`` is preferred. ``fill_holes``: the map is a difference from the
        background, where floor as light (or dark) as the mouse leaves holes in its body (a
        top-hat's holes can be the mouse itself, inside the ring where it moved)."""
        h, w = contrast.shape
        # Candidates are found at a scale where the short side is about 240 px (plenty for a
        # mouse), then the chosen one is measured at full resolution.
        f = max(1, min(h, w) // _SEARCH_SIDE)
        small = cv2.resize(contrast, (w // f, h // f), interpolation=cv2.INTER_AREA)
        small = cv2.blur(small, (3, 3))
        peak = float(small.max())
        if peak < 2 * _MIN_CONTRAST:
            return None
        # Candidates stand out by a good share of the frame's strongest difference, which drops
        # broad pale changes of the background (light, shadows) before they merge with the mouse.
        level = max(_MIN_CONTRAST, keep * peak)
        _, mask = cv2.threshold(small, level, 255, cv2.THRESH_BINARY)
        labels, stats, centroids, (bx, by) = _components(mask)
        areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64) * f * f
        min_area, max_area = _MIN_AREA_FRACTION * h * w, _MAX_AREA_FRACTION * h * w
        candidates = np.flatnonzero((areas >= min_area) & (areas <= max_area)) + 1
        if candidates.size == 0:
            return None
        if candidates.size == 1:
            best = int(candidates[0])
        else:
            reduce = np.sum if integrate else np.mean
            boxed = small[by : by + labels.shape[0], bx : bx + labels.shape[1]]
            strength = np.array(
                [float(reduce(boxed[labels == k])) for k in candidates], dtype=np.float64
            )
            near = None if anchor is None else (anchor[0] / f, anchor[1] / f)
            best = _choose(candidates, strength, centroids, stats, near, self._reach / f)
        left, top, bw, bh = stats[best, :4] * f
        pad = 2 * f + 2
        x0, y0 = max(left - pad, 0), max(top - pad, 0)
        x1, y1 = min(left + bw + pad, w), min(top + bh + pad, h)
        roi = cv2.blur(contrast[y0:y1, x0:x1], (3, 3))
        # The chosen candidate at full resolution: the largest part above the level in its box.
        candidate = (roi > level).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            candidate, connectivity=8, ltype=_label_type(candidate)
        )
        if count < 2:
            return None
        blob = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        blob_peak = float(np.percentile(roi[blob], 95))
        # Shadows and reflections are paler copies of the mouse: keep what is close to its peak.
        body = (roi >= max(_MIN_CONTRAST, keep * blob_peak)) & blob
        body = body.astype(np.uint8)
        if fill_holes:
            _fill_small_holes(body)
        body = _without_tail(body)
        if body is None or cv2.countNonZero(body) < min_area / 2:
            return None
        x, y, area, length, width, angle = body_ellipse(body)
        confidence = confidence_scale * min(1.0, float(roi[body > 0].mean()) / (4 * _MIN_CONTRAST))
        return Detection(x + x0, y + y0, True, area, length, width, angle, confidence)

    @property
    def _reach(self) -> float:
        """How far from an anchor a blob still counts as near it: a body length (or 5 % of the
        frame before any body was measured)."""
        if not math.isnan(self._body):
            return max(self._body, 1.0)
        return 0.05 * max(self._shape)

    # --- when the background holds the mouse ----------------------------------------------

    def _motion(self, gray: np.ndarray) -> tuple[float, float] | None:
        """Where the frame differs most from the background in a mouse-sized neighbourhood: a
        mouse in the background still moves its edges a little."""
        if self.background is None:
            return None
        h, w = gray.shape
        small = (w // 4, h // 4)
        change = cv2.resize(cv2.absdiff(gray, self.background), small, interpolation=cv2.INTER_AREA)
        size = max(3, int(min(small) * 0.05) // 2 * 2 + 1)
        density = cv2.blur(change, (size, size))
        _, peak, _, (x, y) = cv2.minMaxLoc(density)
        return (4 * x + 2, 4 * y + 2) if peak >= 2 else None

    def _local(self, gray: np.ndarray, hint: tuple[float, float] | None) -> Detection:
        """The mouse as the strongest compact blob that stands out from its surroundings (a
        morphological top-hat wider than any mouse): for a mouse that sat still while the
        background was sampled, or a clip too short for a clean background. Near the last
        position only, when there is one."""
        polarities: list[Polarity] = (
            ["dark_on_light", "light_on_dark"] if self.polarity == "auto" else [self.polarity]
        )
        h, w = gray.shape
        anchor = hint or self.position
        found: list[tuple[Polarity, Detection]] = []
        for polarity in polarities:
            contrast = _local_contrast(gray, polarity)
            if anchor is not None:
                # Only around where the mouse was, or where something moved: bright edges and
                # objects elsewhere stand out from their surroundings too.
                half = int(_LOCAL_WINDOW * max(h, w))
                x, y = int(anchor[0]), int(anchor[1])
                window = np.zeros_like(contrast)
                window[max(y - half, 0) : y + half, max(x - half, 0) : x + half] = 1
                contrast = contrast * window
            detection = self._blob(contrast, confidence_scale=0.5, anchor=anchor, integrate=False)
            if detection is not None:
                found.append((polarity, detection))
        if not found:
            return Detection.missing()
        if anchor is None:
            detection = self._vote(found, lambda d: d.confidence)
        else:  # a dark gap beside a light mouse stands out too: the polarity nearer wins a tie
            detection = self._vote(found, lambda d: -math.hypot(d.x - anchor[0], d.y - anchor[1]))
        if self.position is not None and not math.isnan(self._body):
            reach = _FALLBACK_REACH * self._body
            if math.hypot(detection.x - self.position[0], detection.y - self.position[1]) > reach:
                return Detection.missing()
        return detection


def _changed_share(gray: np.ndarray, background: np.ndarray) -> float:
    """Share of the frame's pixels that differ from the background by twice the minimum
    contrast: a mouse's share in a recording (at most ``_MAX_AREA_FRACTION``), most of the frame
    where the background is no model of the frames."""
    return np.count_nonzero(cv2.absdiff(gray, background) > 2 * _MIN_CONTRAST) / gray.size


def _stands_out(gray: np.ndarray, detection: Detection) -> bool:
    """Whether the frame shows ``detection``'s body darker or lighter than the floor around it.

    Compared with the brighter (or darker) part of a ring around the body, so that a wall or a
    corner beside the mouse does not hide it."""
    reach = max(detection.length, 4.0)
    h, w = gray.shape
    x0, y0 = max(int(detection.x - reach), 0), max(int(detection.y - reach), 0)
    x1, y1 = min(int(detection.x + reach) + 1, w), min(int(detection.y + reach) + 1, h)
    roi = gray[y0:y1, x0:x1]
    centre = (detection.x - x0, detection.y - y0)
    axes = (max(detection.length, 2.0), max(detection.width, 2.0))
    body, ring = np.zeros(roi.shape, np.uint8), np.zeros(roi.shape, np.uint8)
    cv2.ellipse(body, (centre, (axes[0] * 0.6, axes[1] * 0.6), -detection.angle), 1, -1)
    cv2.ellipse(ring, (centre, (axes[0] * 1.8, axes[1] * 2.2), -detection.angle), 1, -1)
    cv2.ellipse(ring, (centre, (axes[0] * 1.2, axes[1] * 1.4), -detection.angle), 0, -1)
    if not body.any() or not ring.any():
        return True  # too small to tell: the other checks decide
    inside = float(np.median(roi[body > 0]))
    around_low, around_high = np.percentile(roi[ring > 0], (25, 75))
    step = max(around_high - inside, inside - around_low)
    return bool(step >= _FLOOR_CONTRAST * _MIN_CONTRAST)


def _choose(
    candidates: np.ndarray,
    strength: np.ndarray,
    centroids: np.ndarray,
    stats: np.ndarray,
    anchor: tuple[float, float] | None,
    reach: float,
) -> int:
    """The strongest candidate (halved when it touches the frame's edge: arenas lie inside the
    frame, changing surroundings do not), unless one within ``reach`` of ``anchor`` is at least
    60 % as strong."""
    h, w = stats[0, cv2.CC_STAT_HEIGHT], stats[0, cv2.CC_STAT_WIDTH]  # label 0 spans the frame
    left, top = stats[candidates, cv2.CC_STAT_LEFT], stats[candidates, cv2.CC_STAT_TOP]
    right = left + stats[candidates, cv2.CC_STAT_WIDTH]
    bottom = top + stats[candidates, cv2.CC_STAT_HEIGHT]
    border = (left == 0) | (top == 0) | (right >= w) | (bottom >= h)
    score = strength * np.where(border, 0.5, 1.0)
    best = int(np.argmax(score))
    if anchor is not None:
        distance = np.hypot(*(centroids[candidates] - anchor).T)
        near = np.flatnonzero(distance < reach)
        if near.size:
            nearest = int(near[np.argmax(score[near])])
            if score[nearest] >= 0.6 * score[best]:
                best = nearest
    return int(candidates[best])


def _without_tail(mask: np.ndarray) -> np.ndarray | None:
    """The largest part of ``mask`` after an opening narrower than the body's half-thickness
    (the tail goes; the head, narrower than the body but wider than a tail, stays); None if
    nothing is left."""
    radius = float(cv2.distanceTransform(mask, cv2.DIST_L2, 3).max())
    size = max(3, int(radius * _TAIL_OPENING) // 2 * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        opened, connectivity=8, ltype=_label_type(opened)
    )
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    largest: np.ndarray = (labels == best).astype(np.uint8)
    return largest


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """``cv2.connectedComponentsWithStats`` of ``mask`` (8-connected), labelled inside the
    bounding box of its non-zero pixels only: a mouse and some specks cover a small part of a
    frame, and labelling costs per pixel. Returns the box's labels, the stats and centroids in
    ``mask``'s coordinates (label 0's still span the whole mask) and the box's top-left corner.

    The box starts on even coordinates: OpenCV labels 2×2 blocks, and so the labels come out
    numbered as they would over the whole mask."""
    x, y, w, h = cv2.boundingRect(mask)
    x0, y0 = x - x % 2, y - y % 2
    box = mask[y0 : y + h, x0 : x + w]
    if box.size == 0:
        box = mask[:1, :1]  # nothing set: one background pixel, no components
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(
        box, connectivity=8, ltype=_label_type(box)
    )
    stats[1:, cv2.CC_STAT_LEFT] += x0
    stats[1:, cv2.CC_STAT_TOP] += y0
    centroids[1:] += (x0, y0)
    stats[0, :4] = 0, 0, mask.shape[1], mask.shape[0]
    return labels, stats, centroids, (x0, y0)


def _label_type(mask: np.ndarray) -> int:
    """16-bit component labels where they cannot overflow (at most one 8-connected component per
    2×2 pixels): OpenCV labels a frame in about half the time of 32-bit ones."""
    h, w = mask.shape
    return cv2.CV_16U if ((h + 1) // 2) * ((w + 1) // 2) < 2**16 else cv2.CV_32S


def _fill_small_holes(mask: np.ndarray) -> None:
    """Fill, in place, holes of ``mask`` smaller than a tenth of its area: floor as bright (or
    dark) as the mouse showing through it. Larger ones are floor enclosed by the mouse and
    something it touches."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return
    area = cv2.countNonZero(mask)
    holes = [
        c
        for c, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True)
        if parent >= 0 and cv2.contourArea(c) < 0.1 * area
    ]
    cv2.drawContours(mask, holes, -1, 1, cv2.FILLED)
