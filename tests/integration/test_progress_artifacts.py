"""Progress in the Prefect UI: a stage's counts and time left as a progress artifact of its run,
on the real Prefect API of the test harness."""

from __future__ import annotations

import logging
from uuid import UUID

import pytest
from prefect import flow, task
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner

from ethoflow.flows.tasks import progress_artifact, wait_with_progress
from ethoflow.runtime.progress import Progress
from helpers.progress import progress_artifacts


def _this_run() -> UUID:
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    return context.flow_run.id


@flow
def count_recordings(total: int, key: str) -> UUID:
    """Tell ``total`` recordings done, one at a time, as a stage of this run; return its id."""
    recordings = Progress("ingest", total, unit="recording", report=progress_artifact(key))
    for done in range(1, total + 1):
        recordings.advance(done)
    return _this_run()


@task
def featurize(recording: str) -> str:
    if recording == "corrupt":
        raise ValueError(f"{recording}: cannot be read")
    return recording


@flow
def featurize_batch(recordings: list[str]) -> UUID:
    """The flows' per-recording tasks, two at a time, waited for with their progress."""
    with ThreadPoolTaskRunner(max_workers=2) as runner:
        wait_with_progress(runner.map(featurize, {"recording": recordings}), "ingest")
    return _this_run()


def test_a_stage_shows_as_one_progress_artifact_of_its_run(prefect_harness):
    run = count_recordings(3, "ingest-progress")
    (artifact,) = progress_artifacts("ingest-progress", run)
    assert artifact.type == "progress"
    assert float(artifact.data) == 100.0
    assert artifact.description.startswith("ingest: 3 of 3 recordings done in ")


def test_a_batch_counts_the_recordings_its_tasks_finished(prefect_harness):
    """A failed task (as one stopped by Ctrl-C) is not done: the batch ends short of 100 %."""
    run = featurize_batch(["a", "corrupt", "b", "c"])
    (artifact,) = progress_artifacts("ingest-progress", run)
    assert float(artifact.data) == pytest.approx(75.0)
    assert artifact.description.startswith("ingest: 3 of 4 recordings done, about ")


def test_a_failed_progress_artifact_is_logged_and_the_work_goes_on(prefect_harness, caplog):
    """Prefect refuses the key (capitals and a space): the stage still runs to its end."""
    with caplog.at_level(logging.WARNING, logger="ethoflow.flows.tasks"):
        run = count_recordings(3, "Not A Key")
    assert isinstance(run, UUID)
    warnings = [r for r in caplog.records if r.name == "ethoflow.flows.tasks"]
    assert len(warnings) == 1  # reported once, then no more calls
    assert "progress artifact Not A Key: not updated" in warnings[0].getMessage()
    assert progress_artifacts("Not A Key", run) == []


def test_outside_a_run_there_is_nothing_to_report_to():
    assert progress_artifact("ingest-progress") is None
