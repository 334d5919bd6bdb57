"""How well the demo's champions label a camera set-up they were not trained on: the new set-up
(``ethoflow.synth.conditions.NEW_SETUP``) next to the demo's held-out set-up (condition_4).

Run after ``make demo``, in the same folder (it uses the champions in ``mlflow/`` and the
settings of ``params.yaml``)::

    .venv/bin/python bench/bench_new_setup.py --videos 6

Per set-up it draws ``--videos`` recordings of the demo inbox's length (``synth.minutes``, seed
``seed + 1000``: none is a lab or inbox recording) into a temporary folder, labels each with the
champions as the label flow does (:func:`ethoflow.labelling.recording.label_video`) and scores the
labels against the truth per behaviour, frames of all recordings pooled: *raw* (probability at or
above the champion's threshold) and *post-processed* (hysteresis, median, shortest bout: what
``labels.csv`` says, the demo's agreement table), and the worst recording's post-processed F1.
The tracker's verdict per recording says whether tracking held, and the drift alert whether the
recording was seen as unlike the training set-ups. Results go to
``bench/results/new_setup.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import git_commit, machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SEED_OFFSET = 1000  # recordings apart from the lab's (seed) and the demo inbox's


def score_setup(settings, condition, heads, folder: Path, videos: int) -> tuple[list, list]:
    """Draw, label and score ``videos`` recordings of ``condition``: (per-head rows, per-video
    track rows)."""
    from ethoflow.evaluation.metrics import binary_metrics
    from ethoflow.features.featurization import Featurization
    from ethoflow.labelling.recording import LabelSettings, label_video
    from ethoflow.synth.lab import synthesize_lab
    from ethoflow.synth.recording import truth_labels

    raw, truth_dir, outbox = folder / "raw", folder / "truth", folder / "outbox"
    inventory = synthesize_lab(
        raw,
        truth_dir,
        videos_per_condition=videos,
        minutes=settings.synth.minutes,
        seed=settings.seed + SEED_OFFSET,
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=(condition,),
        workers=settings.synth.workers,
    )
    featurization = Featurization.from_settings(settings)
    label_settings = LabelSettings.from_settings(settings)
    extractor = featurization.build_extractor()
    merged, tracks = [], []
    for row in inventory.itertuples():
        video = raw / condition.name / f"{row.video_id}.mp4"
        outcome = label_video(
            video,
            outbox,
            heads=heads,
            featurization=featurization,
            extractor=extractor,
            label_settings=label_settings,
        )
        if outcome.status != "labelled":
            tracks.append({"video_id": row.video_id, "verdict": outcome.status})
            continue
        summary = json.loads((outbox / row.video_id / "summary.json").read_text())
        quality = summary["track_quality"]
        tracks.append(
            {
                "video_id": row.video_id,
                "polarity": row.polarity,
                "verdict": quality["verdict"],
                "found_share": quality["found_share"],
                "body_length_px": quality["body_length_px"],
                "warnings": quality["warnings"],
                "drift_flagged": summary["drift"]["flagged"] if summary.get("drift") else None,
            }
        )
        labels = pd.read_csv(outbox / row.video_id / "labels.csv")
        truth = truth_labels(pd.read_csv(truth_dir / f"{row.video_id}.csv"))
        both = labels.merge(truth, on="frame", suffixes=("", "_truth"), validate="one_to_one")
        merged.append(both.assign(video_id=row.video_id))
    frames = pd.concat(merged, ignore_index=True)
    rows = []
    for head in heads.values():
        truth, scores = frames[f"{head.head}_truth"], frames[f"{head.head}_probability"]
        raw_labels = (scores >= head.threshold).astype(np.int8)
        raw_m = binary_metrics(truth.to_numpy(), scores.to_numpy(), raw_labels.to_numpy())
        post_m = binary_metrics(truth.to_numpy(), scores.to_numpy(), frames[head.head].to_numpy())
        per_video = [
            binary_metrics(v[f"{head.head}_truth"], v[f"{head.head}_probability"], v[head.head]).f1
            for _, v in frames.groupby("video_id")
        ]
        rows.append(
            {
                "setup": condition.name,
                "behaviour": head.head,
                "frames": post_m.n_frames,
                "positive": post_m.n_positive,
                "raw_precision": raw_m.precision,
                "raw_recall": raw_m.recall,
                "raw_f1": raw_m.f1,
                "precision": post_m.precision,
                "recall": post_m.recall,
                "f1": post_m.f1,
                "pr_auc": post_m.pr_auc,
                "worst_video_f1": min(per_video),
            }
        )
    return rows, tracks


def markdown(result: dict) -> str:
    """The results page: when, where, the set-up and the table."""
    table = pd.DataFrame(result["results"])
    lines = [
        "# The demo's champions on a new camera set-up",
        "",
        f"`{result['command']}` on {result['date']}, commit {result['commit']}, "
        f"{result['machine']['cpu']} ({result['machine']['cores']} cores), "
        f"{result['runtime_s'] / 60:.1f} min. Champions: "
        + ", ".join(f"{h} version {v['version']}" for h, v in result["champions"].items())
        + f"; {result['videos']} recordings of {result['minutes']:g} min per set-up.",
        "",
        f"New set-up `{result['new_setup']['name']}`: "
        + ", ".join(f"{k}={v}" for k, v in result["new_setup"].items() if k != "name"),
        "",
        "Frames of all recordings pooled; *raw*: probability ≥ the champion's threshold; "
        "otherwise post-processed (the labels the label flow writes).",
        "",
        "| set-up | behaviour | frames (positive) | raw P / R / F1 | P / R / F1 | PR-AUC | "
        "worst recording F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.setup} | {r.behaviour} | {r.frames} ({r.positive}) | "
            f"{r.raw_precision:.2f} / {r.raw_recall:.2f} / {r.raw_f1:.2f} | "
            f"{r.precision:.2f} / {r.recall:.2f} / **{r.f1:.2f}** | {r.pr_auc:.2f} | "
            f"{r.worst_video_f1:.2f} |"
        )
    lines += [
        "",
        "Per recording: the tracker's verdict, the share of frames the mouse was found in, and "
        "whether the drift alert flagged it as unlike the champions' training set-ups:",
        "",
    ]
    for setup, tracks in result["tracks"].items():
        shown = ", ".join(
            f"{t['video_id']} {t['verdict']} {t.get('found_share', 0):.3f}"
            + (" drift" if t.get("drift_flagged") else "")
            for t in tracks
        )
        lines.append(f"- {setup}: {shown}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--videos", type=int, default=6, help="recordings per set-up")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from dataclasses import asdict

    from ethoflow.config import load_settings
    from ethoflow.mlops.champions import champions_for_labelling
    from ethoflow.synth.conditions import HELD_OUT_CONDITION, NEW_SETUP

    started = time.perf_counter()
    host = machine()
    settings = load_settings(args.params)
    heads = champions_for_labelling(settings)
    rows, tracks = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_new_setup_") as work:
        for condition in (NEW_SETUP, HELD_OUT_CONDITION):
            print(f"{condition.name}: drawing and labelling {args.videos} recordings", flush=True)
            setup_rows, tracks[condition.name] = score_setup(
                settings, condition, heads, Path(work) / condition.name, args.videos
            )
            rows += setup_rows
    commit = git_commit(ROOT)
    defaults = asdict(HELD_OUT_CONDITION)
    result = {
        "benchmark": "the demo's champions on a new camera set-up",
        "command": " ".join(["python", "bench/bench_new_setup.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": host,
        "runtime_s": round(time.perf_counter() - started, 1),
        "videos": args.videos,
        "minutes": settings.synth.minutes,
        "champions": {
            h.head: {"version": h.version, "threshold": h.threshold} for h in heads.values()
        },
        # The new set-up's fields that differ from condition_4's, the demo's held-out one.
        "new_setup": {"name": NEW_SETUP.name}
        | {k: v for k, v in asdict(NEW_SETUP).items() if k != "name" and v != defaults[k]},
        "results": rows,
        "tracks": tracks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "new_setup.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / "new_setup.md").write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
