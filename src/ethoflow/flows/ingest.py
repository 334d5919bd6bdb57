"""Ingest flow: validate → split → featurise every recording; quarantine the bad ones."""

from __future__ import annotations

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow import ingest as steps
from ethoflow.config import Settings, load_settings
from ethoflow.errors import InputError
from ethoflow.features import FeatureExtractor
from ethoflow.split import split_recordings
from ethoflow.validation import ValidationReport, save_report, validate_recording


@task(cache_policy=NO_CACHE)
def find_recordings(settings: Settings) -> tuple[list[steps.Recording], list[steps.Quarantined]]:
    return steps.discover_recordings(settings.paths.raw)


@task(cache_policy=NO_CACHE, task_run_name="validate-{recording.video_id}")
def validate(recording: steps.Recording, settings: Settings) -> ValidationReport:
    report = validate_recording(
        recording.video, recording.labels, tolerance_frames=settings.ingest.label_tolerance_frames
    )
    save_report(report, settings.paths.features / "reports" / f"{recording.video_id}.json")
    return report


@task(cache_policy=NO_CACHE)
def split(recordings: list[steps.Recording], settings: Settings) -> pd.Series:
    lengths = pd.DataFrame(
        {
            "video_id": r.video_id,
            "condition": r.condition,
            "frames": steps.standardized_length(r.video, settings.ingest.target_fps),
        }
        for r in recordings
    )
    return split_recordings(
        lengths, test_fraction=settings.ingest.test_fraction, seed=settings.seed
    )


@task(cache_policy=NO_CACHE)
def load_extractor(settings: Settings) -> FeatureExtractor | None:
    return steps.build_extractor(settings)


@task(cache_policy=NO_CACHE, task_run_name="featurize-{recording.video_id}")
def featurize(
    recording: steps.Recording,
    train: bool,
    extractor: FeatureExtractor | None,
    settings: Settings,
) -> dict:
    ingest = settings.ingest
    augment = (
        steps.augmentation_for(
            recording.video_id,
            seed=settings.seed,
            brightness=ingest.augment_brightness,
            zoom=ingest.augment_zoom,
        )
        if train
        else None
    )
    return steps.featurize_recording(
        recording,
        settings.paths.features / "videos",
        extractor=extractor,
        target_fps=ingest.target_fps,
        crop_size=ingest.crop_size,
        tolerance_frames=ingest.label_tolerance_frames,
        batch_size=settings.features.batch_size,
        augment=augment,
        posture=settings.features.posture,
    )


@task(cache_policy=NO_CACHE)
def write_outputs(
    records: list[dict], splits: pd.Series, quarantined: list[steps.Quarantined], settings: Settings
) -> dict:
    summary = steps.write_ingest_outputs(
        records, splits, quarantined, settings.paths.features, steps.featurization_id(settings)
    )
    create_markdown_artifact(
        key="ingest-summary",
        markdown=summary["text"],
        description="Ingested and quarantined recordings",
    )
    return summary


@flow(name="ingest", log_prints=True)
def ingest_flow(params: str = "params.yaml") -> dict:
    """Turn the DVC-versioned raw recordings into per-video features, labels and a manifest."""
    logger = get_run_logger()
    settings = load_settings(params)
    recordings, quarantined = find_recordings(settings)
    valid = []
    for recording in recordings:
        report = validate(recording, settings)
        if report.success:
            valid.append(recording)
        else:
            quarantined.append(steps.quarantine(recording, "; ".join(report.problems)))
    splits = split(valid, settings)
    extractor = load_extractor(settings)
    records = []
    for recording in valid:
        try:
            records.append(
                featurize(recording, splits[recording.video_id] == "train", extractor, settings)
            )
        except InputError as exc:
            quarantined.append(steps.quarantine(recording, exc.problem))
    summary = write_outputs(records, splits, quarantined, settings)
    logger.info(summary["text"])
    return summary
