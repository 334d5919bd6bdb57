"""Ingestion steps: raw recordings → per-video frame features with aligned labels and a manifest.

Each recording is streamed once: decode → standardise fps → detect the mouse → crop → (augment) →
ResNet50 features, in batches, so memory does not grow with the video's length (apart from the
features themselves, 2 KB per kept frame). Outputs are written atomically and a per-video record is
written last, so a crash leaves either a finished video or nothing, and a re-run only does the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, astuple, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.config import Settings
from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path, write_csv, write_json
from ethoflow.io.digest import file_digest
from ethoflow.io.labels import read_labels
from ethoflow.io.video import VideoReader, probe_video
from ethoflow.preprocess.augment import AugmentSetting, augment_frame, sample_augmentation
from ethoflow.preprocess.crop import crop_around
from ethoflow.preprocess.detect import MouseTracker
from ethoflow.preprocess.fps import kept_frame_indices, standardize_fps
from ethoflow.preprocess.posture import POSTURE_FEATURES, posture_features

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
_AUGMENTED = "__aug"


@dataclass(frozen=True)
class Recording:
    video_id: str
    condition: str
    video: Path
    labels: Path


@dataclass(frozen=True)
class Quarantined:
    video_id: str
    condition: str
    path: Path
    reason: str


def build_extractor(settings: Settings):
    """The ResNet50 feature extractor ``settings`` ask for (seconds, ~100 MB); None without CNN
    features (``features.cnn: false``)."""
    from ethoflow.features import FeatureExtractor

    if not settings.features.cnn:
        return None
    return FeatureExtractor(
        layer=settings.features.layer,
        weights=settings.features.weights,
        input_size=settings.ingest.crop_size,
        seed=settings.seed,
    )


def featurization_id(settings: Settings) -> str:
    """Everything that shapes a frame's features; a model only fits features with the same id."""
    from ethoflow.features import extractor_identity

    f = settings.features
    cnn = (
        extractor_identity(f.layer, f.weights, settings.ingest.crop_size, settings.seed)
        if f.cnn
        else "no-cnn"
    )
    posture = "+posture" if f.posture else ""
    return f"{cnn}-{settings.ingest.target_fps:g}fps{posture}"


def discover_recordings(raw_dir: Path) -> tuple[list[Recording], list[Quarantined]]:
    """Find ``<raw_dir>/<condition>/<video_id>.<video>`` with its ``<video_id>.csv`` labels.

    A video without a label file, a label file without a video, or a video id used twice is
    quarantined with the reason; the rest are returned sorted by id.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(
            f"{raw_dir}: no recordings folder (run `ethoflow synth` or add data)"
        )
    found: dict[str, list[Recording]] = {}
    bad: list[Quarantined] = []
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        # Dot-files are other tools' temporaries (an interrupted atomic write), never recordings.
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
        videos = {p.stem: p for p in files if p.suffix.lower() in VIDEO_SUFFIXES}
        for stem, video in sorted(videos.items()):
            labels = video.with_suffix(".csv")
            if labels.is_file():
                found.setdefault(stem, []).append(Recording(stem, folder.name, video, labels))
            else:
                bad.append(Quarantined(stem, folder.name, video, f"no label file {labels.name}"))
        for csv in sorted(p for p in files if p.suffix.lower() == ".csv"):
            if csv.stem not in videos:
                bad.append(Quarantined(csv.stem, folder.name, csv, "label file without a video"))
    recordings = []
    for video_id, copies in sorted(found.items()):
        if len(copies) == 1:
            recordings.extend(copies)
        else:
            where = ", ".join(r.condition for r in copies)
            bad += [
                Quarantined(video_id, r.condition, r.video, f"video id also used in: {where}")
                for r in copies
            ]
    return recordings, bad


def standardized_length(video: Path, target_fps: float) -> int:
    """Frames left after fps standardisation, from the container's metadata."""
    info = probe_video(video)
    return len(kept_frame_indices(info.frame_count, info.fps, target_fps))


def augmentation_for(
    video_id: str, *, seed: int, brightness: tuple[float, float], zoom: tuple[float, float]
) -> AugmentSetting:
    """The one augmentation setting of ``video_id``: the same on every run for the same seed."""
    stream = int.from_bytes(hashlib.sha256(video_id.encode()).digest()[:8], "little")
    rng = np.random.default_rng([seed, stream])
    return sample_augmentation(rng, brightness_range=brightness, zoom_range=zoom)


@dataclass(frozen=True)
class VideoFeatures:
    """One video after fps standardisation: its track and per-frame feature matrices."""

    fps: float  # the source video's frame rate (``track.frame`` counts its frames)
    track: pd.DataFrame  # frame, x, y, area, length, width: the mouse blob per kept frame
    arena_side_px: float | None  # short side of the detected arena (None: no frame decoded)
    features: np.ndarray  # (frames, n) CNN features, then posture features when asked for
    augmented: np.ndarray | None  # the same for the augmented copy


def _tracked_frames(
    reader: VideoReader, target_fps: float, tracker: MouseTracker, rows: list[tuple]
) -> Iterator[tuple[np.ndarray, float, float]]:
    """Kept frames with the mouse centre; appends each frame's track row to ``rows``."""
    for index, frame in standardize_fps(reader, reader.fps, target_fps):
        x, y = tracker(frame)
        shape = (math.nan,) * 3 if tracker.shape is None else astuple(tracker.shape)
        rows.append((index, x, y, *shape))
        yield frame, x, y


def _crops(
    tracked: Iterator[tuple[np.ndarray, float, float]],
    crop_size: int,
    augment: AugmentSetting | None,
) -> Iterator[np.ndarray]:
    """Crops in feature order: each frame's crop, then its augmented copy."""
    for frame, x, y in tracked:
        crop = crop_around(frame, (x, y), crop_size)
        yield crop
        if augment is not None:
            yield augment_frame(crop, augment)


def featurize_video(
    video: Path,
    *,
    extractor,
    target_fps: float,
    crop_size: int,
    batch_size: int,
    augment: AugmentSetting | None,
    posture: bool,
    progress_name: str = "",
) -> VideoFeatures:
    """Stream ``video`` through decode → fps → detect → crop → (augment) → CNN (+ posture).

    ``extractor`` None means no CNN features: the video is only tracked (posture must be on).
    """
    from ethoflow.features import extract_features

    reader = VideoReader(video)
    rows: list[tuple] = []
    tracker = MouseTracker()
    tracked = _tracked_frames(reader, target_fps, tracker, rows)
    augmented = None
    if extractor is None:
        # Without CNN features there is nothing to crop: tracking alone gives the posture.
        for _ in tracked:
            pass
        features = np.zeros((len(rows), 0), np.float32)
        if augment is not None:
            augmented = features
    else:
        blocks = []
        crops = _crops(tracked, crop_size, augment)
        for block in extract_features(crops, extractor, batch_size=batch_size):
            blocks.append(block)
            if len(blocks) % 10 == 0:
                log.info("%s: %d frames featurised", progress_name or video.name, len(rows))
        features = np.concatenate(blocks) if blocks else np.zeros((0, extractor.n_features), "f4")
        if augment is not None:
            features, augmented = features[0::2], features[1::2]
    track = pd.DataFrame(rows, columns=["frame", "x", "y", "area", "length", "width"])
    if posture:
        # Posture ratios do not change under the per-video augmentation: both copies share them.
        extra = posture_features(track, target_fps)
        features = np.hstack([features, extra])
        if augmented is not None:
            augmented = np.hstack([augmented, extra])
    return VideoFeatures(reader.fps, track, tracker.arena_side, features, augmented)


def featurize_recording(
    recording: Recording,
    out_dir: Path,
    *,
    extractor,
    target_fps: float,
    crop_size: int,
    tolerance_frames: int,
    batch_size: int,
    augment: AugmentSetting | None,
    posture: bool,
) -> dict:
    """Features (+ augmented copy) and aligned labels of one recording; returns its record.

    Skips the work when a record with the same content key exists (same video and label bytes,
    same settings). Raises :class:`InputError` when the decoded frames and label rows disagree by
    more than ``tolerance_frames``.
    """
    key = file_digest(
        [recording.video, recording.labels],
        target_fps,
        crop_size,
        extractor and extractor.identity,
        augment and asdict(augment),
        posture and POSTURE_FEATURES,
    )
    record_path = out_dir / f"{recording.video_id}.json"
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        if record["key"] == key and all((out_dir / f).is_file() for f in record["files"]):
            log.info("%s: unchanged since last ingest, skipped", recording.video_id)
            return record | {"cached": True}

    labels = read_labels(recording.labels)
    result = featurize_video(
        recording.video,
        extractor=extractor,
        target_fps=target_fps,
        crop_size=crop_size,
        batch_size=batch_size,
        augment=augment,
        posture=posture,
        progress_name=recording.video_id,
    )
    frames = result.track[["frame", "x", "y"]]
    decoded = int(frames.frame.max()) + 1 if len(frames) else 0
    if abs(decoded - len(labels)) > tolerance_frames:
        raise InputError(
            recording.labels,
            f"{len(labels)} label rows but the video decodes to {decoded} frames "
            f"(tolerance ±{tolerance_frames})",
        )
    # Within tolerance, keep the frames that have a label row (and drop surplus label rows).
    keep = frames.frame.to_numpy() < len(labels)
    frames = frames[keep].reset_index(drop=True)
    table = pd.concat([frames, labels.iloc[frames.frame].reset_index(drop=True)], axis=1)
    table.insert(1, "time_s", (table.frame / result.fps).round(4))

    video_id = recording.video_id
    files = {f"{video_id}.npy": result.features[keep], f"{video_id}.csv": table}
    if result.augmented is not None:
        files[f"{video_id}{_AUGMENTED}.npy"] = result.augmented[keep]
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            write_csv(content, out_dir / name)
        else:
            with atomic_path(out_dir / name) as tmp:
                np.save(tmp, content.astype(np.float32))
    record = {
        "video_id": video_id,
        "condition": recording.condition,
        "key": key,
        "frames": len(table),
        "decoded_frames": decoded,
        "label_rows": len(labels),
        "augmentation": augment and asdict(augment),
        "files": sorted(files),
    }
    write_json(record, record_path)
    log.info("%s: %d frames ingested", video_id, len(table))
    return record | {"cached": False}


def quarantine(recording: Recording, reason: str) -> Quarantined:
    """Set a recording aside with the reason; its files are left untouched."""
    return Quarantined(recording.video_id, recording.condition, recording.video, reason)


def build_manifest(records: list[dict], splits: pd.Series) -> pd.DataFrame:
    """One row per feature matrix: originals in every split, augmented copies in training only."""
    rows = []
    for record in records:
        video_id = record["video_id"]
        base = {
            "source_video": video_id,
            "condition": record["condition"],
            "split": splits[video_id],
            "frames": record["frames"],
            "labels": f"{video_id}.csv",
        }
        rows.append(
            {"video_id": video_id, **base, "features": f"{video_id}.npy", "augmented": False}
        )
        if record["augmentation"] is not None:
            rows.append(
                {
                    "video_id": f"{video_id}{_AUGMENTED}",
                    **base,
                    "features": f"{video_id}{_AUGMENTED}.npy",
                    "augmented": True,
                }
            )
    columns = [
        "video_id",
        "source_video",
        "condition",
        "split",
        "frames",
        "features",
        "labels",
        "augmented",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values("video_id", ignore_index=True)


def write_ingest_outputs(
    records: list[dict],
    splits: pd.Series,
    quarantined: list[Quarantined],
    out_dir: Path,
    featurization: str,
) -> dict:
    """Write ``manifest.csv``, ``quarantine.csv`` and ``summary.json``; return the summary.

    ``featurization`` (see :func:`featurization_id`) travels with the features into model tags.
    """
    manifest = build_manifest(records, splits)
    bad = pd.DataFrame(
        [asdict(q) for q in quarantined], columns=["video_id", "condition", "path", "reason"]
    )
    write_csv(manifest, out_dir / "manifest.csv")
    write_csv(bad, out_dir / "quarantine.csv")
    summary = {
        "ingested": len(records),
        "reused": sum(bool(r.get("cached")) for r in records),
        "quarantined": {q.video_id: q.reason for q in quarantined},
        "splits": manifest.groupby("split").size().to_dict(),
        "frames": int(manifest.loc[~manifest.augmented, "frames"].sum()),
        "featurization": featurization,
    }
    write_json(summary, out_dir / "summary.json")
    lines = [
        f"Ingested {summary['ingested']} recordings ({summary['reused']} unchanged, reused), "
        f"{summary['frames']} frames; feature matrices per split: {summary['splits']}.",
        f"Quarantined {len(quarantined)}:" if quarantined else "Quarantined: none.",
        *(f"  - {q.video_id} ({q.condition}): {q.reason}" for q in quarantined),
    ]
    summary["text"] = "\n".join(lines)
    return summary
