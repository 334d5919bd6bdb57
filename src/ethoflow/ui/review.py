"""The review queue in the web UI: the stretches to show, and the reviewer's answers saved.

The ranking and the answers' meaning are :mod:`ethoflow.labelling.review_queue` (the ``adapt``
flow uses them too). Answers (confirm or correct a stretch) are kept as a list of decisions in
the app's folder; after each one they are exported as a *partial* label file in the project's
format (``Grooming``, ``Rearing``, one row per frame of the source video): the answer on the
answered stretch's frames for its behaviour, every other cell empty (unknown,
:mod:`ethoflow.io.labels`), so the model's guesses never pass for a person's. The file sits
beside a copy of the video, one pair per reviewed video (:func:`answered_recordings`)::

    <app data>/review/<labels folder>-<8 hex digits>/
        decisions.json      the answers, in order, with who gave them and when
        <video>.<ext>       the source video (a hard link where possible)
        <video>.csv         the partial labels

``ethoflow import`` takes such a folder (or the ``review`` folder) as a source and brings the
pairs into ``data/raw/<condition>/``, where the next retrain learns from the answered frames and
masks the rest.

A set-up being adapted (``ethoflow adapt``, :mod:`ethoflow.labelling.adaptation`) shows its
progress on the page (:func:`setup_progress`), and a maintainer starts its next round there
(:func:`start_round`): ``ethoflow adapt`` in a background process, its output in
``<app data>/adapt/<set-up>-<UTC time>.log``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.config import Settings
from ethoflow.io.atomic import write_json
from ethoflow.labelling.adaptation import minutes_reviewed, setup_answers
from ethoflow.labelling.review_queue import DECISIONS_FILE as DECISIONS_FILE
from ethoflow.labelling.review_queue import Answer, Labelled, Stretch, export_answers
from ethoflow.labelling.review_queue import answered_labels as answered_labels
from ethoflow.labelling.review_queue import read_decisions as read_decisions
from ethoflow.labelling.review_queue import review_stretches as review_stretches
from ethoflow.labelling.review_queue import source_frame_labels as source_frame_labels


def clip_rows(
    stretch: Stretch, labelled: Labelled, context_s: float = 0.5, max_rows: int = 150
) -> list[int]:
    """The rows to show for ``stretch``: itself with ``context_s`` before and after, at most
    ``max_rows`` of them spread evenly (a long stretch plays faster rather than take long to
    draw)."""
    context = round(context_s * labelled.fps)
    start = max(0, stretch.start - context)
    stop = min(len(labelled.table), stretch.stop + context)
    if stop - start <= max_rows:
        return list(range(start, stop))
    return sorted({round(r) for r in np.linspace(start, stop - 1, max_rows)})


def stretches_table(stretches: list[Stretch]) -> pd.DataFrame:
    """The queue as a table, in rank order."""
    columns = ["head", "start", "stop", "start_s", "end_s", "label", "score", "reasons"]
    return pd.DataFrame([asdict(s) for s in stretches], columns=columns)


def review_folder(data: Path, labelled: Labelled) -> Path:
    """Where a video's review lives: ``<app data>/review/<labels folder>-<8 hex digits>/``, the
    digits from the labels folder's path (the outbox and the app's own labels may both hold a
    ``m1``)."""
    tag = hashlib.sha256(str(labelled.folder.resolve()).encode()).hexdigest()[:8]
    return Path(data) / "review" / f"{labelled.folder.name}-{tag}"


def decide(labelled: Labelled, stretch: Stretch, value: int, data: Path, *, reviewer: str) -> Path:
    """Record that ``reviewer`` (:func:`ethoflow.runtime.users.web_user`) says ``stretch``
    shows ``stretch.head`` (``value`` 1) or not (0): a confirmation when it equals the label, a
    correction otherwise. Then export the answers so far (:func:`export`) and return the label
    file's path."""
    if value not in (0, 1):
        raise ValueError(f"value must be 0 or 1, got {value}")
    folder = review_folder(data, labelled)
    decisions = read_decisions(folder)
    decisions.append(
        {
            "head": stretch.head,
            "start": stretch.start,
            "stop": stretch.stop,
            "start_s": stretch.start_s,
            "end_s": stretch.end_s,
            "value": value,
            "was": stretch.label,
            "reviewer": reviewer,
            "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    write_json(decisions, folder / DECISIONS_FILE)
    return export(labelled, decisions, folder)


def export(labelled: Labelled, decisions: list[dict], folder: Path) -> Path:
    """Write the partial label file of ``decisions`` and a copy of the video into ``folder``
    (:func:`~ethoflow.labelling.review_queue.export_answers`); return the label file."""
    video = labelled.video.stem
    answers = [
        Answer(video, d["head"], d["start_s"], d["end_s"], d["value"], d["reviewer"])
        for d in decisions
    ]
    return export_answers(labelled, answers, folder)


def answered_recordings(data: Path) -> list[tuple[Path, Path]]:
    """Each reviewed video's ``(video, partial label file)`` pair under ``<data>/review/``
    (see the module for the layout), sorted: what ``ethoflow import`` brings into
    ``data/raw/<condition>/`` for the next retrain."""
    pairs = []
    for decisions in sorted((Path(data) / "review").glob(f"*/{DECISIONS_FILE}")):
        folder = decisions.parent
        for labels in sorted(folder.glob("*.csv")):
            videos = [p for p in folder.iterdir() if p.stem == labels.stem and p != labels]
            if len(videos) == 1:
                pairs.append((videos[0], labels))
    return pairs


@dataclass(frozen=True)
class SetupProgress:
    """A set-up's review loop so far: the answers on its recordings in the app's review folder,
    and its rounds (:func:`ethoflow.mlops.adaptation.setup_rounds`)."""

    setup: str
    stretches_answered: int
    minutes_answered: float
    rounds: list[dict[str, float]]

    def rounds_table(self, heads: Sequence[str]) -> pd.DataFrame:
        """One row per round: minutes reviewed, stretches, and each head's F1 and PR-AUC on the
        set-up after it, and whether it was promoted."""
        columns = {"round": "round", "minutes_reviewed": "minutes reviewed"}
        columns["stretches_answered"] = "stretches"
        for head in heads:
            columns[f"{self.setup}.{head}.f1"] = f"{head} F1"
            columns[f"{self.setup}.{head}.pr_auc"] = f"{head} PR-AUC"
            columns[f"{head}.promoted"] = f"{head} promoted"
        table = pd.DataFrame(self.rounds, columns=list(columns)).rename(columns=columns)
        table[["round", "stretches"]] = table[["round", "stretches"]].astype(int)
        for head in heads:
            table[f"{head} promoted"] = table[f"{head} promoted"].map({1.0: "yes", 0.0: "no"})
        return table


def setup_progress(settings: Settings, setup: str, data: Path) -> SetupProgress:
    """``setup``'s progress: the answers saved under ``<data>/review`` on its recordings, and
    its rounds read from the settings' MLflow store."""
    from mlflow import MlflowClient

    from ethoflow.mlops.adaptation import setup_rounds

    answers = setup_answers(settings, setup, Path(data) / "review")
    rounds = setup_rounds(setup, MlflowClient(settings.tracking_uri))
    return SetupProgress(setup, len(answers), minutes_reviewed(answers), rounds)


def start_round(
    params: Path, setup: str, sources: dict, data: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``ethoflow adapt`` for ``setup``'s next round on its last round's folders
    (``sources``, :func:`~ethoflow.labelling.adaptation.adapted_setups`) and the answers in the
    app's review folder (the command's default), in the background; return it and its log.

    It outlives the page but not the server: in the server's process group, it stops with it
    (what was labelled and trained is kept), as the server would no longer show it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = Path(data) / "adapt" / f"{setup}-{stamp}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ethoflow.cli", "adapt", setup]
    command += ["--recordings", sources["recordings"], "--params", str(params)]
    if sources["holdout"]:
        command += ["--holdout", sources["holdout"]]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log
