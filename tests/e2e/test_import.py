"""A lab's folder in one command (issue 35's acceptance): six recordings, mp4 and avi, labelled
with three other tools and ours, one pair broken; `ethoflow import` brings five in, refuses one
with its reason, pushes them to the DVC remote, `ethoflow retrain` trains on them, and a second
import brings nothing."""

import hashlib
import importlib
import os
import shutil
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from ethoflow.cli import app
from ethoflow.config import load_settings
from ethoflow.io.interchange import write_label_file
from ethoflow.io.labels import read_labels
from helpers.champions import assert_exit
from helpers.labs import small_lab
from helpers.retrain import LAB_CONDITIONS, PARAMS

runner = CliRunner()
# Each recording's name, container and the tool its labels come from.
RECORDINGS = [
    ("mouse1", ".mp4", "ethoflow"),
    ("mouse2", ".avi", "boris"),
    ("mouse3", ".mp4", "bouts"),
    ("mouse4", ".avi", "deepethogram"),
    ("mouse5", ".mp4", "ethoflow"),  # broken: a 2 among its labels
    ("mouse6", ".mp4", "bouts"),
]
LABEL_NAMES = {
    "ethoflow": "{}.csv",
    "boris": "{}.boris.tsv",
    "bouts": "{}.bouts.csv",
    "deepethogram": "{}.deepethogram.csv",
}


def _as_avi(mp4: Path, avi: Path) -> None:
    """The same frames in an AVI container (Motion JPEG), as many lab cameras write."""
    reader = cv2.VideoCapture(str(mp4))
    fps = reader.get(cv2.CAP_PROP_FPS)
    writer = None
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        writer.write(frame)
    reader.release()
    assert writer is not None, mp4
    writer.release()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    """The lab's folder: the six recordings with their label files beside them."""
    drawn = tmp_path_factory.mktemp("drawn")
    # Seed 2 puts both behaviours in the training and the test videos (training needs both).
    small_lab(drawn / "raw", drawn / "truth", LAB_CONDITIONS[:1], videos=6, minutes=0.3, seed=2)
    videos = sorted((drawn / "raw" / LAB_CONDITIONS[0].name).glob("*.mp4"))
    folder = tmp_path_factory.mktemp("lab")
    for (name, container, tool), source in zip(RECORDINGS, videos, strict=True):
        if container == ".avi":
            _as_avi(source, folder / f"{name}.avi")
        else:
            shutil.copy(source, folder / f"{name}.mp4")
        labels = read_labels(source.with_suffix(".csv"))
        fps = LAB_CONDITIONS[0].fps
        write_label_file(labels, folder / LABEL_NAMES[tool].format(name), tool, fps=fps)
    broken = folder / "mouse5.csv"
    rows = broken.read_text().splitlines()
    rows[10] = "2" + rows[10][1:]
    broken.write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """params.yaml of the quickest retrain, in a DVC repository with a local default remote."""
    from dvc.repo import Repo

    root = tmp_path_factory.mktemp("import") / "project"
    root.mkdir()
    (root / "params.yaml").write_text(PARAMS)
    Repo.init(str(root), no_scm=True).close()
    (root / ".dvc" / "config").write_text(
        "[core]\n    no_scm = true\n    analytics = false\n    remote = local\n"
        "['remote \"local\"']\n    url = ../../remote\n"
    )
    return root


def _run(*arguments: str) -> object:
    """``ethoflow ARGUMENTS`` in this process, leaving no environment variable behind."""
    saved = dict(os.environ)
    try:
        return runner.invoke(app, list(arguments))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow  # a retrain on what was imported
def test_one_import_brings_five_in_refuses_one_and_retrain_learns_from_them(
    lab, project, prefect_harness
):
    params = str(project / "params.yaml")
    settings = load_settings(project / "params.yaml")
    folder = settings.paths.raw / "cage_a"

    result = _run("import", str(lab), "--condition", "cage_a", "--params", params)
    assert_exit(result, 1)  # one pair refused
    lines = result.output.splitlines()
    assert sum(line.startswith("imported  ") for line in lines) == 5
    (refused,) = [line for line in lines if line.startswith("refused")]
    assert "mouse5.mp4: labels mouse5.csv: column 'Grooming' has values outside {0,1}: 2" in (
        refused
    )
    assert "cage_a: imported 5, skipped 0 (already imported), refused 1" in result.output
    expected = {f"{name}{container}" for name, container, _ in RECORDINGS if name != "mouse5"}
    expected |= {f"{name}.csv" for name, _, _ in RECORDINGS if name != "mouse5"}
    assert {p.name for p in folder.iterdir()} == expected
    # On the remote: every imported file, by the content hash DVC stores it under.
    remote = project.parent / "remote" / "files" / "md5"
    for path in folder.iterdir():
        digest = _md5(path)
        assert (remote / digest[:2] / digest[2:]).is_file(), path.name
    assert "pushed 11 files to the default remote" in result.output  # 10 + the folder's list

    importlib.import_module("ethoflow.flows.retrain")  # see helpers.champions.run_label
    retrained = _run("retrain", "--params", params)
    assert_exit(retrained, 0)
    assert "grooming: promoted" in retrained.output and "rearing: promoted" in retrained.output
    manifest = (settings.paths.features / "manifest.csv").read_text()
    assert manifest.count("cage_a") >= 5 and "mouse5" not in manifest

    again = _run("import", str(lab), "--condition", "cage_a", "--params", params)
    assert_exit(again, 1)  # the broken pair is still refused
    assert "imported 0, skipped 5 (already imported), refused 1 — nothing new" in again.output
    assert "pushed 0 files" in again.output
    assert {p.name for p in folder.iterdir()} == expected


def test_a_dry_run_writes_nothing_and_without_dvc_the_import_stops_before_it(lab, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\n")
    source = str(lab / "mouse3.mp4")
    dry = _run("import", source, "--condition", "cage_a", "--params", str(params), "--dry-run")
    assert_exit(dry, 0)
    assert dry.output.startswith("would import  ")
    assert "would import 1, skipped 0 (already imported), refused 0" in dry.output
    assert "dry run: nothing was written" in dry.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]

    pushed = _run("import", source, "--condition", "cage_a", "--params", str(params))
    assert_exit(pushed, 2)
    assert "not inside of a DVC repository" in pushed.output
    assert "run `dvc init` there (or pass --no-push)" in pushed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]

    kept = _run("import", source, "--condition", "cage_a", "--params", str(params), "--no-push")
    assert_exit(kept, 0)
    assert "not versioned (--no-push)" in kept.output
    assert (tmp_path / "data" / "raw" / "cage_a" / "mouse3.csv").is_file()
