"""Tracking on real recordings: accuracy against hand labels and idtracker, and frames/s.

Uses the real files in ``tests/data/real`` (see its README). Prints one JSON line per dataset.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"


def openfield() -> dict:
    """Each hand-labelled session as one folder of frames: error to the HEAD–TAIL midpoint."""
    from ethoflow.io.video import open_recording
    from ethoflow.vision.openfield import track_frames

    errors, rows = [], []
    for session in sorted(p for p in (REAL / "openfield_frames").iterdir() if p.is_dir()):
        truth = pd.read_csv(session / "CollectedData_X.csv", header=[0, 1, 2], index_col=[0, 1, 2])
        truth.columns = [f"{part}_{coord}" for _, part, coord in truth.columns]
        truth.index = truth.index.get_level_values(2)
        track = track_frames(open_recording(session))
        track = track.set_index("image")
        mid_x = (truth.HEAD_x + truth.TAIL_x) / 2
        mid_y = (truth.HEAD_y + truth.TAIL_y) / 2
        error = np.hypot(track.x.reindex(truth.index) - mid_x, track.y.reindex(truth.index) - mid_y)
        error = error[mid_x.notna()]
        missing = int(error.isna().sum())
        error = error.fillna(np.inf)
        errors += list(error)
        rows.append(
            {
                "session": session.name,
                "median_px": round(float(error.median()), 2),
                "within_20px": round(float((error <= 20).mean()), 3),
                "missing": missing,
            }
        )
    errors = np.array(errors)
    return {
        "dataset": "openfield_frames",
        "frames": len(errors),
        "median_px": round(float(np.median(errors)), 2),
        "within_20px": round(float((errors <= 20).mean()), 3),
        "sessions": rows,
    }


def tracktor(frames: int | None = None) -> dict:
    """The round-arena video against idtracker's centroid track."""
    from ethoflow.io.video import open_recording
    from ethoflow.vision.openfield import track_frames

    start = time.perf_counter()
    track = track_frames(open_recording(REAL / "tracktor_mouse_video.mp4"), limit=frames)
    seconds = time.perf_counter() - start
    reference = pd.read_csv(REAL / "tracktor_mouse_video.idtracker_track.txt", sep="\t")
    n = min(len(track), len(reference))
    ref = reference.iloc[:n]
    distance = np.hypot(track.x[:n].to_numpy() - ref.X1, track.y[:n].to_numpy() - ref.Y1)
    both = ref.X1.notna().to_numpy() & track.found[:n].to_numpy()
    return {
        "dataset": "tracktor_mouse_video",
        "frames": len(track),
        "found": round(float(track.found.mean()), 4),
        "median_px_vs_idtracker": round(float(np.median(distance[both])), 2),
        "within_10px": round(float((distance[both] <= 10).mean()), 4),
        "frames_per_s": round(len(track) / seconds, 1),
    }


def found_share(name: str, pictures: Path | None) -> dict:
    """Share of frames with a mouse; with ``pictures``, the middle frame with the detection."""
    from ethoflow.evaluation.plots import draw_detection
    from ethoflow.io.video import open_recording
    from ethoflow.vision.openfield import track_frames

    source = open_recording(REAL / name)
    track = track_frames(source)
    if pictures is not None:
        middle = len(track) // 2
        frame = next(f for i, f in enumerate(source) if i == middle)
        picture = draw_detection(frame, track.iloc[middle], scale=640 / frame.shape[1])
        pictures.mkdir(parents=True, exist_ok=True)
        target = pictures / f"tracked_{Path(name).stem}.jpg"
        cv2.imwrite(str(target), picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return {"dataset": name, "frames": len(track), "found": round(float(track.found.mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracktor-frames", type=int, default=None)
    parser.add_argument("--pictures", type=Path, help="write tracked frames here (e.g. docs/)")
    args = parser.parse_args()
    print(json.dumps(openfield()), flush=True)
    print(json.dumps(tracktor(args.tracktor_frames)), flush=True)
    for name in ("sleap_minimal_top.mp4", "amadeusgpt_maushaus.mp4"):
        print(json.dumps(found_share(name, args.pictures)), flush=True)


if __name__ == "__main__":
    main()
