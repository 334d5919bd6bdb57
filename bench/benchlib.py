"""What the benchmarks share: a synthetic recording, a measured child process, peak memory and
the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found in /proc/self/status (Linux only)")


def write_bench_recording(
    folder: Path, minutes: float, condition_name: str, seed: int = 1
) -> tuple[Path, Path]:
    """A seeded synthetic recording of ``minutes``; returns (video, label CSV)."""
    from ethoflow.synth.conditions import condition_by_name
    from ethoflow.synth.recording import write_recording

    Path(folder).mkdir(parents=True, exist_ok=True)
    video = Path(folder) / f"bench_{minutes:g}min.mp4"
    labels = video.with_suffix(".csv")
    condition = condition_by_name(condition_name)
    write_recording(
        video,
        labels,
        Path(folder) / "truth.csv",
        condition=condition,
        seconds=60 * minutes,
        seed=seed,
    )
    return video, labels


def measure_in_child(script: str, *arguments: str) -> dict:
    """Run ``script --child arguments…`` in a fresh interpreter (so peak memory is its own) and
    return the JSON it prints last."""
    command = [sys.executable, script, "--child", *arguments]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


_SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> dict[str, Any]:
    """CPU model, usable cores, instruction sets and load: what the timings depend on."""
    model, flags = platform.processor() or "unknown", ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("unknown", "", platform.machine()):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = value
    have = set(flags.split())
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "avx512": "avx512f" in have,
        # What decides the speed of the CNN backends: OpenVINO's bf16 needs avx512_bf16 or AMX.
        "isa": [name for name in _SPEED_FLAGS if name in have],
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit(checkout: Path) -> str:
    """The short commit ``checkout`` is at ("unknown" outside git: an exported tree)."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


# The lab-scale benchmark's camera: every set-up filmed at 30 fps, 640×480 (issue 37).
LAB_FPS = 30.0
LAB_FRAME_SIZE = (640, 480)


def lab_camera(condition_name: str):
    """The set-up ``condition_name`` at :data:`LAB_FPS` and :data:`LAB_FRAME_SIZE`, its arena
    scaled to fit the bigger frame the way it fits its own."""
    import dataclasses

    from ethoflow.synth.conditions import condition_by_name

    condition = condition_by_name(condition_name)
    (width, height), (new_width, new_height) = condition.frame_size, LAB_FRAME_SIZE
    scale = min(new_width / width, new_height / height)
    x, y = condition.arena_center
    return dataclasses.replace(
        condition,
        fps=LAB_FPS,
        frame_size=LAB_FRAME_SIZE,
        arena_center=(
            x * scale + (new_width - width * scale) / 2,
            y * scale + (new_height - height * scale) / 2,
        ),
        arena_side=condition.arena_side * scale,
    )


def write_tiled_recording(
    video: Path, condition_name: str, seed: int, minutes: float, clip_minutes: float = 1.0
) -> Path:
    """A ``minutes``-long recording of the set-up (:func:`lab_camera`) and its label CSV beside
    it: one drawn clip of ``clip_minutes`` played over and over (drawing runs at ~60 frames/s
    on one core, re-encoding at ~240: a 10-minute recording in ~1 instead of 5 minutes).
    Kept if it exists (a cache); returns ``video``."""
    import tempfile

    import cv2
    import pandas as pd

    from ethoflow.io.atomic import atomic_path, write_csv
    from ethoflow.synth.recording import write_recording

    labels = video.with_suffix(".csv")
    if video.is_file() and labels.is_file():
        return video
    condition = lab_camera(condition_name)
    clip_minutes = min(clip_minutes, minutes)
    repeats = round(minutes / clip_minutes)
    with tempfile.TemporaryDirectory(prefix="bench-clip-") as tmp:
        clip, clip_labels = Path(tmp) / "clip.mp4", Path(tmp) / "clip.csv"
        write_recording(
            clip,
            clip_labels,
            Path(tmp) / "truth.csv",
            condition=condition,
            seconds=60 * clip_minutes,
            seed=seed,
        )
        with atomic_path(video) as out:
            writer = cv2.VideoWriter(
                str(out), cv2.VideoWriter.fourcc(*"mp4v"), condition.fps, condition.frame_size
            )
            try:
                for _ in range(repeats):
                    capture = cv2.VideoCapture(str(clip))
                    ok, frame = capture.read()
                    while ok:
                        writer.write(frame)
                        ok, frame = capture.read()
                    capture.release()
            finally:
                writer.release()
        table = pd.read_csv(clip_labels)
        write_csv(pd.concat([table] * repeats, ignore_index=True), labels)
    return video


def write_results(out: Path, name: str, result: dict, text: str, title: str) -> None:
    """``out/<name>.json`` and ``.md`` (the latest run), and the run prepended to
    ``out/history/<name>.md`` under ``title``, headed by its date and commit."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(text)
    history = out / "history" / f"{name}.md"
    history.parent.mkdir(parents=True, exist_ok=True)
    old = history.read_text().split("\n", 2)[2] if history.is_file() else ""
    body = text.split("\n", 2)[2] if text.startswith("# ") else text
    entry = f"## {result['date']}, commit {result['commit']}\n\n{body.strip()}\n"
    history.write_text(f"# {title}\n\n{entry}\n{old}")
