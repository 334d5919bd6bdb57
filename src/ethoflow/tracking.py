"""Tracking alone (``ethoflow track``): where the mouse is in every frame, and open-field measures.

The tracker (:mod:`ethoflow.preprocess.track`) is the one ingest and labelling use. A recording is
a video, or a folder holding one recording's frames as images (read in natural order).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ethoflow import interrupt, progress
from ethoflow.distance import DISTANCE_METHOD, travelled
from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path, write_csv, write_json
from ethoflow.io.digest import file_digest
from ethoflow.io.records import commit_record, current_record, invalidate_record
from ethoflow.io.video import (
    ImageFolder,
    VideoReader,
    image_names,
    no_videos,
    open_recording,
    videos_in,
)
from ethoflow.labelling import LabelOutcome
from ethoflow.preprocess.quality import check_track
from ethoflow.preprocess.track import (
    TRACK_COLUMNS,
    MouseTracker,
)

# Frames tracked between looks at a Ctrl-C and updates of the progress bar.
_BATCH = 32


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
    the command enabled them (:mod:`ethoflow.progress`); a Ctrl-C stops it between batches of
    ``_BATCH`` frames (:class:`ethoflow.interrupt.Interrupted`)."""
    tracker = tracker or MouseTracker.for_recording(source)
    rows = []
    with progress.frame_bar(progress_name, len(source)) as advance:
        for index, frame in enumerate(source):
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


TRACK_FILE = "track.csv"
SUMMARY_FILE = "summary.json"
TRAJECTORY_FILE = "trajectory.png"
RECORD_FILE = "record.json"
# The open field's centre zone: farther from every wall than this share of the arena's side.
CENTRE_MARGIN = 0.25


def open_field_summary(
    track: pd.DataFrame,
    arena: np.ndarray,
    *,
    fps: float | None,
    arena_side_cm: float | None,
    max_missing_share: float,
) -> dict:
    """Share of frames with a mouse, distance and mean speed (px, and cm from the arena's side
    when ``arena_side_cm`` is given), and the share of found frames in the centre zone vs near
    the walls of ``arena`` (uint8 mask). Times need ``fps`` (None for a folder of images).

    The distance leaves out the detection jitter (:func:`ethoflow.distance.travelled`, measured
    as ``position_noise_px``)."""
    found = track[track.found.astype(bool)]
    side = float(min(cv2.minAreaRect(cv2.findNonZero(arena))[1]))
    to_wall = cv2.distanceTransform((arena > 0).astype(np.uint8), cv2.DIST_L2, 5)
    xs = found.x.round().astype(int).clip(0, arena.shape[1] - 1)
    ys = found.y.round().astype(int).clip(0, arena.shape[0] - 1)
    in_centre = to_wall[ys.to_numpy(), xs.to_numpy()] > CENTRE_MARGIN * side
    travel = travelled(track)
    distance = travel.distance
    share = len(found) / len(track) if len(track) else 0.0
    summary = {
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


def track_recording(
    path: Path,
    out_dir: Path,
    *,
    arena_side_cm: float | None,
    max_missing_share: float,
) -> LabelOutcome:
    """Track one recording (video or folder of images) into ``out_dir``: track.csv,
    summary.json, trajectory.png, then record.json (written last; a current record skips the
    work). A recording that cannot be read is quarantined and its old record removed."""
    path = Path(path)
    record_path = out_dir / RECORD_FILE
    try:
        source = open_recording(path)
        key = file_digest(
            [path] if path.is_file() else [path / n for n in source.names],
            arena_side_cm,
            max_missing_share,
            TRACK_COLUMNS,
            DISTANCE_METHOD,
        )
    except (InputError, OSError) as error:
        invalidate_record(record_path)
        return LabelOutcome(path.stem, path, "quarantined", str(error), None)
    if current_record(record_path, key) is not None:
        return LabelOutcome(path.stem, path, "skipped", "unchanged since last tracked", out_dir)
    try:
        tracker = MouseTracker.for_recording(source)
        track = track_frames(source, tracker=tracker, progress_name=path.stem)
        track, quality = check_track(track, tracker, fps=source.fps)
        if not quality.usable:
            raise InputError(path, "; ".join(quality.warnings))
    except (InputError, ValueError, cv2.error) as error:
        invalidate_record(record_path)
        return LabelOutcome(path.stem, path, "quarantined", str(error), None)
    summary = {
        "source": str(path),
        **open_field_summary(
            track,
            tracker.arena,
            fps=source.fps,
            arena_side_cm=arena_side_cm,
            max_missing_share=max_missing_share,
        ),
        "track_quality": quality.summary(),
    }
    if quality.warnings:
        summary["warning"] = "; ".join(filter(None, [summary.get("warning"), *quality.warnings]))
    invalidate_record(record_path)
    write_csv(track, out_dir / TRACK_FILE)
    write_json(summary, out_dir / SUMMARY_FILE)
    with atomic_path(out_dir / TRAJECTORY_FILE) as tmp:
        cv2.imwrite(str(tmp), draw_trajectory(tracker.background, track))
    commit_record(record_path, key, [TRACK_FILE, SUMMARY_FILE, TRAJECTORY_FILE])
    reason = summary.get("warning", "")
    return LabelOutcome(path.stem, path, "tracked", reason, out_dir)


def recordings(paths: list[Path]) -> list[Path]:
    """The recordings ``paths`` name: a video file, a folder of frame images, or each video under
    a folder without frame images. Raises ValueError for a folder with neither (nothing to do)."""
    found = []
    for path in map(Path, paths):
        if not path.is_dir() or image_names(path):
            found.append(path)
        elif videos := videos_in(path):
            found += videos
        else:
            raise ValueError(no_videos(path, images=True))
    return found


def track_paths(
    paths: list[Path], out: Path, *, arena_side_cm: float | None, max_missing_share: float
) -> list[LabelOutcome]:
    """Track each recording into ``out/<name>/``; two recordings with one name are quarantined
    (their outputs would overwrite each other), and so is a path that does not exist. After a
    Ctrl-C, the recording in hand and those after it are ``interrupted`` (nothing written)."""
    by_name: dict[str, list[Path]] = {}
    for path in map(Path, paths):
        by_name.setdefault(path.stem, []).append(path)
    outcomes = []
    for name, same in sorted(by_name.items()):
        unique = list(dict.fromkeys(same))
        if len(unique) > 1:
            outcomes += [
                LabelOutcome(name, p, "quarantined", f"name {name!r} is also used by another", None)
                for p in unique
            ]
            continue
        if interrupt.requested():
            reason = "stopped by Ctrl-C before it was tracked: re-run to track it"
            outcomes.append(LabelOutcome(name, unique[0], "interrupted", reason, None))
            continue
        try:
            outcome = track_recording(
                unique[0],
                Path(out) / name,
                arena_side_cm=arena_side_cm,
                max_missing_share=max_missing_share,
            )
        except interrupt.Interrupted:
            reason = "stopped by Ctrl-C before its track was written: re-run to track it"
            outcome = LabelOutcome(name, unique[0], "interrupted", reason, None)
        outcomes.append(outcome)
    return outcomes
