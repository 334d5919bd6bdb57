"""Benchmark end-to-end labelling of one recording with ``ethoflow.labelling.label_video`` on CPU.

Decode → fps standardisation → mouse detection → crop → ResNet50 features (+ posture) → every
head's model → post-processing → per-frame CSV, summary JSON and ethogram PNG. For each recording
length it writes one synthetic recording, then labels it in a fresh subprocess and reports the kept
(standardised) frames, the wall-clock seconds of ``label_video`` alone (building the extractor and
models is not timed), frames/s, × real time at the target fps (frames/s ÷ 10 by default) and the
subprocess's peak resident memory. The heads are untrained default-sized TCNs with a fitted
standardisation layer: throughput does not depend on training.

    .venv/bin/python bench/bench_label.py --minutes 1 10 --condition condition_1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchlib import measure_in_child, peak_rss_mb, write_bench_recording

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


def _measure(video: Path, outbox: Path) -> dict:
    """Run in a subprocess: label one recording, return timings and peak memory."""
    import numpy as np

    from ethoflow.config import Settings
    from ethoflow.featurization import Featurization
    from ethoflow.labelling import SUMMARY_FILE, HeadModel, label_video
    from ethoflow.models import build_model
    from ethoflow.training.fit import with_standardization

    settings = Settings()
    featurization = Featurization.from_settings(settings)
    setup_start = time.perf_counter()
    extractor = featurization.build_extractor()
    n_features = featurization.feature_count(extractor)
    sample = np.random.default_rng(0).normal(size=(256, n_features)).astype(np.float32)
    heads = {
        head: HeadModel(
            head,
            model_name=f"ethoflow-{head}",
            version="bench",
            model=with_standardization(build_model("tcn", HP, n_features), [sample]),
            threshold=0.5,
            window=HP["window"],
            featurization=featurization.id,
        )
        for head in settings.train.heads
    }
    setup_seconds = time.perf_counter() - setup_start

    start = time.perf_counter()
    outcome = label_video(
        video,
        outbox,
        heads=heads,
        featurization=featurization,
        extractor=extractor,
        postprocessing=settings.postprocess,
        arena_side_cm=settings.label.arena_side_cm,
        max_missing_share=settings.label.max_missing_share,
    )
    seconds = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    if outcome.status != "labelled" or outcome.outputs is None:
        raise RuntimeError(f"{video}: {outcome.status}: {outcome.reason}")
    frames = json.loads((outcome.outputs / SUMMARY_FILE).read_text())["frames"]
    fps = frames / seconds
    return {
        "frames": frames,
        "seconds": seconds,
        "fps": fps,
        "x_real_time": fps / settings.ingest.target_fps,
        "setup_seconds": setup_seconds,
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--condition", default="condition_1")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, outbox = args.child
        print(json.dumps(_measure(Path(video), Path(outbox))))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            video, _ = write_bench_recording(Path(tmp), minutes, args.condition)
            measured = measure_in_child(__file__, str(video), str(Path(tmp) / "outbox"))
            result = {
                "minutes": minutes,
                "condition": args.condition,
                "frames": measured["frames"],
                "seconds": round(measured["seconds"], 1),
                "fps": round(measured["fps"], 1),
                "x_real_time": round(measured["x_real_time"], 2),
                "setup_seconds": round(measured["setup_seconds"], 1),
                "peak_mb": round(measured["peak_mb"]),
            }
            rows.append(result)
            print(json.dumps(result), flush=True)
    print("\n| recording | kept frames | seconds | frames/s | × real time (10 fps) | peak RSS |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['minutes']:g} min {r['condition']} | {r['frames']} | {r['seconds']} "
            f"| {r['fps']} | {r['x_real_time']}× | {r['peak_mb']} MB |"
        )


if __name__ == "__main__":
    main()
