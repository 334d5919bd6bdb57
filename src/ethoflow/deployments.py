"""Prefect deployments: nightly labelling on the configured cron, retraining on demand.

``ethoflow serve`` serves these from one long-running process (a Prefect server for the UI is
started too unless ``PREFECT_API_URL`` points at one). ``prefect.yaml`` declares the same two
deployments for a process work pool (``prefect deploy --all`` + ``prefect worker start``).
"""

from __future__ import annotations

from pathlib import Path

from ethoflow.config import Settings

LABEL_DEPLOYMENT = "nightly"
RETRAIN_DEPLOYMENT = "on-demand"


def build_deployments(settings: Settings, params: Path) -> list:
    """``[label nightly, retrain on demand]`` as Prefect ``RunnerDeployment`` objects."""
    from prefect.schedules import Cron

    from ethoflow.flows.label import label_flow
    from ethoflow.flows.retrain import retrain_flow

    parameters = {"params": str(Path(params).resolve())}
    label = label_flow.to_deployment(
        name=LABEL_DEPLOYMENT,
        schedules=[Cron(settings.label.cron, timezone=settings.label.timezone)],
        parameters=parameters,
        description="Label every new recording in the inbox with the champion models.",
        tags=["ethoflow", "nightly"],
    )
    retrain = retrain_flow.to_deployment(
        name=RETRAIN_DEPLOYMENT,
        parameters=parameters,
        description="Ingest → train → evaluate → promote; heads, architectures and trials "
        "can be set per run.",
        tags=["ethoflow", "retrain"],
    )
    return [label, retrain]
