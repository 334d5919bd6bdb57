"""The review queue: where a labelled video's labels are least sure, and the reviewer's answers.

A stretch is worth a look when the probability sits near the head's threshold, when the raw
thresholded labels and the post-processed ones disagree (the smoothing changed them), or when a
bout is short. Stretches are ranked by how unsure the model was in them.

Answers (confirm or correct a stretch) are kept as a list of decisions in the app's folder; after
each one they are exported as a *partial* label file in the project's format (``Grooming``,
``Rearing``, one row per frame of the source video): the answer on the answered stretch's frames
for its behaviour, every other cell empty (unknown, :mod:`ethoflow.io.labels`), so the model's
guesses never pass for a person's. The file sits beside a copy of the video, one pair per
reviewed video (:func:`answered_recordings`)::

    <app data>/review/<labels folder>-<8 hex digits>/
        decisions.json      the answers, in order, with who gave them and when
        <video>.<ext>       the source video (a hard link where possible)
        <video>.csv         the partial labels

``ethoflow import`` takes such a folder (or the ``review`` folder) as a source and brings the
pairs into ``data/raw/<condition>/``, where the next retrain learns from the answered frames and
masks the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.io.atomic import atomic_path, write_json
from ethoflow.io.interchange import write_label_file
from ethoflow.io.labels import BEHAVIOURS, bouts
from ethoflow.io.video import VideoReader
from ethoflow.ui.results import Labelled

DECISIONS_FILE = "decisions.json"


@dataclass(frozen=True)
class Stretch:
    """Rows ``start`` to ``stop`` (half-open) of a labelled video's table, for one behaviour."""

    head: str
    start: int
    stop: int
    start_s: float
    end_s: float
    label: int  # what the labels say in most of the stretch (0 or 1)
    score: float  # higher: less sure
    reasons: str


def review_stretches(
    labelled: Labelled,
    *,
    margin: float = 0.15,
    short_s: float = 1.0,
    context_s: float = 0.5,
    limit: int = 20,
) -> list[Stretch]:
    """The ``limit`` least sure stretches of ``labelled``, most unsure first.

    A frame is a candidate when its probability is within ``margin`` of the threshold, when
    raw (``probability >= threshold``) and post-processed labels differ, or when it is in a
    bout shorter than ``short_s``; candidate runs closer than ``context_s`` are merged (the
    reviewer sees that much before and after: :func:`clip_rows`). Score: the mean closeness of
    the probability to
    the threshold (1 at the threshold, 0 at 0 or 1), plus 0.5 if the labels disagree, plus 0.25
    for a short bout.
    """
    table, fps = labelled.table, labelled.fps
    context = max(1, round(context_s * fps))
    stretches = []
    for head, threshold in labelled.thresholds.items():
        probability = table[f"{head}_probability"].to_numpy(float)
        labels = table[head].to_numpy(int)
        raw = (probability >= threshold).astype(int)
        closeness = 1 - np.abs(probability - threshold) / max(threshold, 1 - threshold)
        disagree = raw != labels
        short = np.zeros(len(table), bool)
        for start, stop in bouts(labels):
            if stop - start < short_s * fps:
                short[start:stop] = True
        near = np.abs(probability - threshold) < margin
        # Closing gaps shorter than the context joins pieces of one unsure moment.
        candidate = _close_gaps(near | disagree | short, context)
        for start, stop in bouts(candidate.astype(np.int8)):
            part = slice(start, stop)
            reasons = [
                name
                for name, flag in (
                    ("probability near the threshold", near[part].any()),
                    ("smoothing changed the labels", disagree[part].any()),
                    ("short bout", short[part].any()),
                )
                if flag
            ]
            score = closeness[part].mean() + 0.5 * disagree[part].any() + 0.25 * short[part].any()
            stretches.append(
                Stretch(
                    head,
                    start,
                    stop,
                    round(start / fps, 2),
                    round(stop / fps, 2),
                    int(labels[part].mean() >= 0.5),
                    round(float(score), 3),
                    ", ".join(reasons),
                )
            )
    stretches.sort(key=lambda s: (-s.score, s.head, s.start))
    return stretches[:limit]


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


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    closed = mask.copy()
    runs = bouts(mask.astype(np.int8))
    for (_, stop), (start, _) in zip(runs, runs[1:], strict=False):
        if start - stop < gap:
            closed[stop:start] = True
    return closed


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


def read_decisions(folder: Path) -> list[dict]:
    """The decisions made so far on a video (empty before the first)."""
    import json

    path = Path(folder) / DECISIONS_FILE
    return json.loads(path.read_text()) if path.is_file() else []


def answered_labels(labelled: Labelled, decisions: list[dict]) -> pd.DataFrame:
    """The answers on the labels' clock: ``frame`` and a nullable ``Int8`` column per behaviour,
    the answer on each answered stretch's rows for its behaviour (the latest answer where two
    overlap), unknown (<NA>) everywhere else."""
    table = pd.DataFrame({"frame": labelled.table.frame})
    for behaviour in BEHAVIOURS:
        table[behaviour] = pd.Series(pd.NA, index=table.index, dtype="Int8")
    for decision in decisions:
        rows = table.index[decision["start"] : decision["stop"]]
        table.loc[rows, decision["head"]] = int(decision["value"])
    return table


def source_frame_labels(table: pd.DataFrame, frame_count: int) -> pd.DataFrame:
    """Labels on the labels' clock (``frame`` and the behaviours) back on the source video's
    frames, unknown kept: each frame takes the label of the last row showing it or an earlier
    frame (30 fps: frames 0, 1, 2 take row 0's; a 5 fps camera's frame, shown by two rows, the
    second's)."""
    shown = table.frame.to_numpy(int)
    rows = np.searchsorted(shown, np.arange(frame_count), side="right") - 1
    rows = np.clip(rows, 0, len(table) - 1)
    return table[list(BEHAVIOURS)].iloc[rows].reset_index(drop=True)


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
            "value": value,
            "was": stretch.label,
            "reviewer": reviewer,
            "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    write_json(decisions, folder / DECISIONS_FILE)
    return export(labelled, decisions, folder)


def export(labelled: Labelled, decisions: list[dict], folder: Path) -> Path:
    """Write the partial label file ``<video>.csv`` of ``decisions`` (:func:`answered_labels`
    on the source video's frames) and a copy (a hard link where possible) of the video into
    ``folder``, atomically; return the label file."""
    video = labelled.video
    frame_count = VideoReader(video).frame_count
    table = source_frame_labels(answered_labels(labelled, decisions), frame_count)
    target = Path(folder) / f"{video.stem}{video.suffix.lower()}"
    if not target.is_file():
        with atomic_path(target) as tmp:
            try:
                os.link(video, tmp)  # no second copy of a large file on the same disk
            except OSError:
                shutil.copyfile(video, tmp)
    path = Path(folder) / f"{video.stem}.csv"
    write_label_file(table, path, "ethoflow")
    return path


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
