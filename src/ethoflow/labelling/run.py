"""A labelling run over a batch of videos: the label flow's body (``ethoflow.flows.label``), which
``ethoflow label`` also runs in its own process when no Prefect server is configured.

The flow passes its tasks as the steps (loading the champions with retries, each video a task
run, the report an artifact); without Prefect the steps are the plain functions here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ethoflow.config import Settings
from ethoflow.features.featurization import Featurization
from ethoflow.io.atomic import check_writable
from ethoflow.labelling.batch import LabelOutcome, find_videos, write_batch_report
from ethoflow.labelling.recording import HeadModel, LabelSettings, label_video
from ethoflow.runtime.interrupt import Interrupted
from ethoflow.runtime.progress import Progress
from ethoflow.runtime.redact import redact_credentials

log = logging.getLogger(__name__)

# (the videos as (video_id, path), the arguments every video shares, the settings) → outcomes
LabelAll = Callable[[list[tuple[str, Path]], dict[str, Any], Settings], list[LabelOutcome]]


def label_or_quarantine(video_id: str, video: Path, **arguments: Any) -> LabelOutcome:
    """:func:`~ethoflow.labelling.recording.label_video`, with an unexpected failure turned into
    the video's quarantine: one video's failure must not stop the batch."""
    try:
        return label_video(video, video_id=video_id, **arguments)
    except Interrupted:
        raise  # Ctrl-C: the batch is reported as far as it went
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.exception("%s: failed", video.name)
        reason = redact_credentials(f"unexpected error: {type(exc).__name__}: {exc}")
        return LabelOutcome(video_id, video, "quarantined", reason, None)


def outcome_or_interrupted(
    video_id: str, video: Path, result: Callable[[], LabelOutcome]
) -> LabelOutcome:
    """``result()``, or the video's ``interrupted`` outcome if Ctrl-C stopped it first."""
    try:
        return result()
    except Interrupted:
        reason = "stopped by Ctrl-C before its labels were written: re-run to label it"
        return LabelOutcome(video_id, video, "interrupted", reason, None)


def label_in_threads(
    found: list[tuple[str, Path]], arguments: dict[str, Any], settings: Settings
) -> list[LabelOutcome]:
    """Label ``found``, ``parallel.video_workers`` videos at once (threads, as the flow's task
    runner: bench/results/parallel.md), telling how many are done and the time left."""
    recordings = Progress("label", len(found), unit="recording")
    with ThreadPoolExecutor(settings.parallel.video_workers) as pool:
        futures = [
            pool.submit(label_or_quarantine, video_id, video, **arguments)
            for video_id, video in found
        ]
        done = 0
        for future in as_completed(futures):
            done += future.exception() is None  # a video stopped by Ctrl-C is not done
            recordings.advance(done)
    return [
        outcome_or_interrupted(video_id, video, future.result)
        for (video_id, video), future in zip(found, futures, strict=True)
    ]


def label_batch(
    settings: Settings,
    videos: list[Path] | None,
    outbox: Path | None,
    *,
    load_heads: Callable[[Settings], dict[str, HeadModel]],
    label_all: LabelAll = label_in_threads,
    report: Callable[[list[LabelOutcome], str, Path], str] = write_batch_report,
) -> dict:
    """Label ``videos`` (files or folders; default: the inbox, paths.inbox) into ``outbox``
    (default: paths.outbox) with the champions ``load_heads`` returns; write the batch's report.

    Returns the counts per status and every outcome (as dicts). Raises
    :class:`~ethoflow.runtime.interrupt.Interrupted` after the report when Ctrl-C stopped videos.
    """
    sources = list(videos) if videos else [settings.paths.inbox]
    outbox = outbox or settings.paths.outbox
    if not videos and not settings.paths.inbox.is_dir():
        raise FileNotFoundError(f"{settings.paths.inbox}: no inbox folder")
    # Before any work: a batch whose results cannot be written is not started.
    check_writable(outbox)
    featurization = Featurization.from_settings(settings)
    # Named files are the user's choice; the nightly inbox may hold files still being copied.
    settle = 0.0 if videos else settings.label.settle_seconds
    found, outcomes = find_videos(sources, settle_seconds=settle)
    if found:
        arguments = {
            "outbox": outbox,
            "heads": load_heads(settings),
            "featurization": featurization,
            "extractor": featurization.build_extractor(),
            "label_settings": LabelSettings.from_settings(settings),
        }
        outcomes += label_all(found, arguments, settings)
    report(outcomes, ", ".join(map(str, sources)), outbox)
    statuses = Counter(o.status for o in outcomes)
    if statuses["interrupted"]:
        done = len(found) - statuses["interrupted"]
        raise Interrupted(f"{done} of {len(found)} recordings labelled")
    return {"counts": dict(statuses), "outcomes": [asdict(o) for o in outcomes]}
