"""Tasks that several flows share (a flow never imports another flow's tasks)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from ethoflow.config import Settings
from ethoflow.errors import NoChampionError
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.mlops import mlflow_store
from ethoflow.training.fit import Split, load_split


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
