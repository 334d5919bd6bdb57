"""Label new recordings with the champion models: per-frame labels, a summary and an ethogram.

Each video is streamed once through the same featurisation as training
(:class:`ethoflow.featurization.Featurization`); every head's champion (loaded by
:func:`ethoflow.registry.load_champions`) then predicts per-frame probabilities, which are
thresholded at the head's evaluated threshold and post-processed. Outputs go to
``<outbox>/<video_id>/``, each written atomically, with ``record.json`` written last
(:mod:`ethoflow.io.records`): a folder with a record is complete and matches its key (video bytes,
featurisation, model versions and thresholds, post-processing), so a re-run skips it. A video that
cannot be read is quarantined without touching the outputs of an earlier successful run (only its
record goes).

Positions are in pixels of the source video; with ``label.arena_side_cm`` set, distances and
speeds are also given in cm, scaled by the detected arena's side.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing
from ethoflow.errors import InputError
from ethoflow.evaluation import postprocess
from ethoflow.featurization import Featurization
from ethoflow.io.atomic import write_csv, write_json
from ethoflow.io.digest import file_digest, sha256_file
from ethoflow.io.records import commit_record, current_record, invalidate_record
from ethoflow.plots import plot_ethogram, save_figure
from ethoflow.summaries import video_summary
from ethoflow.training.fit import predict_frames

if TYPE_CHECKING:
    from ethoflow.features import FeatureExtractor

log = logging.getLogger(__name__)

LABELS_FILE = "labels.csv"
SUMMARY_FILE = "summary.json"
ETHOGRAM_FILE = "ethogram.png"
RECORD_FILE = "record.json"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


@dataclass(frozen=True)
class HeadModel:
    """One head's champion: the Keras model and the version tags needed to use it."""

    head: str
    model_name: str  # registered model
    version: str
    model: Any  # keras.Model
    threshold: float
    window: int
    featurization: str


@dataclass(frozen=True)
class LabelOutcome:
    """What happened to one video: ``labelled``, ``skipped`` (up to date) or ``quarantined``."""

    video_id: str
    video: Path
    status: str
    reason: str
    outputs: Path | None


def check_featurization(heads: dict[str, HeadModel], expected: str) -> None:
    """Raise ValueError unless every head was trained on features made as ``expected`` says."""
    wrong = [head for head in heads.values() if head.featurization != expected]
    if wrong:
        lines = [
            f"the {head.head!r} champion (version {head.version}) was trained on features "
            f"{head.featurization!r}, but the settings make {expected!r}"
            for head in wrong
        ]
        raise ValueError(
            "; ".join(lines) + ". Set params.yaml's seed, ingest (target_fps, crop_size) and "
            "features (layer, weights, posture) to what the champion was trained with, or retrain "
            "on features made with the current settings (`ethoflow retrain`)."
        )


def predict_video(
    features: np.ndarray, heads: dict[str, HeadModel], setting: PostProcessing
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per head: (float32 probabilities, int8 labels: ``>= threshold``, then post-processed)."""
    if not heads:
        raise ValueError("no heads to predict")
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"features must be (frames > 0, n), got shape {features.shape}")
    predictions = {}
    for head in heads.values():
        expected = head.model.input_shape[-1]
        if features.shape[1] != expected:
            raise ValueError(
                f"{head.head!r} version {head.version} takes {expected} features per frame, "
                f"got {features.shape[1]}"
            )
        (probabilities,) = predict_frames(head.model, [features], head.window)
        labels = postprocess((probabilities >= head.threshold).astype(np.int8), setting)
        predictions[head.head] = (probabilities.astype(np.float32), labels)
    return predictions


def label_table(
    track: pd.DataFrame, fps: float, predictions: dict[str, tuple[np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """frame, time_s, each head's 0/1 label, each head's probability, x, y: one row per frame.

    ``fps`` is the source video's: ``track.frame`` counts its frames, so ``time_s`` is real time.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    for head, (probabilities, labels) in predictions.items():
        if not len(probabilities) == len(labels) == len(track):
            raise ValueError(
                f"{head!r}: {len(probabilities)} probabilities and {len(labels)} labels "
                f"for {len(track)} frames"
            )
    frames = track.frame.to_numpy()
    table = pd.DataFrame({"frame": frames, "time_s": np.round(frames / fps, 4)})
    for head, (_, labels) in predictions.items():
        table[head] = labels.astype(np.int8)
    for head, (probabilities, _) in predictions.items():
        table[f"{head}_probability"] = probabilities
    table["x"] = track.x.to_numpy()
    table["y"] = track.y.to_numpy()
    return table


def label_video(
    video: Path,
    outbox: Path,
    *,
    heads: dict[str, HeadModel],
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    postprocessing: PostProcessing,
    arena_side_cm: float | None,
    max_missing_share: float = 1.0,
) -> LabelOutcome:
    """Label ``video`` into ``<outbox>/<video stem>/`` unless its outputs are already current.

    Predictions are thresholded per head and post-processed as ``postprocessing`` says. Every
    head's champion must have been trained on ``featurization``'s features (ValueError
    otherwise). A video that cannot be decoded is quarantined: its old record (if any) is
    removed, nothing is written.
    """
    expected = featurization.id
    check_featurization(heads, expected)
    featurization.check_extractor(extractor)
    video = Path(video)
    video_id = video.stem
    out_dir = Path(outbox) / video_id
    record_path = out_dir / RECORD_FILE

    def quarantined(reason: str) -> LabelOutcome:
        invalidate_record(record_path)
        log.warning("%s: quarantined: %s", video_id, reason)
        return LabelOutcome(video_id, video, "quarantined", reason, None)

    try:
        # The key builds on the plain SHA-256 (reported in the summary): the bytes are read once.
        source_sha256 = sha256_file(video)
    except OSError as error:
        return quarantined(f"cannot read the file: {error}")
    models = sorted((h.head, h.version, h.threshold, h.window) for h in heads.values())
    key = file_digest(
        [], source_sha256, expected, models, postprocessing.model_dump(), arena_side_cm
    )
    if current_record(record_path, key) is not None:
        log.info("%s: labelled before with the same models, skipped", video_id)
        return LabelOutcome(video_id, video, "skipped", "unchanged since last labelled", out_dir)

    try:
        result = featurization.featurize_video(video, extractor, progress_name=video_id)
        if result.track.empty:
            raise InputError(video, "no frames decoded")
    except (InputError, ValueError, OSError, cv2.error) as error:  # OpenCV cannot decode it
        return quarantined(str(error))

    predictions = predict_video(result.features, heads, postprocessing)
    table = label_table(result.track, result.fps, predictions)
    names = [h.head for h in heads.values()]
    side_cm = arena_side_cm
    # The arena's short side in the image against its real size: the camera's scale.
    pixels_per_cm = result.arena_side_px / side_cm if side_cm and result.arena_side_px else None
    units = "x, y and *_px in source-video pixels"
    if pixels_per_cm:
        units += f"; *_cm from the arena's side ({result.arena_side_px:.0f} px = {side_cm:g} cm)"
    summary = {
        "video_id": video_id,
        "source": str(video),
        "source_sha256": source_sha256,
        "source_fps": result.fps,
        "labelled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "featurization": expected,
        "postprocess": postprocessing.model_dump(),
        "models": {
            h.head: {
                "model": h.model_name,
                "version": h.version,
                "threshold": h.threshold,
                "window": h.window,
            }
            for h in heads.values()
        },
        "units": units,
        **video_summary(table, names, pixels_per_cm),
    }
    found_share = float(result.track.found.mean())
    summary["found_share"] = round(found_share, 4)
    if 1 - found_share > max_missing_share:
        # Labels of frames without a mouse rest on a crop of where it was last seen.
        summary["warning"] = (
            f"the mouse was not found in {1 - found_share:.0%} of frames "
            f"(more than {max_missing_share:.0%}): check the recording and its labels"
        )
    figure = plot_ethogram(table, names, f"{video_id}: {', '.join(names)}")

    invalidate_record(record_path)
    write_csv(table, out_dir / LABELS_FILE)
    write_json(summary, out_dir / SUMMARY_FILE)
    save_figure(figure, out_dir / ETHOGRAM_FILE)
    commit_record(
        record_path,
        key,
        [LABELS_FILE, SUMMARY_FILE, ETHOGRAM_FILE],
        video_id=video_id,
        versions={h.head: h.version for h in heads.values()},
    )
    log.info("%s: %d frames labelled", video_id, len(table))
    return LabelOutcome(video_id, video, "labelled", "", out_dir)


def find_videos(sources: list[Path]) -> tuple[list[Path], list[LabelOutcome]]:
    """The videos to label: files named in ``sources`` and videos anywhere under its folders
    (dot-files and dot-folders skipped), sorted by id.

    The video id is the file's stem, which names its output folder, so videos sharing a stem
    (in different subfolders, or as ``a.mp4`` and ``a.avi``) are all quarantined, and so is a
    source that does not exist.
    """
    by_id: dict[str, list[Path]] = defaultdict(list)
    missing = []
    for source in map(Path, sources):
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                # Dot-files are other tools' temporaries (an interrupted copy or atomic write).
                hidden = any(part.startswith(".") for part in path.relative_to(source).parts)
                if not hidden and path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
                    by_id[path.stem].append(path)
        elif source.is_file():
            by_id[source.stem].append(source)
        else:
            missing.append(LabelOutcome(source.stem, source, "quarantined", "file not found", None))
    videos, duplicates = [], []
    for video_id, paths in sorted(by_id.items()):
        unique = list(dict.fromkeys(paths))
        if len(unique) == 1:
            videos.append(unique[0])
            continue
        for path in unique:
            others = ", ".join(str(p) for p in unique if p != path)
            reason = f"video id {video_id!r} is also used by {others}"
            duplicates.append(LabelOutcome(video_id, path, "quarantined", reason, None))
    return videos, missing + duplicates


def write_batch_report(outcomes: list[LabelOutcome], source: str, outbox: Path) -> str:
    """Write ``report.csv`` (every video of the batch) and ``quarantine.csv``; return a summary
    in Markdown (counts per status, and each quarantined video with its reason)."""
    columns = ["video_id", "video", "status", "reason", "outputs"]
    report = pd.DataFrame([asdict(outcome) for outcome in outcomes], columns=columns)
    write_csv(report, Path(outbox) / "report.csv")
    quarantine = report.loc[report.status == "quarantined", ["video_id", "video", "reason"]]
    write_csv(quarantine, Path(outbox) / "quarantine.csv")
    counts = report.status.value_counts().to_dict()
    lines = [f"Labelled batch from {source} into {outbox}: {counts or 'no videos'}."]
    lines += [f"- {row.video_id}: quarantined — {row.reason}" for row in quarantine.itertuples()]
    return "\n".join(lines)
