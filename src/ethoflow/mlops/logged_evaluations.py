"""Evaluations in the registry: which versions need one, evaluating and logging them to their
runs and version tags, and reading them back for reports and comparisons."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import pandas as pd

from ethoflow.config import PostProcessing
from ethoflow.evaluation.metrics import Evaluation, evaluate_model, pr_curve_points
from ethoflow.mlops.mlflow_store import client_or_default
from ethoflow.mlops.registered_models import load_keras_model, model_name, quoted, search_versions
from ethoflow.training.fit import Split

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

UNMEASURABLE_TAG = "unmeasurable_conditions"


def versions_to_evaluate(
    name: str, features_version: str, setting: PostProcessing, client: MlflowClient | None = None
) -> list[str]:
    """Versions of ``name`` trained on ``features_version`` that are not evaluated yet, or were
    evaluated with other post-processing than ``setting``.

    Versions trained on other features are left alone: scoring them on today's validation
    videos would compare them on data they were not built for.
    """
    wanted = setting.model_dump_json()
    found = search_versions(client_or_default(client), f"name = {quoted(name)}")
    return sorted(
        (
            str(v.version)
            for v in found
            if v.tags.get("features_version") == features_version
            and (v.tags.get("evaluated") != "true" or v.tags.get("postprocess") != wanted)
        ),
        key=int,
    )


def evaluate_version(
    name: str,
    version: str,
    test: Split,
    validation: Split,
    *,
    setting: PostProcessing,
    fps: float,
    client: MlflowClient | None = None,
) -> Evaluation:
    """Evaluate version ``version`` of ``name``
    (:func:`ethoflow.evaluation.metrics.evaluate_model`) and
    log the evaluation to its run (:func:`log_evaluation`)."""
    client = client_or_default(client)
    model_version = client.get_model_version(name, version)
    model = load_keras_model(f"models:/{name}/{version}")
    evaluation = evaluate_model(
        model,
        int(model_version.tags["window"]),
        model_version.tags["head"],
        test,
        validation,
        setting,
    )
    log_evaluation(name, model_version, evaluation, setting=setting, fps=fps, client=client)
    return evaluation


def log_evaluation(
    name: str,
    model_version: ModelVersion,
    evaluation: Evaluation,
    *,
    setting: PostProcessing,
    fps: float,
    client: MlflowClient,
) -> None:
    """Log an evaluation to the version's run and tag the version with what promotion reads.

    The run receives metrics ``val_<condition>_<metric>`` (``…_pp`` when post-processed), the
    table (CSV and markdown), the PR curve points and the figures of
    :func:`ethoflow.evaluation.plots.evaluation_figures` under ``evaluation/v<N>/``. The version is
    tagged ``threshold``, ``worst_condition_pr_auc``, ``unmeasurable_conditions`` (comma-separated
    conditions without positives, whose PR-AUC is undefined), ``postprocess`` and, last,
    ``evaluated``.
    """
    from ethoflow.evaluation.plots import evaluation_figures, slug

    version = str(model_version.version)
    run_id = model_version.run_id
    assert run_id is not None  # versions are registered from runs
    table = evaluation.table
    summary = table[table.scope != "video"]
    metrics = {
        f"val_{slug(str(row.name))}_{metric}{'_pp' if row.postprocessed else ''}": float(value)
        for row in summary.itertuples()
        for metric in ("accuracy", "precision", "recall", "f1", "pr_auc")
        if math.isfinite(value := getattr(row, metric))
    }
    worst = evaluation.worst_condition_pr_auc
    metrics |= {"threshold": evaluation.threshold, "val_worst_condition_pr_auc": worst}
    from mlflow.entities import Metric

    now = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    folder = f"evaluation/v{version}"
    client.log_text(run_id, table.to_csv(index=False), f"{folder}/metrics.csv")
    client.log_text(
        run_id, summary.to_markdown(index=False, floatfmt=".3f"), f"{folder}/metrics.md"
    )
    client.log_text(
        run_id, pr_curve_points(evaluation).to_csv(index=False), f"{folder}/pr_curves.csv"
    )
    title = f"{name} v{version}: validation"
    for file_name, figure in evaluation_figures(evaluation, title, fps).items():
        client.log_figure(run_id, figure, f"{folder}/{file_name}")
    tags = {
        "threshold": f"{evaluation.threshold:.6g}",
        "worst_condition_pr_auc": f"{worst:.6g}",
        UNMEASURABLE_TAG: ",".join(evaluation.unmeasurable),
        "postprocess": setting.model_dump_json(),
        "evaluated": "true",  # last: promotion only considers fully evaluated versions
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def evaluation_table(
    name: str, version: str, artifact: str = "metrics.csv", client: MlflowClient | None = None
) -> pd.DataFrame:
    """A table logged by :func:`log_evaluation` (``metrics.csv`` or ``pr_curves.csv``)."""
    import mlflow

    model_version = client_or_default(client).get_model_version(name, version)
    if model_version.tags.get("evaluated") != "true":
        raise ValueError(f"{name} v{version} is not evaluated yet: run `ethoflow evaluate`")
    text = mlflow.artifacts.load_text(
        f"runs:/{model_version.run_id}/evaluation/v{version}/{artifact}"
    )
    return pd.read_csv(io.StringIO(text))


def evaluations_of(
    entries: list[dict], client: MlflowClient | None = None
) -> list[tuple[dict, pd.DataFrame, pd.DataFrame]]:
    """(entry, metrics table, PR curve points) of each ``{head, model_version, …}`` entry."""
    evaluated = []
    for entry in entries:
        name, version = model_name(entry["head"]), str(entry["model_version"])
        metrics = evaluation_table(name, version, client=client)
        curves = evaluation_table(name, version, "pr_curves.csv", client=client)
        evaluated.append((entry, metrics, curves))
    return evaluated


def compare_versions(
    name: str, first: str, second: str, client: MlflowClient | None = None
) -> pd.DataFrame:
    """Two evaluated versions' validation metrics per condition (raw predictions), side by side.

    Rows are conditions and "all"; columns ``<metric> v<first>``, ``<metric> v<second>`` and
    ``<metric> Δ`` (second minus first) for PR-AUC, precision, recall and F1.
    """
    metrics = ["pr_auc", "precision", "recall", "f1"]
    tables = []
    for version in (first, second):
        table = evaluation_table(name, version, client=client)
        table = table[(table.scope != "video") & ~table.postprocessed].set_index("name")
        tables.append(table[metrics].add_suffix(f" v{version}"))
    side = tables[0].join(tables[1], how="outer")
    for metric in metrics:
        side[f"{metric} Δ"] = side[f"{metric} v{second}"] - side[f"{metric} v{first}"]
    columns = [f"{m}{suffix}" for m in metrics for suffix in (f" v{first}", f" v{second}", " Δ")]
    return side[columns].rename_axis("condition")
