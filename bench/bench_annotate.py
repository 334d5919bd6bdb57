"""Benchmark the Annotate page's work on a 10-minute 30 fps 640x480 recording, on this machine.

What a key press costs the server (the page's run adds Streamlit's own, a few tenths of a second
in a browser here): showing a frame (a random seek, decoding, drawing the marks on it) and its
two ethograms, the per-frame table of an annotation with many bouts, saving it (ours and BORIS),
and a 2 s clip (P). The recording is the real tracktor clip (H.264, 10,000 frames) looped to 18,000
frames and written with OpenCV's mp4v, as ``helpers.champions.write_video`` writes test videos;
the real clip itself (H.264, a longer distance between key frames) is measured too. Frames are read
by seeking: peak memory stays that of one frame, not of the video.

    .venv/bin/python bench/bench_annotate.py

Results go to ``bench/results/annotate.md`` (rewritten) and ``bench/results/history/annotate.md``
(prepended).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from benchlib import git_commit, machine, peak_rss_mb

from ethoflow.io.video import VideoReader
from ethoflow.ui import annotate
from ethoflow.ui.recording import clip_gif

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REAL = ROOT / "tests" / "data" / "real" / "tracktor_mouse_video.mp4"
FRAMES = 18_000  # 10 minutes at 30 fps


def long_recording(path: Path, frames: int) -> Path:
    """The real clip looped to ``frames`` frames (mp4v, 30 fps, 640x480), written frame by frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30, (640, 480))
    written = 0
    while written < frames:
        for frame in VideoReader(REAL):
            writer.write(frame)
            written += 1
            if written == frames:
                break
    writer.release()
    return path


def annotated(frame_count: int, fps: float, bouts: int, seed: int = 1) -> annotate.Annotation:
    """An annotation of ``bouts`` short bouts per behaviour and a reviewed first half."""
    rng = np.random.default_rng(seed)
    annotation = annotate.Annotation(frame_count, fps)
    annotation.toggle(annotate.REVIEWED, 0)
    annotation.toggle(annotate.REVIEWED, frame_count // 2)
    for head in ("grooming", "rearing"):
        for start in sorted(rng.choice(frame_count - 60, bouts, replace=False)):
            annotation.toggle(head, int(start))
            annotation.toggle(head, int(start) + int(rng.integers(5, 60)))
    return annotation


def timed(function, repeats: int) -> list[float]:
    """Seconds per call of ``function``, ``repeats`` times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def measure(video: Path, repeats: int, seed: int = 2) -> dict:
    """Every step's median and 95th percentile (ms) on ``video``."""
    opened = timed(lambda: VideoReader(video), 5)
    reader = VideoReader(video)
    annotation = annotated(reader.frame_count, reader.fps, bouts=100)
    rng = np.random.default_rng(seed)
    frames = iter(rng.integers(0, reader.frame_count, repeats * 3).tolist())
    cursor = reader.frame_count // 2
    window = (cursor - 150, cursor + 151)

    def frame() -> None:
        (picture,) = annotate.pictures(reader, annotation, [next(frames)])
        assert picture.shape == (480, 640, 3)

    def step() -> None:  # → : the next frame, read by a seek as every key press does
        nonlocal cursor
        cursor += 1
        annotate.pictures(reader, annotation, [cursor])

    def ethograms() -> None:
        annotate.ethogram_picture(annotation, cursor)
        annotate.ethogram_picture(annotation, cursor, window)

    folder = Path(tempfile.mkdtemp())

    def save() -> None:
        annotate.save(annotation, folder / video.name, folder / "app")

    def clip() -> None:
        first = next(frames)
        rows = list(range(first, min(first + 60, reader.frame_count)))
        clip_gif(annotate.pictures(reader, annotation, rows, scale=0.5), reader.fps)

    steps = {
        "open (header, once per recording)": opened,
        "show a random frame (seek, decode, draw)": timed(frame, repeats),
        "show the next frame (→)": timed(step, repeats),
        "draw both ethograms": timed(ethograms, repeats),
        "per-frame table (100 bouts per behaviour)": timed(annotation.table, repeats),
        "save (ours + BORIS, atomically, digests)": timed(save, 10),
        "play 2 s (60 frames, GIF)": timed(clip, 5),
    }
    return {
        "video": video.name,
        "frames": reader.frame_count,
        "codec": int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FOURCC))
        .to_bytes(4, "little")
        .decode(),
        "size_mb": round(video.stat().st_size / 2**20, 1),
        "steps": {
            name: (
                round(1000 * statistics.median(t), 1),
                round(1000 * float(np.percentile(t, 95)), 1),
            )
            for name, t in steps.items()
        },
    }


def report(runs: list[dict], repeats: int, before: dict) -> str:
    commit = git_commit(ROOT)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = [round(x, 2) for x in os.getloadavg()]
    lines = [
        "# The Annotate page: time to show a frame and to save",
        "",
        "`python bench/bench_annotate.py`",
        "",
        f"{date}, commit {commit}. Machine: {before['cpu']}, {before['cores']} cores; load "
        f"{before['load_before'][0]} before → {load[0]} after. Median / 95th percentile in ms "
        f"over {repeats} calls (save: 10, clip: 5, open: 5); peak RSS {peak_rss_mb():.0f} MB.",
        "",
        "| step | "
        + " | ".join(
            f"{r['video']} ({r['frames']} frames, {r['codec']}, {r['size_mb']} MB)" for r in runs
        )
        + " |",
        "|---|" + "---|" * len(runs),
    ]
    for name in runs[0]["steps"]:
        cells = [f"{r['steps'][name][0]} / {r['steps'][name][1]}" for r in runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    before = machine()
    with tempfile.TemporaryDirectory() as folder:
        video = long_recording(Path(folder) / "annotate_10min.mp4", FRAMES)
        runs = [measure(video, args.repeats), measure(REAL, args.repeats)]
    text = report(runs, args.repeats, before)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "annotate.md").write_text(text)
    history = RESULTS / "history" / "annotate.md"
    old = history.read_text().split("\n", 2)[2] if history.is_file() else ""
    lines = text.splitlines()  # the title, the command, then the line of date and commit
    entry = "\n".join([f"## {lines[4].split('. Machine')[0]}", "", *lines[4:]]) + "\n"
    history.write_text("# The Annotate page, run by run\n\n" + entry + "\n" + old)
    print(text)


if __name__ == "__main__":
    main()
