"""Benchmark training cost on CPU: seconds per epoch and per Optuna trial for each architecture.

It builds a synthetic split in memory (the demo lab's sizes: 6 training recordings plus 6
augmented copies, 3 test videos, 512 features, grooming in bouts of 50-150 frames on ~10 % of
frames), then runs ``train_head`` at a default-size hyper-parameter set for each architecture and
times every epoch. The first epoch also covers windowing, model building and graph tracing, so it
is reported apart from the steady epochs (their median); a 20-epoch trial is extrapolated as
``first + 19 x steady`` (an upper bound: early stopping may end a trial sooner, and Optuna and
MLflow bookkeeping is not included).

    .venv/bin/python bench/bench_train.py --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from ethoflow.models import NAMES
from ethoflow.training.fit import Split

HP: dict[str, Any] = {
    "window": 64,
    "batch_size": 32,
    "layers": 2,
    "units": 64,
    "dropout": 0.2,
    "learning_rate": 1e-3,
    "kernel_size": 3,
    "dilation_depth": 4,
    "stacks": 1,
    "causal": False,
    "heads": 4,
}
N_FEATURES = 512
STRIDE_FRACTION = 0.5


def _grooming(frames: int, rng: np.random.Generator) -> np.ndarray:
    """0/1 labels: bouts of 50-150 frames separated by gaps of 300-1500 (~10 % positive)."""
    labels = np.zeros(frames, np.float32)
    position = int(rng.integers(0, 600))
    while position < frames:
        bout = int(rng.integers(50, 151))
        labels[position : position + bout] = 1.0
        position += bout + int(rng.integers(300, 1501))
    return labels


def _videos(
    frames: int, n_videos: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[pd.DataFrame]]:
    """``n_videos`` videos of ~``frames / n_videos`` frames: noise plus a weak grooming shift."""
    grooming = np.array_split(_grooming(frames, rng), n_videos)
    shift = np.zeros(N_FEATURES, np.float32)
    shift[rng.choice(N_FEATURES, 64, replace=False)] = 0.5
    features, labels = [], []
    for target in grooming:
        n = len(target)
        noise = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
        features.append(noise + target[:, None] * shift)
        labels.append(
            pd.DataFrame(
                {
                    "frame": np.arange(n),
                    "time_s": np.arange(n) / 10.0,
                    "x": np.zeros(n),
                    "y": np.zeros(n),
                    "grooming": target.astype(np.int64),
                    "rearing": np.zeros(n, np.int64),
                }
            )
        )
    return features, labels


def synthetic_splits(train_frames: int, test_frames: int, seed: int = 0) -> tuple[Split, Split]:
    """Training: 6 recordings + 6 augmented copies (gain 0.75-1.25); test: 3 recordings."""
    rng = np.random.default_rng(seed)
    features, labels = _videos(train_frames // 2, 6, rng)
    copies = [(f * rng.uniform(0.75, 1.25)).astype(np.float32) for f in features]
    train = Split(
        video_ids=[f"train{i}" for i in range(6)] + [f"train{i}_aug" for i in range(6)],
        conditions=["bench"] * 12,
        features=features + copies,
        labels=labels + [table.copy() for table in labels],
    )
    features, labels = _videos(test_frames, 3, rng)
    test = Split([f"test{i}" for i in range(3)], ["bench"] * 3, features, labels)
    return train, test


def measure(architecture: str, train: Split, test: Split, epochs: int) -> dict[str, Any]:
    """Train ``epochs`` epochs (no early stop); return per-epoch and extrapolated timings."""
    import ethoflow.training.fit as fit
    from ethoflow.models.windows import make_windows

    window = int(HP["window"])
    stride = max(1, round(window * STRIDE_FRACTION))
    n_windows = len(make_windows(train.features, window=window, stride=stride).start)
    ticks: list[float] = []
    start = time.perf_counter()
    _, best_pr_auc, best_epoch = fit.train_head(
        architecture,
        HP,
        train,
        test,
        "grooming",
        fit.Budget(max_epochs=epochs, patience=epochs, stride_fraction=STRIDE_FRACTION, seed=0),
        on_epoch=lambda epoch, metrics: ticks.append(time.perf_counter()),
    )
    total = time.perf_counter() - start
    epoch_s = np.diff([start, *ticks])
    first, steady = float(epoch_s[0]), statistics.median(epoch_s[1:].tolist())
    return {
        "architecture": architecture,
        "windows_per_epoch": n_windows,
        "epochs": len(ticks),
        "first_epoch_s": round(first, 2),
        "steady_epoch_s": round(steady, 2),
        "total_s": round(total, 1),
        "trial_20_epochs_s": round(first + 19 * steady, 1),
        "best_pr_auc": round(best_pr_auc, 3),
        "best_epoch": best_epoch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-frames", type=int, default=7000)
    parser.add_argument("--test-frames", type=int, default=1800)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--architectures", nargs="+", choices=NAMES, default=list(NAMES))
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is reported apart)")

    import keras

    keras.ops.convert_to_tensor(np.zeros(1))  # start TensorFlow before any timing
    train, test = synthetic_splits(args.train_frames, args.test_frames)
    targets = np.concatenate(train.targets("grooming"))
    print(
        json.dumps(
            {
                "hp": HP,
                "train_videos": len(train.features),
                "train_frames": int(targets.size),
                "train_grooming": round(float(targets.mean()), 3),
                "test_frames": sum(len(f) for f in test.features),
                "features": N_FEATURES,
                "load_before": os.getloadavg(),
            }
        ),
        flush=True,
    )
    rows = []
    for architecture in args.architectures:
        rows.append(measure(architecture, train, test, args.epochs))
        print(json.dumps(rows[-1]), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "\n| architecture | windows/epoch | first epoch | steady epoch (with test scoring) "
        f"| {args.epochs} epochs | trial at 20 epochs ≈ |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['architecture']} | {r['windows_per_epoch']} | {r['first_epoch_s']} s "
            f"| {r['steady_epoch_s']} s | {r['total_s']} s "
            f"| {r['trial_20_epochs_s']} s |"
        )


if __name__ == "__main__":
    main()
