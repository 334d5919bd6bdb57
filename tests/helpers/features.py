"""Tiny synthetic features as ingest writes them (the behaviour under noise), and a search space
small enough to train in seconds."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.config import SearchSpace
from ethoflow.features.drift import SETUP_MEASURES

N_FEATURES = 12
SPACE = SearchSpace(
    window=[16],
    batch_size=[8],
    layers=(1, 2),
    units=(8, 16),
    dropout=(0.0, 0.2),
    learning_rate=(3e-3, 1e-2),
    kernel_size=[2, 3],
    dilation_depth=(2, 3),
    stacks=(1, 1),
    heads=[2],
)


def _bouts(rng: np.random.Generator, n: int, rate: float, length: tuple[int, int]) -> np.ndarray:
    labels = np.zeros(n, np.int8)
    t = int(rng.integers(5, 20))
    while t < n:
        size = int(rng.integers(*length))
        labels[t : t + size] = 1
        t += size + int(rng.exponential(size / rate))
    return labels


def write_features(root: Path, seed: int = 0) -> Path:
    """A tiny ingest output: features that carry the behaviour under noise, and a manifest."""
    rng = np.random.default_rng(seed)
    videos = root / "videos"
    videos.mkdir(parents=True)
    rows = []
    plan = [
        ("train", "c1"),
        ("train", "c2"),
        ("train", "c3"),
        ("test", "c1"),
        ("test", "c2"),
        ("validation", "c1"),
        ("validation", "c2"),
        ("validation", "c3"),
    ]
    for index, (split, condition) in enumerate(plan):
        n = int(rng.integers(150, 220))
        grooming = _bouts(rng, n, 0.15, (15, 30))
        rearing = _bouts(rng, n, 0.25, (4, 9)) * (1 - grooming)
        signal = np.zeros((n, N_FEATURES), np.float32)
        signal[:, :3] += grooming[:, None] * 1.2
        signal[:, 3:6] += rearing[:, None] * 1.2
        features = signal + rng.normal(0, 1.0, size=signal.shape).astype(np.float32)
        video_id = f"{condition}_v{index}"
        np.save(videos / f"{video_id}.npy", features)
        pd.DataFrame(
            {
                "frame": np.arange(n),
                "time_s": np.arange(n) / 10,
                "x": 0.0,
                "y": 0.0,
                "grooming": grooming,
                "rearing": rearing,
            }
        ).to_csv(videos / f"{video_id}.csv", index=False)
        # The ingest record's set-up numbers, which the train flow profiles for drift alerts.
        camera = {"c1": 320.0, "c2": 480.0, "c3": 384.0}[condition]
        setup = {measure: camera for measure in SETUP_MEASURES} | {"fps": 10.0}
        (videos / f"{video_id}.json").write_text(json.dumps({"video_id": video_id, "setup": setup}))
        rows.append(
            {
                "video_id": video_id,
                "source_video": video_id,
                "condition": condition,
                "split": split,
                "frames": n,
                "features": f"{video_id}.npy",
                "labels": f"{video_id}.csv",
                "augmented": False,
            }
        )
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    (root / "summary.json").write_text(json.dumps({"featurization": "tiny-test-features"}))
    return root
