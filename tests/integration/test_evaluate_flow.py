"""Evaluate and promote flows on tiny features: per-condition metrics in MLflow, a champion."""

import json
import math

import mlflow
import pandas as pd
import pytest

from ethoflow.config import load_settings
from helpers.features import write_features

pytestmark = pytest.mark.slow  # two train flows, then the evaluate and promote flows

PARAMS = """
train:
  max_epochs: 2
  patience: 1
  # The TCNs: one stack of two dilations, the quickest to trace and train.
  search_space: {window: [16], units: [8, 8], layers: [1, 1], dilation_depth: [2, 2],
                 stacks: [1, 1]}
postprocess: {median_frames: 3, min_bout_frames: 2}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory, prefect_harness):
    from ethoflow.flows.train import train_flow

    root = tmp_path_factory.mktemp("project")
    write_features(root / "data" / "features")
    params = root / "params.yaml"
    params.write_text(PARAMS)
    budget = load_settings(params).train.budget
    for architecture in ("tcn", "lstm"):  # versions 1 (TCN) and 2 (LSTM) of each head
        one = budget.override(architectures=[architecture], n_trials=1)
        train_flow(params=str(params), budget=one)
    return params


def test_evaluation_logs_per_condition_metrics_and_tags(trained):
    from ethoflow.flows.evaluate import evaluate_flow

    rows = evaluate_flow(params=str(trained))
    assert sorted((r["head"], r["version"]) for r in rows) == [
        ("grooming", "1"),
        ("grooming", "2"),
        ("rearing", "1"),
        ("rearing", "2"),
    ]
    client = mlflow.MlflowClient()
    version = client.get_model_version("ethoflow-grooming", "1")
    assert version.tags["evaluated"] == "true"
    threshold = float(version.tags["threshold"])
    assert 0 < threshold < 1
    run = client.get_run(version.run_id)
    for condition in ("c1", "c2", "c3"):
        for metric in ("accuracy", "precision", "recall", "f1", "pr_auc"):
            assert 0 <= run.data.metrics[f"val_{condition}_{metric}"] <= 1
            assert f"val_{condition}_{metric}_pp" in run.data.metrics
    worst = min(run.data.metrics[f"val_{c}_pr_auc"] for c in ("c1", "c2", "c3"))
    assert float(version.tags["worst_condition_pr_auc"]) == pytest.approx(worst, abs=1e-5)
    artifacts = {a.path for a in client.list_artifacts(version.run_id, "evaluation/v1")}
    assert {
        "evaluation/v1/metrics.csv",
        "evaluation/v1/metrics.md",
        "evaluation/v1/pr_curves.csv",
        "evaluation/v1/pr_curves.png",
        "evaluation/v1/confusion_c1.png",
        "evaluation/v1/timeline_c3_v7.png",
    } <= artifacts
    # The last training's versions (the LSTMs) are reported for DVC, per head and condition.
    metrics = json.loads((trained.parent / "reports" / "metrics.json").read_text())
    assert metrics["grooming"]["lstm"]["version"] == 2
    assert set(metrics["grooming"]["lstm"]) >= {"worst_condition_pr_auc", "all", "c1", "c2", "c3"}
    assert set(metrics["rearing"]["lstm"]["c1"]) >= {"pr_auc", "precision", "recall_pp"}
    curves = sorted(p.name for p in (trained.parent / "reports" / "pr_curves").iterdir())
    assert "grooming_lstm_c1.csv" in curves
    # Everything is evaluated now: a second run has nothing left to do.
    assert evaluate_flow(params=str(trained)) == []


def test_promotion_takes_the_best_tcn_and_compare_shows_both(trained):
    from ethoflow.flows.promote import promote_flow
    from ethoflow.mlops.logged_evaluations import compare_versions

    decisions = promote_flow(params=str(trained))
    assert [(d["head"], d["promoted"], d["candidate_version"]) for d in decisions] == [
        ("grooming", True, "1"),
        ("rearing", True, "1"),
    ]
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias("ethoflow-rearing", "champion").version in (1, "1")
    # Promoting again changes nothing: v1 is the only evaluated TCN and already champion.
    again = promote_flow(params=str(trained), heads=["rearing"])
    assert not again[0]["promoted"]

    table = compare_versions("ethoflow-grooming", "1", "2")
    assert list(table.index) == ["all", "c1", "c2", "c3"]
    delta = table["pr_auc v2"] - table["pr_auc v1"]
    pd.testing.assert_series_equal(table["pr_auc Δ"], delta, check_names=False)
    assert all(math.isfinite(v) for v in table["pr_auc v1"])


def test_changed_postprocessing_reevaluates(trained):
    from ethoflow.flows.evaluate import evaluate_flow

    params = trained.with_name("smoother.yaml")
    params.write_text(trained.read_text().replace("median_frames: 3", "median_frames: 5"))
    rows = evaluate_flow(params=str(params), heads=["rearing"])
    assert sorted(r["version"] for r in rows) == ["1", "2"]
    tag = mlflow.MlflowClient().get_model_version("ethoflow-rearing", "1").tags["postprocess"]
    assert '"median_frames":5' in tag
