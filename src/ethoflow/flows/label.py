"""Label flow: every new recording in the inbox → per-frame labels, summary and ethogram.

Scheduled nightly (see ``ethoflow.deployments`` and ``prefect.yaml``). Videos already labelled
with the same content and the same champion versions are skipped; a bad video is quarantined and
reported while the others are labelled.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ethoflow import inference
from ethoflow.config import Settings, load_settings
from ethoflow.features import FeatureExtractor
from ethoflow.flows.ingest import load_extractor
from ethoflow.flows.train import start_tracking


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def load_champions(settings: Settings) -> dict[str, inference.HeadModel]:
    return inference.champions_for(settings)


@task(cache_policy=NO_CACHE, task_run_name="label-{video.name}")
def label(
    video: Path,
    outbox: Path,
    heads: dict[str, inference.HeadModel],
    extractor: FeatureExtractor | None,
    settings: Settings,
) -> inference.LabelOutcome:
    try:
        return inference.label_video(
            video,
            outbox,
            heads=heads,
            extractor=extractor,
            settings=settings,
        )
    except Exception as exc:  # noqa: BLE001 - one video's failure must not stop the batch
        get_run_logger().exception("%s: failed", video.name)
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
        return inference.LabelOutcome(video.stem, video, "quarantined", reason, None)


@flow(name="label", log_prints=True)
def label_flow(
    params: str = "params.yaml", inbox: str | None = None, outbox: str | None = None
) -> dict:
    """Label the videos in ``inbox`` (default: paths.inbox) into ``outbox`` (paths.outbox)."""
    settings = load_settings(params)
    inbox_dir = Path(inbox) if inbox else settings.paths.inbox
    outbox_dir = Path(outbox) if outbox else settings.paths.outbox
    start_tracking(settings)
    videos, outcomes = inference.find_videos(inbox_dir)
    if videos:
        heads = load_champions(settings)
        extractor = load_extractor(settings)
        outcomes += [label(v, outbox_dir, heads, extractor, settings) for v in videos]
    report = inference.write_batch_report(outcomes, outbox_dir)
    counts = report.status.value_counts().to_dict()
    lines = [f"Labelled batch from {inbox_dir} into {outbox_dir}: {counts or 'no videos'}."]
    lines += [
        f"- {o.video_id}: quarantined — {o.reason}" for o in outcomes if o.status == "quarantined"
    ]
    create_markdown_artifact(
        key="label-batch", markdown="\n".join(lines), description="Nightly labelling"
    )
    get_run_logger().info("\n".join(lines))
    return {"counts": counts, "outcomes": [asdict(o) for o in outcomes]}
