"""The progress artifacts a run left in the Prefect API (ethoflow.flows.tasks.progress_artifact)."""

from __future__ import annotations

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort


def progress_artifacts(key: str, flow_run: UUID | None = None) -> list[Artifact]:
    """The artifacts named ``key`` (of ``flow_run``, or of any run), the newest first."""
    runs = None if flow_run is None else ArtifactFilterFlowRunId(any_=[flow_run])
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]), flow_run_id=runs),
            sort=ArtifactSort.CREATED_DESC,
        )
