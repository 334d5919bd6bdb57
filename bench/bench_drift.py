"""Set-up drift on the synthetic lab and real clips: where the default limits in params.yaml
(``drift:``) come from.

Profiles the lab's four trained set-ups (``--videos`` recordings each), then scores new
recordings of them (another seed), of the held-out condition_4, and the real clips in
``tests/data/real`` against it. Prints one line per recording and the largest camera ratio, look
ratio and feature distance per group. Writes the lab under ``--out`` (reused when present).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ethoflow.config import Settings
from ethoflow.features.drift import DriftLimits, recording_profile, score_recording
from ethoflow.features.featurization import Featurization
from ethoflow.synth.conditions import CONDITIONS, HELD_OUT_CONDITION
from ethoflow.synth.lab import synthesize_lab

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ethoflow-drift-lab"))
    parser.add_argument("--videos", type=int, default=4, help="training recordings per set-up")
    parser.add_argument("--minutes", type=float, default=0.4)
    args = parser.parse_args()
    settings = Settings()
    featurization = Featurization.from_settings(settings)
    trained, new = args.out / "trained", args.out / "new"
    if not trained.is_dir():
        synthesize_lab(
            trained,
            args.out / "truth",
            videos_per_condition=args.videos,
            minutes=args.minutes,
            seed=42,
            conditions=CONDITIONS,
        )
        synthesize_lab(
            new,
            args.out / "truth-new",
            videos_per_condition=3,
            minutes=args.minutes,
            seed=7,
            conditions=(*CONDITIONS, HELD_OUT_CONDITION),
        )
    # Labels do not enter the score: the profile's behaviour counts are left empty.
    no_labels = pd.DataFrame()
    recordings = []
    for video in sorted(trained.rglob("*.mp4")):
        result = featurization.featurize_video(video, None)
        recordings.append(
            recording_profile(
                video.stem,
                video.parent.name,
                result.setup,
                result.features,
                split="train",
                labels=no_labels,
            )
        )
    profile = {
        "feature_count": len(recordings[0]["features"]["mean"]),
        "recordings": recordings,
    }
    limits = DriftLimits.from_settings(settings)
    rows = []
    videos = [(v.parent.name, v) for v in sorted(new.rglob("*.mp4"))]
    videos += [("real", v) for v in sorted(REAL.glob("*.mp4"))]
    for group, video in videos:
        result = featurization.featurize_video(video, None)
        drift = score_recording(result.setup, result.features, profile, limits)
        group = "held out" if group == HELD_OUT_CONDITION.name else group
        group = group if group in ("held out", "real") else "trained set-up"
        rows.append(
            {
                "group": group,
                "video": video.stem,
                "flagged": drift.flagged,
                "camera_ratio": drift.camera_ratio,
                "nearest": drift.nearest_setup,
                "look_ratio": drift.look_ratio,
                "feature_sigma": drift.feature_sigma,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(
        table.groupby("group")[["camera_ratio", "look_ratio", "feature_sigma"]].agg(["min", "max"])
    )
    print(table.groupby("group").flagged.mean().rename("share flagged"))


if __name__ == "__main__":
    main()
