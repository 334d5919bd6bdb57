"""Progress in the Prefect UI: a stage's counts and time left as a progress artifact of its run,
on the real Prefect API of the test harness."""

from __future__ import annotations

import logging
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.context import FlowRunContext

from ethoflow.flows.tasks import progress_artifact
from ethoflow.runtime.progress import Progress


@flow
def count_recordings(total: int, key: str) -> UUID:
    """Tell ``total`` recordings done, one at a time, as a stage of this run; return its id."""
    recordings = Progress("ingest", total, unit="recording", report=progress_artifact(key))
    for done in range(1, total + 1):
        recordings.advance(done)
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    return context.flow_run.id


def _artifacts(run: UUID, key: str) -> list:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[run])
            )
        )


def test_a_stage_shows_as_one_progress_artifact_of_its_run(prefect_harness):
    run = count_recordings(3, "ingest-progress")
    (artifact,) = _artifacts(run, "ingest-progress")
    assert artifact.type == "progress"
    assert float(artifact.data) == 100.0
    assert artifact.description.startswith("ingest: 3 of 3 recordings done in ")


def test_a_failed_progress_artifact_is_logged_and_the_work_goes_on(prefect_harness, caplog):
    """Prefect refuses the key (capitals and a space): the stage still runs to its end."""
    with caplog.at_level(logging.WARNING, logger="ethoflow.flows.tasks"):
        run = count_recordings(3, "Not A Key")
    assert isinstance(run, UUID)
    warnings = [r for r in caplog.records if r.name == "ethoflow.flows.tasks"]
    assert len(warnings) == 1  # reported once, then no more calls
    assert "progress artifact Not A Key: not updated" in warnings[0].getMessage()
    assert _artifacts(run, "Not A Key") == []


def test_outside_a_run_there_is_nothing_to_report_to():
    assert progress_artifact("ingest-progress") is None
