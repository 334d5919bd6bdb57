"""Label new recordings with the champion models: per-frame labels, a summary and an ethogram.

Each video is streamed once through the ingest featurisation (decode → fps → detect → crop → CNN
(+ posture)); every head's champion then predicts per-frame probabilities, which are thresholded
at the head's evaluated threshold and post-processed. Outputs go to ``<outbox>/<video_id>/``, each
written atomically, with ``record.json`` written last: a folder with a record is complete and
matches its key (video bytes, featurisation, model versions and thresholds, post-processing), so a
re-run skips it. A record is removed before outputs are replaced, and a video that cannot be read
is quarantined without touching the outputs of an earlier successful run (only its record goes).

Positions are in pixels of the source video; with ``label.arena_side_cm`` set, distances and
speeds are also given in cm, scaled by the detected arena's side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing, Settings
from ethoflow.errors import InputError
from ethoflow.evaluation import bouts, postprocess, save_figure
from ethoflow.features import extractor_identity
from ethoflow.ingest import VIDEO_SUFFIXES, featurization_id, featurize_video
from ethoflow.io.atomic import write_csv, write_json
from ethoflow.io.digest import file_digest
from ethoflow.promotion import CHAMPION, champion_version, model_name
from ethoflow.registry import load_keras_model
from ethoflow.training.fit import predict_frames

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

LABELS_FILE = "labels.csv"
SUMMARY_FILE = "summary.json"
ETHOGRAM_FILE = "ethogram.png"
RECORD_FILE = "record.json"
_REQUIRED_TAGS = ("window", "featurization", "threshold")


class NoChampionError(RuntimeError):
    """A head has no usable champion model; the message says which head and what to run."""


@dataclass(frozen=True)
class HeadModel:
    """One head's champion: the Keras model and the version tags needed to use it."""

    head: str
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


def _usable_tags(name: str, version: str, tags: dict[str, str]) -> tuple[float, int, str]:
    """The champion's threshold, window and featurisation tags, or a NoChampionError."""
    missing = [tag for tag in _REQUIRED_TAGS if tag not in tags]
    if not missing:
        try:
            threshold, window = float(tags["threshold"]), int(tags["window"])
        except ValueError:
            threshold, window = math.nan, 0
        if math.isfinite(threshold) and window >= 1:
            return threshold, window, tags["featurization"]
    problem = f"lacks the tag(s) {missing}" if missing else "has an unusable threshold or window"
    raise NoChampionError(
        f"{name} version {version} (the {CHAMPION!r}) {problem}; training sets "
        "window and featurization, evaluation sets threshold. Run `ethoflow retrain` to train and "
        "evaluate models, then `ethoflow promote` to make an evaluated one champion"
    )


def load_champions(heads: list[str], *, client: MlflowClient | None = None) -> dict[str, HeadModel]:
    """Load each head's ``champion`` version with its window, featurisation and threshold tags.

    ``client`` finds the champion; the model itself is downloaded through MLflow's current
    tracking/registry URI, so both must point at the same store.
    """
    loaded = {}
    for head in heads:
        name = model_name(head)
        champion = champion_version(head, client)
        if champion is None:
            raise NoChampionError(
                f"{name} has no {CHAMPION!r} version, so {head!r} cannot be labelled: train and "
                "evaluate models with `ethoflow retrain`, then choose one with `ethoflow promote`"
            )
        version = str(champion.version)
        threshold, window, featurization = _usable_tags(name, version, champion.tags)
        # By version, not alias: the alias may move between reading the tags and the download.
        model = load_keras_model(f"models:/{name}/{version}")
        loaded[head] = HeadModel(head, version, model, threshold, window, featurization)
        log.info("%s: champion version %s, threshold %.4g", name, version, threshold)
    return loaded


def champions_for(settings: Settings) -> dict[str, HeadModel]:
    """The champions of ``settings.train.heads``, checked to fit the features the settings make."""
    heads = load_champions(settings.train.heads)
    check_featurization(heads, featurization_id(settings))
    return heads


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


def _frame_period(time_s: np.ndarray) -> float:
    """Seconds per standardised frame (median, robust to uneven fps standardisation); 0 if < 2."""
    return float(np.median(np.diff(time_s))) if len(time_s) >= 2 else 0.0


def video_summary(
    table: pd.DataFrame, heads: list[str], pixels_per_cm: float | None = None
) -> dict:
    """Bouts per head and the mouse's movement, from a :func:`label_table` table.

    Per head: ``bouts`` (count), ``total_s`` (frames in bouts × the frame period) and
    ``latency_s`` (time of the first bout's start; None without bouts). Overall: ``frames``,
    ``duration_s`` (frames × period), ``distance_px`` (summed centre steps) and
    ``mean_speed_px_s`` (distance over the time from first to last frame); with
    ``pixels_per_cm``, also ``distance_cm`` and ``mean_speed_cm_s``.
    """
    time_s = table.time_s.to_numpy(float)
    period = _frame_period(time_s)
    steps = np.hypot(np.diff(table.x.to_numpy(float)), np.diff(table.y.to_numpy(float)))
    distance = float(steps.sum())
    elapsed = float(time_s[-1] - time_s[0]) if len(time_s) >= 2 else 0.0
    behaviours = {}
    for head in heads:
        runs = bouts(table[head].to_numpy())
        behaviours[head] = {
            "bouts": len(runs),
            "total_s": round(sum(stop - start for start, stop in runs) * period, 4),
            "latency_s": float(time_s[runs[0][0]]) if runs else None,
        }
    speed = distance / elapsed if elapsed > 0 else 0.0
    movement = {"distance_px": round(distance, 2), "mean_speed_px_s": round(speed, 2)}
    if pixels_per_cm:
        movement |= {
            "distance_cm": round(distance / pixels_per_cm, 2),
            "mean_speed_cm_s": round(speed / pixels_per_cm, 2),
        }
    return {
        "frames": len(table),
        "frame_period_s": round(period, 4),
        "duration_s": round(len(table) * period, 4),
        **movement,
        "heads": behaviours,
    }


def plot_ethogram(table: pd.DataFrame, heads: list[str], title: str) -> Figure:
    """Probability lines above one band per head marking its labelled bouts, over time."""
    from matplotlib.figure import Figure

    time_s = table.time_s.to_numpy(float)
    period = _frame_period(time_s)
    figure = Figure(figsize=(12, 2.5 + 0.5 * len(heads)), layout="constrained")
    lines, bands = figure.subplots(2, 1, sharex=True, height_ratios=(2, max(len(heads), 1)))
    for row, head in enumerate(heads):
        color = f"C{row}"
        lines.plot(time_s, table[f"{head}_probability"], linewidth=0.8, color=color, label=head)
        spans = [(time_s[start], (stop - start) * period) for start, stop in bouts(table[head])]
        bands.broken_barh(spans, (row - 0.4, 0.8), color=color)
    lines.set(ylabel="probability", ylim=(0, 1.02), title=title)
    if heads:
        lines.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bands.set_yticks(range(len(heads)), heads)
    # Inverted, so the bands read top-down in the legend's order.
    bands.set(xlabel="time (s)", ylim=(len(heads) - 0.4, -0.6))
    if len(time_s):
        bands.set_xlim(time_s[0], time_s[-1] + max(period, 1e-3))
    for ax in (lines, bands):
        ax.grid(axis="x", alpha=0.3)
    return figure


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_current(out_dir: Path, key: str) -> bool:
    record_path = out_dir / RECORD_FILE
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return False
    return record.get("key") == key and all((out_dir / f).is_file() for f in record["files"])


def label_video(
    video: Path,
    outbox: Path,
    *,
    heads: dict[str, HeadModel],
    extractor,
    settings: Settings,
) -> LabelOutcome:
    """Label ``video`` into ``<outbox>/<video stem>/`` unless its outputs are already current.

    Predictions are thresholded per head and post-processed as ``settings.postprocess`` says.

    ``extractor`` must be ``ingest.build_extractor(settings)``, and every head's champion must
    have been trained on ``featurization_id(settings)`` features (ValueError otherwise). A video
    that cannot be decoded is quarantined: its old record (if any) is removed, nothing is written.
    """
    expected = featurization_id(settings)
    check_featurization(heads, expected)
    postprocessing = settings.postprocess
    f, ingest = settings.features, settings.ingest
    wanted = extractor_identity(f.layer, f.weights, ingest.crop_size, settings.seed)
    if not f.cnn:
        wanted = None
    have = extractor and extractor.identity
    if have != wanted:
        raise ValueError(
            f"the extractor is {have!r} but the settings ask for {wanted!r}; "
            "build it with ethoflow.ingest.build_extractor(settings)"
        )
    video = Path(video)
    video_id = video.stem
    out_dir = Path(outbox) / video_id
    record_path = out_dir / RECORD_FILE

    def quarantined(reason: str) -> LabelOutcome:
        record_path.unlink(missing_ok=True)
        log.warning("%s: quarantined: %s", video_id, reason)
        return LabelOutcome(video_id, video, "quarantined", reason, None)

    try:
        # The key builds on the plain SHA-256 (reported in the summary): the bytes are read once.
        source_sha256 = _sha256(video)
    except OSError as error:
        return quarantined(f"cannot read the file: {error}")
    models = sorted((h.head, h.version, h.threshold, h.window) for h in heads.values())
    calibration = settings.label.arena_side_cm
    key = file_digest([], source_sha256, expected, models, postprocessing.model_dump(), calibration)
    if _is_current(out_dir, key):
        log.info("%s: labelled before with the same models, skipped", video_id)
        return LabelOutcome(video_id, video, "skipped", "unchanged since last labelled", out_dir)

    try:
        result = featurize_video(
            video,
            extractor=extractor,
            target_fps=ingest.target_fps,
            crop_size=ingest.crop_size,
            batch_size=f.batch_size,
            augment=None,
            posture=f.posture,
            progress_name=video_id,
        )
        if result.track.empty:
            raise InputError(video, "no frames decoded")
    except (InputError, ValueError, OSError, cv2.error) as error:  # a video OpenCV cannot decode
        return quarantined(str(error))

    predictions = predict_video(result.features, heads, postprocessing)
    table = label_table(result.track, result.fps, predictions)
    names = [h.head for h in heads.values()]
    side_cm = calibration
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
                "model": model_name(h.head),
                "version": h.version,
                "threshold": h.threshold,
                "window": h.window,
            }
            for h in heads.values()
        },
        "units": units,
        **video_summary(table, names, pixels_per_cm),
    }
    figure = plot_ethogram(table, names, f"{video_id}: {', '.join(names)}")

    # No record while outputs are being replaced: a crash in between leaves a folder to redo.
    record_path.unlink(missing_ok=True)
    write_csv(table, out_dir / LABELS_FILE)
    write_json(summary, out_dir / SUMMARY_FILE)
    save_figure(figure, out_dir / ETHOGRAM_FILE)
    record = {
        "video_id": video_id,
        "key": key,
        "files": [LABELS_FILE, SUMMARY_FILE, ETHOGRAM_FILE],
        "versions": {h.head: h.version for h in heads.values()},
    }
    write_json(record, record_path)
    log.info("%s: %d frames labelled", video_id, len(table))
    return LabelOutcome(video_id, video, "labelled", "", out_dir)


def find_videos(inbox: Path) -> tuple[list[Path], list[LabelOutcome]]:
    """Videos anywhere under ``inbox`` (dot-files and dot-folders skipped), sorted by id.

    The video id is the file's stem, which names its output folder, so videos sharing a stem
    (in different subfolders, or as ``a.mp4`` and ``a.avi``) are all quarantined.
    """
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise FileNotFoundError(f"{inbox}: no inbox folder")
    by_id: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(inbox.rglob("*")):
        # Dot-files are other tools' temporaries (an interrupted copy or atomic write).
        hidden = any(part.startswith(".") for part in path.relative_to(inbox).parts)
        if not hidden and path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
            by_id[path.stem].append(path)
    videos, duplicates = [], []
    for video_id, paths in sorted(by_id.items()):
        if len(paths) == 1:
            videos.append(paths[0])
            continue
        for path in paths:
            others = ", ".join(str(p.relative_to(inbox)) for p in paths if p != path)
            reason = f"video id {video_id!r} is also used by {others}"
            duplicates.append(LabelOutcome(video_id, path, "quarantined", reason, None))
    return videos, duplicates


def write_batch_report(outcomes: list[LabelOutcome], outbox: Path) -> pd.DataFrame:
    """Write ``report.csv`` (every video of the batch) and ``quarantine.csv``; return the report."""
    columns = ["video_id", "video", "status", "reason", "outputs"]
    report = pd.DataFrame([asdict(outcome) for outcome in outcomes], columns=columns)
    write_csv(report, Path(outbox) / "report.csv")
    quarantine = report.loc[report.status == "quarantined", ["video_id", "video", "reason"]]
    write_csv(quarantine, Path(outbox) / "quarantine.csv")
    return report
