"""A project for the review loop (issue 36): champions trained on one lab set-up, and a new
set-up's recordings, one unlabelled (with its truth) and one fully labelled to hold out;
``ethoflow adapt`` run in this process."""

from __future__ import annotations

import importlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from ethoflow.cli import app
from ethoflow.config import load_settings
from ethoflow.io.labels import read_labels
from ethoflow.io.video import VideoReader
from ethoflow.synth.conditions import HELD_OUT_CONDITION
from ethoflow.synth.reviewer import Truth
from helpers.labs import small_lab
from helpers.retrain import LAB_CONDITIONS, PARAMS

SETUP = "cage_new"
TRAINED = LAB_CONDITIONS[:1]  # one trained set-up keeps the retrains short

runner = CliRunner()


@dataclass(frozen=True)
class AdaptProject:
    params: Path
    recordings: Path  # the new set-up's unlabelled recording
    holdout: Path  # its fully labelled one
    truth: dict[str, Truth]  # video stem → its truth, for the recordings


def adapt_project(root: Path) -> AdaptProject:
    """Champions of a lab set-up retrained in ``root`` (params.yaml: ``PARAMS``); the new
    set-up's recordings beside. Needs Prefect's test API. tests/e2e/conftest.py's
    ``adapt_champions`` makes it once a session: its tests change a ``copy_project``."""
    from ethoflow.flows.retrain import retrain_flow

    params = root / "params.yaml"
    params.write_text(PARAMS)
    s = load_settings(params)
    # test_import's lab (drawn once a session): both behaviours in training and test videos.
    small_lab(s.paths.raw, s.paths.truth, TRAINED, videos=6, minutes=0.3, seed=2)
    retrain_flow(params=str(params), budget=s.train.budget)
    drawn = root / "new"
    small_lab(drawn, root / "truth", (HELD_OUT_CONDITION,), videos=2, minutes=0.3, seed=11)
    *new, held = sorted((drawn / HELD_OUT_CONDITION.name).glob("*.mp4"))
    recordings, holdout = root / "recordings", root / "holdout"
    recordings.mkdir()
    holdout.mkdir()
    truth = {}
    for video in new:
        shutil.copy(video, recordings / video.name)
        labels = read_labels(video.with_suffix(".csv"))
        truth[video.stem] = Truth(labels, VideoReader(video).fps)
    shutil.copy(held, holdout / held.name)
    shutil.copy(held.with_suffix(".csv"), holdout / held.with_suffix(".csv").name)
    return AdaptProject(params, recordings, holdout, truth)


def copy_project(project: AdaptProject, root: Path, extra_params: str = "") -> AdaptProject:
    """``project`` copied to ``root`` (its paths are relative to params.yaml's folder), with
    ``extra_params`` added to its params.yaml.

    The copied MLflow database still puts its experiments' artifacts in ``project``'s folder:
    the champions' are read there, never changed; new runs add their own, named by run id.
    """
    source = project.params.parent
    shutil.copytree(source, root, dirs_exist_ok=True)
    params = root / "params.yaml"
    params.write_text(PARAMS + extra_params)
    return AdaptProject(
        params,
        root / project.recordings.relative_to(source),
        root / project.holdout.relative_to(source),
        project.truth,
    )


def run_adapt(project: AdaptProject, *options: str) -> Result:
    """``ethoflow adapt SETUP --recordings … --holdout … OPTIONS`` in this process, leaving no
    environment variable behind (see helpers.champions.run_label)."""
    importlib.import_module("ethoflow.flows.adapt")
    arguments = ["adapt", SETUP, "--recordings", str(project.recordings)]
    arguments += ["--holdout", str(project.holdout), "--params", str(project.params)]
    saved = dict(os.environ)
    try:
        return runner.invoke(app, [*arguments, *options])
    finally:
        os.environ.clear()
        os.environ.update(saved)
