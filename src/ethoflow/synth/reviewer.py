"""A simulated reviewer: answers the review queue from the synthetic lab's ground truth, exactly
as a person answers it in the web UI (one yes or no per stretch, for the whole stretch), and the
baseline it is measured against, stretches of the same lengths chosen at random."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ethoflow.labelling.review_queue import QUEUE_COLUMNS, Answer

REVIEWER = "simulated"


@dataclass(frozen=True)
class Truth:
    """One recording's true per-frame labels (``grooming``, ``rearing``, 0/1) at its ``fps``."""

    labels: pd.DataFrame
    fps: float

    @property
    def seconds(self) -> float:
        return len(self.labels) / self.fps


def answer_queue(
    queue: pd.DataFrame, truth: dict[str, Truth], minutes: float, reviewer: str = REVIEWER
) -> list[Answer]:
    """Answer ``queue`` (:data:`~ethoflow.labelling.review_queue.QUEUE_COLUMNS`, in its order)
    until ``minutes`` of video are reviewed: per stretch, yes (1) when most of its true frames show
    the head's behaviour, else no (0). The queue is answered in order and stops at the first
    stretch that no longer fits in what is left of the budget, as a person with the time left
    would."""
    answers: list[Answer] = []
    left = minutes * 60
    for row in queue.to_dict("records"):
        video, head, start, end = row["video"], row["head"], row["start_s"], row["end_s"]
        seconds = end - start
        if seconds > left:
            break
        recording = truth[video]
        frames = recording.labels[head].iloc[
            math.floor(start * recording.fps) : math.ceil(end * recording.fps)
        ]
        value = int(frames.astype(float).mean() >= 0.5) if len(frames) else 0
        answers.append(Answer(video, head, start, end, value, reviewer))
        left -= seconds
    return answers


def random_queue(
    queue: pd.DataFrame, truth: dict[str, Truth], seed: int, minutes: float
) -> pd.DataFrame:
    """The baseline's queue, ``minutes`` of video long: stretches of the lengths of ``queue``'s,
    in order (from its first again when they run out), each at a random place (a random recording
    of ``truth``, weighted by length, a random head, a random start within the recording) drawn
    with ``seed``."""
    rng = np.random.default_rng(seed)
    videos = sorted(truth)
    lengths = np.array([truth[v].seconds for v in videos])
    heads = sorted(set(queue["head"])) or ["grooming"]
    wanted = (queue.end_s - queue.start_s).to_numpy(float)
    if not (wanted > 0).any():
        raise ValueError("the queue has no stretch to take the lengths of")
    rows: list[tuple] = []
    left = minutes * 60
    while left > 0:
        video = videos[rng.choice(len(videos), p=lengths / lengths.sum())]
        seconds = min(float(wanted[len(rows) % len(wanted)]), truth[video].seconds)
        start = round(float(rng.uniform(0, truth[video].seconds - seconds)), 2)
        head = heads[rng.integers(len(heads))]
        rows.append((video, head, start, round(start + seconds, 2), -1, math.nan, "random"))
        left -= seconds
    return pd.DataFrame(rows, columns=list(QUEUE_COLUMNS))
