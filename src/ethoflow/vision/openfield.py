"""Where the mouse is in every frame, and open-field measures (distance, centre and walls).

The tracker (:mod:`ethoflow.vision.track`) is the one ingest and labelling use. A recording is
a video, or a folder holding one recording's frames as images (read in natural order);
:mod:`ethoflow.labelling.track_outputs` writes the outputs of ``ethoflow track``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.video import ImageFolder, VideoReader, to_gray
from ethoflow.runtime import interrupt, progress
from ethoflow.runtime.read_ahead import read_ahead
from ethoflow.vision.distance import travelled
from ethoflow.vision.track import (
    TRACK_COLUMNS,
    MouseTracker,
)

# Frames tracked between looks at a Ctrl-C and updates of the progress bar.
_BATCH = 32
# Decoded frames queued for the tracker: a few frames of memory, enough to ride out a slow one.
_FRAMES_AHEAD = 8


def track_frames(
    source: VideoReader | ImageFolder,
    *,
    tracker: MouseTracker | None = None,
    limit: int | None = None,
    progress_name: str = "",
) -> pd.DataFrame:
    """One row per frame: ``frame`` and ``time_s`` (a video) or ``image`` (a folder of images),
    then x, y, found, confidence, area, length, width, angle in source pixels (NaN when the
    mouse is not found). ``tracker`` defaults to ``MouseTracker.for_recording(source)``;
    ``limit`` stops after that many frames. A progress bar named ``progress_name`` shows when
    the command enabled them (:mod:`ethoflow.runtime.progress`); a Ctrl-C stops it between batches
    of ``_BATCH`` frames (:class:`ethoflow.runtime.interrupt.Interrupted`)."""
    tracker = tracker or MouseTracker.for_recording(source)
    rows = []
    # Decoding (and the grey picture) runs ahead in a thread of its own: OpenCV releases the GIL
    # there, so it overlaps the tracker instead of running in series with it.
    grey = (to_gray(frame) for frame in source)
    with (
        progress.frame_bar(progress_name, len(source)) as advance,
        read_ahead(grey, _FRAMES_AHEAD, "decode") as frames,
    ):
        for index, frame in enumerate(frames):
            if limit is not None and index >= limit:
                break
            if index % _BATCH == 0:
                interrupt.check()
                advance(index)
            d = tracker(frame)
            rows.append(
                (index, d.x, d.y, d.found, d.confidence, d.area, d.length, d.width, d.angle)
            )
    track = pd.DataFrame(rows, columns=["frame", *TRACK_COLUMNS])
    if isinstance(source, ImageFolder):
        track.insert(0, "image", source.names[: len(track)])
        return track.drop(columns="frame")
    track.insert(1, "time_s", (track.frame / source.fps).round(4))
    return track


# The open field's centre zone: farther from every wall than this share of the arena's side.
CENTRE_MARGIN = 0.25


def open_field_summary(
    track: pd.DataFrame,
    arena: np.ndarray,
    *,
    fps: float | None,
    arena_side_cm: float | None,
    max_missing_share: float,
) -> dict[str, Any]:
    """Share of frames with a mouse, distance and mean speed (px, and cm from the arena's side
    when ``arena_side_cm`` is given), and the share of found frames in the centre zone vs near
    the walls of ``arena`` (uint8 mask). Times need ``fps`` (None for a folder of images).

    The distance leaves out the detection jitter (:func:`ethoflow.vision.distance.travelled`,
    measured as ``position_noise_px``)."""
    found = track[track.found.astype(bool)]
    side = float(min(cv2.minAreaRect(cv2.findNonZero(arena))[1]))
    to_wall = cv2.distanceTransform((arena > 0).astype(np.uint8), cv2.DIST_L2, 5)
    xs = found.x.round().astype(int).clip(0, arena.shape[1] - 1)
    ys = found.y.round().astype(int).clip(0, arena.shape[0] - 1)
    in_centre = to_wall[ys.to_numpy(), xs.to_numpy()] > CENTRE_MARGIN * side
    travel = travelled(track)
    distance = travel.distance
    share = len(found) / len(track) if len(track) else 0.0
    summary: dict[str, Any] = {
        "frames": len(track),
        "found_share": round(share, 4),
        "arena_side_px": round(side, 1),
        "distance_px": round(distance, 2),
        "position_noise_px": round(travel.noise_px, 3),
        "centre_share": round(float(in_centre.mean()), 4) if len(found) else None,
        "wall_share": round(float(1 - in_centre.mean()), 4) if len(found) else None,
    }
    if fps:
        seconds = len(track) / fps
        period = 1 / fps
        summary |= {
            "duration_s": round(seconds, 4),
            "mean_speed_px_s": round(distance / seconds, 2) if seconds else 0.0,
            "centre_s": round(float(in_centre.sum()) * period, 4),
            "wall_s": round(float((~in_centre).sum()) * period, 4),
        }
    if arena_side_cm:
        scale = side / arena_side_cm  # pixels per cm
        summary["distance_cm"] = round(distance / scale, 2)
        if fps:
            summary["mean_speed_cm_s"] = round(summary["mean_speed_px_s"] / scale, 2)
    if 1 - share > max_missing_share:
        summary["warning"] = (
            f"the mouse was not found in {1 - share:.0%} of frames "
            f"(more than {max_missing_share:.0%}): check the recording and the track"
        )
    return summary


def draw_trajectory(background: np.ndarray, track: pd.DataFrame) -> np.ndarray:
    """The found positions as a path over the (BGR) background image."""
    picture = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
    points = track.loc[track.found.astype(bool), ["x", "y"]].to_numpy(np.float64)
    if len(points) >= 2:
        thickness = max(1, round(min(background.shape) / 400))
        cv2.polylines(picture, [np.round(points).astype(np.int32)], False, (0, 0, 255), thickness)
    return picture
