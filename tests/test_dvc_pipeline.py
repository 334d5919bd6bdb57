"""`dvc repro` runs the same ingest flow as `ethoflow ingest`, and dvc.lock records it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ethoflow.synth import synthesize_lab

PROJECT = Path(__file__).resolve().parents[1]


def test_dvc_repro_runs_the_ingest_stage_and_locks_it(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "dvc.yaml", root / "dvc.yaml")
    (root / "params.yaml").write_text(
        "seed: 3\ningest: {crop_size: 64}\nfeatures: {batch_size: 8}\n"
    )
    synthesize_lab(
        root / "data/raw", root / "data/truth", videos_per_condition=1, minutes=0.05, seed=3
    )
    env = {
        **os.environ,
        # `ethoflow` as installed beside this interpreter, as `make repro` arranges.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            args, cwd=root, env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "init", "-q")
    run(sys.executable, "-m", "dvc", "config", "core.analytics", "false")
    run(sys.executable, "-m", "dvc", "repro")

    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["ingest"]
    assert lock["cmd"] == "ethoflow ingest --params params.yaml"
    assert lock["params"]["params.yaml"]["ingest"]["crop_size"] == 64
    assert {d["path"] for d in lock["deps"]} >= {"data/raw", "src/ethoflow/ingest.py"}
    (out,) = lock["outs"]
    assert out["path"] == "data/features" and out["md5"].endswith(".dir")
    manifest = (root / "data/features/manifest.csv").read_text().splitlines()
    assert len(manifest) == 1 + 3  # header + one recording per condition

    again = run(sys.executable, "-m", "dvc", "repro")
    assert "didn't change, skipping" in again
