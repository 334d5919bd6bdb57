"""Benchmark the ingest path (decode → fps → detect → crop → ResNet50 features) on CPU.

For each recording length it writes one synthetic recording, then ingests it in a fresh
subprocess and reports kept frames per second for the whole path and for the path without the CNN,
plus the subprocess's peak resident memory. Memory must not grow with the recording's length.

    .venv/bin/python bench/bench_ingest.py --minutes 1 10 --condition condition_1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchlib import measure_in_child, peak_rss_mb, write_bench_recording


def _measure(video: Path, labels: Path, out: Path, with_cnn: bool) -> dict:
    """Run in a subprocess: ingest one recording, return timings and peak memory."""
    from ethoflow.config import Settings
    from ethoflow.data.ingest import Recording, featurize_recording
    from ethoflow.features.featurization import Featurization

    recording = Recording(video.stem, "bench", video, labels)
    settings = Settings.model_validate({"seed": 0, "features": {"cnn": with_cnn}})
    featurization = Featurization.from_settings(settings)
    extractor = featurization.build_extractor()
    start = time.perf_counter()
    record = featurize_recording(
        recording,
        out,
        featurization=featurization,
        extractor=extractor,
        augment=None,
        tolerance_frames=2,
    )
    frames = record["frames"]
    seconds = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--condition", default="condition_1")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, labels, out, with_cnn = args.child
        print(json.dumps(_measure(Path(video), Path(labels), Path(out), with_cnn == "1")))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            video, labels = write_bench_recording(Path(tmp), minutes, args.condition)
            result = {"minutes": minutes, "condition": args.condition}
            for with_cnn in ("0", "1"):
                out = str(Path(tmp) / f"out{minutes}")
                measured = measure_in_child(__file__, str(video), str(labels), out, with_cnn)
                key = "full" if with_cnn == "1" else "no_cnn"
                result |= {
                    f"{key}_fps": round(measured["fps"], 1),
                    f"{key}_peak_mb": round(measured["peak_mb"]),
                    "frames": measured["frames"],
                }
            rows.append(result)
            print(json.dumps(result), flush=True)
    print(
        "\n| recording | kept frames | frames/s, full path | frames/s, without CNN "
        "| peak RSS, full | peak RSS, without CNN |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['minutes']:g} min {r['condition']} | {r['frames']} | {r['full_fps']} "
            f"| {r['no_cnn_fps']} | {r['full_peak_mb']} MB | {r['no_cnn_peak_mb']} MB |"
        )


if __name__ == "__main__":
    main()
