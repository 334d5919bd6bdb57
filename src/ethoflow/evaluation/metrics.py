"""Score a binary per-frame head on whole videos: metrics, threshold, tables.

Pure functions on numpy arrays and Keras models; predictions are post-processed by
:mod:`ethoflow.postprocess`, figures drawn by :mod:`ethoflow.evaluation.plots`, and
:mod:`ethoflow.mlops.logged_evaluations` loads models and logs evaluations to MLflow.
scikit-learn and SciPy are imported inside the functions that need them, so importing this module
stays cheap.

Targets are 0/1 per frame, NaN where unknown (:func:`ethoflow.io.labels.label_targets`). Unknown
frames are not scored: thresholds are chosen and metrics counted on labelled frames only, while
post-processing still runs on every frame's scores (a bout may cross into unknown frames).
"""

from __future__ import annotations

import math
from collections.abc import Sized
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing
from ethoflow.io.labels import as_binary, label_targets
from ethoflow.models.prediction import predict_frames
from ethoflow.postprocess import as_scores, label_frames
from ethoflow.training.fit import Split, pr_auc

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class BinaryMetrics:
    """Frame-level scores of binary predictions against 0/1 targets, on labelled frames:
    ``n_frames`` counts the frames measured.

    A ratio whose denominator is empty (precision with nothing predicted, recall with no
    positives) is 1.0 when the frames hold no error at all (no positives, none predicted) and 0.0
    otherwise; F1 is ``2tp / (2tp + fp + fn)`` with the same rule, so it is always the harmonic
    mean of precision and recall. ``pr_auc`` is the average precision of the scores, NaN without
    positives. Without any labelled frame nothing is measured: counts 0, every ratio NaN
    (:func:`unmeasured`).
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


def unmeasured() -> BinaryMetrics:
    """The metrics of frames none of which is labelled: not zeros, unknown."""
    nan = math.nan
    return BinaryMetrics(0, 0, nan, nan, nan, nan, nan, 0, 0, 0, 0)


def labelled_targets(targets: np.ndarray | pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(labelled, values)``: which frames of ``targets`` (0/1, NaN or <NA> where unknown) are
    labelled, and their values as int8 0/1; ValueError naming ``what`` for any other value."""
    values = label_targets(targets)
    known = ~np.isnan(values)
    return known, as_binary(values[known], what)


def _same_length(where: str, **arrays: Sized) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{where}mismatched lengths: {lengths}")


def ratio_or_perfect(numerator: int, denominator: int, perfect: bool) -> float:
    """``numerator / denominator``; with nothing to count, 1 when ``perfect`` else 0."""
    if denominator == 0:
        return 1.0 if perfect else 0.0
    return numerator / denominator


def binary_metrics(targets: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> BinaryMetrics:
    """Confusion counts, accuracy, precision, recall, F1 and PR-AUC of one set of frames.

    ``targets`` and ``predicted`` are 0/1 (labelled frames only: select them first, see
    :func:`labelled_targets`), ``scores`` the probabilities behind ``predicted``.
    """
    targets = as_binary(targets, "targets")
    predicted = as_binary(predicted, "predicted")
    scores = as_scores(scores, "scores")
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
        precision=ratio_or_perfect(tp, tp + fp, perfect),
        recall=ratio_or_perfect(tp, tp + fn, perfect),
        f1=ratio_or_perfect(2 * tp, 2 * tp + fp + fn, perfect),
        pr_auc=pr_auc(targets, scores),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )


def choose_threshold(
    targets: np.ndarray, scores: np.ndarray, groups: np.ndarray | None = None
) -> float:
    """The threshold ``t`` whose predictions ``scores >= t`` have the highest F1 on the labelled
    frames (``targets`` NaN where unknown).

    With ``groups`` (each frame's recording condition), the highest F1 in the worst group that
    has positive frames; among equally good cuts the one with the highest F1 over all frames. A
    cut that suits every set-up it was chosen on carries over to a new one better than the
    cut best on the frames pooled, which the set-ups with the most frames decide (measured:
    bench/bench_recognition.py). ``t`` is one of the scores; among equally good cuts the lowest
    (the one with most recall) wins. Without labelled positive frames every cut has F1 0, so the
    neutral 0.5 is returned.
    """
    known, binary = labelled_targets(targets, "targets")
    scores = as_scores(scores, "scores")
    _same_length("", targets=known, scores=scores)
    targets, scores = binary.astype(bool), scores[known]
    if not targets.any():
        return 0.5
    cuts = np.unique(scores)
    pooled = _f1_by_cut(targets, scores, cuts)
    worst = pooled
    if groups is not None:
        groups = np.asarray(groups)
        _same_length("", targets=known, groups=groups)
        groups = groups[known]
        members = [groups == group for group in np.unique(groups)]
        worst = np.min(
            [_f1_by_cut(targets[m], scores[m], cuts) for m in members if targets[m].any()], axis=0
        )
    # lexsort's last key ranks first: the worst group's F1, then the pooled F1, then the lowest cut.
    best = np.lexsort((-np.arange(len(cuts)), pooled, worst))[-1]
    return float(cuts[best])


def _f1_by_cut(targets: np.ndarray, scores: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """F1 of ``scores >= cut`` against boolean ``targets``, for each of the ascending ``cuts``."""
    positives, negatives = np.sort(scores[targets]), np.sort(scores[~targets])
    tp = len(positives) - np.searchsorted(positives, cuts, side="left")
    fp = len(negatives) - np.searchsorted(negatives, cuts, side="left")
    denominator = tp + len(positives) + fp  # 2 tp + fn + fp
    f1: np.ndarray = np.divide(2 * tp, denominator, out=np.zeros(len(cuts)), where=denominator > 0)
    return f1


def evaluate_videos(
    video_ids: list[str],
    conditions: list[str],
    targets: list[np.ndarray],
    scores: list[np.ndarray],
    threshold: float,
    setting: PostProcessing,
) -> pd.DataFrame:
    """Metrics per video, per condition and over all frames, raw and post-processed.

    Predictions are ``scores >= threshold``; the post-processed ones are :func:`label_frames`' on
    every frame. Metrics count the labelled frames only (``targets`` NaN where unknown;
    ``n_frames`` says how many were measured); a row without labelled frames is
    :func:`unmeasured`. Condition and "all" rows pool the frames of their videos rather than
    averaging per-video metrics. Rows come as videos (in the given order), conditions (sorted),
    then "all", first raw (``postprocessed`` False) then post-processed; ``pr_auc`` depends on
    the scores only, so it is the same in both. Columns: scope ("video", "condition" or "all"),
    name (video id, condition or "all"), condition ("all" on the "all" row), postprocessed, then
    every ``BinaryMetrics`` field.
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
    known, checked_targets, checked_scores = [], [], []
    for video_id, video_targets, video_scores in zip(video_ids, targets, scores, strict=True):
        where = f"video {video_id!r}"
        video_known, values = labelled_targets(video_targets, f"{where}: targets")
        known.append(video_known)
        checked_targets.append(values)
        checked_scores.append(as_scores(video_scores, f"{where}: scores"))
        _same_length(f"{where}: ", targets=known[-1], scores=checked_scores[-1])
        if len(known[-1]) == 0:
            raise ValueError(f"{where}: no frames")

    raw = [(s >= threshold).astype(np.int8) for s in checked_scores]
    predictions = {False: raw, True: [label_frames(s, threshold, setting) for s in checked_scores]}
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
            pooled_targets = np.concatenate([checked_targets[i] for i in members])
            metrics = (
                binary_metrics(
                    pooled_targets,
                    np.concatenate([checked_scores[i][known[i]] for i in members]),
                    np.concatenate([predicted[i][known[i]] for i in members]),
                )
                if len(pooled_targets)
                else unmeasured()
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


@dataclass(frozen=True)
class Evaluation:
    """A head's model scored on the validation videos, its threshold chosen on the test split."""

    head: str
    threshold: float
    table: pd.DataFrame  # see evaluate_videos
    video_ids: list[str]
    conditions: list[str]
    targets: list[np.ndarray]  # per validation video, NaN on unknown frames
    scores: list[np.ndarray]
    predicted: list[np.ndarray]  # thresholded and post-processed

    @property
    def worst_condition_pr_auc(self) -> float:
        """The lowest PR-AUC over the conditions where it is defined (see ``unmeasurable``)."""
        return worst_condition(self.table, "pr_auc")

    @property
    def unmeasurable(self) -> tuple[str, ...]:
        """Conditions whose validation videos hold no labelled positive frame: PR-AUC is
        undefined."""
        rows = self.table[(self.table.scope == "condition") & ~self.table.postprocessed]
        return tuple(rows.loc[rows.pr_auc.isna(), "name"])

    def summary(self) -> dict[str, float | str]:
        """The worst condition's PR-AUC and each condition's, rounded, for reports."""
        rows = self.table[(self.table.scope == "condition") & ~self.table.postprocessed]
        return {
            "worst_condition_pr_auc": self.worst_condition_pr_auc,
            **{
                f"{name} pr_auc": round(pr_auc, 3)
                for name, pr_auc in zip(rows["name"], rows["pr_auc"], strict=True)
            },
            **({"not measurable": ", ".join(self.unmeasurable)} if self.unmeasurable else {}),
        }

    def pooled_by_condition(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Condition → (0/1 targets, scores) of its videos' labelled frames together."""
        members: dict[str, list[int]] = {}
        for index, condition in enumerate(self.conditions):
            members.setdefault(condition, []).append(index)
        pooled = {}
        for condition, indices in sorted(members.items()):
            targets = np.concatenate([self.targets[i] for i in indices])
            known, values = labelled_targets(targets, f"condition {condition!r}: targets")
            pooled[condition] = (values, np.concatenate([self.scores[i] for i in indices])[known])
        return pooled


def evaluate_model(
    model: keras.Model,
    window: int,
    head: str,
    test: Split,
    validation: Split,
    setting: PostProcessing,
) -> Evaluation:
    """Choose ``model``'s threshold on ``test`` (the split the search optimised on; the cut best
    in its worst condition), then score it on ``validation`` per video, per condition and
    overall, raw and post-processed; both on labelled frames only."""
    test_scores = np.concatenate(predict_frames(model, test.features, window))
    test_targets = test.targets(head)
    conditions = np.repeat(test.conditions, [len(t) for t in test_targets])
    threshold = choose_threshold(np.concatenate(test_targets), test_scores, conditions)
    scores = predict_frames(model, validation.features, window)
    targets = validation.targets(head)
    table = evaluate_videos(
        validation.video_ids, validation.conditions, targets, scores, threshold, setting
    )
    predicted = [label_frames(s, threshold, setting) for s in scores]
    return Evaluation(
        head,
        threshold,
        table,
        list(validation.video_ids),
        list(validation.conditions),
        targets,
        scores,
        predicted,
    )


def pr_curve_points(evaluation: Evaluation) -> pd.DataFrame:
    """condition, recall, precision, threshold: each condition's precision-recall curve
    (conditions without positive frames have none)."""
    from sklearn.metrics import precision_recall_curve

    curves = []
    for condition, (targets, scores) in evaluation.pooled_by_condition().items():
        if not targets.any():
            continue
        precision, recall, thresholds = precision_recall_curve(targets, scores)
        curves.append(
            pd.DataFrame(
                {
                    "condition": condition,
                    "recall": recall.round(5),
                    "precision": precision.round(5),
                    # The curve's last point (precision 1, recall 0) belongs to no threshold.
                    "threshold": np.append(thresholds, np.nan).round(5),
                }
            )
        )
    columns = ["condition", "recall", "precision", "threshold"]
    return pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns)
