"""Benchmark the commands' start-up: wall time of ``ethoflow --help``, ``import ethoflow.cli``,
``ethoflow track`` and ``ethoflow label`` on a 4-frame clip, each a fresh process.

The clip is 4 frames of the real 640×480 video (tests/data/real); the project uses params.yaml's
default features and two untrained TCN champions (window 64) in a fresh MLflow store, with no
Prefect server configured (PREFECT_API_URL unset), as on a lab PC. ``label (new champion)`` is
the first label with champions that have no OpenVINO copy yet (aliased by hand here; the promote
flow makes the copy): it copies each to OpenVINO (TensorFlow imported once); ``label`` the runs
after it. Each case runs ``--repeats`` times; the median and the fastest are reported.

    .venv/bin/python bench/bench_startup.py [--before bench/results/startup-<commit>.json]

``--before`` adds an earlier run's JSON (the same script, run at another commit with its source
first on PYTHONPATH) as a column. Results go to ``bench/results/startup.{json,md}`` and
``bench/results/history/startup.md``.
"""

from __future__ import annotations

import argparse
import json
import os
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
from benchlib import machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REAL = ROOT / "tests" / "data" / "real" / "tracktor_mouse_video.mp4"
HEADS = ("grooming", "rearing")
HP = {"window": 64, "kernel_size": 3, "dilation_depth": 5, "stacks": 1, "causal": False}
HP |= {"units": 64, "dropout": 0.2}
CASES = ("--help", "import ethoflow.cli", "track", "label (new champion)", "label")


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


def wall_seconds(command: list[str], cwd: Path) -> float:
    """Wall time of ``command`` (which must succeed), without a Prefect server configured."""
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(repeats: int) -> dict[str, list[float]]:
    """Seconds per case, ``repeats`` runs each (the new champion's label: once)."""
    ethoflow = [sys.executable, "-m", "ethoflow.cli"]
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as folder:
        root = Path(folder)
        clip = write_clip(root / "clip4.mp4")
        params = write_project(root)
        label = [*ethoflow, "label", str(clip), "--params", str(params), "--out"]
        runs = iter(range(10_000))
        cases = {
            "--help": lambda: [*ethoflow, "--help"],
            "import ethoflow.cli": lambda: [sys.executable, "-c", "import ethoflow.cli"],
            "track": lambda: [*ethoflow, "track", str(clip), "--out", str(root / f"t{next(runs)}")],
            "label": lambda: [*label, str(root / f"l{next(runs)}")],
        }
        seconds = {"label (new champion)": [wall_seconds(cases["label"](), root)]}
        for _ in range(repeats):  # interleaved: a change of load reaches every case alike
            for name, command in cases.items():
                seconds.setdefault(name, []).append(wall_seconds(command(), root))
    return {name: seconds[name] for name in CASES}


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def markdown(result: dict) -> str:
    before = result.get("before")
    host = result["machine"]
    lines = [
        "# Start-up: the commands on a 4-frame clip",
        "",
        f"`{result['command']}`",
        "",
        f"{result['date']}, commit {result['commit']}. Machine: {host['cpu']}, {host['cores']} "
        f"cores; load {host['load_before'][0]} before → {result['load_after'][0]} after. Wall "
        f"seconds, median (fastest) of {result['repeats']} runs, each a fresh process; no Prefect "
        "server configured.",
    ]
    if before:
        lines += [
            "",
            f"Before: commit {before['commit']}, {before['date']}, load "
            f"{before['machine']['load_before'][0]} → {before['load_after'][0]}.",
        ]
    header = "| command | seconds |" + (" before |" if before else "")
    lines += ["", header, "|---|---|" + ("---|" if before else "")]
    for name in CASES:
        cells = [_cell(result["seconds"][name])]
        if before:
            cells.append(_cell(before["seconds"].get(name, [])))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(seconds: list[float]) -> str:
    if not seconds:
        return "—"
    digits = 2 if min(seconds) < 1 else 1  # --help and the import: tenths are not enough
    if len(seconds) == 1:
        return f"{seconds[0]:.{digits}f}"
    return f"{statistics.median(seconds):.{digits}f} ({min(seconds):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="An earlier run's JSON, shown beside.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    host = machine()
    result = {
        "benchmark": "start-up of the commands on a 4-frame clip",
        "command": " ".join(["python", "bench/bench_startup.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": host,
        "repeats": args.repeats,
        "seconds": measure(args.repeats),
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    if args.before:
        result["before"] = json.loads(args.before.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / "startup.md").write_text(text)
    history = args.out / "history" / "startup.md"
    history.parent.mkdir(parents=True, exist_ok=True)
    old = history.read_text().split("\n", 2)[2] if history.is_file() else ""
    entry = "\n".join(
        [f"## {result['date']}, commit {result['commit']}", "", *text.splitlines()[4:]]
    )
    history.write_text("# Start-up, run by run\n\n" + entry + "\n\n" + old)
    print(text, flush=True)


if __name__ == "__main__":
    main()
