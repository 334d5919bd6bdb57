"""Distance travelled from a tracked centre, without summing its detection noise.

The tracked centre jitters by a fraction of a pixel from frame to frame (pixels at the body's edge
flip in and out of the blob); at low resolution that jitter is large against the mouse, and summed
over every frame step it adds up to distance the mouse never walked. So the jitter is measured on
each track (it differs with resolution, lighting and frame rate: 30 fps tracks and 10 fps label
tables alike), the centre is lightly smoothed, and a step counts only once the smoothed centre has
moved more than a few times the jitter since the last counted point: the "minimum distance moved"
of EthoVision and ANY-maze, with the threshold measured instead of set by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

# Part of the keys of track and label outputs: summaries measured another way are redone.
DISTANCE_METHOD = "jitter-threshold-1"
# A step counts once the smoothed centre is this many jitters (per-axis SD) from the last counted
# point. Chosen on 10 clips of 3 s of the real round-arena video (those whose 640x480 track agrees
# with idtracker's), shrunk: with 3, 320 and 160 px wide stayed within 3 % of 640 px and 96 px
# within 8 %; with 2 a still mouse's jitter counts (37 px over 600 synthetic frames of 1 px
# jitter), with 4-5 slow walking is dropped unevenly (8 % off at 160 px).
MOVE_THRESHOLD = 3.0
# Gaussian smoothing (SD, in rows) before counting, so a counted point is not one noisy sample:
# a still mouse then crosses the threshold rarely (at most 0.6 % of its summed steps, synthetic).
SMOOTHING_ROWS = 1.0


@dataclass(frozen=True)
class Travel:
    """Per row, the distance counted there (0 where the mouse stayed within the jitter, was not
    found, or the row repeats the previous row's frame), and the measured jitter."""

    steps: pd.Series
    noise_px: float

    @property
    def distance(self) -> float:
        return float(self.steps.sum())


def position_noise(points: np.ndarray) -> float:
    """Per-axis SD (px) of the detection jitter in ``points`` (rows: consecutive measurements,
    NaN when not found): from second differences, where smooth motion nearly cancels and white
    noise of SD s has mean absolute value s * sqrt(6) * sqrt(2 / pi). The mean absolute value,
    not the median: at low resolution most centres repeat exactly and the median would be 0."""
    second = np.diff(points, n=2, axis=0)
    second = second[np.isfinite(second).all(axis=1)]
    if not len(second):
        return 0.0
    return float(np.abs(second).mean() * math.sqrt(math.pi / 2) / math.sqrt(6))


def travelled(table: pd.DataFrame) -> Travel:
    """The distance a track's ``x``, ``y`` travelled, step by step (see the module's docstring).

    A row whose ``frame`` repeats the previous row's (a slow camera on a faster clock) is not a
    new measurement; frames without a mouse (NaN) are left out of the path."""
    frames = table.frame if "frame" in table else pd.Series(range(len(table)), index=table.index)
    new = (frames != frames.shift()).to_numpy()
    points = table[["x", "y"]].to_numpy(float)[new]
    noise = position_noise(points)
    found = np.isfinite(points).all(axis=1)
    smooth = gaussian_filter1d(points[found], SMOOTHING_ROWS, axis=0, mode="nearest")
    counted = np.zeros(len(smooth))
    threshold = MOVE_THRESHOLD * noise
    anchor = 0
    for i in range(1, len(smooth)):
        step = math.dist(smooth[i], smooth[anchor])
        if step > threshold:
            counted[i], anchor = step, i
    steps = np.zeros(len(table))
    steps[np.flatnonzero(new)[found]] = counted
    return Travel(pd.Series(steps, index=table.index), noise)
