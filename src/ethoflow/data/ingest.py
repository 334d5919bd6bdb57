"""Ingestion steps: raw recordings → per-video frame features with aligned labels and a manifest.

Each recording is streamed once through :class:`ethoflow.features.featurization.Featurization`.
Outputs are
written atomically and a per-video record is written last (:mod:`ethoflow.io.records`), so a crash
leaves either a finished video or nothing, and a re-run only does the rest.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethoflow.config import Settings
from ethoflow.data.split import split_recordings
from ethoflow.errors import InputError
from ethoflow.features.featurization import Featurization
from ethoflow.io.atomic import atomic_path, write_csv, write_json
from ethoflow.io.digest import file_digest, sha256_file
from ethoflow.io.interchange import (
    FORMATS,
    TIMED_FORMATS,
    label_format_of,
    read_label_file,
    write_label_file,
)
from ethoflow.io.labels import read_labels
from ethoflow.io.records import commit_record, current_record, invalidate_record
from ethoflow.io.video import VideoInfo, VideoReader, check_picture, read_video_info
from ethoflow.vision.augment import AugmentSetting, sample_augmentation
from ethoflow.vision.fps import kept_frame_indices

if TYPE_CHECKING:
    from ethoflow.features.cnn import FeatureExtractor

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
_AUGMENTED = "__aug"
_PICTURE_FRAMES = 8  # frames spread over a video to tell a black or frozen one


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


def _label_files(files: list[Path]) -> dict[str, list[Path]]:
    """Video stem → its label files: ``<stem>.csv`` (ours) or ``<stem>.<format>.csv``/``.tsv``
    in another tool's format (:data:`ethoflow.io.interchange.FORMATS`)."""
    labels: dict[str, list[Path]] = {}
    for p in files:
        if p.suffix.lower() not in (".csv", ".tsv"):
            continue
        declared = Path(p.stem).suffix.lstrip(".").lower()
        if declared in FORMATS:
            labels.setdefault(Path(p.stem).stem, []).append(p)
        elif p.suffix.lower() == ".csv":  # v1.CSV counts too
            labels.setdefault(p.stem, []).append(p)
    return labels


def discover_recordings(raw_dir: Path) -> tuple[list[Recording], list[Quarantined]]:
    """Find ``<raw_dir>/<condition>/<video_id>.<video>`` with its label file: ``<video_id>.csv``
    (ours) or ``<video_id>.<format>.csv`` (or ``.tsv``) from another tool, e.g. ``m1.boris.tsv``
    (converted by :func:`convert_labels`).

    A video without a label file or with two, a label file without a video, or a video id used
    twice is quarantined with the reason; the rest are returned sorted by id.
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
        files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        csvs = _label_files(files)
        videos: dict[str, list[Path]] = {}
        for p in files:
            if p.suffix.lower() in VIDEO_SUFFIXES:
                videos.setdefault(p.stem, []).append(p)
        for stem, paths in sorted(videos.items()):
            if len(paths) > 1:
                names = ", ".join(p.name for p in paths)
                reason = f"two videos ({names}) for one label file {stem}.csv"
                bad += [Quarantined(stem, folder.name, p, reason) for p in paths]
            elif len(csvs.get(stem, [])) > 1:
                names = ", ".join(p.name for p in csvs[stem])
                reason = f"two label files ({names}) for {paths[0].name}: keep one"
                bad.append(Quarantined(stem, folder.name, paths[0], reason))
            elif stem in csvs:
                found.setdefault(stem, []).append(
                    Recording(stem, folder.name, paths[0], csvs[stem][0])
                )
            else:
                reason = f"no label file {stem}.csv next to {paths[0].name}"
                bad.append(Quarantined(stem, folder.name, paths[0], reason))
        for stem, label_files in sorted(csvs.items()):
            if stem not in videos:
                first, *others = VIDEO_SUFFIXES
                for csv in label_files:
                    reason = f"label file {csv.name} has no video {stem}{first} "
                    reason += f"(or {', '.join(others)}) next to it"
                    bad.append(Quarantined(stem, folder.name, csv, reason))
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


def set_aside_duplicates(
    recordings: list[Recording],
) -> tuple[list[Recording], list[Quarantined]]:
    """Keep the first of recordings whose video bytes are identical (a copy under another name
    would otherwise land in training and validation both); quarantine the others."""
    first: dict[str, Recording] = {}
    kept, copies = [], []
    for recording in recordings:
        digest = sha256_file(recording.video)
        if digest in first:
            original = first[digest]
            reason = f"same video content as {original.video_id} ({original.video})"
            copies.append(quarantine(recording, reason))
        else:
            first[digest] = recording
            kept.append(recording)
    return kept, copies


def convert_labels(
    recording: Recording, out_dir: Path, settings: Settings, label_format: str | None = None
) -> Recording:
    """``recording`` with its labels in our per-frame format: another tool's file (BORIS, bout
    table, SimBA, DeepEthogram) is read with the video's fps and frame count and the behaviour
    names of ``labels.mapping``, and written to ``out_dir/<video_id>.csv`` (atomically); ours is
    returned as it is. The format is the one the file's name declares unless ``label_format``
    says it. Raises :class:`InputError` naming the file (and row) for a bad file."""
    label_format = label_format or label_format_of(recording.labels)
    if label_format == "ethoflow":
        return recording
    info = read_video_info(recording.video)
    if label_format in TIMED_FORMATS and not (info.fps > 0 and info.frame_count > 0):
        raise InputError(
            recording.video,
            f"fps {info.fps:g}, {info.frame_count} frames: the times in {recording.labels.name} "
            "cannot be placed on frames",
        )
    table = read_label_file(
        recording.labels,
        label_format,
        mapping=settings.labels.mapping,
        fps=info.fps,
        frame_count=info.frame_count,
        rater_column=settings.labels.rater_column,
        rater=settings.labels.rater,
    )
    converted = Path(out_dir) / f"{recording.video_id}.csv"
    write_label_file(table, converted, "ethoflow")
    return Recording(recording.video_id, recording.condition, recording.video, converted)


def check_picture_of(recording: Recording) -> None:
    """Raise :class:`InputError` if the video shows nothing to track (black, frozen): checked
    before the split, so such a video never takes a condition's validation or test place."""
    reader = VideoReader(recording.video)
    check_picture(reader.sample(_PICTURE_FRAMES), recording.video)


def assign_splits(
    recordings: list[Recording], videos: dict[str, VideoInfo], settings: Settings
) -> pd.Series:
    """Each recording's split (``video_id`` → train/test/validation) from its condition, how many
    of its frames are labelled for any head after fps standardisation (the frames kept, from the
    metadata in ``videos``, already probed), whether some are unknown (a partially labelled
    recording is validation only when its condition has no other) and which behaviours its labels
    show among them (so that validation can measure each one per condition). Unknown frames count
    for nothing."""
    heads = tuple(settings.train.heads)
    rows: list[dict[str, object]] = []
    for r in recordings:
        info = videos[r.video_id]
        labels = read_labels(r.labels)
        kept = kept_frame_indices(info.frame_count, info.fps, settings.ingest.target_fps)
        # Ingest keeps the frames that have a label row (featurize_recording).
        kept_labels = labels[list(heads)].iloc[kept[kept < len(labels)]]
        rows.append(
            {
                "video_id": r.video_id,
                "condition": r.condition,
                "frames": int(kept_labels.notna().any(axis=1).sum()),
                "partial": bool(kept_labels.isna().any(axis=None)),
                **{head: int(kept_labels[head].sum()) for head in heads},
            }
        )
    return split_recordings(
        pd.DataFrame(rows, columns=["video_id", "condition", "frames", "partial", *heads]),
        test_fraction=settings.ingest.test_fraction,
        seed=settings.seed,
        behaviours=heads,
    )


def augmentation_for(video_id: str, split: str, settings: Settings) -> AugmentSetting | None:
    """The one augmentation setting of a training video, the same on every run for the same
    seed; None for the other splits (augmented copies go to training only)."""
    if split != "train":
        return None
    stream = int.from_bytes(hashlib.sha256(video_id.encode()).digest()[:8], "little")
    rng = np.random.default_rng([settings.seed, stream])
    ingest = settings.ingest
    return sample_augmentation(
        rng, brightness_range=ingest.augment_brightness, zoom_range=ingest.augment_zoom
    )


def featurize_recording(
    recording: Recording,
    out_dir: Path,
    *,
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    augment: AugmentSetting | None,
    tolerance_frames: int,
) -> dict:
    """Features (+ augmented copy) and aligned labels of one recording; returns its record.

    Skips the work when a record with the same content key exists (same video and label bytes,
    same featurisation and augmentation). Raises :class:`InputError` when the decoded frames and
    label rows disagree by more than ``tolerance_frames``.
    """
    key = file_digest([recording.video, recording.labels], *featurization.content_key(augment))
    record_path = out_dir / f"{recording.video_id}.json"
    record = current_record(record_path, key)
    if record is not None:
        log.info("%s: unchanged since last ingest, skipped", recording.video_id)
        return record | {"cached": True}

    labels = read_labels(recording.labels)
    result = featurization.featurize_video(
        recording.video, extractor, augment=augment, progress_name=recording.video_id
    )
    if not result.quality.usable:  # training on what is not a mouse teaches nothing
        raise InputError(recording.video, "; ".join(result.quality.warnings))
    frames = result.track[["frame", "x", "y"]]
    decoded = int(frames.frame.max()) + 1 if len(frames) else 0
    if abs(decoded - len(labels)) > tolerance_frames:
        raise InputError(
            recording.labels,
            f"{len(labels)} label rows but the video decodes to {decoded} frames "
            f"(tolerance ±{tolerance_frames})",
        )
    # Within tolerance, keep the frames that have a label row (and drop surplus label rows).
    # Unknown frames keep their row: empty cells in the CSV, masked by training and evaluation.
    keep = frames.frame.to_numpy() < len(labels)
    frames = frames[keep].reset_index(drop=True)
    table = pd.concat([frames, labels.iloc[frames.frame].reset_index(drop=True)], axis=1)
    table.insert(1, "time_s", (table.frame / result.fps).round(4))

    video_id = recording.video_id
    files: dict[str, np.ndarray | pd.DataFrame] = {
        f"{video_id}.npy": result.features[keep],
        f"{video_id}.csv": table,
    }
    if result.augmented is not None:
        files[f"{video_id}{_AUGMENTED}.npy"] = result.augmented[keep]
    invalidate_record(record_path)
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            write_csv(content, out_dir / name)
        else:
            with atomic_path(out_dir / name) as tmp:
                np.save(tmp, content.astype(np.float32))
    record = commit_record(
        record_path,
        key,
        list(files),
        video_id=video_id,
        condition=recording.condition,
        frames=len(table),
        decoded_frames=decoded,
        label_rows=len(labels),
        augmentation=augment and asdict(augment),
        setup=result.setup,  # the set-up's numbers: models store them (ethoflow.features.drift)
    )
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
        "quarantined": {q.video_id: q.reason for q in quarantined},
        "splits": manifest.groupby("split").size().to_dict(),
        "frames": int(manifest.loc[~manifest.augmented, "frames"].sum()),
        "featurization": featurization,
    }
    # What a re-run reused is about the run, not the data: kept out of the file so that an
    # unchanged re-run leaves it untouched.
    write_json(summary, out_dir / "summary.json")
    summary["reused"] = sum(bool(r.get("cached")) for r in records)
    lines = [
        f"Ingested {summary['ingested']} recordings ({summary['reused']} unchanged, reused), "
        f"{summary['frames']} frames; feature matrices per split: {summary['splits']}.",
        f"Quarantined {len(quarantined)}:" if quarantined else "Quarantined: none.",
        *(f"  - {q.video_id} ({q.condition}): {q.reason}" for q in quarantined),
    ]
    summary["text"] = "\n".join(lines)
    return summary
