"""Manual mode: a recording with its hand-made labels, tracked, and the pictures drawn from it.

The mouse is tracked with :func:`ethoflow.vision.openfield.track_frames` (the tracker of ingest and
labelling), the movement summarised by :func:`ethoflow.evaluation.summaries.video_summary` and
bouts found
by :func:`ethoflow.io.labels.bouts`; frames are decoded one at a time when shown.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ethoflow.errors import InputError
from ethoflow.evaluation.plots import draw_detection
from ethoflow.evaluation.summaries import video_summary
from ethoflow.io.labels import BEHAVIOURS, bouts, read_labels
from ethoflow.io.video import VIDEO_SUFFIXES, VideoReader
from ethoflow.ui.files import UserError
from ethoflow.vision.distance import travelled
from ethoflow.vision.openfield import track_frames
from ethoflow.vision.quality import TrackQuality, check_track
from ethoflow.vision.track import MouseTracker

# Drawn on frames: one BGR colour per behaviour (matplotlib's C0, C1 of the ethogram).
COLOURS = {"grooming": (180, 119, 31), "rearing": (14, 127, 255)}


@dataclass(frozen=True)
class Recording:
    """A video, its track (one row per source frame) and, when given, its labels."""

    video: Path
    fps: float
    frame_count: int
    table: pd.DataFrame  # frame, time_s, track columns, then grooming, rearing (0/1) if labelled
    heads: list[str]  # the behaviour columns of ``table``; empty without labels
    background: np.ndarray  # grey arena without the mouse: for the trajectory and heatmap
    arena_side_px: float | None
    quality: TrackQuality  # is the track a mouse: its warnings are shown with it


def lab_recordings(raw: Path) -> list[tuple[Path, Path | None]]:
    """The lab's recordings under ``raw`` (``paths.raw``), sorted, each with its label file
    (``<stem>.csv`` beside it) or None: only files that really are under ``raw``, a symbolic
    link to a file elsewhere is left out, as is a label file that is one."""
    raw = Path(raw)
    if not raw.is_dir():
        return []
    root = raw.resolve()

    def inside(path: Path) -> bool:
        return path.is_file() and path.resolve().is_relative_to(root)

    videos = sorted(p for p in raw.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    labels = (video.with_suffix(".csv") for video in videos)
    return [
        (video, label if inside(label) else None)
        for video, label in zip(videos, labels, strict=True)
        if inside(video)
    ]


def load_recording(video: Path, labels: Path | None = None, *, tolerance: int = 2) -> Recording:
    """Track ``video`` and align ``labels`` (a label CSV, either format) with its frames.

    Raises :class:`UserError` when the video cannot be read, the label file is not a label
    table, or its rows differ from the video's frames by more than ``tolerance``
    (``ingest.label_tolerance_frames``); within it, missing rows are unknown frames and extra
    rows are dropped, as ingest does.
    """
    try:
        reader = VideoReader(video)
        tracker = MouseTracker.for_recording(reader)
        track, quality = check_track(track_frames(reader, tracker=tracker), tracker, fps=reader.fps)
    except InputError as error:
        raise UserError(f"{Path(video).name} cannot be used as a video: {error.problem}.") from None
    heads: list[str] = []
    if labels is not None:
        try:
            table = read_labels(labels)
        except InputError as error:
            raise UserError(f"{Path(labels).name}: {error.problem}.") from None
        if abs(len(table) - len(track)) > tolerance:
            raise UserError(
                f"{Path(labels).name} has {len(table)} label rows but {Path(video).name} has "
                f"{len(track)} frames: a label file needs one row per frame. Is it the label "
                "file of another recording, or of this one at another frame rate?"
            )
        table = table.reindex(range(len(track)))
        heads = list(BEHAVIOURS)
        track = pd.concat([track, table.set_axis(track.index)], axis=1)
    assert tracker.background is not None  # for_recording estimated it
    return Recording(
        Path(video),
        reader.fps,
        len(track),
        track,
        heads,
        tracker.background,
        tracker.arena_side,
        quality,
    )


def pixels_per_cm(arena_side_px: float | None, arena_side_cm: float | None) -> float | None:
    """The camera's scale from the arena's side in the image and in reality (None if unknown)."""
    if not arena_side_px or not arena_side_cm:
        return None
    return arena_side_px / arena_side_cm


def summary(recording: Recording, arena_side_cm: float | None) -> dict:
    """Bouts per behaviour and movement, as in a labelled video's ``summary.json``."""
    scale = pixels_per_cm(recording.arena_side_px, arena_side_cm)
    return video_summary(recording.table, recording.heads, recording.fps, scale)


def bout_table(summary: dict) -> pd.DataFrame:
    """Per behaviour: bouts, total, mean duration and latency (s), from a video summary."""
    rows = []
    for head, values in summary["heads"].items():
        count, total = values["bouts"], values["total_s"]
        rows.append(
            {
                "behaviour": head,
                "bouts": count,
                "total_s": total,
                "mean_duration_s": round(total / count, 2) if count else None,
                "latency_s": values["latency_s"],
            }
        )
    columns = ["behaviour", "bouts", "total_s", "mean_duration_s", "latency_s"]
    return pd.DataFrame(rows, columns=columns)


def bout_list(table: pd.DataFrame, heads: list[str], fps: float) -> pd.DataFrame:
    """Every bout of every behaviour in time order: behaviour, first and last row, start,
    end and duration in seconds (rows are the slots of an ``fps`` clock)."""
    rows = [
        {
            "behaviour": head,
            "first_row": start,
            "last_row": stop - 1,
            "start_s": round(start / fps, 2),
            "end_s": round(stop / fps, 2),
            "duration_s": round((stop - start) / fps, 2),
        }
        for head in heads
        for start, stop in bouts(_said(table[head]))
    ]
    columns = ["behaviour", "first_row", "last_row", "start_s", "end_s", "duration_s"]
    return pd.DataFrame(rows, columns=columns).sort_values("first_row", ignore_index=True)


def _said(column: pd.Series) -> np.ndarray:
    """1 where the labels say the behaviour is shown; unknown frames are in no bout."""
    return (column.fillna(0) == 1).to_numpy(np.int8)


def next_bout(table: pd.DataFrame, head: str, row: int) -> int | None:
    """The first row of ``head``'s next bout after ``row``, wrapping round to the first bout;
    None without bouts."""
    starts = [start for start, _ in bouts(_said(table[head]))]
    if not starts:
        return None
    later = [start for start in starts if start > row]
    return later[0] if later else starts[0]


def movement(table: pd.DataFrame, fps: float, scale: float | None, bin_s: float = 1.0):
    """Distance travelled (cumulative) and speed per ``bin_s`` seconds; in cm with ``scale``
    (pixels per cm), else pixels: the steps the summary's distance adds up
    (:func:`ethoflow.vision.distance.travelled`)."""
    if not fps > 0 or not bin_s > 0:
        raise ValueError(f"fps and bin_s must be positive, got {fps}, {bin_s}")
    steps = travelled(table).steps.to_numpy() / (scale or 1.0)
    unit = "cm" if scale else "px"
    bins = (np.arange(len(steps)) / fps // bin_s).astype(int)
    per_bin = pd.Series(steps).groupby(bins).sum()
    return pd.DataFrame(
        {
            "time_s": per_bin.index * bin_s,
            f"distance_{unit}": per_bin.cumsum().round(2).to_numpy(),
            f"speed_{unit}_s": (per_bin / bin_s).round(2).to_numpy(),
        }
    )


def heatmap(background: np.ndarray, table: pd.DataFrame, cell_px: int = 8) -> np.ndarray:
    """Where the mouse spent its time: occupancy per ``cell_px`` square, coloured (inferno)
    and blended over the grey background; RGB."""
    height, width = background.shape[:2]
    points = table[["x", "y"]].dropna().to_numpy(float)
    counts, _, _ = np.histogram2d(
        points[:, 1],
        points[:, 0],
        bins=(max(1, height // cell_px), max(1, width // cell_px)),
        range=((0, height), (0, width)),
    )
    counts = cv2.GaussianBlur(counts.astype(np.float32), (0, 0), 1.0)
    scaled = (255 * counts / counts.max() if counts.max() > 0 else counts).astype(np.uint8)
    colour = cv2.applyColorMap(cv2.resize(scaled, (width, height)), cv2.COLORMAP_INFERNO)
    grey = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
    blended = cv2.addWeighted(grey, 0.45, colour, 0.55, 0)
    return cv2.cvtColor(blended, cv2.COLOR_BGR2RGB)


def _detection(row: pd.Series) -> pd.Series:
    """A table row as :func:`draw_detection` takes it; labelled outputs have only the centre."""
    found = bool(row.get("found", pd.notna(row["x"]) and pd.notna(row["y"])))
    values = {"x": row["x"], "y": row["y"], "found": found}
    for key in ("length", "width", "angle"):
        value = row.get(key, 0.0)
        values[key] = value if found and pd.notna(value) else 0.0
    return pd.Series(values)


def draw_frame(frame: np.ndarray, row: pd.Series, heads: list[str], scale: float = 1.0):
    """``frame`` (BGR) with the tracked centre and body ellipse and the behaviours labelled at
    this row written on it; RGB, resized by ``scale``."""
    picture = draw_detection(frame, _detection(row), scale)
    size = max(0.5, picture.shape[0] / 500)
    y = int(28 * size)
    for head in heads:
        if int(row[head]):
            cv2.putText(
                picture,
                head.upper(),
                (8, y),
                cv2.FONT_HERSHEY_SIMPLEX,
                size,
                COLOURS.get(head, (0, 255, 0)),
                max(1, round(2 * size)),
                cv2.LINE_AA,
            )
            y += int(30 * size)
    return cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)


def frames_at(video: Path, table: pd.DataFrame, rows: list[int], heads: list[str], scale=1.0):
    """The pictures of ``rows`` of ``table`` (its ``frame`` column numbers the video's frames),
    each drawn by :func:`draw_frame` as its frame is decoded (only the drawn, scaled pictures
    are kept); rows past the video's last decodable frame are left out."""
    rows_of: dict[int, list[int]] = {}
    for row in rows:
        rows_of.setdefault(int(table.frame.iloc[row]), []).append(row)
    pictures = {}
    for index, frame in VideoReader(video).read_frames(list(rows_of)):
        for row in rows_of[index]:  # a slower camera's frame shows in several rows
            pictures[row] = draw_frame(frame, table.iloc[row], heads, scale)
    return [pictures[row] for row in rows if row in pictures]


def clip_gif(pictures: list[np.ndarray], fps: float, max_side: int = 360) -> bytes:
    """An animated GIF of RGB ``pictures`` at ``fps`` (for a browser to play a short stretch)."""
    from PIL import Image

    if not pictures:
        raise ValueError("no pictures for a clip")
    height, width = pictures[0].shape[:2]
    factor = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    images = [Image.fromarray(cv2.resize(p, size, interpolation=cv2.INTER_AREA)) for p in pictures]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000 / fps)),
        loop=0,
    )
    return buffer.getvalue()
