"""One round of adapting the models to a new camera set-up (``ethoflow adapt``), its pure steps.

A round labels the set-up's new recordings with the champions, ranks their stretches for review
(:mod:`ethoflow.labelling.review_queue`), and turns the answers given so far into partial labels:
the answered stretches known, every other frame unknown. Imported under ``<raw>/<set-up>/``
beside the set-up's fully labelled held-out recordings, they are trained on at the next retrain,
and the held-out ones judge it (the split puts a fully labelled recording of each set-up in
validation first, :mod:`ethoflow.data.split`). A round's files::

    <paths.runs>/adapt/<set-up>/
        sources.json    the recordings and held-out folders of the last round (the web UI's
                        review page starts the next round on them)
        queue.csv       every stretch of the recordings, most unsure first
        answered/       <video>.<ext> and its partial <video>.csv, one pair per answered video
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd

from ethoflow.config import Settings
from ethoflow.io.atomic import write_csv, write_json
from ethoflow.io.labels import BEHAVIOURS, read_labels
from ethoflow.io.video import VIDEO_SUFFIXES
from ethoflow.labelling.review_queue import (
    Answer,
    export_answers,
    labelled_outputs,
    queue_table,
    read_answers,
    review_stretches,
)

QUEUE_FILE = "queue.csv"
ANSWERED_FOLDER = "answered"
SOURCES_FILE = "sources.json"


def adapt_folder(settings: Settings, setup: str) -> Path:
    """Where a set-up's rounds keep their queue and answered labels."""
    return settings.paths.runs / "adapt" / setup


def write_sources(settings: Settings, setup: str, recordings: Path, holdout: Path | None) -> None:
    """Keep the folders of ``setup``'s round: the next one, started from the web UI, takes the
    same."""
    sources = {"recordings": str(recordings), "holdout": str(holdout) if holdout else None}
    write_json(sources, adapt_folder(settings, setup) / SOURCES_FILE)


def adapted_setups(settings: Settings) -> dict[str, dict]:
    """The set-ups a round was run for, by name: their last round's folders (``recordings``,
    ``holdout`` or None), as :func:`write_sources` kept them."""
    found = sorted((settings.paths.runs / "adapt").glob(f"*/{SOURCES_FILE}"))
    return {path.parent.name: json.loads(path.read_text()) for path in found}


def setup_answers(settings: Settings, setup: str, review: Path) -> list[Answer]:
    """The answers in the web UI's review folder ``review`` on ``setup``'s recordings (the
    videos of its last queue)."""
    queue = adapt_folder(settings, setup) / QUEUE_FILE
    if not queue.is_file() or not review.is_dir():
        return []
    videos = set(pd.read_csv(queue, dtype={"video": str}).video)
    return [a for a in read_answers(review) if a.video in videos]


def write_review_queue(labelled_folders: list[Path], path: Path) -> pd.DataFrame:
    """Rank every stretch of the labelled videos in ``labelled_folders`` for review, most unsure
    first (videos named by their file's stem, as answers name them); write it to ``path``."""
    stretches = {}
    for folder in labelled_folders:
        labelled = labelled_outputs(folder)
        stretches[labelled.video.stem] = review_stretches(labelled, limit=None)
    queue = queue_table(stretches)
    write_csv(queue, path)
    return queue


def answers_on(answers: list[Answer], labelled_folders: list[Path]) -> list[Answer]:
    """The ``answers`` about the videos labelled in ``labelled_folders`` (the web UI's review
    folder holds answers on other set-ups' videos too)."""
    videos = {labelled_outputs(folder).video.stem for folder in labelled_folders}
    return [a for a in answers if a.video in videos]


def write_answered_labels(
    answers: list[Answer], labelled_folders: list[Path], folder: Path
) -> list[Path]:
    """Replace ``folder``'s content with each answered video (a hard link where possible) and its
    partial labels (:func:`~ethoflow.labelling.review_queue.export_answers`); return the label
    files. ``answers`` are about videos of ``labelled_folders`` (:func:`answers_on`)."""
    labelled = {}
    for labelled_folder in labelled_folders:
        outputs = labelled_outputs(labelled_folder)
        labelled[outputs.video.stem] = outputs
    # Rebuilt every round: a video whose answers were withdrawn leaves no stale labels behind.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = []
    for video in sorted({a.video for a in answers}):
        mine = [a for a in answers if a.video == video]
        paths.append(export_answers(labelled[video], mine, folder))
    return paths


def minutes_reviewed(answers: list[Answer]) -> float:
    """The video a reviewer watched to give ``answers``, in minutes."""
    return sum(a.seconds for a in answers) / 60


def fully_labelled_recordings(folder: Path) -> list[Path]:
    """The videos in ``folder`` whose label file beside them labels every frame."""
    videos = sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    full = []
    for video in videos:
        labels = video.with_suffix(".csv")
        if labels.is_file() and read_labels(labels)[list(BEHAVIOURS)].notna().all(axis=None):
            full.append(video)
    return full


def condition_scores(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per condition of an evaluation table (:func:`ethoflow.evaluation.metrics.evaluate_videos`):
    the post-processed labels' ``f1`` and the probabilities' ``pr_auc`` (None where undefined)."""
    rows = table[table.scope == "condition"]
    scores: dict[str, dict[str, float | None]] = {}
    for row in rows.itertuples(index=False):
        metric = "f1" if row.postprocessed else "pr_auc"
        value = float(getattr(row, metric))
        scores.setdefault(str(row.name), {})[metric] = value if math.isfinite(value) else None
    return scores


def round_text(summary: dict) -> str:
    """A round's summary (the adapt flow's result) in a few lines: minutes reviewed, the set-up's
    F1 per head before → after, promoted or not and why."""
    setup = summary["setup"]
    lines = [f"review queue: {summary['stretches_ranked']} stretches in {summary['queue']}"]
    answered = (
        f"{summary['stretches_answered']} stretches answered, "
        f"{summary['minutes_reviewed']:.2f} minutes of video reviewed"
    )
    if not summary["retrained"]:
        return "\n".join([*lines, f"{answered}; not retrained: {summary['why']}"])
    lines.append(f"round {summary['round']} of {setup}: {answered}")
    for head, decision in summary["decisions"].items():
        before = summary["before"][head].get(setup, {}).get("f1")
        after = summary["after"][head].get(setup, {}).get("f1")
        verdict = "promoted" if decision["promoted"] else "not promoted"
        change = f"{setup} F1 {_shown(before)} → {_shown(after)}"
        lines.append(f"{head}: {change}, {verdict}: {decision['reason']}")
    for problem in summary["import"]["refused"]:
        lines.append(f"refused: {problem}")
    lines.append(f"MLflow: run {summary['run_id']} of the ethoflow-adapt experiment")
    return "\n".join(lines)


def _shown(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
