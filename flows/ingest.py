"""Ingest flow: validate → split → featurise every recording; quarantine the bad ones."""

from __future__ import annotations

import cv2
import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import unmapped

from ethoflow.config import Settings, load_settings
from ethoflow.data import ingest as steps
from ethoflow.data.validation import ValidationReport, save_report, validate_recording
from ethoflow.errors import InputError
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.flows.tasks import build_extractor, video_runner
from ethoflow.runtime.interrupt import Interrupted


@task(cache_policy=NO_CACHE)
def find_recordings(settings: Settings) -> tuple[list[steps.Recording], list[steps.Quarantined]]:
    return steps.discover_recordings(settings.paths.raw)


@task(cache_policy=NO_CACHE, task_run_name="convert-labels-{recording.video_id}")
def convert_labels(recording: steps.Recording, settings: Settings) -> steps.Recording:
    return steps.convert_labels(recording, settings.paths.features / "labels", settings)


@task(cache_policy=NO_CACHE, task_run_name="validate-{recording.video_id}")
def validate(recording: steps.Recording, settings: Settings) -> ValidationReport:
    report = validate_recording(
        recording.video, recording.labels, tolerance_frames=settings.ingest.label_tolerance_frames
    )
    save_report(report, settings.paths.features / "reports" / f"{recording.video_id}.json")
    return report


def picture_problems(recording: steps.Recording) -> list[str]:
    try:
        steps.check_picture_of(recording)
    except InputError as exc:
        return [f"video {recording.video.name}: {exc.problem}"]
    return []


@task(cache_policy=NO_CACHE)
def split(
    recordings: list[steps.Recording], reports: list[ValidationReport], settings: Settings
) -> pd.Series[str]:
    # Valid recordings only: their video could be read.
    videos = {
        r.video_id: report.video
        for r, report in zip(recordings, reports, strict=True)
        if report.video is not None
    }
    return steps.assign_splits(recordings, videos, settings)


@task(cache_policy=NO_CACHE, task_run_name="featurize-{recording.video_id}")
def featurize(
    recording: steps.Recording,
    split: str,
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    settings: Settings,
) -> dict:
    return steps.featurize_recording(
        recording,
        settings.paths.features / "videos",
        featurization=featurization,
        extractor=extractor,
        augment=steps.augmentation_for(recording.video_id, split, settings),
        tolerance_frames=settings.ingest.label_tolerance_frames,
    )


@task(cache_policy=NO_CACHE)
def write_outputs(
    records: list[dict],
    splits: pd.Series,
    quarantined: list[steps.Quarantined],
    featurization: Featurization,
    settings: Settings,
) -> dict:
    summary = steps.write_ingest_outputs(
        records, splits, quarantined, settings.paths.features, featurization.id
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
    settings = load_settings(params)
    featurization = Featurization.from_settings(settings)
    recordings, quarantined = find_recordings(settings)
    valid, reports = [], []
    for recording in recordings:
        try:
            recording = convert_labels(recording, settings)
        except InputError as exc:  # the video or its label file, named
            quarantined.append(steps.quarantine(recording, f"{exc.path.name}: {exc.problem}"))
            continue
        report = validate(recording, settings)
        problems = report.problems or picture_problems(recording)
        if problems:
            quarantined.append(steps.quarantine(recording, "; ".join(problems)))
        else:
            valid.append(recording)
            reports.append(report)
    valid, copies = steps.set_aside_duplicates(valid)
    reports = [r for r in reports if r.recording in {v.video_id for v in valid}]
    quarantined += copies
    splits = split(valid, reports, settings)
    extractor = build_extractor(featurization)
    with video_runner(settings) as runner:
        futures = runner.map(
            featurize,
            {
                "recording": valid,
                "split": [splits[recording.video_id] for recording in valid],
                "featurization": unmapped(featurization),
                "extractor": unmapped(extractor),
                "settings": unmapped(settings),
            },
        )
        futures.wait()  # leaving the runner cancels what is unfinished
    records, stopped = [], 0
    for recording, future in zip(valid, futures, strict=True):
        try:
            records.append(future.result())
        except Interrupted:
            stopped += 1
        except InputError as exc:
            quarantined.append(steps.quarantine(recording, exc.problem))
        except (ValueError, OSError, cv2.error) as exc:  # one bad file must not stop the rest
            reason = f"cannot be featurised: {type(exc).__name__}: {exc}"
            quarantined.append(steps.quarantine(recording, reason))
    if stopped:
        # The manifest stays the last complete one; each recording's features (record last) are
        # kept, so the re-run featurises only the rest.
        raise Interrupted(f"{len(valid) - stopped} of {len(valid)} recordings featurised")
    summary = write_outputs(records, splits, quarantined, featurization, settings)
    return summary
