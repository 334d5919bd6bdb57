"""Label flow: every new recording → per-frame labels, summary and ethogram.

Scheduled nightly on the inbox (``ethoflow.mlops.deployments``, on params.yaml's ``label.cron``);
``ethoflow label VIDEO…`` runs it on named files. Videos already labelled with the same content
and the same champion versions are skipped; a bad video is quarantined and reported while the
others are labelled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import unmapped

from ethoflow.config import Settings, load_settings
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.flows.tasks import (
    build_extractor,
    registry_unreachable,
    video_runner,
    wait_with_progress,
)
from ethoflow.io.atomic import check_writable
from ethoflow.labelling import batch
from ethoflow.labelling import recording as labelling
from ethoflow.mlops.champions import champions_for_labelling
from ethoflow.runtime.interrupt import Interrupted
from ethoflow.runtime.redact import redact_credentials


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=registry_unreachable,
)
def load_champions(settings: Settings) -> dict[str, labelling.HeadModel]:
    return champions_for_labelling(settings)


@task(cache_policy=NO_CACHE, task_run_name="label-{video_id}")
def label(
    video_id: str,
    video: Path,
    outbox: Path,
    heads: dict[str, labelling.HeadModel],
    featurization: Featurization,
    extractor: FeatureExtractor | None,
    label_settings: labelling.LabelSettings,
) -> batch.LabelOutcome:
    try:
        return labelling.label_video(
            video,
            outbox,
            heads=heads,
            featurization=featurization,
            extractor=extractor,
            label_settings=label_settings,
            video_id=video_id,
        )
    except Interrupted:
        raise  # Ctrl-C: the flow reports the batch as far as it went
    except Exception as exc:  # noqa: BLE001 - one video's failure must not stop the batch
        get_run_logger().exception("%s: failed", video.name)
        reason = redact_credentials(f"unexpected error: {type(exc).__name__}: {exc}")
        return batch.LabelOutcome(video_id, video, "quarantined", reason, None)


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
    settings = load_settings(params)
    sources = [Path(v) for v in videos] if videos else [settings.paths.inbox]
    outbox_dir = Path(outbox) if outbox else settings.paths.outbox
    if not videos and not settings.paths.inbox.is_dir():
        raise FileNotFoundError(f"{settings.paths.inbox}: no inbox folder")
    # Before any work: a batch whose results cannot be written is not started.
    check_writable(outbox_dir)
    featurization = Featurization.from_settings(settings)
    # Named files are the user's choice; the nightly inbox may hold files still being copied.
    settle = 0.0 if videos else settings.label.settle_seconds
    found, outcomes = batch.find_videos(sources, settle_seconds=settle)
    if found:
        heads = load_champions(settings)
        extractor = build_extractor(featurization)
        with video_runner(settings) as runner:  # leaving it cancels what is unfinished
            futures = runner.map(
                label,
                {
                    "video_id": [video_id for video_id, _ in found],
                    "video": [video for _, video in found],
                    "outbox": unmapped(outbox_dir),
                    "heads": unmapped(heads),
                    "featurization": unmapped(featurization),
                    "extractor": unmapped(extractor),
                    "label_settings": unmapped(labelling.LabelSettings.from_settings(settings)),
                },
            )
            wait_with_progress(futures, "label")
        for (video_id, video), future in zip(found, futures, strict=True):
            try:
                outcomes.append(future.result())
            except Interrupted:
                reason = "stopped by Ctrl-C before its labels were written: re-run to label it"
                outcomes.append(batch.LabelOutcome(video_id, video, "interrupted", reason, None))
    # The report goes to the Prefect UI as an artifact and to report.csv; not logged a second time.
    report(outcomes, ", ".join(map(str, sources)), outbox_dir)
    statuses = Counter(o.status for o in outcomes)
    if statuses["interrupted"]:
        done = len(found) - statuses["interrupted"]
        raise Interrupted(f"{done} of {len(found)} recordings labelled")
    return {
        "counts": dict(statuses),
        "outcomes": [asdict(o) for o in outcomes],
    }
