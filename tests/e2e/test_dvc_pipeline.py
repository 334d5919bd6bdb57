"""`dvc.yaml` is the whole pipeline: `dvc repro` runs ingest → train → evaluate (the same flows as
the CLI), `dvc metrics show` and `dvc plots show` read the evaluation, and `dvc exp run` with a
changed parameter reruns only the stages that depend on it."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ethoflow.synth.conditions import CONDITIONS
from helpers.labs import small_lab

PROJECT = Path(__file__).resolve().parents[2]
# Two of the lab's set-ups, both 10 fps and small frames: the pipeline's plumbing, not its
# accuracy, is under test here.
LAB_CONDITIONS = (CONDITIONS[0], CONDITIONS[2])
# Posture-only features keep ingest quick; one small TCN per head.
PARAMS = """
seed: 3
ingest: {crop_size: 64}
features: {cnn: false}
train:
  architectures: [tcn]
  n_trials: 1
  max_epochs: 3
  patience: 1
  # One stack of two dilations: the smallest TCN, the quickest to trace and train.
  search_space: {window: [16], batch_size: [16], units: [8, 8], layers: [1, 1],
                 dilation_depth: [2, 2], stacks: [1, 1]}
postprocess: {median_frames: 3, min_bout_frames: 2}
labels: {}  # a dvc.yaml parameter of ingest: DVC wants the section present
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_api):
    root = tmp_path_factory.mktemp("dvc") / "project"
    for folder in ("src", "flows"):
        shutil.copytree(
            PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT / "dvc.yaml", root / "dvc.yaml")
    (root / "params.yaml").write_text(PARAMS)
    (root / ".gitignore").write_text("/runs/\n/mlflow/\n/data/raw/\n/data/truth/\n")
    # Seed 2 puts both behaviours in the training and the test videos (training needs both).
    small_lab(root / "data/raw", root / "data/truth", LAB_CONDITIONS, videos=3, minutes=0.5, seed=2)
    env = {
        **os.environ,
        # `ethoflow` as installed beside this interpreter, as `make repro` arranges.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(root.parent / "prefect"),
        # The stages' flows run on the test Prefect API: no temporary server started per stage.
        "PREFECT_API_URL": prefect_api,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            args, cwd=root, env=env, capture_output=True, text=True, timeout=1200
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "init", "-q")
    run(sys.executable, "-m", "dvc", "config", "core.analytics", "false")
    first = run(sys.executable, "-m", "dvc", "repro")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "pipeline")
    return root, run, first


def dvc(run, *args: str) -> str:
    return run(sys.executable, "-m", "dvc", *args)


def test_repro_runs_the_three_stages_and_locks_them(project):
    root, run, first = project
    for stage in ("ingest", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    assert lock["ingest"]["cmd"] == "ethoflow ingest --params params.yaml"
    assert {d["path"] for d in lock["ingest"]["deps"]} >= {"data/raw", "flows/ingest.py"}
    assert lock["train"]["params"]["params.yaml"]["train"]["n_trials"] == 1
    assert {d["path"] for d in lock["evaluate"]["deps"]} >= {"reports/train.json"}
    trained = json.loads((root / "reports/train.json").read_text())
    assert [(t["head"], t["architecture"]) for t in trained] == [
        ("grooming", "tcn"),
        ("rearing", "tcn"),
    ]
    assert "didn't change, skipping" in dvc(run, "repro")


def test_metrics_and_plots_show_the_evaluation(project):
    root, run, _ = project
    metrics = json.loads((root / "reports/metrics.json").read_text())
    grooming = metrics["grooming"]["tcn"]
    assert grooming["version"] == 1
    assert set(grooming) >= {"worst_condition_pr_auc", "all", "condition_1", "condition_3"}
    shown = dvc(run, "metrics", "show")
    assert "reports/metrics.json" in shown
    assert "grooming.tcn.worst_condition_pr_auc" in shown or "worst_condition_pr_auc" in shown
    assert f"{grooming['all']['recall']:.5g}"[:4] in shown
    assert any((root / "reports/pr_curves").glob("grooming_tcn_*.csv"))
    dvc(run, "plots", "show", "-o", str(root.parent / "plots"))
    assert (root.parent / "plots" / "index.html").is_file()


def test_exp_run_reruns_only_what_depends_on_the_changed_parameter(project):
    root, run, _ = project
    # Post-processing is a parameter of evaluate alone: ingest and train are not rerun, the same
    # model versions are scored again with the new smoothing.
    out = dvc(run, "exp", "run", "--set-param", "postprocess.median_frames=5")
    assert "Stage 'ingest' didn't change, skipping" in out
    assert "Stage 'train' didn't change, skipping" in out
    assert "Running stage 'evaluate'" in out
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert metrics["grooming"]["tcn"]["version"] == 1
    # Quoted: the search space's lists hold commas.
    table = csv.DictReader(io.StringIO(dvc(run, "exp", "show", "--csv")))
    assert {row["postprocess.median_frames"] for row in table} == {"3", "5"}


ROOT = Path(__file__).resolve().parents[2]


def _ethoflow_modules(path: Path, seen: set[Path]) -> set[Path]:
    """Files of every ethoflow module ``path`` imports, transitively (also inside functions)."""
    import ast

    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ethoflow"):
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("ethoflow")]
        for name in names:
            parts = name.split(".")[1:]
            base = ROOT / "flows" if parts[:1] == ["flows"] else ROOT / "src" / "ethoflow"
            parts = parts[1:] if parts[:1] == ["flows"] else parts
            for candidate in (
                base.joinpath(*parts).with_suffix(".py"),
                base.joinpath(*parts, "__init__.py"),
            ):
                if candidate.is_file() and candidate not in seen:
                    seen.add(candidate)
                    _ethoflow_modules(candidate, seen)
    return seen


@pytest.mark.parametrize("stage", ["ingest", "train", "evaluate"])
def test_every_module_a_stage_runs_is_among_its_deps(stage):
    """A change anywhere in the code a stage runs re-runs the stage (`dvc repro`)."""
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["deps"]
    covered = [ROOT / dep for dep in deps]
    entry = ROOT / "flows" / f"{stage}.py"
    files = _ethoflow_modules(entry, {entry})
    missing = sorted(
        str(f.relative_to(ROOT)) for f in files if not any(f.is_relative_to(d) for d in covered)
    )
    assert not missing, f"dvc.yaml's {stage} stage does not depend on {missing}"
