"""``ethoflow track``: each recording's track, open-field summary and trajectory written into
its own folder (record last, so a re-run skips what is done), and the batch of recordings a
command names."""

from __future__ import annotations

from pathlib import Path

import cv2

from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path, write_csv, write_json
from ethoflow.io.digest import file_digest
from ethoflow.io.records import commit_record, current_record, invalidate_record
from ethoflow.io.video import ImageFolder, image_names, no_videos, open_recording, videos_in
from ethoflow.labelling.batch import LabelOutcome
from ethoflow.runtime import interrupt
from ethoflow.vision.distance import DISTANCE_METHOD
from ethoflow.vision.openfield import draw_trajectory, open_field_summary, track_frames
from ethoflow.vision.quality import check_track
from ethoflow.vision.track import TRACK_COLUMNS, MouseTracker

TRACK_FILE = "track.csv"
SUMMARY_FILE = "summary.json"
TRAJECTORY_FILE = "trajectory.png"
RECORD_FILE = "record.json"


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
            [path / n for n in source.names] if isinstance(source, ImageFolder) else [path],
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
    assert tracker.background is not None  # for_recording estimated it
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
