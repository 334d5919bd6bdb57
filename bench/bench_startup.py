"""Benchmark the commands' start-up and their decode-bound work: wall time of ``ethoflow --help``,
``import ethoflow.cli``, ``ethoflow track`` and ``ethoflow label`` on a 4-frame clip, and of
``track`` and ``label`` on the whole real video against its bare decode, each a fresh process.

The clip is 4 frames of the real 640×480 video (tests/data/real); the project uses params.yaml's
default features and two untrained TCN champions (window 64) in a fresh MLflow store, with no
Prefect server configured (PREFECT_API_URL unset), as on a lab PC. ``label (new champion)`` is
the first label with champions that have no OpenVINO copy yet (aliased by hand here; the promote
flow makes the copy): it copies each to OpenVINO (TensorFlow imported once); ``label`` the runs
after it.

The whole video (5.5 min, 10,000 frames of 640×480 H.264) is the floor's measure: its bare
decode (OpenCV reading every frame as a picture, and grabbing alone: decoded, never converted),
``ethoflow track`` and ``ethoflow label`` of it, and ``label`` of a batch of three copies of it, so
that a recording's own cost in a nightly batch is read from that run's log: the time from the
first recording's "frames labelled" line to the third's, halved (start-up, the champions'
loading and the first recording left out). Each ratio divides by the bare read of the same run,
in wall time and in CPU time (user + system of every thread; on a machine shared with other jobs
the wall time follows the share of the cores a process gets, the CPU time much less).

Each case runs ``--repeats`` times, interleaved (a change of load reaches every case alike); the
median and the fastest are reported. ``--before-source`` names a checkout of an earlier commit:
every ethoflow command then runs a second time with its ``src`` first on PYTHONPATH, in the same
loop, as the "before" column.

    .venv/bin/python bench/bench_startup.py [--before-source /tmp/ethoflow-<commit>]

Results go to ``bench/results/startup.{json,md}`` and ``bench/results/history/startup.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import yaml
from benchlib import git_commit, machine, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REAL = ROOT / "tests" / "data" / "real" / "tracktor_mouse_video.mp4"
HEADS = ("grooming", "rearing")
HP = {"window": 64, "kernel_size": 3, "dilation_depth": 5, "stacks": 1, "causal": False}
HP |= {"units": 64, "dropout": 0.2}
CASES = ("--help", "import ethoflow.cli", "track", "label (new champion)", "label")
BATCH = 3  # copies of the whole video labelled in one run
DECODE = ("decode: read every frame", "decode: grab only")
VIDEO_CASES = (*DECODE, "track VIDEO", "label VIDEO", f"label {BATCH} × VIDEO")
# The cases divided by the bare read; "a recording's own cost" comes from the batch's log.
PER_RECORDING = "label: a recording's own cost in a batch"
RATIOS = ("decode: grab only", "track VIDEO", "label VIDEO", PER_RECORDING)


def write_clip(path: Path, frames: int = 4, start: int = 300) -> Path:
    """``frames`` frames of the real video from frame ``start``, MPEG-4 at its frame rate."""
    reader = cv2.VideoCapture(str(REAL))
    fps = reader.get(cv2.CAP_PROP_FPS)
    reader.set(cv2.CAP_PROP_POS_FRAMES, start)
    images = [reader.read()[1] for _ in range(frames)]
    reader.release()
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for image in images:
        writer.write(image)
    writer.release()
    return path


def write_project(root: Path) -> Path:
    """params.yaml (default features, a store under ``root``) and a champion per head."""
    import keras
    import mlflow

    from ethoflow.config import load_settings
    from ethoflow.features.featurization import Featurization
    from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri
    from ethoflow.mlops.registered_models import log_keras_model, model_name
    from ethoflow.models import build_model

    params = root / "params.yaml"
    train = {"experiment": "startup", "tracking_uri": local_tracking_uri(root / "mlflow")}
    params.write_text(yaml.safe_dump({"train": train}))
    settings = load_settings(params)
    featurization = Featurization.from_settings(settings)
    n_features = featurization.feature_count(None)
    tags = {"window": str(HP["window"]), "featurization": featurization.id, "threshold": "0.5"}
    cwd = Path.cwd()
    os.chdir(root)  # nothing of MLflow's lands in the repository
    try:
        configure_tracking(settings.tracking_uri, "startup")
        with mlflow.start_run():
            for seed, head in enumerate(HEADS):
                keras.utils.set_random_seed(seed)
                version = log_keras_model(
                    build_model("tcn", HP, n_features),
                    name=head,
                    example_input=np.zeros((1, HP["window"], n_features), np.float32),
                    registered_model_name=model_name(head),
                    tags=tags,
                )
                assert version is not None
                mlflow.MlflowClient().set_registered_model_alias(
                    model_name(head), "champion", version.version
                )
    finally:
        os.chdir(cwd)
    return params


def wall_seconds(command: list[str], cwd: Path, source: Path | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system) time of ``command`` (which must succeed), without a Prefect
    server configured; ``source``: an earlier checkout whose ``src`` comes first on PYTHONPATH."""
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    if source is not None:
        env["PYTHONPATH"] = str(source / "src")
    cpu, started = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _cpu(resource.RUSAGE_CHILDREN) - cpu


def decode_seconds(video: Path, pictures: bool) -> tuple[float, float]:
    """Wall and CPU time of decoding every frame of ``video`` with OpenCV's defaults, as pictures
    (read) or not (grab)."""
    capture = cv2.VideoCapture(str(video))
    cpu, started = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    if pictures:
        while capture.read()[0]:
            pass
    else:
        while capture.grab():
            pass
    seconds = time.perf_counter() - started, _cpu(resource.RUSAGE_SELF) - cpu
    capture.release()
    return seconds


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(repeats: int, video: Path, before: Path | None) -> dict[str, dict]:
    """Wall seconds (``seconds``) and CPU seconds (``cpu_seconds``) per case, ``repeats`` runs
    each (the new champion's label: once), for this checkout ("after") and, with ``before``, the
    earlier one."""
    ethoflow = [sys.executable, "-m", "ethoflow.cli"]
    sources = {"after": None} | ({"before": before} if before else {})
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as folder:
        root = Path(folder)
        clip = write_clip(root / "clip4.mp4")
        copies = []
        for n in range(1, BATCH + 1):
            copies.append(root / "batch" / f"recording{n}.mp4")
            copies[-1].parent.mkdir(exist_ok=True)
            shutil.copyfile(video, copies[-1])
        params = write_project(root)
        label = [*ethoflow, "label", "--params", str(params), "--out"]
        runs = iter(range(10_000))

        def out() -> str:
            return str(root / f"out{next(runs)}")

        commands = {
            "--help": lambda: [*ethoflow, "--help"],
            "import ethoflow.cli": lambda: [sys.executable, "-c", "import ethoflow.cli"],
            "track": lambda: [*ethoflow, "track", str(clip), "--out", out()],
            "label": lambda: [*label, out(), str(clip)],
            "track VIDEO": lambda: [*ethoflow, "track", str(video), "--out", out()],
            "label VIDEO": lambda: [*label, out(), str(video)],
            f"label {BATCH} × VIDEO": lambda: [*label, out(), *map(str, copies)],
        }
        seconds: dict[str, dict[str, list[float]]] = {name: {} for name in sources}
        cpu: dict[str, dict[str, list[float]]] = {name: {} for name in sources}
        seconds["after"]["label (new champion)"] = [wall_seconds(commands["label"](), root)[0]]
        for _ in range(repeats):  # interleaved: a change of load reaches every case alike
            for case, pictures in zip(DECODE, (True, False), strict=True):
                wall, used = decode_seconds(video, pictures)
                seconds["after"].setdefault(case, []).append(wall)
                cpu["after"].setdefault(case, []).append(used)
            for case, command in commands.items():
                for name, source in sources.items():
                    wall, used = wall_seconds(command(), root, source)
                    seconds[name].setdefault(case, []).append(wall)
                    cpu[name].setdefault(case, []).append(used)
                    if case == f"label {BATCH} × VIDEO":
                        each = seconds[name].setdefault(PER_RECORDING, [])
                        each.append(seconds_between_labels(root / "runs" / "logs"))
                    print(f"{name} {case}: {wall:.2f} s, CPU {used:.2f} s", file=sys.stderr)
    return {"seconds": seconds, "cpu_seconds": cpu}


def seconds_between_labels(logs: Path) -> float:
    """From the newest label log in ``logs``: the mean time between one recording's "frames
    labelled" line and the next, i.e. a recording's own cost inside the batch (start-up, the
    champions' loading and the first recording's warm-up left out)."""
    log = max(logs.glob("label-*.log"), key=lambda path: path.stat().st_mtime)
    stamps = [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        for line in log.read_text().splitlines()
        if "frames labelled" in line
    ]
    if len(stamps) != BATCH:
        raise RuntimeError(f"{log}: {len(stamps)} recordings labelled, expected {BATCH}")
    return (stamps[-1] - stamps[0]).total_seconds() / (BATCH - 1)


def markdown(result: dict) -> str:
    host = result["machine"]
    before = "before" in result["seconds"]
    lines = [
        "# Start-up and decode-bound work: the commands on a 4-frame clip and on a whole video",
        "",
        f"`{result['command']}`",
        "",
        f"{result['date']}, commit {result['commit']}. Machine: {host['cpu']}, {host['cores']} "
        f"cores; load {host['load_before'][0]} before → {result['load_after'][0]} after. Wall "
        f"seconds, median (fastest) of {result['repeats']} runs, each command a fresh process; no "
        f"Prefect server configured. VIDEO: {result['video']}.",
    ]
    if before:
        lines += ["", f"Before: commit {result['before_commit']}, run in the same loop."]
    header = "| command | seconds |" + (" before |" if before else "")
    lines += ["", header, "|---|---|" + ("---|" if before else "")]
    for name in (*CASES, *VIDEO_CASES, PER_RECORDING):
        cells = [_cell(times.get(name, [])) for times in result["seconds"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ratios to the bare decode (read every frame) of the same run: the median over the runs "
        "of each run's seconds ÷ that run's bare read; wall time, and CPU time (user + system, "
        "every thread: what a loaded machine shares out).",
        "",
        "| command | × bare decode, wall | CPU |" + (" before, wall | CPU |" if before else ""),
        "|---|---|---|" + ("---|---|" if before else ""),
    ]
    for name in RATIOS:
        cells = [
            _ratio(result[kind][where], name, result[kind]["after"][DECODE[0]])
            for where in result["seconds"]
            for kind in ("seconds", "cpu_seconds")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _ratio(times: dict[str, list[float]], name: str, read: list[float]) -> str:
    if name not in times:
        return "—"
    return f"{statistics.median(t / r for t, r in zip(times[name], read, strict=True)):.2f}"


def _cell(seconds: list[float]) -> str:
    if not seconds:
        return "—"
    digits = 2 if min(seconds) < 1 else 1  # --help and the import: tenths are not enough
    if len(seconds) == 1:
        return f"{seconds[0]:.{digits}f}"
    return f"{statistics.median(seconds):.{digits}f} ({min(seconds):.{digits}f})"


def _describe(video: Path) -> str:
    """``video``'s name, size, frame count and rate."""
    capture = cv2.VideoCapture(str(video))
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return f"{video.name}, {width}×{height}, {frames} frames at {fps:g} fps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--video", type=Path, default=REAL)
    parser.add_argument(
        "--before-source", type=Path, help="A checkout of an earlier commit, run beside."
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = {
        "benchmark": "start-up of the commands, and their decode-bound work on a whole video",
        "command": " ".join(["python", "bench/bench_startup.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(ROOT),
        "machine": machine(),
        "repeats": args.repeats,
        "video": _describe(args.video),
    }
    if args.before_source:
        result["before_commit"] = git_commit(args.before_source)
    result |= measure(args.repeats, args.video, args.before_source)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(result)
    write_results(args.out, "startup", result, text, "Start-up and decode-bound work, run by run")
    print(text, flush=True)


if __name__ == "__main__":
    main()
