"""Find the arena in a top-view frame (best: the video's background, without the mouse).

The arena is the largest rectangle-like region (rotation allowed) with a brightness step on all
four edges, over a sweep of thresholds: with a side lamp, one whole-frame Otsu threshold can merge
the floor with the background. Its short side scales distances to cm. The mouse itself is found
by :mod:`ethoflow.vision.track`.
"""

from __future__ import annotations

from typing import Literal

import cv2
import cv2.typing
import numpy as np

from ethoflow.io.video import to_gray

Polarity = Literal["auto", "dark_on_light", "light_on_dark"]

_MIN_ARENA_FRACTION = 0.1  # an arena covers at least this share of the frame
_FULL_FRAME_FRACTION = 0.75  # an arena covering more than this is taken to fill the frame
_MIN_RECTANGULARITY = 0.85  # blob area / its rotated bounding rectangle's area
_ARENA_OPENING = 0.1  # disc radius cutting objects off the arena, as a share of the short side
_ARENA_LEVEL_STEP = 12  # grey-level spacing of the thresholds tried when looking for the arena
_MIN_EDGE_CONTRAST = 10  # grey levels between the two sides of every arena edge
_OPENING = 0.03  # closing kernel (bridges floor lines), as a share of the short side
_MAX_MOUSE_FRACTION = 0.2  # holes up to this share of the frame (a mouse) are filled


def _odd(value: float) -> int:
    return max(3, int(value) // 2 * 2 + 1)


def find_arena(gray: np.ndarray) -> np.ndarray:
    """uint8 mask (255 inside) of the arena floor; the whole frame when the arena fills it.

    One Otsu threshold is not enough here: a side lamp can make the background on one side as
    dark as the floor. So thresholds are swept, and the largest rectangle-like region (rotation
    allowed) that lies inside the frame and has a brightness step along all four edges is the
    arena. An arena cut by the frame edge, or covering most of the frame, gives the whole frame.
    """
    gray = to_gray(gray)
    h, w = gray.shape
    full = np.full((h, w), 255, np.uint8)
    if min(h, w) < 16:
        return full
    smooth = cv2.GaussianBlur(gray, (5, 5), 0)
    # Half resolution is plenty to find a region covering a tenth of the frame, and makes the
    # sweep four times cheaper; the edges are then placed at full resolution.
    half = cv2.resize(smooth, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    for level, darker, box in _arena_candidates(half):
        mode = cv2.THRESH_BINARY_INV if darker else cv2.THRESH_BINARY
        _, binary = cv2.threshold(smooth, level, 255, mode)
        (cx, cy), (bw, bh), angle = box
        # Half-resolution pixel i covers full-resolution pixels 2i and 2i + 1.
        corners = _refine_box(binary, ((2 * cx + 0.5, 2 * cy + 0.5), (2 * bw, 2 * bh), angle))
        if cv2.contourArea(corners) > _FULL_FRAME_FRACTION * h * w:
            continue
        if _edge_contrast(smooth, corners) >= _MIN_EDGE_CONTRAST:
            mask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 255)
            return mask
    return full


def _arena_candidates(gray: np.ndarray) -> list[tuple[int, bool, cv2.typing.RotatedRect]]:
    """``(level, darker, rotated box)`` of rectangle-like regions, largest first.

    ``darker`` says the region is at or below ``level`` (a dark floor) rather than above it.
    """
    h, w = gray.shape
    small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(_OPENING * min(h, w)),) * 2)
    low, high = np.percentile(gray, (1, 99))
    found: list[tuple[float, int, bool, cv2.typing.RotatedRect]] = []
    for level in range(_ARENA_LEVEL_STEP, 255, _ARENA_LEVEL_STEP):
        if not low < level < high:
            continue
        _, above = cv2.threshold(gray, level, 255, cv2.THRESH_BINARY)
        for darker, binary in ((False, above), (True, cv2.bitwise_not(above))):
            # Lines drawn on the floor would split it into quadrants and the mouse is a hole in
            # it: bridge the lines and fill small holes so neither dents the arena's outline.
            # Then a wide opening cuts off objects that touch the arena from outside.
            binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, small)
            binary = _fill_holes(binary, max_area=_MAX_MOUSE_FRACTION * h * w)
            binary = _open_wide(binary, _ARENA_OPENING * min(h, w))
            count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
            for label in range(1, count):
                x, y, bw, bh, area = stats[label]
                if not _MIN_ARENA_FRACTION * h * w <= area <= _FULL_FRAME_FRACTION * h * w:
                    continue
                if x == 0 or y == 0 or x + bw == w or y + bh == h:
                    continue  # cut by the frame edge: not an arena seen whole
                box = cv2.minAreaRect(cv2.findNonZero((labels == label).astype(np.uint8)))
                rw, rh = box[1]
                # Pixel area, not the area an outline encloses: a ring of background around
                # the arena has a large outline but is far from a filled rectangle.
                if area < _MIN_RECTANGULARITY * rw * rh or not 0.5 <= rw / max(rh, 1.0) <= 2.0:
                    continue
                found.append((float(area), level, darker, box))
    found.sort(key=lambda candidate: -candidate[0])
    return [(level, darker, box) for _, level, darker, box in found]


def _edge_contrast(gray: np.ndarray, corners: np.ndarray) -> float:
    """Smallest brightness step, over the four sides of ``corners``, between just inside and
    just outside: a real arena edge is a step all round, a region cut out of a lighting
    gradient has one side with none."""
    gap, depth = 2, 4
    pad = gap + depth
    c0, c1, _, c3 = corners.astype(np.float32)
    width, height = float(np.linalg.norm(c1 - c0)), float(np.linalg.norm(c3 - c0))
    target = np.array([[pad, pad], [pad + width, pad], [pad, pad + height]], np.float32)
    matrix = cv2.getAffineTransform(np.array([c0, c1, c3], np.float32), target)
    size = (int(round(width)) + 2 * pad + 1, int(round(height)) + 2 * pad + 1)
    flat = cv2.warpAffine(
        gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    right, bottom = pad + int(round(width)), pad + int(round(height))
    # The middle 80 % of each side, clear of the corners.
    cols = slice(pad + int(0.1 * width), pad + int(0.9 * width) + 1)
    rows = slice(pad + int(0.1 * height), pad + int(0.9 * height) + 1)
    steps = [
        (flat[pad + gap : pad + pad, cols], flat[:depth, cols]),
        (flat[bottom - pad + 1 : bottom - gap + 1, cols], flat[-depth:, cols]),
        (flat[rows, pad + gap : pad + pad], flat[rows, :depth]),
        (flat[rows, right - pad + 1 : right - gap + 1], flat[rows, -depth:]),
    ]
    return min(abs(float(np.median(inner)) - float(np.median(outer))) for inner, outer in steps)


def _fill_holes(binary: np.ndarray, *, max_area: float) -> np.ndarray:
    """``binary`` with its holes smaller than ``max_area`` filled (larger ones, such as the arena
    inside a ring of background, stay open)."""
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return binary
    holes = [
        contour
        for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True)
        if parent >= 0 and cv2.contourArea(contour) < max_area
    ]
    filled = binary.copy()
    cv2.drawContours(filled, holes, -1, 255, cv2.FILLED)
    return filled


def _open_wide(binary: np.ndarray, radius: float) -> np.ndarray:
    """Morphological opening by a disc of ``radius``, through two distance transforms.

    This removes objects that touch the arena from outside (clutter, a cable) when they are
    narrower than the disc, at a cost that does not grow with the radius.
    """
    eroded = cv2.distanceTransform(binary, cv2.DIST_L2, cv2.DIST_MASK_5) > radius
    background = np.where(eroded, 0, 255).astype(np.uint8)
    return np.where(
        cv2.distanceTransform(background, cv2.DIST_L2, cv2.DIST_MASK_5) <= radius, 255, 0
    ).astype(np.uint8)


def _refine_box(binary: np.ndarray, box: cv2.typing.RotatedRect) -> np.ndarray:
    """Corners (4×2) of ``box`` with each side moved to where ``binary`` stops filling it.

    The box of the opened arena is still widened by what survives of a large object touching
    the arena, and background inside the mask would look like a mouse. So each side is put at
    the outermost line (parallel to it) that ``binary`` covers for at least half its length: an
    object beside the arena covers much less, a mouse at the wall does not empty a whole line.
    """
    (cx, cy), (bw, bh), angle = box
    theta = np.deg2rad(angle)
    axis_u = np.array([np.cos(theta), np.sin(theta)])
    axis_v = np.array([-np.sin(theta), np.cos(theta)])
    points = cv2.findNonZero(binary).reshape(-1, 2).astype(np.float64) - (cx, cy)
    u, v = points @ axis_u, points @ axis_v
    edges = []
    for along, across, half_along, half_across in ((u, v, bw / 2, bh / 2), (v, u, bh / 2, bw / 2)):
        margin = 2.0
        inside = (np.abs(across) <= half_across) & (np.abs(along) <= half_along + margin)
        offset = int(np.ceil(half_along + margin))
        counts = np.bincount(np.round(along[inside]).astype(np.int64) + offset, minlength=1)
        covered = np.flatnonzero(counts >= 0.5 * 2 * half_across) - offset
        if covered.size == 0:
            edges.append((-half_along, half_along))
        else:
            edges.append((covered[0], covered[-1]))
    (u0, u1), (v0, v1) = edges
    corners = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
    return np.array([(cx, cy) + a * axis_u + b * axis_v for a, b in corners], np.float32)
