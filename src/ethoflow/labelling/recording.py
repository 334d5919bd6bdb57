"""Label new recordings with the champion models: per-frame labels, a summary and an ethogram.

Each video is streamed once through the same featurisation as training
(:class:`ethoflow.features.featurization.Featurization`); every head's champion (loaded by
:func:`ethoflow.mlops.champions.load_champions`) then predicts per-frame probabilities, which are
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

import itertools
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing, Settings
from ethoflow.errors import InputError
from ethoflow.evaluation.plots import plot_ethogram, save_figure
from ethoflow.evaluation.summaries import video_summary
from ethoflow.features.drift import DriftLimits, drift_summary
from ethoflow.features.featurization import Featurization
from ethoflow.io.atomic import write_csv, write_json
from ethoflow.io.digest import file_digest, sha256_file
from ethoflow.io.records import commit_record, current_record, invalidate_record
from ethoflow.io.video import truncated
from ethoflow.labelling.batch import LabelOutcome
from ethoflow.models.prediction import predict_frames
from ethoflow.postprocess import label_frames
from ethoflow.runtime import interrupt
from ethoflow.vision.distance import DISTANCE_METHOD

if TYPE_CHECKING:
    from ethoflow.features.cnn import FeatureExtractor

log = logging.getLogger(__name__)

LABELS_FILE = "labels.csv"
SUMMARY_FILE = "summary.json"
ETHOGRAM_FILE = "ethogram.png"
RECORD_FILE = "record.json"


@dataclass(frozen=True)
class HeadModel:
    """One head's champion: the Keras model and the version tags needed to use it."""

    head: str
    model_name: str  # registered model
    version: str
    model: Any  # keras.Model (None when only the tags were read)
    threshold: float
    window: int
    featurization: str
    profile: dict | None = (
        None  # its training recordings' set-ups (ethoflow.features.drift); None: unknown
    )


@dataclass(frozen=True)
class LabelSettings:
    """How a recording is labelled, besides its models and features."""

    postprocessing: PostProcessing  # of the thresholded predictions
    arena_side_cm: float | None = None  # the arena's inner side: distances in cm too
    # A recording whose mouse is missing in more than this share of frames gets a warning.
    max_missing_share: float = 1.0
    # Scores the recording against the champions' training set-ups; None: not scored.
    drift_limits: DriftLimits | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LabelSettings:
        return cls(
            settings.postprocess,
            settings.label.arena_side_cm,
            settings.label.max_missing_share,
            DriftLimits.from_settings(settings),
        )


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
    """Per head: (float32 probabilities, int8 labels:
    :func:`~ethoflow.postprocess.label_frames`)."""
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
        labels = label_frames(probabilities, head.threshold, setting)
        predictions[head.head] = (probabilities.astype(np.float32), labels)
    return predictions


def label_table(
    track: pd.DataFrame, fps: float, predictions: dict[str, tuple[np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """frame, time_s, each head's 0/1 label, each head's probability, x, y: one row per slot of
    the ``fps`` clock the track was standardised to (:mod:`ethoflow.vision.fps`).

    ``frame`` is the source video's frame shown in the slot (repeated for a slower camera) and
    ``time_s`` the slot's start, so durations hold for any camera.
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
    table = pd.DataFrame({"frame": frames, "time_s": np.round(np.arange(len(frames)) / fps, 4)})
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
    label_settings: LabelSettings,
    video_id: str | None = None,
) -> LabelOutcome:
    """Label ``video`` into ``<outbox>/<video_id>/`` (default id: the file's stem) unless its
    outputs are already current.

    Predictions are thresholded per head and post-processed as ``label_settings`` says. Every
    head's champion must have been trained on ``featurization``'s features (ValueError
    otherwise). A video that cannot be used (unreadable, truncated, black or frozen, no mouse in
    most frames) or whose outputs cannot be written is quarantined with the reason; outputs of an
    earlier run are moved aside (``<outbox>/.stale/``), never left next to the quarantine.

    With drift limits, the recording is scored against the champions' training profiles
    (:func:`ethoflow.features.drift.drift_summary`, ``drift`` in the summary and the outcome); a
    flagged recording is labelled all the same.
    """
    postprocessing, side_cm = label_settings.postprocessing, label_settings.arena_side_cm
    drift_limits = label_settings.drift_limits
    interrupt.check()  # a Ctrl-C stops the videos still waiting too
    expected = featurization.id
    check_featurization(heads, expected)
    featurization.check_extractor(extractor)
    video = Path(video)
    video_id = video_id or video.stem
    out_dir = output_folder(Path(outbox), video_id, video)
    record_path = out_dir / RECORD_FILE

    def quarantined(reason: str) -> LabelOutcome:
        moved = move_aside(out_dir)
        if moved:
            reason += f" (earlier outputs moved to {moved})"
        return LabelOutcome(video_id, video, "quarantined", reason, None)

    try:
        # The key builds on the plain SHA-256 (reported in the summary): the bytes are read once.
        source_sha256 = sha256_file(video)
    except OSError as error:
        return quarantined(f"cannot read the file: {error.strerror or error}")
    models = sorted((h.head, h.version, h.threshold, h.window) for h in heads.values())
    limits = drift_limits and asdict(drift_limits)
    key = file_digest(
        [],
        source_sha256,
        expected,
        models,
        postprocessing.model_dump(),
        side_cm,
        limits,
        DISTANCE_METHOD,
    )
    if current_record(record_path, key) is not None:
        log.info("%s: labelled before with the same models, skipped", video_id)
        drift = json.loads((out_dir / SUMMARY_FILE).read_text()).get("drift")
        return LabelOutcome(
            video_id, video, "skipped", "unchanged since last labelled", out_dir, *_flag(drift)
        )

    try:
        result = featurization.featurize_video(video, extractor, progress_name=video_id)
        check_result(video, result, featurization.target_fps)
    except (InputError, ValueError, OSError, cv2.error) as error:  # OpenCV cannot decode it
        return quarantined(error.problem if isinstance(error, InputError) else str(error))

    predictions = predict_video(result.features, heads, postprocessing)
    fps = featurization.target_fps
    table = label_table(result.track, fps, predictions)
    names = [h.head for h in heads.values()]
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
        "clock_fps": fps,
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
        **video_summary(table, names, fps, pixels_per_cm),
    }
    warnings = []
    if result.fps < fps:
        warnings.append(
            f"the camera ({result.fps:g} fps) is slower than the models' clock ({fps:g} fps): "
            "each frame was repeated for its time span, so bouts shorter than a frame are missed"
        )
    found_share = float(result.track.found.mean())
    summary["found_share"] = round(found_share, 4)
    summary["track_quality"] = result.quality.summary()
    max_missing = label_settings.max_missing_share
    if 1 - found_share > max_missing:
        # Labels of frames without a mouse rest on a crop of where it was last seen.
        warnings.append(
            f"the mouse was not found in {1 - found_share:.0%} of frames "
            f"(more than {max_missing:.0%}): check the recording and its labels"
        )
    warnings += result.quality.warnings
    if warnings:
        summary["warning"] = "; ".join(warnings)
    drift = None
    if drift_limits is not None:
        profiles = {h.head: h.profile for h in heads.values()}
        drift = drift_summary(result.setup, result.features, profiles, drift_limits)
        summary["drift"] = drift
    figure = plot_ethogram(table, names, fps, f"{video_id}: {', '.join(names)}")

    try:
        invalidate_record(record_path)
        write_csv(table, out_dir / LABELS_FILE)
        write_json(summary, out_dir / SUMMARY_FILE)
        save_figure(figure, out_dir / ETHOGRAM_FILE)
        commit_record(
            record_path,
            key,
            [LABELS_FILE, SUMMARY_FILE, ETHOGRAM_FILE],
            video_id=video_id,
            source=str(video),
            versions={h.head: h.version for h in heads.values()},
        )
    except OSError as error:  # a full disk or a folder that cannot be written
        # Each file is written whole or not at all, and without a record none counts as done.
        return LabelOutcome(
            video_id,
            video,
            "quarantined",
            f"cannot write the outputs to {out_dir}: {error.strerror or error}",
            None,
        )
    log.info("%s: %d frames labelled", video_id, len(table))
    reason = summary.get("warning", "")
    return LabelOutcome(video_id, video, "labelled", reason, out_dir, *_flag(drift))


def _flag(drift: dict | None) -> tuple[bool | None, str]:
    """An outcome's drift fields from a summary's ``drift`` (None: not scored)."""
    if drift is None:
        return None, ""
    return drift["flagged"], "; ".join(drift["reasons"])


# The mouse must be found in at least this share of frames: else what was labelled is not a mouse.
MIN_FOUND_SHARE = 0.5
# Decoding must reach this share of the frames the header promises (as io.video's tail check).
_MIN_DECODED_SHARE = 0.9


def check_result(video: Path, result, clock_fps: float) -> None:
    """Raise :class:`InputError` if a featurised recording is not worth labels: it decoded far
    fewer frames than its header promised, it lasts less than one slot of the models'
    ``clock_fps`` clock (its one row would claim more time than was filmed), its track is not
    of a mouse (:mod:`ethoflow.vision.quality`), or the mouse is missing in most frames."""
    if result.track.empty:
        raise InputError(video, "no frames decoded")
    if result.decoded < _MIN_DECODED_SHARE * result.frame_count:
        raise InputError(video, truncated(result.frame_count, result.decoded))
    seconds = result.decoded / result.fps
    if seconds < 1 / clock_fps:
        raise InputError(
            video,
            f"the clip lasts {seconds:.2g} s ({result.decoded} frames at {result.fps:g} fps), "
            f"shorter than one frame of the models' {clock_fps:g} fps clock: too short to label; "
            f"`ethoflow track` follows the mouse in it, or record at least {1 / clock_fps:g} s",
        )
    if not result.quality.usable:
        raise InputError(video, "; ".join(result.quality.warnings))
    found = float(result.track.found.mean())
    if found < MIN_FOUND_SHARE:
        raise InputError(
            video,
            f"no mouse found in {1 - found:.0%} of frames: not a recording this tracker can "
            "follow (empty arena, or a set-up unlike a top view of one mouse?)",
        )


def output_folder(outbox: Path, video_id: str, video: Path) -> Path:
    """``<outbox>/<video_id>``, unless it holds another recording's outputs: then the first free
    ``<video_id>-2``, ``-3``, … (never a silent overwrite of another video's labels)."""
    for n in itertools.count(1):
        folder = outbox / (video_id if n == 1 else f"{video_id}-{n}")
        try:
            source = json.loads((folder / RECORD_FILE).read_text()).get("source")
        except (OSError, ValueError):
            source = None
        if source in (None, str(video)):
            return folder
    raise AssertionError("unreachable")


def move_aside(folder: Path) -> Path | None:
    """Move an earlier run's outputs to ``<outbox>/.stale/<name>-<UTC time>`` so they neither
    pass for current nor get lost; return where they went (None if there were none)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder.parent / ".stale" / f"{folder.name}-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(target)
    return target
