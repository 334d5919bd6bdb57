"""The pipeline's reports: the files in ``paths.reports`` that DVC tracks as the outputs of the
train and evaluate stages (which model versions a training registered, their validation metrics
per head and recording condition for ``dvc metrics show``/``diff``, their PR curves for
``dvc plots show``), and the flows' results as text for a terminal."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ethoflow.io.atomic import write_csv, write_json

TRAIN_REPORT = "train.json"
METRICS_REPORT = "metrics.json"
PR_CURVES = "pr_curves"
_METRICS = ("pr_auc", "precision", "recall", "f1", "accuracy")


def write_train_report(results: list[dict[str, Any]], reports_dir: Path) -> None:
    """Record the searches of a training: head, architecture, registered version, test PR-AUC."""
    keys = ("head", "architecture", "model_version", "best_pr_auc", "n_trials", "study_name")
    write_json([{k: r[k] for k in keys} for r in results], Path(reports_dir) / TRAIN_REPORT)


def trained_versions(reports_dir: Path) -> list[dict[str, Any]]:
    """The train report's entries; empty when there is none (no training yet)."""
    path = Path(reports_dir) / TRAIN_REPORT
    return json.loads(path.read_text()) if path.is_file() else []


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


def write_evaluation_report(
    evaluated: list[tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]], reports_dir: Path
) -> dict[str, Any]:
    """Write ``metrics.json`` and ``pr_curves/<head>_<architecture>_<condition>.csv``.

    ``evaluated`` holds (train report entry, evaluation table, PR curve points) per model.
    Metrics are nested head → architecture → condition (and ``all``) → metric, raw and
    post-processed (``…_pp``), with ``labelled_frames``, the frames measured (unknown frames are
    not); PR-AUC is null where a condition has no labelled positive frames.
    """
    reports_dir = Path(reports_dir)
    metrics: dict[str, Any] = {}
    curves = {}
    for entry, table, points in evaluated:
        pooled = table[table.scope != "video"]
        by_scope: dict[str, Any] = {}
        for row in pooled.to_dict("records"):
            suffix = "_pp" if row["postprocessed"] else ""
            values = by_scope.setdefault(
                str(row["name"]), {"labelled_frames": int(row["n_frames"])}
            )
            for metric in _METRICS:
                if not (row["postprocessed"] and metric == "pr_auc"):  # the same as raw
                    values[f"{metric}{suffix}"] = _finite(row[metric])
        conditions = [v["pr_auc"] for k, v in by_scope.items() if k != "all"]
        known = [v for v in conditions if v is not None]
        metrics.setdefault(entry["head"], {})[entry["architecture"]] = {
            "version": int(entry["model_version"]),
            "worst_condition_pr_auc": min(known) if known else None,
            **by_scope,
        }
        for condition, curve in points.groupby("condition"):
            name = f"{entry['head']}_{entry['architecture']}_{condition}.csv"
            curves[name] = curve[["recall", "precision"]]
    write_json(metrics, reports_dir / METRICS_REPORT)
    folder = reports_dir / PR_CURVES
    folder.mkdir(parents=True, exist_ok=True)
    for name, curve in curves.items():
        write_csv(curve, folder / name)
    for stale in folder.glob("*.csv"):
        if stale.name not in curves:
            stale.unlink()
    return metrics


def training_text(results: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['head']:>9} {r['architecture']:<12} test PR-AUC {r['best_pr_auc']:.3f}  "
        f"ethoflow-{r['head']} v{r['model_version']}"
        for r in results
    )


def evaluation_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "nothing to evaluate: every version trained on the current features is scored"
    return "\n".join(
        f"{row['head']:>9} v{row['version']:<4} worst-condition PR-AUC "
        f"{row['worst_condition_pr_auc']:.3f}"
        + (f" (not measurable in {row['not measurable']})" if "not measurable" in row else "")
        for row in rows
    )


def decisions_text(decisions: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{d['head']:>9}: {'promoted' if d['promoted'] else 'kept champion'} — {d['reason']}"
        for d in decisions
    )


def retrain_text(result: dict[str, Any]) -> str:
    """The retrain flow's result as lines for a terminal."""
    parts = [
        training_text(result.get("train", [])),
        evaluation_text(result.get("evaluate", [])),
        decisions_text(result.get("promote", [])),
    ]
    return "\n".join(part for part in parts if part)
