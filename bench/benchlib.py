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


def write_results(out: Path, name: str, result: dict, text: str, title: str) -> None:
    """``out/<name>.json``, ``out/<name>.md`` (``text``: a title, a blank line, the command and
    a blank line, then the results) and the results under a heading with ``result``'s date and
    commit, prepended to ``out/history/<name>.md`` (titled ``title``)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(text)
    history = out / "history" / f"{name}.md"
    history.parent.mkdir(parents=True, exist_ok=True)
    old = history.read_text().split("\n", 2)[2] if history.is_file() else ""
    heading = f"## {result['date']}, commit {result['commit']}"
    entry = "\n".join([heading, "", *text.splitlines()[4:]])
    history.write_text(f"# {title}\n\n" + entry + "\n\n" + old)
