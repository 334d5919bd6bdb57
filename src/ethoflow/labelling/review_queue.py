"""The review queue's pure part: where a labelled video's labels are least sure, and the answers.

A stretch is worth a look when the probability sits near the head's threshold, when the raw
thresholded labels and the post-processed ones disagree (the smoothing changed them), or when a
bout is short; a bout the model is sure of is offered whole, to confirm. Stretches are ranked by
how unsure the model was in them, the behaviours taking turns (:func:`in_turns`).

An answer is a person's yes (1) or no (0) for one behaviour over a whole stretch. Answers come from
the web UI's review queue (a ``decisions.json`` per reviewed video, :mod:`ethoflow.ui.review`) or
from an answer file (CSV: ``video, head, start_s, end_s, value, reviewer``); :func:`read_answers`
reads both into the same :class:`Answer` records, and :func:`answered_labels` turns a video's
answers into partial labels: the answered stretches known, every other frame unknown.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path
from ethoflow.io.interchange import write_label_file
from ethoflow.io.labels import BEHAVIOURS, bouts
from ethoflow.io.video import VIDEO_SUFFIXES, VideoReader
from ethoflow.labelling.recording import ETHOGRAM_FILE, LABELS_FILE, SUMMARY_FILE

DECISIONS_FILE = "decisions.json"
ANSWER_COLUMNS = ("video", "head", "start_s", "end_s", "value", "reviewer")
QUEUE_COLUMNS = ("video", "head", "start_s", "end_s", "label", "score", "reasons")


@dataclass(frozen=True)
class Labelled:
    """One labelled video's outputs, as written by
    :func:`ethoflow.labelling.recording.label_video`."""

    folder: Path
    table: pd.DataFrame  # labels.csv
    summary: dict  # summary.json

    @property
    def video_id(self) -> str:
        return self.summary["video_id"]

    @property
    def heads(self) -> list[str]:
        return list(self.summary["heads"])

    @property
    def fps(self) -> float:
        return float(self.summary["clock_fps"])

    @property
    def video(self) -> Path:
        return Path(self.summary["source"])

    @property
    def ethogram(self) -> Path:
        return self.folder / ETHOGRAM_FILE

    @property
    def thresholds(self) -> dict[str, float]:
        return {head: float(m["threshold"]) for head, m in self.summary["models"].items()}


def labelled_outputs(folder: Path) -> Labelled:
    """The labels and summary a labelling run wrote in ``folder``."""
    folder = Path(folder)
    table = pd.read_csv(folder / LABELS_FILE)
    summary = json.loads((folder / SUMMARY_FILE).read_text())
    return Labelled(folder, table, summary)


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
    limit: int | None = 20,
) -> list[Stretch]:
    """The first ``limit`` (None: all) stretches of ``labelled`` to review: most unsure first,
    the behaviours taking turns (:func:`in_turns`).

    A frame is a candidate when its probability is within ``margin`` of the threshold, when
    raw (``probability >= threshold``) and post-processed labels differ, or when it is in a
    bout shorter than ``short_s``; candidate runs closer than ``context_s`` are merged (the
    reviewer sees that much before and after). A bout with no candidate frame is a stretch too,
    with ``context_s`` either side, to confirm. Score: the mean closeness of the probability to
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
        unsure = bouts(candidate.astype(np.int8))
        # A bout the model is sure of, offered whole with its context for a yes or no: its
        # confident misses (a bout cut short, a threshold too high for this set-up) make no frame
        # unsure, so nothing else would ever show them to a reviewer.
        confirm = [
            (max(0, start - context), min(len(table), stop + context), True)
            for start, stop in bouts(labels)
            if not candidate[start:stop].any()
        ]
        for start, stop, sure in [(*run, False) for run in unsure] + confirm:
            part = slice(start, stop)
            reasons = [
                name
                for name, flag in (
                    ("probability near the threshold", near[part].any()),
                    ("smoothing changed the labels", disagree[part].any()),
                    ("short bout", short[part].any()),
                    ("a sure bout to confirm", sure),
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
    turns = in_turns([s.head for s in stretches], [s.end_s - s.start_s for s in stretches])
    return [stretches[i] for i in turns][:limit]


def queue_table(stretches: dict[str, list[Stretch]]) -> pd.DataFrame:
    """Several videos' stretches (video id → its stretches) as one queue, most unsure first:
    :data:`QUEUE_COLUMNS`, one row per stretch, in seconds (what a reviewer answers)."""
    rows = [
        {"video": video, **{c: getattr(s, c) for c in QUEUE_COLUMNS[1:]}}
        for video, found in stretches.items()
        for s in found
    ]
    table = pd.DataFrame(rows, columns=list(QUEUE_COLUMNS))
    table = table.sort_values(
        ["score", "video", "head", "start_s"], ascending=[False, True, True, True]
    )
    return table.iloc[in_turns(table["head"].tolist(), (table.end_s - table.start_s).tolist())]


def in_turns(heads: list[str], seconds: list[float]) -> list[int]:
    """The order a reviewer sees stretches in, given them most unsure first (each one's head and
    length): the behaviours take turns by the seconds each has had so far, so each gets an equal
    share of the reviewer's minutes, its own stretches still most unsure first. One behaviour's
    unsure stretches would otherwise fill the queue while another's errors wait."""
    had: dict[str, float] = {}
    before = []
    for head, length in zip(heads, seconds, strict=True):
        before.append(had.get(head, 0.0))
        had[head] = before[-1] + length
    return sorted(range(len(heads)), key=lambda i: before[i])  # stable: ties keep the order


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    closed = mask.copy()
    runs = bouts(mask.astype(np.int8))
    for (_, stop), (start, _) in zip(runs, runs[1:], strict=False):
        if start - stop < gap:
            closed[stop:start] = True
    return closed


def read_decisions(folder: Path) -> list[dict]:
    """The decisions made so far on a video in the web UI (empty before the first)."""
    path = Path(folder) / DECISIONS_FILE
    return json.loads(path.read_text()) if path.is_file() else []


@dataclass(frozen=True)
class Answer:
    """A reviewer's ``value`` (1: the behaviour ``head`` is shown, 0: not) for the whole of
    ``start_s`` to ``end_s`` (seconds from the start) of the recording ``video`` (its file's
    stem)."""

    video: str
    head: str
    start_s: float
    end_s: float
    value: int
    reviewer: str

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


def read_answers(source: Path) -> list[Answer]:
    """The answers in ``source``: an answer file (CSV with :data:`ANSWER_COLUMNS`), or the web
    UI's review folder (``<ui data>/review/``, a ``decisions.json`` beside each reviewed video's
    copy). Raises :class:`~ethoflow.errors.InputError` naming the file on a bad one."""
    source = Path(source)
    if source.is_dir():
        return [
            answer
            for path in sorted(source.glob(f"*/{DECISIONS_FILE}"))
            for answer in _decision_answers(path)
        ]
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no answer file or review folder")
    try:
        table = pd.read_csv(
            source, dtype={"video": str, "head": str, "reviewer": str}, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(source, f"not a CSV answer file ({exc})") from None
    missing = [c for c in ANSWER_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(source, f"missing column(s) {', '.join(missing)}")
    return [
        _answer(source, f"row {row + 2}", record)
        for row, record in enumerate(table[list(ANSWER_COLUMNS)].to_dict("records"))
    ]


def _decision_answers(path: Path) -> list[Answer]:
    """The web UI's decisions on one video as answers; the video is the copy beside them."""
    videos = [p for p in path.parent.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES]
    if len(videos) != 1:
        raise InputError(path, "expected the reviewed video beside it")
    decisions = read_decisions(path.parent)
    return [
        _answer(path, f"decision {i + 1}", {"video": videos[0].stem, **d})
        for i, d in enumerate(decisions)
    ]


def _answer(path: Path, where: str, record: dict) -> Answer:
    try:
        answer = Answer(
            video=str(record["video"]),
            head=str(record["head"]),
            start_s=float(record["start_s"]),
            end_s=float(record["end_s"]),
            value=int(record["value"]),
            reviewer=str(record.get("reviewer") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(path, f"{where}: unreadable answer ({exc!r})") from None
    if answer.head not in BEHAVIOURS:
        raise InputError(path, f"{where}: head {answer.head!r} is not one of {BEHAVIOURS}")
    if answer.value not in (0, 1):
        raise InputError(path, f"{where}: value must be 0 or 1, got {answer.value}")
    if not 0 <= answer.start_s < answer.end_s:
        raise InputError(path, f"{where}: needs 0 <= start_s < end_s")
    return answer


def answered_labels(labelled: Labelled, answers: list[Answer]) -> pd.DataFrame:
    """The answers on the labels' clock: ``frame`` and a nullable ``Int8`` column per behaviour,
    the answer on each answered stretch's rows for its behaviour (the latest answer where two
    overlap), unknown (<NA>) everywhere else."""
    table = pd.DataFrame({"frame": labelled.table.frame})
    for behaviour in BEHAVIOURS:
        table[behaviour] = pd.Series(pd.NA, index=table.index, dtype="Int8")
    fps = labelled.fps
    for answer in answers:
        rows = table.index[round(answer.start_s * fps) : round(answer.end_s * fps)]
        table.loc[rows, answer.head] = answer.value
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


def export_answers(labelled: Labelled, answers: list[Answer], folder: Path) -> Path:
    """Write the partial label file ``<video>.csv`` of ``answers`` on ``labelled``'s video
    (:func:`answered_labels` on the source video's frames) and a copy (a hard link where possible)
    of the video into ``folder``, atomically; return the label file."""
    video = labelled.video
    frame_count = VideoReader(video).frame_count
    table = source_frame_labels(answered_labels(labelled, answers), frame_count)
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
