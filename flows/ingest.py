"""Ingest flow: validate → split → featurise every recording; quarantine the bad ones."""

from __future__ import annotations

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import unmapped

from ethoflow.config import Settings, load_settings
from ethoflow.data import ingest as steps
from ethoflow.data.screening import Screened, featurize_or_quarantine, screen_recordings
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.flows.tasks import build_extractor, video_runner, wait_with_progress
from ethoflow.runtime.interrupt import Interrupted


@task(cache_policy=NO_CACHE)
def find_recordings(settings: Settings) -> tuple[list[steps.Recording], list[steps.Quarantined]]:
    return steps.discover_recordings(settings.paths.raw)


@task(cache_policy=NO_CACHE)
def screen(recordings: list[steps.Recording], settings: Settings) -> Screened:
    return screen_recordings(recordings, settings)


@task(cache_policy=NO_CACHE)
def split(screened: Screened, settings: Settings) -> pd.Series[str]:
    # Screened recordings are valid: their video could be read.
    pairs = zip(screened.recordings, screened.reports, strict=True)
    videos = {r.video_id: report.video for r, report in pairs if report.video is not None}
    return steps.assign_splits(screened.recordings, videos, settings)


@task(cache_policy=NO_CACHE, task_run_name="featurize-{recording.video_id}")
def featurize(
    recording: steps.Recording,
    split: str,
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    settings: Settings,
) -> dict | steps.Quarantined:
    return featurize_or_quarantine(
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
    screened = screen(recordings, settings)
    quarantined += screened.quarantined
    valid = screened.recordings
    splits = split(screened, settings)
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
        wait_with_progress(futures, "ingest")  # leaving the runner cancels what is unfinished
    records: list[dict] = []
    stopped = 0
    for future in futures:
        try:
            outcome = future.result()
        except Interrupted:
            stopped += 1
            continue
        (quarantined if isinstance(outcome, steps.Quarantined) else records).append(outcome)
    if stopped:
        # The manifest stays the last complete one; each recording's features (record last) are
        # kept, so the re-run featurises only the rest.
        raise Interrupted(f"{len(valid) - stopped} of {len(valid)} recordings featurised")
    return write_outputs(records, splits, quarantined, featurization, settings)
