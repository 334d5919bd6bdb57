"""Label flow: every new recording → per-frame labels, summary and ethogram.

Scheduled nightly on the inbox (``ethoflow.mlops.deployments``, on params.yaml's ``label.cron``);
``ethoflow label VIDEO…`` runs it on named files when a Prefect server is configured. Videos
already labelled with the same content and the same champion versions are skipped; a bad video is
quarantined and reported while the others are labelled. The body is
:func:`ethoflow.labelling.run.label_batch`, with the tasks here as its steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import unmapped

from ethoflow.config import Settings, load_settings
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.flows.tasks import registry_unreachable, video_runner, wait_with_progress
from ethoflow.labelling import batch, run
from ethoflow.labelling.recording import HeadModel, LabelSettings
from ethoflow.mlops.champions import champions_for_labelling


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=registry_unreachable,
)
def load_champions(settings: Settings) -> dict[str, HeadModel]:
    return champions_for_labelling(settings)


@task(cache_policy=NO_CACHE, task_run_name="label-{video_id}")
def label(
    video_id: str,
    video: Path,
    outbox: Path,
    heads: dict[str, HeadModel],
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    label_settings: LabelSettings,
) -> batch.LabelOutcome:
    return run.label_or_quarantine(
        video_id,
        video,
        outbox=outbox,
        heads=heads,
        featurization=featurization,
        extractor=extractor,
        label_settings=label_settings,
    )


def label_as_tasks(
    found: list[tuple[str, Path]], arguments: dict[str, Any], settings: Settings
) -> list[batch.LabelOutcome]:
    with video_runner(settings) as runner:  # leaving it cancels what is unfinished
        futures = runner.map(
            label,
            {
                "video_id": [video_id for video_id, _ in found],
                "video": [video for _, video in found],
                **{name: unmapped(value) for name, value in arguments.items()},
            },
        )
        wait_with_progress(futures, "label")
    return [
        run.outcome_or_interrupted(video_id, video, future.result)
        for (video_id, video), future in zip(found, futures, strict=True)
    ]


@task(cache_policy=NO_CACHE)
def report(outcomes: list[batch.LabelOutcome], source: str, outbox: Path) -> str:
    text = batch.write_batch_report(outcomes, source, outbox)
    create_markdown_artifact(key="label-batch", markdown=text, description="Labelling batch")
    return text


@flow(name="label", log_prints=True)
def label_flow(
    params: str = "params.yaml", videos: list[str] | None = None, outbox: str | None = None
) -> dict:
    """Label ``videos`` (files or folders; default: the inbox, paths.inbox) into ``outbox``
    (default: paths.outbox)."""
    return run.label_batch(
        load_settings(params),
        [Path(v) for v in videos] if videos else None,
        Path(outbox) if outbox else None,
        load_heads=load_champions,
        label_all=label_as_tasks,
        report=report,
    )
