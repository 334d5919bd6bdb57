"""Condition-aware train / test / validation split of recordings.

Every recording condition must be judged on a recording the models never trained on, so validation
holds at least one video of every condition; and a behaviour can only be measured on a video that
shows it, so that video is one with positives of every behaviour when the condition has one (else
of as many behaviours as any); and a condition is only judged fairly on a fully labelled video, so
partially labelled ones (review answers: the answered stretches known, the rest unknown) come after
the fully labelled ones. Per condition, ordered by fully labelled first, behaviours covered, then
length:

- one video: validation (the condition is evaluated but not trained on);
- two videos: the first to validation, the other to training;
- the majority condition (most videos; ties: most frames), when it has four or more: one of the
  videos covering the most behaviours, drawn with the seed, to validation; the rest shuffled and
  split ``1 - test_fraction`` / ``test_fraction`` into training / test (at least one each);
- any other condition with three or more: the first to validation, the second to test, the rest
  to training.

Models learn only from training, so when that would leave training without a behaviour's positives
(a small lab where only one video per condition shows it), lengths alone decide the order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "test", "validation")


def split_recordings(
    recordings: pd.DataFrame,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
    behaviours: tuple[str, ...] = (),
) -> pd.Series:
    """Return the split of each recording, indexed by ``video_id``.

    ``recordings`` has columns ``video_id``, ``condition`` and ``frames`` (labelled frames, after
    fps standardisation: unknown frames teach and measure nothing), optionally ``partial``
    (True for a recording with unknown frames: never validation while its condition has a fully
    labelled one), and per name in ``behaviours`` a column of its labelled positive frames.
    Deterministic for a given seed and set of recordings, whatever their order.
    """
    missing = {"video_id", "condition", "frames"} - set(recordings.columns)
    if missing:
        raise ValueError(f"recordings lack column(s) {sorted(missing)}")
    if recordings.video_id.duplicated().any():
        duplicated = recordings.video_id[recordings.video_id.duplicated()].tolist()
        raise ValueError(f"video ids must be unique; repeated: {duplicated}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")

    missing = set(behaviours) - set(recordings.columns)
    if missing:
        raise ValueError(f"recordings lack behaviour column(s) {sorted(missing)}")
    covered = (recordings[list(behaviours)] > 0).sum(axis=1) if behaviours else 0
    partial = recordings["partial"].astype(bool) if "partial" in recordings else False
    recordings = recordings.assign(_partial=partial)
    split = _split(recordings.assign(_uncovered=-covered), test_fraction, seed)
    if behaviours:
        # Models learn only from training: when measuring every condition would leave training
        # without a behaviour (a small lab), lengths alone decide, as without behaviours.
        training = recordings[split.to_numpy() == "train"]
        if not (training[list(behaviours)] > 0).any().all():
            return _split(recordings.assign(_uncovered=0), test_fraction, seed)
    return split


def _split(recordings: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    ordered = recordings.sort_values(["condition", "_partial", "_uncovered", "frames", "video_id"])
    sizes = ordered.groupby("condition").agg(videos=("video_id", "size"), frames=("frames", "sum"))
    majority = (
        sizes.sort_values(["videos", "frames"], ascending=False).index[0] if len(sizes) else None
    )

    split: dict[str, str] = {}
    for condition, group in ordered.groupby("condition", sort=True):
        ids = group.video_id.tolist()
        if len(ids) == 1:
            split[ids[0]] = "validation"
        elif len(ids) == 2:
            split.update({ids[0]: "validation", ids[1]: "train"})
        elif condition == majority and len(ids) >= 4:
            rng = np.random.default_rng([seed, len(ids)])
            shuffled = [ids[i] for i in rng.permutation(len(ids))]
            ranks = zip(group._partial, group._uncovered, strict=True)
            rank = dict(zip(group.video_id, ranks, strict=True))
            chosen = next(v for v in shuffled if rank[v] == min(rank.values()))
            rest = [v for v in shuffled if v != chosen]
            n_test = min(max(1, round(test_fraction * len(rest))), len(rest) - 1)
            split[chosen] = "validation"
            split.update({v: "test" for v in rest[:n_test]})
            split.update({v: "train" for v in rest[n_test:]})
        else:
            split.update({ids[0]: "validation", ids[1]: "test"})
            split.update({v: "train" for v in ids[2:]})
    return pd.Series(split, name="split").reindex(recordings.video_id.tolist())
