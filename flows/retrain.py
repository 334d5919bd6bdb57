"""Retrain flow: ingest → train → evaluate → promote, as one run maintainers start from the UI."""

from __future__ import annotations

from prefect import flow

from ethoflow.flows.evaluate import evaluate_flow
from ethoflow.flows.ingest import ingest_flow
from ethoflow.flows.promote import promote_flow
from ethoflow.flows.train import train_flow
from ethoflow.runtime import interrupt


@flow(name="retrain", log_prints=True)
def retrain_flow(
    params: str = "params.yaml",
    heads: list[str] | None = None,
    architectures: list[str] | None = None,
    n_trials: int | None = None,
    max_epochs: int | None = None,
    patience: int | None = None,
) -> dict:
    """Bring features up to date, search, evaluate the new versions and promote the best.

    Parameters left empty take their defaults from params.yaml (train section).
    """
    ingest = ingest_flow(params=params)
    # A Ctrl-C in a stage's last steps (past its loops) stops the run before the next stage.
    interrupt.check()
    trained = train_flow(
        params=params,
        heads=heads,
        architectures=architectures,
        n_trials=n_trials,
        max_epochs=max_epochs,
        patience=patience,
    )
    interrupt.check()
    evaluated = evaluate_flow(params=params, heads=heads)
    interrupt.check()  # no promotion the user tried to stop
    decisions = promote_flow(params=params, heads=heads)
    return {"ingest": ingest, "train": trained, "evaluate": evaluated, "promote": decisions}
