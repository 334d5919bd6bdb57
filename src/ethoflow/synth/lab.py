"""The synthetic lab: recordings of every set-up drawn in parallel, and their inventory."""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.atomic import write_csv
from ethoflow.synth.conditions import CONDITIONS, Condition, Polarity, condition_number
from ethoflow.synth.recording import write_recording


def _write_one(job: dict) -> int:
    """:func:`write_recording` of one of :func:`synthesize_lab`'s jobs (in a worker process)."""
    return write_recording(**job)


def _one_thread() -> None:
    # A worker per core already: OpenCV's own threads would only compete with the other workers.
    cv2.setNumThreads(1)


def synthesize_lab(
    raw_dir: str | Path,
    truth_dir: str | Path,
    *,
    videos_per_condition: int,
    minutes: float,
    seed: int,
    light_mouse_fraction: float = 0.25,
    conditions: tuple[Condition, ...] = CONDITIONS,
    workers: int = 1,
) -> pd.DataFrame:
    """Write ``videos_per_condition`` recordings per condition; return the lab's inventory.

    Layout: ``raw_dir/<condition>/<video_id>.mp4`` and ``.csv`` (labels),
    ``truth_dir/<video_id>.csv`` (centres, behaviour) and ``truth_dir/lab.csv`` (inventory).
    Lengths vary ±30 % around ``minutes`` so recordings are not all alike. Video ids are
    ``c<condition number>_v<index>``. ``workers`` processes draw recordings at once; each
    recording depends only on its own seed, so the bytes are the same with any number.
    """
    if videos_per_condition < 1:
        raise ValueError(f"videos_per_condition must be at least 1, got {videos_per_condition}")
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    rows: list[dict[str, object]] = []
    jobs: list[dict[str, Any]] = []
    for condition in conditions:
        c_index = condition_number(condition)
        for v_index in range(videos_per_condition):
            rng = np.random.default_rng([seed, c_index, v_index])
            video_seed = int(rng.integers(2**31))
            polarity: Polarity = (
                "light_on_dark" if rng.random() < light_mouse_fraction else "dark_on_light"
            )
            # Drawn all the same, so the lengths that follow stay those of the lab's streams.
            polarity = condition.polarity or polarity
            seconds = 60 * minutes * float(rng.uniform(0.7, 1.3))
            video_id = f"c{c_index}_v{v_index:02d}"
            jobs.append(
                {
                    "video_path": raw_dir / condition.name / f"{video_id}.mp4",
                    "label_path": raw_dir / condition.name / f"{video_id}.csv",
                    "truth_path": truth_dir / f"{video_id}.csv",
                    "condition": condition,
                    "seconds": seconds,
                    "seed": video_seed,
                    "polarity": polarity,
                }
            )
            rows.append(
                {
                    "video_id": video_id,
                    "condition": condition.name,
                    "fps": condition.fps,
                    "polarity": polarity,
                    "seed": video_seed,
                }
            )
    workers = min(workers, len(jobs))
    if workers == 1:
        frames = [_write_one(job) for job in jobs]
    else:
        # Spawned, not forked: the caller may be running TensorFlow's threads. The longest
        # recordings (most pixels to draw) go first, so no worker is left with one at the end.
        order = sorted(
            range(len(jobs)),
            key=lambda i: (
                -jobs[i]["seconds"]
                * jobs[i]["condition"].fps
                * math.prod(jobs[i]["condition"].frame_size)
            ),
        )
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            futures = {i: pool.submit(_write_one, jobs[i]) for i in order}
            frames = [futures[i].result() for i in range(len(jobs))]
    for row, count in zip(rows, frames, strict=True):
        row["frames"] = count
    inventory = pd.DataFrame(rows)[["video_id", "condition", "fps", "frames", "polarity", "seed"]]
    write_csv(inventory, truth_dir / "lab.csv")
    return inventory
