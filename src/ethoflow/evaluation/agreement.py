"""Agreement between two per-frame label tables: two raters, or a model and a person.

Table A is the reference. Per behaviour, per frame: precision (share of B's frames that A marks
too), recall (share of A's frames that B marks too), F1 and Cohen's kappa (agreement beyond
chance; scikit-learn's ``cohen_kappa_score``), with the conventions of
:func:`ethoflow.evaluation.metrics.binary_metrics` for empty denominators: 1.0 when neither table
marks a frame, 0.0 when only one does. Kappa is undefined (NaN) when both tables mark every frame
alike, all 0 or all 1: chance alone would agree as well.

Per bout (a run of marked frames): a bout of B *matches* a bout of A when they share at least one
frame and their intersection over union (in frames) is at least ``min_iou`` (default 0: any
overlap counts). Bout precision is the share of B's bouts that match a bout of A, bout recall the
share of A's bouts matched by a bout of B, F1 their harmonic mean. Matching is not one-to-one:
one long bout of B spanning two of A's matches both.

Unknown frames (empty cells) are left out: frames are compared where both tables label them
(``frames`` counts those), and bouts are runs of marked frames within them, so a stretch one
rater left unknown neither matches nor misses anything.

A model's ``labels.csv`` against per-frame truth, its probabilities giving PR-AUC:
:func:`label_agreement`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ethoflow.evaluation.metrics import (
    binary_metrics,
    labelled_targets,
    ratio_or_perfect,
    unmeasured,
)
from ethoflow.io.labels import BEHAVIOURS, as_binary, bouts, label_targets


@dataclass(frozen=True)
class Agreement:
    """One behaviour's agreement of table B with reference table A."""

    behaviour: str
    frames: int  # frames both tables label
    frames_a: int  # frames A marks
    frames_b: int
    precision: float
    recall: float
    f1: float
    kappa: float
    bouts_a: int
    bouts_b: int
    bout_precision: float
    bout_recall: float
    bout_f1: float


def agreement(a: pd.DataFrame, b: pd.DataFrame, *, min_iou: float = 0.0) -> pd.DataFrame:
    """One row of :class:`Agreement` per behaviour of two ``grooming``/``rearing`` tables of the
    same video (same number of frames). Raises ``ValueError`` for tables of different lengths or a
    ``min_iou`` outside [0, 1]."""
    if not 0 <= min_iou <= 1:
        raise ValueError(f"min_iou must be in [0, 1], got {min_iou}")
    if len(a) != len(b):
        raise ValueError(f"A has {len(a)} frames, B has {len(b)}: label the same video in both")
    if len(a) == 0:
        raise ValueError("no frames to compare")
    rows = [
        asdict(behaviour_agreement(a[name], b[name], name, min_iou=min_iou)) for name in BEHAVIOURS
    ]
    return pd.DataFrame(rows)


def on_one_clock(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    clocks: Sequence[np.ndarray | None],
    names: tuple[str, str] = ("A", "B"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``a`` and ``b`` with one row per frame of one clock, for :func:`agreement`.

    Tables of as many rows are returned as they are. Otherwise, when one of them is a model's
    ``labels.csv`` (its ``clocks`` entry: the source frame each of its rows shows, see
    :func:`ethoflow.io.labels.source_frames`) and the other a per-frame table of that source
    video, the latter's rows at those frames are taken: both on the models' clock, as training
    and evaluation compare them. Raises ``ValueError`` naming both (``names``) and the commands
    that put one on the other's clock otherwise.
    """
    if len(a) == len(b):
        return a, b
    clock_a, clock_b = clocks
    if clock_b is not None and clock_a is None and _shows(clock_b, len(a)):
        return a.iloc[clock_b].reset_index(drop=True), b
    if clock_a is not None and clock_b is None and _shows(clock_a, len(b)):
        return a, b.iloc[clock_a].reset_index(drop=True)
    first, second = names
    raise ValueError(
        f"{first} has {len(a)} frames, {second} has {len(b)}: not one video at one frame rate. "
        f"If both label one video at different rates, put {first} on {second}'s clock: "
        f"`ethoflow labels convert {first} --to bouts --fps <its fps> --out first.bouts.csv`, "
        f"then `ethoflow labels agree first.bouts.csv {second} --fps <{second}'s fps> "
        f"--frames {len(b)}`"
    )


def _shows(frames: np.ndarray, count: int) -> bool:
    """Whether a clock whose rows show source ``frames`` spans a video of ``count`` frames: its
    last row shows one of the last frames (within one step of the clock)."""
    step = max(np.diff(frames), default=1)
    return len(frames) > 0 and frames[-1] < count <= frames[-1] + max(step, 1)


def behaviour_agreement(
    a: np.ndarray | pd.Series, b: np.ndarray | pd.Series, behaviour: str, *, min_iou: float = 0.0
) -> Agreement:
    """Frame and bout agreement of 0/1 columns ``b`` with reference ``a`` (NaN or <NA>: unknown;
    see the module)."""
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score

    values_a, values_b = label_targets(a), label_targets(b)
    if len(values_a) != len(values_b):
        raise ValueError(f"A has {len(values_a)} frames, B has {len(values_b)}")
    jointly = ~np.isnan(values_a) & ~np.isnan(values_b)
    if not jointly.any():
        nan = math.nan
        return Agreement(behaviour, 0, 0, 0, nan, nan, nan, nan, 0, 0, nan, nan, nan)
    # 0/1 on every frame, 0 where either table leaves it unknown: bouts lie in frames both label.
    marked_a = as_binary(np.nan_to_num(values_a), "A") * jointly
    marked_b = as_binary(np.nan_to_num(values_b), "B") * jointly
    shared_a, shared_b = marked_a[jointly], marked_b[jointly]
    frame = binary_metrics(shared_a, shared_b, shared_b)
    with warnings.catch_warnings():
        # Both tables constant and alike: kappa is undefined, reported as NaN.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        kappa = cohen_kappa_score(shared_a, shared_b, labels=[0, 1], replace_undefined_by=np.nan)
    bouts_a, bouts_b = bouts(marked_a), bouts(marked_b)
    matched_b = sum(any(_matches(x, y, min_iou) for x in bouts_a) for y in bouts_b)
    matched_a = sum(any(_matches(x, y, min_iou) for y in bouts_b) for x in bouts_a)
    perfect = matched_a == len(bouts_a) and matched_b == len(bouts_b)
    bout_precision = ratio_or_perfect(matched_b, len(bouts_b), perfect)
    bout_recall = ratio_or_perfect(matched_a, len(bouts_a), perfect)
    both = bout_precision + bout_recall
    return Agreement(
        behaviour=behaviour,
        frames=frame.n_frames,
        frames_a=frame.tp + frame.fn,
        frames_b=frame.tp + frame.fp,
        precision=frame.precision,
        recall=frame.recall,
        f1=frame.f1,
        kappa=float(kappa),
        bouts_a=len(bouts_a),
        bouts_b=len(bouts_b),
        bout_precision=bout_precision,
        bout_recall=bout_recall,
        bout_f1=2 * bout_precision * bout_recall / both if both else 0.0,
    )


def _matches(x: tuple[int, int], y: tuple[int, int], min_iou: float) -> bool:
    shared = min(x[1], y[1]) - max(x[0], y[0])
    union = max(x[1], y[1]) - min(x[0], y[0])
    return shared > 0 and shared / union >= min_iou


def label_agreement(labels: pd.DataFrame, truth: pd.DataFrame, heads: list[str]) -> pd.DataFrame:
    """Per head, metrics of produced labels (``<head>``, ``<head>_probability`` per ``frame``)
    against per-frame truth (``frame`` and ``<head>`` columns, empty where unknown), on the frames
    both have that the truth labels."""
    merged = labels.merge(truth, on="frame", suffixes=("", "_truth"), validate="one_to_one")
    if merged.empty:
        raise ValueError("labels and truth share no frame numbers")
    rows = []
    for head in heads:
        known, truth_values = labelled_targets(merged[f"{head}_truth"], f"truth {head}")
        metrics = (
            binary_metrics(
                truth_values,
                merged[f"{head}_probability"].to_numpy()[known],
                merged[head].to_numpy()[known],
            )
            if known.any()
            else unmeasured()
        )
        rows.append({"head": head, **asdict(metrics)})
    return pd.DataFrame(rows)
