"""Tasks that several flows share (a flow never imports another flow's tasks)."""

from __future__ import annotations

import logging
from typing import cast
from uuid import UUID

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from ethoflow.config import Settings
from ethoflow.errors import NoChampionError
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.mlops import mlflow_store
from ethoflow.runtime.progress import Progress, Reporter, Status
from ethoflow.training.fit import Split, load_split

logger = logging.getLogger(__name__)


def registry_unreachable(task, task_run, state) -> bool:
    """Retry a registry that could not be read, not an answer that no retry changes (no
    champion, no store, models trained on other features)."""
    return not isinstance(state.data, NoChampionError | ValueError)


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=registry_unreachable,
)
def start_tracking(settings: Settings, create: bool = True) -> str:
    return mlflow_store.start_tracking(settings, create=create)


@task(cache_policy=NO_CACHE, task_run_name="load-{split}")
def load(settings: Settings, split: str) -> Split:
    return load_split(settings.paths.features, split)


@task(cache_policy=NO_CACHE)
def build_extractor(featurization: Featurization) -> FeatureExtractor | None:
    return featurization.build_extractor()


def video_runner(settings: Settings) -> ThreadPoolTaskRunner:
    """The task runner of per-video tasks: ``parallel.video_workers`` videos at once.

    Threads, not processes: OpenCV's decoding and tracking and TensorFlow release the GIL for most
    of a video's time, and the threads share one feature extractor and one set of models
    (measured against processes in bench/results/parallel.md).
    """
    return ThreadPoolTaskRunner(max_workers=settings.parallel.video_workers)


def wait_with_progress(futures: list[PrefectFuture], stage: str) -> None:
    """Wait for the per-recording ``futures`` of ``stage``, telling how many are done and the
    time left on the terminal and as the run's progress artifact ``<stage>-progress``. A
    recording stopped by Ctrl-C (or failed) is not done: the count stays short of the total."""
    recordings = Progress(
        stage, len(futures), unit="recording", report=progress_artifact(f"{stage}-progress")
    )
    done = 0
    for future in as_completed(futures):
        future.wait()  # keeps its final state: the API's, read otherwise, may still be Running
        done += future.state.is_completed()
        recordings.advance(done)


def progress_artifact(key: str) -> Reporter | None:
    """A reporter of a stage's progress (:class:`ethoflow.runtime.progress.Progress`) to the
    Prefect progress artifact ``key`` (lowercase letters, digits and dashes) of the flow or task
    run in hand, its description the status line with the counts and the time left; None outside
    a run.

    The first status creates the artifact, the next ones update it. A failed call to Prefect's
    API is logged and ends the reporting, never the work: a night's labelling is not worth
    failing, or slowing with retries, for its progress.
    """
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return None
    artifact: UUID | None = None
    failed = False

    def report(status: Status) -> None:
        nonlocal artifact, failed
        if failed:
            return
        try:
            if artifact is None:
                # Called from sync code, Prefect's dispatch returns the id, not a coroutine.
                created = create_progress_artifact(
                    status.percent, key=key, description=status.text()
                )
                artifact = cast(UUID, created)
            else:
                update_progress_artifact(artifact, status.percent, description=status.text())
        except Exception:  # noqa: BLE001 - progress must never fail the work
            failed = True
            logger.warning("progress artifact %s: not updated from now on", key, exc_info=True)

    return report
