"""Figures for people: precision-recall curves, confusion matrices, timelines and ethograms.

Drawn with matplotlib's object API (no global pyplot state, safe in worker threads) and
scikit-learn's displays; imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethoflow.evaluation.metrics import METRIC_COLUMNS, BinaryMetrics, Evaluation
from ethoflow.io.atomic import atomic_path
from ethoflow.io.labels import bouts, label_targets

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def slug(text: str) -> str:
    """``text`` made safe for file and metric names."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def plot_pr_curves(pooled: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> Figure:
    """Precision-recall curves, one per condition (→ targets, scores), average precision in the
    legend. Conditions without positive frames have no curve; the title names them instead."""
    from matplotlib.figure import Figure
    from sklearn.metrics import PrecisionRecallDisplay

    figure = Figure(figsize=(5.5, 5), layout="constrained")
    ax = figure.add_subplot()
    skipped = []
    for condition, (targets, scores) in sorted(pooled.items()):
        if len(targets) != len(scores):
            raise ValueError(
                f"condition {condition!r}: {len(targets)} targets, {len(scores)} scores"
            )
        if not np.any(targets):
            skipped.append(condition)
            continue
        PrecisionRecallDisplay.from_predictions(targets, scores, name=condition, ax=ax)
    if skipped:
        title += "\n(no positive frames: " + ", ".join(skipped) + ")"
    ax.set(xlim=(0, 1), ylim=(0, 1.02), title=title)
    if len(skipped) < len(pooled):
        ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return figure


def plot_confusion_matrix(metrics: BinaryMetrics, title: str) -> Figure:
    """The 2x2 confusion matrix in frame counts, true class by row."""
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    counts = np.array([[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]])
    figure = Figure(figsize=(4.5, 4), layout="constrained")
    ax = figure.add_subplot()
    display = ConfusionMatrixDisplay(counts, display_labels=["negative", "positive"])
    display.plot(ax=ax, cmap="Blues", colorbar=False, values_format="d")
    ax.set_title(
        f"{title}\nprecision {metrics.precision:.2f}, recall {metrics.recall:.2f}", fontsize=10
    )
    return figure


def plot_timeline(
    targets: np.ndarray, scores: np.ndarray, predicted: np.ndarray, fps: float, title: str
) -> Figure:
    """One video over time: the probability line above a predicted band and a truth band
    (``targets`` NaN where unknown: those stretches grey)."""
    from matplotlib.figure import Figure

    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not len(targets) == len(scores) == len(predicted):
        raise ValueError(
            f"mismatched lengths: {len(targets)} targets, {len(scores)} scores, "
            f"{len(predicted)} predictions"
        )
    figure = Figure(figsize=(12, 3), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(np.arange(len(scores)) / fps, scores, linewidth=0.8, color="tab:blue")
    truth = label_targets(targets)
    # Bands sit below the probability range so the three tracks never overlap.
    for binary, bottom, color in (
        (predicted, -0.25, "tab:orange"),
        (truth == 1, -0.45, "tab:green"),
        (np.isnan(truth), -0.45, "lightgrey"),
    ):
        spans = [(start / fps, (stop - start) / fps) for start, stop in bouts(binary)]
        ax.broken_barh(spans, (bottom, 0.15), color=color)
    ax.set_yticks([-0.375, -0.175, 0, 0.5, 1], ["truth", "predicted", "0", "0.5", "1"])
    ax.set(xlabel="time (s)", ylabel="probability", ylim=(-0.5, 1.05), title=title)
    ax.set_xlim(0, max(len(scores), 1) / fps)
    ax.grid(axis="x", alpha=0.3)
    return figure


def evaluation_figures(evaluation: Evaluation, title: str, fps: float) -> dict[str, Figure]:
    """File name → figure: PR curves, a confusion matrix per condition, a timeline per video."""
    table = evaluation.table
    rows = table[(table.scope == "condition") & ~table.postprocessed]
    figures = {"pr_curves.png": plot_pr_curves(evaluation.pooled_by_condition(), title)}
    for row in rows.itertuples():
        metrics = BinaryMetrics(**{name: getattr(row, name) for name in METRIC_COLUMNS})
        figures[f"confusion_{slug(str(row.name))}.png"] = plot_confusion_matrix(
            metrics, f"{row.name} (threshold {evaluation.threshold:.2f})"
        )
    for video_id, targets, scores, predicted in zip(
        evaluation.video_ids,
        evaluation.targets,
        evaluation.scores,
        evaluation.predicted,
        strict=True,
    ):
        figures[f"timeline_{slug(video_id)}.png"] = plot_timeline(
            targets, scores, predicted, fps, f"{video_id}: {evaluation.head}"
        )
    return figures


def plot_ethogram(table: pd.DataFrame, heads: list[str], fps: float, title: str) -> Figure:
    """Probability lines above one band per head marking its labelled bouts, over time (rows
    are the slots of an ``fps`` clock). A head without a ``<head>_probability`` column (labels
    drawn by hand) has its band only; unknown frames of a partial label file are grey."""
    from matplotlib.figure import Figure

    time_s = table.time_s.to_numpy(float)
    period = 1 / fps
    figure = Figure(figsize=(12, 2.5 + 0.5 * len(heads)), layout="constrained")
    lines, bands = figure.subplots(2, 1, sharex=True, height_ratios=(2, max(len(heads), 1)))
    for row, head in enumerate(heads):
        color = f"C{row}"
        if f"{head}_probability" in table:
            probability = table[f"{head}_probability"]
            lines.plot(time_s, probability, linewidth=0.8, color=color, label=head)
        labels = label_targets(table[head])
        for shown, shade in ((labels == 1, color), (np.isnan(labels), "lightgrey")):
            spans = [(time_s[start], (stop - start) * period) for start, stop in bouts(shown)]
            if spans:
                bands.broken_barh(spans, (row - 0.4, 0.8), color=shade)
    lines.set(ylabel="probability", ylim=(0, 1.02), title=title)
    if lines.get_lines():
        lines.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bands.set_yticks(range(len(heads)), heads)
    # Inverted, so the bands read top-down in the legend's order.
    bands.set(xlabel="time (s)", ylim=(len(heads) - 0.4, -0.6))
    if len(time_s):
        bands.set_xlim(time_s[0], time_s[-1] + max(period, 1e-3))
    for ax in (lines, bands):
        ax.grid(axis="x", alpha=0.3)
    return figure


def draw_detection(frame: np.ndarray, detection: pd.Series, scale: float = 1.0) -> np.ndarray:
    """A copy of ``frame`` (BGR) with the tracked centre and body ellipse drawn on it, resized by
    ``scale``; ``detection`` has x, y, found, length, width and angle (as a track row)."""
    import cv2

    picture = frame.copy()
    if detection["found"]:
        centre = (int(round(detection["x"])), int(round(detection["y"])))
        axes = (int(round(detection["length"] / 2)), int(round(detection["width"] / 2)))
        angle = -float(detection["angle"]) if np.isfinite(detection["angle"]) else 0.0
        thickness = max(1, round(min(frame.shape[:2]) / 300))
        cv2.ellipse(picture, centre, axes, angle, 0, 360, (0, 200, 255), thickness)
        cv2.drawMarker(picture, centre, (0, 0, 255), cv2.MARKER_CROSS, 6 * thickness, thickness)
    if scale != 1.0:
        picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return picture


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG at ``path``, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
