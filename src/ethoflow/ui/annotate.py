"""The annotation page's logic: bouts marked by hand on a recording, saved as a label file.

**What a saved frame says.** The annotator marks *bouts* (start and stop per behaviour) and
*reviewed stretches*: the parts of the recording they watched. A frame inside a bout is 1 for
that behaviour; a frame inside a reviewed stretch that no bout of a behaviour covers is 0 for it
(looked at: nothing); every other frame is unknown (an empty cell,
:mod:`ethoflow.io.labels`), which training and evaluation leave out. A bout includes the frame
where it was started and the frame where it was stopped.

Stretches are kept as sorted, disjoint, half-open ``(start, stop)`` frame ranges (overlapping
marks of one kind merge), so that the state and its undo history stay small on a long recording.
Saving writes ``<stem>.csv`` (ours) beside the video and a BORIS copy in the app's folder through
:func:`ethoflow.io.interchange.write_label_file`, and never replaces a label file the page did
not write without being told to (:func:`foreign_file`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.atomic import write_json
from ethoflow.io.digest import sha256_file
from ethoflow.io.interchange import write_label_file
from ethoflow.io.labels import BEHAVIOURS, bouts, normalize_labels
from ethoflow.io.video import VideoReader
from ethoflow.ui.files import UserError
from ethoflow.ui.recording import COLOURS, draw_frame
from ethoflow.ui.results import Labelled
from ethoflow.ui.review import source_frame_labels

REVIEWED = "reviewed"
MARKS = (*BEHAVIOURS, REVIEWED)  # what a start/stop key marks: a bout, or a reviewed stretch
RECORD_FILE = "written.json"  # in the app's annotate/ folder: digests of the files saved

Stretches = tuple[tuple[int, int], ...]


def _merged(stretches: list[tuple[int, int]]) -> Stretches:
    """Sorted, disjoint half-open ranges covering the same frames as ``stretches``."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(stretches):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return tuple(merged)


@dataclass
class Annotation:
    """One recording's annotation: stretches per mark, open starts, and the undo history."""

    frame_count: int
    fps: float
    stretches: dict[str, Stretches] = field(default_factory=lambda: {m: () for m in MARKS})
    open: dict[str, int] = field(default_factory=dict)  # mark -> frame where it was started
    history: list[tuple[dict[str, Stretches], dict[str, int]]] = field(default_factory=list)

    @classmethod
    def from_table(cls, table: pd.DataFrame, fps: float) -> Annotation:
        """An annotation that saves back to ``table`` (``grooming``/``rearing``, 0/1/<NA>):
        its 1s as bouts, the frames every behaviour labels as reviewed."""
        stretches = {
            head: tuple(bouts(table[head].fillna(0).to_numpy(np.int8))) for head in BEHAVIOURS
        }
        known = table[list(BEHAVIOURS)].notna().all(axis=1).to_numpy(np.int8)
        stretches[REVIEWED] = tuple(bouts(known))
        return cls(len(table), fps, stretches)

    def _time(self, frame: int) -> str:
        return f"frame {frame} ({frame / self.fps:.2f} s)"

    def _change(self, mark: str, stretches: Stretches, open_start: int | None) -> None:
        self.history.append((dict(self.stretches), dict(self.open)))
        self.stretches = self.stretches | {mark: stretches}
        self.open = {m: f for m, f in self.open.items() if m != mark}
        if open_start is not None:
            self.open[mark] = open_start

    def toggle(self, mark: str, frame: int) -> str:
        """Start a ``mark`` stretch at ``frame``, or stop the open one there (both frames in
        it); what happened, in words."""
        self._check(mark, frame)
        start = self.open.get(mark)
        if start is None:
            self._change(mark, self.stretches[mark], frame)
            return f"{mark.capitalize()} started at {self._time(frame)}."
        first, last = sorted((start, frame))
        self._change(mark, _merged([*self.stretches[mark], (first, last + 1)]), None)
        return f"{mark.capitalize()} from {self._time(first)} to {self._time(last)}."

    def remove(self, mark: str, frame: int) -> str:
        """Forget the ``mark`` stretch that holds ``frame`` (or its open start); in words."""
        self._check(mark, frame)
        if mark in self.open:
            self._change(mark, self.stretches[mark], None)
            return f"The open {mark} start was cancelled."
        kept = tuple(s for s in self.stretches[mark] if not s[0] <= frame < s[1])
        if kept == self.stretches[mark]:
            return f"No {mark} stretch at {self._time(frame)}: nothing removed."
        self._change(mark, kept, None)
        return f"The {mark} stretch at {self._time(frame)} was removed."

    def review_all(self) -> str:
        """Mark the whole recording as reviewed."""
        self._change(REVIEWED, ((0, self.frame_count),), None)
        return "The whole recording is marked as reviewed."

    def undo(self) -> str:
        """Take back the last change."""
        if not self.history:
            return "Nothing to undo."
        self.stretches, self.open = self.history.pop()
        return "The last change was undone."

    def _check(self, mark: str, frame: int) -> None:
        if mark not in MARKS:
            raise ValueError(f"mark must be one of {MARKS}, got {mark!r}")
        if not 0 <= frame < self.frame_count:
            raise ValueError(f"frame {frame} is outside the recording (0–{self.frame_count - 1})")

    def on_at(self, frame: int) -> list[str]:
        """The behaviours marked at ``frame``, an open bout (started at or before it) included."""
        return [
            head
            for head in BEHAVIOURS
            if any(a <= frame < b for a, b in self.stretches[head])
            or self.open.get(head, frame + 1) <= frame
        ]

    def table(self) -> pd.DataFrame:
        """The per-frame labels this annotation says: ``grooming``, ``rearing`` as nullable Int8,
        1 in bouts, 0 in reviewed stretches, <NA> elsewhere (open starts are not counted)."""
        reviewed = self.mask(REVIEWED)
        columns = {}
        for head in BEHAVIOURS:
            column = pd.Series(pd.NA, index=range(self.frame_count), dtype="Int8")
            column[reviewed] = 0
            column[self.mask(head)] = 1
            columns[head] = column
        return pd.DataFrame(columns)

    def mask(self, mark: str) -> np.ndarray:
        mask = np.zeros(self.frame_count, bool)
        for start, stop in self.stretches[mark]:
            mask[start:stop] = True
        return mask

    def bout_list(self) -> pd.DataFrame:
        """Every bout and reviewed stretch in time order: what, first and last frame, seconds."""
        rows = [
            {
                "mark": mark,
                "first_frame": start,
                "last_frame": stop - 1,
                "start_s": round(start / self.fps, 2),
                "end_s": round(stop / self.fps, 2),
            }
            for mark in MARKS
            for start, stop in self.stretches[mark]
        ]
        columns = ["mark", "first_frame", "last_frame", "start_s", "end_s"]
        return pd.DataFrame(rows, columns=columns).sort_values("first_frame", ignore_index=True)


def champions_draft(labelled: Labelled, frame_count: int) -> pd.DataFrame:
    """The champions' labels of a recording (:func:`ethoflow.ui.results.label`'s outputs, on
    the models' clock) on every frame of the video, as a ``grooming``/``rearing`` table."""
    per_frame = source_frame_labels(labelled.table, frame_count)
    return normalize_labels(per_frame, source=labelled.folder)


# --- pictures -------------------------------------------------------------------------------


def pictures(
    reader: VideoReader, annotation: Annotation, frames: list[int], scale: float = 1.0
) -> list[np.ndarray]:
    """The video's ``frames`` (read by seeking, decoded one at a time) with the behaviours marked
    at each written on it (:func:`ethoflow.ui.recording.draw_frame`), RGB; frames that do not
    decode are left out."""
    drawn = []
    for index, frame in reader.read_frames(frames):
        on = annotation.on_at(index)
        row = pd.Series({"x": np.nan, "y": np.nan} | {h: int(h in on) for h in BEHAVIOURS})
        drawn.append(draw_frame(frame, row, list(BEHAVIOURS), scale))
    return drawn


_UNKNOWN, _NONE = (255, 255, 255), (200, 200, 200)  # RGB: white, grey
_BAND_PX, _CURSOR, _OUTLINE = 24, (220, 0, 0), (150, 150, 150)


def ethogram_picture(
    annotation: Annotation, cursor: int, frames: tuple[int, int] | None = None, width: int = 960
) -> np.ndarray:
    """One outlined band per behaviour over ``frames`` (default: the whole recording): its
    colour where a bout is marked (an open one, to the cursor, in a lighter shade), grey where
    reviewed and not the behaviour, white where unknown; a red line at ``cursor``. RGB."""
    first, stop = frames or (0, annotation.frame_count)
    shown = np.arange(first, stop)
    # Pixel column i shows frames [starts[i], starts[i + 1]) at their strongest state (a short
    # bout is never lost), or the one frame starts[i] when frames are fewer than pixels.
    starts = np.arange(width) * len(shown) // width
    reviewed = annotation.mask(REVIEWED)[shown]
    bands = []
    for head in BEHAVIOURS:
        state = np.where(annotation.mask(head)[shown], 3, reviewed.astype(int))
        if head in annotation.open:
            a, b = sorted((annotation.open[head], cursor))
            state = np.where((shown >= a) & (shown <= b) & (state < 3), 2, state)
        strongest = np.maximum.reduceat(state, starts)
        colour = np.array(COLOURS[head][::-1])  # BGR -> RGB
        palette = np.array([_UNKNOWN, _NONE, (colour + 255) // 2, colour], np.uint8)
        band = np.ascontiguousarray(np.repeat(palette[strongest][None], _BAND_PX, axis=0))
        cv2.rectangle(band, (0, 0), (width - 1, _BAND_PX - 1), _OUTLINE, 1)  # white shows
        bands += [band, np.full((4, width, 3), 255, np.uint8)]
    picture = np.ascontiguousarray(np.concatenate(bands[:-1]))
    if first <= cursor < stop:
        x = (2 * (cursor - first) + 1) * width // (2 * len(shown))  # the frame's middle
        cv2.line(picture, (x, 0), (x, picture.shape[0] - 1), _CURSOR, 2)
    return picture


# --- saving ---------------------------------------------------------------------------------


def label_file(video: Path) -> Path:
    """Where a recording's annotation is saved for training: ``<stem>.csv`` beside it."""
    return Path(video).with_suffix(".csv")


def boris_file(video: Path, folder: Path) -> Path:
    """Where its BORIS copy goes: ``<folder>/boris/<8 hex digits of the video's path>/
    <stem>.boris.tsv``, not beside the video, where ingest and import would find two label
    files for one recording."""
    tag = hashlib.sha256(str(Path(video).resolve()).encode()).hexdigest()[:8]
    return Path(folder) / "boris" / tag / f"{Path(video).stem}.boris.tsv"


def _record(folder: Path) -> dict[str, str]:
    path = Path(folder) / RECORD_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def foreign_file(video: Path, folder: Path) -> Path | None:
    """The label file beside ``video`` if it exists but was not written by this page (its
    content is not what the record in ``folder`` says it saved): saving would replace it."""
    path = label_file(video)
    if path.is_file() and _record(folder).get(str(path.resolve())) != sha256_file(path):
        return path
    return None


def save(annotation: Annotation, video: Path, folder: Path) -> tuple[Path, Path]:
    """Write the annotation as ``<stem>.csv`` beside ``video`` (empty cell: unknown) and as
    BORIS' tabular events (:func:`boris_file`; unknown stretches as ``Unlabelled`` events),
    atomically, and record the CSV's digest in ``folder``; return both paths.

    :class:`UserError` when a bout or stretch is still open, or nothing is labelled yet. The
    caller asks before replacing a :func:`foreign_file`.
    """
    if annotation.open:
        opened = ", ".join(f"{m} (frame {f})" for m, f in annotation.open.items())
        raise UserError(f"Stop or cancel what is still open before saving: {opened}.")
    table = annotation.table()
    if table.isna().all().all():
        raise UserError("Nothing to save yet: mark a bout or a reviewed stretch first.")
    ours, boris = label_file(video), boris_file(video, folder)
    write_label_file(table, ours, "ethoflow")
    write_label_file(table, boris, "boris", fps=annotation.fps)
    write_json(_record(folder) | {str(ours.resolve()): sha256_file(ours)}, folder / RECORD_FILE)
    return ours, boris
