"""The ingest's quarantine policy: which recordings are featurised, and which are set aside, why.

Before the split, each recording's labels are converted to ours, validated and its picture
checked, and copies of one video under other names are set aside
(:func:`screen_recordings`); while featurising, a recording that turns out unusable is
quarantined rather than stopping the others (:func:`featurize_or_quarantine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from ethoflow.config import Settings
from ethoflow.data.ingest import (
    Quarantined,
    Recording,
    check_picture_of,
    convert_labels,
    featurize_recording,
    quarantine,
    set_aside_duplicates,
)
from ethoflow.data.validation import ValidationReport, save_report, validate_recording
from ethoflow.errors import InputError
from ethoflow.features.featurization import Featurization
from ethoflow.vision.augment import AugmentSetting

if TYPE_CHECKING:
    from ethoflow.features.cnn import FeatureExtractor


@dataclass(frozen=True)
class Screened:
    """The recordings fit to featurise, each with its validation report, and those set aside."""

    recordings: list[Recording]
    reports: list[ValidationReport]  # one per recording, in the same order
    quarantined: list[Quarantined]


def screen_recording(
    recording: Recording,
    settings: Settings,
    out: Path | None = None,
    label_format: str | None = None,
) -> tuple[Recording, ValidationReport] | Quarantined:
    """``recording`` with its labels in our format (another tool's converted into
    ``<out>/labels/``; ``out`` defaults to ``paths.features``; ``label_format`` to the one the
    file's name declares), validated (the report saved under ``<out>/reports/``) and its picture
    checked; or quarantined with the reason."""
    out = out or settings.paths.features
    try:
        recording = convert_labels(recording, out / "labels", settings, label_format)
    except InputError as exc:  # the video or its label file, named
        return quarantine(recording, f"{exc.path.name}: {exc.problem}")
    report = validate_recording(
        recording.video, recording.labels, tolerance_frames=settings.ingest.label_tolerance_frames
    )
    save_report(report, out / "reports" / f"{recording.video_id}.json")
    problems = report.problems
    if not problems:
        try:
            check_picture_of(recording)
        except InputError as exc:
            problems = [f"video {recording.video.name}: {exc.problem}"]
    if problems:
        return quarantine(recording, "; ".join(problems))
    return recording, report


def screen_recordings(recordings: list[Recording], settings: Settings) -> Screened:
    """Screen each recording (:func:`screen_recording`), then keep one of each video content."""
    passed, quarantined = [], []
    for recording in recordings:
        outcome = screen_recording(recording, settings)
        if isinstance(outcome, Quarantined):
            quarantined.append(outcome)
        else:
            passed.append(outcome)
    kept, copies = set_aside_duplicates([recording for recording, _ in passed])
    kept_ids = {recording.video_id for recording in kept}
    reports = [report for recording, report in passed if recording.video_id in kept_ids]
    return Screened(kept, reports, quarantined + copies)


def featurize_or_quarantine(
    recording: Recording,
    out_dir: Path,
    *,
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    augment: AugmentSetting | None,
    tolerance_frames: int,
) -> dict | Quarantined:
    """:func:`~ethoflow.data.ingest.featurize_recording`'s record, or the recording quarantined
    when it cannot be featurised: one bad file must not stop the rest."""
    try:
        return featurize_recording(
            recording,
            out_dir,
            featurization=featurization,
            extractor=extractor,
            augment=augment,
            tolerance_frames=tolerance_frames,
        )
    except InputError as exc:
        return quarantine(recording, exc.problem)
    except (ValueError, OSError, cv2.error) as exc:
        return quarantine(recording, f"cannot be featurised: {type(exc).__name__}: {exc}")
