"""Benchmark the tracker alone on a long 640×480 recording of a real mouse, on CPU.

The real round-arena clip (tests/data/real/tracktor_mouse_video.mp4, 640×480, 30 fps, 5.5 min) is
repeated into one MP4 of the asked length (the mouse jumps once at each seam); each case runs in a
fresh process: background estimation (seeking 32 frames) + decode + tracking, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchlib import measure_in_child, peak_rss_mb

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "real" / "tracktor_mouse_video.mp4"


def _write_long(path: Path, minutes: float) -> int:
    """Repeat the real clip into ``minutes`` of video, streaming; returns the frame count."""
    import cv2

    from ethoflow.io.video import VideoReader

    reader = VideoReader(CLIP)
    total = int(minutes * 60 * reader.fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), reader.fps, reader.size)
    written = 0
    while written < total:
        for frame in VideoReader(CLIP):
            if written == total:
                break
            writer.write(frame)
            written += 1
    writer.release()
    return written


def _measure(video: Path) -> dict:
    """Run in a subprocess: track one recording, return timings and peak memory."""
    from ethoflow.io.video import VideoReader
    from ethoflow.vision.openfield import track_frames

    start = time.perf_counter()
    track = track_frames(VideoReader(video))
    seconds = time.perf_counter() - start
    return {
        "frames": len(track),
        "seconds": round(seconds, 1),
        "fps": round(len(track) / seconds, 1),
        "found": round(float(track.found.mean()), 4),
        "peak_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--child", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(Path(args.child[0]))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            video = Path(tmp) / f"track_{minutes:g}min.mp4"
            _write_long(video, minutes)
            row = {"minutes": minutes, **measure_in_child(__file__, str(video))}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| recording | frames | seconds | frames/s | found | peak RSS |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['minutes']:g} min 640×480 | {r['frames']} | {r['seconds']} | {r['fps']} "
            f"| {r['found']:.2%} | {r['peak_mb']} MB |"
        )


if __name__ == "__main__":
    main()
