"""Is the track a mouse? Plausibility checks per frame and a verdict per recording.

A tracker always finds *something* that differs from the background. What says it is a mouse is
measurable: its size against the recording's own typical mouse, steps no faster than a mouse runs,
a body the frame itself shows against the floor around it (:class:`MouseTracker` counts the
frames that fail that as ghosts), and a background that models the frames at all. Frames that
fail are reported as not found (no position, no distance), never as a guess; a recording whose
evidence is poor is refused, one with some doubtful frames carries a warning naming the evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ethoflow.vision.track import MouseTracker

# A mouse runs at most about 1 m/s, some 10 of its body lengths (without the tail) a second; a
# step may also move the centre by a body length when the detection changes part (head, body).
MAX_BODY_LENGTHS_PER_S = 15.0
# A detection this much smaller or larger than the recording's typical mouse is something else.
SIZE_RANGE = (0.25, 4.0)
# Steps that no mouse makes split the track; a piece shorter than this (seconds) between such
# steps is a glitch (a reflection, a hand), whatever the tracker's confidence.
MIN_PIECE_S = 0.3
# A mouse covers a few per cent of the frame; where a typical frame differs from its background
# over more than this share, the background models nothing (noise, a moving camera).
MAX_BACKGROUND_CHANGE = 0.2
# Below this many pixels on the mouse (median body area), positions and distances are not
# trusted. Measured on 10 clips of 3 s of the real round-arena video shrunk step by step: with
# 12-14 px on the body (80x60 frames) every clip's distance was within 9.3 % of 640x480's; at
# 64x48 (8-11 px) up to 32 % off. 15 px leaves a margin above the smallest size that held.
MIN_BODY_PIXELS = 15
# Frames rejected by the checks beyond this share make the recording's track doubtful.
MAX_REJECTED_SHARE = 0.05


@dataclass(frozen=True)
class TrackQuality:
    """The evidence about a recording's track, and what it means.

    ``usable`` False: the track is not of a mouse (refuse the recording); ``warnings``: what a
    person should check, each naming its evidence."""

    evidence: dict[str, float | int | None]
    usable: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "unusable" if not self.usable else ("doubtful" if self.warnings else "good")

    def summary(self) -> dict[str, Any]:
        """For summary.json: the verdict, the evidence and the warnings."""
        return {"verdict": self.verdict, **self.evidence, "warnings": self.warnings}


def check_track(
    track: pd.DataFrame, tracker: MouseTracker, *, fps: float | None
) -> tuple[pd.DataFrame, TrackQuality]:
    """``track`` (TRACK_COLUMNS per row, rows in time order ``fps`` apart; None: a folder of
    images, whose steps cannot be timed) with implausible detections set to not found, and the
    recording's :class:`TrackQuality`."""
    found = track.found.to_numpy(bool)
    area = track.area.to_numpy(float)
    typical_area = float(np.median(area[found])) if found.any() else math.nan
    wrong_size = found & ~(
        (area >= SIZE_RANGE[0] * typical_area) & (area <= SIZE_RANGE[1] * typical_area)
    )
    kept = found & ~wrong_size
    body = float(np.median(track.length.to_numpy(float)[kept])) if kept.any() else math.nan
    jumped = _jumps(track.x.to_numpy(float), track.y.to_numpy(float), kept, body, fps)
    rejected = wrong_size | jumped
    checked = track.copy()
    columns = [c for c in ("x", "y", "area", "length", "width", "angle") if c in checked]
    checked.loc[rejected, columns] = math.nan
    checked.loc[rejected, "found"] = False
    checked.loc[rejected, "confidence"] = 0.0
    frames = max(len(track), 1)
    change = tracker.background_change
    evidence = {
        "frames": len(track),
        "found_share": round(float(checked.found.mean()) if len(track) else 0.0, 4),
        "wrong_size_frames": int(wrong_size.sum()),
        "jump_frames": int(jumped.sum()),
        "ghost_frames": tracker.ghost_frames,
        "background_change_share": None if change is None else round(change, 4),
        "body_area_px": None if math.isnan(typical_area) else round(typical_area, 1),
        "body_length_px": None if math.isnan(body) else round(body, 1),
        "distance_reliable": not typical_area < MIN_BODY_PIXELS,
    }
    if change is not None and change > MAX_BACKGROUND_CHANGE:
        problem = (
            f"{change:.0%} of a typical frame differs from the recording's background (a mouse "
            f"covers a few per cent): noise, a moving camera or changing light, not a top view "
            "of one mouse this tracker can follow"
        )
        return checked, TrackQuality(evidence, usable=False, warnings=[problem])
    warnings = []
    if typical_area < MIN_BODY_PIXELS:
        warnings.append(
            f"the mouse covers only {typical_area:.0f} px (body {body:.0f} px long): distances "
            f"and positions are unreliable below ~{MIN_BODY_PIXELS} px; record at a higher "
            "resolution or crop closer"
        )
    doubtful = {
        "jumped faster than a mouse runs": int(jumped.sum()),
        "were unlike the recording's mouse in size": int(wrong_size.sum()),
        "were not visible against the floor around them (a ghost in the background)": (
            tracker.ghost_frames
        ),
    }
    for what, count in doubtful.items():
        if count > MAX_REJECTED_SHARE * frames:
            warnings.append(
                f"{count} of {len(track)} detections ({count / frames:.0%}) {what}: marked not "
                "found; check the trajectory"
            )
    return checked, TrackQuality(evidence, usable=True, warnings=warnings)


def _jumps(
    x: np.ndarray, y: np.ndarray, found: np.ndarray, body: float, fps: float | None
) -> np.ndarray:
    """Found frames in pieces of the track too short to be a mouse, between steps no mouse
    makes (``MAX_BODY_LENGTHS_PER_S`` over the time between two found frames, plus a body
    length). Without ``fps`` (images), or a body size, there is no time to judge steps by."""
    jumped = np.zeros(len(x), bool)
    index = np.flatnonzero(found)
    if fps is None or not fps > 0 or math.isnan(body) or len(index) < 2:
        return jumped
    seconds = np.diff(index) / fps
    steps = np.hypot(np.diff(x[index]), np.diff(y[index]))
    impossible = steps > body * (MAX_BODY_LENGTHS_PER_S * seconds + 1)
    piece = np.concatenate([[0], np.cumsum(impossible)])
    sizes = np.bincount(piece)
    # A clip shorter than MIN_PIECE_S: its longest piece is taken for the mouse.
    shortest = min(max(3, round(MIN_PIECE_S * fps)), int(sizes.max()))
    jumped[index] = sizes[piece] < shortest
    return jumped
