"""Score a binary per-frame head on whole videos: metrics, threshold, post-processing, figures.

Plain functions on numpy arrays; the evaluation flow does the loading, logging and storage.
scikit-learn, SciPy and matplotlib are imported inside the functions that need them, so importing
this module stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing
from ethoflow.io.atomic import atomic_path
from ethoflow.training.fit import Split, pr_auc

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class BinaryMetrics:
    """Frame-level scores of binary predictions against 0/1 targets.

    A ratio whose denominator is empty (precision with nothing predicted, recall with no
    positives) is 1.0 when the frames hold no error at all (no positives, none predicted) and 0.0
    otherwise; F1 is ``2tp / (2tp + fp + fn)`` with the same rule, so it is always the harmonic
    mean of precision and recall. ``pr_auc`` is the average precision of the scores, NaN without
    positives.
    """

    n_frames: int
    n_positive: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    pr_auc: float
    tp: int
    fp: int
    fn: int
    tn: int

    def as_dict(self) -> dict[str, float]:
        """Every field as a float, e.g. for metric logging."""
        return {name: float(value) for name, value in asdict(self).items()}


METRIC_COLUMNS = [field.name for field in fields(BinaryMetrics)]


def _binary(values: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    invalid = ~np.isin(array, (0, 1))
    if invalid.any():
        raise ValueError(f"{what} must be 0/1, found {np.unique(array[invalid])[:5].tolist()}")
    return array.astype(np.int8)


def _scores(values: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite")
    return array


def _same_length(where: str, **arrays: np.ndarray) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{where}mismatched lengths: {lengths}")


def _ratio(numerator: int, denominator: int, perfect: bool) -> float:
    if denominator == 0:
        return 1.0 if perfect else 0.0
    return numerator / denominator


def binary_metrics(targets: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> BinaryMetrics:
    """Confusion counts, accuracy, precision, recall, F1 and PR-AUC of one set of frames.

    ``targets`` and ``predicted`` are 0/1, ``scores`` the probabilities behind ``predicted``.
    """
    targets = _binary(targets, "targets")
    predicted = _binary(predicted, "predicted")
    scores = _scores(scores, "scores")
    _same_length("", targets=targets, scores=scores, predicted=predicted)
    if len(targets) == 0:
        raise ValueError("no frames to score")
    truth, guess = targets.astype(bool), predicted.astype(bool)
    tp = int(np.sum(truth & guess))
    fp = int(np.sum(~truth & guess))
    fn = int(np.sum(truth & ~guess))
    tn = int(np.sum(~truth & ~guess))
    perfect = fp == 0 and fn == 0
    return BinaryMetrics(
        n_frames=len(targets),
        n_positive=tp + fn,
        accuracy=(tp + tn) / len(targets),
        precision=_ratio(tp, tp + fp, perfect),
        recall=_ratio(tp, tp + fn, perfect),
        f1=_ratio(2 * tp, 2 * tp + fp + fn, perfect),
        pr_auc=pr_auc(targets, scores),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )


def choose_threshold(targets: np.ndarray, scores: np.ndarray) -> float:
    """The threshold ``t`` whose predictions ``scores >= t`` have the highest F1.

    ``t`` is one of the scores; among equally good cuts the lowest (the one with most recall) wins.
    Without positive frames every cut has F1 0, so the neutral 0.5 is returned.
    """
    from sklearn.metrics import precision_recall_curve

    targets = _binary(targets, "targets")
    scores = _scores(scores, "scores")
    _same_length("", targets=targets, scores=scores)
    if not targets.any():
        return 0.5
    precision, recall, thresholds = precision_recall_curve(targets, scores)
    # The curve's last point (precision 1, recall 0) belongs to no threshold.
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return float(thresholds[np.argmax(f1)])


def bouts(binary: np.ndarray) -> list[tuple[int, int]]:
    """The runs of 1s as half-open ``(start, stop)`` frame ranges, in order."""
    padded = np.concatenate(([0], _binary(binary, "binary"), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return [(int(start), int(stop)) for start, stop in zip(edges[::2], edges[1::2], strict=True)]


def postprocess(predicted: np.ndarray, setting: PostProcessing) -> np.ndarray:
    """Median-filter one video's 0/1 predictions, then drop positive bouts that are too short."""
    from scipy.ndimage import median_filter

    smoothed = _binary(predicted, "predicted")
    if setting.median_frames > 1 and len(smoothed):
        # "nearest" repeats the edge frames, so the first and last frames are not biased to 0.
        smoothed = median_filter(smoothed, size=setting.median_frames, mode="nearest")
    for start, stop in bouts(smoothed):
        if stop - start < setting.min_bout_frames:
            smoothed[start:stop] = 0
    return smoothed


def evaluate_videos(
    video_ids: list[str],
    conditions: list[str],
    targets: list[np.ndarray],
    scores: list[np.ndarray],
    threshold: float,
    setting: PostProcessing,
) -> pd.DataFrame:
    """Metrics per video, per condition and over all frames, raw and post-processed.

    Predictions are ``scores >= threshold``; the post-processed ones go through ``postprocess``
    video by video. Condition and "all" rows pool the frames of their videos rather than averaging
    per-video metrics. Rows come as videos (in the given order), conditions (sorted), then "all",
    first raw (``postprocessed`` False) then post-processed; ``pr_auc`` depends on the scores only,
    so it is the same in both. Columns: scope ("video", "condition" or "all"), name (video id,
    condition or "all"), condition ("all" on the "all" row), postprocessed, then every
    ``BinaryMetrics`` field.
    """
    _same_length(
        "per-video inputs have ",
        video_ids=video_ids,
        conditions=conditions,
        targets=targets,
        scores=scores,
    )
    if not video_ids:
        raise ValueError("no videos to evaluate")
    if len(set(video_ids)) != len(video_ids):
        raise ValueError(
            f"duplicate video ids: {sorted({v for v in video_ids if video_ids.count(v) > 1})}"
        )
    checked_targets, checked_scores = [], []
    for video_id, video_targets, video_scores in zip(video_ids, targets, scores, strict=True):
        where = f"video {video_id!r}"
        checked_targets.append(_binary(video_targets, f"{where}: targets"))
        checked_scores.append(_scores(video_scores, f"{where}: scores"))
        _same_length(f"{where}: ", targets=checked_targets[-1], scores=checked_scores[-1])
        if len(checked_targets[-1]) == 0:
            raise ValueError(f"{where}: no frames")

    raw = [(s >= threshold).astype(np.int8) for s in checked_scores]
    predictions = {False: raw, True: [postprocess(p, setting) for p in raw]}
    groups = [
        ("video", video_id, condition, [i])
        for i, (video_id, condition) in enumerate(zip(video_ids, conditions, strict=True))
    ]
    groups += [
        ("condition", condition, condition, [i for i, c in enumerate(conditions) if c == condition])
        for condition in sorted(set(conditions))
    ]
    groups.append(("all", "all", "all", list(range(len(video_ids)))))

    rows = []
    for postprocessed, predicted in predictions.items():
        for scope, name, condition, members in groups:
            metrics = binary_metrics(
                np.concatenate([checked_targets[i] for i in members]),
                np.concatenate([checked_scores[i] for i in members]),
                np.concatenate([predicted[i] for i in members]),
            )
            rows.append(
                {
                    "scope": scope,
                    "name": name,
                    "condition": condition,
                    "postprocessed": postprocessed,
                    **asdict(metrics),
                }
            )
    return pd.DataFrame(
        rows, columns=["scope", "name", "condition", "postprocessed", *METRIC_COLUMNS]
    )


def worst_condition(
    table: pd.DataFrame, metric: str = "pr_auc", postprocessed: bool = False
) -> float:
    """The lowest ``metric`` over the condition rows of an ``evaluate_videos`` table.

    Conditions where the metric is NaN (PR-AUC without positives) are skipped; NaN if all are.
    """
    if metric not in METRIC_COLUMNS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRIC_COLUMNS}")
    rows = table[(table["scope"] == "condition") & (table["postprocessed"] == postprocessed)]
    if rows.empty:
        raise ValueError(f"the table has no condition rows with postprocessed={postprocessed}")
    values = rows[metric].dropna()
    return float(values.min()) if len(values) else math.nan


def plot_pr_curves(
    targets_by_condition: dict[str, np.ndarray],
    scores_by_condition: dict[str, np.ndarray],
    title: str,
) -> Figure:
    """Precision-recall curves, one per condition, with the average precision in the legend.

    Conditions without positive frames have no curve; the title names them instead.
    """
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve

    if set(targets_by_condition) != set(scores_by_condition):
        raise ValueError(
            f"targets and scores cover different conditions: "
            f"{sorted(targets_by_condition)} vs {sorted(scores_by_condition)}"
        )
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    ax = figure.add_subplot()
    skipped = []
    for condition in sorted(targets_by_condition):
        where = f"condition {condition!r}"
        targets = _binary(targets_by_condition[condition], f"{where}: targets")
        scores = _scores(scores_by_condition[condition], f"{where}: scores")
        _same_length(f"{where}: ", targets=targets, scores=scores)
        if not targets.any():
            skipped.append(condition)
            continue
        precision, recall, _ = precision_recall_curve(targets, scores)
        label = f"{condition} (AP {pr_auc(targets, scores):.3f})"
        ax.plot(recall, precision, drawstyle="steps-post", label=label)
    if skipped:
        title += "\n(no positive frames: " + ", ".join(skipped) + ")"
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    if len(skipped) < len(targets_by_condition):
        ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return figure


def plot_confusion_matrix(metrics: BinaryMetrics, title: str) -> Figure:
    """The 2x2 confusion matrix: counts, and percentages of each true class (row)."""
    from matplotlib.figure import Figure

    counts = np.array([[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    # A class with no frames has no percentages; NaN leaves its row blank rather than 0%.
    shares = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
    figure = Figure(figsize=(4.5, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(2):
        for col in range(2):
            share = shares[row, col]
            text = f"{int(counts[row, col])}\n" + ("—" if np.isnan(share) else f"{share:.1%}")
            color = "white" if share > 0.5 else "black"
            ax.text(col, row, text, ha="center", va="center", color=color)
    ax.set_xticks([0, 1], ["negative", "positive"])
    ax.set_yticks([0, 1], ["negative", "positive"])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return figure


def plot_timeline(
    targets: np.ndarray, scores: np.ndarray, predicted: np.ndarray, fps: float, title: str
) -> Figure:
    """One video over time: the probability line above a predicted band and a truth band."""
    from matplotlib.figure import Figure

    targets = _binary(targets, "targets")
    predicted = _binary(predicted, "predicted")
    scores = _scores(scores, "scores")
    _same_length("", targets=targets, scores=scores, predicted=predicted)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    figure = Figure(figsize=(12, 3), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(np.arange(len(scores)) / fps, scores, linewidth=0.8, color="tab:blue")
    # Bands sit below the probability range so the three tracks never overlap.
    for binary, bottom, color in ((predicted, -0.25, "tab:orange"), (targets, -0.45, "tab:green")):
        spans = [(start / fps, (stop - start) / fps) for start, stop in bouts(binary)]
        ax.broken_barh(spans, (bottom, 0.15), color=color)
    ax.set_yticks([-0.375, -0.175, 0, 0.5, 1], ["truth", "predicted", "0", "0.5", "1"])
    ax.set(xlabel="time (s)", ylabel="probability", ylim=(-0.5, 1.05), title=title)
    ax.set_xlim(0, max(len(scores), 1) / fps)
    ax.grid(axis="x", alpha=0.3)
    return figure


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG at ``path``, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


# --- a registered model version, end to end -------------------------------------------------------


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def evaluate_version(
    name: str,
    version: str,
    test: Split,
    validation: Split,
    *,
    setting: PostProcessing,
    fps: float,
    client=None,
) -> pd.DataFrame:
    """Evaluate version ``version`` of registered model ``name``; log everything to its run.

    The decision threshold is chosen on ``test`` (the split the search optimised on); metrics are
    computed on ``validation`` per video, per condition and overall, raw and post-processed. The
    model's MLflow run receives the metrics (``val_<condition>_<metric>``, ``…_pp`` when
    post-processed), the table (CSV and markdown), PR curves, a confusion matrix per condition and a
    timeline per video. The version is tagged ``evaluated``, ``threshold`` and
    ``worst_condition_pr_auc``, which promotion reads. Returns the table.
    """
    import mlflow

    from ethoflow.registry import load_keras_model
    from ethoflow.training.fit import predict_frames

    client = client or mlflow.MlflowClient()
    model_version = client.get_model_version(name, version)
    head, window = model_version.tags["head"], int(model_version.tags["window"])
    model = load_keras_model(f"models:/{name}/{version}")

    test_scores = np.concatenate(predict_frames(model, test.features, window))
    threshold = choose_threshold(np.concatenate(test.targets(head)), test_scores)
    scores = predict_frames(model, validation.features, window)
    targets = validation.targets(head)
    table = evaluate_videos(
        validation.video_ids, validation.conditions, targets, scores, threshold, setting
    )
    worst = worst_condition(table, "pr_auc")

    with mlflow.start_run(run_id=model_version.run_id):
        summary = table[table.scope != "video"]
        metrics = {
            f"val_{_slug(row.name)}_{metric}{'_pp' if row.postprocessed else ''}": float(value)
            for row in summary.itertuples()
            for metric in ("accuracy", "precision", "recall", "f1", "pr_auc")
            if math.isfinite(value := getattr(row, metric))
        }
        mlflow.log_metrics({**metrics, "threshold": threshold, "val_worst_condition_pr_auc": worst})
        folder = f"evaluation/v{version}"
        mlflow.log_text(table.to_csv(index=False), f"{folder}/metrics.csv")
        mlflow.log_text(summary.to_markdown(index=False, floatfmt=".3f"), f"{folder}/metrics.md")
        by_condition: dict[str, list[int]] = {}
        for index, condition in enumerate(validation.conditions):
            by_condition.setdefault(condition, []).append(index)
        pooled = {
            c: (np.concatenate([targets[i] for i in m]), np.concatenate([scores[i] for i in m]))
            for c, m in by_condition.items()
        }
        mlflow.log_figure(
            plot_pr_curves(
                {c: t for c, (t, _) in pooled.items()},
                {c: s for c, (_, s) in pooled.items()},
                f"{name} v{version}: validation",
            ),
            f"{folder}/pr_curves.png",
        )
        for condition in by_condition:
            row = table[(table.scope == "condition") & (table.name == condition)].iloc[0]
            metrics_row = BinaryMetrics(**{field: row[field] for field in METRIC_COLUMNS})
            mlflow.log_figure(
                plot_confusion_matrix(metrics_row, f"{condition} (threshold {threshold:.2f})"),
                f"{folder}/confusion_{_slug(condition)}.png",
            )
        for video_id, video_targets, video_scores in zip(
            validation.video_ids, targets, scores, strict=True
        ):
            predicted = postprocess((video_scores >= threshold).astype(np.int8), setting)
            mlflow.log_figure(
                plot_timeline(video_targets, video_scores, predicted, fps, f"{video_id}: {head}"),
                f"{folder}/timeline_{_slug(video_id)}.png",
            )
    tags = {
        "threshold": f"{threshold:.6g}",
        "worst_condition_pr_auc": f"{worst:.6g}",
        "postprocess": setting.model_dump_json(),
        "evaluated": "true",  # last: promotion only considers fully evaluated versions
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    return table


def versions_to_evaluate(name: str, features_version: str, client=None) -> list[str]:
    """Versions of ``name`` trained on ``features_version`` that are not evaluated yet.

    Versions trained on other features are left alone: scoring them on today's validation
    videos would compare them on data they were not built for.
    """
    import mlflow

    client = client or mlflow.MlflowClient()
    found = client.search_model_versions(f"name = '{name}'")
    return sorted(
        (
            str(v.version)
            for v in found
            if v.tags.get("features_version") == features_version
            and v.tags.get("evaluated") != "true"
        ),
        key=int,
    )


def compare_versions(name: str, first: str, second: str, client=None) -> pd.DataFrame:
    """Two evaluated versions' validation metrics per condition (raw predictions), side by side.

    Rows are conditions and "all"; columns ``<metric> v<first>``, ``<metric> v<second>`` and
    ``<metric> Δ`` (second minus first) for PR-AUC, precision, recall and F1.
    """
    import io

    import mlflow

    client = client or mlflow.MlflowClient()
    metrics = ["pr_auc", "precision", "recall", "f1"]
    tables = []
    for version in (first, second):
        model_version = client.get_model_version(name, version)
        if model_version.tags.get("evaluated") != "true":
            raise ValueError(f"{name} v{version} is not evaluated yet: run `ethoflow evaluate`")
        text = mlflow.artifacts.load_text(
            f"runs:/{model_version.run_id}/evaluation/v{version}/metrics.csv"
        )
        table = pd.read_csv(io.StringIO(text))
        table = table[(table.scope != "video") & ~table.postprocessed].set_index("name")
        tables.append(table[metrics].add_suffix(f" v{version}"))
    side = tables[0].join(tables[1], how="outer")
    for metric in metrics:
        side[f"{metric} Δ"] = side[f"{metric} v{second}"] - side[f"{metric} v{first}"]
    columns = [f"{m}{suffix}" for m in metrics for suffix in (f" v{first}", f" v{second}", " Δ")]
    return side[columns].rename_axis("condition")


def label_agreement(labels: pd.DataFrame, truth: pd.DataFrame, heads: list[str]) -> pd.DataFrame:
    """Per head, metrics of produced labels (``<head>``, ``<head>_probability`` per ``frame``)
    against per-frame truth (``frame`` and ``<head>`` columns), on the frames both have."""
    merged = labels.merge(truth, on="frame", suffixes=("", "_truth"), validate="one_to_one")
    if merged.empty:
        raise ValueError("labels and truth share no frame numbers")
    rows = []
    for head in heads:
        metrics = binary_metrics(
            merged[f"{head}_truth"].to_numpy(),
            merged[f"{head}_probability"].to_numpy(),
            merged[head].to_numpy(),
        )
        rows.append({"head": head, **asdict(metrics)})
    return pd.DataFrame(rows)
