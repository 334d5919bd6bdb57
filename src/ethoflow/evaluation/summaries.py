"""Per-video summaries of labels: bouts per behaviour, distance travelled and speed."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ethoflow.io.labels import bouts, label_targets
from ethoflow.vision.distance import travelled


def video_summary(
    table: pd.DataFrame, heads: list[str], fps: float, pixels_per_cm: float | None = None
) -> dict[str, Any]:
    """Bouts per head and the mouse's movement, from a :func:`label_table` table whose rows are
    the slots of an ``fps`` clock (:mod:`ethoflow.vision.fps`).

    Per head: ``bouts`` (count), ``total_s`` (rows in bouts / fps) and ``latency_s`` (time of
    the first bout's start; None without bouts); in a person's table, bouts are runs of labelled
    positive frames (an unknown frame, empty, ends one). Overall: ``frames`` (rows), ``duration_s``
    (rows / fps), ``distance_px`` (the centre's steps beyond its detection jitter,
    :func:`ethoflow.vision.distance.travelled`, with the jitter as ``position_noise_px``) and
    ``mean_speed_px_s`` (distance over the time from first to last frame); with
    ``pixels_per_cm``, also ``distance_cm`` and ``mean_speed_cm_s``.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    time_s = table.time_s.to_numpy(float)
    period = 1 / fps
    travel = travelled(table)
    distance = travel.distance
    elapsed = (len(table) - 1) * period
    behaviours = {}
    for head in heads:
        runs = bouts(label_targets(table[head]) == 1)
        behaviours[head] = {
            "bouts": len(runs),
            "total_s": round(sum(stop - start for start, stop in runs) * period, 4),
            "latency_s": float(time_s[runs[0][0]]) if runs else None,
        }
    speed = distance / elapsed if elapsed > 0 else 0.0
    movement = {
        "distance_px": round(distance, 2),
        "mean_speed_px_s": round(speed, 2),
        "position_noise_px": round(travel.noise_px, 3),
    }
    if pixels_per_cm:
        movement |= {
            "distance_cm": round(distance / pixels_per_cm, 2),
            "mean_speed_cm_s": round(speed / pixels_per_cm, 2),
        }
    return {
        "frames": len(table),
        "frame_period_s": round(period, 4),
        "duration_s": round(len(table) * period, 4),
        **movement,
        "heads": behaviours,
    }
