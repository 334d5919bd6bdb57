"""Contact sheet of the synthetic lab for the README: each camera condition (rows) showing the
whole frame, then the mouse walking, sniffing, resting, grooming (three sub-types) and rearing.

Each close-up is the middle frame of the activity's longest run in a seeded recording, so the
posture is fully blended in; the label under it is the truth's activity.

    .venv/bin/python bench/contact_sheet.py            # writes docs/synthetic_lab.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ethoflow.synth.conditions import CONDITIONS, HELD_OUT_CONDITION, Condition
from ethoflow.synth.recording import render_recording
from ethoflow.vision.crop import crop_around

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (
    "walking",
    "sniffing",
    "resting",
    "paw_licking",
    "face_washing",
    "body_licking",
    "wall_rearing",
    "mid_rearing",
)
TILE = 128


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    band = np.full((18, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([tile, band])


def condition_row(condition: Condition, seconds: float, seed: int) -> np.ndarray:
    """One row: the frame, then a close-up per activity (grey where the recording has none)."""
    wanted: dict[str, int] = {}
    truth = pd.DataFrame(
        [vars(t) for _, t in render_recording(condition, seconds=seconds, seed=seed)]
    )
    runs = (truth.activity != truth.activity.shift()).cumsum()
    for activity in COLUMNS:
        lengths = truth[truth.activity == activity].groupby(runs).frame.agg(["min", "max"])
        if len(lengths):
            longest = (lengths["max"] - lengths["min"]).idxmax()
            wanted[activity] = int(lengths.loc[longest].sum() // 2)
    frames: dict[int, np.ndarray] = {}
    for frame, t in render_recording(condition, seconds=seconds, seed=seed):
        if t.frame in wanted.values() or t.frame == 0:
            frames[t.frame] = frame
    body = condition.body_fraction * condition.arena_side
    tiles = [
        _label(cv2.resize(frames[0], (TILE, TILE), interpolation=cv2.INTER_AREA), condition.name)
    ]
    for activity in COLUMNS:
        if activity not in wanted:
            tiles.append(_label(np.full((TILE, TILE, 3), 200, np.uint8), f"({activity})"))
            continue
        row = truth.iloc[wanted[activity]]
        crop = crop_around(frames[wanted[activity]], (row.x, row.y), int(2.2 * body))
        tiles.append(_label(cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA), activity))
    return np.hstack([np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255) for t in tiles])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "synthetic_lab.jpg")
    args = parser.parse_args()
    rows = [condition_row(c, args.seconds, args.seed) for c in (*CONDITIONS, HELD_OUT_CONDITION)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.vstack(rows))
    print(args.out)


if __name__ == "__main__":
    main()
