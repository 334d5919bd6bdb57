"""The web app's test data: the bouts of its hand-made label file, and champions' thresholds."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ethoflow.ui import results
from helpers.champions import Project

GROOMING = (12, 26)  # the hand-made label file's bouts: rows [start, stop)
REARING = (40, 48)


def set_thresholds(
    project: Project, labeller: results.Labeller, labels: pd.DataFrame
) -> results.Labeller:
    """Give the champions the median probability of ``labels`` as threshold, in the registry
    (as an evaluation would) and in ``labeller`` (the same models: no second download)."""
    import mlflow

    from ethoflow.mlops.registered_models import model_name

    client = mlflow.MlflowClient(project.tracking_uri)
    heads = {}
    for head, model in labeller.heads.items():
        threshold = round(float(labels[f"{head}_probability"].median()), 6)
        client.set_model_version_tag(model_name(head), model.version, "threshold", str(threshold))
        heads[head] = replace(model, threshold=threshold)
    return replace(labeller, heads=heads)
