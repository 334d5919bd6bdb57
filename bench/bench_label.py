"""Benchmark end-to-end labelling against the bare feature extractor, per CNN backend, on CPU.

For each recording length and each case (backend and heads) it labels one synthetic recording with
``ethoflow.labelling.recording.label_video`` in a fresh subprocess (decode → fps → track → crop →
ResNet50
cut + posture + motion → two default-sized TCN heads → CSV, summary, ethogram) and, in the same
process, times the bare extractor on crops of that recording held in memory (before and after the
labelling, averaged, so a change in machine load hits both). The ratio end-to-end ÷ bare says how
much of the network's speed the pipeline keeps. Building the extractor and models, and tracing the
heads' graphs, is timed apart as set-up, paid once per process however many recordings a nightly
run labels (OpenVINO's conversion is cached on disk after the first case). A last case per length
labels with the default features (no CNN).

The two heads (TCNs) are trained first, in this process, on two other recordings of the same
set-up (the second validates), once per featurisation: Keras (FP32), OpenVINO BF16 and the
default features. OpenVINO FP32 and BF16 label with Keras' heads, so the share of frames whose
labels equal Keras' and the PR-AUC against the recording's labels say what the runtime alone
changes; "openvino-bf16-own-heads" labels with heads trained on BF16 features, as a lab switching
to BF16 would (its own featurisation id, its own champions): its test and validation PR-AUC
against Keras' are the change BF16 makes.

    .venv/bin/python bench/bench_label.py --minutes 1 10

Results go to ``bench/results/label.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import machine, measure_in_child, peak_rss_mb, write_bench_recording

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# features settings per featurisation; "none" is the default featurisation, without the CNN.
FEATURES = {
    "keras": {"cnn": True, "backend": "keras", "precision": "fp32"},
    "openvino": {"cnn": True, "backend": "openvino", "precision": "fp32"},
    "openvino-bf16": {"cnn": True, "backend": "openvino", "precision": "bf16"},
    "none": {"cnn": False},
}
# case → (features, the featurisation its heads were trained on). FP32 OpenVINO and BF16 label
# with Keras' heads (what changes if only the runtime changes); BF16 features have their own id,
# so in production they get heads trained on them: the last CNN case.
CASES = {
    "keras": ("keras", "keras"),
    "openvino": ("openvino", "keras"),
    "openvino-bf16": ("openvino-bf16", "keras"),
    "openvino-bf16-own-heads": ("openvino-bf16", "openvino-bf16"),
    "none": ("none", "none"),
}
HEADS = ("grooming", "rearing")
TRAINING_MINUTES = 2.0  # each of the two recordings the heads are trained on
BARE_CROPS = 480  # crops the bare extractor is timed on, each time
HP = {
    "window": 64,
    "units": 64,
    "dropout": 0.2,
    "kernel_size": 3,
    "dilation_depth": 5,
    "stacks": 1,
    "causal": False,
    "layers": 1,
    "batch_size": 16,
    "learning_rate": 1e-3,
}


def _crops_of(video: Path, featurization, n: int):
    """The first ``n`` crops the pipeline would make of ``video``, in memory."""
    from ethoflow.io.video import VideoReader
    from ethoflow.vision.crop import crop_around
    from ethoflow.vision.fps import standardize_fps
    from ethoflow.vision.track import MouseTracker

    reader = VideoReader(video)
    tracker = MouseTracker.for_recording(reader)
    crops = []
    for _, frame in standardize_fps(reader, reader.fps, featurization.target_fps):
        tracker(frame)
        crops.append(
            crop_around(frame, tracker.crop_position(frame.shape), featurization.crop_size)
        )
        if len(crops) == n:
            break
    return np.stack(crops)


def _bare_fps(crops, extractor, batch_size: int) -> float:
    from ethoflow.features.cnn import extract_features

    start = time.perf_counter()
    for _ in extract_features(iter(crops), extractor, batch_size=batch_size):
        pass
    return len(crops) / (time.perf_counter() - start)


def _featurization(workdir: Path, features: str):
    from ethoflow.config import Settings
    from ethoflow.features.featurization import Featurization

    settings = Settings.model_validate(
        {"paths": {"runs": str(workdir / "runs")}, "features": FEATURES[features]}
    )
    return settings, Featurization.from_settings(settings)


def _heads_dir(workdir: Path, features: str) -> Path:
    return workdir / "heads" / features


def train_heads(workdir: Path, condition: str, minutes: float, cases: list[str]) -> None:
    """Train and save each head on two recordings (seeds 2 and 3; the second validates) for every
    featurisation the ``cases`` label with; their validation PR-AUC goes to validation.json."""
    from ethoflow.io.labels import read_labels
    from ethoflow.training.fit import Budget, Split, train_head

    recordings = [
        write_bench_recording(workdir / f"train{seed}", minutes, condition, seed) for seed in (2, 3)
    ]
    for features in dict.fromkeys(CASES[case][1] for case in cases):
        settings, featurization = _featurization(workdir, features)
        extractor = featurization.build_extractor()
        splits = []
        for video, labels in recordings:
            result = featurization.featurize_video(video, extractor)
            table = read_labels(labels).iloc[result.track.frame.to_numpy()]
            splits.append(Split([video.stem], [condition], [result.features], [table]))
        folder = _heads_dir(workdir, features)
        folder.mkdir(parents=True, exist_ok=True)
        validation = {}
        for head in HEADS:
            budget = Budget(max_epochs=15, patience=4, stride_fraction=0.5, seed=settings.seed)
            model, validation[head], _ = train_head("tcn", HP, splits[0], splits[1], head, budget)
            model.save(folder / f"{head}.keras")
        (folder / "validation.json").write_text(json.dumps(validation))


def _measure(video: Path, workdir: Path, case: str) -> dict:
    """Run in a subprocess: bare extractor, then labelling, then bare again."""
    from ethoflow.labelling.recording import (
        SUMMARY_FILE,
        HeadModel,
        LabelSettings,
        label_video,
    )
    from ethoflow.models import load_model
    from ethoflow.models.prediction import predict_frames

    features, heads_features = CASES[case]
    settings, featurization = _featurization(workdir, features)
    setup_start = time.perf_counter()
    extractor = featurization.build_extractor()
    n_features = featurization.feature_count(extractor)
    heads = {
        head: HeadModel(
            head,
            model_name=f"ethoflow-{head}",
            version="bench",
            model=load_model(_heads_dir(workdir, heads_features) / f"{head}.keras"),
            threshold=0.5,
            window=HP["window"],
            featurization=featurization.id,
        )
        for head in HEADS
    }
    sample = np.zeros((HP["window"], n_features), np.float32)
    for head in heads.values():  # the graph each head traces once per process, as in a nightly run
        predict_frames(head.model, [sample], head.window)
    setup_seconds = time.perf_counter() - setup_start

    bare = []
    if extractor is not None:
        crops = _crops_of(video, featurization, BARE_CROPS)
        _bare_fps(crops[: 4 * featurization.batch_size], extractor, featurization.batch_size)
        bare.append(_bare_fps(crops, extractor, featurization.batch_size))
    start = time.perf_counter()
    outcome = label_video(
        video,
        workdir / f"outbox-{case}",
        heads=heads,
        featurization=featurization,
        extractor=extractor,
        label_settings=LabelSettings.from_settings(settings),
    )
    seconds = time.perf_counter() - start
    if extractor is not None:
        bare.append(_bare_fps(crops, extractor, featurization.batch_size))
    if outcome.status != "labelled" or outcome.outputs is None:
        raise RuntimeError(f"{video}: {outcome.status}: {outcome.reason}")
    frames = json.loads((outcome.outputs / SUMMARY_FILE).read_text())["frames"]
    validation = json.loads((_heads_dir(workdir, heads_features) / "validation.json").read_text())
    return {
        "outputs": str(outcome.outputs),
        "frames": frames,
        "seconds": seconds,
        "fps": frames / seconds,
        "bare_fps": sum(bare) / len(bare) if bare else None,
        "bare_fps_spread": [round(x, 1) for x in bare],
        "setup_seconds": setup_seconds,
        "peak_mb": peak_rss_mb(),
    } | {f"{head}_validation_pr_auc": round(validation[head], 4) for head in HEADS}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# End-to-end labelling vs the bare feature extractor",
        "",
        f"`{result['command']}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {' '.join(m['isa'])}; load "
        f"{m['load_before'][0]} before → {m['load_after'][0]} after. Recording: "
        f"{result['condition']}, batch 8, 160×160 crops, `weights: null`.",
        "",
        "| recording | backend | kept frames | bare extractor frames/s | end-to-end frames/s "
        "| ratio | × Keras end-to-end | × real time (10 fps) | labels = Keras' | test PR-AUC "
        "grooming / rearing | heads' validation PR-AUC | peak RSS | set-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keras = {r["minutes"]: r["fps"] for r in result["results"] if r["backend"] == "keras"}
    for r in result["results"]:
        bare = f"{r['bare_fps']:.1f}" if r["bare_fps"] else "–"
        ratio = f"{r['fps'] / r['bare_fps']:.2f}" if r["bare_fps"] else "–"
        vs_keras = f"{r['fps'] / keras[r['minutes']]:.2f}×" if r["minutes"] in keras else "–"
        same = [r[f"{h}_same_as_keras"] for h in HEADS if f"{h}_same_as_keras" in r]
        same_text = f"{min(same):.2%}" if same and r["backend"] not in ("keras", "none") else "–"
        validation = " / ".join(f"{r[f'{h}_validation_pr_auc']:.3f}" for h in HEADS)
        lines.append(
            f"| {r['minutes']:g} min | {r['backend']} | {r['frames']} | {bare} | {r['fps']:.1f} "
            f"| {ratio} | {vs_keras} | {r['fps'] / 10:.1f}× | {same_text} "
            f"| {r['grooming_pr_auc']:.3f} / {r['rearing_pr_auc']:.3f} | {validation} "
            f"| {r['peak_mb']:.0f} MB "
            f"| {r['setup_seconds']:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def compare_labels(labels: pd.DataFrame, keras: pd.DataFrame | None, truth_csv: Path) -> dict:
    """Per head: the share of frames labelled as Keras labelled them, and PR-AUC against the
    recording's own labels."""
    from ethoflow.io.labels import read_labels
    from ethoflow.training.fit import pr_auc

    truth = read_labels(truth_csv).iloc[labels.frame.to_numpy()]
    compared = {}
    for head in HEADS:
        scores = labels[f"{head}_probability"].to_numpy()
        compared[f"{head}_pr_auc"] = round(pr_auc(truth[head].to_numpy(), scores), 4)
        if keras is not None:
            same = (labels[head].to_numpy() == keras[head].to_numpy()).mean()
            compared[f"{head}_same_as_keras"] = round(float(same), 4)
    return compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--condition", default="condition_1")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, workdir, case = args.child
        print(json.dumps(_measure(Path(video), Path(workdir), case)))
        return

    from ethoflow.labelling.recording import LABELS_FILE

    host = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ethoflow-bench-label-") as tmp:
        train_heads(Path(tmp), args.condition, TRAINING_MINUTES, args.cases)
        for minutes in args.minutes:
            video, labels = write_bench_recording(Path(tmp), minutes, args.condition)
            cases = {}
            for case in args.cases:
                measured = measure_in_child(__file__, str(video), tmp, case)
                cases[case] = pd.read_csv(Path(measured.pop("outputs")) / LABELS_FILE)
                row = {"minutes": minutes, "backend": case} | measured
                rows.append(row | compare_labels(cases[case], cases.get("keras"), labels))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    result = {
        "benchmark": "end-to-end labelling vs bare extractor",
        "command": " ".join(["python", "bench/bench_label.py", *sys.argv[1:]]),
        "condition": args.condition,
        "machine": host | {"load_after": [round(x, 2) for x in os.getloadavg()]},
        "results": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "label.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / "label.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
