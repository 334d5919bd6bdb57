"""Retrain flow: ingest → train → evaluate → promote, as one run maintainers start from the UI."""

from __future__ import annotations

from prefect import flow

from ethoflow.config import TrainingBudget
from ethoflow.flows.evaluate import evaluate_flow
from ethoflow.flows.ingest import ingest_flow
from ethoflow.flows.promote import promote_flow
from ethoflow.flows.train import train_flow
from ethoflow.runtime import interrupt


@flow(name="retrain", log_prints=True)
def retrain_flow(params: str, budget: TrainingBudget) -> dict:
    """Bring features up to date, search, evaluate the new versions and promote the best.

    ``params``: the settings file; ``budget``: what to search and for how long (the CLI's and the
    deployments' default: params.yaml's train section).
    """
    ingest = ingest_flow(params=params)
    # A Ctrl-C in a stage's last steps (past its loops) stops the run before the next stage.
    interrupt.check()
    trained = train_flow(params=params, budget=budget)
    interrupt.check()
    evaluated = evaluate_flow(params=params, heads=budget.heads)
    interrupt.check()  # no promotion the user tried to stop
    decisions = promote_flow(params=params, heads=budget.heads)
    return {"ingest": ingest, "train": trained, "evaluate": evaluated, "promote": decisions}
